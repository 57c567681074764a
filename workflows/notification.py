"""Sexual Offences Act 2003 notification periods, computed from one conviction (DOMAIN.md §13).

| Disposal                                            | 18 or over         | under 18   |
|-----------------------------------------------------|--------------------|------------|
| Imprisonment of 30 months or more (incl. life)      | indefinite         | indefinite |
| Hospital order with a restriction order             | indefinite         | indefinite |
| Imprisonment of more than 6, less than 30 months    | 10 years           | 5 years    |
| Imprisonment of 6 months or less                    | 7 years            | 3½ years   |
| Hospital order without a restriction order          | 7 years            | 3½ years   |
| Caution                                             | 2 years            | 1 year     |
| Conditional discharge                               | length of discharge| the same   |
| Any other disposal (community sentence, fine, …)    | 5 years            | 2½ years   |

The period runs from the date of conviction or caution (s.82, the "relevant date"). Indefinite
requirements may be reviewed on application after 15 years (8 for those under 18 at conviction)
under the 2012 Remedial Order; that review runs from first notification after release, which a
conviction record does not give us, so the review date is counted from the conviction date *plus
the whole custodial term*: it may be later than the real one, never earlier.

Only sexual offences carry a notification requirement; other convictions are shown without one.
Pure Python: no Flask, no database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Disposal(StrEnum):
    imprisonment = "imprisonment"
    hospital_restriction = "hospital_restriction"
    hospital = "hospital"
    caution = "caution"
    conditional_discharge = "conditional_discharge"
    other = "other"

    @property
    def label(self) -> str:
        return _DISPOSAL_LABELS[self]


_DISPOSAL_LABELS = {
    Disposal.imprisonment: "Imprisonment",
    Disposal.hospital_restriction: "Hospital order with a restriction order",
    Disposal.hospital: "Hospital order without a restriction order",
    Disposal.caution: "Caution",
    Disposal.conditional_discharge: "Conditional discharge",
    Disposal.other: "Other disposal (for example a community sentence or fine)",
}


class OffenceCategory(StrEnum):
    child_sexual = "child_sexual"
    sexual = "sexual"
    violent = "violent"
    other = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]

    @property
    def notifiable(self) -> bool:
        """Sexual offences (SOA 2003 Schedule 3) carry notification requirements."""
        return self in (OffenceCategory.child_sexual, OffenceCategory.sexual)


_CATEGORY_LABELS = {
    OffenceCategory.child_sexual: "Child sexual offence",
    OffenceCategory.sexual: "Sexual offence",
    OffenceCategory.violent: "Violent offence",
    OffenceCategory.other: "Other offence",
}

INDEFINITE_CUSTODY_MONTHS = 30
SHORT_CUSTODY_MONTHS = 6
ADULT_AGE = 18
REVIEW_AFTER_YEARS = 15
REVIEW_AFTER_YEARS_JUVENILE = 8


class PeriodError(ValueError):
    """The conviction lacks what its disposal needs (custody or discharge length)."""


@dataclass(frozen=True)
class NotificationPeriod:
    """``months`` is None for indefinite requirements; ``ends_on`` then is None too."""

    indefinite: bool
    months: int | None
    ends_on: date | None
    review_from: date | None

    def describe(self, today: date) -> str:
        if self.indefinite:
            assert self.review_from is not None
            return f"indefinite (review possible from {format_date(self.review_from)})"
        assert self.ends_on is not None
        verb = "ends on" if self.ends_on > today else "ended on"
        return f"{verb} {format_date(self.ends_on)}"

    def in_force(self, today: date) -> bool:
        return self.indefinite or (self.ends_on is not None and self.ends_on > today)


def format_date(value: date) -> str:
    return f"{value.day} {calendar.month_name[value.month]} {value.year}"


def add_months(start: date, months: int) -> date:
    """Calendar months later; the 31st becomes the month's last day (29 Feb → 28 Feb)."""
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def period_months(
    disposal: Disposal,
    *,
    juvenile: bool,
    custody_months: int | None = None,
    discharge_months: int | None = None,
) -> int | None:
    """The period in months, or None for indefinite. Juvenile periods are halved (§13 table);
    a conditional discharge lasts as long as the discharge whatever the age."""
    if disposal is Disposal.hospital_restriction:
        return None
    if disposal is Disposal.imprisonment:
        if custody_months is None or custody_months <= 0:
            raise PeriodError("imprisonment needs the custodial term in months")
        if custody_months >= INDEFINITE_CUSTODY_MONTHS:
            return None
        adult = 10 * 12 if custody_months > SHORT_CUSTODY_MONTHS else 7 * 12
    elif disposal is Disposal.conditional_discharge:
        if discharge_months is None or discharge_months <= 0:
            raise PeriodError("a conditional discharge needs its length in months")
        return discharge_months
    else:
        adult = {Disposal.hospital: 7 * 12, Disposal.caution: 2 * 12, Disposal.other: 5 * 12}[
            disposal
        ]
    return adult // 2 if juvenile else adult


def notification_period(
    disposal: Disposal,
    conviction_date: date,
    age_at_conviction: int,
    *,
    custody_months: int | None = None,
    discharge_months: int | None = None,
) -> NotificationPeriod:
    juvenile = age_at_conviction < ADULT_AGE
    months = period_months(
        disposal, juvenile=juvenile, custody_months=custody_months,
        discharge_months=discharge_months,
    )
    if months is None:
        review_years = REVIEW_AFTER_YEARS_JUVENILE if juvenile else REVIEW_AFTER_YEARS
        start = add_months(conviction_date, custody_months or 0)
        return NotificationPeriod(True, None, None, add_months(start, review_years * 12))
    return NotificationPeriod(False, months, add_months(conviction_date, months), None)
