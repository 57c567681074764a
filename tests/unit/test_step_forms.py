"""Step forms are built from the workflow's step specifications: same fields, labels, hints,
required flags and limits, for every step."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from jinja2 import PackageLoader, PrefixLoader
from werkzeug.datastructures import MultiDict
from wtforms import (
    DateField,
    FieldList,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length

from disclosure_app.cases.step_forms import (
    LIMB_NAMES,
    LIMBS_HEADING,
    form_class_for,
    form_data_to_step,
    layout,
    shown_values,
)
from workflows.fields import Field, Kind, StepSpec
from workflows.steps import STEPS, step_for

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

PARTNERS = [("7", "Pat Partner (Probation)"), ("9", "Sam Social (Children's social care)")]
EXPECTED_TYPE = {
    Kind.text: StringField,
    Kind.textarea: TextAreaField,
    Kind.choice: RadioField,
    Kind.yesno: RadioField,
    Kind.multichoice: SelectMultipleField,
    Kind.date: DateField,
    Kind.partner: SelectField,
    Kind.attendees: FieldList,
}


@pytest.fixture
def flask_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit", WTF_CSRF_ENABLED=False, TESTING=True)
    app.jinja_loader = PrefixLoader({  # the GOV.UK widgets render through these templates
        "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
        "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
    })
    return app


def build(spec: StepSpec, app: Flask, data: MultiDict | None = None) -> FlaskForm:
    form_class = form_class_for(spec, PARTNERS)
    with app.test_request_context(method="POST", data=data or MultiDict()):
        return form_class()


@pytest.mark.parametrize("event", sorted(STEPS))
def test_every_step_yields_a_form_with_exactly_its_fields(flask_app, event):
    spec = step_for(event)
    form = build(spec, flask_app)
    names = [f.name for f in form]
    assert names == [*(f.name for f in spec.fields), "rationale", "expected_version",
                     "submission_key", "submit"]
    for f in spec.fields:
        field = form[f.name]
        assert isinstance(field, EXPECTED_TYPE[f.kind]), f.name
        assert field.label.text == f.label
        assert field.description == f.hint
        assert bool(field.flags.required) is f.required, f.name
        if f.kind in (Kind.text, Kind.textarea):
            limits = [v.max for v in field.validators if isinstance(v, Length)]
            assert limits == [f.limit]
        if f.kind in (Kind.choice, Kind.multichoice):
            assert [c.value for c in field.choices] == [code for code, _ in f.choices]
            assert [c.label for c in field.choices] == [label for _, label in f.choices]
        if f.kind is Kind.yesno:
            assert [c.value for c in field.choices] == ["yes", "no"]
    assert form.rationale.label.text == spec.rationale_label
    assert form.rationale.description == spec.rationale_hint
    assert form.rationale.flags.required
    assert isinstance(form.expected_version, IntegerField)
    assert 'type="hidden"' in str(form.expected_version())
    assert 'type="hidden"' in str(form.submission_key())


@pytest.mark.parametrize("event", sorted(STEPS))
def test_no_step_field_shadows_a_form_attribute(flask_app, event):
    reserved = set(dir(build(StepSpec("x", "X"), flask_app)))
    assert not {f.name for f in step_for(event).fields} & reserved


def test_form_classes_are_cached_per_step_and_partner_list():
    spec = step_for("record_interview")
    assert form_class_for(spec, PARTNERS) is form_class_for(spec, [])  # no partner field
    invite = step_for("invite_partner")
    assert form_class_for(invite, PARTNERS) is form_class_for(invite, list(PARTNERS))
    assert form_class_for(invite, PARTNERS) is not form_class_for(invite, PARTNERS[:1])


def test_partner_field_offers_the_partners_given(flask_app):
    form = build(step_for("invite_partner"), flask_app)
    values = [c.value for c in form.partner_user_id.choices]
    assert values == ["", "7", "9"]


def test_a_valid_post_becomes_step_data_with_only_the_specs_names(flask_app):
    spec = step_for("complete_assessment")
    data = MultiDict([
        ("checks_completed", "pnc"), ("checks_completed", "visor"),
        ("checks_not_done_reason", "Others not applicable."),
        ("subject_identity", "confirmed"), ("information_found", "none_held"),
        ("child_sexual_offence_conviction", "no"), ("risk_level", "low"),
        ("risk_assessment_summary", "  Nothing held.  "), ("representations", "not_sought"),
        ("representations_reason", "Nothing to disclose."),
        ("rationale", "All checks done."), ("expected_version", "4"),
        ("status", "closed"), ("assigned_officer_id", "1"),
    ])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert form.validate(), form.errors
        step = form_data_to_step(spec, form)
    assert set(step) == {f.name for f in spec.fields}
    # The checklist and the identity are recorded on their own pages now (issue 5): the old
    # names posted here are dropped like any other unknown name.
    assert not {"checks_completed", "checks_not_done_reason", "subject_identity"} & set(step)
    assert step["risk_assessment_summary"] == "Nothing held."
    assert form.expected_version.data == 4


def test_dates_are_read_from_day_month_year_boxes_and_stored_as_iso(flask_app):
    spec = step_for("transfer")
    data = MultiDict([("receiving_force", "Westshire Police"), ("date_sent", "7"),
                      ("date_sent", "3"), ("date_sent", "2026"), ("rationale", "Moved."),
                      ("expected_version", "2")])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert form.validate(), form.errors
        assert form.date_sent.data == date(2026, 3, 7)
        assert form_data_to_step(spec, form)["date_sent"] == "2026-03-07"


@pytest.mark.parametrize("parts", [["31", "2", "2026"], ["1", "13", "2026"], ["a", "1", "2026"],
                                   ["1", "1", "26"], ["1", "1"], ["1", "1", "2026", "1"],
                                   ["99999999999", "1", "2026"]])
def test_impossible_dates_are_field_errors(flask_app, parts):
    spec = step_for("transfer")
    data = MultiDict([("receiving_force", "Westshire Police"), ("rationale", "Moved."),
                      ("expected_version", "2"), *[("date_sent", p) for p in parts]])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert not form.validate()
        assert form.errors["date_sent"] == ["Date sent must be a real date"]
        assert len(form.date_sent.raw_data) == 3
        assert 'id="date_sent-day"' in str(form.date_sent())


def test_required_fields_and_rationale_give_gov_uk_style_messages(flask_app):
    spec = step_for("accept_for_interview")
    data = MultiDict([("initial_checks_summary", "   "), ("rationale", ""),
                      ("expected_version", "1")])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert not form.validate()
    assert form.errors["initial_checks_summary"] == ["Enter initial checks summary"]
    assert form.errors["immediate_risk"] == ["Answer the question ‘Is a child at immediate risk?’"]
    assert form.errors["rationale"] == [
        "Enter why the application is in scope: every step needs a written rationale"]


@pytest.mark.parametrize("text", ["Mark\u202eEllison", "Zero\u200bwidth", "Bell\x07"])
def test_hidden_characters_are_refused_in_text(flask_app, text):
    spec = step_for("transfer")
    data = MultiDict([("receiving_force", text), ("date_sent", "1"), ("date_sent", "1"),
                      ("date_sent", "2026"), ("rationale", "Moved."), ("expected_version", "2")])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert not form.validate()
    assert "receiving_force" in form.errors


def test_text_longer_than_the_fields_limit_is_refused(flask_app):
    spec = step_for("transfer")
    data = MultiDict([("receiving_force", "x" * 201), ("date_sent", "1"), ("date_sent", "1"),
                      ("date_sent", "2026"), ("rationale", "Moved."), ("expected_version", "2")])
    form_class = form_class_for(spec, [])
    with flask_app.test_request_context(method="POST", data=data):
        form = form_class()
        assert not form.validate()
    assert form.errors["receiving_force"] == ["Receiving force must be 200 characters or fewer"]


@pytest.mark.parametrize("event", sorted(e for e, s in STEPS.items() if s.is_decision))
def test_decision_layout_gathers_the_three_limbs_into_one_group(event):
    spec = step_for(event)
    groups = layout(spec)
    limb_groups = [g for g in groups if g.heading == LIMBS_HEADING]
    assert len(limb_groups) == 1
    assert tuple(f.name for f in limb_groups[0].fields) == LIMB_NAMES
    flattened = [f.name for g in groups for f in g.fields]
    assert sorted(flattened) == sorted(f.name for f in spec.fields)


@pytest.mark.parametrize("event", sorted(e for e, s in STEPS.items() if not s.is_decision))
def test_other_steps_have_no_limbs_group(event):
    assert all(g.heading is None for g in layout(step_for(event)))


def test_recorded_values_read_as_labels_lists_dates_and_names():
    spec = StepSpec("x", "X", fields=(
        Field("choice", "Choice", Kind.choice, choices=(("a", "Apple"),)),
        Field("many", "Many", Kind.multichoice, choices=(("a", "Apple"), ("b", "Banana"))),
        Field("yn", "Yes or no", Kind.yesno),
        Field("when", "When", Kind.date),
        Field("who", "Who", Kind.partner),
        Field("notes", "Notes"),
        Field("blank", "Blank", required=False),
    ))
    shown = shown_values(spec, {"choice": "a", "many": ["a", "b"], "yn": "no",
                                "when": "2026-03-07", "who": 7, "notes": "One\n\nTwo",
                                "blank": ""}, {7: "Pat Partner (Probation)"})
    values = {v.name: v.value for v in shown}
    assert values == {"choice": "Apple", "many": ["Apple", "Banana"], "yn": "No",
                      "when": "7 March 2026", "who": "Pat Partner (Probation)",
                      "notes": "One\n\nTwo"}
    assert next(v for v in shown if v.name == "notes").paragraphs == ("One", "Two")
