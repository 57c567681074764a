"""The case page offers only what can succeed, and says before any form why a step cannot be
taken yet (issue 11); a document link followed when a fresh code is due shows "Confirm it is
you" rather than saving it as a file, and the code brings the document.

The reasons come from the workflow machine's own validators: the page shows the very message
the machine gives when the step is forced, and the forced POST is still refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import Case
from disclosure_app.operations import demo
from disclosure_app.risk import risk_check
from disclosure_app.security import mfa
from tests.factories import DISCLOSE, make_case, record_undertaking, resolve, totp_secret_for
from tests.integration.test_staff_steps import form_payload, snapshot
from workflows.status import Status
from workflows.steps import step_for

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

DISCLOSURES = ("approve_disclosure_to_applicant", "approve_disclosure_to_other",
               "approve_other_information")


def new_case(app, staff, status: Status) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def page_of(client, case_id: int) -> str:
    response = client.get(f"/staff/cases/{case_id}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def offered(page: str) -> set[str]:
    return set(re.findall(r'<a class="govuk-button[^"]*"[^>]*data-event="(\w+)"', page))


def not_yet(page: str) -> dict[str, str]:
    """Greyed steps and the reason shown under each."""
    items = re.findall(r'data-unavailable-event="(\w+)">(.*?)</li>', page, flags=re.S)
    return {event: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
            for event, body in items}


def version_of(app, case_id: int) -> int:
    with app.app_context():
        return get_session().get(Case, case_id).version


def no_trace_case(app, staff) -> Case:
    """A case whose risk check found no trace of the subject, now awaiting the decision."""
    case = new_case(app, staff, Status.full_risk_assessment)
    policy, now = app.extensions["case_policy"], datetime.now(UTC)
    officer = staff["case_officer"]
    with app.app_context():
        session = get_session()
        risk_check.record_no_trace(session, officer, case.id, now=now,
                                   note="Only namesakes with other dates of birth.")
        risk_check.record_every_check(session, officer, case.id, policy=policy, now=now)
        take_step(session, StepRequest(case.id, "complete_assessment",
                                       session.get(Case, case.id).version,
                                       demo.ASSESS_NOTHING, "Nothing held."),
                  user=officer, policy=policy, now=now)
        assert session.get(Case, case.id).status is Status.awaiting_decision
    return case


def page_message(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.get_data(as_text=True)))


# --- Disclosure on a "no trace" case -----------------------------------------------------------


def test_a_no_trace_case_offers_no_disclosure_and_says_why_before_the_form(app, staff, clients):
    case = no_trace_case(app, staff)
    decider = clients["decision_maker"]

    page = page_of(decider, case.id)

    assert "decide_no_disclosure" in offered(page)
    assert not offered(page) & set(DISCLOSURES)
    reasons = not_yet(page)
    assert set(DISCLOSURES) <= set(reasons)
    for event in DISCLOSURES:
        assert f"/steps/{event}\"" not in page
        assert "identity is not confirmed" in reasons[event]
        assert reasons[event].startswith(f"{step_for(event).title} You cannot do this yet.")


def test_a_disclosure_forced_on_a_no_trace_case_is_still_refused(app, staff, clients):
    case = no_trace_case(app, staff)
    decider = clients["decision_maker"]
    url = f"/staff/cases/{case.id}/steps/approve_disclosure_to_applicant"
    before = snapshot(app, case.id)

    opened = decider.get(url)
    forced = decider.post(url, data=form_payload(
        "approve_disclosure_to_applicant", resolve(DISCLOSE, datetime.now(UTC)),
        version_of(app, case.id), rationale="Necessary and proportionate."))

    assert opened.status_code == 409
    assert forced.status_code == 409
    assert snapshot(app, case.id) == before
    # The page said what the machine says when the step is sent.
    shown = not_yet(page_of(decider, case.id))["approve_disclosure_to_applicant"]
    machine_says = "The subject's identity is not confirmed, so nothing can be disclosed"
    assert machine_says in shown and machine_says in page_message(forced)
    assert machine_says in page_message(opened)


# --- Recording the disclosure before the signed undertaking ------------------------------------


def test_delivery_is_not_offered_before_the_signed_undertaking(app, staff, clients):
    case = new_case(app, staff, Status.disclosure_approved)
    officer = clients["case_officer"]

    page = page_of(officer, case.id)

    assert "record_disclosure_delivered" not in offered(page)
    assert "/steps/record_disclosure_delivered\"" not in page
    reason = not_yet(page)["record_disclosure_delivered"]
    assert reason.startswith("Record the face-to-face disclosure You cannot do this yet.")
    assert "signed confidentiality undertaking" in reason


def test_delivery_forced_before_the_signed_undertaking_is_still_refused(app, staff, clients):
    case = new_case(app, staff, Status.disclosure_approved)
    officer = clients["case_officer"]
    url = f"/staff/cases/{case.id}/steps/record_disclosure_delivered"
    before = snapshot(app, case.id)

    opened = officer.get(url)
    forced = officer.post(url, data=form_payload(
        "record_disclosure_delivered",
        {**demo.DELIVERED, "meeting_date": datetime.now(UTC).date().isoformat()},
        version_of(app, case.id)))

    assert opened.status_code == 409 and forced.status_code == 409
    assert snapshot(app, case.id) == before
    machine_says = "Record the recipient's signed confidentiality undertaking before recording"
    assert machine_says in page_message(forced)
    assert machine_says in not_yet(page_of(officer, case.id))["record_disclosure_delivered"]


def test_delivery_is_offered_once_the_signed_copy_is_kept(app, staff, clients):
    case = new_case(app, staff, Status.disclosure_approved)
    with app.app_context():
        record_undertaking(get_session(), case.id, staff["case_officer"],
                           policy=app.extensions["case_policy"], now=datetime.now(UTC))

    page = page_of(clients["case_officer"], case.id)

    assert "record_disclosure_delivered" in offered(page)
    assert "record_disclosure_delivered" not in not_yet(page)
    assert clients["case_officer"].get(
        f"/staff/cases/{case.id}/steps/record_disclosure_delivered").status_code == 200


# --- Steps refused because of who the person is stay hidden -------------------------------------


def test_the_decisions_author_is_not_offered_its_approval(app, staff, clients):
    case = new_case(app, staff, Status.decision_pending_approval)
    author = page_of(clients["decision_maker"], case.id)
    second = page_of(clients["decision_maker_2"], case.id)
    assert not {"countersign_decision", "return_decision"} & (offered(author) | set(
        not_yet(author)))
    assert {"countersign_decision", "return_decision"} <= offered(second)


# --- The decision record for a partner agency member --------------------------------------------


def test_a_partner_is_not_offered_the_decision_record_they_may_not_download(app, staff,
                                                                            clients):
    case = new_case(app, staff, Status.awaiting_decision)
    policy = app.extensions["case_policy"]
    with app.app_context():
        take_step(get_session(), StepRequest(
            case.id, "invite_partner", version_of(app, case.id),
            {"partner_user_id": str(staff["partner"].id), "information_requested": "Risk."},
            "Probation manage him."), user=staff["case_officer"], policy=policy,
            now=datetime.now(UTC))
    record = f"/documents/cases/{case.id}/decision-record.pdf"

    partner_page = page_of(clients["partner"], case.id)

    assert record not in partner_page and "decision record" not in partner_page.lower()
    assert clients["partner"].get(record).status_code == 403
    for who in ("case_officer", "decision_maker", "auditor"):
        assert record in page_of(clients[who], case.id), who


# --- Document links when a fresh code is due ----------------------------------------------------


def test_document_links_do_not_ask_the_browser_to_save_what_they_answer(app, staff, clients):
    """A `download` attribute makes the browser save any answer, even the "Confirm it is you"
    page, as a file: the documents come as attachments without it."""
    approved = new_case(app, staff, Status.disclosure_approved)
    not_disclosed = new_case(app, staff, Status.no_disclosure_decided)
    pages = [page_of(clients["case_officer"], approved.id),
             page_of(clients["case_officer"], not_disclosed.id),
             page_of(clients["auditor"], approved.id)]
    assert "/undertaking.pdf" in pages[0] and "/non-disclosure-letter.pdf" in pages[1]
    assert "/bundle.zip" in pages[2] and "/decision-record.pdf" in pages[2]
    for page in pages:
        links = re.findall(r"<a\s[^>]*href=\"/documents/[^\"]+\"[^>]*>", page)
        assert links
        for link in links:
            assert not re.search(r"\sdownload(\s|=|>)", link), link


def test_with_a_code_due_the_letter_link_shows_the_confirm_page_then_the_code_brings_it(
        app, staff, clients):
    case = new_case(app, staff, Status.no_disclosure_decided)
    officer = clients["case_officer"]
    later = datetime.now(UTC) + timedelta(minutes=6)
    app.config["CLOCK"] = lambda: later
    letter = f"/documents/cases/{case.id}/non-disclosure-letter.pdf"

    asked = officer.get(letter)
    assert asked.status_code == 302
    confirm = officer.get(asked.headers["Location"])

    # Shown in the browser, not saved: a page, with no attachment header.
    assert confirm.status_code == 200
    assert confirm.mimetype == "text/html"
    assert "Content-Disposition" not in confirm.headers
    text = page_message(confirm)
    assert "Confirm it is you" in text
    assert "Your document downloads as soon as your code is accepted" in text
    assert f'href="/staff/cases/{case.id}"' in confirm.get_data(as_text=True)

    code = mfa.code_for_step(totp_secret_for(staff["case_officer"].email),
                             mfa.step_at(later) + 1)
    confirmed = officer.post(asked.headers["Location"], data={"code": code})
    assert confirmed.status_code in (302, 303)
    assert confirmed.headers["Location"] == letter
    document = officer.get(letter)
    assert document.status_code == 200 and document.mimetype == "application/pdf"
    assert document.headers["Content-Disposition"].startswith("attachment;")


def test_the_confirm_page_for_a_decision_says_nothing_about_a_download(app, staff, clients):
    case = new_case(app, staff, Status.awaiting_decision)
    url = f"/staff/confirm-identity?next=/staff/cases/{case.id}/steps/decide_no_disclosure"
    text = page_message(clients["decision_maker"].get(url))
    assert "Confirm it is you" in text and "downloads" not in text
