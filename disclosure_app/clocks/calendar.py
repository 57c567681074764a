"""The force's working calendar: Monday to Friday, less its nation's bank holidays (from the
maintained ``holidays`` package) and the closure days an administrator has added."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import ClosureDay
from workflows.policy import CasePolicy
from workflows.working_calendar import WorkingCalendar

# BANK_HOLIDAY_NATION → the `holidays` package's UK subdivision. England and Wales share
# their bank holidays; Scotland and Northern Ireland have their own.
NATIONS: dict[str, str] = {
    "england_and_wales": "ENG",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}
# Years of bank holidays held: far enough back for the forecast's history and forward for any
# target an extension can reach.
_YEARS_BACK = 6
_YEARS_AHEAD = 2


@lru_cache(maxsize=16)
def bank_holidays(nation: str, first_year: int, last_year: int) -> frozenset[date]:
    calendar = holidays.country_holidays(
        "GB", subdiv=NATIONS[nation], years=range(first_year, last_year + 1)
    )
    return frozenset(calendar.keys())


def closure_days(session: Session) -> frozenset[date]:
    return frozenset(session.scalars(
        select(ClosureDay.day).where(ClosureDay.removed_at.is_(None))
    ))


def check_nation(nation: str) -> str:
    if nation not in NATIONS:
        raise ValueError(f"BANK_HOLIDAY_NATION must be one of {', '.join(NATIONS)}")
    return nation


def load_calendar(session: Session, policy: CasePolicy, today: date) -> WorkingCalendar:
    """The calendar as of today: bank holidays around ``today`` plus the force's closures."""
    holidays_ = bank_holidays(policy.bank_holiday_nation, today.year - _YEARS_BACK,
                              today.year + _YEARS_AHEAD)
    return WorkingCalendar(non_working=holidays_ | closure_days(session), tz=policy.local_tz)
