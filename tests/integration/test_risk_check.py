"""The risk check through the web: finding the subject among namesakes, the identity gate (two
identifiers and a second person before any disclosure), the checks checklist, the risk check
view (a logged consultation), linked cases and the urgent prompt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseStep
from disclosure_app.operations import demo
from disclosure_app.risk import risk_check
from tests.factories import (
    SUBJECT_PERSON_ID,
    application_input,
    ensure_test_register,
    make_case,
    resolve,
)
from tests.integration.test_staff_steps import form_payload
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

FULL = Status.full_risk_assessment


def case_at(app, staff, status: Status = FULL) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        ensure_test_register(get_session())
    return case


def audit_actions(app, case_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEntry).where(AuditEntry.case_id == case_id)
                                     .order_by(AuditEntry.seq)).all()
        return [(r.action, r.category) for r in rows]


def fresh(app, case_id: int) -> Case:
    with app.app_context():
        case = get_session().get(Case, case_id)
        get_session().expunge(case)
        return case


def propose(client, case_id: int, **overrides: Any) -> Any:
    data = {"person_id": SUBJECT_PERSON_ID,
            "identifiers": ["date_of_birth", "address_history"],
            "note": "Same name, date of birth and current address.",
            "submission_key": new_key(), **overrides}
    return client.post(f"/staff/cases/{case_id}/identity/propose", data=data)


def review(app, client, case_id: int, decision: str = "confirm") -> Any:
    with app.app_context():
        pending = risk_check.pending_proposal(get_session(), case_id)
    return client.post(f"/staff/cases/{case_id}/identity/review", data={
        "decision_id": str(pending.id), "decision": decision, "submission_key": new_key(),
        "review_note": "Compared the record with the interview notes myself."})


def record_all_checks(client, case_id: int) -> None:
    for code in ("pnc", "pnd", "visor", "local_intelligence", "childrens_social_care",
                 "probation_mappa"):
        response = client.post(f"/staff/cases/{case_id}/checks/{code}", data={
            "outcome": "done", "checked_on": ["1", "3", "2026"], "submission_key": new_key(),
            "result_summary": "Nothing further held.", "reference": f"REF-{code}"})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    response = client.post(f"/staff/cases/{case_id}/checks/previous_forces", data={
        "outcome": "not_applicable", "submission_key": new_key(),
        "reason": "The subject has always lived in this force area."})
    assert response.status_code == 303


# --- Finding the subject among namesakes -------------------------------------------------------


def test_the_identity_page_shows_the_subject_beside_namesakes_and_near_misses(app, staff,
                                                                               clients):
    case = case_at(app, staff)
    page = clients["case_officer"].get(f"/staff/cases/{case.id}/identity")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = {pid: html.index(f'data-person="{pid}"') for pid in
            ("TEST-000001", "TEST-000002", "TEST-000003", "TEST-000004")}
    assert rows["TEST-000001"] < rows["TEST-000002"] < rows["TEST-000003"] < rows["TEST-000004"]
    assert 'data-person="TEST-000001" data-classification="probable_match"' in html
    # Same name, same date of birth, another address: a near miss, never a match.
    assert 'data-person="TEST-000002" data-classification="near_miss"' in html
    # A spelling variant (Quatermaine) found through the surname prefix, one date part off.
    assert 'data-person="TEST-000003" data-classification="near_miss"' in html
    assert 'data-person="TEST-000004" data-classification="namesake"' in html
    assert ("register_searched", "consultation") in audit_actions(app, case.id)


# --- The identity gate -------------------------------------------------------------------------


def test_a_match_needs_two_identifiers_and_a_second_person(app, staff, clients):
    case = case_at(app, staff)
    officer = clients["case_officer"]
    one = propose(officer, case.id, identifiers=["date_of_birth"])
    assert one.status_code == 400
    assert "at least two independent identifiers" in one.get_data(as_text=True)
    assert fresh(app, case.id).subject_identity == "unresolved"

    assert propose(officer, case.id).status_code == 303
    assert fresh(app, case.id).subject_identity == "proposed"
    own = review(app, officer, case.id)
    assert own.status_code == 409
    assert "A second person must confirm" in own.get_data(as_text=True)
    assert fresh(app, case.id).subject_identity == "proposed"

    assert review(app, clients["decision_maker_2"], case.id).status_code == 303
    confirmed = fresh(app, case.id)
    assert confirmed.subject_identity == "confirmed"
    assert confirmed.register_child_sexual_offence is True
    actions = [a for a, _ in audit_actions(app, case.id)]
    assert actions[-2:] == ["identity_match_proposed", "identity_confirmed"]


def test_a_near_miss_cannot_be_confirmed_on_an_address_it_does_not_share(app, staff, clients):
    case = case_at(app, staff)
    response = propose(clients["case_officer"], case.id, person_id="TEST-000002")
    assert response.status_code == 400
    assert "Address history does not agree" in response.get_data(as_text=True)
    assert fresh(app, case.id).subject_identity == "unresolved"


def test_a_rejected_match_leaves_the_identity_unresolved(app, staff, clients):
    case = case_at(app, staff)
    propose(clients["case_officer"], case.id)
    assert review(app, clients["decision_maker"], case.id, "reject").status_code == 303
    assert fresh(app, case.id).subject_identity == "unresolved"


def decide_disclosure(app, client, case_id: int) -> Any:
    from tests.integration.test_staff_steps import form_payload

    with app.app_context():
        version = get_session().get(Case, case_id).version
    from disclosure_app.operations import demo

    payload = form_payload("approve_disclosure_to_applicant", resolve(demo.DISCLOSE,
                           datetime.now(UTC)), version, rationale="Necessary and proportionate.")
    return client.post(f"/staff/cases/{case_id}/steps/approve_disclosure_to_applicant",
                       data=payload)


def test_the_identity_gate_blocks_a_disclosure_until_confirmed_by_two_people(app, staff,
                                                                              clients):
    case = case_at(app, staff, Status.awaiting_decision)  # the factory confirmed the subject
    with app.app_context():  # ... now undo it, as a rejected re-check would
        session = get_session()
        row = session.get(Case, case.id)
        row.subject_identity = "unresolved"
        session.commit()
    refused = decide_disclosure(app, clients["decision_maker_2"], case.id)
    assert refused.status_code == 409
    assert "identity is not confirmed" in refused.get_data(as_text=True)
    assert fresh(app, case.id).status is Status.awaiting_decision
    with app.app_context():
        session = get_session()
        session.get(Case, case.id).subject_identity = "confirmed"
        session.commit()
    assert decide_disclosure(app, clients["decision_maker_2"], case.id).status_code == 303
    assert fresh(app, case.id).status is Status.decision_pending_approval
    approval = clients["decision_maker"].post(
        f"/staff/cases/{case.id}/steps/countersign_decision",
        data=form_payload("countersign_decision", demo.COUNTERSIGN, fresh(app, case.id).version))
    assert approval.status_code == 303
    assert fresh(app, case.id).status is Status.disclosure_approved


def test_no_trace_allows_no_disclosure_but_never_a_disclosure(app, staff, clients):
    case = case_at(app, staff)
    officer = clients["case_officer"]
    response = officer.post(f"/staff/cases/{case.id}/identity/no-trace", data={
        "no_trace_note": "Only namesakes with other dates of birth.", "submission_key": new_key()})
    assert response.status_code == 303
    assert fresh(app, case.id).subject_identity == "no_trace"
    # The assessment cannot attribute information to an untraced subject.
    record_all_checks(officer, case.id)
    from disclosure_app.operations import demo
    with app.app_context():
        session = get_session()
        user = staff["case_officer"]
        version = session.get(Case, case.id).version
        with pytest.raises(Exception, match="problem"):
            take_step(session, StepRequest(case.id, "complete_assessment", version, demo.ASSESS,
                                           "Done."), user=user,
                      policy=app.extensions["case_policy"], now=datetime.now(UTC))
        take_step(session, StepRequest(case.id, "complete_assessment", version,
                                       demo.ASSESS_NOTHING, "Done."), user=user,
                  policy=app.extensions["case_policy"], now=datetime.now(UTC))
    assert fresh(app, case.id).status is Status.awaiting_decision
    assert decide_disclosure(app, clients["decision_maker_2"], case.id).status_code == 409


# --- The checks checklist ----------------------------------------------------------------------


def complete_assessment(app, client, case_id: int, data: dict[str, Any]) -> Any:
    from tests.integration.test_staff_steps import form_payload

    version = fresh(app, case_id).version
    return client.post(f"/staff/cases/{case_id}/steps/complete_assessment",
                       data=form_payload("complete_assessment", data, version))


def test_the_assessment_cannot_complete_until_every_check_is_resolved(app, staff, clients):
    from disclosure_app.operations import demo

    case = case_at(app, staff)
    officer = clients["case_officer"]
    officer.post(f"/staff/cases/{case.id}/identity/no-trace", data={
        "no_trace_note": "No record is the subject.", "submission_key": new_key()})
    refused = complete_assessment(app, officer, case.id, demo.ASSESS_NOTHING)
    assert refused.status_code == 400
    assert "Still open: Police National Computer (PNC)" in refused.get_data(as_text=True)
    assert fresh(app, case.id).status is FULL
    record_all_checks(officer, case.id)
    page = officer.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Checks: 7 of 7 resolved" in page
    assert complete_assessment(app, officer, case.id, demo.ASSESS_NOTHING).status_code == 303
    assert fresh(app, case.id).status is Status.awaiting_decision


@pytest.mark.parametrize(("data", "message"), [
    ({"outcome": "done"}, "Enter the date the check was done"),
    ({"outcome": "done", "checked_on": ["1", "1", "2999"], "result_summary": "x",
      "reference": "r"}, "today or in the past"),
    ({"outcome": "not_applicable"}, "Enter why this check does not apply"),
    ({}, "Choose whether the check was done"),
])
def test_a_check_needs_its_details_or_a_reason(app, staff, clients, data, message):
    case = case_at(app, staff)
    response = clients["case_officer"].post(f"/staff/cases/{case.id}/checks/pnc",
                                            data={**data, "submission_key": new_key()})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert not get_session().get(Case, case.id).resolved_check_sources()


def test_an_unknown_check_source_is_a_404(app, staff, clients):
    case = case_at(app, staff)
    assert clients["case_officer"].get(f"/staff/cases/{case.id}/checks/tarot").status_code == 404


# --- The risk check view -----------------------------------------------------------------------


def test_opening_the_risk_check_asks_why_and_logs_a_consultation(app, staff, clients):
    case = case_at(app, staff, Status.awaiting_decision)
    officer = clients["case_officer"]
    chooser = officer.get(f"/staff/cases/{case.id}/risk-check")
    assert chooser.status_code == 200
    assert ("risk_check_viewed", "consultation") not in audit_actions(app, case.id)
    assert officer.get(f"/staff/cases/{case.id}/risk-check?purpose=tea").status_code == 400
    page = officer.get(f"/staff/cases/{case.id}/risk-check?purpose=decision")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-category="child_sexual"' in html
    # 40 months' custody in 2011: indefinite, review from 2011-05-09 + 40 months + 15 years.
    assert "indefinite (review possible from 9 September 2029)" in html
    assert "SHPO from 01 January 2014 (no end date): in force" in html
    assert "Category 1, level 2" in html and "Active" in html and "Test register" in html
    assert "Child sexual offence conviction" in html
    assert audit_actions(app, case.id)[-1] == ("risk_check_viewed", "consultation")
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert '"purpose":"decision"' in entry.payload
    assert clients["auditor"].get(
        f"/staff/cases/{case.id}/risk-check?purpose=audit").status_code == 200


def test_the_risk_check_shows_nothing_from_the_register_before_confirmation(app, staff, clients):
    case = case_at(app, staff)
    html = clients["case_officer"].get(
        f"/staff/cases/{case.id}/risk-check?purpose=risk_assessment").get_data(as_text=True)
    assert "identity is not confirmed" in html
    assert 'data-testid="convictions"' not in html


# --- Linked cases and the urgent prompt --------------------------------------------------------


def test_cases_about_the_same_subject_link_and_a_repeat_after_a_disclosure_is_flagged(
    app, staff, clients
):
    earlier = case_at(app, staff, Status.disclosure_delivered)
    later = case_at(app, staff, FULL)  # the same subject, name and date of birth
    page = clients["case_officer"].get(f"/staff/cases/{later.id}").get_data(as_text=True)
    assert f'data-linked="{earlier.reference}"' in page
    assert "Same subject" in page and "Disclosure delivered" in page
    assert 'data-testid="repeat-application"' in page
    # Shown on the decision step too.
    with app.app_context():
        session = get_session()
        assert session.get(Case, earlier.id).subject_identity == "confirmed"


def test_a_case_can_be_linked_by_hand_with_a_reason(app, staff, clients):
    one = case_at(app, staff)
    with app.app_context():
        from disclosure_app.cases import applications
        from disclosure_app.cases.applications import SubjectDetails

        unrelated = replace(application_input(), subject=SubjectDetails(
            full_name="Unrelated Person", relationship_to_child="Uncle"))
        other = applications.submit_application(
            get_session(), unrelated,
            policy=app.extensions["case_policy"],
            now=datetime.now(UTC)).case
        other_ref, other_id = other.reference, other.id
    officer = clients["case_officer"]
    empty = officer.post(f"/staff/cases/{one.id}/links/new", data={"submission_key": new_key()})
    assert empty.status_code == 400
    linked = officer.post(f"/staff/cases/{one.id}/links/new", data={
        "reference": other_ref.lower(), "reason": "Same household, different subject.",
        "submission_key": new_key()})
    assert linked.status_code == 303
    page = officer.get(f"/staff/cases/{other_id}").get_data(as_text=True)
    assert f'data-linked="{one.reference}"' in page
    assert "Linked by hand: Same household, different subject." in page
    assert ("case_linked", "combination") in audit_actions(app, one.id)
    again = officer.post(f"/staff/cases/{one.id}/links/new", data={
        "reference": other_ref, "reason": "Again.", "submission_key": new_key()})
    assert "already linked" in again.get_data(as_text=True)


def test_partners_never_see_the_risk_check_or_linked_cases(app, staff, clients):
    case = case_at(app, staff, Status.awaiting_decision)
    with app.app_context():
        session = get_session()
        take_step(session, StepRequest(case.id, "invite_partner",
                                       session.get(Case, case.id).version,
                                       {"partner_user_id": str(staff["partner"].id),
                                        "information_requested": "Supervision."}, "Needed."),
                  user=staff["case_officer"], policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
    html = clients["partner"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="identity-summary"' not in html
    assert 'data-testid="checklist"' not in html


def test_confirming_a_child_sex_offender_with_access_to_the_child_prompts_urgent_action(
    app, staff, clients
):
    case = case_at(app, staff)
    officer = clients["case_officer"]
    assert 'data-testid="urgent-prompt"' not in officer.get(
        f"/staff/cases/{case.id}").get_data(as_text=True)
    propose(officer, case.id)
    review(app, clients["decision_maker"], case.id)
    page = officer.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="urgent-prompt"' in page
    with app.app_context():
        session = get_session()
        take_step(session, StepRequest(case.id, "raise_urgent_safeguarding",
                                       session.get(Case, case.id).version, {
                                           "risk_identified": "Lives with the child.",
                                           "action_taken": "strategy_discussion",
                                           "who_was_informed": "Duty inspector"}, "Now."),
                  user=staff["case_officer"], policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
        assert session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    assert 'data-testid="urgent-prompt"' not in officer.get(
        f"/staff/cases/{case.id}").get_data(as_text=True)


def test_the_checklist_follows_the_configured_sources(database):
    from tests.conftest import make_app

    configured = make_app(database, CHECK_SOURCES=[["pnc", "PNC"], ["force_rms", "Our RMS"]])
    policy = configured.extensions["case_policy"]
    assert policy.check_sources == (("pnc", "PNC"), ("force_rms", "Our RMS"))
    configured.extensions["db_engine"].dispose()
    with pytest.raises(ValueError, match="unique codes"):
        make_app(database, CHECK_SOURCES=[["pnc", "PNC"], ["pnc", "Again"]])
