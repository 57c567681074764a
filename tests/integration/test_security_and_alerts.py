"""The security event log (SEC-32), misuse alerts (SEC-32a) and the auditor's reports with their
CSV and PDF exports (issue 6)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from disclosure_app.audit import monitoring
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, SecurityEvent
from tests.conftest import make_app, sign_in
from tests.factories import PASSWORD, SUBJECT_NAME, give_reason, make_case, make_user
from workflows.roles import Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


def events(app, kind: str | None = None) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        query = select(SecurityEvent).order_by(SecurityEvent.id)
        if kind:
            query = query.where(SecurityEvent.kind == kind)
        return list(get_session().scalars(query))


def test_a_sign_in_and_a_sign_out_each_leave_one_event(app, staff):
    client = sign_in(app, staff["case_officer"].email)
    [login] = events(app, "login_succeeded")
    assert login.user_id == staff["case_officer"].id
    assert json.loads(login.details) == {"factor": "password+totp"}  # both factors (issue 7)
    client.post("/staff/sign-out", data={})
    [logout] = events(app, "logout")
    assert logout.user_id == staff["case_officer"].id


def test_a_failed_sign_in_is_logged_by_hash_never_with_the_password(app, staff):
    typed = "  Officer@Test.Example "
    response = app.test_client().post("/staff/sign-in",
                                      data={"email": typed, "password": "wrong " + PASSWORD})
    assert response.status_code == 400
    [failed] = events(app, "login_failed")
    assert failed.user_id is None
    assert json.loads(failed.details) == {
        "factor": "password", "identifier_sha256": sha256_hex("officer@test.example"),
        "reason": "unknown"}  # no such account (the person is told only "not recognised")
    for event in events(app):
        text = json.dumps([event.details, event.endpoint, event.client_ip])
        assert PASSWORD not in text and "officer@test" not in text.lower()


def test_an_authorisation_denial_is_logged_with_who_and_where(app, staff, clients):
    assert clients["partner"].get("/audit/").status_code == 403
    [denied] = events(app, "authorisation_denied")
    assert denied.user_id == staff["partner"].id
    assert (denied.method, denied.endpoint) == ("GET", "audit.index")
    assert json.loads(denied.details) == {"path": "/audit/", "reason": "forbidden"}


def test_a_csrf_failure_is_logged_without_the_token(database, staff):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/staff/sign-in", data={
        "email": staff["case_officer"].email, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    [failed] = events(app, "csrf_failed")
    assert "forged" not in failed.details
    assert not events(app, "login_succeeded")


def test_control_characters_cannot_forge_a_second_log_line(app, staff, caplog):
    from disclosure_app.security import event_log as security_log
    from disclosure_app.security.event_log import Kind, RequestInfo

    with app.app_context(), caplog.at_level("INFO", logger="disclosure_app.security"):
        security_log.record(get_session(), Kind.authorisation_denied,
                            now=datetime.now(UTC), user_id=None,
                            request=RequestInfo("10.0.0.1", "GET", "x"),
                            details={"path": "/a\r\nFAKE LOG LINE"})
    [event] = events(app, "authorisation_denied")
    assert "\r" not in event.details and "\n" not in event.details
    assert json.loads(event.details) == {"path": "/a\\r\\nFAKE LOG LINE"}
    assert all("\n" not in record.getMessage() for record in caplog.records)
    with app.app_context(), pytest.raises(ValueError, match="never hold"):
        security_log.record(get_session(), Kind.login_failed, now=datetime.now(UTC),
                            details={"password": "x"})


# --- Misuse alerts ----------------------------------------------------------------------------


def alerts(app, **overrides):  # type: ignore[no-untyped-def]
    settings = monitoring.settings({**app.config, **overrides})
    now = datetime.now(UTC)
    with app.app_context():
        return monitoring.alerts(get_session(), settings, since=now - timedelta(hours=1),
                                 until=now + timedelta(minutes=1))


def test_twenty_one_denials_by_one_officer_raise_exactly_one_alert(app, staff, clients):
    for _ in range(20):
        clients["case_officer"].get("/audit/")
    assert [a for a in alerts(app) if a.kind == "repeated_denials"] == []
    clients["case_officer"].get("/admin/users")
    found = [a for a in alerts(app) if a.kind == "repeated_denials"]
    assert len(found) == 1
    assert found[0].user_id == staff["case_officer"].id and found[0].count == 21
    page = clients["auditor"].get("/audit/alerts").get_data(as_text=True)
    assert "Repeated authorisation denials" in page and "21 authorisation denials" in page


def test_opening_a_case_one_is_not_involved_in_raises_an_alert(app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    other = make_user_signed_in(app, Role.case_officer)
    other.get(f"/staff/cases/{case.id}")
    clients["case_officer"].get(f"/staff/cases/{case.id}")  # the case's own officer: fine
    found = [a for a in alerts(app) if a.kind == "unassigned_consultation"]
    assert [(a.case_id, a.count) for a in found] == [(case.id, 1)]
    assert found[0].user_id != staff["case_officer"].id


def test_bulk_consultation_over_the_configured_rate_raises_one_alert(app, staff, clients):
    made = [make_case(app, Status.received, officer=staff["case_officer"])[0] for _ in range(4)]
    for case in made[:3]:
        clients["case_officer"].get(f"/staff/cases/{case.id}")
    assert not [a for a in alerts(app, ALERT_BULK_CONSULTATIONS=3) if a.kind ==
                "bulk_consultation"]
    clients["case_officer"].get(f"/staff/cases/{made[3].id}")
    clients["case_officer"].get(f"/staff/cases/{made[0].id}")  # the same case again: no more
    found = [a for a in alerts(app, ALERT_BULK_CONSULTATIONS=3) if a.kind == "bulk_consultation"]
    assert len(found) == 1 and found[0].count == 4


def make_user_signed_in(app, role):  # type: ignore[no-untyped-def]
    with app.app_context():
        user = make_user(get_session(), role)
        email = user.email
    return sign_in(app, email)


# --- The auditor's reports --------------------------------------------------------------------


def test_the_auditor_finds_who_consulted_a_subject_and_why(app, staff, clients):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    give_reason(clients["decision_maker"], case.id, reason="decision",
                note="Decision due on Friday")
    clients["decision_maker"].get(f"/staff/cases/{case.id}")
    response = clients["auditor"].post("/audit/consultations", data={  # never in a URL
        "subject": SUBJECT_NAME.upper()})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = page.split('data-testid="report-rows"')[1]
    assert staff["decision_maker"].full_name in rows
    assert "I am making or preparing the disclosure decision" in rows
    assert "Decision due on Friday" in rows and case.reference in rows
    # The search by name is itself logged, by hash.
    with app.app_context():
        [search] = get_session().scalars(select(AuditEntry).where(
            AuditEntry.action == "subject_searched")).all()
    assert json.loads(search.payload)["details"]["name_sha256"] == sha256_hex(SUBJECT_NAME.lower())
    assert json.loads(search.payload)["details"]["case_ids"] == [case.id]
    by_reference = clients["auditor"].get("/audit/consultations",
                                          query_string={"reference": case.reference})
    assert "Decision due on Friday" in by_reference.get_data(as_text=True)


def test_an_unknown_subject_or_reference_is_a_400_with_a_message(clients):
    response = clients["auditor"].post("/audit/consultations", data={"subject": "Nobody"})
    assert response.status_code == 400
    assert "No case has a subject of this name" in response.get_data(as_text=True)
    assert clients["auditor"].get("/audit/consultations",
                                  query_string={"date_from": "2026-13-01"}).status_code == 400


def test_everything_a_staff_member_did_in_a_period(app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    clients["case_officer"].get(f"/staff/cases/{case.id}")
    clients["case_officer"].get("/audit/")  # a denial: in the security events
    today = datetime.now(UTC).date().isoformat()
    page = clients["auditor"].get("/audit/staff", query_string={
        "actor": staff["case_officer"].id, "date_from": today, "date_to": today}).get_data(
        as_text=True)
    rows = page.split('data-testid="report-rows"')[1]
    assert "Case viewed" in rows and "Start initial checks" in rows
    assert "Authorisation denied" in rows


def test_disclosures_are_listed_with_their_recipients(app, staff, clients):
    make_case(app, Status.disclosure_delivered, officer=staff["case_officer"],
              decider=staff["decision_maker"])
    page = clients["auditor"].get("/audit/disclosures").get_data(as_text=True)
    rows = page.split('data-testid="report-rows"')[1]
    assert "The applicant" in rows
    assert "The step&#39;s recorded rationale" in rows or "The step's recorded rationale" in rows


@pytest.mark.parametrize("name", ["consultations", "staff", "disclosures", "alerts", "security",
                                  "integrity"])
@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_every_view_exports_as_csv_and_pdf_and_the_export_is_logged(app, staff, clients, name,
                                                                     fmt):
    case, _ = make_case(app, Status.disclosure_delivered, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    clients["case_officer"].get(f"/staff/cases/{case.id}")
    query = {"consultations": {"reference": case.reference},
             "staff": {"actor": staff["case_officer"].id}}.get(name, {})
    response = clients["auditor"].get(f"/audit/reports/{name}.{fmt}", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    if fmt == "csv":
        assert response.mimetype == "text/csv"
        text = response.get_data(as_text=True)
    else:
        assert response.mimetype == "application/pdf"
        text = re.sub(r"\s+", " ", " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages))
        assert "OFFICIAL-SENSITIVE" in text
    if name == "consultations":
        assert staff["case_officer"].full_name in text
    with app.app_context():
        [logged] = get_session().scalars(select(AuditEntry).where(
            AuditEntry.action == "audit_report_exported")).all()
    details = json.loads(logged.payload)["details"]
    assert logged.category == "disclosure"
    assert details["recipient_user_id"] == staff["auditor"].id
    assert (details["report"], details["format"]) == (name, fmt)
    import hashlib

    assert details["sha256"] == hashlib.sha256(response.data).hexdigest()


def test_an_unknown_report_or_format_is_404(clients):
    assert clients["auditor"].get("/audit/reports/everything.csv").status_code == 404
    assert clients["auditor"].get("/audit/reports/alerts.xlsx").status_code == 404


def test_the_integrity_page_shows_the_chain_and_records_the_verification(app, clients):
    page = clients["auditor"].get("/audit/integrity").get_data(as_text=True)
    assert "Intact" in page
    assert re.search(r"Verified just now, at \d{2} \w{3} \d{4}", page)
    runs = page.split('data-testid="verification-runs"')[1]
    assert "(console)" in runs and "Intact" in runs
