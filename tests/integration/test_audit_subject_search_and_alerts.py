"""The auditor's "who consulted" search keeps the subject's name out of URLs (SEC-26) and finds a
name however its accents were typed; the misuse alert does not flag the second officer whose
confirmation the identity gate requires (issue 11)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from disclosure_app.audit import monitoring
from disclosure_app.audit import reports as audit_reports
from disclosure_app.cases import applications
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry
from disclosure_app.risk import risk_check
from tests.conftest import make_app
from tests.factories import (
    PASSWORD,
    SUBJECT_NAME,
    SUBJECT_PERSON_ID,
    application_input,
    ensure_test_register,
    make_case,
    make_user,
    totp_code,
)
from tests.integration.test_security_and_alerts import alerts, make_user_signed_in
from workflows.roles import Role
from workflows.status import Status


def searches(app) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(get_session().scalars(select(AuditEntry).where(
            AuditEntry.action == "subject_searched")))


def urls_in(page: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', page)


# --- SEC-26: no name in a URL -----------------------------------------------------------------


def test_the_who_consulted_search_by_name_is_posted_and_no_url_carries_the_name(
        app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    clients["case_officer"].get(f"/staff/cases/{case.id}")
    form = clients["auditor"].get("/audit/consultations").get_data(as_text=True)
    assert re.search(r'<form method="post" action="/audit/consultations"', form)

    response = clients["auditor"].post("/audit/consultations", data={"subject": SUBJECT_NAME})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert staff["case_officer"].full_name in page.split('data-testid="report-rows"')[1]
    assert len(searches(app)) == 1
    # Neither a link nor a form target on the result page carries the name: the exports are
    # POSTed with the name in a hidden field.
    name_forms = [u for u in urls_in(page) if "Zebedee" in u or "Quartermain" in u]
    assert name_forms == []
    exports = page.split('<form method="post" action="/audit/consultations" novalidate '
                         'data-testid="exports"')[1].split("</form>")[0]
    assert f'name="subject" value="{SUBJECT_NAME}"' in exports
    assert 'name="export" value="csv"' in exports and 'name="export" value="pdf"' in exports

    for fmt, mimetype in (("csv", "text/csv"), ("pdf", "application/pdf")):
        exported = clients["auditor"].post("/audit/consultations",
                                           data={"subject": SUBJECT_NAME, "export": fmt})
        assert exported.status_code == 200 and exported.mimetype == mimetype
        assert "attachment" in exported.headers["Content-Disposition"]
    assert staff["case_officer"].full_name in exported_csv(clients["auditor"])
    assert len(searches(app)) == 4  # each search and export by name is logged


def exported_csv(client) -> str:  # type: ignore[no-untyped-def]
    return client.post("/audit/consultations", data={"subject": SUBJECT_NAME,
                                                      "export": "csv"}).get_data(as_text=True)


@pytest.mark.parametrize("path", ["/audit/consultations", "/audit/reports/consultations.csv",
                                  "/audit/reports/consultations.pdf"])
def test_a_link_carrying_a_subjects_name_is_refused_without_searching(app, staff, clients,
                                                                        path):
    make_case(app, Status.initial_checks, officer=staff["case_officer"])
    response = clients["auditor"].get(path, query_string={"subject": SUBJECT_NAME})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "a name is never sent in a link" in page
    assert "Quartermain" not in page  # not even shown back
    assert searches(app) == []


def test_the_search_by_name_needs_a_csrf_token(database, staff):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    try:
        make_case(app, Status.initial_checks, officer=staff["case_officer"])
        client = app.test_client()

        def token(page: str) -> str:
            return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                             page).group(1)

        sign_in_page = client.get("/staff/sign-in").get_data(as_text=True)
        assert client.post("/staff/sign-in", data={
            "email": staff["auditor"].email, "password": PASSWORD,
            "csrf_token": token(sign_in_page)}).status_code == 302
        factor = client.get("/staff/two-factor").get_data(as_text=True)
        assert client.post("/staff/two-factor", data={
            "code": totp_code(app, staff["auditor"].email),
            "csrf_token": token(factor)}).status_code == 302

        forged = client.post("/audit/consultations", data={"subject": SUBJECT_NAME})
        assert forged.status_code == 400
        assert searches(app) == []
        form = client.get("/audit/consultations").get_data(as_text=True)
        real = client.post("/audit/consultations", data={"subject": SUBJECT_NAME,
                                                         "csrf_token": token(form)})
        assert real.status_code == 200
        assert len(searches(app)) == 1
    finally:
        app.extensions["db_engine"].dispose()


# --- Unicode normalisation of the searched name ------------------------------------------------


def test_a_name_typed_with_decomposed_accents_finds_the_subject(app, staff, clients):
    name = "José Núñez"
    with app.app_context():
        session = get_session()
        base = application_input()
        done = applications.submit_application(
            session, replace(base, subject=replace(base.subject, full_name=name)),
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
        case_id = done.case.id
        decomposed = unicodedata.normalize("NFD", name).upper()
        assert decomposed != name.upper()
        assert audit_reports.cases_for_subject(session, decomposed) == [case_id]
        assert audit_reports.cases_for_subject(session, unicodedata.normalize("NFC", name)) \
            == [case_id]
    response = clients["auditor"].post("/audit/consultations",
                                       data={"subject": unicodedata.normalize("NFD", name)})
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    # Logged by the hash of the normalised name: the same whichever way it was typed.
    clients["auditor"].post("/audit/consultations", data={"subject": name})
    hashes = {e.payload.split('"name_sha256":"')[1][:64] for e in searches(app)}
    assert len(hashes) == 1


# --- Misuse alerts: the identity gate's second officer is involved ---------------------------


def test_the_second_officer_who_confirms_the_identity_raises_no_misuse_alert(app, staff):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    with app.app_context():
        session = get_session()
        second = make_user(session, Role.case_officer, name="Sam Second")
        third = make_user(session, Role.case_officer, name="Tess Third")
        second_email, third_email = second.email, third.email
        second_id, third_id = second.id, third.id
    from tests.conftest import sign_in

    second_client, third_client = sign_in(app, second_email), sign_in(app, third_email)
    # The second officer opens the case to check the proposed match, then confirms it.
    second_client.get(f"/staff/cases/{case.id}")
    with app.app_context():
        session = get_session()
        ensure_test_register(session)
        officer = session.get(type(staff["case_officer"]), staff["case_officer"].id)
        confirmer = session.get(type(staff["case_officer"]), second_id)
        risk_check.confirm_identity(
            session, officer, confirmer, case.id, person_id=SUBJECT_PERSON_ID,
            identifiers=["date_of_birth", "address_history"], references={},
            now=datetime.now(UTC))
    third_client.get(f"/staff/cases/{case.id}")  # not involved at all: still an alert

    found = {(a.user_id, a.case_id) for a in alerts(app) if a.kind == "unassigned_consultation"}
    assert (second_id, case.id) not in found
    assert (third_id, case.id) in found


def test_an_officer_who_only_proposed_the_identity_raises_no_misuse_alert(app, staff):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    proposer = make_user_signed_in(app, Role.case_officer)
    with app.app_context():
        session = get_session()
        ensure_test_register(session)
        user = session.scalars(select(type(staff["case_officer"])).order_by(
            type(staff["case_officer"]).id.desc())).first()
        proposer_id = user.id
    proposer.get(f"/staff/cases/{case.id}")
    with app.app_context():
        session = get_session()
        risk_check.propose_match(
            session, session.get(type(staff["case_officer"]), proposer_id), case.id,
            risk_check.Proposal(SUBJECT_PERSON_ID, ["date_of_birth", "address_history"], {},
                                note="Identifiers checked against the record."),
            now=datetime.now(UTC))
    found = {(a.user_id, a.case_id) for a in alerts(app) if a.kind == "unassigned_consultation"}
    assert (proposer_id, case.id) not in found
    assert monitoring.KIND_LABELS["unassigned_consultation"]
