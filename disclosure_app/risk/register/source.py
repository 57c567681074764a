"""Records sources: where the risk check looks a subject up.

``RecordsSource`` is the small interface a force implements to add an adapter (PNC, PND, its own
RMS): find candidates for a subject description, and read one person's record. The built-in
``LocalRegister`` reads the offender register imported with ``flask register import``.

Candidate search never scans the register. Indexed lookups find who might be the subject: a
phonetic key of every name token against names and aliases (``ix_register_names_key``, then the
person by primary key, narrowed to the years the date of birth or age allows), the first three
letters of each token likewise (``ix_register_names_prefix``: spellings the phonetic key splits),
the exact date of birth (``ix_register_people_dob``) and the postcodes
(``ix_register_addresses_postcode``).
Each lookup is capped; only the people found are loaded and scored (``workflows.identity``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from disclosure_app.models import RegisterAddress, RegisterName, RegisterPerson
from workflows.identity import (
    Address,
    CandidateRecord,
    PersonName,
    SubjectDescription,
    name_tokens,
    phonetic_key,
    postcode_key,
    surname_prefix,
)
from workflows.notification import Disposal, OffenceCategory, notification_period

BRANCH_CAP = 200
DOB_WINDOW_YEARS = 2
AGE_WINDOW_YEARS = 3


@dataclass(frozen=True)
class Conviction:
    offence: str
    category: OffenceCategory
    on: date
    disposal: Disposal
    custody_months: int | None
    discharge_months: int | None
    age_at_conviction: int

    def notification(self, today: date) -> str:
        """The SOA 2003 notification status, or why there is none."""
        if not self.category.notifiable:
            return "No notification requirement (not a sexual offence)"
        period = notification_period(
            self.disposal, self.on, self.age_at_conviction,
            custody_months=self.custody_months, discharge_months=self.discharge_months,
        )
        return period.describe(today)


@dataclass(frozen=True)
class CivilOrder:
    type: str
    start: date
    end: date | None

    def in_force(self, today: date) -> bool:
        return self.start <= today and (self.end is None or self.end >= today)


@dataclass(frozen=True)
class OffenderRecord:
    """One person as a records source holds them, source-neutral."""

    person_id: str
    full_name: str
    date_of_birth: date
    gender: str
    aliases: Sequence[str]
    addresses: Sequence[Address]
    convictions: Sequence[Conviction]
    civil_orders: Sequence[CivilOrder]
    mappa_category: int | None
    mappa_level: int | None
    risk_level: str | None
    management: str | None
    source: str
    extract_date: datetime

    @property
    def child_sexual_offence(self) -> bool:
        return any(c.category is OffenceCategory.child_sexual for c in self.convictions)


@dataclass(frozen=True)
class CandidateSearch:
    candidates: list[CandidateRecord]
    capped: bool  # a lookup hit its cap: some people may not be shown


class RecordsSource(Protocol):
    name: str

    def candidates(self, subject: SubjectDescription) -> CandidateSearch:
        found: set[int] = set()
        capped = False

        def read(query: Select[Any]) -> list[int]:
            nonlocal capped
            rows = list(self.session.scalars(query).all())
            capped = capped or len(rows) > BRANCH_CAP
            found.update(rows[:BRANCH_CAP])
            return rows

        keys = search_keys(subject)
        window = years_window(subject, self.today)
        if keys:
            # Every namesake is worth showing beside the match; only when a name is so common
            # that the lookup hits its cap is it narrowed to the plausible years of birth.
            everyone = list(self.session.scalars(name_query(keys, None)).all())
            if len(everyone) <= BRANCH_CAP or window is None:
                capped = capped or len(everyone) > BRANCH_CAP
                found.update(everyone[:BRANCH_CAP])
            else:
                read(name_query(keys, window))
        if window is not None and prefix_keys(subject):
            # Spelling variants the phonetic key splits, within the years the subject could
            # have been born in (without a window, a prefix alone would find too many).
            read(name_query(prefix_keys(subject), window, prefix=True))
        if subject.date_of_birth is not None:
            read(dob_query(subject.date_of_birth))
        postcodes = sorted({postcode_key(a.postcode) for a in subject.addresses} - {""})
        if postcodes:
            read(postcode_query(postcodes))
        if not found:
            return CandidateSearch([], capped)
        people = self.session.scalars(
            select(RegisterPerson).where(RegisterPerson.id.in_(sorted(found)))
            .options(selectinload(RegisterPerson.names), selectinload(RegisterPerson.addresses))
        ).all()
        return CandidateSearch([candidate_record(p) for p in people], capped)

    def record(self, person_id: str) -> OffenderRecord | None: ...


# --- The local offender register -----------------------------------------------------------


def search_keys(subject: SubjectDescription) -> list[str]:
    """Phonetic keys of every token of every name and alias (so a forename written in the
    surname's place is still found)."""
    keys = {phonetic_key(token) for n in subject.names for token in name_tokens(n.full)}
    return sorted(k for k in keys if k)


def prefix_keys(subject: SubjectDescription) -> list[str]:
    keys = {surname_prefix(token) for n in subject.names for token in name_tokens(n.full)}
    return sorted(k for k in keys if k)


def years_window(subject: SubjectDescription, today: date) -> tuple[date, date] | None:
    if subject.date_of_birth is not None:
        dob = subject.date_of_birth
        return (date(dob.year - DOB_WINDOW_YEARS, 1, 1), date(dob.year + DOB_WINDOW_YEARS, 12, 31))
    if subject.approximate_age is not None:
        born = today.year - subject.approximate_age
        return (date(born - AGE_WINDOW_YEARS - 1, 1, 1), date(born + AGE_WINDOW_YEARS, 12, 31))
    return None


def name_query(keys: Sequence[str], window: tuple[date, date] | None, *,
               prefix: bool = False) -> Select[Any]:
    column = RegisterName.surname_prefix if prefix else RegisterName.surname_key
    query = select(RegisterName.person_pk).where(column.in_(keys))
    if window is not None:
        query = query.join(RegisterPerson, RegisterPerson.id == RegisterName.person_pk).where(
            RegisterPerson.date_of_birth.between(*window))
    return query.limit(BRANCH_CAP + 1)


def dob_query(dob: date) -> Select[Any]:
    return select(RegisterPerson.id).where(RegisterPerson.date_of_birth == dob).limit(
        BRANCH_CAP + 1)


def postcode_query(keys: Sequence[str]) -> Select[Any]:
    return select(RegisterAddress.person_pk).where(RegisterAddress.postcode_key.in_(keys)).limit(
        BRANCH_CAP + 1)


class LocalRegister:
    name = "Local offender register"

    def __init__(self, session: Session, today: date) -> None:
        self.session = session
        self.today = today

    def candidates(self, subject: SubjectDescription) -> CandidateSearch:
        queries = []
        keys = search_keys(subject)
        window = years_window(subject, self.today)
        if keys:
            # Every namesake is worth showing beside the match; only when a name is so common
            # that the lookup hits its cap is it narrowed to the plausible years of birth.
            everyone = self.session.scalars(name_query(keys, None)).all()
            if len(everyone) <= BRANCH_CAP or window is None:
                queries.append(name_query(keys, None))
            else:
                queries.append(name_query(keys, window))
        if window is not None and prefix_keys(subject):
            # Spelling variants the phonetic key splits, within the years the subject could
            # have been born in (without a window, a prefix alone would find too many).
            queries.append(name_query(prefix_keys(subject), window, prefix=True))
        if subject.date_of_birth is not None:
            queries.append(dob_query(subject.date_of_birth))
        postcodes = sorted({postcode_key(a.postcode) for a in subject.addresses} - {""})
        if postcodes:
            queries.append(postcode_query(postcodes))
        found: set[int] = set()
        capped = False
        for query in queries:
            rows = self.session.scalars(query).all()
            capped = capped or len(rows) > BRANCH_CAP
            found.update(rows[:BRANCH_CAP])
        if not found:
            return CandidateSearch([], capped)
        people = self.session.scalars(
            select(RegisterPerson).where(RegisterPerson.id.in_(sorted(found)))
            .options(selectinload(RegisterPerson.names), selectinload(RegisterPerson.addresses))
        ).all()
        return CandidateSearch([candidate_record(p) for p in people], capped)

    def record(self, person_id: str) -> OffenderRecord | None:
        person = self.session.scalars(
            select(RegisterPerson).where(RegisterPerson.person_id == person_id)
            .options(selectinload(RegisterPerson.names), selectinload(RegisterPerson.addresses),
                     selectinload(RegisterPerson.last_import))
        ).first()
        return None if person is None else offender_record(person)


def candidate_record(person: RegisterPerson) -> CandidateRecord:
    return CandidateRecord(
        person_id=person.person_id,
        names=[PersonName(n.forenames, n.surname, n.kind) for n in person.names],
        date_of_birth=person.date_of_birth,
        addresses=[Address(a.line, a.postcode, a.valid_from, a.valid_to)
                   for a in person.addresses],
    )


def offender_record(person: RegisterPerson) -> OffenderRecord:
    return OffenderRecord(
        person_id=person.person_id,
        full_name=person.full_name,
        date_of_birth=person.date_of_birth,
        gender=person.gender,
        aliases=[f"{n.forenames} {n.surname}".strip() for n in person.names if n.kind == "alias"],
        addresses=[Address(a.line, a.postcode, a.valid_from, a.valid_to)
                   for a in person.addresses],
        convictions=sorted(
            (Conviction(c["offence"], OffenceCategory(c["offence_category"]),
                        date.fromisoformat(c["date"]), Disposal(c["disposal"]),
                        c.get("custody_months"), c.get("discharge_months"),
                        c["age_at_conviction"]) for c in person.convictions),
            key=lambda c: c.on, reverse=True),
        civil_orders=[CivilOrder(o["type"], date.fromisoformat(o["from"]),
                                 date.fromisoformat(o["to"]) if o.get("to") else None)
                      for o in person.civil_orders],
        mappa_category=person.mappa_category,
        mappa_level=person.mappa_level,
        risk_level=person.risk_level,
        management=person.management,
        source=person.source,
        extract_date=person.last_import.imported_at,
    )
