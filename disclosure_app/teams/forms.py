"""Forms of the allocation pages: claim, assign or reassign, move an officer's cases, arrange and
end cover. The choices are people; the service (``workflows.allocation``) has the last word on
who may hold a case, so a tampered choice gets the service's own message, not a generic one.

Forms that share a page carry a prefix ("assign-reason", "move-reason", "cover-reason"), so
that no two fields on a page have the same id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovTextArea
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from disclosure_app.cases.step_forms import DayMonthYearField, NoHiddenCharacters, strip_text
from disclosure_app.models import User
from disclosure_app.web.forms import choice_list
from workflows.allocation import COVER_REASON_MAX_CHARS, REASON_MAX_CHARS


class PersonField(SelectField):
    """A select of staff members whose value is an id (or None). Any value is accepted here:
    an id that is not a suitable person is refused by the service, in words."""

    widget = GovSelect()

    def __init__(self, label: str, *, placeholder: str, **kwargs: Any) -> None:
        super().__init__(label, validate_choice=False, **kwargs)
        self.placeholder = placeholder

    def set_people(self, people: Iterable[User]) -> None:
        self.choices = choice_list([("", self.placeholder)]
                                   + [(str(p.id), p.display_name) for p in people])

    @property
    def id_value(self) -> int | None:
        raw = str(self.data or "")
        return int(raw) if raw.isdecimal() and len(raw) <= 18 else None


def _reason(label: str, limit: int, hint: str = "") -> Any:
    return TextAreaField(
        label,
        [Optional(), Length(max=limit, message=f"The reason must be {limit:,} characters or "
                                               "fewer"),
         NoHiddenCharacters(multiline=True)],
        widget=GovTextArea(), filters=[strip_text], description=hint)


class ClaimForm(FlaskForm):
    """Nothing but the CSRF token: who claims is who is signed in."""


class AssignForm(FlaskForm):
    to_user_id = PersonField("Case officer", placeholder="Choose a case officer")
    reason = _reason("Reason", REASON_MAX_CHARS,
                     hint="Needed when someone already holds the case. Kept with the case's "
                          "allocation history.")


class MoveCasesForm(FlaskForm):
    from_user_id = PersonField("Move every open case held by",
                               placeholder="Choose the officer whose cases move")
    to_user_id = PersonField("To", placeholder="Choose the officer who takes them")
    reason = _reason("Reason", REASON_MAX_CHARS, hint="For example: long-term sick leave")


class CoverForm(FlaskForm):
    absent_user_id = PersonField("Absent officer", placeholder="Choose the absent officer")
    cover_user_id = PersonField("Covered by", placeholder="Choose the officer who covers")
    starts_on = DayMonthYearField("First day of cover", [Optional()],
                                  description="For example, 27 3 2026")
    ends_on = DayMonthYearField("Last day of cover", [Optional()])
    reason = _reason("Reason", COVER_REASON_MAX_CHARS, hint="For example: annual leave")


class EndCoverForm(FlaskForm):
    """Nothing but the CSRF token."""


def put_errors(form: Any, errors: dict[str, str]) -> None:
    """A service's errors (keyed by unprefixed field name) onto the form's fields; anything
    else into the form's own errors (the summary)."""
    for name, message in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            form.form_errors = [*form.form_errors, message]


def assign_form_for(panel: Any) -> AssignForm | None:
    """The case page's assign form (``teams.case_page.AllocationPanel``), or None when the
    person may not assign this case."""
    if panel is None or not panel.can_assign:
        return None
    form = AssignForm(prefix="assign", formdata=None)
    form.to_user_id.set_people(panel.officers)
    return form
