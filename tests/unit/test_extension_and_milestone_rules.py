"""Target-date extensions (DOMAIN.md §9.3 #24), late closures (#23) and the milestones the
clocks and the breach forecast read, as the workflow enforces them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.test_disclosure_workflow import (
    DECIDER,
    NOW,
    OFFICER,
    PENDING_EXTENSION,
    SUPERVISOR,
    VALID,
    case_in,
    send,
)
from workflows import DecisionMakerNotEligible, StepDataInvalid
from workflows.errors import PreconditionUnmet
from workflows.roles import Actor, Rank, Role
from workflows.status import Route, Status

pytestmark = pytest.mark.engine_independent

S = Status
CONSTABLE_SUPERVISOR = Actor(10, Role.case_officer, "PC Colleague", rank=Rank.constable)
SERGEANT_REQUESTER = Actor(11, Role.case_officer, "DS Asker", rank=Rank.sergeant)


def request(**data: str) -> dict[str, str]:
    return {**VALID["request_extension"], **data}


def test_an_extension_request_is_recorded_and_the_target_stays_until_authorised():
    case = case_in(S.full_risk_assessment)
    before = case.decision_due_at
    send(case, "request_extension")
    assert case.extension_request == {"clock": "overall", "new_date": "2026-06-20",
                                      "reason_code": "partner_information_awaited"}
    assert case.extension_requested_by_id == OFFICER.id
    assert case.decision_due_at == before
    assert case.status is S.full_risk_assessment


def test_authorising_moves_the_target_to_the_end_of_the_new_day_in_local_time():
    case = case_in(S.full_risk_assessment, **PENDING_EXTENSION)
    send(case, "extend_deadline", actor=SUPERVISOR)
    # 20 June 2026 is in British Summer Time: the day ends at 23:00 UTC.
    assert case.decision_due_at == datetime(2026, 6, 20, 23, 0, tzinfo=UTC)
    assert case.extension_request is None and case.extension_requested_by_id is None


def test_refusing_clears_the_request_and_keeps_the_target():
    case = case_in(S.awaiting_decision, **PENDING_EXTENSION)
    before = case.decision_due_at
    send(case, "refuse_extension", actor=SUPERVISOR)
    assert case.decision_due_at == before and case.extension_request is None


@pytest.mark.parametrize(("new_date", "message"), [
    ("2026-06-11", "after the current target (11 June 2026)"),  # the current target itself
    ("2026-06-05", "after the current target (11 June 2026)"),  # earlier than it
    ("2026-06-01", "must be in the future"),  # today
    ("2026-05-30", "must be in the future"),  # the past
])
def test_the_new_date_must_be_later_than_the_current_target_and_in_the_future(new_date, message):
    case = case_in(S.full_risk_assessment)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "request_extension", data=request(new_date=new_date))
    assert message in refused.value.errors["new_date"]
    assert case.extension_request is None


def test_the_new_date_may_not_go_beyond_the_configured_maximum():
    case = case_in(S.full_risk_assessment)
    send(case, "request_extension", data=request(new_date="2026-07-11"), extension_max_days=30)
    case = case_in(S.full_risk_assessment)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "request_extension", data=request(new_date="2026-07-12"),
             extension_max_days=30)
    assert "at most 30 days" in refused.value.errors["new_date"]
    assert "11 July 2026" in refused.value.errors["new_date"]


@pytest.mark.parametrize(("status", "clock"), [
    (S.awaiting_decision, "assessment"),  # the assessment is complete
    (S.full_risk_assessment, "interview"),  # the interview has happened
])
def test_a_target_that_has_stopped_cannot_be_extended(status, clock):
    case = case_in(status)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "request_extension", data=request(clock=clock))
    assert "not running" in refused.value.errors["clock"]


def test_the_interview_target_does_not_exist_on_a_right_to_know_case():
    case = case_in(S.full_risk_assessment, Route.right_to_know, interview_due_at=None)
    with pytest.raises(StepDataInvalid):
        send(case, "request_extension", data=request(clock="interview"))


def test_the_initial_checks_cannot_be_extended():
    case = case_in(S.initial_checks)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "request_extension", data=request(clock="initial_checks"))
    assert "clock" in refused.value.errors


def test_a_second_request_waits_for_the_first_to_be_answered():
    case = case_in(S.full_risk_assessment, **PENDING_EXTENSION)
    with pytest.raises(PreconditionUnmet):
        send(case, "request_extension")


@pytest.mark.parametrize("event", ["extend_deadline", "refuse_extension"])
def test_there_must_be_a_request_to_answer(event):
    case = case_in(S.full_risk_assessment)
    with pytest.raises(PreconditionUnmet):
        send(case, event, actor=SUPERVISOR)


@pytest.mark.parametrize("event", ["extend_deadline", "refuse_extension"])
def test_the_answer_needs_the_configured_rank(event):
    case = case_in(S.full_risk_assessment, **PENDING_EXTENSION)
    with pytest.raises(DecisionMakerNotEligible) as refused:
        send(case, event, actor=CONSTABLE_SUPERVISOR)
    assert "at least Sergeant" in str(refused.value)
    with pytest.raises(DecisionMakerNotEligible):
        send(case, event, actor=SUPERVISOR, min_extension_rank=Rank.inspector)
    send(case, event, actor=DECIDER, min_extension_rank=Rank.inspector)
    assert case.extension_request is None


@pytest.mark.parametrize("event", ["extend_deadline", "refuse_extension"])
def test_the_requester_cannot_answer_their_own_request_whatever_their_rank(event):
    case = case_in(S.full_risk_assessment)
    send(case, "request_extension", actor=SERGEANT_REQUESTER)
    with pytest.raises(DecisionMakerNotEligible) as refused:
        send(case, event, actor=SERGEANT_REQUESTER)
    assert "You asked for this extension" in str(refused.value)
    assert case.extension_request is not None


def test_authorising_needs_the_circumstances_confirmed_as_exceptional():
    case = case_in(S.full_risk_assessment, **PENDING_EXTENSION)
    with pytest.raises(StepDataInvalid):
        send(case, "extend_deadline", actor=SUPERVISOR, data={"exceptional_confirmed": "no"})
    assert case.extension_request is not None


# --- Late closure (DOMAIN.md §9.3 #23) ------------------------------------------------------

LATE = datetime(2026, 5, 30, 23, 0, tzinfo=UTC)  # NOW (1 June) is after this target


def test_closing_after_the_whole_process_target_asks_why():
    case = case_in(S.outcome_communicated, decision_due_at=LATE)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "close_case")
    assert set(refused.value.errors) == {"breach_reason_code", "breach_explanation"}
    assert case.status is S.outcome_communicated


def test_a_late_closure_with_its_reason_records_the_reason_code():
    case = case_in(S.outcome_communicated, decision_due_at=LATE)
    send(case, "close_case", data={**VALID["close_case"], "breach_reason_code": "partner_delay",
                                   "breach_explanation": "Probation replied after six weeks."})
    assert case.status is S.closed and case.overall_breach_reason == "partner_delay"


def test_closing_in_time_needs_no_reason():
    case = case_in(S.outcome_communicated, decision_due_at=NOW.replace(day=20))
    send(case, "close_case")
    assert case.status is S.closed and case.overall_breach_reason is None


def test_an_unknown_breach_reason_code_is_refused():
    case = case_in(S.outcome_communicated, decision_due_at=LATE)
    with pytest.raises(StepDataInvalid):
        send(case, "close_case", data={**VALID["close_case"], "breach_reason_code": "bored",
                                       "breach_explanation": "x"})


# --- Milestones --------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["accept_for_interview", "reject_out_of_scope", "transfer"])
def test_leaving_the_initial_checks_records_when_they_were_done(event):
    case = case_in(S.initial_checks)
    send(case, event)
    assert case.checks_done_at == NOW


def test_the_interview_and_the_assessment_record_when_they_happened():
    case = case_in(S.awaiting_interview)
    send(case, "record_interview")
    assert case.interview_done_at == NOW
    case = case_in(S.full_risk_assessment)
    send(case, "complete_assessment")
    assert case.assessment_done_at == NOW


def test_a_milestone_keeps_its_first_time_when_the_case_comes_back():
    earlier = datetime(2026, 5, 25, 9, 0, tzinfo=UTC)
    case = case_in(S.decision_pending_approval, assessment_done_at=earlier)
    send(case, "return_decision")
    assert case.status is S.awaiting_decision and case.assessment_done_at == earlier
