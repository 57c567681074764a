"""Taking workflow steps through the staff step forms: every event, and every way one is refused.

Whatever the page shows, a POST always goes to the workflow machine, which has the last word.
A refused or invalid step stores nothing: no step record, no audit entry, no version bump.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.errors import StepNotAllowed
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseStep
from disclosure_app.operations import demo
from tests.conftest import complete_second_factor, sign_in
from tests.factories import (
    DISCLOSE,
    NO_DISCLOSURE,
    PASSWORD,
    give_reason,
    make_case,
    make_user,
    record_undertaking,
    resolve,
    resolve_risk_check,
)
from workflows.fields import Kind
from workflows.roles import Rank, Role
from workflows.status import Route, Status
from workflows.steps import STEPS, step_for

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

ENTRY_EVENTS = {"submit_application", "open_right_to_know"}
# A page of its own: see tests/integration/test_case_documents.py.
UPLOAD_EVENTS = {"record_undertaking"}
UNDERTAKING = ("record_undertaking", "case_officer", {})
PARTNER = "<partner>"  # replaced by the partner's user id

# event -> (starting state, route, who posts, step data, state afterwards, setup steps)
# setup steps are (event, who, data) taken through the service before the form is posted.
Setup = list[tuple[str, str, dict[str, Any]]]
# Not a workflow step: the risk check done on its own pages (checks, identity) before it is used.
RISK_CHECK_DONE = ("resolve_risk_check", "case_officer", {})
INVITE = ("invite_partner", "case_officer",
          {"partner_user_id": PARTNER, "information_requested": "Current risk assessment."})
DELIVERED = {**demo.DELIVERED, "meeting_date": "D-0"}
EXTENSION = {"clock": "overall", "new_date": "D+80", "reason_code": "partner_information_awaited"}
VALID_STEPS: dict[str, tuple[Status, Route, str, dict[str, Any], Status, Setup]] = {
    "start_checks": (Status.received, Route.right_to_ask, "case_officer", {},
                     Status.initial_checks, []),
    "raise_urgent_safeguarding": (
        Status.initial_checks, Route.right_to_ask, "case_officer",
        {"risk_identified": "The subject is living with the child tonight.",
         "action_taken": "csc_referral", "referral_reference": "CSC-1001",
         "who_was_informed": "Duty social worker"},
        Status.initial_checks, []),
    "reject_out_of_scope": (
        Status.initial_checks, Route.right_to_ask, "case_officer",
        {"reason_code": "employment_vetting", "alternative_action": "Advised to use DBS.",
         "safeguarding_assessment": "none_identified"},
        Status.not_progressed, []),
    "transfer": (Status.initial_checks, Route.right_to_ask, "case_officer",
                 {"receiving_force": "Westshire Police", "date_sent": "D-0"},
                 Status.transferred, []),
    "accept_for_interview": (Status.initial_checks, Route.right_to_ask, "case_officer",
                             demo.ACCEPT, Status.awaiting_interview, []),
    "accept_for_assessment": (Status.initial_checks, Route.right_to_know, "case_officer",
                              demo.ACCEPT, Status.full_risk_assessment, []),
    "record_interview": (Status.awaiting_interview, Route.right_to_ask, "case_officer",
                         {**demo.INTERVIEW, "interview_date": "D-0"}, Status.interviewed, []),
    "verify_applicant": (Status.interviewed, Route.right_to_ask, "case_officer", {},
                         Status.full_risk_assessment, []),
    "close_unverified": (
        Status.interviewed, Route.right_to_ask, "case_officer",
        {"verification_failure": "No identity documents could be produced.",
         "safeguarding_assessment": "none_identified"},
        Status.identity_unverified, []),
    "withdraw": (Status.initial_checks, Route.right_to_ask, "case_officer",
                 {"withdrawal_channel": "phone", "safeguarding_assessment": "none_identified"},
                 Status.withdrawn, []),
    "invite_representations": (
        Status.full_risk_assessment, Route.right_to_ask, "case_officer",
        {"invitation_method": "letter", "deadline": "D+14",
         "safety_assessment": "No risk to the child in asking."},
        Status.representations_pending, []),
    "record_representations": (
        Status.representations_pending, Route.right_to_ask, "case_officer",
        {"representations_received": "yes", "representations_summary": "He denies access."},
        Status.full_risk_assessment, []),
    "complete_assessment": (Status.full_risk_assessment, Route.right_to_ask, "case_officer",
                            demo.ASSESS, Status.awaiting_decision, [RISK_CHECK_DONE]),
    "invite_partner": (Status.awaiting_decision, Route.right_to_ask, "case_officer",
                       INVITE[2], Status.awaiting_decision, []),
    "record_agency_view": (
        Status.awaiting_decision, Route.right_to_ask, "partner",
        {"information_held": "On licence until 2027.", "agency_view": "supports_disclosure"},
        Status.awaiting_decision, [INVITE]),
    "record_decision_meeting": (Status.awaiting_decision, Route.right_to_ask, "case_officer",
                                {**demo.DECISION_MEETING, "meeting_date": "D-0"},
                                Status.awaiting_decision, []),
    "approve_disclosure_to_applicant": (Status.awaiting_decision, Route.right_to_ask,
                                        "decision_maker", DISCLOSE,
                                        Status.decision_pending_approval, []),
    "approve_disclosure_to_other": (Status.awaiting_decision, Route.right_to_ask,
                                    "decision_maker", DISCLOSE,
                                    Status.decision_pending_approval, []),
    "approve_other_information": (Status.awaiting_decision, Route.right_to_ask,
                                  "decision_maker", {**DISCLOSE, "recipient": "other_person"},
                                  Status.decision_pending_approval, []),
    "decide_no_disclosure": (Status.awaiting_decision, Route.right_to_ask, "decision_maker",
                             NO_DISCLOSURE, Status.decision_pending_approval, []),
    "countersign_decision": (Status.decision_pending_approval, Route.right_to_ask,
                             "decision_maker_2", demo.COUNTERSIGN, Status.disclosure_approved,
                             []),
    "return_decision": (Status.decision_pending_approval, Route.right_to_ask,
                        "decision_maker_2", {"what_needs_changing": "Necessity must say why "
                                             "MAPPA management is not enough."},
                        Status.awaiting_decision, []),
    "schedule_disclosure_meeting": (Status.disclosure_approved, Route.right_to_ask,
                                    "case_officer", {**demo.SCHEDULE_MEETING,
                                                     "meeting_date": "D+3"},
                                    Status.disclosure_approved, []),
    "record_disclosure_delivered": (Status.disclosure_approved, Route.right_to_ask,
                                    "case_officer", DELIVERED, Status.disclosure_delivered,
                                    [UNDERTAKING]),
    "record_not_delivered": (
        Status.disclosure_approved, Route.right_to_ask, "case_officer",
        {"reason": "not_contactable", "details": "Three visits, nobody home."},
        Status.disclosure_not_delivered, []),
    "reconsider": (Status.disclosure_not_delivered, Route.right_to_ask, "decision_maker",
                   {"what_changed": "The recipient would not sign the undertaking."},
                   Status.awaiting_decision, []),
    "communicate_outcome": (Status.no_disclosure_decided, Route.right_to_ask, "case_officer",
                            {"method": "phone", "communicated_on": "D-0"},
                            Status.outcome_communicated, []),
    "notify_applicant": (
        Status.awaiting_decision, Route.right_to_ask, "case_officer",
        {"method": "phone", "communicated_on": "D-0"}, Status.outcome_communicated,
        [("approve_disclosure_to_other", "decision_maker", DISCLOSE),
         ("countersign_decision", "decision_maker_2", demo.COUNTERSIGN), UNDERTAKING,
         ("record_disclosure_delivered", "case_officer", DELIVERED)]),
    "close_case": (Status.disclosure_delivered, Route.right_to_ask, "case_officer",
                   {"referrals_complete": "yes", "review_date": "D+2000"}, Status.closed, []),
    # The whole-process target is 45 working days (about 63 calendar days) away: D+80 is later,
    # and within the 30-day maximum.
    "request_extension": (Status.full_risk_assessment, Route.right_to_ask, "case_officer",
                          EXTENSION, Status.full_risk_assessment, []),
    "extend_deadline": (Status.full_risk_assessment, Route.right_to_ask, "decision_maker",
                        {"exceptional_confirmed": "yes"}, Status.full_risk_assessment,
                        [("request_extension", "case_officer", EXTENSION)]),
    "refuse_extension": (Status.full_risk_assessment, Route.right_to_ask, "decision_maker", {},
                         Status.full_risk_assessment,
                         [("request_extension", "case_officer", EXTENSION)]),
}


# --- Helpers ----------------------------------------------------------------------------------


def step_data(data: dict[str, Any], staff: dict[str, Any]) -> dict[str, Any]:
    resolved = resolve(data, datetime.now(UTC))
    return {k: str(staff["partner"].id) if v == PARTNER else v for k, v in resolved.items()}


def form_payload(event: str, data: dict[str, Any], version: int,
                 rationale: str = "Recorded through the form.") -> dict[str, Any]:
    """What a browser posts: dates as day/month/year boxes sharing one name."""
    out: dict[str, Any] = {"expected_version": str(version), "rationale": rationale,
                           "submission_key": new_key()}
    for f in step_for(event).fields:
        if f.name not in data:
            continue
        value = data[f.name]
        if f.kind is Kind.date:
            d = date.fromisoformat(value)
            out[f.name] = [str(d.day), str(d.month), str(d.year)]
        elif f.kind is Kind.attendees:
            for i, row in enumerate(value):
                out |= {f"{f.name}-{i}-{part}": text for part, text in row.items()}
        else:
            out[f.name] = value
    return out


def snapshot(app, case_id: int) -> tuple[Any, ...]:
    """(status, version, step rows, audit entries): what a refused step must leave alone."""
    with app.app_context():
        session = get_session()
        case = session.get(Case, case_id)
        steps = session.scalar(select(func.count()).select_from(CaseStep)
                               .where(CaseStep.case_id == case_id))
        audit = session.scalar(select(func.count()).select_from(AuditEntry))
        return case.status, case.version, steps, audit


def version_of(app, case_id: int) -> int:
    with app.app_context():
        return get_session().get(Case, case_id).version


def run_setup(app, case_id: int, setup: Setup, staff: dict[str, Any]) -> None:
    with app.app_context():
        session = get_session()
        for event, who, data in setup:
            if event == RISK_CHECK_DONE[0]:  # every check, and the identity confirmed
                resolve_risk_check(app, session, session.get(Case, case_id), staff[who],
                                   staff["decision_maker"], datetime.now(UTC))
                continue
            version = session.get(Case, case_id).version
            if event == "record_undertaking":
                record_undertaking(session, case_id, staff[who],
                                   policy=app.extensions["case_policy"], now=datetime.now(UTC))
                continue
            take_step(session, StepRequest(case_id, event, version, step_data(data, staff),
                                           f"Setup: {event}."),
                      user=staff[who], policy=app.extensions["case_policy"],
                      now=datetime.now(UTC))


def case_in(app, staff, status: Status, route: Route = Route.right_to_ask) -> Case:
    case, _ = make_case(app, status, route=route, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def url(case_id: int, event: str) -> str:
    return f"/staff/cases/{case_id}/steps/{event}"


# --- Every event -----------------------------------------------------------------------------


def test_every_staff_event_has_a_valid_step_test():
    assert set(VALID_STEPS) == set(STEPS) - ENTRY_EVENTS - UPLOAD_EVENTS


def test_the_undertaking_step_sends_the_officer_to_the_upload_page(app, staff, clients):
    case = case_in(app, staff, Status.disclosure_approved)
    before = snapshot(app, case.id)
    response = clients["case_officer"].get(url(case.id, "record_undertaking"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/documents/cases/{case.id}/signed-undertaking")
    posted = clients["case_officer"].post(url(case.id, "record_undertaking"),
                                          data=form_payload("record_undertaking", {
                                              "signed_on": "2026-01-01"}, case.version))
    assert posted.status_code == 303
    assert snapshot(app, case.id) == before


def test_the_undertaking_cannot_be_recorded_without_its_signed_copy(app, staff):
    case = case_in(app, staff, Status.disclosure_approved)
    before = snapshot(app, case.id)
    with app.app_context(), pytest.raises(StepNotAllowed, match="uploading the signed copy"):
        take_step(get_session(), StepRequest(case.id, "record_undertaking", case.version, {
            "signed_on": date.today().isoformat(), "signed_by": "Laura Bennett",
            "document_sha256": "ab" * 32, "document_name": "x.pdf"}, "No file."),
            user=staff["case_officer"], policy=app.extensions["case_policy"],
            now=datetime.now(UTC))
    assert snapshot(app, case.id) == before


@pytest.mark.parametrize("event", sorted(VALID_STEPS))
def test_posting_a_valid_step_moves_the_case_and_records_it(app, staff, clients, event):
    start, route, who, data, expected, setup = VALID_STEPS[event]
    case = case_in(app, staff, start, route)
    run_setup(app, case.id, setup, staff)
    _, version, steps_before, audit_before = snapshot(app, case.id)
    payload = form_payload(event, step_data(data, staff), version,
                           rationale=f"Because the {event} step is right here.")

    assert clients[who].get(url(case.id, event)).status_code == 200
    response = clients[who].post(url(case.id, event), data=payload)

    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"].endswith(f"/staff/cases/{case.id}")
    status, new_version, steps_after, audit_after = snapshot(app, case.id)
    assert status is expected
    assert new_version == version + 1
    assert steps_after == steps_before + 1
    assert audit_after == audit_before + 1
    with app.app_context():
        session = get_session()
        row = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)
                              .order_by(CaseStep.id.desc())).first()
        assert row.event == event
        assert row.rationale == f"Because the {event} step is right here."
        assert row.actor_id == staff[who].id
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert (entry.action, entry.case_id, entry.to_status) == (event, case.id, expected.value)
    page = clients[who].get(response.headers["Location"])
    assert str(escape(f"{step_for(event).title}: saved")) in page.get_data(as_text=True)


def test_dates_posted_as_day_month_year_are_stored_as_iso_dates(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    payload = form_payload("transfer", {"receiving_force": "Westshire Police",
                                        "date_sent": "2026-01-05"}, case.version)
    payload["date_sent"] = ["5", "1", "2026"]
    assert clients["case_officer"].post(url(case.id, "transfer"), data=payload).status_code == 303
    with app.app_context():
        row = get_session().scalars(select(CaseStep).where(CaseStep.event == "transfer")).one()
        assert row.data["date_sent"] == "2026-01-05"


def test_extra_posted_keys_are_never_stored(app, staff, clients):
    case = case_in(app, staff, Status.received)
    payload = form_payload("start_checks", {}, case.version)
    payload.update({"status": "closed", "assigned_officer_id": "999", "is_admin": "1"})
    assert clients["case_officer"].post(url(case.id, "start_checks"),
                                        data=payload).status_code == 303
    with app.app_context():
        session = get_session()
        row = session.scalars(select(CaseStep).where(CaseStep.event == "start_checks")).one()
        assert row.data == {}
        stored = session.get(Case, case.id)
        assert stored.status is Status.initial_checks
        assert stored.assigned_officer_id == staff["case_officer"].id


# --- The form page ----------------------------------------------------------------------------


def test_step_form_shows_the_spec_fields_and_the_case_version(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_interview)
    page = unescape(clients["case_officer"].get(url(case.id, "record_interview")).get_data(
        as_text=True))
    for f in step_for("record_interview").fields:
        assert f.label in page
    assert 'name="interview_date"' in page and 'id="interview_date-day"' in page
    assert f'name="expected_version" type="hidden" value="{case.version}"' in page
    assert "Record the applicant interview" in page
    assert case.reference in page


def test_decision_form_puts_the_three_legal_limbs_in_their_own_fieldset(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)
    page = clients["decision_maker"].get(
        url(case.id, "approve_disclosure_to_applicant")).get_data(as_text=True)
    fieldset = page.split('data-testid="legal-tests"')[1].split("</fieldset>")[0]
    for name in ("lawful_basis", "necessity", "proportionality"):
        assert f'name="{name}"' in fieldset
    assert 'name="recipient_name"' not in fieldset


def test_no_disclosure_form_warns_about_the_presumption_to_disclose(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)  # assessed: conviction and a risk
    page = clients["decision_maker"].get(url(case.id, "decide_no_disclosure")).get_data(
        as_text=True)
    assert "Presumption to disclose: the subject has a child sexual offence conviction" in page


def test_unknown_event_is_not_found(app, staff, clients):
    case = case_in(app, staff, Status.received)
    assert clients["case_officer"].get(url(case.id, "launch_rockets")).status_code == 404
    assert clients["case_officer"].post(url(case.id, "launch_rockets"),
                                        data={"rationale": "x"}).status_code == 404


@pytest.mark.parametrize("event", sorted(ENTRY_EVENTS))
def test_entry_events_are_not_steps_on_an_existing_case(app, staff, clients, event):
    case = case_in(app, staff, Status.received)
    assert clients["case_officer"].get(url(case.id, event)).status_code == 404


def test_step_on_a_missing_case_is_not_found(clients):
    assert clients["case_officer"].get(url(9999, "start_checks")).status_code == 404


# --- Refusals store nothing -------------------------------------------------------------------


def test_illegal_transition_is_refused_with_409_and_nothing_changes(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    data = step_data(DELIVERED, staff)

    page = clients["case_officer"].get(url(case.id, "record_disclosure_delivered"))
    response = clients["case_officer"].post(url(case.id, "record_disclosure_delivered"),
                                            data=form_payload("record_disclosure_delivered",
                                                              data, case.version))

    assert page.status_code == 409
    assert response.status_code == 409
    assert "is not possible while the case is at 'Initial checks'" in unescape(
        response.get_data(as_text=True))
    assert snapshot(app, case.id) == before


def test_step_on_a_closed_case_is_refused(app, staff, clients):
    case = case_in(app, staff, Status.closed)
    before = snapshot(app, case.id)
    payload = form_payload("raise_urgent_safeguarding", VALID_STEPS[
        "raise_urgent_safeguarding"][3], case.version)
    response = clients["case_officer"].post(url(case.id, "raise_urgent_safeguarding"),
                                            data=payload)
    assert response.status_code == 409
    assert snapshot(app, case.id) == before


def test_missing_rationale_is_a_400_with_an_error_summary(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    payload = form_payload("accept_for_interview", demo.ACCEPT, case.version, rationale="   ")

    response = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in page
    assert 'href="#rationale"' in page
    assert "every step needs a written rationale" in page
    assert "<title>Error: " in page
    assert snapshot(app, case.id) == before


def test_missing_field_is_a_400_with_that_fields_error_and_the_rest_kept(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    data = {"initial_checks_summary": "PNC checked, nothing of note."}  # no immediate_risk
    payload = form_payload("accept_for_interview", data, case.version, rationale="In scope.")

    response = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#immediate_risk"' in page
    assert "Answer the question ‘Is a child at immediate risk?’" in page
    assert "PNC checked, nothing of note." in page
    assert snapshot(app, case.id) == before


@pytest.mark.parametrize(("day", "month", "year"), [("31", "2", "2026"), ("1", "", "2026"),
                                                    ("x", "1", "2026"), ("1", "1", "26")])
def test_a_date_that_is_not_real_is_a_400(app, staff, clients, day, month, year):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    payload = form_payload("transfer", {"receiving_force": "Westshire Police"}, case.version)
    payload["date_sent"] = [day, month, year]
    response = clients["case_officer"].post(url(case.id, "transfer"), data=payload)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Date sent must be a real date" in page
    assert 'href="#date_sent-day"' in page
    assert snapshot(app, case.id) == before


def test_a_date_the_workflow_refuses_is_shown_on_the_field(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    data = step_data({"receiving_force": "Westshire Police", "date_sent": "D+30"}, staff)
    response = clients["case_officer"].post(url(case.id, "transfer"),
                                            data=form_payload("transfer", data, case.version))
    assert response.status_code == 400
    assert "Date sent must be today or in the past" in response.get_data(as_text=True)
    assert snapshot(app, case.id) == before


@pytest.mark.parametrize("parts", [["1", "2", "2026", "9"], ["1"], []])
def test_a_date_posted_with_the_wrong_number_of_parts_is_a_400_not_a_500(
        app, staff, clients, parts):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    payload = form_payload("transfer", {"receiving_force": "Westshire Police"}, case.version)
    payload["date_sent"] = parts
    response = clients["case_officer"].post(url(case.id, "transfer"), data=payload)
    assert response.status_code == 400
    assert 'href="#date_sent-day"' in response.get_data(as_text=True)
    assert snapshot(app, case.id) == before


def test_hidden_formatting_characters_are_refused(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    data = step_data({"receiving_force": "West\u202eshire", "date_sent": "D-0"}, staff)
    response = clients["case_officer"].post(url(case.id, "transfer"),
                                            data=form_payload("transfer", data, case.version))
    assert response.status_code == 400
    assert "Remove hidden formatting characters" in response.get_data(as_text=True)
    assert snapshot(app, case.id) == before


def test_an_invalid_choice_is_a_400(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    payload = form_payload("accept_for_interview", {**demo.ACCEPT, "immediate_risk": "maybe"},
                           case.version)
    response = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)
    assert response.status_code == 400
    assert snapshot(app, case.id) == before


def test_stale_version_is_a_409_that_keeps_what_was_typed(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    seen_version = case.version
    # Someone else changes the case after the form was opened.
    run_setup(app, case.id, [("raise_urgent_safeguarding", "case_officer",
                              VALID_STEPS["raise_urgent_safeguarding"][3])], staff)
    before = snapshot(app, case.id)
    payload = form_payload("accept_for_interview", demo.ACCEPT, seen_version,
                           rationale="My carefully written rationale about scope.")

    response = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)

    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"This case was changed by {staff['case_officer'].display_name}" in page
    assert "My carefully written rationale about scope." in page
    assert demo.ACCEPT["initial_checks_summary"] in page
    assert f'href="/staff/cases/{case.id}"' in page
    assert snapshot(app, case.id) == before
    # The re-rendered form carries the current version, so sending it again works.
    assert f'name="expected_version" type="hidden" value="{before[1]}"' in page
    payload["expected_version"] = str(before[1])
    again = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)
    assert again.status_code == 303


def test_a_missing_or_tampered_version_is_a_400(app, staff, clients):
    case = case_in(app, staff, Status.received)
    before = snapshot(app, case.id)
    for version in ("", "abc", "0"):
        payload = form_payload("start_checks", {}, 1)
        payload["expected_version"] = version
        response = clients["case_officer"].post(url(case.id, "start_checks"), data=payload)
        assert response.status_code == 400
    assert snapshot(app, case.id) == before


# --- Who may take which step ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["auditor", "partner", "admin"])
def test_roles_that_may_not_take_an_officer_step_get_403_and_nothing_is_stored(
        app, staff, clients, who):
    case = case_in(app, staff, Status.initial_checks)
    before = snapshot(app, case.id)
    payload = form_payload("accept_for_interview", demo.ACCEPT, case.version)
    assert clients[who].get(url(case.id, "accept_for_interview")).status_code == 403
    assert clients[who].post(url(case.id, "accept_for_interview"),
                             data=payload).status_code == 403
    assert snapshot(app, case.id) == before


def test_case_officer_cannot_make_a_disclosure_decision(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)
    before = snapshot(app, case.id)
    payload = form_payload("approve_disclosure_to_applicant", demo.DISCLOSE, case.version)
    response = clients["case_officer"].post(url(case.id, "approve_disclosure_to_applicant"),
                                            data=payload)
    assert response.status_code == 403
    assert snapshot(app, case.id) == before


def test_decision_maker_below_the_minimum_rank_gets_403_and_nothing_is_stored(app, staff):
    with app.app_context():
        sergeant = make_user(get_session(), Role.decision_maker, name="Sam Sergeant",
                             rank=Rank.sergeant)
        email = sergeant.email
    client = sign_in(app, email)
    case = case_in(app, staff, Status.awaiting_decision)
    before = snapshot(app, case.id)
    payload = form_payload("approve_disclosure_to_applicant", demo.DISCLOSE, case.version)

    page = client.get(url(case.id, "approve_disclosure_to_applicant"))
    response = client.post(url(case.id, "approve_disclosure_to_applicant"), data=payload)

    assert page.status_code == 403
    assert response.status_code == 403
    assert "at least Inspector rank" in response.get_data(as_text=True)
    assert snapshot(app, case.id) == before


def test_no_disclosure_with_a_conviction_needs_a_rebuttal_of_the_presumption(
        app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)
    with app.app_context():
        assert get_session().get(Case, case.id).child_sexual_offence_flag
    before = snapshot(app, case.id)
    data = {**demo.NO_DISCLOSURE, "reason_category": "not_necessary"}  # no rebuttal
    payload = form_payload("decide_no_disclosure", data, case.version)

    response = clients["decision_maker"].post(url(case.id, "decide_no_disclosure"), data=payload)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#presumption_rebuttal"' in page
    assert "explain why the presumption to disclose is rebutted" in page
    assert snapshot(app, case.id) == before


# --- Right to Know ----------------------------------------------------------------------------


def right_to_know_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject-full_name": "Keith Marlow",
        "subject-aliases": "",
        "subject-date_of_birth": ["2", "11", "1969"],
        "subject-approximate_age": "",
        "subject-address": "",
        "subject-postcode": "ns1 4dm",
        "subject-relationship_to_child": "Family friend",
        "children-0-full_name": "Amy Carter",
        "children-0-date_of_birth": ["", "", ""],
        "children-0-age": "9",
        "children-0-subject_contact": "Babysits at weekends",
        "referral_source": "mappa",
        "referral_source_detail": "MAPPA level 2 meeting",
        "risk_summary": "Registered offender reported babysitting a 9-year-old.",
        "rationale": "The mother may not know his history.",
        "submission_key": new_key(),
    }
    payload.update(overrides)
    return payload


def test_case_officer_opens_a_right_to_know_case_and_lands_on_it(app, staff, clients):
    officer = clients["case_officer"]
    assert officer.get("/staff/right-to-know/new").status_code == 200

    response = officer.post("/staff/right-to-know/new", data=right_to_know_payload())

    assert response.status_code == 303
    # The subject and child are shown once the officer has given a reason (issue 6).
    give_reason(officer, int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    page = officer.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Right to Know referral" in text
    assert "Keith Marlow" in text and "Amy Carter" in text
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert case.route is Route.right_to_know
        assert case.status is Status.referred
        assert case.assigned_officer_id == staff["case_officer"].id
        assert case.subject.postcode == "NS1 4DM"
        assert [c.full_name for c in case.children] == ["Amy Carter"]


def test_right_to_know_with_three_children(app, staff, clients):
    payload = right_to_know_payload(**{
        "children-1-full_name": "Ben Carter", "children-1-age": "7",
        "children-1-subject_contact": "Babysits at weekends",
        "children-2-full_name": "Cleo Carter", "children-2-date_of_birth": ["3", "4", "2020"],
        "children-2-subject_contact": "Babysits at weekends",
    })
    assert clients["case_officer"].post("/staff/right-to-know/new",
                                        data=payload).status_code == 303
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert [c.full_name for c in case.children] == ["Amy Carter", "Ben Carter",
                                                        "Cleo Carter"]
        assert case.children[2].date_of_birth == date(2020, 4, 3)


@pytest.mark.parametrize(("overrides", "message", "anchor"), [
    ({"subject-full_name": "Keith\u200bMarlow"}, "Remove hidden formatting characters",
     "subject-full_name"),
    ({"subject-full_name": ""}, "Enter the full name of the person the concern is about",
     "subject-full_name"),
    ({"children-0-full_name": "Amy\u202eCarter"}, "Remove hidden formatting characters",
     "children-0-full_name"),
    ({"children-0-age": ""}, "Enter the date of birth or the age of child 1",
     "children-0-date_of_birth"),
    ({"children-1-full_name": "Ben Carter"}, "Enter how the person has contact with child 2",
     "children-1-subject_contact"),
    ({"children-0-age": "30"}, "Child 1&#39;s age must be between 0 and 17", "children-0-age"),
    ({"referral_source": ""}, "Select source of the information", "referral_source"),
    ({"rationale": ""}, "every step needs a written rationale", "rationale"),
])
def test_invalid_right_to_know_referral_is_a_400_and_stores_nothing(
        app, staff, clients, overrides, message, anchor):
    response = clients["case_officer"].post("/staff/right-to-know/new",
                                            data=right_to_know_payload(**overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert f'href="#{anchor}' in page
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("who", ["decision_maker", "partner", "auditor", "admin"])
def test_only_case_officers_may_open_a_right_to_know_case(app, staff, clients, who):
    assert clients[who].get("/staff/right-to-know/new").status_code == 403
    assert clients[who].post("/staff/right-to-know/new",
                             data=right_to_know_payload()).status_code == 403
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Case)) == 0


# --- With CSRF protection on, as in production ------------------------------------------------


def test_step_form_carries_a_csrf_token_that_the_post_needs(db_path, staff):
    from tests.conftest import make_app

    app = make_app(db_path, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        login = client.get("/staff/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        client.post("/staff/sign-in", data={"email": staff["case_officer"].email,
                                            "password": PASSWORD, "csrf_token": token})
        complete_second_factor(app, client, staff["case_officer"].email)
        case = case_in(app, staff, Status.received)
        page = client.get(url(case.id, "start_checks")).get_data(as_text=True)
        form = page.split(f'<form method="post" action="{url(case.id, "start_checks")}"')[1]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        payload = form_payload("start_checks", {}, case.version)

        refused = client.post(url(case.id, "start_checks"), data=payload)
        accepted = client.post(url(case.id, "start_checks"), data={**payload,
                                                                   "csrf_token": token})

        assert refused.status_code == 400
        assert accepted.status_code == 303
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("event", ["record_interview", "complete_assessment",
                                   "approve_other_information", "invite_partner"])
def test_step_pages_have_unique_ids(app, staff, clients, event):
    start, route, who, _, _, setup = VALID_STEPS[event]
    case = case_in(app, staff, start, route)
    run_setup(app, case.id, setup, staff)  # the form opens only once the step can be taken
    page = clients[who].get(url(case.id, event)).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert f"<title>{step_for(event).title}" in unescape(page)


def test_a_disclosure_cannot_be_recorded_as_delivered_before_the_signed_undertaking(
        app, staff, clients):
    case = case_in(app, staff, Status.disclosure_approved)
    before = snapshot(app, case.id)
    page = clients["case_officer"].get(url(case.id, "record_disclosure_delivered"))
    posted = clients["case_officer"].post(
        url(case.id, "record_disclosure_delivered"),
        data=form_payload("record_disclosure_delivered", step_data(DELIVERED, staff),
                          case.version))
    for response in (page, posted):
        assert response.status_code == 409
        assert "signed confidentiality undertaking" in unescape(response.get_data(as_text=True))
    assert snapshot(app, case.id) == before


def test_check_my_reasons_shows_the_findings_and_saves_nothing(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)
    before = snapshot(app, case.id)
    generic = "The statutory power to share information applies here and is used carefully."
    data = {**DISCLOSE, "necessity": generic}
    payload = {**form_payload("approve_disclosure_to_applicant", step_data(data, staff),
                              case.version), "check_reasons": "1"}
    response = clients["decision_maker"].post(url(case.id, "approve_disclosure_to_applicant"),
                                              data=payload)
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    findings = page.split('data-testid="quality-findings"')[1].split("</div>")[0]
    assert "Necessity" in findings and "To resolve" in findings
    assert generic in page  # what they wrote is still in the form
    assert snapshot(app, case.id) == before
    payload.pop("check_reasons")
    refused = clients["decision_maker"].post(url(case.id, "approve_disclosure_to_applicant"),
                                             data=payload)
    assert refused.status_code == 400
    assert snapshot(app, case.id) == before


def test_a_decision_repeating_another_cases_reasons_needs_an_acknowledgement(app, staff,
                                                                             clients):
    first = case_in(app, staff, Status.decision_pending_approval)  # decided with DISCLOSE
    second = case_in(app, staff, Status.awaiting_decision)
    copied = {k: v for k, v in DISCLOSE.items() if k != "boilerplate_acknowledgement"}
    payload = form_payload("approve_disclosure_to_applicant", step_data(copied, staff),
                           second.version)
    before = snapshot(app, second.id)
    refused = clients["decision_maker"].post(url(second.id, "approve_disclosure_to_applicant"),
                                             data=payload)
    page = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 400
    assert first.reference in page  # the case it repeats is named
    assert snapshot(app, second.id) == before
    payload["boilerplate_acknowledgement"] = "The facts of the two cases are the same family."
    payload["submission_key"] = new_key()
    saved = clients["decision_maker"].post(url(second.id, "approve_disclosure_to_applicant"),
                                           data=payload)
    assert saved.status_code == 303
    with app.app_context():
        row = get_session().scalars(select(CaseStep).where(
            CaseStep.case_id == second.id,
            CaseStep.event == "approve_disclosure_to_applicant")).one()
        assert "limb_repeats_other_case" in {f["code"] for f in row.quality["findings"]}


def test_the_author_of_a_decision_cannot_approve_it_through_the_web(app, staff, clients):
    case = case_in(app, staff, Status.decision_pending_approval)  # decided by decision_maker
    before = snapshot(app, case.id)
    page = clients["decision_maker"].get(url(case.id, "countersign_decision"))
    posted = clients["decision_maker"].post(
        url(case.id, "countersign_decision"),
        data=form_payload("countersign_decision", demo.COUNTERSIGN, case.version))
    for response in (page, posted):
        assert response.status_code == 403
        assert "a second decision-maker must" in unescape(response.get_data(as_text=True))
    assert snapshot(app, case.id) == before
    approver_page = clients["decision_maker_2"].get(url(case.id, "countersign_decision"))
    assert approver_page.status_code == 200
    shown = unescape(approver_page.get_data(as_text=True))
    assert 'data-testid="pending-decision"' in shown
    assert DISCLOSE["necessity"] in shown  # the approver reads every limb


def test_an_unexplained_contradiction_blocks_the_decision(app, staff, clients):
    case = case_in(app, staff, Status.awaiting_decision)  # assessed high risk
    before = snapshot(app, case.id)
    data = {k: v for k, v in NO_DISCLOSURE.items() if k != "contradiction_explanation"}
    response = clients["decision_maker"].post(
        url(case.id, "decide_no_disclosure"),
        data=form_payload("decide_no_disclosure", step_data(data, staff), case.version))
    assert response.status_code == 400
    assert "contradiction_explanation" in response.get_data(as_text=True)
    assert snapshot(app, case.id) == before
