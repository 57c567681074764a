"""Rectification (DPA 2018 s.46) and the applicant's own subject access request (issue 14).

A correction replaces an inaccurate personal detail with a reason; the value it replaced stays
readable to auditors (sealed like everything else) and the change is an "alteration" entry.
The subject access export gives the applicant's own details and redacts or flags every third
party's; it is never a way to obtain the subject's record, and producing it is a "disclosure".
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from disclosure_app.cases import links
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseLinkKey, Rectification
from tests.factories import SUBJECT_ADDRESS, SUBJECT_NAME, make_case
from workflows.status import Route, Status

pytestmark = pytest.mark.staff_snapshot

REASON = "Passport seen at interview gives a different spelling of the name."


def correct(client: Any, case_id: int, target: str, value: str, reason: str = REASON) -> Any:
    return client.post(f"/records/cases/{case_id}/rectify",
                       data={"target": target, "new_value": value, "reason": reason})


def pdf_words(content: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages).split())


def test_a_correction_keeps_the_old_value_for_auditors_and_is_an_alteration_entry(
        app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        old = get_session().get(Case, case.id).applicant.full_name
    response = correct(clients["case_officer"], case.id, "applicant.full_name",
                       "Alicia Applicant-Jones")
    assert response.status_code == 303
    with app.app_context():
        session = get_session()
        assert session.get(Case, case.id).applicant.full_name == "Alicia Applicant-Jones"
        record = session.scalars(select(Rectification)).one()
        assert (record.person, record.field, record.old_value, record.new_value) == (
            "applicant", "full_name", old, "Alicia Applicant-Jones")
        entry = session.get(AuditEntry, record.audit_seq)
        assert (entry.action, entry.category) == ("personal_data_rectified", "alteration")
        assert old not in entry.payload and "Alicia" not in entry.payload
    trail = clients["auditor"].get(f"/audit/cases/{case.id}").get_data(as_text=True)
    assert old in trail and "Alicia Applicant-Jones" in trail and "Passport seen" in trail


def test_correcting_the_subjects_date_of_birth_moves_the_case_links(app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])

    def held() -> set[tuple[str, str]]:
        with app.app_context():
            return set(get_session().execute(select(CaseLinkKey.kind, CaseLinkKey.key).where(
                CaseLinkKey.case_id == case.id)).all())

    before = held()
    response = correct(clients["case_officer"], case.id, "subject.date_of_birth",
                       "02/02/1960", reason="The subject's date of birth was mistyped at intake.")
    assert response.status_code == 303
    after = held()
    with app.app_context():
        session = get_session()
        corrected = session.get(Case, case.id)
        assert str(corrected.subject.date_of_birth) == "1960-02-02"
        assert after == links.keys_for(corrected)  # the old name-and-date key is gone
    assert len(before - after) == 1 and len(after - before) == 1


@pytest.mark.parametrize(("target", "value", "reason", "message"), [
    ("applicant.full_name", "Someone Else", "too short", "at least 20 characters"),
    ("subject.date_of_birth", "01/01/2999", REASON, "must be in the past"),
    ("subject.date_of_birth", "yesterday", REASON, "DD/MM/YYYY"),
    ("applicant.password", "x", REASON, "Choose the detail to correct"),
    ("child:999999.full_name", "Anyone", REASON, "Choose the detail to correct"),
    ("applicant.full_name", "", REASON, "cannot be corrected to nothing"),
])
def test_a_correction_with_a_problem_is_refused_and_changes_nothing(
        app, staff, clients, target, value, reason, message):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    with app.app_context():
        before = get_session().get(Case, case.id).applicant.full_name
    response = correct(clients["case_officer"], case.id, target, value, reason)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Rectification)) == 0
        assert session.get(Case, case.id).applicant.full_name == before


def test_the_same_value_again_is_not_a_correction(app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    with app.app_context():
        name = get_session().get(Case, case.id).applicant.full_name
    response = correct(clients["case_officer"], case.id, "applicant.full_name", name)
    assert response.status_code == 400
    assert "same as the one held" in response.get_data(as_text=True)


def test_the_subject_access_export_gives_the_applicants_details_and_never_the_subjects(
        app, staff, clients):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        applicant = get_session().get(Case, case.id).applicant
        name, address = applicant.full_name, applicant.address
    response = clients["case_officer"].get(f"/records/cases/{case.id}/subject-access.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    words = pdf_words(response.data)
    assert name in words and address in words
    assert SUBJECT_NAME not in words and SUBJECT_ADDRESS not in words
    assert "[REDACTED: information about a third party" in words
    assert "WITHHELD PENDING REVIEW" in words
    # The decision about the subject is a third party's too: the applicant sees "Completed".
    assert "Completed" in words and "Disclosure" not in words.replace("disclosure officer", "")
    with app.app_context():
        entry = get_session().scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert (entry.action, entry.category) == ("subject_access_exported", "disclosure")


def test_a_right_to_know_case_has_no_applicant_to_answer(app, staff, clients):
    case, _ = make_case(app, Status.referred, route=Route.right_to_know,
                        officer=staff["case_officer"])
    response = clients["case_officer"].get(f"/records/cases/{case.id}/subject-access.pdf")
    assert response.status_code == 409
