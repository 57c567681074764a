"""``flask clocks tick``: escalate the clocks whose next threshold has passed.

Run every five minutes on every app host (cron or a systemd timer: docs/operations.md). It is

* **cheap**: it reads only ``case_clocks`` rows with ``next_at <= now`` through the index on
  ``next_at`` (never a scan of open cases), and does its work in three set-based statements;
* **idempotent**: a notification's dedupe key names the case, the clock, the level and the
  target date, and is inserted with ``ON CONFLICT DO NOTHING``; a clock's ``next_at`` moves past
  the threshold it has escalated. The same run twice, or two runs at once, notify once;
* **single-host**: a database lease lets one host work at a time; the others return at once.

Escalation goes to the case's holder and to the supervisors (rank at least
``SUPERVISOR_MIN_RANK``) of the case's team: a breach tells each supervisor about the case; near
breaches reach them as one digest per team and tick ("4 case(s) in East unit…"), so that they
see the team's load slipping while there is still time to move cases, without a flood.
``case_clocks.state`` is the escalated state the workload page counts; the queue and the case
page read the clocks live.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, case, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from disclosure_app.db import transaction
from disclosure_app.models import (
    Case,
    CaseClock,
    Notification,
    SchedulerLease,
    Team,
    TeamMember,
    User,
)
from disclosure_app.notifications.service import Kind, insert_ignoring_repeats
from workflows.clocks import ClockName, ClockState
from workflows.roles import Rank, Role

LEASE_NAME = "clocks_tick"
LEASE_SECONDS = 240  # shorter than the five-minute schedule: a crashed host frees it in time

_LABELS = {clock.value: clock.label for clock in ClockName}
_notifications = Notification.__table__


@dataclass(frozen=True)
class TickReport:
    ran: bool  # False: another host held the lease
    near_breach: int = 0
    breached: int = 0
    notifications: int = 0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def acquire_lease(session: Session, name: str, holder: str, now: datetime,
                  seconds: int = LEASE_SECONDS) -> bool:
    """Take the named lease if it is free or expired (its own transaction)."""
    with transaction(session):
        insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
                  else sqlite.insert)
        session.execute(insert(SchedulerLease).values(
            name=name, holder="", expires_at=now - timedelta(seconds=1)
        ).on_conflict_do_nothing(index_elements=["name"]))
        taken = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name,
                   or_(SchedulerLease.expires_at <= now, SchedulerLease.holder == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=seconds))
        )
        return bool(taken.rowcount)


def release_lease(session: Session, name: str, holder: str, now: datetime) -> None:
    with transaction(session):
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(expires_at=now, last_run_at=now)
        )


def supervisor_ranks(min_rank: Rank) -> list[str]:
    return [rank.name for rank in Rank if rank >= min_rank]


def tick(session: Session, *, now: datetime, supervisor_rank: Rank, email: bool,
         holder: str | None = None) -> TickReport:
    """Escalate every clock whose threshold has passed, under the lease."""
    holder = holder or holder_name()
    if not acquire_lease(session, LEASE_NAME, holder, now):
        return TickReport(ran=False)
    try:
        with transaction(session):
            return escalate(session, now=now, supervisor_rank=supervisor_rank, email=email)
    finally:
        release_lease(session, LEASE_NAME, holder, now)


def escalate(session: Session, *, now: datetime, supervisor_rank: Rank,
             email: bool) -> TickReport:
    """The tick's work, in the caller's transaction: notify, mark the cases, then move each
    clock on (the last two statements' row counts are the report's figures)."""
    notify, digest, move_clocks = tick_statements(session, now, supervisor_rank, email)
    # Counted from RETURNING: a driver's rowcount for INSERT … SELECT … ON CONFLICT is not
    # reliable (psycopg reports -1).
    notified = (len(session.execute(notify).all()) + len(session.execute(digest).all()))
    options = {"synchronize_session": False}
    states = session.execute(move_clocks, execution_options=options).scalars().all()
    breached = states.count(ClockState.breached.value)
    return TickReport(ran=True, breached=breached, near_breach=len(states) - breached,
                      notifications=notified)


def tick_statements(session: Session, now: datetime, supervisor_rank: Rank,
                    email: bool) -> list[Any]:
    """The tick's statements in order (the query-plan tests read them too). Every one finds
    its rows through ``case_clocks.next_at <= now`` (its index) and cases by primary key."""
    due = CaseClock.next_at <= now
    breached = CaseClock.due_at <= now
    near = CaseClock.near_at <= now
    columns = ["user_id", "case_id", "case_reference", "kind", "message", "created_at",
               "dedupe_key", "email_state"]
    return [
        insert_ignoring_repeats(session).from_select(
            columns, _notification_rows(now, supervisor_rank, email)
        ).returning(_notifications.c.id),
        insert_ignoring_repeats(session).from_select(
            columns, _supervisor_digests(now, supervisor_rank, email)
        ).returning(_notifications.c.id),
        # The clocks move on: breached ones stop escalating; near ones wait for their target.
        # One pass over the due rows; the states it returns are the report's figures.
        update(CaseClock).where(due, near).values(
            state=case((breached, ClockState.breached.value), else_=ClockState.near_breach.value),
            next_at=case((breached, None), else_=CaseClock.due_at),
        ).returning(CaseClock.state),
    ]


def _supervisors(supervisor_rank: Rank) -> Any:
    """The join from a case to its team's active supervisors."""
    return (
        and_(TeamMember.team_id == Case.team_id, TeamMember.removed_at.is_(None)),
        and_(User.id == TeamMember.user_id, User.active.is_(True),
             User.role.in_([Role.case_officer, Role.decision_maker]),
             User.rank.in_([Rank[name] for name in supervisor_ranks(supervisor_rank)])),
    )


def _supervisor_digests(now: datetime, supervisor_rank: Rank, email: bool) -> Any:
    """One notification per supervisor and team for this tick's near breaches ("3 cases in
    East unit are near a target"): a supervisor needs to know the team's load is slipping,
    not one message per case (the holder gets those). Its key names the team and the first
    and last clock of the batch, so a second process escalating the same rows writes the same
    key and stores nothing more."""
    team_members, supervisor = _supervisors(supervisor_rank)
    count = sa.func.count(CaseClock.id)
    key = (literal(Kind.team_near_breach.value + ":team") + sa.cast(Case.team_id, sa.String)
           + literal(":") + sa.cast(sa.func.min(CaseClock.id), sa.String) + literal("-")
           + sa.cast(sa.func.max(CaseClock.id), sa.String) + literal("@")
           + sa.cast(sa.func.max(CaseClock.near_at), sa.String) + literal(":")
           + sa.cast(User.id, sa.String))
    text = (sa.cast(count, sa.String) + literal(" case(s) in ") + sa.func.min(Team.name)
            + literal(" reached a target's near-breach point: see the workload page."))
    return (
        select(User.id, literal(None, sa.Integer), literal(None, sa.String),
               literal(Kind.team_near_breach.value), text, literal(now, CaseClock.due_at.type),
               key, literal("pending" if email else "none"))
        .select_from(CaseClock).join(Case, Case.id == CaseClock.case_id)
        .join(Team, Team.id == Case.team_id)
        .join(TeamMember, team_members).join(User, supervisor)
        .where(CaseClock.next_at <= now, CaseClock.near_at <= now, CaseClock.due_at > now)
        .group_by(Case.team_id, User.id)
    )


def _notification_rows(now: datetime, supervisor_rank: Rank, email: bool) -> Any:
    """One row per (clock whose threshold passed, person to tell): the holder, and for a
    breach the team's active supervisors too (near breaches reach them as one digest). Two
    joins by key, not one join on "holder OR supervisor", so that each due clock costs a few
    index lookups; a holder who is also a supervisor appears twice and the dedupe key stores
    them once."""
    breached = CaseClock.due_at <= now
    kind = case((breached, literal(Kind.clock_breached.value)),
                else_=literal(Kind.clock_near_breach.value))
    label = case(*((CaseClock.clock == code, literal(text.lower()))
                   for code, text in _LABELS.items()), else_=CaseClock.clock)
    text = case(
        (breached, literal("Case ") + Case.reference + literal(": the ") + label
         + literal(" target date has passed.")),
        else_=literal("Case ") + Case.reference + literal(": the ") + label
        + literal(" target is close."),
    )
    key = (kind + literal(":") + sa.cast(Case.id, sa.String) + literal(":")
           + CaseClock.clock + literal("@") + sa.cast(CaseClock.due_at, sa.String)
           + literal(":") + sa.cast(User.id, sa.String))

    def rows() -> sa.Select:
        return (select(User.id, Case.id, Case.reference, kind, text,
                       literal(now, CaseClock.due_at.type), key,
                       literal("pending" if email else "none"))
                .select_from(CaseClock).join(Case, Case.id == CaseClock.case_id)
                .where(CaseClock.next_at <= now, CaseClock.near_at <= now))

    holders = rows().join(User, and_(User.id == Case.assigned_officer_id, User.active.is_(True)))
    team_members, supervisor = _supervisors(supervisor_rank)
    supervisors = (
        rows().join(TeamMember, team_members).join(User, supervisor).where(breached)
    )
    return sa.union_all(holders, supervisors)
