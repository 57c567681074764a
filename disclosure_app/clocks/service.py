"""A case's clocks: its targets when it is made, and its row per clock in ``case_clocks`` kept in
step with its state after every step (called by ``cases.workflow.run_machine``).

``case_clocks.state`` is what has been *escalated* (by ``clocks tick``), not a live reading: the
case page and the queue read the clocks live from the case's own dates. A sync never escalates:
it moves ``next_at`` to the next threshold not yet escalated, and if that has already passed
the next tick (within five minutes) raises it, so every near breach and breach is notified
exactly once, by one code path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import Case, CaseClock
from workflows.clocks import (
    ClockName,
    ClockPolicy,
    ClockReading,
    ClockState,
    read_clocks,
    target,
)
from workflows.status import Route, Status
from workflows.working_calendar import WorkingCalendar

# Each clock's target attribute on the case, and the milestone attribute that stops it.
CLOCK_COLUMNS: dict[ClockName, tuple[str, str]] = {
    ClockName.initial_checks: ("initial_checks_due_at", "checks_done_at"),
    ClockName.interview: ("interview_due_at", "interview_done_at"),
    ClockName.assessment: ("assessment_due_at", "assessment_done_at"),
    ClockName.overall: ("decision_due_at", "closed_at"),
}
RUNNING = frozenset({ClockState.on_track, ClockState.near_breach, ClockState.breached})
# How far escalation has gone, in order.
_ESCALATION = (ClockState.on_track, ClockState.near_breach, ClockState.breached)


def set_targets(case: Case, calendar: WorkingCalendar, policy: ClockPolicy) -> None:
    """Every target of a new case, from when it was received."""
    received = case.received_at
    case.initial_checks_due_at = target(ClockName.initial_checks, received, calendar, policy)
    case.interview_due_at = (
        target(ClockName.interview, received, calendar, policy)
        if case.route == Route.right_to_ask else None
    )
    case.assessment_due_at = target(ClockName.assessment, received, calendar, policy)
    case.decision_due_at = target(ClockName.overall, received, calendar, policy)


def read_case_clocks(case: Case, calendar: WorkingCalendar, policy: ClockPolicy,
                     now: datetime) -> list[ClockReading]:
    """The case's clocks as of ``now``: target, near-breach point, state and time left."""
    due: dict[ClockName, datetime] = {}
    stopped: dict[ClockName, datetime | None] = {}
    for clock, (due_attr, stop_attr) in CLOCK_COLUMNS.items():
        value = getattr(case, due_attr)
        if value is not None:
            due[clock] = value
            stopped[clock] = getattr(case, stop_attr)
    return read_clocks(str(case.route), Status(case.status), case.received_at, due, stopped,
                       now, calendar, policy)


def sync_clocks(session: Session, case: Case, calendar: WorkingCalendar, policy: ClockPolicy,
                now: datetime) -> None:
    """Bring the case's ``case_clocks`` rows in line with the case, in the caller's
    transaction (after the step's own flush, which gave a new case its id)."""
    rows = {row.clock: row for row in session.scalars(
        select(CaseClock).where(CaseClock.case_id == case.id))}
    for reading in read_case_clocks(case, calendar, policy, now):
        row = rows.get(reading.clock.value)
        if row is None:
            row = CaseClock(case_id=case.id, clock=reading.clock.value)
            session.add(row)
        _sync_row(row, reading, getattr(case, CLOCK_COLUMNS[reading.clock][1]))


def _sync_row(row: CaseClock, reading: ClockReading, stopped_at: datetime | None) -> None:
    moved = row.due_at is not None and row.due_at != reading.due_at
    row.due_at = reading.due_at
    row.near_at = reading.near_at
    if reading.state not in RUNNING:
        row.state = reading.state.value  # met or met late: nothing more to escalate
        row.next_at = None
        row.stopped_at = stopped_at
        return
    row.stopped_at = None
    # An extension (a later target) starts escalation afresh; otherwise keep what was raised.
    level = ClockState.on_track if moved or row.state not in _ESCALATION else ClockState(row.state)
    row.state = level.value
    row.next_at = {ClockState.on_track: reading.near_at,
                   ClockState.near_breach: reading.due_at}.get(level)
