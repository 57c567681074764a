"""Reading cases: the staff queue (keyset-paginated), and opening a case, which is a DPA 2018
s.62 consultation and therefore writes an audit entry."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import transaction
from disclosure_app.models import AuditEntry, Case, CaseInvitation, User
from workflows.roles import Role
from workflows.status import Route, Stage, Status


@dataclass(frozen=True)
class QueueFilter:
    stage: Stage | None = None
    status: Status | None = None
    route: Route | None = None
    overdue_only: bool = False
    mine_only: bool = False


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    next_cursor: str | None


def encode_cursor(case: Case) -> str:
    raw = f"{case.decision_due_at.isoformat()}|{case.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        due, _, case_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        due_at = datetime.fromisoformat(due)
        if due_at.tzinfo is None:  # every cursor we issue is UTC-aware; naive ones cannot bind
            raise ValueError("cursor without a time zone")
        after_id = int(case_id)
        if not 0 <= after_id < 2**63:  # beyond any database integer
            raise ValueError("case id out of range")
        return due_at, after_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputInvalid({"after": "That page link is not valid"}) from exc


def queue_query(user: User, filt: QueueFilter, now: datetime) -> Select[tuple[Case]]:
    """The queue's query. Every branch is served by an index that ends (decision_due_at, id),
    so pages are read in index order without sorting or scanning the table."""
    query = select(Case)
    if filt.status is not None:
        query = query.where(Case.status == filt.status)
    elif filt.stage is not None:
        query = query.where(Case.stage == filt.stage)
    else:
        query = query.where(Case.is_open.is_(True))
    if filt.route is not None:
        query = query.where(Case.route == filt.route)
    if filt.overdue_only:
        query = query.where(Case.decision_due_at < now)
    if filt.mine_only:
        query = query.where(Case.assigned_officer_id == user.id)
    if user.role is Role.partner:
        query = query.join(CaseInvitation, CaseInvitation.case_id == Case.id).where(
            CaseInvitation.user_id == user.id, CaseInvitation.revoked_at.is_(None)
        )
    return query.order_by(Case.decision_due_at, Case.id)


def queue_page(
    session: Session,
    user: User,
    filt: QueueFilter,
    *,
    after: str | None,
    page_size: int,
    now: datetime,
) -> QueuePage:
    query = queue_query(user, filt, now)
    if after:
        due, case_id = decode_cursor(after)
        query = query.where(
            (Case.decision_due_at > due) | ((Case.decision_due_at == due) & (Case.id > case_id))
        )
    rows = list(
        session.scalars(
            query.options(selectinload(Case.assigned_officer)).limit(page_size + 1)
        )
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    return QueuePage(cases=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)


def view_case(
    session: Session,
    user: User,
    case_id: int,
    *,
    purpose: str,
    now: datetime,
    justification: dict[str, object] | None = None,
) -> Case:
    """Open a case for a staff member and log the consultation, in one transaction.

    ``justification``: ids and codes saying why (the entry number of the reason given for the
    sensitive sections, which sections were shown), never free text."""
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        audit.append(
            session,
            now=now,
            actor=user.as_actor(),
            action="case_viewed",
            category=Category.consultation,
            case_id=case.id,
            details={"reference": case.reference, "purpose": purpose, **(justification or {})},
        )
    return case


def log_disclosure(
    session: Session,
    user: User,
    case_id: int | None,
    *,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> AuditEntry:
    """Append the s.62 disclosure entry for a document or export leaving the system, in the
    caller's transaction. ``details`` say what left (the document's kind and the SHA-256 of the
    exact bytes) and to whom (a user id, or a recipient type code: never a name)."""
    return audit.append(
        session,
        now=now,
        actor=user.as_actor(),
        action=action,
        category=Category.disclosure,
        case_id=case_id,
        details=details,
    )


def record_download(
    session: Session,
    user: User,
    case_id: int | None,
    *,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> Case | None:
    """Log a document or export downloaded by a staff member (the recipient), in one
    transaction."""
    with transaction(session):
        case = load_case_in_scope(session, user, case_id) if case_id is not None else None
        log_disclosure(session, user, case_id, action=action, now=now,
                       details={"recipient_user_id": user.id, **details})
    return case
