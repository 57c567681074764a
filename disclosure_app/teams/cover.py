"""Temporary cover: while an officer is away, a named colleague sees the absent officer's open
cases under "my cases", from the cover's first day to its last (the force's days), unless a
supervisor ends it early. Cover changes what a queue shows, never who holds a case: the
absent officer stays the holder, so the four-eyes rules and partner access are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.core.errors import NotFound
from disclosure_app.db import transaction
from disclosure_app.models import OfficerCover, User
from disclosure_app.teams.people import enforce, person_of, user_by_id
from workflows.allocation import (
    AllocationPolicy,
    CoverRequest,
    cover_refusals,
    end_cover_refusals,
    local_day,
)
from workflows.fields import normalise_text


@dataclass(frozen=True)
class CoverInput:
    absent_user_id: int | None
    cover_user_id: int | None
    starts_on: date | None
    ends_on: date | None
    reason: str


def _overlaps(session: Session, data: CoverInput) -> bool:
    """The same officer already covers the same absence on one of these days."""
    if None in (data.absent_user_id, data.cover_user_id, data.starts_on, data.ends_on):
        return False
    return session.scalar(
        select(OfficerCover.id).where(
            OfficerCover.absent_user_id == data.absent_user_id,
            OfficerCover.cover_user_id == data.cover_user_id,
            OfficerCover.ended_at.is_(None),
            OfficerCover.starts_on <= data.ends_on,
            OfficerCover.ends_on >= data.starts_on,
        ).limit(1)) is not None


def arrange_cover(session: Session, user: User, data: CoverInput, *, policy: AllocationPolicy,
                  now: datetime) -> OfficerCover:
    reason = normalise_text(data.reason)
    today = local_day(now, policy.local_tz)
    with transaction(session):
        absent = user_by_id(session, data.absent_user_id)
        cover = user_by_id(session, data.cover_user_id)
        by = person_of(session, user)
        assert by is not None
        request = CoverRequest(person_of(session, absent), person_of(session, cover),
                               data.starts_on, data.ends_on, reason)
        enforce(cover_refusals(by, request, today=today, overlapping=_overlaps(session, data),
                               policy=policy))
        # The rules refused anything missing: these hold now.
        assert absent is not None
        assert cover is not None
        assert data.starts_on is not None
        assert data.ends_on is not None
        row = OfficerCover(absent_user_id=absent.id, cover_user_id=cover.id,
                           starts_on=data.starts_on, ends_on=data.ends_on, reason=reason,
                           created_by_id=user.id, created_at=now)
        session.add(row)
        session.flush()
        audit.append(session, now=now, actor=user.as_actor(), action="cover_arranged",
                     category=Category.alteration, details={
                         "cover_id": row.id, "absent_user_id": absent.id,
                         "cover_user_id": cover.id, "starts_on": data.starts_on.isoformat(),
                         "ends_on": data.ends_on.isoformat(),
                         "reason_sha256": sha256_hex(reason)})
        return row


def end_cover(session: Session, user: User, cover_id: int, *, policy: AllocationPolicy,
              now: datetime) -> OfficerCover:
    """End a cover today (or cancel one that has not begun)."""
    with transaction(session):
        row = session.scalars(
            select(OfficerCover).where(OfficerCover.id == cover_id)
            .with_for_update().execution_options(populate_existing=True)).first()
        if row is None:
            raise NotFound()
        by = person_of(session, user)
        assert by is not None
        enforce(end_cover_refusals(by, ended=row.ended_at is not None, ends_on=row.ends_on,
                                   today=local_day(now, policy.local_tz), policy=policy))
        row.ended_at = now
        audit.append(session, now=now, actor=user.as_actor(), action="cover_ended_early",
                     category=Category.alteration,
                     details={"cover_id": row.id, "absent_user_id": row.absent_user_id,
                              "cover_user_id": row.cover_user_id})
        return row


def current_and_future(session: Session, today: date) -> list[OfficerCover]:
    """Covers not yet over and not ended early, soonest first (``ix_officer_covers_*``)."""
    return list(session.scalars(
        select(OfficerCover).where(OfficerCover.ends_on >= today, OfficerCover.ended_at.is_(None))
        .order_by(OfficerCover.starts_on, OfficerCover.id)
        .options(selectinload(OfficerCover.absent_user), selectinload(OfficerCover.cover_user))))
