"""The draw form and the review form. The service (``services.dip_sampling``) validates again;
these give GOV.UK-style messages first and keep what was typed when something is refused."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import IntegerField, RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from disclosure_app.cases.step_forms import (
    DayMonthYearField,
    NoHiddenCharacters,
    Required,
    choice_list,
    strip_text,
)
from disclosure_app.decisions.dip_sampling import (
    MAX_SHARE,
    MAX_TEXT,
    MIN_SHARE,
    Result,
    range_errors,
)
from disclosure_app.web.context import now
from disclosure_app.web.form_keys import SubmissionKeyField

SHARE_MESSAGE = f"The share must be a whole number from {MIN_SHARE} to {MAX_SHARE}"
_TOO_LONG = f"Keep this to {MAX_TEXT:,} characters or fewer"


class WholeNumberField(IntegerField):
    """A share in whole per cent; "12.5", "ten" or "0" get a message a person can act on."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return
        text = str(valuelist[0]).strip().removesuffix("%").strip()
        if not (text.isascii() and text.isdecimal() and len(text) <= 3
                and MIN_SHARE <= int(text) <= MAX_SHARE):
            raise ValueError(SHARE_MESSAGE)
        self.data = int(text)


class DrawForm(FlaskForm):
    share_percent = WholeNumberField(
        "Share to draw (per cent)",
        description=f"A whole number from {MIN_SHARE} to {MAX_SHARE}. The number drawn is "
                    "rounded up, so a draw from any cases at all takes at least one.",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the share to draw, as a whole number")],
    )
    closed_from = DayMonthYearField(
        "Cases closed from",
        description="For example, 1 3 2026. Dates are UTC.",
        validators=[Required("Enter the first closing date")],
    )
    closed_to = DayMonthYearField(
        "Cases closed up to and including",
        description="For example, 31 3 2026",
        validators=[Required("Enter the last closing date")],
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField("Draw the sample", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """Field checks, then the service's own checks of the dates, so that every problem is
        shown at once rather than one per attempt."""
        valid = super().validate(extra_validators)
        errors = range_errors(self.closed_from.data, self.closed_to.data, now().date())
        for name in ("closed_from", "closed_to"):
            if name in errors and not self[name].errors:
                self[name].errors = [*self[name].errors, errors[name]]
                valid = False
        return valid


class ReviewForm(FlaskForm):
    result = RadioField(
        "What is the result of your review?",
        choices=choice_list([(r.value, r.label) for r in Result]),
        widget=GovRadioInput(),
        validators=[InputRequired(message="Select the result of the review")],
        invalid_choice_message="Select the result of the review",
    )
    findings = TextAreaField(
        "Your findings",
        description="What you checked and what you found: whether the information considered, "
                    "each legal limb and the reasons support the decision not to disclose.",
        widget=GovTextArea(),
        filters=[strip_text],
        validators=[Required("Enter your findings"), Length(max=MAX_TEXT, message=_TOO_LONG),
                    NoHiddenCharacters(multiline=True)],
    )
    follow_up = TextAreaField(
        "Follow-up",
        description="Needed if the decision is not upheld. Closed cases are never reopened: say "
                    "what will be done, for example a new linked case opened and by whom, or "
                    "how the learning will be shared.",
        widget=GovTextArea(),
        filters=[strip_text],
        validators=[Optional(), Length(max=MAX_TEXT, message=_TOO_LONG),
                    NoHiddenCharacters(multiline=True)],
    )
    submission_key = SubmissionKeyField()
    submit = SubmitField("Record the review", widget=GovSubmitInput())

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        valid = super().validate(extra_validators)
        if self.result.data == Result.not_upheld and not self.follow_up.data:
            self.follow_up.errors = [*self.follow_up.errors,
                                     "Say what will be done: the case stays closed, so, for "
                                     "example, a new linked case is opened"]
            return False
        return valid
