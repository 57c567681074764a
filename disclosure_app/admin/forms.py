"""Forms for managing staff accounts. The service (``services.users``) validates again; these give
the administrator GOV.UK-style messages first."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from disclosure_app.admin.closure_days import REASON_MAX_CHARS as CLOSURE_REASON_MAX
from disclosure_app.cases.step_forms import DayMonthYearField, NoHiddenCharacters, strip_text
from disclosure_app.teams.forms import PersonField
from disclosure_app.teams.registry import TeamInput
from workflows.roles import Agency, Rank, Role

ACCOUNT_ROLES = [r for r in Role if r is not Role.applicant]
RANKED_ROLES = (Role.case_officer, Role.decision_maker)


class NewUserForm(FlaskForm):
    email = EmailField(
        "Email address",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter an email address"), Length(max=254)],
    )
    full_name = StringField(
        "Full name",
        widget=GovTextInput(),
        validators=[InputRequired(message="Enter the person's full name"),
                    Length(max=100, message="Full name must be 100 characters or fewer")],
    )
    role = RadioField(
        "Role",
        choices=[SelectChoice(r.value, r.label) for r in ACCOUNT_ROLES],
        widget=GovRadioInput(),
        invalid_choice_message="Select a role",
    )
    rank = SelectField(
        "Rank (case officers and decision-makers)",
        choices=[SelectChoice("", "Not a police officer")]
        + [SelectChoice(r.name, r.label) for r in Rank],
        widget=GovSelect(),
        invalid_choice_message="Select a rank from the list",
        validators=[Optional()],
    )
    agency = SelectField(
        "Agency (partner agency members)",
        choices=[SelectChoice("", "Not a partner agency member")]
        + [SelectChoice(a.value, a.label) for a in Agency],
        widget=GovSelect(),
        invalid_choice_message="Select an agency from the list",
        validators=[Optional()],
    )
    submit = SubmitField("Create account", widget=GovSubmitInput())

    def validate_rank(self, field: SelectField) -> None:
        if self.role.data in {r.value for r in RANKED_ROLES} and not field.data:
            raise ValidationError("Select the officer's rank")

    def validate_agency(self, field: SelectField) -> None:
        if self.role.data == Role.partner.value and not field.data:
            raise ValidationError("Select the partner's agency")

    def validate_email(self, field: EmailField) -> None:
        if "@" not in (field.data or ""):
            raise ValidationError("Enter an email address in the correct format, like "
                                  "name@example.police.uk")


class SetActiveForm(FlaskForm):
    active = HiddenField(validators=[InputRequired(), AnyOf(["0", "1"])])


class MfaResetForm(FlaskForm):
    reason = StringField(validators=[InputRequired(), Length(max=500)])


class ApproveResetForm(FlaskForm):
    pass


# --- Teams and closure days (issue 13). The services check everything again, in words. -------


class TeamForm(FlaskForm):
    code = StringField("Code", widget=GovTextInput(), filters=[strip_text],
                       description="Short and unchanging, for the audit log: letters, numbers, "
                                   "hyphens and underscores, like NORTH-PPU")
    name = StringField("Name", widget=GovTextInput(), filters=[strip_text],
                       validators=[NoHiddenCharacters(multiline=False)])
    districts = TextAreaField(
        "Postcode districts", widget=GovTextArea(), filters=[strip_text],
        description="The first part of each postcode whose new cases come to this team, "
                    "separated by spaces or commas, like NS1 NS2 NX14")
    is_default = BooleanField("Default team: new cases no district matches come here",
                              widget=GovCheckboxInput(), false_values=("", "false", "n"))
    active = BooleanField("Active: new cases can come to this team", widget=GovCheckboxInput(),
                          false_values=("", "false", "n"), default=True)
    submit = SubmitField("Save the team", widget=GovSubmitInput())

    def to_input(self) -> TeamInput:
        return TeamInput(code=self.code.data or "", name=self.name.data or "",
                         districts=self.districts.data or "",
                         is_default=bool(self.is_default.data), active=bool(self.active.data))


class AddMemberForm(FlaskForm):
    user_id = PersonField("Add a member", placeholder="Choose a case officer or decision-maker")
    submit = SubmitField("Add to the team", widget=GovSubmitInput())


class RemoveMemberForm(FlaskForm):
    """Nothing but the CSRF token."""


class ClosureDayForm(FlaskForm):
    day = DayMonthYearField("Date", [Optional()], description="For example, 26 12 2026")
    reason = StringField(
        "Reason", widget=GovTextInput(), filters=[strip_text],
        validators=[Length(max=CLOSURE_REASON_MAX, message="The reason must be "
                                                           f"{CLOSURE_REASON_MAX} characters or "
                                                           "fewer"),
                    NoHiddenCharacters(multiline=False)],
        description="For example: Christmas closure")
    submit = SubmitField("Add the closure day", widget=GovSubmitInput())


class RemoveClosureDayForm(FlaskForm):
    """Nothing but the CSRF token."""
