"""A staff member's own notifications: the unread count in the header, the list, marking read.

Everything here is scoped to the signed-in person: another person's notification answers the
same 404 as a missing one (and is logged as a denial), and nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from disclosure_app.core.errors import NotFound, OutOfScope
from disclosure_app.db import transaction
from disclosure_app.models import CaseInvitation, Notification, User
from workflows.roles import Role

# Who is ever notified; auditors and administrators act on no case, so they have no list.
RECIPIENT_ROLES = (Role.case_officer, Role.decision_maker, Role.partner)
# Police open any case; a partner only those they are invited to (disclosure_app.cases.workflow).
_OPEN_ANY_CASE = (Role.case_officer, Role.decision_maker)


def unread_count(session: Session, user_id: int) -> int:
    """One COUNT on ``ix_notifications_user (user_id, read_at, id)``: the header's figure."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


@dataclass(frozen=True)
class Page:
    items: list[Notification]
    older: int | None  # pass as ``before`` for the next page; None on the last page
    newest_id: int | None  # "mark all as read" marks up to this one: those the person saw
    openable: frozenset[int]  # the case ids among the items this person may open


def page(session: Session, user: User, *, before: int | None, size: int) -> Page:
    """Newest first, keyset-paginated on id (no OFFSET)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(size + 1)))
    items, more = rows[:size], len(rows) > size
    newest = session.scalar(select(func.max(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))
    return Page(items, items[-1].id if more else None, newest,
                _openable(session, user, {n.case_id for n in items if n.case_id}))


def _openable(session: Session, user: User, case_ids: set[int]) -> frozenset[int]:
    if not case_ids or user.role in _OPEN_ANY_CASE:
        return frozenset(case_ids)
    if user.role is not Role.partner:
        return frozenset()
    return frozenset(session.scalars(select(CaseInvitation.case_id).where(
        CaseInvitation.user_id == user.id, CaseInvitation.revoked_at.is_(None),
        CaseInvitation.case_id.in_(case_ids))))


def mark_read(session: Session, user: User, notification_id: int, *, now: datetime) -> None:
    """Mark one of this person's notifications read (again is harmless). Another person's
    answers like a missing one (``OutOfScope``, logged as a denial) and nothing changes."""
    with transaction(session):
        owner = session.scalar(select(Notification.user_id).where(
            Notification.id == notification_id))
        if owner is None:
            raise NotFound()
        if owner != user.id:
            raise OutOfScope()
        session.execute(update(Notification).where(
            Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=now))


def mark_all_read(session: Session, user: User, *, up_to: int, now: datetime) -> int:
    """Mark this person's unread notifications up to ``up_to`` (the newest they were shown)
    read, so one that arrived after the page was drawn stays unread. Returns how many."""
    with transaction(session):
        result = session.execute(update(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None),
            Notification.id <= up_to).values(read_at=now))
        return int(result.rowcount)  # type: ignore[attr-defined]
