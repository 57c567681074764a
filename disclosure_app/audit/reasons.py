"""The reason prompt before a case's sensitive sections: once per case per sign-in session.

For any view that shows sensitive details of a case:

* a whole page: decorate it ``@requires_reason("risk_check")`` (under ``@allow``); a GET without a
  reason given for that case in this session is redirected to the reason page and comes back;
* part of a page: call ``reason_given(case_id)``; when it is None, show the prompt instead of the
  details with ``{% include "_partials/reason_prompt.html" %}`` (it needs ``case``,
  ``reason_form`` from ``reason_form(case_id, section)``), and pass ``reason_seq`` into the
  consultation entry the view writes (``cases.view_case(..., justification=...)``).

The reasons given live in the signed session cookie (case id -> audit entry number), which
sign-in clears; the reason itself is in the decision log and ``access_reasons``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from wtforms import HiddenField, RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from disclosure_app.audit import consultation
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.db import get_session
from disclosure_app.web.forms import choice_list

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "case_reasons"
REMEMBERED = 200  # reasons kept per session (the cookie stays small)


def reason_given(case_id: int) -> int | None:
    """The audit entry number of the reason given for this case in this session, if any."""
    seq = session.get(SESSION_KEY, {}).get(str(case_id))
    return int(seq) if seq else None


def justification(case_id: int) -> dict[str, Any]:
    """What a consultation entry records as its justification: the reason's entry number."""
    seq = reason_given(case_id)
    return {"reason_seq": seq} if seq else {}


def remember(case_id: int, seq: int) -> None:
    reasons = dict(session.get(SESSION_KEY, {}))
    reasons.pop(str(case_id), None)
    reasons[str(case_id)] = seq
    while len(reasons) > REMEMBERED:
        reasons.pop(next(iter(reasons)))
    session[SESSION_KEY] = reasons


def requires_reason(section: str) -> Callable[[F], F]:
    if section not in consultation.SECTIONS:
        raise ValueError(f"unknown section {section!r}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            case_id = kwargs["case_id"]
            # A missing or out-of-scope case is the same 404 as ever, not a reason prompt.
            load_case_in_scope(get_session(), current_user, case_id)
            if reason_given(case_id) is None:
                return redirect(url_for("sensitive.give_reason", case_id=case_id,
                                        section=section, next=request.full_path.rstrip("?")))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class ReasonForm(FlaskForm):
    reason = RadioField("Why do you need to see these details?", widget=GovRadioInput(),
                        choices=choice_list(consultation.REASONS.items()),
                        validators=[InputRequired("Select why you need to see these details")])
    note = TextAreaField(
        "Anything to add (optional, unless you chose 'another reason')", widget=GovTextArea(),
        description="Do not write names or other personal details here.",
        validators=[Length(max=consultation.NOTE_MAX,
                           message=f"Keep it to {consultation.NOTE_MAX} characters or fewer")])
    section = HiddenField()
    next = HiddenField()
    submit = SubmitField("Continue", widget=GovSubmitInput())


def reason_form(case_id: int, section: str, next_url: str | None = None) -> ReasonForm:
    form = ReasonForm(formdata=None)
    form.section.data = section
    form.next.data = next_url or url_for("staff.case", case_id=case_id) + f"#{section}"
    return form
