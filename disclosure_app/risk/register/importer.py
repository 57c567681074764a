"""Importing a register file (JSON Lines, one person a line): all or nothing.

Every line is checked first; if any line is bad, each bad line is reported with its number and
reason and nothing is written. Otherwise the whole file goes in one transaction: a person whose
``person_id`` is already held is updated (their names, aliases and addresses replaced), a new
one is added, and one audit entry (DPA 2018 s.62 collection) records the import with the file's
SHA-256. Writes go in chunks through bulk statements, so 100,000 people take seconds, not hours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.db import transaction
from disclosure_app.models import RegisterAddress, RegisterImport, RegisterName, RegisterPerson
from disclosure_app.risk.register.records import LineInvalid, PersonRecord, parse_line
from workflows.roles import Actor

CHUNK = 500
MAX_REPORTED_ERRORS = 200

Progress = Callable[[int], None]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRefused(Exception):
    """The file has bad lines; nothing was imported."""

    def __init__(self, errors: Sequence[LineError], total: int) -> None:
        super().__init__(f"{total} bad line(s); nothing was imported")
        self.errors = list(errors)
        self.total = total


@dataclass(frozen=True)
class CheckedFile:
    records: list[PersonRecord]
    sha256: str
    lines: int


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    lines: int
    created: int
    updated: int
    sha256: str


def check_lines(lines: Iterable[bytes], *, today: date, progress: Progress | None = None
                ) -> CheckedFile:
    """Parse and validate every line; raise ``ImportRefused`` listing the bad ones."""
    digest = hashlib.sha256()
    records: list[PersonRecord] = []
    errors: list[LineError] = []
    total_errors = 0
    first_line: dict[str, int] = {}
    number = 0
    for number, raw in enumerate(lines, start=1):
        digest.update(raw)
        if progress:
            progress(len(raw))
        problem, record = _check_one(raw, today)
        if record is not None and record.person_id in first_line:
            problem = (f"person_id {record.person_id!r} already appears on line "
                       f"{first_line[record.person_id]}")
        if problem:
            total_errors += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(LineError(number, problem))
            continue
        if record is not None:
            first_line[record.person_id] = number
            records.append(record)
    if total_errors:
        raise ImportRefused(errors, total_errors)
    return CheckedFile(records, digest.hexdigest(), number)


def _check_one(raw: bytes, today: date) -> tuple[str | None, PersonRecord | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8 text", None
    if not text.strip():
        return None, None  # blank lines (a trailing newline, say) carry no person
    try:
        return None, parse_line(text, today)
    except LineInvalid as exc:
        return str(exc), None


def import_file(session: Session, path: Path, *, now: datetime, actor: Actor | SystemActor,
                progress: Progress | None = None, write_progress: Progress | None = None
                ) -> ImportResult:
    with path.open("rb") as handle:
        checked = check_lines(handle, today=now.date(), progress=progress)
    return write_records(session, checked, file_name=path.name, now=now, actor=actor,
                         progress=write_progress)


def write_records(session: Session, checked: CheckedFile, *, file_name: str, now: datetime,
                  actor: Actor | SystemActor, progress: Progress | None = None) -> ImportResult:
    with transaction(session):
        batch = RegisterImport(imported_at=now, file_name=file_name[:255],
                               file_sha256=checked.sha256, lines=checked.lines, created=0,
                               updated=0)
        session.add(batch)
        session.flush()
        created = updated = 0
        for chunk in _chunks(checked.records, CHUNK):
            c, u = _write_chunk(session, chunk, batch.id, now)
            created, updated = created + c, updated + u
            if progress:
                progress(len(chunk))
        entry = audit.append(
            session, now=now, actor=actor, action="register_imported",
            category=Category.collection,
            details={"file_sha256": checked.sha256, "lines": checked.lines,
                     "people_created": created, "people_updated": updated,
                     "import_id": batch.id},
        )
        batch.created, batch.updated, batch.audit_seq = created, updated, entry.seq
    # Bulk statements bypass the session: anything it held of the register is now stale.
    session.expire_all()
    return ImportResult(batch.id, checked.lines, created, updated, checked.sha256)


def _chunks(items: list[PersonRecord], size: int) -> Iterator[list[PersonRecord]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _person_values(record: PersonRecord, import_id: int, now: datetime) -> dict[str, Any]:
    return {
        "person_id": record.person_id, "surname": record.surname,
        "forenames": record.forenames, "date_of_birth": record.date_of_birth,
        "gender": record.gender, "convictions": record.convictions,
        "civil_orders": record.civil_orders, "mappa_category": record.mappa_category,
        "mappa_level": record.mappa_level, "risk_level": record.risk_level,
        "management": record.management, "source": record.source, "import_id": import_id,
        "updated_at": now,
    }


def _write_chunk(session: Session, chunk: list[PersonRecord], import_id: int, now: datetime
                 ) -> tuple[int, int]:
    ids = [r.person_id for r in chunk]
    existing = dict(session.execute(
        select(RegisterPerson.person_id, RegisterPerson.id).where(RegisterPerson.person_id.in_(ids))
    ).all())
    if existing:
        pks = list(existing.values())
        session.execute(delete(RegisterName).where(RegisterName.person_pk.in_(pks)))
        session.execute(delete(RegisterAddress).where(RegisterAddress.person_pk.in_(pks)))
        session.execute(update(RegisterPerson), [
            {"id": existing[r.person_id], **_person_values(r, import_id, now)}
            for r in chunk if r.person_id in existing
        ])
    new = [r for r in chunk if r.person_id not in existing]
    if new:
        session.execute(insert(RegisterPerson), [_person_values(r, import_id, now) for r in new])
        existing.update(session.execute(
            select(RegisterPerson.person_id, RegisterPerson.id)
            .where(RegisterPerson.person_id.in_([r.person_id for r in new]))
        ).all())
    names = [{"person_pk": existing[r.person_id], "kind": n.kind, "surname": n.surname,
              "forenames": n.forenames, "surname_key": n.surname_key,
              "surname_prefix": n.surname_prefix}
             for r in chunk for n in r.names]
    addresses = [{"person_pk": existing[r.person_id], "line": a.line, "postcode": a.postcode,
                  "postcode_key": a.postcode_key, "valid_from": a.valid_from,
                  "valid_to": a.valid_to}
                 for r in chunk for a in r.addresses]
    session.execute(insert(RegisterName), names)
    if addresses:
        session.execute(insert(RegisterAddress), addresses)
    return len(new), len(chunk) - len(new)
