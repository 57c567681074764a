"""Forms for the public side: the Right to Ask application and the applicant's withdrawal.

Every text answer is NFC-normalised (``workflows.fields.normalise_text``) before it is checked,
refused if it carries control, direction-override or zero-width characters
(``workflows.fields.text_problem``), and limited in length here, on the server, to what the
database holds. The same ``ApplicationForm`` validates the first post, the check-your-answers
post and the final submit: hidden fields are re-checked, never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovTextInput,
)
from wtforms import BooleanField, Field, Form, FormField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from disclosure_app.cases.applications import (
    ApplicantDetails,
    ApplicationInput,
    ChildDetails,
    SubjectDetails,
)
from disclosure_app.web.context import now
from disclosure_app.web.form_keys import SubmissionKeyField
from workflows.fields import normalise_text, text_problem

NAME_MAX = 100
CHILD_AGE_LIMIT = 18

CONTACT_METHODS = (("phone", "By phone"), ("email", "By email"), ("letter", "By letter"))
YES_NO = (("yes", "Yes"), ("no", "No"))
CHILD_RELATIONSHIPS = (
    ("parent", "Parent"),
    ("step_parent", "Step-parent"),
    ("grandparent", "Grandparent"),
    ("other_relative", "Other relative"),
    ("carer", "Carer or guardian"),
    ("friend_neighbour", "Friend or neighbour"),
    ("other", "Other"),
)

_POSTCODE = re.compile(r"(GIR 0AA|[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2})")
_PHONE = re.compile(r"\+?[0-9 ()\-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_NUMBER = re.compile(r"[0-9]{1,3}")
_DATE_PART = re.compile(r"[0-9]{1,4}")


# --- Filters: applied to the submitted value before any validator runs -------------------------


def clean_text(value: Any) -> str:
    return normalise_text(value) if isinstance(value, str) else ""


def clean_postcode(value: Any) -> str:
    """Upper-case, with one space before the inward code ("ns14dm" -> "NS1 4DM"). Anything that
    is not a postcode is left as typed (upper-cased), so the applicant sees what they entered."""
    text = clean_text(value).upper()
    compact = "".join(text.split())
    formatted = f"{compact[:-3]} {compact[-3:]}"
    return formatted if _POSTCODE.fullmatch(formatted) else text


def _describe(field: Field) -> str:
    """The field's label without "(optional)", for messages."""
    return str(field.label.text).replace("(optional)", "").strip()


# --- Validators -----------------------------------------------------------------------------


class Text:
    """Required or optional text with no hidden characters, at most ``max_length`` characters."""

    def __init__(self, max_length: int, *, required: str | None = None, multiline: bool = False):
        self.max_length = max_length
        self.required = required
        self.multiline = multiline

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data or ""
        if not value:
            raise StopValidation(self.required or "")
        problem = text_problem(value, multiline=self.multiline)
        if problem:
            raise StopValidation(problem)
        if len(value) > self.max_length:
            raise StopValidation(
                f"{_describe(field)} must be {self.max_length} characters or fewer"
            )


class Postcode:
    def __init__(self, *, required: str | None = None):
        self.required = required

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            raise StopValidation(self.required or "")
        if not _POSTCODE.fullmatch(field.data):
            raise StopValidation("Enter a real postcode, like NS1 4DM")


class Phone(Text):
    def __init__(self) -> None:
        super().__init__(30)

    def __call__(self, form: Form, field: Field) -> None:
        super().__call__(form, field)
        digits = sum(ch.isdigit() for ch in field.data)
        if not _PHONE.fullmatch(field.data) or not 7 <= digits <= 15:
            raise StopValidation("Enter a telephone number, like 01632 960 001 or +44 1632 960 001")


class Email(Text):
    def __init__(self) -> None:
        super().__init__(254)

    def __call__(self, form: Form, field: Field) -> None:
        super().__call__(form, field)
        if not _EMAIL.fullmatch(field.data):
            raise StopValidation("Enter an email address in the correct format, like "
                                 "name@example.com")


class WholeNumber:
    def __init__(self, minimum: int, maximum: int, message: str):
        self.minimum, self.maximum, self.message = minimum, maximum, message

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data or ""
        if not value:
            raise StopValidation()
        if not _NUMBER.fullmatch(value) or not self.minimum <= int(value) <= self.maximum:
            raise StopValidation(self.message)


class Choice:
    """One of the field's choices; a tampered value gets the same plain message."""

    def __init__(self, required: str, choices: tuple[tuple[str, str], ...]):
        self.required = required
        self.allowed = {value for value, _ in choices}

    def __call__(self, form: Form, field: Field) -> None:
        if field.data not in self.allowed:
            raise StopValidation(self.required)


class Ticked:
    def __init__(self, message: str):
        self.message = message

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is not True:
            raise StopValidation(self.message)


def _age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class PastDate:
    """A date of birth before today; for a child, also less than 18 years ago."""

    def __init__(self, *, child: bool = False):
        self.child = child

    def __call__(self, form: Form, field: Field) -> None:
        if field.data is None:
            raise StopValidation()
        today = now().date()
        if field.data >= today:
            raise StopValidation("Date of birth must be in the past")
        if self.child and _age_on(field.data, today) >= CHILD_AGE_LIMIT:
            raise StopValidation("The child must be under 18: check the date of birth")


# --- Fields ---------------------------------------------------------------------------------


class DateOfBirthField(Field):
    """A GOV.UK date input: three boxes posted under one name as day, month, year."""

    widget = GovDateInput()
    raw_data: list[str] | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        parts = [clean_text(v)[:10] for v in valuelist[:3]]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts  # exactly three: the widget unpacks them
        self.data = None
        if len(valuelist) > 3:
            raise ValueError("Enter the date of birth as a day, month and year")
        if not any(parts):
            return
        if not all(parts):
            raise ValueError("Date of birth must include a day, month and year")
        if not all(_DATE_PART.fullmatch(p) for p in parts) or len(parts[2]) != 4:
            raise ValueError("Date of birth must be a real date, with a 4-digit year")
        day, month, year = (int(p) for p in parts)
        try:
            self.data = date(year, month, day)
        except ValueError:
            raise ValueError("Date of birth must be a real date") from None
        if year < 1900:
            self.data = None
            raise ValueError("Date of birth must be after 1900")

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""

    def parts(self) -> list[str]:
        """Day, month and year as posted again by the check-your-answers page."""
        if self.data is None:
            return []
        return [str(self.data.day), str(self.data.month), str(self.data.year)]


def _text(label: str, *validators: Any, hint: str = "") -> StringField:
    return StringField(label, validators=list(validators), filters=[clean_text],
                       widget=GovTextInput(), description=hint)


def _long(label: str, *validators: Any, hint: str = "") -> StringField:
    return StringField(label, validators=list(validators), filters=[clean_text],
                       widget=GovCharacterCount(), description=hint)


def _radios(label: str, choices: tuple[tuple[str, str], ...], required: str) -> RadioField:
    return RadioField(label, choices=[SelectChoice(value, text) for value, text in choices],
                      validators=[Choice(required, choices)], validate_choice=False,
                      widget=GovRadioInput())


# --- The application ------------------------------------------------------------------------


class ApplicantForm(Form):
    full_name = _text("Full name", Text(NAME_MAX, required="Enter your full name"))
    other_names = _text("Other names you have used (optional)", Text(200),
                        hint="For example, a name before marriage")
    date_of_birth = DateOfBirthField("Date of birth (optional)", validators=[PastDate()],
                                     description="For example, 27 3 1985")
    address = _long("Address", Text(500, required="Enter your address", multiline=True))
    postcode = StringField("Postcode", validators=[Postcode(required="Enter your postcode")],
                           filters=[clean_postcode], widget=GovTextInput())
    phone = _text("Phone number (optional if we contact you another way)", Phone())
    email = _text("Email address (optional if we contact you another way)", Email())
    contact_method = _radios("How should we contact you?", CONTACT_METHODS,
                             "Select how we should contact you")
    safe_contact_times = _long(
        "When is it safe to contact you?",
        Text(500, required="Tell us when it is safe to contact you", multiline=True),
        hint="For example, weekdays between 9am and 2pm. We will only contact you at these times.",
    )
    messages_ok = _radios("Can we leave a message for you?", YES_NO,
                          "Select whether we can leave a message for you")
    contact_notes = _long(
        "Is there anything we must know to contact you safely? (optional)",
        Text(1000, multiline=True),
        hint="For example, someone else reads your post or uses your phone.",
    )
    relationship_to_subject = _text(
        "What is your relationship to the person you are worried about?",
        Text(200, required="Enter your relationship to the person you are worried about"),
        hint="For example, my ex-partner's new boyfriend, or my neighbour.",
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        needed = {"phone": (self.phone, "Enter a phone number, or choose another way for us "
                            "to contact you"),
                  "email": (self.email, "Enter an email address, or choose another way for us "
                            "to contact you")}
        if self.contact_method.data in needed:
            field, message = needed[self.contact_method.data]
            if not field.data and not field.errors:
                field.errors.append(message)
                ok = False
        return ok


class ChildForm(Form):
    optional = False

    full_name = _text("Full name", Text(NAME_MAX, required="Enter the child's full name"))
    date_of_birth = DateOfBirthField("Date of birth", validators=[PastDate(child=True)],
                                     description="For example, 27 3 2015. If you do not know "
                                     "it, give their age instead.")
    age = _text("Age in years, if you do not know their date of birth",
                WholeNumber(0, CHILD_AGE_LIMIT - 1,
                            "Enter the child's age as a whole number from 0 to 17"))
    gender = _text("Gender (optional)", Text(30))
    lives_with = _long("Who does the child live with? (optional)", Text(500, multiline=True))
    applicant_relationship = _radios("What is your relationship to the child?",
                                     CHILD_RELATIONSHIPS,
                                     "Select your relationship to the child")
    subject_contact = _long(
        "How does the person you are worried about have contact with the child?",
        Text(1000, required="Tell us how the person has contact with the child", multiline=True),
        hint="For example, they live in the same house, babysit, or message the child online.",
    )

    def is_blank(self) -> bool:
        dob = self.date_of_birth.raw_data or []
        return not any(dob) and not any(
            field.data for name, field in self._fields.items() if name != "date_of_birth"
        )

    def validate(self, extra_validators: Any = None) -> bool:
        if self.optional and self.is_blank():
            return True  # an unused optional child: nothing to check, nothing stored
        ok = super().validate(extra_validators)
        dob, age = self.date_of_birth, self.age
        if dob.data is None and not age.data and not dob.errors and not age.errors:
            dob.errors.append("Enter the child's date of birth or their age")
            ok = False
        return ok


class OptionalChildForm(ChildForm):
    optional = True


class SubjectForm(Form):
    full_name = _text(
        "Full name",
        Text(NAME_MAX, required="Enter the full name of the person you are worried about"),
    )
    aliases = _text("Other names or nicknames they use (optional)", Text(500))
    date_of_birth = DateOfBirthField("Date of birth (optional)", validators=[PastDate()],
                                     description="For example, 27 3 1980")
    approximate_age = _text(
        "Approximate age, if you do not know their date of birth (optional)",
        WholeNumber(10, 120, "Enter their approximate age as a whole number from 10 to 120"),
    )
    address = _long("Address (optional)", Text(500, multiline=True))
    postcode = StringField("Postcode (optional)", validators=[Postcode()],
                           filters=[clean_postcode], widget=GovTextInput())
    relationship_to_child = _text(
        "What is their relationship to the child?",
        Text(200, required="Enter the person's relationship to the child"),
        hint="For example, mother's partner, neighbour or family friend.",
    )
    relationship_to_applicant = _text("What is their relationship to you? (optional)", Text(200))


TRUTH_DECLARATION = ("The information I have given is true. I understand that giving false "
                     "information may lead to action against me.")
SHARING_DECLARATION = ("I understand that the police may share this information with children's "
                       "social care, probation, health and education to protect the child.")

# Section headings, in the order the form and the check-your-answers page show them.
SECTIONS = (
    ("applicant", "About you"),
    ("child1", "Child 1"),
    ("child2", "Child 2"),
    ("child3", "Child 3"),
    ("child4", "Child 4"),
    ("subject", "The person you are worried about"),
)
CHILD_KEYS = ("child1", "child2", "child3", "child4")


class ApplicationForm(FlaskForm):
    applicant = FormField(ApplicantForm)
    child1 = FormField(ChildForm)
    child2 = FormField(OptionalChildForm)
    child3 = FormField(OptionalChildForm)
    child4 = FormField(OptionalChildForm)
    subject = FormField(SubjectForm)
    concern = _long(
        "What worries you about this person's contact with the child?",
        Text(5000, required="Tell us what worries you", multiline=True),
        hint="Tell us what you know or have seen or heard, and when. Give as much detail as "
        "you can.",
    )
    declared_truthful = BooleanField(TRUTH_DECLARATION, widget=GovCheckboxInput(), validators=[
        Ticked("Confirm that the information you have given is true")])
    declared_sharing = BooleanField(SHARING_DECLARATION, widget=GovCheckboxInput(), validators=[
        Ticked("Confirm that you understand the police may share this information")])
    # Made when the form is first shown; carried through check your answers to the submit.
    submission_key = SubmissionKeyField()

    # --- What the views need -----------------------------------------------------------------

    def used_children(self) -> list[Form]:
        return [
            self[key].form for key in CHILD_KEYS
            if not (self[key].form.optional and self[key].form.is_blank())
        ]

    def _leaf_fields(self) -> Iterator[tuple[str, Field]]:
        """(section key or "", field) for every answer field, in page order."""
        for name, field in self._fields.items():
            if isinstance(field, FormField):
                for sub in field.form:
                    yield name, sub
            elif name not in ("csrf_token", "submission_key"):
                yield "", field

    def summary_errors(self) -> dict[str | None, str]:
        """Error-summary entries: the id of the input to focus -> the first message, led by
        whose answer it is ("About you: ", "Child 2: ", "The person you are worried about: "):
        the applicant, the children and the subject each have a date of birth, a name, an
        address, so "Date of birth must be a real date" alone does not say which."""
        headings = dict(SECTIONS)
        result: dict[str | None, str] = {}
        for section, field in self._leaf_fields():
            if not field.errors:
                continue
            target = field_target(field)
            prefix = f"{headings[section]}: " if section else ""
            result[target] = prefix + field.errors[0]
        for message in self.form_errors:
            result[None] = message
        return result

    def add_service_errors(self, errors: dict[str, str]) -> None:
        """Show a service's business-rule refusals (``InputInvalid.errors``) on the form."""
        fields = {field.name: field for _, field in self._leaf_fields()}
        aliases = {"children": "child1-full_name", "declarations": "declared_truthful"}
        for key, message in errors.items():
            field = fields.get(aliases.get(key, key))
            if field is None:
                self.form_errors.append(message)
            else:
                field.errors = [*field.errors, message]

    def hidden_pairs(self) -> list[tuple[str, str]]:
        """The cleaned answers as (name, value) pairs, to be posted again and re-validated."""
        pairs: list[tuple[str, str]] = []
        for _, field in self._leaf_fields():
            if isinstance(field, DateOfBirthField):
                pairs.extend((field.name, part) for part in field.parts())
            elif isinstance(field, BooleanField):
                if field.data:
                    pairs.append((field.name, "y"))
            elif field.data:
                pairs.append((field.name, str(field.data)))
        pairs.append((self.submission_key.name, self.submission_key.data))
        return pairs

    def summary(self) -> list[dict[str, Any]]:
        """Check-your-answers sections: {"heading", "rows": [(question, answer, target)]},
        where target is the id of the form's input for that answer (its "Change" link)."""
        used = {id(form) for form in self.used_children()}
        sections = []
        for key, heading in SECTIONS:
            form = self[key].form
            if key in CHILD_KEYS and id(form) not in used:
                continue
            sections.append({"heading": heading, "rows": [_row(f) for f in form]})
        sections.append({"heading": "What worries you", "rows": [_row(self.concern)]})
        sections.append({"heading": "Declarations", "rows": [
            ("The information is true", "Confirmed" if self.declared_truthful.data else "",
             field_target(self.declared_truthful)),
            ("The police may share it to protect the child",
             "Confirmed" if self.declared_sharing.data else "",
             field_target(self.declared_sharing)),
        ]})
        return sections


def field_target(field: Field) -> str:
    """The id of the input a link to this answer lands on (a date's day box)."""
    return f"{field.id}-day" if isinstance(field, DateOfBirthField) else field.id


def _row(field: Field) -> tuple[str, str, str]:
    if isinstance(field, DateOfBirthField):
        answer = f"{field.data.day} {field.data:%B %Y}" if field.data else ""
    elif isinstance(field, RadioField):
        labels = {choice.value: choice.label for choice in field.choices}
        answer = labels.get(field.data, "") if field.data else ""
    else:
        answer = field.data or ""
    return _describe(field), answer, field_target(field)


def _number(field: Field) -> int | None:
    return int(field.data) if field.data else None


def application_input(form: ApplicationForm) -> ApplicationInput:
    """The validated answers as the service's dataclasses, field by field (no mass assignment)."""
    a, s = form.applicant.form, form.subject.form
    relationships = dict(CHILD_RELATIONSHIPS)
    return ApplicationInput(
        applicant=ApplicantDetails(
            full_name=a.full_name.data, other_names=a.other_names.data,
            date_of_birth=a.date_of_birth.data, address=a.address.data,
            postcode=a.postcode.data, phone=a.phone.data, email=a.email.data,
            contact_method=a.contact_method.data, safe_contact_times=a.safe_contact_times.data,
            messages_ok=a.messages_ok.data == "yes", contact_notes=a.contact_notes.data,
            relationship_to_subject=a.relationship_to_subject.data,
        ),
        children=[
            ChildDetails(
                full_name=c.full_name.data, date_of_birth=c.date_of_birth.data,
                age=_number(c.age), gender=c.gender.data, lives_with=c.lives_with.data,
                applicant_relationship=relationships.get(c.applicant_relationship.data, ""),
                subject_contact=c.subject_contact.data,
            )
            for c in form.used_children()
        ],
        subject=SubjectDetails(
            full_name=s.full_name.data, aliases=s.aliases.data,
            date_of_birth=s.date_of_birth.data, approximate_age=_number(s.approximate_age),
            address=s.address.data, postcode=s.postcode.data,
            relationship_to_child=s.relationship_to_child.data,
            relationship_to_applicant=s.relationship_to_applicant.data,
        ),
        concern=form.concern.data,
        declared_truthful=form.declared_truthful.data is True,
        declared_sharing=form.declared_sharing.data is True,
    )


class WithdrawForm(FlaskForm):
    submission_key = SubmissionKeyField()
    reason = _long("Why are you withdrawing your application? (optional)",
                   Text(1000, multiline=True),
                   hint="This helps us decide whether we still need to act to protect the child.")
    confirm = BooleanField("I want to withdraw my application", widget=GovCheckboxInput(),
                           validators=[Ticked("Confirm that you want to withdraw your "
                                              "application")])
