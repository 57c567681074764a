"""The scheme's clocks (workflows.clocks): targets in working and calendar days, the hours
clock, near breach, states and thresholds, which clocks run in which state, and the plain-English
time left."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.clocks import (
    ClockName,
    ClockPolicy,
    ClockReading,
    ClockState,
    clock_state,
    clocks_for,
    lateness,
    near_breach_at,
    next_threshold,
    read_clocks,
    stopped_state,
    target,
    time_left,
    worst,
)
from workflows.status import TERMINAL_STATUSES, Route, Status
from workflows.working_calendar import WorkingCalendar

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

D = date.fromisoformat
EASTER_2026 = {D("2026-04-03"), D("2026-04-06")}
CHRISTMAS_2026 = {D("2026-12-25"), D("2026-12-26"), D("2026-12-28"), D("2027-01-01")}
CAL = WorkingCalendar(frozenset(EASTER_2026 | CHRISTMAS_2026))
WORKING = ClockPolicy()
CALENDAR = ClockPolicy(target_days="calendar")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def midnight_after(day: str) -> datetime:
    """The end of a local winter (GMT) day."""
    return datetime.combine(D(day) + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


# --- Labels and policy


def test_every_clock_and_state_has_a_label():
    assert [c.label for c in ClockName] == [
        "Initial checks", "Interview", "Full risk assessment", "Whole process"]
    assert [s.label for s in ClockState] == [
        "On track", "Near breach", "Breached", "Met", "Met late"]


def test_the_policy_defaults_are_the_domain_targets():
    assert (WORKING.initial_checks_hours, WORKING.interview_days, WORKING.assessment_days,
            WORKING.overall_days) == (24, 10, 28, 45)
    assert WORKING.working and not CALENDAR.working
    assert WORKING.days(ClockName.overall) == 45


def test_the_policy_refuses_an_unknown_kind_of_day():
    with pytest.raises(ValueError, match="'working' or 'calendar'"):
        ClockPolicy(target_days="business")


@pytest.mark.parametrize(("bad", "message"), [
    ({"interview_days": 0}, "at least 1"), ({"initial_checks_hours": 0}, "at least 1"),
    ({"near_breach_working_days": -1}, "near_breach_working_days"),
    ({"near_breach_share": 1.5}, "near_breach_share"),
    ({"near_breach_share": -0.1}, "near_breach_share"),
], ids=["zero-days", "zero-hours", "negative-warning", "share-above-one", "negative-share"])
def test_the_policy_refuses_impossible_figures(bad, message):
    with pytest.raises(ValueError, match=message):
        ClockPolicy(**bad)


# --- Targets


def test_a_working_day_target_is_the_end_of_the_nth_working_day_after_receipt():
    received = utc(2026, 3, 2, 10)  # Monday
    assert target(ClockName.interview, received, CAL, WORKING) == midnight_after("2026-03-16")
    # 28 working days: 21 left in March, then 1, 2, 7-10 and 13 April (Easter skipped); BST.
    assert target(ClockName.assessment, received, CAL, WORKING) == utc(2026, 4, 13, 23)


def test_a_friday_evening_receipt_counts_from_monday():
    friday_evening = utc(2026, 3, 6, 19)
    saturday = utc(2026, 3, 7, 11)
    monday_morning = utc(2026, 3, 9, 9)
    due = target(ClockName.interview, friday_evening, CAL, WORKING)
    assert due == midnight_after("2026-03-20")  # Mon 9 is day 1, Fri 20 day 10
    assert target(ClockName.interview, saturday, CAL, WORKING) == due
    assert target(ClockName.interview, monday_morning, CAL, WORKING) == midnight_after(
        "2026-03-23")


def test_a_bank_holiday_receipt_counts_from_the_next_working_day():
    good_friday = utc(2026, 4, 3, 10)
    # Tuesday 7 April is day 1, Monday 20 April day 10; it ends at 23:00 UTC (BST).
    assert target(ClockName.interview, good_friday, CAL, WORKING) == utc(2026, 4, 20, 23)


def test_the_receipt_date_is_the_local_one_in_summer():
    thursday_late = utc(2026, 7, 2, 22, 30)  # 23:30 BST on Thursday
    after_midnight = utc(2026, 7, 2, 23, 30)  # 00:30 BST on Friday
    assert target(ClockName.interview, thursday_late, CAL, WORKING) == utc(2026, 7, 16, 23)
    assert target(ClockName.interview, after_midnight, CAL, WORKING) == utc(2026, 7, 17, 23)


def test_the_whole_process_runs_across_christmas():
    received = utc(2026, 11, 2, 10)  # Monday; 45 working days, less 3 holiday weekdays
    assert target(ClockName.overall, received, CAL, WORKING) == midnight_after("2027-01-07")


def test_a_calendar_day_target_counts_every_day_from_the_receipt_date():
    friday_evening = utc(2026, 3, 6, 19)
    assert target(ClockName.interview, friday_evening, CAL, CALENDAR) == midnight_after(
        "2026-03-16")
    good_friday = utc(2026, 4, 3, 10)  # holidays do not matter either
    assert target(ClockName.interview, good_friday, CAL, CALENDAR) == utc(2026, 4, 13, 23)


def test_the_hours_clock_is_exact_whatever_the_day():
    friday_evening = utc(2026, 3, 6, 19, 15)
    for policy in (WORKING, CALENDAR):
        assert target(ClockName.initial_checks, friday_evening, CAL, policy) == utc(
            2026, 3, 7, 19, 15)
    assert target(ClockName.initial_checks, friday_evening, CAL,
                  ClockPolicy(initial_checks_hours=48)) == utc(2026, 3, 8, 19, 15)


# --- Near breach


def test_near_breach_starts_when_two_working_days_are_left_counting_the_due_date():
    received = utc(2026, 3, 2, 10)
    due = midnight_after("2026-03-18")  # Wednesday
    assert near_breach_at(ClockName.interview, received, due, CAL, WORKING) == utc(2026, 3, 17)


def test_near_breach_counts_back_over_weekends_and_holidays():
    received = utc(2026, 3, 2, 10)
    due_monday = midnight_after("2026-03-16")
    assert near_breach_at(ClockName.interview, received, due_monday, CAL, WORKING) == utc(
        2026, 3, 13)  # from Friday
    due_after_easter = utc(2026, 4, 7, 23)  # Tuesday 7 April, BST
    # Tuesday and Thursday 2 April are the last two working days: from Wednesday 23:00 UTC.
    assert near_breach_at(ClockName.assessment, received, due_after_easter, CAL, WORKING) == utc(
        2026, 4, 1, 23)


def test_near_breach_by_working_days_applies_in_calendar_mode_too():
    received = utc(2026, 3, 2, 10)
    due_sunday = midnight_after("2026-03-15")
    # The due Sunday is not a working day: the last two are Thursday and Friday.
    assert near_breach_at(ClockName.interview, received, due_sunday, CAL, CALENDAR) == utc(
        2026, 3, 12)


def test_near_breach_of_the_hours_clock_is_a_share_of_the_period():
    received = utc(2026, 3, 2, 10)
    due = target(ClockName.initial_checks, received, CAL, WORKING)
    assert near_breach_at(ClockName.initial_checks, received, due, CAL, WORKING) == (
        received + timedelta(hours=24 * 0.8))


def test_near_breach_by_share_when_no_working_days_are_set():
    policy = ClockPolicy(near_breach_working_days=None, near_breach_share=0.25)
    received = utc(2026, 3, 2)
    due = utc(2026, 3, 22)
    assert near_breach_at(ClockName.overall, received, due, CAL, policy) == utc(2026, 3, 17)


def test_near_breach_is_never_before_receipt():
    received = utc(2026, 3, 2, 10)
    policy = ClockPolicy(interview_days=3, near_breach_working_days=5)
    due = target(ClockName.interview, received, CAL, policy)
    assert near_breach_at(ClockName.interview, received, due, CAL, policy) == received
    everything = ClockPolicy(near_breach_working_days=None, near_breach_share=1.0)
    assert near_breach_at(ClockName.overall, received, due, CAL, everything) == received


def test_zero_warning_days_go_straight_from_on_track_to_breached():
    received = utc(2026, 3, 2, 10)
    due = midnight_after("2026-03-18")
    policy = ClockPolicy(near_breach_working_days=0)
    assert near_breach_at(ClockName.interview, received, due, CAL, policy) == due


# --- States and thresholds

NEAR, DUE = utc(2026, 3, 17), utc(2026, 3, 19)


@pytest.mark.parametrize(("now", "state"), [
    (utc(2026, 3, 16, 23, 59), ClockState.on_track),
    (NEAR, ClockState.near_breach),
    (DUE - timedelta(microseconds=1), ClockState.near_breach),
    (DUE, ClockState.breached),
    (DUE + timedelta(days=30), ClockState.breached),
], ids=["before-near", "at-near", "last-moment", "at-due", "long-after"])
def test_a_running_clock_moves_on_track_near_breach_breached(now, state):
    assert clock_state(now, NEAR, DUE) is state


def test_a_stopped_clock_is_met_before_its_due_instant_and_met_late_from_it():
    assert stopped_state(DUE - timedelta(seconds=1), DUE) is ClockState.met
    assert stopped_state(DUE, DUE) is ClockState.met_late
    assert stopped_state(DUE + timedelta(days=3), DUE) is ClockState.met_late


def test_next_threshold_is_near_then_due_then_nothing():
    assert next_threshold(utc(2026, 3, 10), NEAR, DUE) == NEAR
    assert next_threshold(NEAR, NEAR, DUE) == DUE
    assert next_threshold(DUE, NEAR, DUE) is None


def test_worst_orders_breached_near_on_track_met_late_met():
    assert worst([ClockState.met, ClockState.breached, ClockState.on_track]) is (
        ClockState.breached)
    assert worst([ClockState.on_track, ClockState.near_breach]) is ClockState.near_breach
    assert worst([ClockState.met_late, ClockState.on_track]) is ClockState.on_track
    assert worst([ClockState.met, ClockState.met_late]) is ClockState.met_late
    assert worst(iter([ClockState.met])) is ClockState.met
    with pytest.raises(ValueError, match="no clock states"):
        worst([])


# --- Which clocks run in which state

IC, IV, AS, OV = ClockName
_INTAKE = {
    Status.received: {IC, IV, AS, OV},
    Status.referred: {IC, AS, OV},
    Status.initial_checks: {IC, IV, AS, OV},
    Status.awaiting_interview: {IV, AS, OV},
    Status.interviewed: {AS, OV},
    Status.full_risk_assessment: {AS, OV},
    Status.representations_pending: {AS, OV},
}
RUNNING = {status: _INTAKE.get(status, set() if status in TERMINAL_STATUSES else {OV})
           for status in Status if status is not Status.draft}


@pytest.mark.parametrize("route", list(Route))
@pytest.mark.parametrize("status", [s for s in Status if s is not Status.draft])
def test_which_clocks_apply_and_run_in_every_state(route, status):
    clocks = clocks_for(route, status)
    expected_apply = [IC, AS, OV] if route is Route.right_to_know else [IC, IV, AS, OV]
    assert list(clocks) == expected_apply
    running = RUNNING[status] - ({IV} if route is Route.right_to_know else set())
    assert {clock for clock, runs in clocks.items() if runs} == running


def test_the_interview_clock_never_applies_to_right_to_know():
    assert all(IV not in clocks_for("right_to_know", status) for status in Status)


def test_a_draft_has_no_clocks_and_a_closed_case_has_every_clock_stopped():
    assert clocks_for(Route.right_to_ask, Status.draft) == {}
    assert clocks_for("right_to_ask", "closed") == dict.fromkeys(ClockName, False)


# --- Time left in plain English

DUE_WEDNESDAY = midnight_after("2026-03-18")


@pytest.mark.parametrize(("now", "text"), [
    (utc(2026, 3, 16, 9), "3 working days left"),  # Monday, Tuesday, Wednesday
    (utc(2026, 3, 17, 9), "2 working days left"),
    (utc(2026, 3, 18, 9), "due today"),
    (utc(2026, 3, 18, 23, 59), "due today"),
    (utc(2026, 3, 19, 9), "1 working day overdue"),
    (utc(2026, 3, 20, 9), "2 working days overdue"),
], ids=["monday", "tuesday", "wednesday", "wednesday-late", "thursday", "friday"])
def test_time_left_in_working_days_counts_today_while_it_lasts(now, text):
    assert time_left(now, DUE_WEDNESDAY, CAL, WORKING, ClockName.assessment) == text


def test_time_left_over_a_weekend_and_overdue_by_less_than_a_working_day():
    due_monday = midnight_after("2026-03-16")
    assert time_left(utc(2026, 3, 14, 9), due_monday, CAL, WORKING, AS) == "1 working day left"
    due_friday = midnight_after("2026-03-13")
    assert time_left(utc(2026, 3, 14, 9), due_friday, CAL, WORKING, AS) == "overdue"
    due_sunday = midnight_after("2026-03-15")  # an extension to a weekend day
    assert time_left(utc(2026, 3, 14, 9), due_sunday, CAL, WORKING, AS) == (
        "no working days left")


def test_time_left_in_calendar_days():
    assert time_left(utc(2026, 3, 15, 9), DUE_WEDNESDAY, CAL, CALENDAR, AS) == "4 days left"
    assert time_left(utc(2026, 3, 17, 9), DUE_WEDNESDAY, CAL, CALENDAR, AS) == "2 days left"
    assert time_left(utc(2026, 3, 18, 9), DUE_WEDNESDAY, CAL, CALENDAR, AS) == "due today"
    assert time_left(utc(2026, 3, 19, 9), DUE_WEDNESDAY, CAL, CALENDAR, AS) == "1 day overdue"
    assert time_left(utc(2026, 3, 21, 9), DUE_WEDNESDAY, CAL, CALENDAR, AS) == "3 days overdue"


def test_time_left_on_the_hours_clock():
    due = utc(2026, 3, 7, 19)
    assert time_left(utc(2026, 3, 7, 14), due, CAL, WORKING, IC) == "5 hours left"
    assert time_left(utc(2026, 3, 7, 18, 50), due, CAL, WORKING, IC) == "1 hour left"
    assert time_left(utc(2026, 3, 7, 14, 30), due, CAL, WORKING, IC) == "5 hours left"
    assert time_left(due, due, CAL, WORKING, IC) == "1 hour overdue"
    assert time_left(utc(2026, 3, 7, 22), due, CAL, WORKING, IC) == "3 hours overdue"


def test_lateness_is_empty_when_on_time():
    assert lateness(utc(2026, 3, 1), DUE_WEDNESDAY, CAL, WORKING, AS) == ""


# --- A case page's clocks


def test_read_clocks_for_a_right_to_ask_case_awaiting_its_interview():
    received = utc(2026, 3, 2, 10)
    due = {c: target(c, received, CAL, WORKING) for c in ClockName}
    stopped = {IC: utc(2026, 3, 2, 16)}
    now = utc(2026, 3, 13, 9)  # Friday; the interview is due on Monday 16
    readings = read_clocks("right_to_ask", "awaiting_interview", received, due, stopped, now,
                           CAL, WORKING)
    assert [r.clock for r in readings] == list(ClockName)
    checks, interview, assessment, overall = readings
    assert checks == ClockReading(IC, due[IC], received + timedelta(hours=19.2), ClockState.met,
                                  "met", stopped[IC])
    assert (interview.state, interview.left) == (ClockState.near_breach, "2 working days left")
    assert interview.near_at == utc(2026, 3, 13)
    assert (assessment.state, overall.state) == (ClockState.on_track, ClockState.on_track)
    assert worst(r.state for r in readings) is ClockState.near_breach


def test_read_clocks_uses_the_extended_due_date_and_derives_near_breach_from_it():
    received = utc(2026, 3, 2, 10)
    extended = {AS: utc(2026, 5, 6, 23)}  # end of Wednesday 6 May (BST); others: their targets
    readings = read_clocks(Route.right_to_know, Status.full_risk_assessment, received, extended,
                           {IC: utc(2026, 3, 4, 9)}, utc(2026, 4, 14, 9), CAL, WORKING)
    assessment = next(r for r in readings if r.clock is AS)
    assert assessment.due_at == extended[AS]
    assert assessment.near_at == utc(2026, 5, 4, 23)  # Tuesday 5 May 00:00 BST
    assert assessment.state is ClockState.on_track
    checks = next(r for r in readings if r.clock is IC)
    assert (checks.state, checks.left) == (ClockState.met_late, "met 23 hours late")


def test_read_clocks_of_a_closed_case_says_how_late_each_stopped():
    received = utc(2026, 3, 2, 10)
    due = {c: target(c, received, CAL, WORKING) for c in ClockName}
    stopped = {IC: utc(2026, 3, 2, 12), IV: utc(2026, 3, 18, 9), AS: utc(2026, 4, 10, 9),
               OV: utc(2026, 5, 1, 9)}
    readings = read_clocks("right_to_ask", "closed", received, due, stopped, utc(2026, 6, 1),
                           CAL, WORKING)
    assert [r.left for r in readings] == ["met", "met 2 working days late", "met", "met"]
    assert [r.state for r in readings] == [ClockState.met, ClockState.met_late, ClockState.met,
                                           ClockState.met]


def test_a_stopped_clock_without_a_stop_time_is_judged_now():
    received = utc(2026, 3, 2, 10)
    due = {c: target(c, received, CAL, WORKING) for c in ClockName}
    readings = read_clocks("right_to_know", "awaiting_decision", received, due, {},
                           utc(2026, 3, 3, 11), CAL, WORKING)
    checks = readings[0]
    assert (checks.state, checks.left, checks.stopped_at) == (ClockState.met_late,
                                                              "met 1 hour late", None)
    saturday_after_friday = read_clocks("right_to_know", "closed", received,
                                        {AS: midnight_after("2026-03-13")}, {},
                                        utc(2026, 3, 14, 9), CAL, WORKING)
    assert saturday_after_friday[1].left == "met late"  # late, but not by a working day
