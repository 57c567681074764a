"""The auditor's decision trail and the PDF decision record say who proposed and who confirmed
the subject's identity, when, on which register record and identifiers, and the checks done with
their results (issue 11, "For the auditor and the officer")."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from html import unescape

from pypdf import PdfReader

from disclosure_app.db import get_session
from disclosure_app.documents.pdf.records import build_case_record
from disclosure_app.models import Case
from disclosure_app.risk import risk_check
from tests.factories import SUBJECT_PERSON_ID, give_reason, make_case
from workflows.status import Status


def confirmed_case(app, staff) -> Case:
    """A case whose identity was proposed by the case officer and confirmed by the
    decision-maker, with every check recorded (tests.factories.resolve_risk_check)."""
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def who(user) -> str:
    return f"{user.display_name} ({user.role.label})"


def pdf_text(pdf: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", text)


def expected(app, staff, case_id: int) -> dict[str, str]:
    with app.app_context():
        session = get_session()
        decision = risk_check.decisions(session, case_id)[-1]
        return {
            "proposer": who(staff["case_officer"]),
            "confirmer": who(staff["decision_maker"]),
            "proposed_at": decision.proposed_at.strftime("%d %B %Y %H:%M UTC"),
            "reviewed_at": decision.reviewed_at.strftime("%d %B %Y %H:%M UTC"),
        }


def test_the_decision_trail_shows_who_proposed_and_who_confirmed_the_identity(app, staff,
                                                                               clients):
    case = confirmed_case(app, staff)
    response = clients["auditor"].get(f"/audit/cases/{case.id}")
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    section = page[page.index('data-testid="identity-trail"'):page.index(">Steps</h2>")]
    assert re.search(r'data-testid="identity-status">Confirmed<', section)
    assert f'data-testid="identity-record">{SUBJECT_PERSON_ID}<' in section
    proposed = re.search(r'data-testid="identity-proposed-by">([^<]+)<', section)
    assert proposed and proposed.group(1).startswith(who(staff["case_officer"]))
    outcome = re.search(r'data-testid="identity-outcome">(.+?)</dd>', section, re.S)
    assert outcome and outcome.group(1).startswith(
        f"Confirmed by {who(staff['decision_maker'])}")
    assert "Date of birth; Address history" in section
    assert "Checked the record and the case myself" in section  # the confirmer's reasons
    # The checks checklist with each result and reference.
    for source, reference in (("Police National Computer (PNC)", "PNC-0001"),
                              ("Probation / MAPPA", "PROBATION_MAPPA-0006")):
        row = section[section.index(source):]
        row = row[:row.index("</tr>")]
        assert "Done" in row and reference in row and "Nothing held on the subject." in row


def test_the_decision_record_pdf_shows_the_identity_and_the_checks(app, staff, clients):
    case = confirmed_case(app, staff)
    want = expected(app, staff, case.id)
    give_reason(clients["auditor"], case.id, section="decision_record")
    response = clients["auditor"].get(f"/documents/cases/{case.id}/decision-record.pdf")
    assert response.status_code == 200, response.status_code
    text = pdf_text(response.data)
    assert "Subject identity" in text
    assert f"Register record {SUBJECT_PERSON_ID}" in text
    assert f"Proposed by {want['proposer']}, {want['proposed_at']}" in text
    assert f"Confirmed by {want['confirmer']}, {want['reviewed_at']}" in text
    assert "Identifiers relied on Date of birth; Address history" in text
    assert "Police National Computer (PNC) Done; checked" in text
    assert "reference PNC-0001" in text
    assert text.count("Nothing held on the subject.") == 7


def test_the_pdf_rebuilt_for_the_same_case_is_the_same_bytes(app, staff):
    case = confirmed_case(app, staff)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with app.app_context():
        session = get_session()
        loaded = session.get(Case, case.id)
        first, second = (build_case_record(loaded, list(loaded.steps), force_name="Northshire",
                                           generated_at=at, generated_by="Auditor")
                         for _ in range(2))
    assert first == second
    assert SUBJECT_PERSON_ID in pdf_text(first)
