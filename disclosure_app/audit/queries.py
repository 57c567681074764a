"""Read-side queries for the auditor's console: searching the decision log, exporting it, and
checking each step record of a case against the hashes its audit entry holds.

Every search reads through one of the audit table's indexes ((case_id, seq), (actor_id, seq),
(action, seq), (created_at, seq)) or the primary key, newest first, and pages by keyset on
``seq`` (``seq < before``): no OFFSET, so page 1,000 costs what page 1 does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from disclosure_app.audit.chain import Category, chain_length
from disclosure_app.cases.step_display import (
    StepView,
    describe_steps,
    people_names,
    spec_for,
    status_label,
)
from disclosure_app.cases.workflow import audit_details
from disclosure_app.models import AuditEntry, Case, CaseStep, Rectification
from disclosure_app.privacy.sealed import Unreadable, UnreadableDict
from disclosure_app.risk.identity_record import IdentityRecord, identity_record
from workflows.steps import STEPS

# Actions written outside the workflow (the workflow's own are the events in STEPS).
OTHER_ACTIONS: dict[str, str] = {
    "case_viewed": "Case viewed",
    "document_downloaded": "Document downloaded",
    "audit_csv_exported": "Audit log exported (CSV)",
    "user_created": "Staff account created",
    "user_activated": "Staff account activated",
    "user_deactivated": "Staff account deactivated",
    "dip_sample_drawn": "Dip sample drawn",
    "dip_sample_reviewed": "Dip-sample review recorded",
}


def action_choices() -> list[tuple[str, str]]:
    """(action, label) for every action the console can search for."""
    return [(event, spec.title) for event, spec in STEPS.items()] + list(OTHER_ACTIONS.items())


def action_label(action: str) -> str:
    if action in STEPS:
        return STEPS[action].title
    return OTHER_ACTIONS.get(action) or action.replace("_", " ").capitalize()


def category_choices() -> list[tuple[str, str]]:
    return [(c.value, c.value.capitalize()) for c in Category]


@dataclass(frozen=True)
class AuditFilter:
    """What the auditor searched for. Every field is optional; all given ones must match."""

    date_from: date | None = None
    date_to: date | None = None
    actor_id: int | None = None
    action: str | None = None
    category: str | None = None
    case_id: int | None = None
    case_reference: str | None = None

    def describe(self) -> dict[str, Any]:
        """The filters as plain values for the export's audit entry: ids and codes, no names."""
        return {k: v.isoformat() if isinstance(v, date) else v
                for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


def _conditions(filt: AuditFilter) -> list[ColumnElement[bool]]:
    entry = AuditEntry
    conditions: list[ColumnElement[bool]] = []
    if filt.case_id is not None:
        conditions.append(entry.case_id == filt.case_id)
    if filt.actor_id is not None:
        conditions.append(entry.actor_id == filt.actor_id)
    if filt.action is not None:
        conditions.append(entry.action == filt.action)
    if filt.category is not None:
        conditions.append(entry.category == filt.category)
    if filt.date_from is not None:
        conditions.append(entry.created_at >= datetime.combine(filt.date_from, time.min, UTC))
    if filt.date_to is not None:
        day_after = filt.date_to + timedelta(days=1)
        conditions.append(entry.created_at < datetime.combine(day_after, time.min, UTC))
    return conditions


def search_query(filt: AuditFilter, *, before: int | None = None) -> Select[tuple[AuditEntry]]:
    """Newest first; ``before`` is the keyset cursor (the last seq of the previous page)."""
    query = select(AuditEntry).where(*_conditions(filt))
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return query.order_by(AuditEntry.seq.desc())


def search(session: Session, filt: AuditFilter, *, before: int | None, page_size: int) -> AuditPage:
    rows = list(session.scalars(search_query(filt, before=before).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return AuditPage(entries=rows, next_before=rows[-1].seq if more and rows else None)


def export_bound(session: Session) -> int:
    """The newest seq when an export starts: it covers entries up to here and no further, so its
    row count is exact and its own audit entry (appended next) is never in it."""
    return chain_length(session)


def count_matching(session: Session, filt: AuditFilter, *, up_to_seq: int) -> int:
    query = select(func.count()).select_from(AuditEntry).where(
        *_conditions(filt), AuditEntry.seq <= up_to_seq
    )
    return int(session.scalar(query) or 0)


def export_batches(
    session: Session, filt: AuditFilter, *, up_to_seq: int, batch: int = 1000
) -> Iterator[tuple[list[Any], dict[int, str]]]:
    """Matching entries oldest first as plain rows, a batch at a time (constant memory), each
    with the references of the cases it mentions.

    The transaction is ended after every batch, so a slow download never holds the database (on
    SQLite every transaction takes the write lock). Entries up to ``up_to_seq`` never change, so
    the export is still one consistent snapshot.
    """
    table = AuditEntry.__table__
    last = 0
    while True:
        query = (
            select(table)
            .where(*_conditions(filt), table.c.seq > last, table.c.seq <= up_to_seq)
            .order_by(table.c.seq)
            .limit(batch)
        )
        rows = list(session.execute(query).all())
        references = case_references(session, rows)
        session.commit()
        if not rows:
            return
        yield rows, references
        last = rows[-1].seq


def case_references(session: Session, entries: Iterable[Any]) -> dict[int, str]:
    ids = {e.case_id for e in entries if e.case_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Case.id, Case.reference).where(Case.id.in_(ids)))
    return {case_id: reference for case_id, reference in rows}


def case_id_for_reference(session: Session, reference: str) -> int | None:
    return session.scalar(select(Case.id).where(Case.reference == reference))


# --- The per-case decision trail -------------------------------------------------------------


@dataclass(frozen=True)
class StepCheck:
    """Whether a step record still says what its audit entry hashed when it was written."""

    matches: bool
    problem: str = ""
    # The case's personal data was disposed of: the step's text can no longer be hashed again,
    # and its audit entry (still checked for action and case) is the record of what it said.
    disposed: bool = False


@dataclass(frozen=True)
class TrailStep:
    view: StepView
    check: StepCheck


@dataclass(frozen=True)
class CaseTrail:
    steps: list[TrailStep]
    entries: list[AuditEntry]
    identity: IdentityRecord | None = None  # who resolved the subject's identity, and the checks
    # Personal details corrected (DPA 2018 s.46), with the values before and after.
    rectifications: list[Rectification] = field(default_factory=list)


def check_step(step: CaseStep, entry: AuditEntry | None, *, disposed: bool = False
               ) -> StepCheck:
    if entry is None:
        return StepCheck(False, f"its audit entry {step.audit_seq} is missing")
    if entry.action != step.event or entry.case_id != step.case_id:
        return StepCheck(False, f"audit entry {entry.seq} records a different action or case")
    if disposed:
        return StepCheck(True, disposed=True)
    if isinstance(step.rationale, Unreadable) or isinstance(step.data, UnreadableDict):
        return StepCheck(False, "the step record was changed outside the app: it no longer "
                                "opens under its case's key")
    try:
        recorded = json.loads(entry.payload).get("details", {})
    except (ValueError, AttributeError):
        return StepCheck(False, f"audit entry {entry.seq} cannot be read")
    expected = audit_details(spec_for(step.event), step.data or {}, step.rationale or "")
    if recorded.get("step_sha256") != expected["step_sha256"]:
        return StepCheck(False, "the recorded fields differ from those hashed in the audit entry")
    if recorded.get("rationale_sha256") != expected["rationale_sha256"]:
        return StepCheck(False, "the rationale differs from the one hashed in the audit entry")
    return StepCheck(True)


def case_trail(session: Session, case: Case) -> CaseTrail:
    """Every step of the case (oldest first) with its integrity check, and every audit entry."""
    steps = list(
        session.scalars(select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id))
    )
    entries = list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.seq)
        )
    )
    by_seq = {e.seq: e for e in entries}
    views = describe_steps(steps, people_names(session, steps))
    trail = []
    for step, view in zip(steps, views, strict=True):
        entry = by_seq.get(step.audit_seq) or session.get(AuditEntry, step.audit_seq)
        trail.append(TrailStep(view, check_step(
            step, entry, disposed=case.personal_data_disposed_at is not None)))
    corrected = list(session.scalars(select(Rectification).where(
        Rectification.case_id == case.id).order_by(Rectification.id)))
    return CaseTrail(steps=trail, entries=entries, identity=identity_record(session, case),
                     rectifications=corrected)


def entry_states(entry: AuditEntry) -> str:
    """"From → to" for an entry that changed a case's state, else an empty string."""
    if entry.to_status is None:
        return ""
    return f"{status_label(entry.from_status)} → {status_label(entry.to_status)}"
