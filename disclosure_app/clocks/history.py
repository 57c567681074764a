"""Importing closed cases from the force's previous system, for the breach forecast.

A CSV with a header line and one closed case per line:

    reference,route,received,checks_done,interviewed,assessed,closed
    OLD-2024-0001,right_to_ask,2024-01-08,2024-01-09,2024-01-17,2024-02-12,2024-03-01

``route`` is ``right_to_ask`` or ``right_to_know`` (which has no interview); dates are
YYYY-MM-DD; ``received`` and ``closed`` are required, the others may be blank when unknown. No
column may hold a person: the reference is the old system's case number. The file is checked
whole before anything is written: one bad line refuses the import, every bad line is reported
with its number, and a reference already imported is refused too (importing a file twice
changes nothing). One audit entry records the import.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.db import transaction
from disclosure_app.models import HistoricalCase
from workflows.roles import Actor
from workflows.status import Route

COLUMNS = ("reference", "route", "received", "checks_done", "interviewed", "assessed", "closed")
DATES = COLUMNS[2:]
MAX_LINES = 200_000


@dataclass(frozen=True)
class HistoryRow:
    reference: str
    route: str
    received: date
    checks_done: date | None
    interviewed: date | None
    assessed: date | None
    closed: date


class HistoryRefused(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:20]))
        self.errors = errors


def parse(text: str, today: date) -> list[HistoryRow]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise HistoryRefused([f"line 1: the header must be {','.join(COLUMNS)}"])
    rows, errors, seen = [], [], set()
    for number, raw in enumerate(reader, start=2):
        if number > MAX_LINES + 1:
            raise HistoryRefused([f"more than {MAX_LINES} lines: split the file"])
        row, problem = _row(raw, today)
        if problem is None and row is not None and row.reference in seen:
            problem = f"reference {row.reference} appears twice in the file"
        if problem is not None:
            errors.append(f"line {number}: {problem}")
            continue
        assert row is not None
        seen.add(row.reference)
        rows.append(row)
    if errors:
        raise HistoryRefused(errors)
    return rows


def _row(raw: dict[str, str | None], today: date) -> tuple[HistoryRow | None, str | None]:
    reference = (raw.get("reference") or "").strip()
    if not reference or len(reference) > 60 or not reference.isprintable():
        return None, "reference must be 1 to 60 printable characters"
    route = (raw.get("route") or "").strip()
    if route not in {r.value for r in Route}:
        return None, "route must be right_to_ask or right_to_know"
    dates: dict[str, date | None] = {}
    for column in DATES:
        value = (raw.get(column) or "").strip()
        try:
            dates[column] = date.fromisoformat(value) if value else None
        except ValueError:
            return None, f"{column} is not a date (YYYY-MM-DD)"
    return _checked(reference, route, dates, today)


def _checked(reference: str, route: str, dates: dict[str, date | None], today: date
             ) -> tuple[HistoryRow | None, str | None]:
    if dates["received"] is None or dates["closed"] is None:
        return None, "received and closed are required"
    if route == Route.right_to_know and dates["interviewed"] is not None:
        return None, "a Right to Know case has no interview"
    known = [(column, dates[column]) for column in DATES if dates[column] is not None]
    for (first, earlier), (second, later) in zip(known, known[1:], strict=False):
        if later < earlier:  # type: ignore[operator]
            return None, f"{second} is before {first}"
    if dates["closed"] > today:
        return None, "closed is in the future"
    return HistoryRow(reference, route, **dates), None  # type: ignore[arg-type]


def import_history(session: Session, text: str, *, source: str, now: datetime,
                   actor: Actor | SystemActor) -> int:
    """Check and store the file's closed cases (one transaction); the number stored."""
    rows = parse(text, now.date())
    with transaction(session):
        existing = set(session.scalars(select(HistoricalCase.source_reference).where(
            HistoricalCase.source_reference.in_([row.reference for row in rows]))))
        if existing:
            raise HistoryRefused([f"reference {ref} was imported before"
                                  for ref in sorted(existing)])
        session.add_all(HistoricalCase(
            source=source[:120], source_reference=row.reference, route=row.route,
            received_on=row.received, checks_done_on=row.checks_done,
            interviewed_on=row.interviewed, assessed_on=row.assessed, closed_on=row.closed,
            imported_at=now) for row in rows)
        audit.append(session, now=now, actor=actor, action="case_history_imported",
                     category=Category.collection,
                     details={"source": source[:120], "cases": len(rows),
                              "file_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return len(rows)
