"""SOA 2003 notification periods: every row of the DOMAIN.md §13 table, adults and under-18s,
the indefinite cases with their review dates, and how the status reads."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.notification import (
    Disposal,
    NotificationPeriod,
    PeriodError,
    add_months,
    notification_period,
    period_months,
)

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

CONVICTED = date(2020, 3, 15)

# (disposal, custody months, discharge months, adult period in months, under-18 period);
# None = indefinite.
TABLE = [
    ("imprisonment 30 months", Disposal.imprisonment, 30, None, None, None),
    ("imprisonment for life (stored as a long term)", Disposal.imprisonment, 1200, None, None,
     None),
    ("hospital with a restriction order", Disposal.hospital_restriction, None, None, None, None),
    ("imprisonment 29 months", Disposal.imprisonment, 29, None, 120, 60),
    ("imprisonment 7 months", Disposal.imprisonment, 7, None, 120, 60),
    ("imprisonment 6 months", Disposal.imprisonment, 6, None, 84, 42),
    ("imprisonment 1 month", Disposal.imprisonment, 1, None, 84, 42),
    ("hospital without a restriction order", Disposal.hospital, None, None, 84, 42),
    ("caution", Disposal.caution, None, None, 24, 12),
    ("conditional discharge of 18 months", Disposal.conditional_discharge, None, 18, 18, 18),
    ("any other disposal", Disposal.other, None, None, 60, 30),
]


@pytest.mark.parametrize(("row", "disposal", "custody", "discharge", "adult", "juvenile"), TABLE,
                         ids=[r[0] for r in TABLE])
def test_every_row_of_the_table_for_adults_and_under_18s(row, disposal, custody, discharge,
                                                         adult, juvenile):
    for age, expected in ((18, adult), (17, juvenile)):
        period = notification_period(disposal, CONVICTED, age, custody_months=custody,
                                     discharge_months=discharge)
        if expected is None:
            assert period.indefinite, (row, age)
            assert period.ends_on is None
        else:
            assert not period.indefinite
            assert period.months == expected, (row, age)
            assert period.ends_on == add_months(CONVICTED, expected)


def test_half_year_periods_for_under_18s_end_on_the_right_day():
    # 3½ years and 2½ years exactly, counted in calendar months.
    short = notification_period(Disposal.imprisonment, CONVICTED, 16, custody_months=3)
    other = notification_period(Disposal.other, CONVICTED, 16)
    assert short.ends_on == date(2023, 9, 15)
    assert other.ends_on == date(2022, 9, 15)


@pytest.mark.parametrize(("age", "review"), [(25, date(2038, 3, 15)), (16, date(2031, 3, 15))],
                         ids=["adult: 15 years", "under 18: 8 years"])
def test_indefinite_requirements_can_be_reviewed_after_the_custodial_term_and_15_or_8_years(
    age, review
):
    # 36 months' custody → indefinite; reviewable from conviction + the whole term (15 March
    # 2023) + 15 years (8 if under 18): never earlier than the real review date.
    period = notification_period(Disposal.imprisonment, CONVICTED, age, custody_months=36)
    assert period.indefinite
    assert period.review_from == review


def test_a_hospital_restriction_order_is_reviewable_from_the_conviction_date():
    period = notification_period(Disposal.hospital_restriction, CONVICTED, 40)
    assert period.review_from == date(2035, 3, 15)


@pytest.mark.parametrize(("today", "text"), [
    (date(2024, 1, 1), "ends on 15 March 2027"),
    (date(2027, 3, 15), "ended on 15 March 2027"),
    (date(2030, 1, 1), "ended on 15 March 2027"),
])
def test_the_status_reads_ends_on_or_ended_on(today, text):
    period = notification_period(Disposal.imprisonment, CONVICTED, 30, custody_months=3)
    assert period.describe(today) == text


def test_an_indefinite_status_gives_the_review_date():
    period = notification_period(Disposal.hospital_restriction, CONVICTED, 40)
    assert period.describe(date(2026, 1, 1)) == "indefinite (review possible from 15 March 2035)"


def test_a_conviction_on_the_31st_ends_on_the_last_day_of_a_shorter_month():
    period = notification_period(Disposal.conditional_discharge, date(2023, 8, 31), 30,
                                 discharge_months=6)
    assert period.ends_on == date(2024, 2, 29)


@pytest.mark.parametrize(("disposal", "kwargs"), [
    (Disposal.imprisonment, {}),
    (Disposal.imprisonment, {"custody_months": 0}),
    (Disposal.conditional_discharge, {}),
])
def test_a_disposal_without_its_length_has_no_period(disposal, kwargs):
    with pytest.raises(PeriodError):
        period_months(disposal, juvenile=False, **kwargs)


def test_in_force_follows_the_end_date():
    ended = NotificationPeriod(False, 24, date(2020, 1, 1), None)
    assert not ended.in_force(date(2021, 1, 1))
    assert NotificationPeriod(True, None, None, date(2040, 1, 1)).in_force(date(2021, 1, 1))
