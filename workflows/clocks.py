"""The scheme's four clocks: their targets, whether they run, and how each reads (DOMAIN.md §6.1).

| Clock          | Target (ClockPolicy default)       | Runs while the case is              |
|----------------|------------------------------------|-------------------------------------|
| initial_checks | 24 hours from receipt              | received, referred, initial_checks  |
| interview      | 10 days (Right to Ask only)        | received, initial_checks,           |
|                |                                    | awaiting_interview                  |
| assessment     | 28 days                            | open, before awaiting_decision      |
| overall        | 45 days                            | open (any state that is not final)  |

Target rule. The hours clock is due at receipt + N hours exactly. A day clock of N days for a
case received at instant t starts from r, the force's local date at t:

- working days (the default): the due date is the N-th working day after r. r itself never
  counts, so a case received on a Friday evening, a Saturday or a bank holiday starts counting on
  the next working day;
- calendar days: the due date is r + N days, whatever day that is.

The clock is due at the end of its due date, i.e. the first instant of the next local day (the
whole last day is available, in GMT or BST alike). Extensions move a due date: the app stores
each case's due instants and passes them in, and only the near-breach moment is derived here.

Near breach. For a day clock with ``near_breach_working_days = N`` it starts when N working days
or fewer are left, counting the due date: at the start of the N-th working day counted back from
the due date (N = 2 and due on a Wednesday: from Tuesday 00:00 local). For the hours clock, or
when ``near_breach_working_days`` is None, it starts when ``near_breach_share`` of the period or
less is left. Never before receipt.

A clock that applies to a case but no longer runs has stopped: met if it stopped before its
due instant, met late otherwise (the caller records the stop time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from workflows.status import OPEN_STATUSES, Route, Status
from workflows.working_calendar import WorkingCalendar

_ONE_DAY = timedelta(days=1)
_ONE_HOUR = timedelta(hours=1)
class ClockName(StrEnum):
    initial_checks = "initial_checks"
    interview = "interview"
    assessment = "assessment"
    overall = "overall"

    @property
    def label(self) -> str:
        return _CLOCK_LABELS[self]


_CLOCK_LABELS = {
    ClockName.initial_checks: "Initial checks",
    ClockName.interview: "Interview",
    ClockName.assessment: "Full risk assessment",
    ClockName.overall: "Whole process",
}


class ClockState(StrEnum):
    on_track = "on_track"
    near_breach = "near_breach"
    breached = "breached"
    met = "met"  # stopped before its target
    met_late = "met_late"  # stopped after it

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    ClockState.on_track: "On track",
    ClockState.near_breach: "Near breach",
    ClockState.breached: "Breached",
    ClockState.met: "Met",
    ClockState.met_late: "Met late",
}

# The one-word case summary reads the most urgent clock first.
_URGENCY = (ClockState.breached, ClockState.near_breach, ClockState.on_track,
            ClockState.met_late, ClockState.met)


@dataclass(frozen=True)
class ClockPolicy:
    """The force's targets (configuration, not code: DOMAIN.md §6.1 [PROPOSAL])."""

    initial_checks_hours: int = 24
    interview_days: int = 10
    assessment_days: int = 28
    overall_days: int = 45
    target_days: str = "working"  # "working" | "calendar"
    near_breach_working_days: int | None = 2
    near_breach_share: float = 0.2

    def __post_init__(self) -> None:
        if self.target_days not in ("working", "calendar"):
            raise ValueError(f"target_days must be 'working' or 'calendar', not "
                             f"{self.target_days!r}")
        periods = (self.initial_checks_hours, self.interview_days, self.assessment_days,
                   self.overall_days)
        if min(periods) < 1:
            raise ValueError("every target must be at least 1 hour or 1 day")
        if self.near_breach_working_days is not None and self.near_breach_working_days < 0:
            raise ValueError("near_breach_working_days must be 0 or more, or None")
        if not 0 <= self.near_breach_share <= 1:
            raise ValueError("near_breach_share must be between 0 and 1")

    def days(self, clock: ClockName) -> int:
        """The target of a day clock, in days (working or calendar, per ``target_days``)."""
        return {ClockName.interview: self.interview_days,
                ClockName.assessment: self.assessment_days,
                ClockName.overall: self.overall_days}[clock]

    @property
    def working(self) -> bool:
        return self.target_days == "working"


# --- Targets


def target(clock: ClockName, received_at: datetime, calendar: WorkingCalendar,
           policy: ClockPolicy) -> datetime:
    """When ``clock`` is due for a case received at ``received_at`` (the module's target rule)."""
    if clock is ClockName.initial_checks:
        return received_at + timedelta(hours=policy.initial_checks_hours)
    received_on = calendar.local_date(received_at)
    days = policy.days(clock)
    if policy.working:
        due_on = calendar.add_working_days(received_on, days)
    else:
        due_on = received_on + timedelta(days=days)
    return calendar.end_of_local_day(due_on)


def near_breach_at(clock: ClockName, received_at: datetime, due_at: datetime,
                   calendar: WorkingCalendar, policy: ClockPolicy) -> datetime:
    """When ``clock`` turns near breach (the module's near-breach rule); never before receipt."""
    days_left = policy.near_breach_working_days
    if clock is ClockName.initial_checks or days_left is None:
        near = due_at - (due_at - received_at) * policy.near_breach_share
    elif days_left == 0:
        near = due_at  # no warning asked for: straight from on track to breached
    else:
        # Counting back from the day after the due date makes the due date the first one counted.
        first_of_last = calendar.subtract_working_days(_due_day(due_at, calendar) + _ONE_DAY,
                                                       days_left)
        near = calendar.start_of_local_day(first_of_last)
    return max(near, received_at)


def _due_day(due_at: datetime, calendar: WorkingCalendar) -> date:
    """The last local day on which the clock is still within target."""
    return calendar.last_day(due_at)


# --- Which clocks run

_INITIAL_CHECKS_RUN = frozenset({Status.received, Status.referred, Status.initial_checks})
_INTERVIEW_RUNS = frozenset({Status.received, Status.initial_checks, Status.awaiting_interview})
# OPEN_STATUSES is in workflow order: the assessment runs until the case awaits its decision.
_ASSESSMENT_RUNS = frozenset(OPEN_STATUSES[:OPEN_STATUSES.index(Status.awaiting_decision)])
_OVERALL_RUNS = frozenset(OPEN_STATUSES)


def clocks_for(route: Route | str, status: Status | str) -> dict[ClockName, bool]:
    """The clocks that apply to a case, each with whether it still runs in ``status``.

    The interview clock applies to Right to Ask only. A draft has not been received: no clock.
    """
    route, status = Route(route), Status(status)
    if status is Status.draft:
        return {}
    running = {
        ClockName.initial_checks: status in _INITIAL_CHECKS_RUN,
        ClockName.interview: status in _INTERVIEW_RUNS,
        ClockName.assessment: status in _ASSESSMENT_RUNS,
        ClockName.overall: status in _OVERALL_RUNS,
    }
    if route is Route.right_to_know:
        del running[ClockName.interview]
    return running


# --- States


def clock_state(now: datetime, near_at: datetime, due_at: datetime) -> ClockState:
    """The state of a running clock."""
    if now >= due_at:
        return ClockState.breached
    if now >= near_at:
        return ClockState.near_breach
    return ClockState.on_track


def stopped_state(stopped_at: datetime, due_at: datetime) -> ClockState:
    """The state of a stopped clock: due_at is the first instant late, as in clock_state."""
    return ClockState.met if stopped_at < due_at else ClockState.met_late


def next_threshold(now: datetime, near_at: datetime, due_at: datetime) -> datetime | None:
    """The next moment a running clock's state changes; None once it has breached."""
    if now < near_at:
        return near_at
    if now < due_at:
        return due_at
    return None


def worst(states: Iterable[ClockState]) -> ClockState:
    """The most urgent state: breached > near breach > on track > met late > met."""
    given = set(states)
    if not given:
        raise ValueError("worst() of no clock states")
    return next(state for state in _URGENCY if state in given)


# --- Plain-English time left


def time_left(now: datetime, due_at: datetime, calendar: WorkingCalendar, policy: ClockPolicy,
              clock: ClockName) -> str:
    """The time left in plain English: "3 working days left", "due today", "5 hours left",
    "2 working days overdue" (calendar days when the policy counts them; hours for the hours clock).

    Days left count today while it lasts, so the text agrees with the near-breach rule
    (2 working days left is near breach with the default policy).
    """
    if now >= due_at:
        late = lateness(now, due_at, calendar, policy, clock)
        return f"{late} overdue" if late else "overdue"
    if clock is ClockName.initial_checks:
        return f"{_count(math.ceil((due_at - now) / _ONE_HOUR), 'hour')} left"
    today, due_on = calendar.local_date(now), _due_day(due_at, calendar)
    if today == due_on:
        return "due today"
    if not policy.working:
        return f"{_count((due_on - today).days + 1, 'day')} left"
    left = calendar.working_days_between(today - _ONE_DAY, due_on)
    return f"{_count(left, 'working day')} left" if left else "no working days left"


def lateness(when: datetime, due_at: datetime, calendar: WorkingCalendar, policy: ClockPolicy,
             clock: ClockName) -> str:
    """How late ``when`` is for ``due_at``: "3 hours", "2 working days", "1 day", or "" when it
    is not late by a whole unit (a weekend after a Friday target is no working day late)."""
    if when < due_at:
        return ""
    if clock is ClockName.initial_checks:
        # Late by any part of an hour reads as that hour begun, never "0 hours".
        return _count(max(1, math.ceil((when - due_at) / _ONE_HOUR)), "hour")
    late_on, due_on = calendar.local_date(when), _due_day(due_at, calendar)
    if policy.working:
        days = calendar.working_days_between(due_on, late_on)
        return _count(days, "working day") if days else ""
    return _count((late_on - due_on).days, "day")


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


# --- A case page's clocks


@dataclass(frozen=True)
class ClockReading:
    clock: ClockName
    due_at: datetime
    near_at: datetime
    state: ClockState
    left: str  # the time_left text, or "met" / "met 2 working days late" once stopped
    stopped_at: datetime | None = None


def read_clocks(route: Route | str, status: Status | str, received_at: datetime,
                due_dates: Mapping[ClockName, datetime],
                stopped_at: Mapping[ClockName, datetime | None], now: datetime,
                calendar: WorkingCalendar, policy: ClockPolicy) -> list[ClockReading]:
    """Every clock that applies to the case, in ClockName order.

    ``due_dates`` are the stored due instants (after extensions); a clock missing from it falls
    back to its target. A stopped clock with no recorded stop time is judged as if it stopped
    now: it cannot read "met" without evidence that it was.
    """
    readings = []
    for clock, running in clocks_for(route, status).items():
        due_at = due_dates.get(clock) or target(clock, received_at, calendar, policy)
        near_at = near_breach_at(clock, received_at, due_at, calendar, policy)
        if running:
            readings.append(ClockReading(clock, due_at, near_at, clock_state(now, near_at, due_at),
                                         time_left(now, due_at, calendar, policy, clock)))
        else:
            stop = stopped_at.get(clock)
            state, left = _stopped(stop or now, due_at, calendar, policy, clock)
            readings.append(ClockReading(clock, due_at, near_at, state, left, stop))
    return readings


def _stopped(stop: datetime, due_at: datetime, calendar: WorkingCalendar, policy: ClockPolicy,
             clock: ClockName) -> tuple[ClockState, str]:
    state = stopped_state(stop, due_at)
    if state is ClockState.met:
        return state, "met"
    late = lateness(stop, due_at, calendar, policy, clock)
    return state, f"met {late} late" if late else "met late"
