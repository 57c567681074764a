"""Forms of the risk check: the identity decision, one check of the checklist, the purpose of
opening the risk check view, and a manual case link. Validation here gives field messages; the
services validate again and have the last word."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from disclosure_app.cases.step_forms import (
    DayMonthYearField,
    NoHiddenCharacters,
    Required,
    strip_text,
)
from disclosure_app.risk.risk_check import NOTE_MAX, PURPOSES, SHORT_MAX
from disclosure_app.web.form_keys import SubmissionKeyField
from disclosure_app.web.forms import choice_list
from workflows.checks import CheckOutcome
from workflows.identity import Identifier


def _area(label: str, message: str, *, hint: str = "", required: bool = True,
          limit: int = NOTE_MAX) -> Any:
    return TextAreaField(
        label,
        [Required(message) if required else Optional(),
         Length(max=limit, message=f"{label} must be {limit} characters or fewer"),
         NoHiddenCharacters(multiline=True)],
        widget=GovTextArea(), filters=[strip_text], description=hint)


def _line(label: str, *, hint: str = "", limit: int = SHORT_MAX) -> Any:
    return StringField(
        label,
        [Optional(), Length(max=limit, message=f"{label} must be {limit} characters or fewer"),
         NoHiddenCharacters(multiline=False)],
        widget=GovTextInput(), filters=[strip_text], description=hint)


class ProposeMatchForm(FlaskForm):
    person_id = RadioField("Which record is the subject?", [Required("Choose the record that is "
                           "the subject")], choices=[], widget=GovRadioInput(),
                           invalid_choice_message="Choose one of the records shown")
    identifiers = SelectMultipleField(
        "Independent identifiers that agree",
        choices=choice_list([(i.value, i.label) for i in Identifier]),
        widget=GovCheckboxesInput(),
        description="At least two. A name is never one: namesakes are common.",
        invalid_choice_message="Choose identifiers from the list")
    register_id_reference = _line("Where the register id came from",
                                  hint="Agency, person and reference, if you ticked it.")
    photograph_reference = _line("Who identified the photograph, and when",
                                 hint="If you ticked it.")
    flags_checked = BooleanField(
        "I have checked the flagged names against the source documents, character by character",
        widget=GovCheckboxInput(), false_values=("", "false", "n"))
    note = _area("Why this record is the subject", "Enter why this record is the subject")
    submission_key = SubmissionKeyField()
    submit = SubmitField("Propose the match for a colleague to confirm", widget=GovSubmitInput())

    def set_candidates(self, choices: list[tuple[str, str]]) -> None:
        self.person_id.choices = choice_list(choices)


class ReviewMatchForm(FlaskForm):
    decision_id = IntegerField(widget=HiddenInput(), validators=[Required("Missing proposal")])
    decision = RadioField("Is this record the subject?", [Required("Choose whether you confirm "
                          "the match")],
                          choices=choice_list([("confirm", "Yes: I confirm the match"),
                                               ("reject", "No: reject the match")]),
                          widget=GovRadioInput(), invalid_choice_message="Choose yes or no")
    review_note = _area("Your reasons", "Enter your reasons",
                        hint="What you checked yourself, not only what the proposer wrote.")
    submission_key = SubmissionKeyField()
    submit = SubmitField("Record my decision", widget=GovSubmitInput())


class NoTraceForm(FlaskForm):
    no_trace_note = _area("What was searched, and why no record is the subject",
                          "Enter what was searched and why no record is the subject")
    submission_key = SubmissionKeyField()
    submit = SubmitField("Record no trace", widget=GovSubmitInput())


class CheckForm(FlaskForm):
    outcome = RadioField("Result", [Required("Choose whether the check was done or does not "
                                             "apply")],
                         choices=choice_list([(o.value, o.label) for o in CheckOutcome]),
                         widget=GovRadioInput(),
                         invalid_choice_message="Choose done or not applicable")
    checked_on = DayMonthYearField("Date of the check", [Optional()],
                                   description="If done. For example, 27 3 2026.")
    checked_by = _line("Who did the check", hint="If done. Leave blank if it was you.")
    result_summary = _area("Summary of the result", "", required=False,
                           hint="If done: what the source holds about the subject, or 'nothing "
                           "held'.")
    reference = _line("Reference", hint="If done: the source's reference for the check.",
                      limit=100)
    reason = _area("Why this check does not apply", "", required=False,
                   hint="If not applicable.")
    submission_key = SubmissionKeyField()
    submit = SubmitField("Save the check", widget=GovSubmitInput())


class RiskCheckPurposeForm(Form):
    """A GET form: the purpose is a code, never personal text, so it may appear in the URL."""

    class Meta:
        csrf = False

    purpose = RadioField("Why are you opening the risk check?",
                         [Required("Choose why you are opening the risk check")],
                         choices=choice_list(PURPOSES), widget=GovRadioInput(),
                         invalid_choice_message="Choose a reason from the list")


class LinkCaseForm(FlaskForm):
    reference = StringField(
        "Reference of the case to link",
        [Required("Enter the reference of the case to link"),
         Length(max=20, message="A case reference is 20 characters or fewer"),
         NoHiddenCharacters(multiline=False)],
        widget=GovTextInput(), filters=[strip_text], description="For example, CSD-7K2M-Q9XD.")
    reason = _area("Why the cases are linked", "Enter why the cases are linked",
                   limit=1000)
    submission_key = SubmissionKeyField()
    submit = SubmitField("Link the cases", widget=GovSubmitInput())


