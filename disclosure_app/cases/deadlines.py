"""Target dates and overdue flags (DOMAIN.md §6.1, §9.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.status import Status

_INITIAL = {Status.received, Status.referred, Status.initial_checks}
_INTERVIEW = {Status.awaiting_interview}


@dataclass(frozen=True)
class Deadline:
    label: str
    due_at: datetime
    overdue: bool


def deadlines(case: object, now: datetime) -> list[Deadline]:
    status = Status(case.status)  # type: ignore[attr-defined]
    is_open = not status.is_terminal
    result = [
        Deadline(
            "Initial checks",
            case.initial_checks_due_at,  # type: ignore[attr-defined]
            status in _INITIAL and now > case.initial_checks_due_at,  # type: ignore[attr-defined]
        )
    ]
    interview_due = case.interview_due_at  # type: ignore[attr-defined]
    if interview_due is not None:
        late = status in _INTERVIEW | _INITIAL and now > interview_due
        result.append(Deadline("Interview", interview_due, late))
    decision_due = case.decision_due_at  # type: ignore[attr-defined]
    result.append(Deadline("Overall", decision_due, is_open and now > decision_due))
    return result


def overdue_labels(case: object, now: datetime) -> list[str]:
    return [d.label for d in deadlines(case, now) if d.overdue]
