"""Forms for managing staff accounts. The service (``services.users``) validates again; these give
the administrator GOV.UK-style messages first."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

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
