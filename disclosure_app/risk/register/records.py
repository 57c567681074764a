"""One line of a register file: parsed, validated and turned into a typed record.

The file format is documented field by field in docs/register.md ("The file format").
Validation is strict: an unknown field, an unknown enum value or an impossible date is an error
on that line (never silently dropped), because a register that quietly lost a conviction or an
alias would mislead a risk check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from workflows.identity import hidden_character_problem, phonetic_key, postcode_key, surname_prefix
from workflows.notification import Disposal, OffenceCategory, PeriodError, period_months

GENDERS = ("male", "female", "other", "unknown")
CIVIL_ORDER_TYPES = ("SHPO", "SRO", "other")
RISK_LEVELS = ("low", "medium", "high", "very_high")
MANAGEMENT = ("active", "reactive")
MIN_AGE_OF_CRIMINAL_RESPONSIBILITY = 10
_PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")

_TOP_FIELDS = {
    "person_id", "surname", "forenames", "aliases", "date_of_birth", "gender", "addresses",
    "convictions", "civil_orders", "mappa_category", "mappa_level", "risk_level", "management",
    "source",
}
_ALIAS_FIELDS = {"surname", "forenames"}
_ADDRESS_FIELDS = {"line", "postcode", "from", "to"}
_CONVICTION_FIELDS = {"offence", "offence_category", "date", "disposal", "custody_months",
                      "discharge_months", "age_at_conviction"}
_ORDER_FIELDS = {"type", "from", "to"}


class LineInvalid(ValueError):
    """Why one line cannot be imported."""


@dataclass(frozen=True)
class NameRecord:
    kind: str
    surname: str
    forenames: str

    @property
    def surname_key(self) -> str:
        return phonetic_key(self.surname)

    @property
    def surname_prefix(self) -> str:
        return surname_prefix(self.surname)


@dataclass(frozen=True)
class AddressRecord:
    line: str
    postcode: str
    valid_from: date | None
    valid_to: date | None

    @property
    def postcode_key(self) -> str:
        return postcode_key(self.postcode)


@dataclass(frozen=True)
class PersonRecord:
    person_id: str
    surname: str
    forenames: str
    date_of_birth: date
    gender: str
    source: str
    names: tuple[NameRecord, ...]
    addresses: tuple[AddressRecord, ...]
    convictions: list[dict[str, Any]] = field(default_factory=list)
    civil_orders: list[dict[str, Any]] = field(default_factory=list)
    mappa_category: int | None = None
    mappa_level: int | None = None
    risk_level: str | None = None
    management: str | None = None


def parse_line(text: str, today: date) -> PersonRecord:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineInvalid(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise LineInvalid("each line must be one JSON object (one person)")
    return parse_person(raw, today)


def _fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise LineInvalid(f"{where} must be an object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise LineInvalid(f"{where}: unknown field {', '.join(unknown)}")
    return obj


def _text(obj: dict[str, Any], name: str, where: str, *, max_length: int, required: bool = True,
          person_name: bool = False) -> str:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise LineInvalid(f"{where}{name} is required")
        return ""
    if not isinstance(value, str):
        raise LineInvalid(f"{where}{name} must be text")
    problem = hidden_character_problem(value)
    if problem:
        raise LineInvalid(f"{where}{name} {problem}")
    value = " ".join(value.split())
    if len(value) > max_length:
        raise LineInvalid(f"{where}{name} is longer than {max_length} characters")
    if person_name and not any(ch.isalpha() for ch in value):
        raise LineInvalid(f"{where}{name} has no letters")
    return value


def _date(obj: dict[str, Any], name: str, where: str, *, required: bool = True) -> date | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise LineInvalid(f"{where}{name} is required")
        return None
    if not isinstance(value, str):
        raise LineInvalid(f"{where}{name} must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LineInvalid(f"{where}{name} is not a real date: {value!r}") from None


def _choice(obj: dict[str, Any], name: str, allowed: tuple[str, ...], where: str, *,
            required: bool = False) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise LineInvalid(f"{where}{name} is required")
        return None
    if value not in allowed:
        raise LineInvalid(f"{where}{name} {value!r} is not one of: {', '.join(allowed)}")
    return str(value)


def _whole(obj: dict[str, Any], name: str, where: str, low: int, high: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LineInvalid(f"{where}{name} must be a whole number from {low} to {high}")
    return value


def _list(raw: dict[str, Any], name: str) -> list[Any]:
    value = raw.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise LineInvalid(f"{name} must be a list")
    return value


def _age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def parse_person(raw: dict[str, Any], today: date) -> PersonRecord:
    _fields(raw, _TOP_FIELDS, "the person")
    person_id = raw.get("person_id")
    if not isinstance(person_id, str) or not _PERSON_ID.match(person_id):
        raise LineInvalid("person_id is required: 1 to 64 letters, digits or . _ / -")
    surname = _text(raw, "surname", "", max_length=100, person_name=True)
    forenames = _text(raw, "forenames", "", max_length=100, required=False)
    dob = _date(raw, "date_of_birth", "")
    assert dob is not None
    if dob > today:
        raise LineInvalid(f"date_of_birth {dob.isoformat()} is in the future")
    if dob.year < 1900:
        raise LineInvalid(f"date_of_birth {dob.isoformat()} is before 1900")
    names = [NameRecord("name", surname, forenames)]
    for n, alias in enumerate(_list(raw, "aliases"), start=1):
        where = f"aliases[{n}]."
        _fields(alias, _ALIAS_FIELDS, f"aliases[{n}]")
        names.append(NameRecord(
            "alias", _text(alias, "surname", where, max_length=100, person_name=True),
            _text(alias, "forenames", where, max_length=100, required=False)))
    return PersonRecord(
        person_id=person_id,
        surname=surname,
        forenames=forenames,
        date_of_birth=dob,
        gender=_choice(raw, "gender", GENDERS, "", required=True) or "unknown",
        source=_text(raw, "source", "", max_length=100),
        names=tuple(names),
        addresses=tuple(_addresses(raw, dob, today)),
        convictions=[_conviction(c, n, dob, today)
                     for n, c in enumerate(_list(raw, "convictions"), start=1)],
        civil_orders=[_civil_order(o, n, dob)
                      for n, o in enumerate(_list(raw, "civil_orders"), start=1)],
        mappa_category=_whole(raw, "mappa_category", "", 1, 4),
        mappa_level=_whole(raw, "mappa_level", "", 1, 3),
        risk_level=_choice(raw, "risk_level", RISK_LEVELS, ""),
        management=_choice(raw, "management", MANAGEMENT, ""),
    )


def _addresses(raw: dict[str, Any], dob: date, today: date) -> list[AddressRecord]:
    out = []
    for n, address in enumerate(_list(raw, "addresses"), start=1):
        where = f"addresses[{n}]."
        _fields(address, _ADDRESS_FIELDS, f"addresses[{n}]")
        line = _text(address, "line", where, max_length=200)
        postcode = _text(address, "postcode", where, max_length=10).upper()
        if not _POSTCODE.match(postcode):
            raise LineInvalid(f"{where}postcode {postcode!r} is not a postcode")
        start = _date(address, "from", where, required=False)
        end = _date(address, "to", where, required=False)
        if start and (start > today or start < dob):
            raise LineInvalid(f"{where}from must be between the date of birth and today")
        if start and end and end < start:
            raise LineInvalid(f"{where}to is before from")
        out.append(AddressRecord(line, postcode, start, end))
    return out


def _conviction(raw: Any, n: int, dob: date, today: date) -> dict[str, Any]:
    where = f"convictions[{n}]."
    _fields(raw, _CONVICTION_FIELDS, f"convictions[{n}]")
    offence = _text(raw, "offence", where, max_length=200)
    category = _choice(raw, "offence_category", tuple(OffenceCategory), where, required=True)
    disposal = _choice(raw, "disposal", tuple(Disposal), where, required=True)
    day = _date(raw, "date", where)
    assert day is not None
    assert category is not None
    assert disposal is not None
    if day > today:
        raise LineInvalid(f"{where}date {day.isoformat()} is in the future")
    if day <= dob:
        raise LineInvalid(f"{where}date {day.isoformat()} is before the date of birth")
    custody = _whole(raw, "custody_months", where, 1, 1200)
    discharge = _whole(raw, "discharge_months", where, 1, 36)
    age = _whole(raw, "age_at_conviction", where, 0, 120)
    if age is None:
        raise LineInvalid(f"{where}age_at_conviction is required")
    if age != _age_on(dob, day):
        raise LineInvalid(f"{where}age_at_conviction {age} does not match the date of birth and "
                          f"the conviction date (which give {_age_on(dob, day)})")
    if age < MIN_AGE_OF_CRIMINAL_RESPONSIBILITY:
        raise LineInvalid(f"{where}age_at_conviction {age} is below the age of criminal "
                          "responsibility (10)")
    if custody is not None and disposal != Disposal.imprisonment:
        raise LineInvalid(f"{where}custody_months is only for imprisonment")
    if discharge is not None and disposal != Disposal.conditional_discharge:
        raise LineInvalid(f"{where}discharge_months is only for a conditional discharge")
    try:
        period_months(Disposal(disposal), juvenile=age < 18, custody_months=custody,
                      discharge_months=discharge)
    except PeriodError as exc:
        raise LineInvalid(f"{where}{exc}") from None
    return {"offence": offence, "offence_category": category, "date": day.isoformat(),
            "disposal": disposal, "custody_months": custody, "discharge_months": discharge,
            "age_at_conviction": age}


def _civil_order(raw: Any, n: int, dob: date) -> dict[str, Any]:
    where = f"civil_orders[{n}]."
    _fields(raw, _ORDER_FIELDS, f"civil_orders[{n}]")
    kind = _choice(raw, "type", CIVIL_ORDER_TYPES, where, required=True)
    start = _date(raw, "from", where)
    end = _date(raw, "to", where, required=False)
    assert start is not None
    if start <= dob:
        raise LineInvalid(f"{where}from is before the date of birth")
    if end is not None and end < start:
        raise LineInvalid(f"{where}to is before from")
    return {"type": kind, "from": start.isoformat(), "to": end.isoformat() if end else None}
