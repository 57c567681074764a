"""The allocation rules (workflows.allocation): who may claim, assign, reassign, move an
officer's whole caseload and arrange cover, who may hold a case, and which team a postcode
belongs to. Pure functions: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workflows.allocation import (
    AllocationPolicy,
    CoverRequest,
    Holding,
    Person,
    RefusalKind,
    action_for,
    assignment_refusals,
    bulk_reassignment_refusals,
    claim_refusals,
    cover_in_force,
    cover_refusals,
    end_cover_refusals,
    holder_problem,
    is_supervisor,
    local_day,
    outward_district,
    parse_districts,
)
from workflows.roles import Rank, Role

pytestmark = pytest.mark.engine_independent  # no database: not run again on PostgreSQL

POLICY = AllocationPolicy()
TEAM = 7
OFFICER = Person(1, Role.case_officer, Rank.constable, team_ids=frozenset({TEAM}))
OTHER_OFFICER = Person(2, Role.case_officer, Rank.constable, team_ids=frozenset({TEAM}))
SERGEANT = Person(3, Role.case_officer, Rank.sergeant)
INSPECTOR = Person(4, Role.decision_maker, Rank.inspector)
PARTNER = Person(5, Role.partner)
AUDITOR = Person(6, Role.auditor)
ADMIN = Person(8, Role.admin)
GONE = Person(9, Role.case_officer, Rank.constable, active=False)
UNALLOCATED = Holding(is_open=True, team_id=TEAM, holder_id=None)
HELD = Holding(is_open=True, team_id=TEAM, holder_id=OTHER_OFFICER.id)
CLOSED = Holding(is_open=False, team_id=TEAM, holder_id=OTHER_OFFICER.id)
TODAY = date(2026, 3, 10)


def kinds(refusals) -> list[RefusalKind]:
    return [r.kind for r in refusals]


def fields(refusals) -> dict[str | None, str]:
    return {r.field: r.message for r in refusals}


# --- Supervisors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("person", "expected"), [
    (OFFICER, False), (SERGEANT, True), (INSPECTOR, True), (PARTNER, False),
    (AUDITOR, False), (ADMIN, False),
    (Person(10, Role.case_officer, Rank.sergeant, active=False), False),
    (Person(11, Role.decision_maker, None), False),
])
def test_a_supervisor_is_a_police_officer_of_at_least_sergeant_by_default(person, expected):
    assert is_supervisor(person, POLICY) is expected


def test_the_supervisor_rank_is_configurable():
    policy = AllocationPolicy(supervisor_min_rank=Rank.inspector)
    assert not is_supervisor(SERGEANT, policy)
    assert is_supervisor(INSPECTOR, policy)


# --- Who may hold a case -------------------------------------------------------------------------

def test_an_active_case_officer_may_hold_a_case():
    assert holder_problem(OFFICER) is None


@pytest.mark.parametrize(("person", "words"), [
    (INSPECTOR, "A decision-maker cannot hold a case"),
    (PARTNER, "A partner agency member cannot hold a case"),
    (AUDITOR, "An auditor cannot hold a case"),
    (ADMIN, "An administrator cannot hold a case"),
    (GONE, "That account is deactivated"),
    (None, "Select a case officer from the list"),
])
def test_nobody_but_an_active_case_officer_may_hold_a_case(person, words):
    problem = holder_problem(person)
    assert problem is not None and problem.startswith(words)


# --- Claiming ------------------------------------------------------------------------------------

def test_a_team_member_may_claim_an_open_unallocated_case_of_their_team():
    assert claim_refusals(OFFICER, UNALLOCATED) == []


def test_an_officer_outside_the_team_may_not_claim():
    refusals = claim_refusals(SERGEANT, UNALLOCATED)
    assert kinds(refusals) == [RefusalKind.not_permitted]
    assert "team you belong to" in refusals[0].message


def test_a_case_without_a_team_cannot_be_claimed():
    assert kinds(claim_refusals(OFFICER, Holding(True, None, None))) == [
        RefusalKind.not_permitted]


@pytest.mark.parametrize("person", [INSPECTOR, PARTNER, AUDITOR, ADMIN,
                                    Person(12, Role.case_officer, active=False,
                                           team_ids=frozenset({TEAM}))])
def test_only_an_active_case_officer_may_claim(person):
    refusals = claim_refusals(person, UNALLOCATED)
    assert kinds(refusals) == [RefusalKind.not_permitted]
    assert refusals[0].message == "Only a case officer can claim a case."


def test_a_held_case_cannot_be_claimed():
    refusals = claim_refusals(OFFICER, HELD)
    assert kinds(refusals) == [RefusalKind.not_now]
    assert "already holds this case" in refusals[0].message


def test_claiming_your_own_case_again_says_it_is_yours():
    refusals = claim_refusals(OTHER_OFFICER, HELD)
    assert [r.message for r in refusals] == ["This case is already yours."]


def test_a_closed_case_cannot_be_claimed():
    closed_unallocated = Holding(is_open=False, team_id=TEAM, holder_id=None)
    assert kinds(claim_refusals(OFFICER, closed_unallocated)) == [RefusalKind.not_now]


# --- Assigning and reassigning -------------------------------------------------------------------

def test_action_is_assign_for_an_unallocated_case_and_reassign_for_a_held_one():
    assert action_for(UNALLOCATED) == "assign"
    assert action_for(HELD) == "reassign"


def test_a_supervisor_may_assign_an_unallocated_case_without_a_reason():
    assert assignment_refusals(SERGEANT, UNALLOCATED, OFFICER, "", POLICY) == []


def test_a_supervisor_may_reassign_with_a_reason():
    assert assignment_refusals(INSPECTOR, HELD, OFFICER, "Workload", POLICY) == []


@pytest.mark.parametrize("person", [OFFICER, PARTNER, AUDITOR, ADMIN])
def test_only_a_supervisor_may_assign(person):
    refusals = assignment_refusals(person, UNALLOCATED, OFFICER, "Because", POLICY)
    assert kinds(refusals) == [RefusalKind.not_permitted]
    assert "at least Sergeant rank" in refusals[0].message


def test_reassigning_needs_a_reason():
    refusals = assignment_refusals(SERGEANT, HELD, OFFICER, "   ", POLICY)
    assert fields(refusals) == {"reason": "Enter the reason"}


def test_a_reason_longer_than_can_be_kept_is_refused():
    refusals = assignment_refusals(SERGEANT, HELD, OFFICER, "x" * 1001, POLICY)
    assert fields(refusals) == {"reason": "The reason must be 1,000 characters or fewer"}


def test_a_closed_case_cannot_be_reassigned():
    refusals = assignment_refusals(SERGEANT, CLOSED, OFFICER, "Workload", POLICY)
    assert kinds(refusals) == [RefusalKind.not_now]
    assert refusals[0].message == ("This case is closed, so it cannot be assigned or "
                                   "reassigned.")


def test_reassigning_to_the_current_holder_is_refused():
    refusals = assignment_refusals(SERGEANT, HELD, OTHER_OFFICER, "Workload", POLICY)
    assert fields(refusals) == {
        "to_user_id": "That officer already holds this case: select someone else"}


@pytest.mark.parametrize("person", [INSPECTOR, PARTNER, AUDITOR, ADMIN, GONE, None])
def test_a_case_can_only_be_handed_to_an_active_case_officer(person):
    refusals = assignment_refusals(SERGEANT, HELD, person, "Workload", POLICY)
    assert kinds(refusals) == [RefusalKind.invalid]
    assert refusals[0].field == "to_user_id"


def test_every_problem_with_the_form_is_reported_at_once():
    refusals = assignment_refusals(SERGEANT, HELD, PARTNER, "", POLICY)
    assert set(fields(refusals)) == {"to_user_id", "reason"}


# --- Moving everything one officer holds ---------------------------------------------------------

def test_a_supervisor_may_move_an_officers_open_cases_to_another_with_a_reason():
    assert bulk_reassignment_refusals(SERGEANT, OTHER_OFFICER, OFFICER, "Leave", 3, POLICY) == []


def test_an_inactive_officers_cases_may_be_moved():
    # Someone who has left is exactly whose cases need moving.
    assert bulk_reassignment_refusals(SERGEANT, GONE, OFFICER, "Left the force", 2, POLICY) == []


def test_moving_cases_is_for_supervisors_only():
    refusals = bulk_reassignment_refusals(OFFICER, OTHER_OFFICER, OFFICER, "Leave", 3, POLICY)
    assert kinds(refusals) == [RefusalKind.not_permitted]


def test_moving_cases_needs_a_reason_and_someone_holding_cases():
    refusals = bulk_reassignment_refusals(SERGEANT, OTHER_OFFICER, OFFICER, "", 0, POLICY)
    assert fields(refusals) == {"from_user_id": "That officer holds no open cases",
                                "reason": "Enter the reason"}


def test_cases_cannot_be_moved_to_the_same_officer():
    refusals = bulk_reassignment_refusals(SERGEANT, OFFICER, OFFICER, "Leave", 3, POLICY)
    assert fields(refusals) == {"to_user_id": "Select a different officer to take the cases"}


@pytest.mark.parametrize("person", [INSPECTOR, PARTNER, AUDITOR, ADMIN, GONE])
def test_cases_can_only_move_to_an_active_case_officer(person):
    refusals = bulk_reassignment_refusals(SERGEANT, OTHER_OFFICER, person, "Leave", 3, POLICY)
    assert [r.field for r in refusals] == ["to_user_id"]


def test_cases_can_only_move_from_a_case_officer():
    refusals = bulk_reassignment_refusals(SERGEANT, PARTNER, OFFICER, "Leave", 0, POLICY)
    assert fields(refusals) == {"from_user_id": "Select the officer whose cases are to move"}


# --- Cover ---------------------------------------------------------------------------------------

def cover(**changes) -> CoverRequest:
    values = {"absent": OTHER_OFFICER, "cover": OFFICER, "starts_on": TODAY,
              "ends_on": date(2026, 3, 20), "reason": "Annual leave"}
    return CoverRequest(**{**values, **changes})


def test_a_supervisor_may_arrange_cover_from_today():
    assert cover_refusals(SERGEANT, cover(), today=TODAY, overlapping=False, policy=POLICY) == []


def test_cover_that_began_earlier_may_be_recorded_while_it_lasts():
    request = cover(starts_on=date(2026, 3, 1))
    assert cover_refusals(SERGEANT, request, today=TODAY, overlapping=False,
                          policy=POLICY) == []


def test_only_a_supervisor_may_arrange_cover():
    refusals = cover_refusals(OFFICER, cover(), today=TODAY, overlapping=False, policy=POLICY)
    assert kinds(refusals) == [RefusalKind.not_permitted]


def test_cover_cannot_end_before_it_starts():
    request = cover(starts_on=date(2026, 3, 15), ends_on=date(2026, 3, 12))
    refusals = cover_refusals(SERGEANT, request, today=TODAY, overlapping=False, policy=POLICY)
    assert fields(refusals) == {
        "ends_on": "The last day of cover must be the same as or after the first day"}


def test_cover_cannot_end_in_the_past():
    request = cover(starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 9))
    refusals = cover_refusals(SERGEANT, request, today=TODAY, overlapping=False, policy=POLICY)
    assert fields(refusals) == {"ends_on": "The last day of cover must be today or later"}


def test_cover_needs_both_dates_and_a_reason():
    request = cover(starts_on=None, ends_on=None, reason="")
    refusals = cover_refusals(SERGEANT, request, today=TODAY, overlapping=False, policy=POLICY)
    assert set(fields(refusals)) == {"starts_on", "ends_on", "reason"}


def test_an_officer_cannot_cover_for_themselves():
    refusals = cover_refusals(SERGEANT, cover(cover=OTHER_OFFICER), today=TODAY,
                              overlapping=False, policy=POLICY)
    assert fields(refusals) == {
        "cover_user_id": "An officer cannot cover for themselves: select someone else"}


@pytest.mark.parametrize("person", [INSPECTOR, PARTNER, AUDITOR, ADMIN, GONE])
def test_only_an_active_case_officer_may_cover(person):
    refusals = cover_refusals(SERGEANT, cover(cover=person), today=TODAY, overlapping=False,
                              policy=POLICY)
    assert [r.field for r in refusals] == ["cover_user_id"]


def test_only_a_case_officers_absence_is_covered():
    refusals = cover_refusals(SERGEANT, cover(absent=PARTNER), today=TODAY, overlapping=False,
                              policy=POLICY)
    assert fields(refusals) == {"absent_user_id": "Select the absent case officer"}


def test_the_same_cover_twice_over_the_same_days_is_refused():
    refusals = cover_refusals(SERGEANT, cover(), today=TODAY, overlapping=True, policy=POLICY)
    assert fields(refusals) == {
        "cover_user_id": "That officer already covers this absence on some of these days"}


def test_a_cover_reason_is_at_most_500_characters():
    refusals = cover_refusals(SERGEANT, cover(reason="x" * 501), today=TODAY, overlapping=False,
                              policy=POLICY)
    assert fields(refusals) == {"reason": "The reason must be 500 characters or fewer"}


@pytest.mark.parametrize(("day", "ended", "expected"), [
    (date(2026, 3, 9), False, False),   # before the first day
    (date(2026, 3, 10), False, True),   # the first day
    (date(2026, 3, 20), False, True),   # the last day
    (date(2026, 3, 21), False, False),  # after the last day
    (date(2026, 3, 15), True, False),   # ended early
])
def test_cover_is_in_force_from_its_first_to_its_last_day_unless_ended(day, ended, expected):
    assert cover_in_force(date(2026, 3, 10), date(2026, 3, 20), ended, day) is expected


def test_a_supervisor_may_end_a_current_or_future_cover_early():
    assert end_cover_refusals(SERGEANT, ended=False, ends_on=TODAY, today=TODAY,
                              policy=POLICY) == []


@pytest.mark.parametrize(("ended", "ends_on"), [(True, date(2026, 3, 20)),
                                                (False, date(2026, 3, 9))])
def test_a_cover_that_has_ended_cannot_be_ended_again(ended, ends_on):
    refusals = end_cover_refusals(SERGEANT, ended=ended, ends_on=ends_on, today=TODAY,
                                  policy=POLICY)
    assert [r.message for r in refusals] == ["This cover has already ended."]


def test_only_a_supervisor_may_end_cover():
    refusals = end_cover_refusals(OFFICER, ended=False, ends_on=TODAY, today=TODAY,
                                  policy=POLICY)
    assert kinds(refusals) == [RefusalKind.not_permitted]


def test_cover_days_are_the_forces_local_days():
    # 23:30 UTC on 9 July is 00:30 on 10 July in London (summer time).
    assert local_day(datetime(2026, 7, 9, 23, 30, tzinfo=UTC), "Europe/London") == date(
        2026, 7, 10)


# --- Postcode districts --------------------------------------------------------------------------

@pytest.mark.parametrize(("postcode", "district"), [
    ("NS1 4AB", "NS1"), ("ns1 4ab", "NS1"), ("NS14AB", "NS1"), (" ns1   4ab ", "NS1"),
    ("NX14 2CD", "NX14"), ("W1A 1AA", "W1A"), ("EC1A 1BB", "EC1A"), ("NS1", "NS1"),
    ("", None), (None, None), ("not a postcode", None), ("12345", None), ("NS1 4A", None),
])
def test_the_outward_district_of_a_postcode(postcode, district):
    assert outward_district(postcode) == district


def test_districts_typed_by_an_administrator_are_normalised_and_checked():
    good, bad = parse_districts("ns1, NS2  nx14;ns1 99 W1A")
    assert good == ["NS1", "NS2", "NX14", "W1A"]
    assert bad == ["99"]
