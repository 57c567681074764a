"""One sent step form, one call (disclosure_app.cases.step_requests.send): each answer the staff
step page maps to a response, produced for a real case, and what each leaves stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from disclosure_app.cases import step_requests, workflow
from disclosure_app.cases.step_requests import (
    FieldErrors,
    ReasonsChecked,
    Refused,
    Replayed,
    Saved,
    SentStep,
    Stale,
    StepUpNeeded,
)
from disclosure_app.core.idempotency import new_key
from disclosure_app.models import Case, CaseStep
from disclosure_app.operations import demo
from tests.factories import DISCLOSE, make_case, resolve
from workflows.status import Status

GENERIC = "The statutory power to share information applies here and is used carefully."


def _case(app: Any, staff: dict[str, Any], status: Status) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def _sent(event: str, data: dict[str, Any], version: int, **changes: Any) -> SentStep:
    values: dict[str, Any] = {
        "event": event, "expected_version": version, "data": resolve(data, datetime.now(UTC)),
        "rationale": f"Sent through the form: {event}.", "submission_key": new_key(),
        "form_valid": True, **changes}
    return SentStep(**values)


def _never_asked() -> bool:
    raise AssertionError("a step-up was asked for where none is needed")


def _send(app: Any, session: Any, user: Any, case_id: int, sent: SentStep,
          confirm_step_up: Any = _never_asked) -> step_requests.StepOutcome:
    case = workflow.load_case_in_scope(session, user, case_id)
    return step_requests.send(session, user, case, sent, confirm_step_up=confirm_step_up,
                              policy=app.extensions["case_policy"], now=datetime.now(UTC))


def _stored(session: Any, case_id: int) -> tuple[Status, int, int]:
    session.expire_all()
    case = session.get(Case, case_id)
    steps = session.scalar(select(func.count()).select_from(CaseStep)
                           .where(CaseStep.case_id == case_id))
    return case.status, case.version, steps


@pytest.fixture
def officer(staff: dict[str, Any]) -> Any:
    return staff["case_officer"]


@pytest.fixture
def decider(staff: dict[str, Any]) -> Any:
    return staff["decision_maker"]


def test_a_valid_form_is_saved_and_moves_the_case_without_asking_for_a_step_up(
        app, session, staff, officer):
    case = _case(app, staff, Status.received)
    outcome = _send(app, session, officer, case.id, _sent("start_checks", {}, case.version))
    assert isinstance(outcome, Saved)
    assert outcome.record.event == "start_checks"
    assert _stored(session, case.id)[0] is Status.initial_checks


def test_the_same_form_sent_again_is_replayed_and_saves_nothing_a_second_time(
        app, session, staff, officer):
    case = _case(app, staff, Status.received)
    sent = _sent("start_checks", {}, case.version)
    assert isinstance(_send(app, session, officer, case.id, sent), Saved)
    after_first = _stored(session, case.id)
    # The form no longer fits the case (its version is old): the repeat is still answered.
    assert isinstance(_send(app, session, officer, case.id, sent), Replayed)
    assert _stored(session, case.id) == after_first


def test_a_decision_without_a_fresh_step_up_needs_one_and_saves_nothing(
        app, session, staff, decider):
    case = _case(app, staff, Status.awaiting_decision)
    before = _stored(session, case.id)
    asked = []
    sent = _sent("approve_disclosure_to_applicant", DISCLOSE, case.version)
    outcome = _send(app, session, decider, case.id, sent,
                    confirm_step_up=lambda: asked.append(1) or False)
    assert isinstance(outcome, StepUpNeeded)
    assert asked == [1]
    assert _stored(session, case.id) == before
    # With the code confirmed, the same form is saved.
    outcome = _send(app, session, decider, case.id, sent, confirm_step_up=lambda: True)
    assert isinstance(outcome, Saved)
    assert _stored(session, case.id)[0] is Status.decision_pending_approval


def test_check_my_reasons_returns_the_findings_and_saves_nothing(app, session, staff, decider):
    case = _case(app, staff, Status.awaiting_decision)
    before = _stored(session, case.id)
    sent = _sent("approve_disclosure_to_applicant", {**DISCLOSE, "necessity": GENERIC},
                 case.version, check_reasons=True)
    outcome = _send(app, session, decider, case.id, sent)  # no step-up asked: nothing saved
    assert isinstance(outcome, ReasonsChecked)
    assert outcome.findings is not None
    assert any("Necessity" in f.text and f.open for f in outcome.findings.findings)
    assert _stored(session, case.id) == before


def test_check_my_reasons_on_fields_not_yet_valid_has_no_findings(app, session, staff, decider):
    case = _case(app, staff, Status.awaiting_decision)
    sent = _sent("approve_disclosure_to_applicant", {}, case.version, check_reasons=True,
                 form_valid=False)
    outcome = _send(app, session, decider, case.id, sent)
    assert outcome == ReasonsChecked(findings=None)


def test_a_form_that_failed_its_own_checks_is_field_errors_and_saves_nothing(
        app, session, staff, officer):
    case = _case(app, staff, Status.received)
    before = _stored(session, case.id)
    outcome = _send(app, session, officer, case.id,
                    _sent("start_checks", {}, case.version, form_valid=False))
    assert isinstance(outcome, FieldErrors)
    assert (outcome.case.id, outcome.errors, outcome.findings) == (case.id, {}, None)
    assert _stored(session, case.id) == before


def test_a_one_time_key_that_cannot_be_ours_is_field_errors_and_saves_nothing(
        app, session, staff, officer):
    case = _case(app, staff, Status.received)
    before = _stored(session, case.id)
    outcome = _send(app, session, officer, case.id,
                    _sent("start_checks", {}, case.version, submission_key="not-a-key"))
    assert isinstance(outcome, FieldErrors) and outcome.errors == {}
    assert _stored(session, case.id) == before


def test_a_field_the_workflow_refuses_is_field_errors_naming_that_field(
        app, session, staff, officer):
    case = _case(app, staff, Status.initial_checks)
    before = _stored(session, case.id)
    data = {k: v for k, v in demo.ACCEPT.items() if k != "immediate_risk"}
    outcome = _send(app, session, officer, case.id,
                    _sent("accept_for_interview", data, case.version))
    assert isinstance(outcome, FieldErrors)
    assert "immediate_risk" in outcome.errors
    assert outcome.findings is None  # not a decision
    assert _stored(session, case.id) == before


def test_a_decision_with_unresolved_findings_is_field_errors_with_the_findings(
        app, session, staff, decider):
    case = _case(app, staff, Status.awaiting_decision)
    before = _stored(session, case.id)
    sent = _sent("approve_disclosure_to_applicant", {**DISCLOSE, "necessity": GENERIC},
                 case.version)
    outcome = _send(app, session, decider, case.id, sent, confirm_step_up=lambda: True)
    assert isinstance(outcome, FieldErrors)
    assert "necessity" in outcome.errors
    assert outcome.findings is not None
    assert any(f.open for f in outcome.findings.findings)
    assert _stored(session, case.id) == before


def test_a_missing_rationale_is_a_field_error_on_the_rationale(app, session, staff, officer):
    case = _case(app, staff, Status.initial_checks)
    before = _stored(session, case.id)
    outcome = _send(app, session, officer, case.id,
                    _sent("accept_for_interview", demo.ACCEPT, case.version, rationale=""))
    assert isinstance(outcome, FieldErrors)
    assert list(outcome.errors) == ["rationale"]
    assert _stored(session, case.id) == before


def test_a_step_whose_precondition_is_unmet_is_refused_saying_what_is_missing(
        app, session, staff, officer):
    case = _case(app, staff, Status.disclosure_approved)
    before = _stored(session, case.id)
    sent = _sent("record_disclosure_delivered", {**demo.DELIVERED, "meeting_date": "D-0"},
                 case.version)
    outcome = _send(app, session, officer, case.id, sent)
    assert isinstance(outcome, Refused)
    assert "signed confidentiality undertaking" in outcome.message
    assert outcome.case.id == case.id
    assert _stored(session, case.id) == before


def test_a_form_opened_before_someone_else_changed_the_case_is_stale(
        app, session, staff, officer):
    case = _case(app, staff, Status.received)
    assert isinstance(_send(app, session, officer, case.id,
                            _sent("start_checks", {}, case.version)), Saved)
    after_first = _stored(session, case.id)
    # Another form, opened before that step was taken.
    outcome = _send(app, session, officer, case.id, _sent(
        "raise_urgent_safeguarding",
        {"risk_identified": "The subject is living with the child tonight.",
         "action_taken": "csc_referral", "referral_reference": "CSC-1001",
         "who_was_informed": "Duty social worker"}, case.version))
    assert isinstance(outcome, Stale)
    assert outcome.case.version == after_first[1]  # the page offers the case as it is now
    assert outcome.message
    assert _stored(session, case.id) == after_first
