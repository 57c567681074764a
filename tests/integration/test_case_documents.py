"""The documents a case hands out and keeps: the undertaking for signature, the applicant's
outcome letter, the signed copy that comes back, and the case bundle for reviewers.

Every document served has the SHA-256 of its exact bytes in the audit chain; the letters carry
nothing about the subject; a signed copy is kept only with the ``record_undertaking`` step, for
a case with an approved disclosure, and only if it is really a PDF, PNG or JPEG.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import render_template
from pypdf import PdfReader
from sqlalchemy import func, select, update

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import chain_hash
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.documents import case_bundle
from disclosure_app.documents.case_documents import safe_filename
from disclosure_app.documents.case_page import case_documents
from disclosure_app.models import Applicant, AuditEntry, Case, CaseStep, StoredDocument, User
from disclosure_app.operations import demo
from disclosure_app.privacy.sealed import tag
from tests.conftest import complete_second_factor, make_app, sign_in
from tests.factories import (
    DISCLOSE,
    PASSWORD,
    SUBJECT_ADDRESS,
    SUBJECT_DOB,
    SUBJECT_NAME,
    give_reason,
    make_case,
)
from workflows.status import Route, Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

HOSTILE = '<b>x <img src="/etc/passwd"> <a href="javascript:alert(1)">y</a> <font color="red">'
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
MISSING_ID = 999_999


# --- Helpers -----------------------------------------------------------------------------------


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def _url(case_id: int, name: str) -> str:
    return f"/documents/cases/{case_id}/{name}"


def _entries(app, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = get_session().scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        return [{"seq": r.seq, "case_id": r.case_id, "category": r.category,
                 "actor_id": r.actor_id, **json.loads(r.payload)["details"]} for r in rows]


def _written(app, case_id: int) -> dict[str, Any]:
    """Everything recording a signed undertaking could change."""
    with app.app_context():
        session = get_session()
        case = session.get(Case, case_id)
        return {
            "stored": session.scalar(select(func.count()).select_from(StoredDocument)),
            "version": case.version,
            "undertaking_recorded": case.undertaking_recorded,
            "steps": session.scalar(select(func.count()).select_from(CaseStep)),
            "chain": audit.chain_length(session),
        }


def _step(app, case_id: int, event: str, data: dict[str, Any], user: User) -> None:
    with app.app_context():
        session = get_session()
        now = datetime.now(UTC)
        take_step(session, StepRequest(case_id, event, session.get(Case, case_id).version,
                                       data, f"Test rationale for {event}."),
                  user=user, policy=app.extensions["case_policy"], now=now)


def _decide(app, staff, case_id: int, event: str, data: dict[str, Any]) -> None:
    """A decision by one decision-maker, approved by a second."""
    _step(app, case_id, event, data, staff["decision_maker"])
    _step(app, case_id, "countersign_decision", demo.COUNTERSIGN, staff["decision_maker_2"])


def _case(app, staff, status: Status, **kw: Any) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"],
                        **kw)
    return case


def _version(app, case_id: int) -> int:
    with app.app_context():
        return get_session().get(Case, case_id).version


def upload(client, case_id: int, *, version: int, content: bytes, filename: str = "scan.pdf",
            content_type: str = "application/pdf", signed_by: str = "Laura Bennett",
            key: str | None = None, signed_on: datetime | None = None, **extra: Any):
    day = (signed_on or datetime.now(UTC)).date()
    data: dict[str, Any] = {
        "signed_on": [str(day.day), str(day.month), str(day.year)],
        "signed_by": signed_by,
        "rationale": "Signed in front of DC Shah and the social worker.",
        "expected_version": str(version),
        "submission_key": key or new_key(),
        **extra,
    }
    if content is not None:
        data["document"] = (io.BytesIO(content), filename, content_type)
    return client.post(_url(case_id, "signed-undertaking"), data=data,
                       content_type="multipart/form-data")


def _subject_markers(app, case_id: int) -> list[str]:
    """Everything recorded about the subject (and the concern) that must never be printed."""
    with app.app_context():
        case = get_session().get(Case, case_id)
        subject, applicant = case.subject, case.applicant
        dob = subject.date_of_birth
        markers = [subject.full_name, *subject.full_name.split(), subject.address,
                   subject.postcode, subject.relationship_to_child,
                   applicant.relationship_to_subject, case.concern,
                   *(child.full_name for child in case.children)]
        markers += [dob.isoformat(), f"{dob.day} {dob:%B %Y}", f"{dob:%d/%m/%Y}",
                    f"{dob:%d %B %Y}"]
    assert SUBJECT_NAME in markers and SUBJECT_ADDRESS in markers and SUBJECT_DOB in markers
    return [m for m in markers if m]


@pytest.fixture
def approved(app, staff) -> Case:
    """A Right to Ask case whose disclosure to the applicant is approved, not yet delivered."""
    return _case(app, staff, Status.disclosure_approved)


@pytest.fixture
def not_disclosed(app, staff) -> Case:
    """A Right to Ask case whose decision not to disclose has been approved."""
    return _case(app, staff, Status.no_disclosure_decided)


@pytest.fixture
def third_party(app, staff, clients) -> Case:
    """A Right to Ask case where the disclosure went to someone else, now delivered."""
    case = _case(app, staff, Status.awaiting_decision)
    _decide(app, staff, case.id, "approve_disclosure_to_other",
            {**DISCLOSE, "recipient_name": "Rita Recipient",
             "recipient_relationship": "Grandmother"})
    undertaking = clients["case_officer"].get(_url(case.id, "undertaking.pdf")).data
    response = upload(clients["case_officer"], case.id, version=_version(app, case.id),
                       content=undertaking, signed_by="Rita Recipient")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    _step(app, case.id, "record_disclosure_delivered",
          {**demo.DELIVERED, "meeting_date": datetime.now(UTC).date().isoformat()},
          staff["case_officer"])
    with app.app_context():
        case = get_session().get(Case, case.id)
        assert (case.status, case.recipient_is_applicant) == (Status.disclosure_delivered, False)
    return case


# --- The applicant's letter ---------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "name", "kind"), [
    ("not_disclosed", "non-disclosure-letter.pdf", "non_disclosure_letter"),
    ("third_party", "closure-letter.pdf", "closure_letter"),
])
def test_the_applicants_letter_contains_no_subject_data_and_its_hash_is_in_the_chain(
    request, app, staff, clients, fixture, name, kind
):
    case = request.getfixturevalue(fixture)
    response = clients["case_officer"].get(_url(case.id, name))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="applicant-letter-{case.reference}.pdf"')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    text = _text(response.data)
    assert "We have completed our checks." in text
    assert "appropriate action taken where necessary" in text
    assert "No inference may be drawn from this letter." in text
    assert "call 999" in text and "call 101" in text and "0808 800 5000" in text
    assert "Dear Alice Applicant," in text and case.reference in text
    for marker in _subject_markers(app, case.id):
        assert marker not in text, marker
    [entry] = _entries(app, "document_generated")[-1:]
    assert entry["document"] == kind
    assert entry["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert (entry["case_id"], entry["category"]) == (case.id, "disclosure")
    assert entry["recipient_type"] == "applicant"
    assert entry["actor_id"] == staff["case_officer"].id
    assert "Alice" not in json.dumps(entry)


def test_the_two_letters_differ_only_in_the_case_reference(app, clients, not_disclosed,
                                                           third_party):
    """A third-party applicant must not be able to tell from their letter whether anything was
    found: the letters match in words, length, title and file name."""
    officer = clients["case_officer"]
    a = officer.get(_url(not_disclosed.id, "non-disclosure-letter.pdf"))
    b = officer.get(_url(third_party.id, "closure-letter.pdf"))
    text_a = _text(a.data).replace(not_disclosed.reference, "REF")
    text_b = _text(b.data).replace(third_party.reference, "REF")
    assert text_a == text_b
    reader_a, reader_b = PdfReader(io.BytesIO(a.data)), PdfReader(io.BytesIO(b.data))
    assert len(reader_a.pages) == len(reader_b.pages) == 1
    assert reader_a.metadata.title == reader_b.metadata.title
    assert reader_a.metadata.subject == reader_b.metadata.subject
    assert (a.headers["Content-Disposition"].replace(not_disclosed.reference, "REF")
            == b.headers["Content-Disposition"].replace(third_party.reference, "REF"))


# --- The undertaking for signature ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["case_officer", "decision_maker"])
def test_police_produce_the_undertaking_for_an_approved_disclosure(app, clients, approved,
                                                                   role):
    response = clients[role].get(_url(approved.id, "undertaking.pdf"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="confidentiality-undertaking-{approved.reference}.pdf"')
    text = _text(response.data)
    assert f"Case reference {approved.reference}" in text
    assert f"Person receiving the information {DISCLOSE['recipient_name']}" in text
    assert "I will use the information only to protect the child" in text
    for marker in _subject_markers(app, approved.id):
        assert marker not in text, marker
    [entry] = _entries(app, "document_generated")
    assert entry["document"] == "undertaking"
    assert entry["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert entry["recipient_type"] == "applicant"


def test_the_undertaking_for_another_recipient_names_them(app, clients, third_party):
    entries = _entries(app, "document_generated")
    assert [(e["document"], e["recipient_type"]) for e in entries] == [
        ("undertaking", "other_person")]


@pytest.mark.parametrize(("status", "name"), [
    (Status.awaiting_decision, "undertaking.pdf"),
    (Status.decision_pending_approval, "undertaking.pdf"),
    (Status.no_disclosure_decided, "undertaking.pdf"),
    (Status.awaiting_decision, "non-disclosure-letter.pdf"),
    (Status.decision_pending_approval, "non-disclosure-letter.pdf"),
    (Status.disclosure_approved, "non-disclosure-letter.pdf"),
    (Status.disclosure_approved, "closure-letter.pdf"),
    (Status.no_disclosure_decided, "closure-letter.pdf"),
    (Status.closed, "closure-letter.pdf"),  # the applicant was the recipient
])
def test_a_document_outside_its_moment_is_refused_with_409_and_nothing_logged(
    app, staff, clients, status, name
):
    case = _case(app, staff, status)
    response = clients["case_officer"].get(_url(case.id, name))
    assert response.status_code == 409
    assert "only" in response.get_data(as_text=True)
    assert _entries(app, "document_generated") == []


def test_a_right_to_know_case_has_no_applicant_letter(app, staff, clients):
    case = _case(app, staff, Status.awaiting_decision, route=Route.right_to_know)
    response = clients["case_officer"].get(_url(case.id, "non-disclosure-letter.pdf"))
    assert response.status_code == 409
    assert "no applicant" in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["undertaking.pdf", "non-disclosure-letter.pdf",
                                  "closure-letter.pdf"])
@pytest.mark.parametrize("role", ["partner", "auditor", "admin"])
def test_other_roles_cannot_produce_documents_for_people(app, clients, approved, role, name):
    assert clients[role].get(_url(approved.id, name)).status_code == 403
    assert _entries(app, "document_generated") == []


def test_a_missing_case_is_404(app, clients):
    assert clients["case_officer"].get(_url(MISSING_ID, "undertaking.pdf")).status_code == 404
    assert clients["auditor"].get(_url(MISSING_ID, "bundle.zip")).status_code == 404


def test_markup_in_the_recipients_name_and_the_applicants_address_is_printed_literally(
    app, staff, clients
):
    case = _case(app, staff, Status.awaiting_decision)
    _decide(app, staff, case.id, "approve_disclosure_to_applicant",
            {**DISCLOSE, "recipient_name": HOSTILE})
    letter_case = _case(app, staff, Status.no_disclosure_decided)
    with app.app_context():
        session = get_session()
        key_id = session.get(Case, letter_case.id).data_key_id
        session.execute(update(Applicant).where(Applicant.case_id == letter_case.id)
                        .values(full_name=tag(HOSTILE, key_id),
                                address=tag(HOSTILE + "\n" + HOSTILE, key_id)))
        session.commit()
    for url in (_url(case.id, "undertaking.pdf"),
                _url(letter_case.id, "non-disclosure-letter.pdf")):
        response = clients["case_officer"].get(url)
        assert response.status_code == 200, url
        assert HOSTILE in _text(response.data), url
        for marker in (b"/URI", b"/JavaScript", b"/Launch", b"/XObject"):
            assert marker not in response.data


# --- The signed copy ------------------------------------------------------------------------------


def test_the_signed_copy_is_kept_with_the_step_and_its_hash_is_in_the_chain(
    app, staff, clients, approved
):
    officer = clients["case_officer"]
    page = officer.get(_url(approved.id, "signed-undertaking"))
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    signed = officer.get(_url(approved.id, "undertaking.pdf")).data
    before = _written(app, approved.id)
    response = upload(officer, approved.id, version=before["version"], content=signed,
                       filename="C:\\Scans\\../undertaking <signed>.PDF")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/cases/{approved.id}")
    after = _written(app, approved.id)
    assert after["stored"] == before["stored"] + 1 and after["undertaking_recorded"]
    assert after["steps"] == before["steps"] + 1
    with app.app_context():
        session = get_session()
        document = session.scalars(select(StoredDocument)).one()
        step = session.scalars(select(CaseStep).where(CaseStep.event == "record_undertaking")
                               ).one()
        entry = session.get(AuditEntry, step.audit_seq)
        codes = json.loads(entry.payload)["details"]["codes"]
        assert (document.filename, document.media_type) == ("undertaking-signed.pdf",
                                                            "application/pdf")
        assert document.sha256 == hashlib.sha256(signed).hexdigest() == codes["document_sha256"]
        assert document.size_bytes == len(signed) and document.content == signed
        assert document.audit_seq == step.audit_seq
        assert document.uploaded_by_id == staff["case_officer"].id
        assert step.data["signed_by"] == "Laura Bennett"
        assert step.data["document_name"] == "undertaking-signed.pdf"
        assert audit.verify_chain(session).ok


@pytest.mark.parametrize("role", ["case_officer", "decision_maker", "auditor"])
def test_police_and_auditors_open_a_kept_copy_and_the_consultation_is_logged(
    app, staff, clients, approved, role
):
    upload(clients["case_officer"], approved.id, version=_version(app, approved.id),
            content=PNG, filename="photo.png", content_type="image/png")
    with app.app_context():
        document_id = get_session().scalars(select(StoredDocument.id)).one()
    response = clients[role].get(_url(approved.id, f"stored/{document_id}"))
    assert response.status_code == 200
    assert response.data == PNG and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == 'attachment; filename="photo.png"'
    assert response.headers["Cache-Control"] == "no-store"
    [entry] = _entries(app, "stored_document_opened")
    assert (entry["category"], entry["actor_id"]) == ("consultation", staff[role].id)
    assert entry["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert entry["document_id"] == document_id


def test_a_kept_copy_is_not_served_under_another_case_or_to_partners(app, staff, clients,
                                                                     approved):
    upload(clients["case_officer"], approved.id, version=_version(app, approved.id),
            content=JPEG, filename="photo.jpg", content_type="image/jpeg")
    other = _case(app, staff, Status.awaiting_decision)
    with app.app_context():
        document_id = get_session().scalars(select(StoredDocument.id)).one()
    assert clients["auditor"].get(_url(other.id, f"stored/{document_id}")).status_code == 404
    assert clients["partner"].get(_url(approved.id, f"stored/{document_id}")).status_code == 403
    assert clients["admin"].get(_url(approved.id, f"stored/{document_id}")).status_code == 403
    assert _entries(app, "stored_document_opened") == []


def test_a_kept_copy_that_no_longer_matches_the_chain_is_not_served(app, clients, approved):
    upload(clients["case_officer"], approved.id, version=_version(app, approved.id),
            content=PNG, filename="photo.png", content_type="image/png")
    with app.app_context():
        session = get_session()
        key_id = session.get(Case, approved.id).data_key_id
        session.execute(update(StoredDocument).values(content=tag(PNG + b"tampered", key_id),
                                                      sha256="f" * 64))
        session.commit()
        document_id = session.scalars(select(StoredDocument.id)).one()
    response = clients["auditor"].get(_url(approved.id, f"stored/{document_id}"))
    assert response.status_code == 409
    assert "no longer match" in response.get_data(as_text=True)
    assert _entries(app, "stored_document_opened") == []


def test_content_decides_the_type_and_the_stored_name(app, clients, approved):
    response = upload(clients["case_officer"], approved.id, version=_version(app, approved.id),
                       content=PNG, filename="../../etc/passwd<script>.pdf",
                       content_type="application/pdf")
    assert response.status_code == 303
    with app.app_context():
        document = get_session().scalars(select(StoredDocument)).one()
        assert (document.filename, document.media_type) == ("passwd-script.png", "image/png")


@pytest.mark.parametrize("status", [Status.awaiting_decision, Status.decision_pending_approval,
                                    Status.no_disclosure_decided, Status.disclosure_delivered])
def test_an_undertaking_for_a_case_with_no_approved_disclosure_is_refused_and_nothing_kept(
    app, staff, clients, status
):
    case = _case(app, staff, status)
    before = _written(app, case.id)
    response = upload(clients["case_officer"], case.id, version=before["version"], content=PNG,
                       filename="photo.png", content_type="image/png")
    assert response.status_code == 409
    assert "is not possible while the case is at" in response.get_data(as_text=True)
    assert _written(app, case.id) == before
    assert clients["case_officer"].get(_url(case.id, "signed-undertaking")).status_code == 409


@pytest.mark.parametrize(("content", "filename", "content_type", "message"), [
    (b"", "empty.pdf", "application/pdf", "The selected file is empty"),
    (b"<html><script>alert(1)</script></html>", "undertaking.pdf", "application/pdf",
     "must be a PDF, PNG or JPEG"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "scan.png", "image/png",
     "must be a PDF, PNG or JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"not an image", "scan.png", "image/png",
     "must be a PDF, PNG or JPEG"),
    (b"%PDF-1.7\n1 0 obj << >> endobj\n", "cut-short.pdf", "application/pdf",
     "must be a PDF, PNG or JPEG"),
    (b"GIF89a\x01\x00\x01\x00", "scan.jpg", "image/jpeg", "must be a PDF, PNG or JPEG"),
], ids=["empty", "html-as-pdf", "exe-as-png", "png-signature-only", "truncated-pdf", "gif"])
def test_a_bad_or_disguised_file_is_refused_with_400_and_nothing_kept(
    app, clients, approved, content, filename, content_type, message
):
    before = _written(app, approved.id)
    response = upload(clients["case_officer"], approved.id, version=before["version"],
                       content=content, filename=filename, content_type=content_type)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "govuk-error-summary" in body and message in body
    assert _written(app, approved.id) == before


def test_a_file_over_the_configured_limit_is_refused_with_400_and_nothing_kept(
    app, clients, approved
):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    before = _written(app, approved.id)
    response = upload(clients["case_officer"], approved.id, version=before["version"],
                       content=b"%PDF-1.4\n" + b"0" * 2000 + b"\n%%EOF\n")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "govuk-error-summary" in body and "must be smaller than 1 KB" in body
    assert _written(app, approved.id) == before


def test_a_request_far_over_the_limit_is_413_and_nothing_kept(app, clients, approved):
    app.config["UPLOAD_MAX_BYTES"] = 1024
    before = _written(app, approved.id)
    response = upload(clients["case_officer"], approved.id, version=before["version"],
                       content=b"%PDF-1.4\n" + b"0" * (400 * 1024) + b"\n%%EOF\n")
    assert response.status_code == 413
    assert "The file must be smaller than 1 KB" in response.get_data(as_text=True)
    assert _written(app, approved.id) == before


def test_a_form_without_a_file_or_date_is_refused_with_400(app, clients, approved):
    before = _written(app, approved.id)
    response = clients["case_officer"].post(
        _url(approved.id, "signed-undertaking"),
        data={"expected_version": str(before["version"]), "submission_key": new_key()},
        content_type="multipart/form-data")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Select the signed copy of the undertaking" in body
    assert _written(app, approved.id) == before


def test_a_signature_date_in_the_future_is_refused_with_400(app, clients, approved):
    before = _written(app, approved.id)
    response = upload(clients["case_officer"], approved.id, version=before["version"],
                       content=PNG, filename="p.png", content_type="image/png",
                       signed_on=datetime.now(UTC) + timedelta(days=3))
    assert response.status_code == 400
    assert "today or in the past" in response.get_data(as_text=True)
    assert _written(app, approved.id) == before


def test_a_stale_form_is_refused_with_409_and_nothing_kept(app, staff, clients, approved):
    old_version = _version(app, approved.id)
    _step(app, approved.id, "raise_urgent_safeguarding", {
        "risk_identified": "New threat.", "action_taken": "csc_referral",
        "who_was_informed": "Duty social worker"}, staff["case_officer"])
    before = _written(app, approved.id)
    response = upload(clients["case_officer"], approved.id, version=old_version, content=PNG,
                       filename="p.png", content_type="image/png")
    assert response.status_code == 409
    assert 'data-testid="stale-case"' in response.get_data(as_text=True)
    assert _written(app, approved.id) == before


def test_the_same_form_sent_twice_keeps_one_copy(app, clients, approved):
    key = new_key()
    version = _version(app, approved.id)
    first = upload(clients["case_officer"], approved.id, version=version, content=PNG,
                    filename="p.png", content_type="image/png", key=key)
    second = upload(clients["case_officer"], approved.id, version=version, content=PNG,
                     filename="p.png", content_type="image/png", key=key)
    assert first.status_code == second.status_code == 303
    assert _written(app, approved.id)["stored"] == 1


@pytest.mark.parametrize("role", ["decision_maker", "partner", "auditor", "admin"])
def test_only_the_case_officer_records_the_signed_copy(app, clients, approved, role):
    before = _written(app, approved.id)
    response = upload(clients[role], approved.id, version=before["version"], content=PNG,
                       filename="p.png", content_type="image/png")
    assert response.status_code == 403
    assert _written(app, approved.id) == before


def _csrf_token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_with_csrf_on_an_upload_larger_than_the_app_wide_form_limit_is_accepted(
    database, staff, approved
):
    """CSRFProtect reads the body before any view, so the upload's own limit must already be in
    force by then; a post without the token still keeps nothing."""
    csrf_app = make_app(database, WTF_CSRF_ENABLED=True)
    try:
        client = csrf_app.test_client()
        client.post("/staff/sign-in", data={
            "email": staff["case_officer"].email, "password": PASSWORD,
            "csrf_token": _csrf_token(client, "/staff/sign-in")})
        complete_second_factor(csrf_app, client, staff["case_officer"].email)
        token = _csrf_token(client, _url(approved.id, "signed-undertaking"))
        big = b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n"
        assert len(big) > csrf_app.config["MAX_CONTENT_LENGTH"]
        version = _version(csrf_app, approved.id)
        refused = upload(client, approved.id, version=version, content=big)
        assert refused.status_code == 400
        assert _written(csrf_app, approved.id)["stored"] == 0
        csrf_app.config["UPLOAD_MAX_BYTES"] = 1024
        too_big = upload(client, approved.id, version=version, content=big, csrf_token=token)
        assert too_big.status_code == 413
        csrf_app.config["UPLOAD_MAX_BYTES"] = 10 * 1024 * 1024
        response = upload(client, approved.id, version=version, content=big, csrf_token=token)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        assert _written(csrf_app, approved.id)["stored"] == 1
    finally:
        csrf_app.extensions["db_engine"].dispose()


# --- The case bundle ------------------------------------------------------------------------------


def test_the_bundle_holds_verifiable_copies_of_everything_and_the_chain_entries(
    app, staff, clients, third_party
):
    served = clients["case_officer"].get(_url(third_party.id, "closure-letter.pdf")).data
    asked = clients["auditor"].get(_url(third_party.id, "bundle.zip"))
    assert asked.status_code == 302 and "/reason" in asked.headers["Location"]  # why, first
    give_reason(clients["auditor"], third_party.id, section="decision_record")
    response = clients["auditor"].get(_url(third_party.id, "bundle.zip"))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="case-bundle-{third_party.reference}.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert names == sorted(names)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for name, entry in listed.items():
        content = archive.read(name)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
        assert entry["size"] == len(content)
    assert manifest["reference"] == third_party.reference
    assert manifest["exported_by"]["user_id"] == staff["auditor"].id

    # The decision record, every document handed out (matching the chain), the signed copy.
    assert f"decision-record-{third_party.reference}.pdf" in names
    generated = {f["name"]: f for f in manifest["files"] if f["name"].startswith("generated/")}
    assert sorted(n.split("-", 1)[1] for n in generated) == ["closure_letter.pdf",
                                                            "undertaking.pdf"]
    assert all(f["matches_chain"] for f in generated.values())
    letter = next(n for n in generated if n.endswith("closure_letter.pdf"))
    assert archive.read(letter) == served
    [stored] = [f for f in manifest["files"] if f["name"].startswith("stored/")]
    assert stored["matches_chain"] and stored["kind"] == "signed_undertaking"

    # The audit entries are exactly the chain's, and each hash recomputes.
    entries = json.loads(archive.read("audit-entries.json"))
    with app.app_context():
        rows = list(get_session().scalars(select(AuditEntry).where(
            AuditEntry.case_id == third_party.id).order_by(AuditEntry.seq)))
        assert entries == [case_bundle.audit_entry_record(row) for row in rows[:-1]]
        export = rows[-1]
    for entry in entries:
        assert chain_hash(entry["prev_hash"], entry["payload"]) == entry["entry_hash"]
    assert manifest["chain_head_at_export"]["seq"] == export.seq - 1

    # The export itself is logged with the SHA-256 of the bundle served.
    details = json.loads(export.payload)["details"]
    assert export.action == "case_bundle_exported" and export.category == "disclosure"
    assert details["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert export.actor_id == staff["auditor"].id


def test_a_document_that_no_longer_rebuilds_the_same_is_flagged_in_the_manifest(
    app, clients, not_disclosed
):
    clients["case_officer"].get(_url(not_disclosed.id, "non-disclosure-letter.pdf"))
    with app.app_context():
        session = get_session()
        key_id = session.get(Case, not_disclosed.id).data_key_id
        session.execute(update(Applicant).where(Applicant.case_id == not_disclosed.id)
                        .values(address=tag("1 Somewhere Else", key_id)))
        session.commit()
    give_reason(clients["auditor"], not_disclosed.id, section="decision_record")
    archive = zipfile.ZipFile(io.BytesIO(
        clients["auditor"].get(_url(not_disclosed.id, "bundle.zip")).data))
    [letter] = [f for f in json.loads(archive.read("manifest.json"))["files"]
                if f["name"].startswith("generated/")]
    assert letter["matches_chain"] is False


def test_the_bundle_zip_is_deterministic():
    files = {"b.txt": b"two", "a/x.json": b"{}", "manifest.json": b"[]"}
    assert case_bundle._zip(files) == case_bundle._zip(dict(reversed(list(files.items()))))


@pytest.mark.parametrize("role", ["case_officer", "decision_maker", "partner", "admin"])
def test_only_auditors_export_the_bundle(app, clients, approved, role):
    assert clients[role].get(_url(approved.id, "bundle.zip")).status_code == 403
    assert _entries(app, "case_bundle_exported") == []


# --- The case page's documents part --------------------------------------------------------------


def _partial(app, case_id: int, user: User) -> str:
    with app.test_request_context():
        case = get_session().get(Case, case_id)
        return render_template("documents/_case_documents.html",
                               case_documents=case_documents(case, user))


def test_the_case_page_part_offers_each_person_what_they_may_do(app, staff, clients, approved):
    upload(clients["case_officer"], approved.id, version=_version(app, approved.id),
            content=PNG, filename="photo.png", content_type="image/png")
    officer = _partial(app, approved.id, staff["case_officer"])
    assert f"/documents/cases/{approved.id}/undertaking.pdf" in officer
    assert f"/documents/cases/{approved.id}/signed-undertaking" in officer
    assert "photo.png" in officer and "letter" not in officer.lower()
    decider = _partial(app, approved.id, staff["decision_maker"])
    assert "undertaking.pdf" in decider and "signed-undertaking" not in decider
    auditor = _partial(app, approved.id, staff["auditor"])
    assert "bundle.zip" in auditor and "photo.png" in auditor and "undertaking.pdf" not in auditor
    assert _partial(app, approved.id, staff["partner"]).strip() == ""
    assert _partial(app, approved.id, staff["admin"]).strip() == ""


def test_a_signed_in_case_officer_can_walk_from_undertaking_to_delivery(app, staff, approved):
    """Download the undertaking, upload it signed, then record the disclosure as delivered."""
    officer = sign_in(app, staff["case_officer"].email)
    signed = officer.get(_url(approved.id, "undertaking.pdf")).data
    assert upload(officer, approved.id, version=_version(app, approved.id),
                   content=signed).status_code == 303
    _step(app, approved.id, "record_disclosure_delivered",
          {**demo.DELIVERED, "meeting_date": datetime.now(UTC).date().isoformat()},
          staff["case_officer"])
    with app.app_context():
        assert get_session().get(Case, approved.id).status is Status.disclosure_delivered


@pytest.mark.parametrize(("claimed", "expected"), [
    ("C:\\fakepath\\Scan 01.PDF", "Scan-01.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("Ünterschrift – signed.jpeg", "Unterschrift-signed.pdf"),
    ("...", "signed-undertaking.pdf"),
    ("", "signed-undertaking.pdf"),
    ("a" * 300 + ".pdf", "a" * 80 + ".pdf"),
])
def test_stored_names_are_made_by_the_server(claimed, expected):
    assert safe_filename(claimed, "pdf") == expected
