"""The building blocks of step records: typed field specifications and their validation.

A step's fields are declared once (in ``workflows.steps``) and used three times: the web app
builds its form from them, the workflow validates submitted data against them as a second line of
defence, and the audit log uses ``personal`` to decide what is hashed rather than copied.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5000

# Characters refused anywhere in a step record: C0/C1 controls (other than tab and newline in
# long text), bidi overrides and isolates, and zero-width characters that hide or reorder text.
_BIDI_AND_ZERO_WIDTH = set(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
)


class Kind(StrEnum):
    text = "text"  # one line
    textarea = "textarea"  # free text, several lines
    choice = "choice"  # one of ``choices`` (radios)
    multichoice = "multichoice"  # any of ``choices`` (checkboxes)
    yesno = "yesno"
    date = "date"
    partner = "partner"  # the id of a partner-agency user (choices come from the database)
    # People at a meeting: rows of {"name", "agency" (one of ``choices``), "role"}.
    attendees = "attendees"


MAX_ATTENDEES = 12
ATTENDEE_PARTS = ("name", "agency", "role")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind = Kind.textarea
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = True
    personal: bool | None = None  # None: free text is personal, codes and dates are not
    max_length: int | None = None
    must_be: str | None = None  # e.g. "yes": the only acceptable answer (with an explanation)
    must_be_message: str = ""
    date_rule: str | None = None  # "past_or_today", "today_or_future" or "future"
    text_format: str | None = None  # "time": a time on the 24-hour clock, stored as HH:MM

    @property
    def holds_personal_data(self) -> bool:
        if self.personal is not None:
            return self.personal
        return self.kind in (Kind.text, Kind.textarea, Kind.attendees)

    @property
    def limit(self) -> int:
        if self.max_length is not None:
            return self.max_length
        return SHORT_TEXT_MAX if self.kind is Kind.text else LONG_TEXT_MAX

    def choice_label(self, value: str) -> str:
        if self.kind is Kind.yesno:
            return {"yes": "Yes", "no": "No"}.get(value, value)
        return dict(self.choices).get(value, value)


Rule = Callable[[Mapping[str, Any], Any], dict[str, str]]
"""A cross-field rule: (cleaned step data, case record) -> errors by field name."""


@dataclass(frozen=True)
class StepSpec:
    event: str
    title: str
    fields: tuple[Field, ...] = ()
    rationale_label: str = "Rationale"
    rationale_hint: str = "Explain why this step is necessary and proportionate for this case."
    rules: tuple[Rule, ...] = field(default=())
    is_decision: bool = False
    # Rules about one field that need the case (the place is not the subject's address). They
    # run even when other fields are wrong, so that every field's problem is shown at once.
    field_rules: tuple[Rule, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def normalise_text(value: str) -> str:
    """NFC-normalise and unify line endings, so the same words always hash the same."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why ``value`` cannot be stored, or None. Refuses controls, bidi and zero-width characters."""
    for ch in value:
        if ch in _BIDI_AND_ZERO_WIDTH:
            return "Remove hidden formatting characters (such as direction or zero-width marks)"
        if ch in "\n\t" and multiline:
            continue
        if unicodedata.category(ch) == "Cc":
            return "Remove control characters"
    return None


_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")


def time_problem(label: str, value: str) -> tuple[str | None, str | None]:
    """A time on the 24-hour clock, 00:00 to 23:59 ("9:30" and "09.30" are read as 09:30):
    (the time as HH:MM, None) or (None, why not)."""
    match = _TIME.fullmatch(value.strip())
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours <= 23 and minutes <= 59:
            return f"{hours:02d}:{minutes:02d}", None
    return None, (f"{label} must be a real time on the 24-hour clock, between 00:00 and 23:59, "
                  "like 09:30 or 14:00")


def clean_value(spec: Field, raw: Any, today: date) -> tuple[Any, str | None]:
    """Validate one field. Returns (clean value, error message or None)."""
    if spec.kind is Kind.multichoice:
        return _clean_multichoice(spec, raw)
    if spec.kind is Kind.attendees:
        return _clean_attendees(spec, raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, _missing_message(spec) if spec.required else None
    cleaner = _CLEANERS[spec.kind]
    return cleaner(spec, raw, today)


def _clean_multichoice(spec: Field, raw: Any) -> tuple[Any, str | None]:
    values = [] if raw in (None, "") else list(raw) if isinstance(raw, list | tuple) else [raw]
    allowed = {c for c, _ in spec.choices}
    if any(str(v) not in allowed for v in values):
        return None, f"Choose from the options listed for {spec.label.lower()}"
    chosen = {str(v) for v in values}
    ordered = [c for c, _ in spec.choices if c in chosen]
    if spec.required and not ordered:
        return None, f"Select at least one option for {spec.label.lower()}"
    return ordered, None


def _clean_attendees(spec: Field, raw: Any) -> tuple[Any, str | None]:
    """Rows left wholly blank are dropped (the form offers more rows than most meetings need);
    a row with any part filled in must be complete."""
    rows = raw if isinstance(raw, list | tuple) else []
    if raw not in (None, "", [], ()) and not isinstance(raw, list | tuple):
        return None, f"Enter {spec.label.lower()} as a list of people"
    agencies = {c for c, _ in spec.choices}
    people: list[dict[str, str]] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            return None, f"{spec.label}: row {number} is not a person"
        parts = {k: normalise_text(str(row.get(k) or "")) for k in ATTENDEE_PARTS}
        if not any(parts.values()):
            continue
        missing = [k for k in ATTENDEE_PARTS if not parts[k]]
        if missing:
            return None, f"{spec.label}: give the {' and '.join(missing)} for row {number}"
        if parts["agency"] not in agencies:
            return None, f"{spec.label}: choose an agency from the list for row {number}"
        for key in ("name", "role"):
            problem = text_problem(parts[key], multiline=False)
            if problem:
                return None, f"{spec.label}, row {number}: {problem}"
            if len(parts[key]) > 100:
                return None, f"{spec.label}, row {number}: the {key} must be 100 characters " \
                    "or fewer"
        people.append(parts)
    if len(people) > MAX_ATTENDEES:
        return None, f"{spec.label}: list at most {MAX_ATTENDEES} people"
    if spec.required and not people:
        return None, f"Enter at least one person for {spec.label.lower()}"
    return people, None


def _clean_text(spec: Field, raw: Any, today: date) -> tuple[Any, str | None]:
    if not isinstance(raw, str):
        return None, f"Enter {spec.label.lower()} as text"
    value = normalise_text(raw)
    problem = text_problem(value, multiline=spec.kind is Kind.textarea)
    if problem:
        return None, problem
    if len(value) > spec.limit:
        return None, f"{spec.label} must be {spec.limit} characters or fewer"
    if spec.text_format == "time":
        return time_problem(spec.label, value)
    return value, None


def _clean_choice(spec: Field, raw: Any, today: date) -> tuple[Any, str | None]:
    allowed = {"yes", "no"} if spec.kind is Kind.yesno else {c for c, _ in spec.choices}
    value = str(raw)
    if value not in allowed:
        return None, f"Select an option for {spec.label.lower()}"
    if spec.must_be is not None and value != spec.must_be:
        return None, spec.must_be_message or f"{spec.label} must be '{spec.must_be}'"
    return value, None


def _clean_date(spec: Field, raw: Any, today: date) -> tuple[Any, str | None]:
    if isinstance(raw, date):
        value = raw
    else:
        try:
            value = date.fromisoformat(str(raw))
        except ValueError:
            return None, f"{spec.label} must be a real date"
    if spec.date_rule == "past_or_today" and value > today:
        return None, f"{spec.label} must be today or in the past"
    if spec.date_rule == "future" and value <= today:
        return None, f"{spec.label} must be in the future"
    if spec.date_rule == "today_or_future" and value < today:
        return None, f"{spec.label} must be today or in the future"
    return value.isoformat(), None


def _clean_partner(spec: Field, raw: Any, today: date) -> tuple[Any, str | None]:
    try:
        return int(raw), None
    except (TypeError, ValueError):
        return None, "Select a partner agency member"


_CLEANERS = {
    Kind.text: _clean_text,
    Kind.textarea: _clean_text,
    Kind.choice: _clean_choice,
    Kind.yesno: _clean_choice,
    Kind.date: _clean_date,
    Kind.partner: _clean_partner,
}


def _missing_message(spec: Field) -> str:
    if spec.kind in (Kind.choice, Kind.yesno, Kind.partner):
        return f"Select an option for {spec.label.lower()}"
    if spec.kind is Kind.date:
        return f"Enter {spec.label.lower()}"
    return f"Enter {spec.label.lower()}"


def clean_step_data(
    spec: StepSpec, data: Mapping[str, Any], case: Any, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate every field and rule of a step. Unknown keys are dropped (no mass assignment)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        value, error = clean_value(f, data.get(f.name), today)
        if error:
            errors[f.name] = error
        elif value is not None and value != []:
            cleaned[f.name] = value
    for rule in spec.field_rules:
        for name, message in rule(cleaned, case).items():
            errors.setdefault(name, message)
    if not errors:
        for rule in spec.rules:
            errors.update(rule(cleaned, case))
    return cleaned, errors
