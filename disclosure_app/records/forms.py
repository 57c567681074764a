"""Forms of the records pages: a review, setting a legal hold, lifting one."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovTextArea, GovTextInput
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from disclosure_app.cases.step_forms import DayMonthYearField, NoHiddenCharacters, strip_text
from disclosure_app.web.forms import choice_list
from workflows.retention import HOLD_LABELS


def _reason(label: str, hint: str) -> Any:
    return TextAreaField(label, [Optional(), NoHiddenCharacters(multiline=True)],
                         widget=GovTextArea(), filters=[strip_text], description=hint)


class ReviewForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=choice_list([("retain", "Retain: still needed for a policing purpose"),
                             ("dispose", "Dispose: no longer needed")]),
        widget=GovRadioInput(), validate_choice=False)
    reason = _reason("Reason for the decision",
                     "Against the national retention assessment criteria. Write about the "
                     "record, not the people in it: this reason stays after disposal.")
    next_review_on = DayMonthYearField("Next review date (if retained)", [Optional()],
                                       description="For example, 27 3 2031")


class HoldForm(FlaskForm):
    hold_kind = RadioField(
        "What the hold is for",
        choices=choice_list((k.value, label) for k, label in HOLD_LABELS.items()),
        widget=GovRadioInput(), validate_choice=False)
    hold_reason = _reason("Reason and reference",
                          "For example: IOPC referral 2026/123 about the handling of this case.")


class LiftHoldForm(FlaskForm):
    lift_reason = _reason("Why the hold can end", "For example: proceedings concluded on …")


class RectifyForm(FlaskForm):
    target = SelectField("Detail to correct", widget=GovSelect(), validate_choice=False)
    new_value = StringField("The correct value", [Optional(), NoHiddenCharacters(multiline=False)],
                            widget=GovTextInput(), filters=[strip_text],
                            description="Dates as DD/MM/YYYY.")
    reason = _reason("Why the detail was wrong, and where the correct one comes from",
                     "For example: the applicant's passport, seen at interview, gives the date "
                     "of birth as …")
