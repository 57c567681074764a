"""Staff forms that are not a single workflow step: the queue filters and a new Right to Know case.

Step forms are built from the workflow's step specifications in ``step_forms``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import (
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional, ValidationError

from disclosure_app.cases.applications import ChildDetails, ReferralInput, SubjectDetails
from disclosure_app.cases.queue import QueueFilter, QueueView
from disclosure_app.cases.step_forms import (
    DayMonthYearField,
    NoHiddenCharacters,
    Required,
    choice_list,
    form_data_to_step,
    lower_first,
    step_field_attrs,
    strip_text,
)
from disclosure_app.web.context import now
from disclosure_app.web.form_keys import SubmissionKeyField
from workflows.status import Route, Stage, Status
from workflows.steps import step_for

MAX_CHILDREN = 3

# --- The queue's filters (a GET form: only non-personal parameters ever reach the URL) ---------


def _choice_filter(label: str, any_label: str, choices: list[tuple[str, str]], noun: str) -> Any:
    return SelectField(
        label,
        choices=choice_list([("", any_label), *choices]),
        default="",
        widget=GovSelect(),
        invalid_choice_message=f"Choose a {noun} from the list",
    )


_FLAG_CHOICES = [("", "No"), ("yes", "Yes")]


def _id_filter(label: str, message: str) -> Any:
    """A record id in the URL (the workload page's links): digits only, else a 400."""

    def whole_number(form: Any, field: Any) -> None:
        if field.data and (not field.data.isdecimal() or len(field.data) > 18):
            raise ValidationError(message)

    return StringField(label, validators=[Optional(), whole_number])


class QueueFilterForm(Form):
    """Validated against the workflow's enums: an unknown value is a 400, never a 500."""

    class Meta:
        csrf = False

    stage = _choice_filter("Stage", "Any stage", [(s.value, s.label) for s in Stage], "stage")
    status = _choice_filter(
        "State", "Any state", [(s.value, s.label) for s in Status if s is not Status.draft],
        "state",
    )
    route = _choice_filter("Route", "Both routes", [(r.value, r.label) for r in Route], "route")
    overdue = SelectField("Overdue only", choices=choice_list(_FLAG_CHOICES), default="",
                          invalid_choice_message="The overdue filter can only be switched on")
    mine = SelectField("My cases only", choices=choice_list(_FLAG_CHOICES), default="",
                       invalid_choice_message="The ‘my cases’ filter can only be switched on")
    # "" is "everything I may see", so that the plain queue's address stays /staff/.
    view = SelectField("Queue", choices=choice_list(
        [("", QueueView.everything.label)]
        + [(v.value, v.label) for v in QueueView if v is not QueueView.everything]),
        default="", invalid_choice_message="Choose one of the queues shown")
    team = _id_filter("Team", "The team filter must be a team from the workload page")
    officer = _id_filter("Officer", "The officer filter must be an officer from the workload "
                                    "page")

    def to_filter(self) -> QueueFilter:
        return QueueFilter(
            stage=Stage(self.stage.data) if self.stage.data else None,
            status=Status(self.status.data) if self.status.data else None,
            route=Route(self.route.data) if self.route.data else None,
            overdue_only=self.overdue.data == "yes",
            mine_only=self.mine.data == "yes",
            view=QueueView(self.view.data) if self.view.data else QueueView.everything,
            team_id=int(self.team.data) if self.team.data else None,
            officer_id=int(self.officer.data) if self.officer.data else None,
        )

    def query_args(self) -> dict[str, str]:
        """The filters in force, for the "next page" link (never anything personal)."""
        return {name: str(field.data) for name, field in self._fields.items() if field.data}

    def tab_args(self, view: QueueView) -> dict[str, str]:
        """The same filters, in another of the queue's views (its tab's link)."""
        args = {k: v for k, v in self.query_args().items() if k not in ("view", "mine")}
        if view is not QueueView.everything:
            args["view"] = view.value
        return args


# --- A new Right to Know case -----------------------------------------------------------------


class WholeNumberField(IntegerField):
    """An optional whole number with a GOV.UK-style message; blank means "not given"."""

    widget = GovTextInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = str(valuelist[0]).strip() if valuelist else ""
        if not raw:
            return
        if not raw.isdecimal() or len(raw) > 3:
            raise ValueError(f"{self.label.text} must be a whole number, like 9")
        self.data = int(raw)


# Every message names whose field it is ("Child 2's date of birth must be a real date"): the
# form asks for the same things about the subject and up to three children. Each person's part
# names its fields before it reads what was sent (``_OnePerson``), and messages read the label
# when they are raised.


def _in_the_past(form: Any, field: Any) -> None:
    if isinstance(field.data, date) and field.data >= now().date():
        raise ValidationError(f"{field.label.text} must be in the past")


class _MaxLength:
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form: Any, field: Any) -> None:
        if isinstance(field.data, str) and len(field.data) > self.limit:
            raise ValidationError(f"{field.label.text} must be {self.limit} characters or fewer")


class _Between:
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not self.low <= field.data <= self.high:
            raise ValidationError(
                f"{field.label.text} must be between {self.low} and {self.high}")


def _name(label: str, message: str, *, required: bool = True, max_length: int = 100) -> Any:
    return StringField(
        label,
        [Required(message) if required else Optional(), _MaxLength(max_length),
         NoHiddenCharacters(multiline=False)],
        widget=GovTextInput(),
        filters=[strip_text],
    )


def _text(label: str, *, max_length: int, hint: str = "", area: bool = False) -> Any:
    validators = [Optional(), _MaxLength(max_length), NoHiddenCharacters(multiline=area)]
    if area:
        return TextAreaField(label, validators, widget=GovTextArea(), filters=[strip_text],
                             description=hint)
    return StringField(label, validators, widget=GovTextInput(), filters=[strip_text],
                       description=hint)


class _OnePerson(Form):
    """One person's part of the form, whose fields' labels say whose they are."""

    def whose(self) -> tuple[str, dict[str, str]]:  # pragma: no cover - each part says
        raise NotImplementedError

    def process(self, *args: Any, **kwargs: Any) -> None:
        owner, own_labels = self.whose()
        for name, field in self._fields.items():
            base = getattr(field, "_plain_label", field.label.text)
            field._plain_label = base  # type: ignore[attr-defined]
            field.label.text = own_labels.get(name) or f"{owner} {lower_first(base)}"
        super().process(*args, **kwargs)


def _number_in(prefix: str) -> int:
    """'children-1-' -> 2: which child this part of the form is."""
    match = re.search(r"-(\d+)-$", prefix or "")
    return int(match.group(1)) + 1 if match else 1


class SubjectForm(_OnePerson):
    def whose(self) -> tuple[str, dict[str, str]]:
        return "The subject's", {}

    full_name = _name("Full name", "Enter the full name of the person the concern is about")
    aliases = _text("Other names or aliases", max_length=500, hint="Optional.")
    date_of_birth = DayMonthYearField(
        "Date of birth", [Optional(), _in_the_past],
        description="If known. For example, 27 3 1981.",
    )
    approximate_age = WholeNumberField(
        "Approximate age", [Optional(), _Between(10, 120)],
        description="If the date of birth is not known.",
    )
    address = _text("Address", max_length=500, hint="If known.", area=True)
    postcode = _text("Postcode", max_length=10)
    relationship_to_child = _name("Relationship to the child",
                                  "Enter the person's relationship to the child", max_length=200)

    def details(self) -> SubjectDetails:
        return SubjectDetails(
            full_name=self.full_name.data or "",
            relationship_to_child=self.relationship_to_child.data or "",
            aliases=self.aliases.data or "",
            date_of_birth=self.date_of_birth.data,
            approximate_age=self.approximate_age.data,
            address=self.address.data or "",
            postcode=(self.postcode.data or "").upper(),
        )


class ChildForm(_OnePerson):
    def whose(self) -> tuple[str, dict[str, str]]:
        number = _number_in(self._prefix)
        return f"Child {number}'s", {
            "subject_contact": f"How the person has contact with child {number}"}

    full_name = _name("Full name", "Enter the child's full name", required=False)
    date_of_birth = DayMonthYearField("Date of birth", [Optional(), _in_the_past],
                                      description="For example, 14 6 2016.")
    age = WholeNumberField(
        "Age", [Optional(), _Between(0, 17)],
        description="If the date of birth is not known.",
    )
    subject_contact = _text("How the person has contact with the child", max_length=1000,
                            area=True)

    def is_blank(self) -> bool:
        return not any(
            (self.full_name.data, self.date_of_birth.raw_data and any(self.date_of_birth.raw_data),
             self.age.raw_data and any(self.age.raw_data), self.subject_contact.data)
        )

    def require_complete(self, number: int) -> None:
        """A child's name, how the person has contact, and a date of birth or age."""
        needs = {
            "full_name": (not self.full_name.data, f"Enter the full name of child {number}"),
            "subject_contact": (not self.subject_contact.data,
                                f"Enter how the person has contact with child {number}"),
            "date_of_birth": (self.date_of_birth.data is None and self.age.data is None,
                              f"Enter the date of birth or the age of child {number}"),
        }
        for name, (missing, message) in needs.items():
            field = self[name]
            if missing and not field.errors:
                field.errors = [*field.errors, message]

    def details(self) -> ChildDetails:
        return ChildDetails(
            full_name=self.full_name.data or "",
            subject_contact=self.subject_contact.data or "",
            date_of_birth=self.date_of_birth.data,
            age=self.age.data,
        )


RIGHT_TO_KNOW_SPEC = step_for("open_right_to_know")


class _RightToKnowBase(FlaskForm):
    subject = FormField(SubjectForm)
    children = FieldList(FormField(ChildForm), min_entries=MAX_CHILDREN,
                         max_entries=MAX_CHILDREN)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for number, entry in enumerate(self.children.entries, start=1):
            child: ChildForm = entry.form
            if number == 1 or not child.is_blank():
                child.require_complete(number)
        # FieldList keeps a snapshot of its entries' errors: refresh it after the checks above.
        errors = [entry.errors for entry in self.children.entries]
        self.children.errors = errors if any(errors) else []
        return valid and not self.children.errors

    def referral(self) -> ReferralInput:
        children = [e.form.details() for e in self.children.entries if not e.form.is_blank()]
        return ReferralInput(
            subject=self.subject.form.details(),
            children=children,
            step=form_data_to_step(RIGHT_TO_KNOW_SPEC, self),
            rationale=self.rationale.data or "",  # type: ignore[attr-defined]
        )


RightToKnowForm: type[_RightToKnowBase] = type(
    "RightToKnowForm",
    (_RightToKnowBase,),
    {
        **step_field_attrs(RIGHT_TO_KNOW_SPEC),
        "submission_key": SubmissionKeyField(),
        "submit": SubmitField("Open the case", widget=GovSubmitInput()),
    },
)
