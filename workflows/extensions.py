"""Extending a target date in exceptional circumstances (DOMAIN.md §6.1, §9.1, §9.3 #24).

An extension is asked for by the case officer and takes effect only when someone of at least
the configured rank (Sergeant by default) who did not ask for it authorises it: the same four
eyes as a decision. It moves one running day target to a later date, no further than the
configured maximum beyond the current target, and never changes the case's state. The 24-hour
initial checks are not extendable: a case that needs longer has missed them and says why.

Which clock a target belongs to, and whether it is still running, is ``workflows.clocks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from workflows.clocks import ClockName, clocks_for
from workflows.status import Status
from workflows.working_calendar import WorkingCalendar

# The case attribute holding each extendable clock's target instant.
# Keys are workflows.clocks.ClockName values.
DUE_ATTRIBUTE: dict[str, str] = {
    "interview": "interview_due_at",
    "assessment": "assessment_due_at",
    "overall": "decision_due_at",
}

EXTENDABLE_CLOCKS: tuple[tuple[str, str], ...] = (
    ("interview", "Interview"),
    ("assessment", "Full risk assessment"),
    ("overall", "Whole process"),
)

# Exceptional circumstances (DOMAIN.md §6.1: "extendable in exceptional circumstances").
EXTENSION_REASONS: tuple[tuple[str, str], ...] = (
    ("partner_information_awaited", "Information awaited from a partner agency"),
    ("subject_representations", "Subject's representations awaited"),
    ("applicant_unavailable", "Applicant unavailable or unsafe to contact"),
    ("identity_complex", "Subject's identity is complex to resolve"),
    ("linked_investigation", "A linked investigation must not be prejudiced"),
    ("exceptional_volume", "Exceptional demand on the unit"),
    ("other", "Other exceptional circumstances"),
)

# Why a case closed after its whole-process target (DOMAIN.md §9.3 #23).
BREACH_REASONS: tuple[tuple[str, str], ...] = (
    ("partner_delay", "Waiting for a partner agency"),
    ("applicant_contact", "Could not safely contact the applicant"),
    ("subject_representations", "Subject's representations"),
    ("case_complexity", "Complexity of the case"),
    ("unit_capacity", "Capacity of the unit"),
    ("extension_not_sought", "An extension was not sought in time"),
    ("other", "Other"),
)


def current_target(case: Any, clock: str) -> datetime | None:
    attribute = DUE_ATTRIBUTE.get(clock)
    return getattr(case, attribute) if attribute else None


def request_problems(case: Any, data: Mapping[str, Any], *, max_days: int, tz: str
                     ) -> dict[str, str]:
    """What is wrong with an extension request for this case, by field (empty: nothing)."""
    clock = str(data.get("clock") or "")
    if clock not in DUE_ATTRIBUTE:
        return {"clock": "Select which target to extend"}
    running = clocks_for(str(case.route), Status(case.status))
    due = current_target(case, clock)
    if not running.get(ClockName(clock)) or due is None:
        return {"clock": "That target is not running on this case, so it cannot be extended"}
    try:
        new_date = date.fromisoformat(str(data.get("new_date") or ""))
    except ValueError:
        return {"new_date": "Enter the new target date"}
    current_day = WorkingCalendar(tz=tz).last_day(due)
    if new_date <= current_day:
        return {"new_date": "The new target date must be after the current target "
                f"({current_day.strftime('%d %B %Y')})"}
    latest = current_day + timedelta(days=max_days)
    if new_date > latest:
        return {"new_date": f"An extension can be at most {max_days} days: the latest new "
                f"target date is {latest.strftime('%d %B %Y')}"}
    return {}
