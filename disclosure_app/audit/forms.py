"""The auditor's search form. It is read from the query string (a GET search changes nothing, so
it needs no CSRF token) and carries only ids, codes and dates, never personal text."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from disclosure_app.audit.queries import action_choices, category_choices
from disclosure_app.models import User

DATE_HINT = "A UTC date, for example 2026-03-27"


EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def _sane_date(form: FlaskForm, field: DateField) -> None:
    if field.data is not None and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(f"{field.label.text} must be between 2000 and 2999")


def _date_field(label: str) -> DateField:
    return DateField(
        label,
        format="%Y-%m-%d",
        description=DATE_HINT,
        invalid_value_message=f"{label} must be a real date, like 2026-03-27",
        widget=GovTextInput(),
        validators=[Optional(), _sane_date],
    )


def _choices(anything: str, pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice("", anything)] + [SelectChoice(value, label) for value, label in pairs]


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search: nothing to forge

    date_from = _date_field("From date")
    date_to = _date_field("To date")
    actor = SelectField("Staff member", widget=GovSelect(), validators=[Optional()],
                        invalid_choice_message="Select a staff member from the list")
    action = SelectField("Action", widget=GovSelect(), validators=[Optional()],
                         invalid_choice_message="Select an action from the list")
    category = SelectField("Category of processing (DPA 2018 s.62)", widget=GovSelect(),
                           validators=[Optional()],
                           invalid_choice_message="Select a category from the list")
    reference = StringField(
        "Case reference",
        description="The exact reference, for example CSD-7K2M-9QXD",
        widget=GovTextInput(),
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=20, message="A case reference is 20 characters or fewer"),
            Regexp(r"^[A-Z0-9-]+$", message="A case reference has only letters, digits and "
                   "hyphens"),
        ],
    )
    # The keyset cursor: the last seq of the previous page (never shown as a field).
    before = StringField(validators=[
        Optional(), Regexp(r"^[1-9][0-9]{0,17}$", message="That page link is not valid")])
    submit = SubmitField("Search", widget=GovSubmitInput())

    def __init__(self, *args: object, staff: Iterable[User] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.actor.choices = [SelectChoice("", "Anyone")] + [
            SelectChoice(str(u.id), f"{u.display_name} ({u.role.label})") for u in staff
        ]
        self.action.choices = _choices("Any action", action_choices())
        self.category.choices = _choices("Any category", category_choices())

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")

    @property
    def before_seq(self) -> int | None:
        return int(self.before.data) if self.before.data else None

    def query_args(self) -> dict[str, str]:
        """The filters as query-string values (for paging and export links), without ``before``."""
        return {
            name: self[name].raw_data[0]
            for name in ("date_from", "date_to", "actor", "action", "category", "reference")
            if self[name].raw_data and self[name].raw_data[0]
        }
