"""Downloading a case's PDF decision record: who may, what it holds, and the log entry (with the
SHA-256 of the exact bytes served) that every download leaves."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from disclosure_app.audit import chain as audit
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from disclosure_app.operations import demo
from tests.factories import give_reason, make_case
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

HOSTILE = '<b>unclosed <img src="/etc/passwd"> <a href="javascript:alert(1)">x</a> ' \
          '<font color="red">red</font>'


@pytest.fixture
def closed_case(app, staff):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return case


def _url(case_id: int) -> str:
    return f"/documents/cases/{case_id}/decision-record.pdf"


def _download(client, case_id: int):  # type: ignore[no-untyped-def]
    """The record holds the sensitive sections: a reason first (once per case per session)."""
    give_reason(client, case_id, section="decision_record", reason="audit")
    return client.get(_url(case_id))


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _downloads(app) -> list[AuditEntry]:
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "document_downloaded").order_by(AuditEntry.seq)))
        session.expunge_all()
        return rows


@pytest.mark.parametrize("role", ["case_officer", "decision_maker", "auditor"])
def test_police_and_auditors_download_the_record_as_an_uncached_attachment(
    closed_case, clients, role
):
    response = _download(clients[role], closed_case.id)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="decision-record-{closed_case.reference}.pdf"')
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"%PDF")


def test_the_record_of_a_closed_case_holds_every_rationale_and_the_limbs(app, closed_case,
                                                                          clients):
    text = _text(_download(clients["auditor"], closed_case.id).data)
    with app.app_context():
        events = [s.event for s in get_session().get(Case, closed_case.id).steps]
    assert len(events) == 11
    for event in events[1:]:  # the public submission has no rationale
        assert f"Test rationale for {event}." in text
    for limb in ("lawful_basis", "necessity", "proportionality"):
        assert re.sub(r"\s+", " ", demo.DISCLOSE[limb]) in text
    for label in ("Lawful basis", "Necessity (pressing need)", "Proportionality"):
        assert label in text
    assert "OFFICIAL-SENSITIVE" in text and closed_case.reference in text


def test_the_download_is_logged_with_the_sha256_of_the_bytes_served(app, staff, closed_case,
                                                                     clients):
    response = _download(clients["case_officer"], closed_case.id)
    [entry] = _downloads(app)
    details = json.loads(entry.payload)["details"]
    assert details["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert details["document"] == "decision_record"
    assert details["reference"] == closed_case.reference
    assert details["recipient_user_id"] == staff["case_officer"].id
    assert entry.case_id == closed_case.id
    assert entry.category == "disclosure"
    assert entry.actor_id == staff["case_officer"].id
    with app.app_context():
        assert audit.verify_chain(get_session()).ok


@pytest.mark.parametrize("role", ["partner", "admin"])
def test_partners_and_admins_are_refused(app, closed_case, clients, role):
    assert clients[role].get(_url(closed_case.id)).status_code == 403
    assert _downloads(app) == []


def test_anonymous_visitors_are_sent_to_sign_in(closed_case, clients):
    response = clients["anonymous"].get(_url(closed_case.id))
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_an_unknown_case_is_404_and_nothing_is_logged(app, closed_case, clients):
    assert clients["auditor"].get(_url(999999)).status_code == 404
    assert _downloads(app) == []


def test_markup_typed_by_an_officer_is_printed_literally(app, staff, clients):
    case, _ = make_case(app, Status.received, officer=staff["case_officer"])
    with app.app_context():
        session = get_session()
        version = session.get(Case, case.id).version
        take_step(session, StepRequest(case.id, "start_checks", version, {}, HOSTILE),
                  user=staff["case_officer"], policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
    response = _download(clients["decision_maker"], case.id)
    assert response.status_code == 200
    assert HOSTILE in _text(response.data)
    for marker in (b"/URI", b"/JavaScript", b"/Launch", b"/XObject"):
        assert marker not in response.data


def test_a_record_over_the_page_cap_is_refused_and_not_logged(app, closed_case, clients,
                                                              monkeypatch):
    from disclosure_app.documents.pdf import records

    monkeypatch.setattr(records, "MAX_PAGES", 1)
    response = _download(clients["auditor"], closed_case.id)
    assert response.status_code == 422
    assert "longer than 1 pages" in response.get_data(as_text=True)
    assert _downloads(app) == []


def test_without_a_reason_the_download_asks_for_one_and_comes_back(app, closed_case, clients):
    client = clients["decision_maker"]
    response = client.get(_url(closed_case.id))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert f"/staff/cases/{closed_case.id}/reason" in location
    assert "section=decision_record" in location
    assert _downloads(app) == []
    answered = client.post(f"/staff/cases/{closed_case.id}/reason", data={
        "reason": "decision", "note": "", "section": "decision_record",
        "next": _url(closed_case.id)})
    assert answered.status_code == 303
    assert answered.headers["Location"].endswith(_url(closed_case.id))
    assert client.get(_url(closed_case.id)).status_code == 200
    [entry] = _downloads(app)
    reason_seq = json.loads(entry.payload)["details"]["reason_seq"]
    with app.app_context():
        reason = get_session().get(AuditEntry, reason_seq)
        assert reason.action == "sensitive_access_justified"
        assert json.loads(reason.payload)["details"]["reason_code"] == "decision"
