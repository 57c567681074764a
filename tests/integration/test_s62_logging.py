"""DPA 2018 s.62 logging (issue 6, SECURITY.md SEC-31): a consultation entry for every case
view, a reason asked once per case per session before the sensitive sections, disclosures with
their recipients, and no personal text in any payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import AccessReason, Applicant, AuditEntry, Case, Child, Subject
from tests.conftest import sign_in
from tests.factories import SUBJECT_NAME, give_reason, make_case
from workflows.status import Route, Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

CHILD_NAME = "Charlie Child"


def entries(app, **where) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.seq)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return list(get_session().scalars(query))


def details(entry: AuditEntry) -> dict:
    return json.loads(entry.payload)["details"]


@pytest.fixture
def case(app, staff):  # type: ignore[no-untyped-def]
    made, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return made


@pytest.mark.parametrize(("who", "url"), [
    ("case_officer", "/staff/cases/{id}"),
    ("decision_maker", "/staff/cases/{id}"),
    ("auditor", "/staff/cases/{id}"),
    ("auditor", "/audit/cases/{id}"),
])
def test_every_case_view_writes_one_consultation_entry(app, staff, clients, case, who, url):
    before = len(entries(app, action="case_viewed"))
    for _ in range(2):
        assert clients[who].get(url.format(id=case.id)).status_code == 200
    viewed = entries(app, action="case_viewed")[before:]
    assert len(viewed) == 2
    for entry in viewed:
        assert entry.category == "consultation"
        assert entry.actor_id == staff[who].id and entry.case_id == case.id
        assert json.loads(entry.payload)["at"].endswith("+00:00")  # UTC
        assert details(entry)["purpose"]  # the justification is never empty


def test_the_sensitive_sections_ask_for_a_reason_first(app, clients, case):
    page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="reason-prompt"' in page
    assert SUBJECT_NAME not in page and CHILD_NAME not in page
    [viewed] = entries(app, action="case_viewed")[-1:]
    assert "reason_seq" not in details(viewed) and "sections" not in details(viewed)


def test_a_reason_is_logged_once_then_the_details_are_shown_for_the_session(app, staff, clients,
                                                                          case):
    officer = clients["case_officer"]
    give_reason(officer, case.id, reason="supervision", note="Covering for PC Shah this week")
    [reason] = entries(app, action="sensitive_access_justified")
    assert reason.category == "consultation" and reason.actor_id == staff["case_officer"].id
    assert details(reason) == {
        "reference": case.reference, "section": "subject", "reason_code": "supervision",
        "note_sha256": sha256_hex("Covering for PC Shah this week")}
    with app.app_context():
        [stored] = get_session().scalars(select(AccessReason)).all()
        assert (stored.note, stored.audit_seq) == ("Covering for PC Shah this week", reason.seq)

    for _ in range(2):  # no second prompt in the same session
        page = officer.get(f"/staff/cases/{case.id}").get_data(as_text=True)
        assert SUBJECT_NAME in page and CHILD_NAME in page
        assert 'data-testid="reason-prompt"' not in page
    assert len(entries(app, action="sensitive_access_justified")) == 1
    viewed = entries(app, action="case_viewed")[-1]
    assert details(viewed)["reason_seq"] == reason.seq
    assert details(viewed)["sections"] == ["subject", "children"]

    # A new sign-in is a new session: asked again.
    fresh = sign_in(app, staff["case_officer"].email)
    assert 'data-testid="reason-prompt"' in fresh.get(f"/staff/cases/{case.id}").get_data(
        as_text=True)


@pytest.mark.parametrize(("form", "field"), [
    ({"reason": "", "note": ""}, "Select why you need to see these details"),
    ({"reason": "other", "note": "  "}, "Say why you need to see these details"),
    ({"reason": "nosy", "note": ""}, "Not a valid choice"),
    ({"reason": "case_work", "note": "x" * 201}, "200 characters or fewer"),
])
def test_a_missing_or_invalid_reason_is_refused_and_nothing_is_stored(app, clients, case, form,
                                                                      field):
    before = len(entries(app))
    response = clients["case_officer"].post(f"/staff/cases/{case.id}/reason",
                                            data={**form, "section": "subject", "next": ""})
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)
    assert len(entries(app)) == before
    page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert SUBJECT_NAME not in page


def test_the_reason_page_never_redirects_off_site(clients, case):
    response = clients["case_officer"].post(f"/staff/cases/{case.id}/reason", data={
        "reason": "case_work", "section": "subject", "next": "//evil.example/x"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/cases/{case.id}")


def test_disclosures_record_their_recipient(app, staff):
    made, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        session = get_session()
        take_step(session, StepRequest(
            made.id, "invite_partner", session.get(Case, made.id).version,
            {"partner_user_id": str(staff["partner"].id), "information_requested": "Risk."},
            "Probation hold the file."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
    [invite] = entries(app, action="invite_partner")
    assert invite.category == "disclosure"
    assert details(invite)["recipient"] == {"kind": "partner_agency_member",
                                            "user_id": staff["partner"].id}
    assert details(invite)["rationale_sha256"] == sha256_hex("Probation hold the file.")

    delivered, _ = make_case(app, Status.disclosure_delivered, officer=staff["case_officer"],
                             decider=staff["decision_maker"])
    [entry] = [e for e in entries(app, action="record_disclosure_delivered")
               if e.case_id == delivered.id]
    assert entry.category == "disclosure"
    assert details(entry)["recipient"]["kind"] == "applicant"


def _personal_values(app) -> set[str]:  # type: ignore[no-untyped-def]
    """Every name, date of birth, address, postcode and contact detail the case tables hold."""
    values: set[str] = set()
    with app.app_context():
        session = get_session()
        for subject in session.scalars(select(Subject)):
            values |= {subject.full_name, subject.address, subject.postcode}
            if subject.date_of_birth:
                values.add(subject.date_of_birth.isoformat())
        for applicant in session.scalars(select(Applicant)):
            values |= {applicant.full_name, applicant.address, applicant.postcode,
                       applicant.phone, applicant.email}
            if applicant.date_of_birth:
                values.add(applicant.date_of_birth.isoformat())
        for child in session.scalars(select(Child)):
            values.add(child.full_name)
            if child.date_of_birth:
                values.add(child.date_of_birth.isoformat())
    return {v.lower() for v in values if v and len(v) >= 4}


def test_no_audit_payload_holds_a_name_or_date_of_birth_from_the_case_tables(app, staff,
                                                                            clients):
    for status, route in ((Status.outcome_communicated, Route.right_to_ask),
                          (Status.full_risk_assessment, Route.right_to_know),
                          (Status.representations_pending, Route.right_to_ask)):
        make_case(app, status, route=route, officer=staff["case_officer"],
                  decider=staff["decision_maker"])
    made, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    # Reading, reasons (a careless note naming the subject), downloads and an auditor's search
    # by a subject's name all leave entries too.
    give_reason(clients["case_officer"], made.id, reason="other", note=f"Checking {SUBJECT_NAME}")
    clients["case_officer"].get(f"/staff/cases/{made.id}")
    give_reason(clients["auditor"], made.id, section="decision_record", reason="audit")
    assert clients["auditor"].get(
        f"/documents/cases/{made.id}/decision-record.pdf").status_code == 200
    assert clients["auditor"].post("/audit/consultations",
                                   data={"subject": SUBJECT_NAME}).status_code == 200
    personal = _personal_values(app)
    assert SUBJECT_NAME.lower() in personal and "1977-04-23" in personal
    payloads = [e.payload.lower() for e in entries(app)]
    assert len(payloads) > 30
    leaks = sorted({value for value in personal for p in payloads if value in p})
    assert leaks == []


def test_an_auditors_reason_writes_only_to_the_log(app, staff, clients, case):
    with app.app_context():
        before = get_session().get(Case, case.id)
        version, status, steps = before.version, before.status, [s.id for s in before.steps]
    give_reason(clients["auditor"], case.id, reason="audit")
    with app.app_context():
        after = get_session().get(Case, case.id)
        assert (after.version, after.status) == (version, status)
        assert [s.id for s in after.steps] == steps
    [reason] = entries(app, action="sensitive_access_justified")
    assert reason.actor_id == staff["auditor"].id and reason.category == "consultation"
