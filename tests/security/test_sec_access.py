"""SECURITY.md §1.3 Access control and workflow (SEC-14 … SEC-18)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, User
from disclosure_app.operations import demo
from disclosure_app.web.access import access_rule
from tests.factories import DISCLOSE, make_case, resolve
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import events, written
from workflows.status import Status

PUBLIC_ENDPOINTS = {
    "public.start", "public.privacy", "public.accessibility", "public.apply", "public.submit",
    "public.confirmation", "public.status", "public.withdraw", "health.healthz",
    "auth.login", "auth.two_factor", "auth.set_up_two_factor", "auth.two_factor_qr",
    "auth.new_password",
}


# --- SEC-14 -------------------------------------------------------------------------------


def test_sec14_every_endpoint_declares_who_may_use_it(app):
    undeclared, public = [], set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        declared = access_rule(app.view_functions[rule.endpoint])
        if declared is None or (isinstance(declared, frozenset) and not declared):
            undeclared.append(rule.endpoint)
        elif declared == "public":
            public.add(rule.endpoint)
    assert undeclared == []
    assert public == PUBLIC_ENDPOINTS


def test_sec14_an_endpoint_without_a_declaration_is_refused_to_everyone(database, staff):
    from tests.conftest import make_app, sign_in

    app = make_app(database)

    @app.get("/undeclared-probe")
    def probe():  # type: ignore[no-untyped-def]
        return "should never be served"

    try:
        assert app.test_client().get("/undeclared-probe").status_code == 403
        for key in ("case_officer", "auditor", "admin"):
            assert sign_in(app, staff[key].email).get("/undeclared-probe").status_code == 403
    finally:
        app.extensions["db_engine"].dispose()


# --- SEC-15 -------------------------------------------------------------------------------


def test_sec15_an_out_of_scope_case_looks_missing_and_is_logged_as_a_denial(
        app, staff, clients, caplog):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    partner = clients["partner"]  # not invited to this case
    out_of_scope = partner.get(f"/staff/cases/{case.id}")
    missing = partner.get("/staff/cases/999999")
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.get_data() == missing.get_data()
    denials = [e for e in events(caplog, "authz_denied") if e.get("reason") == "case out of scope"]
    assert len(denials) == 1 and denials[0]["user_id"] == staff["partner"].id
    with app.app_context():
        consultations = get_session().scalars(select(AuditEntry).where(
            AuditEntry.case_id == case.id, AuditEntry.actor_id == staff["partner"].id)).all()
    assert consultations == []


# --- SEC-16 -------------------------------------------------------------------------------


def test_sec16_auditors_cannot_decide_and_nothing_is_written(app, staff, clients):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    before = written(app)
    response = clients["auditor"].post(
        f"/staff/cases/{case.id}/steps/approve_disclosure_to_applicant",
        data=form_payload("approve_disclosure_to_applicant", DISCLOSE, case.version))
    assert response.status_code == 403
    assert written(app) == before


def test_sec16_the_author_cannot_approve_their_own_decision_a_second_person_can(
        app, staff, clients):
    case, _ = make_case(app, Status.decision_pending_approval, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    url = f"/staff/cases/{case.id}/steps/countersign_decision"
    payload = form_payload("countersign_decision", demo.COUNTERSIGN, case.version,
                           rationale="I agree with the reasoning recorded.")
    before = written(app)
    assert clients["decision_maker"].post(url, data=payload).status_code == 403
    assert written(app) == before
    assert clients["case_officer"].post(url, data=payload).status_code == 403
    approved = clients["decision_maker_2"].post(url, data=payload)
    assert approved.status_code == 303, approved.get_data(as_text=True)[:1500]
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.disclosure_approved


# --- SEC-17 -------------------------------------------------------------------------------


def test_sec17_extra_form_fields_change_nothing_they_name(app, staff, clients):
    case, _ = make_case(app, Status.received, officer=staff["case_officer"])
    with app.app_context():
        before = get_session().get(Case, case.id)
        officer_before = before.assigned_officer_id
    response = clients["case_officer"].post(
        f"/staff/cases/{case.id}/steps/start_checks",
        data={**form_payload("start_checks", {}, case.version), "status": "closed",
              "assigned_officer_id": "7", "is_admin": "1", "role": "admin", "version": "99",
              "decision_outcome": "disclose"})
    assert response.status_code == 303
    with app.app_context():
        session = get_session()
        after = session.get(Case, case.id)
        assert after.status is Status.initial_checks  # what the step does, nothing more
        assert after.assigned_officer_id in (officer_before, staff["case_officer"].id)
        assert after.assigned_officer_id != 7
        assert after.decision_outcome is None and after.version == case.version + 1
        assert session.get(User, staff["case_officer"].id).role.value == "case_officer"


def test_sec17_auditors_do_not_see_the_applicants_contact_details(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    with app.app_context():
        applicant = get_session().get(Case, case.id).applicant
        phone, address = applicant.phone, applicant.address
    assert phone and address
    officer_page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    auditor_page = clients["auditor"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert phone in officer_page
    assert phone not in auditor_page and address not in auditor_page


# --- SEC-18 -------------------------------------------------------------------------------


def test_sec18_skipping_ahead_is_refused_logged_and_writes_nothing(app, staff, clients, caplog):
    case, _ = make_case(app, Status.received, officer=staff["case_officer"])
    before = written(app)
    response = clients["case_officer"].post(
        f"/staff/cases/{case.id}/steps/record_disclosure_delivered",
        data=form_payload("record_disclosure_delivered", resolve(
            {**demo.DELIVERED, "meeting_date": "D-0"}, datetime.now(UTC)), case.version))
    assert response.status_code == 409
    assert written(app) == before
    refused = events(caplog, "transition_refused")
    assert len(refused) == 1 and refused[0]["case_id"] == case.id


def test_sec18_no_disclosure_without_a_verified_applicant_and_a_decision(app, staff, clients):
    case, _ = make_case(app, Status.interviewed, officer=staff["case_officer"])
    before = written(app)
    for who, event, data in (("case_officer", "complete_assessment", demo.ASSESS),
                             ("decision_maker", "approve_disclosure_to_applicant", DISCLOSE)):
        response = clients[who].post(f"/staff/cases/{case.id}/steps/{event}",
                                     data=form_payload(event, data, case.version))
        assert response.status_code == 409, (event, response.status_code)
    assert written(app) == before
