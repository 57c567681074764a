"""Force closure days: days the disclosure unit is closed, which the working-day clocks do not
count (``disclosure_app.models.clock.ClosureDay``). Administrators add and remove them; a
removed day keeps its row (``removed_at``, ``removed_by_id``) and every change is in the log.

Only today and later can change: a past day's clocks have already run, and changing the
calendar under them would rewrite what was on time and what was late.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.core.errors import InputInvalid, NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.models import ClosureDay, User
from workflows.fields import normalise_text, text_problem

REASON_MAX_CHARS = 200  # closure_days.reason


def closure_days(session: Session) -> list[ClosureDay]:
    """Every day in force (not removed), in date order."""
    return list(session.scalars(
        select(ClosureDay).where(ClosureDay.removed_at.is_(None)).order_by(ClosureDay.day)))


def _problems(day: date | None, reason: str, today: date) -> dict[str, str]:
    errors = {}
    if day is None:
        errors["day"] = "Enter the date the unit is closed"
    elif day < today:
        errors["day"] = "The date must be today or later"
    if not reason:
        errors["reason"] = "Enter why the unit is closed"
    elif len(reason) > REASON_MAX_CHARS:
        errors["reason"] = f"The reason must be {REASON_MAX_CHARS} characters or fewer"
    elif text_problem(reason, multiline=False):
        errors["reason"] = str(text_problem(reason, multiline=False))
    return errors


def add_closure_day(session: Session, by: User, day: date | None, reason: str, *,
                    today: date, now: datetime) -> ClosureDay:
    reason = normalise_text(reason)
    with transaction(session):
        errors = _problems(day, reason, today)
        row = None if day is None else session.scalars(
            select(ClosureDay).where(ClosureDay.day == day)).first()
        if row is not None and row.removed_at is None:
            errors.setdefault("day", "That day is already a closure day")
        if errors:
            raise InputInvalid(errors)
        assert day is not None
        if row is None:  # one row per day (unique): a removed day is brought back
            row = ClosureDay(day=day, reason=reason, added_by_id=by.id, added_at=now)
            session.add(row)
        else:
            row.reason, row.added_by_id, row.added_at = reason, by.id, now
            row.removed_at, row.removed_by_id = None, None
        session.flush()
        audit.append(session, now=now, actor=by.as_actor(), action="closure_day_added",
                     category=Category.alteration,
                     details={"closure_day_id": row.id, "day": day.isoformat(),
                              "reason_sha256": sha256_hex(reason)})
        return row


def remove_closure_day(session: Session, by: User, closure_day_id: int, *, today: date,
                       now: datetime) -> ClosureDay:
    with transaction(session):
        row = session.get(ClosureDay, closure_day_id)
        if row is None or row.removed_at is not None:
            raise NotFound()
        if row.day < today:
            raise StepNotAllowed("A past closure day cannot be removed: the clocks have already "
                                 "counted it.")
        row.removed_at, row.removed_by_id = now, by.id
        audit.append(session, now=now, actor=by.as_actor(), action="closure_day_removed",
                     category=Category.alteration,
                     details={"closure_day_id": row.id, "day": row.day.isoformat()})
        return row
