"""WTForms forms built from the workflow's step specifications, and how recorded steps read.

Each step's fields are declared once, in ``workflows.steps``. This module turns a ``StepSpec``
into a FlaskForm class (labels, hints, required flags and length limits all come from the spec),
turns a validated form back into the step data the workflow expects (only the spec's own field
names: no mass assignment), and turns stored step data into the labels and values a person reads
on the case page. The workflow validates the data again on its side: the form is the first line
of defence and gives field-level messages; the machine is the last word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Field as WTFField
from wtforms.validators import Length, NumberRange, Optional, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from disclosure_app.cases.step_display import human_value
from disclosure_app.web.form_keys import SubmissionKeyField
from disclosure_app.web.forms import choice_list
from workflows.contact import refused_routes, safe_contact_of
from workflows.fields import (
    ATTENDEE_PARTS,
    LONG_TEXT_MAX,
    MAX_ATTENDEES,
    Field,
    Kind,
    StepSpec,
    text_problem,
    time_problem,
)
from workflows.steps import OUTCOME_EVENTS

LIMB_NAMES = ("lawful_basis", "necessity", "proportionality")
YES_NO_CHOICES = (("yes", "Yes"), ("no", "No"))
PARTNER_PLACEHOLDER = ("", "Select a partner agency member")


# --- Validators and fields ---------------------------------------------------------------------


def lower_first(text: str) -> str:
    """'Date of the meeting' -> 'date of the meeting', but 'MoPI review date' stays as it is."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


class Required:
    """Like ``InputRequired``, but whitespace alone is not an answer (and nor is a blank
    day/month/year triple)."""

    field_flags = {"required": True}

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: WTFField) -> None:
        if any(isinstance(v, str) and v.strip() for v in field.raw_data or []):
            return
        field.errors[:] = []
        raise StopValidation(self.message)


class NoHiddenCharacters:
    """Refuse control, bidirectional-override and zero-width characters (as the workflow does)."""

    def __init__(self, *, multiline: bool) -> None:
        self.multiline = multiline

    def __call__(self, form: Any, field: WTFField) -> None:
        if isinstance(field.data, str):
            problem = text_problem(field.data, multiline=self.multiline)
            if problem:  # named: a form has many text fields
                raise ValidationError(f"{problem} from {lower_first(field.label.text)}")


class TimeOfDay:
    """A time on the 24-hour clock (the workflow's own rule and message)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, form: Any, field: WTFField) -> None:
        if isinstance(field.data, str) and field.data.strip():
            _, problem = time_problem(self.label, field.data)
            if problem:
                raise ValidationError(problem)


def strip_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class DayMonthYearField(DateField):
    """A GOV.UK date input: three boxes (day, month, year) sharing one name.

    ``raw_data`` is always exactly three strings afterwards, whatever was posted, so the widget
    can always render the officer's own input back to them (it unpacks three values).
    """

    widget = GovDateInput()

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        parts = [str(v).strip()[:10] for v in valuelist[:3]]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        self.data = None
        if not any(parts) and len(valuelist) <= 3:
            return
        day, month, year = parts
        message = f"{self.label.text} must be a real date"
        digits = day.isdecimal() and month.isdecimal() and year.isdecimal()
        if len(valuelist) != 3 or not digits or len(year) != 4:
            raise ValueError(message)
        try:
            self.data = date(int(year), int(month), int(day))
        except (ValueError, OverflowError) as exc:
            raise ValueError(message) from exc


def missing_message(f: Field) -> str:
    """The GOV.UK-style message for a required field left empty."""
    label = f.label
    if label.endswith("?"):
        return f"Answer the question ‘{label}’"
    if f.kind is Kind.partner:
        return "Select a partner agency member"
    if f.kind in (Kind.choice, Kind.yesno, Kind.multichoice):
        return f"Select {lower_first(label)}"
    return f"Enter {lower_first(label)}"


def _presence(f: Field) -> list[Any]:
    return [Required(missing_message(f))] if f.required else [Optional()]


def wtf_field(f: Field, partner_choices: Sequence[tuple[str, str]] = ()) -> WTFField:
    """The unbound WTForms field for one step field."""
    kwargs: dict[str, Any] = {"description": f.hint}
    presence = _presence(f)
    invalid_choice = f"Select one of the options listed for {lower_first(f.label)}"
    if f.kind in (Kind.text, Kind.textarea):
        validators = [
            *presence,
            Length(max=f.limit, message=f"{f.label} must be {f.limit} characters or fewer"),
            NoHiddenCharacters(multiline=f.kind is Kind.textarea),
        ]
        if f.text_format == "time":
            validators.append(TimeOfDay(f.label))
        if f.kind is Kind.text:
            return StringField(f.label, validators, widget=GovTextInput(), filters=[strip_text],
                               **kwargs)
        return TextAreaField(f.label, validators, widget=GovTextArea(), filters=[strip_text],
                             **kwargs)
    if f.kind in (Kind.choice, Kind.yesno):
        choices = choice_list(YES_NO_CHOICES if f.kind is Kind.yesno else f.choices)
        return RadioField(f.label, presence, choices=choices, widget=GovRadioInput(),
                          invalid_choice_message=invalid_choice, **kwargs)
    if f.kind is Kind.multichoice:
        return SelectMultipleField(f.label, presence, choices=choice_list(f.choices),
                                   widget=GovCheckboxesInput(),
                                   invalid_choice_message=invalid_choice, **kwargs)
    if f.kind is Kind.date:
        return DayMonthYearField(f.label, presence, **kwargs)
    if f.kind is Kind.attendees:
        return attendee_rows(f)
    if f.kind is Kind.partner:
        choices = choice_list([PARTNER_PLACEHOLDER, *partner_choices])
        return SelectField(f.label, presence, choices=choices, widget=GovSelect(), default="",
                           invalid_choice_message="Select a partner agency member from the list",
                           **kwargs)
    raise ValueError(f"no form field for kind {f.kind}")  # pragma: no cover


ATTENDEE_ROWS = 6
AGENCY_PLACEHOLDER = ("", "Choose an agency")


def attendee_rows(f: Field) -> FieldList:
    """Rows of name / agency / role. Blank rows are ignored; the workflow checks the rest."""
    rows = lower_first(f.label)

    class AttendeeRow(Form):  # a sub-form: the parent FlaskForm carries the CSRF token
        name = StringField(f"Names in {rows}", [Optional(), Length(max=100, message=(
            f"Each name in {rows} must be 100 characters or fewer")), NoHiddenCharacters(
            multiline=False)], widget=GovTextInput(), filters=[strip_text])
        agency = SelectField("Agency", choices=choice_list([AGENCY_PLACEHOLDER, *f.choices]),
                             widget=GovSelect(), default="",
                             invalid_choice_message=f"Choose each agency in {rows} from the list")
        role = StringField(f"Roles in {rows}", [Optional(), Length(max=100, message=(
            f"Each role in {rows} must be 100 characters or fewer")), NoHiddenCharacters(
            multiline=False)], widget=GovTextInput(), filters=[strip_text])

    validators = [AtLeastOnePerson(f"Enter at least one person for {lower_first(f.label)}")] \
        if f.required else []
    return FieldList(FormField(AttendeeRow), f.label, validators, min_entries=ATTENDEE_ROWS,
                     max_entries=MAX_ATTENDEES, description=f.hint)


class AtLeastOnePerson:
    """A required list of people needs one row with something in it (the workflow checks that
    every row it keeps is complete)."""

    field_flags = {"required": True}

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: WTFField) -> None:
        if not any(any(str(v or "").strip() for v in row.values()) for row in field.data or []):
            raise ValidationError(self.message)


def rationale_field(spec: StepSpec) -> WTFField:
    label = spec.rationale_label
    return TextAreaField(
        label,
        [
            Required(f"Enter {lower_first(label)}: every step needs a written rationale"),
            Length(max=LONG_TEXT_MAX,
                   message=f"{label} must be {LONG_TEXT_MAX} characters or fewer"),
            NoHiddenCharacters(multiline=True),
        ],
        widget=GovTextArea(),
        filters=[strip_text],
        description=spec.rationale_hint,
    )


def step_field_attrs(
    spec: StepSpec, partner_choices: Sequence[tuple[str, str]] = ()
) -> dict[str, WTFField]:
    """The spec's fields, then the rationale, as class attributes for a form class."""
    attrs = {f.name: wtf_field(f, partner_choices) for f in spec.fields}
    attrs["rationale"] = rationale_field(spec)
    return attrs


def form_class_for(
    spec: StepSpec, partner_choices: Iterable[tuple[str, str]] = ()
) -> type[FlaskForm]:
    """A FlaskForm class for ``spec``: its fields, the rationale, the case version the officer
    saw and the form's one-time key. Cached per step (and per list of partner choices, for
    partner steps)."""
    choices = tuple((str(v), str(label)) for v, label in partner_choices)
    if not any(f.kind is Kind.partner for f in spec.fields):
        choices = ()
    return _form_class(spec, choices)


@lru_cache(maxsize=256)
def _form_class(spec: StepSpec, partner_choices: tuple[tuple[str, str], ...]) -> type[FlaskForm]:
    attrs: dict[str, Any] = step_field_attrs(spec, partner_choices)
    attrs["expected_version"] = IntegerField(
        "Case version",
        [
            Required("This form is out of date: open the case again and start the step afresh"),
            NumberRange(min=1, message="This form is out of date: open the case again"),
        ],
        widget=HiddenInput(),
    )
    attrs["submission_key"] = SubmissionKeyField()
    attrs["submit"] = SubmitField("Record decision" if spec.is_decision else "Save",
                                  widget=GovSubmitInput())
    name = "".join(part.title() for part in spec.event.split("_")) + "Form"
    return type(name, (FlaskForm,), attrs)


def fit_to_case(form: Any, spec: StepSpec, case: Any) -> None:
    """Offer only what this case allows. Telling the applicant the outcome: only the routes the
    applicant's safe-contact answers allow (``workflows.contact``), with why the others are not
    offered. Call it just before rendering: the workflow refuses an unsafe route on its own, with
    its reason, whatever the form offered."""
    if spec.event not in OUTCOME_EVENTS or "method" not in form:
        return
    refused = refused_routes(safe_contact_of(case))
    if not refused:
        return
    field = form["method"]
    method = spec.field("method")
    field.choices = choice_list((code, label) for code, label in method.choices
                                if code not in refused)
    reasons = " ".join(f"Not offered: {method.choice_label(code).split(' (')[0].lower()}. "
                       f"{reason}." for code, reason in refused.items())
    field.description = f"{method.hint} {reasons}".strip()


def form_data_to_step(spec: StepSpec, form: Any) -> dict[str, Any]:
    """The step data for the workflow, read ONLY from the spec's field names."""
    data: dict[str, Any] = {}
    for f in spec.fields:
        value = form[f.name].data
        if f.kind is Kind.date:
            value = value.isoformat() if isinstance(value, date) else None
        elif f.kind is Kind.multichoice:
            value = [str(v) for v in value or []]
        elif f.kind is Kind.attendees:
            value = [{k: str(row.get(k) or "").strip() for k in ATTENDEE_PARTS}
                     for row in value or []]
        elif isinstance(value, str):
            value = value.strip()
        data[f.name] = value
    return data


# --- Layout: the three legal limbs in their own fieldset ----------------------------------------


@dataclass(frozen=True)
class FieldGroup:
    heading: str | None
    fields: tuple[Field, ...]


LIMBS_HEADING = "The legal tests"
LIMBS_INTRO = (
    "Record each limb separately: the lawful basis for the decision, why it is necessary, and "
    "why it is proportionate."
)


def layout(spec: StepSpec) -> list[FieldGroup]:
    """The spec's fields in order, with a decision's three limbs gathered into one group."""
    groups: list[FieldGroup] = []
    pending: list[Field] = []
    limbs = [f for f in spec.fields if f.name in LIMB_NAMES] if spec.is_decision else []
    for f in spec.fields:
        if limbs and f.name in LIMB_NAMES:
            if f is limbs[0]:
                if pending:
                    groups.append(FieldGroup(None, tuple(pending)))
                    pending = []
                groups.append(FieldGroup(LIMBS_HEADING, tuple(limbs)))
            continue
        pending.append(f)
    if pending:
        groups.append(FieldGroup(None, tuple(pending)))
    return groups


# --- Reading a recorded step -----------------------------------------------------------------


@dataclass(frozen=True)
class ShownValue:
    label: str
    name: str
    value: str | list[str]  # a list for multiple choices
    paragraphs: tuple[str, ...] = ()  # free text split at blank lines or line breaks


def display_value(f: Field, value: Any, partner_names: Mapping[int, str]) -> str | list[str]:
    """A stored step value as a person reads it (the same words as the trail and the PDF);
    multiple choices stay a list so the case page can show them as one."""
    if f.kind is Kind.multichoice:
        return [f.choice_label(str(v)) for v in value or []]
    return human_value(f, value, partner_names)


def paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"\n+", text) if p.strip())


def shown_values(
    spec: StepSpec, data: Mapping[str, Any], partner_names: Mapping[int, str]
) -> list[ShownValue]:
    """Every recorded field of a step, in the spec's order, with its label."""
    shown = []
    for f in spec.fields:
        if f.name not in data or data[f.name] in (None, "", []):
            continue
        value = display_value(f, data[f.name], partner_names)
        paras = paragraphs(value) if isinstance(value, str) else ()
        shown.append(ShownValue(f.label, f.name, value, paras))
    return shown
