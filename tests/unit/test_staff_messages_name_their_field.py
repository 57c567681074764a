"""Every error message on a staff step form says whose field it is (issue 11): a form has many
text boxes and dates, and the error summary at the top shows the messages on their own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from disclosure_app.cases.step_forms import form_class_for, lower_first
from workflows.fields import Kind
from workflows.steps import STEPS, step_for

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

BAD = {  # one bad answer of each kind
    Kind.text: "Hidden\u200bmark",
    Kind.textarea: "Bell\x07",
    Kind.choice: "not-an-option",
    Kind.yesno: "perhaps",
    Kind.multichoice: "not-an-option",
    Kind.partner: "not-a-partner",
}


@pytest.fixture
def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit", WTF_CSRF_ENABLED=False, TESTING=True)
    return app


def bad_answers(event: str) -> MultiDict:
    data: list[tuple[str, str]] = [("rationale", "Why\u202e"), ("expected_version", "1")]
    for f in step_for(event).fields:
        if f.kind is Kind.date:
            data += [(f.name, "31"), (f.name, "2"), (f.name, "2026")]
        elif f.kind is Kind.attendees:
            data += [(f"{f.name}-0-name", "x" * 101), (f"{f.name}-0-agency", "nowhere"),
                     (f"{f.name}-0-role", "Role\x07"), (f"{f.name}-1-role", "y" * 101)]
        else:
            data.append((f.name, BAD[f.kind]))
    return MultiDict(data)


def messages(errors: Any) -> list[str]:
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in messages(value)]
    return [m for value in errors or [] for m in messages(value)]


@pytest.mark.parametrize("event", sorted(e for e, s in STEPS.items() if s.fields))
def test_every_message_on_a_step_form_names_its_field(flask_app, event):
    spec = step_for(event)
    labels = {f.name: f.label for f in spec.fields} | {"rationale": spec.rationale_label}
    form_class = form_class_for(spec, [("7", "Pat Partner (Probation)")])
    with flask_app.test_request_context(method="POST", data=bad_answers(event)):
        form = form_class()
        assert not form.validate()
    for name, errors in form.errors.items():
        label = labels.get(name)
        if label is None:
            continue
        found = messages(errors)
        assert found, name
        for message in found:
            assert label in message or lower_first(label) in message, (name, message)
