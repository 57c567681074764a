"""A case's target dates as pages show them (DOMAIN.md §6.1, §9.4): each clock's last day,
its state (on track, near breach, breached, met, met late) and the time left, read live from
the case's own dates on the force's working calendar (``disclosure_app.clocks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.clocks.service import read_case_clocks
from disclosure_app.models import Case
from workflows.clocks import ClockName, ClockReading, ClockState
from workflows.policy import CasePolicy
from workflows.working_calendar import WorkingCalendar

RUNNING = frozenset({ClockState.on_track, ClockState.near_breach, ClockState.breached})


@dataclass(frozen=True)
class Deadline:
    clock: ClockName
    label: str
    due_at: datetime  # the instant the target passes
    due_on: date  # the target's last day, in the force's local time
    state: ClockState
    left: str  # "3 working days left", "2 working days overdue", "met"…

    @property
    def overdue(self) -> bool:
        return self.state is ClockState.breached

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def hours_clock(self) -> bool:
        return self.clock is ClockName.initial_checks


def _deadline(reading: ClockReading, calendar: WorkingCalendar) -> Deadline:
    return Deadline(reading.clock, reading.clock.label, reading.due_at,
                    calendar.last_day(reading.due_at), reading.state, reading.left)


def deadlines_on(case: Case, calendar: WorkingCalendar, policy: CasePolicy,
                 now: datetime) -> list[Deadline]:
    return [_deadline(r, calendar) for r in read_case_clocks(case, calendar, policy.clocks, now)]


def deadlines(session: Session, case: Case, policy: CasePolicy, now: datetime) -> list[Deadline]:
    return deadlines_on(case, load_calendar(session, policy, now.date()), policy, now)


def overdue_labels(deadlines_: list[Deadline]) -> list[str]:
    return [d.label for d in deadlines_ if d.overdue]
