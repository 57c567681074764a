"""Working-day arithmetic and local days (workflows.working_calendar): Christmas, Easter, moved
bank holidays, Friday-evening and weekend receipts, closure days, GMT and BST, and agreement with
a naive day-by-day count on randomised spans."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

import holidays
import pytest

from workflows.working_calendar import WorkingCalendar

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

D = date.fromisoformat

# England and Wales, written out as published (gov.uk/bank-holidays), substitutes included.
CHRISTMAS_2026 = {D("2026-12-25"), D("2026-12-26"), D("2026-12-28"), D("2027-01-01")}
EASTER_2025 = {D("2025-04-18"), D("2025-04-21")}
EASTER_2026 = {D("2026-04-03"), D("2026-04-06")}
# 2020: the early May bank holiday moved from Monday 4 May to Friday 8 May (VE Day 75).
MAY_2020 = {D("2020-05-08"), D("2020-05-25")}
# 2022: the spring bank holiday moved from Monday 30 May to Thursday 2 June, and Friday 3 June
# was the Platinum Jubilee holiday; Monday 19 September was the State Funeral.
JUBILEE_2022 = {D("2022-05-02"), D("2022-06-02"), D("2022-06-03"), D("2022-09-19")}

ENGLAND = WorkingCalendar(frozenset(CHRISTMAS_2026 | EASTER_2025 | EASTER_2026 | MAY_2020
                                    | JUBILEE_2022))
NO_HOLIDAYS = WorkingCalendar()


# --- Weekends and holidays


def test_weekends_are_never_working_days_and_weekdays_are_unless_a_holiday():
    assert NO_HOLIDAYS.is_working_day(D("2026-03-06"))  # Friday
    assert not NO_HOLIDAYS.is_working_day(D("2026-03-07"))  # Saturday
    assert not NO_HOLIDAYS.is_working_day(D("2026-03-08"))  # Sunday
    assert not ENGLAND.is_working_day(D("2026-12-25"))
    assert ENGLAND.is_working_day(D("2026-12-24"))


def test_christmas_boxing_day_substitute_and_new_year_are_skipped():
    christmas_eve = D("2026-12-24")  # Thursday
    assert ENGLAND.add_working_days(christmas_eve, 1) == D("2026-12-29")
    assert ENGLAND.add_working_days(christmas_eve, 3) == D("2026-12-31")
    assert ENGLAND.add_working_days(christmas_eve, 4) == D("2027-01-04")
    assert ENGLAND.working_days_between(christmas_eve, D("2027-01-04")) == 4


def test_a_holiday_on_a_weekend_counts_once_not_twice():
    # Boxing Day 2026 is a Saturday: listing it (as the published list does) changes nothing.
    without = WorkingCalendar(frozenset(CHRISTMAS_2026 - {D("2026-12-26")}))
    for n in range(12):
        assert without.add_working_days(D("2026-12-20"), n) == ENGLAND.add_working_days(
            D("2026-12-20"), n)
    assert without.working_days_between(D("2026-12-01"), D("2027-02-01")) == (
        ENGLAND.working_days_between(D("2026-12-01"), D("2027-02-01")))


def test_good_friday_and_easter_monday_are_skipped():
    maundy_thursday = D("2025-04-17")
    assert ENGLAND.add_working_days(maundy_thursday, 1) == D("2025-04-22")
    assert ENGLAND.working_days_between(maundy_thursday, D("2025-04-22")) == 1
    assert NO_HOLIDAYS.working_days_between(maundy_thursday, D("2025-04-22")) == 3


def test_the_2020_may_bank_holiday_moved_to_friday_8_may():
    # Monday 4 May 2020 was a working day; Friday 8 May was not.
    assert ENGLAND.add_working_days(D("2020-05-01"), 1) == D("2020-05-04")
    assert ENGLAND.add_working_days(D("2020-05-07"), 1) == D("2020-05-11")


def test_the_2022_spring_bank_holiday_and_platinum_jubilee_moves():
    # Monday 30 May 2022 was a working day; Thursday 2 and Friday 3 June were not.
    assert ENGLAND.add_working_days(D("2022-05-27"), 1) == D("2022-05-30")
    assert ENGLAND.add_working_days(D("2022-06-01"), 1) == D("2022-06-06")
    assert ENGLAND.working_days_between(D("2022-05-27"), D("2022-06-10")) == 8


def test_the_holidays_package_gives_the_moved_dates_the_tests_use():
    # The app builds its calendar from the `holidays` package; the literal sets above agree.
    listed = holidays.country_holidays("GB", subdiv="ENG", years=(2020, 2022, 2026))
    assert MAY_2020 | JUBILEE_2022 <= set(listed)
    assert CHRISTMAS_2026 - {D("2027-01-01")} <= set(listed)
    assert D("2020-05-04") not in listed and D("2022-05-30") not in listed
    calendar = WorkingCalendar(frozenset(listed))
    assert calendar.add_working_days(D("2022-06-01"), 1) == D("2022-06-06")


def test_closure_days_added_by_an_administrator_behave_like_holidays():
    closure = D("2026-03-11")  # a Wednesday: say, a system migration
    closed = WorkingCalendar(ENGLAND.non_working | {closure})
    assert not closed.is_working_day(closure)
    assert closed.add_working_days(D("2026-03-10"), 1) == D("2026-03-12")
    assert closed.working_days_between(D("2026-03-09"), D("2026-03-13")) == 3
    assert closed.roll_forward(closure) == D("2026-03-12")


def test_non_working_days_may_be_given_as_any_collection():
    calendar = WorkingCalendar({D("2026-03-11")})  # a set, as the app builds it
    assert calendar.non_working == frozenset({D("2026-03-11")})
    assert calendar == WorkingCalendar(frozenset({D("2026-03-11")}))
    # Hashable, so the app can cache one calendar per force and per set of closure days.
    assert hash(calendar) == hash(WorkingCalendar(frozenset({D("2026-03-11")})))


def test_an_unknown_time_zone_is_refused_at_once():
    with pytest.raises(ZoneInfoNotFoundError):
        WorkingCalendar(tz="Europe/Atlantis")


# --- Where counting starts


def test_a_friday_receipt_counts_from_monday():
    friday = D("2026-03-06")
    assert NO_HOLIDAYS.add_working_days(friday, 1) == D("2026-03-09")
    assert NO_HOLIDAYS.add_working_days(friday, 10) == D("2026-03-20")


def test_a_saturday_or_sunday_receipt_counts_from_monday_like_a_friday_one():
    for received in (D("2026-03-06"), D("2026-03-07"), D("2026-03-08")):
        assert NO_HOLIDAYS.add_working_days(received, 1) == D("2026-03-09")
        assert NO_HOLIDAYS.add_working_days(received, 0) == (
            D("2026-03-06") if received.weekday() == 4 else D("2026-03-09"))


def test_a_bank_holiday_receipt_counts_from_the_next_working_day():
    good_friday = D("2026-04-03")
    assert ENGLAND.add_working_days(good_friday, 1) == D("2026-04-07")
    assert ENGLAND.add_working_days(good_friday, 10) == D("2026-04-20")
    assert ENGLAND.roll_forward(good_friday) == D("2026-04-07")


def test_zero_working_days_rolls_forward_and_a_working_day_stays_put():
    assert ENGLAND.add_working_days(D("2026-12-24"), 0) == D("2026-12-24")
    assert ENGLAND.add_working_days(D("2026-12-25"), 0) == D("2026-12-29")
    assert ENGLAND.roll_forward(D("2026-12-24")) == D("2026-12-24")


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        ENGLAND.add_working_days(D("2026-12-24"), -1)
    with pytest.raises(ValueError, match="0 or more"):
        ENGLAND.subtract_working_days(D("2026-12-24"), -1)


def test_subtracting_working_days_skips_holidays_backwards():
    assert ENGLAND.subtract_working_days(D("2026-12-29"), 1) == D("2026-12-24")
    assert ENGLAND.subtract_working_days(D("2027-01-04"), 4) == D("2026-12-24")
    assert ENGLAND.subtract_working_days(D("2026-12-28"), 0) == D("2026-12-24")
    assert ENGLAND.subtract_working_days(D("2026-12-24"), 0) == D("2026-12-24")


# --- Counting between two days


def test_working_days_between_is_zero_for_the_same_day_and_negated_backwards():
    assert ENGLAND.working_days_between(D("2026-12-24"), D("2026-12-24")) == 0
    forward = ENGLAND.working_days_between(D("2026-12-20"), D("2027-01-10"))
    assert forward == 4 + 3 + 5  # 21–24 Dec, 29–31 Dec, 4–8 Jan
    assert ENGLAND.working_days_between(D("2027-01-10"), D("2026-12-20")) == -forward


def test_working_days_between_leaves_out_the_start_and_counts_the_end():
    monday, tuesday = D("2026-03-09"), D("2026-03-10")
    assert NO_HOLIDAYS.working_days_between(monday, tuesday) == 1
    assert NO_HOLIDAYS.working_days_between(D("2026-03-06"), D("2026-03-08")) == 0  # Fri → Sun


# --- Local days: GMT in winter, BST in summer


def test_end_of_a_winter_day_is_midnight_utc():
    assert ENGLAND.end_of_local_day(D("2026-01-15")) == datetime(2026, 1, 16, tzinfo=UTC)


def test_end_of_a_summer_day_is_eleven_pm_utc():
    assert ENGLAND.end_of_local_day(D("2026-07-01")) == datetime(2026, 7, 1, 23, tzinfo=UTC)


def test_the_days_the_clocks_change_are_23_and_25_hours_long():
    spring, autumn = D("2026-03-29"), D("2026-10-25")
    assert ENGLAND.start_of_local_day(spring) == datetime(2026, 3, 29, tzinfo=UTC)
    assert ENGLAND.end_of_local_day(spring) == datetime(2026, 3, 29, 23, tzinfo=UTC)
    length = ENGLAND.end_of_local_day(autumn) - ENGLAND.start_of_local_day(autumn)
    assert length == timedelta(hours=25)


def test_local_date_of_a_late_summer_evening_is_already_tomorrow():
    assert ENGLAND.local_date(datetime(2026, 6, 30, 22, 59, tzinfo=UTC)) == D("2026-06-30")
    assert ENGLAND.local_date(datetime(2026, 6, 30, 23, 0, tzinfo=UTC)) == D("2026-07-01")
    assert ENGLAND.local_date(datetime(2026, 1, 15, 23, 59, tzinfo=UTC)) == D("2026-01-15")


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="aware"):
        ENGLAND.local_date(datetime(2026, 6, 30, 23, 0))


def test_another_zone_can_be_used():
    belfast_in_summer = WorkingCalendar(tz="Europe/Belfast")
    assert belfast_in_summer.end_of_local_day(D("2026-07-01")) == datetime(2026, 7, 1, 23,
                                                                           tzinfo=UTC)
    assert WorkingCalendar(tz="UTC").end_of_local_day(D("2026-07-01")) == datetime(
        2026, 7, 2, tzinfo=UTC)


# --- Agreement with a naive day-by-day count


def _naive_add(calendar: WorkingCalendar, start: date, n: int, step: int = 1) -> date:
    day = start
    if n == 0:
        while not calendar.is_working_day(day):
            day += timedelta(days=step)
        return day
    while n:
        day += timedelta(days=step)
        n -= calendar.is_working_day(day)
    return day


def _naive_between(calendar: WorkingCalendar, start: date, end: date) -> int:
    low, high, sign = (start, end, 1) if start <= end else (end, start, -1)
    days = (high - low).days
    return sign * sum(calendar.is_working_day(low + timedelta(days=i)) for i in range(1, days + 1))


def test_the_arithmetic_agrees_with_a_naive_day_by_day_count_on_random_spans():
    rng = random.Random(13)  # fixed: the same spans on every run
    first = D("2019-01-01")
    # Dense holidays (about one weekday in eight), with runs of consecutive ones, stress the skip.
    dense = {first + timedelta(days=rng.randrange(3000)) for _ in range(400)}
    dense |= {D("2021-03-01") + timedelta(days=i) for i in range(12)}
    for calendar in (WorkingCalendar(frozenset(dense)), ENGLAND, NO_HOLIDAYS):
        for _ in range(400):
            start = first + timedelta(days=rng.randrange(2500))
            end = first + timedelta(days=rng.randrange(2500))
            n = rng.choice((0, 1, 2, rng.randrange(500)))
            assert calendar.add_working_days(start, n) == _naive_add(calendar, start, n), (
                start, n)
            assert calendar.subtract_working_days(start, n) == _naive_add(
                calendar, start, n, step=-1), (start, n)
            assert calendar.working_days_between(start, end) == _naive_between(
                calendar, start, end), (start, end)
            assert calendar.roll_forward(start) == _naive_add(calendar, start, 0)


@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 7, 15), date(2026, 3, 28),
                                 date(2026, 10, 24)])
def test_last_day_is_the_inverse_of_end_of_local_day_in_winter_summer_and_at_the_changes(day):
    calendar = WorkingCalendar()
    assert calendar.last_day(calendar.end_of_local_day(day)) == day
