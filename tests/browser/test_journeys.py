"""The real journeys in a real browser (headless Debian Chromium, CSRF on, strict CSP).

A member of the public applies; staff take the case through every stage to a face-to-face
disclosure with a partner agency's view, a second decision-maker's approval and the recipient's
signed undertaking; another case ends in no disclosure, countersigned; an officer opens a Right
to Know case; an auditor reads every rationale, verifies the chain and downloads the PDF.
"""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from disclosure_app.audit.chain import SystemActor
from disclosure_app.db import get_session
from disclosure_app.operations import demo
from disclosure_app.risk.register.importer import CheckedFile, write_records
from disclosure_app.risk.register.records import parse_person
from tests.browser.authenticator import authenticator_code
from tests.factories import (
    COUNTERSIGN_CONTRADICTION,
    PASSWORD,
    make_case,
    register_people_for_tests,
)
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TODAY = datetime.now(UTC).date()
TODAY_PARTS = (str(TODAY.day), str(TODAY.month), str(TODAY.year))

APPLICATION = {
    "applicant-full_name": "Laura Browser",
    "applicant-date_of_birth": ("14", "3", "1985"),
    "applicant-address": "12 Demo Terrace, Northshire",
    "applicant-postcode": "ns1 4dm",
    "applicant-contact_method": "phone",
    "applicant-phone": "01632 960001",
    "applicant-safe_contact_times": "Weekdays 9am to 2pm",
    "applicant-messages_ok": "no",
    "applicant-relationship_to_subject": "My ex-partner's new boyfriend",
    "child1-full_name": "Sophie Browser",
    "child1-age": "7",
    "child1-applicant_relationship": "parent",
    "child1-subject_contact": "Lives in the same house and looks after her after school.",
    "subject-full_name": "Marcus Nobody",
    "subject-date_of_birth": ("23", "4", "1977"),
    "subject-relationship_to_child": "Mother's partner",
    "concern": "He talked about a previous conviction and is often alone with my daughter.",
    "declared_truthful": True,
    "declared_sharing": True,
}


def fill(page: Any, data: dict[str, Any]) -> None:
    """Fill a GOV.UK form the way a person would: type, tick and choose."""
    for name, value in data.items():
        if isinstance(value, tuple):  # GOV.UK date input: day, month, year
            for part, text in zip(("day", "month", "year"), value, strict=True):
                page.fill(f"#{name}-{part}", text)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            fill_rows(page, name, value)
        elif isinstance(value, list):  # checkboxes
            for choice in value:
                page.check(f'input[type="checkbox"][name="{name}"][value="{choice}"]')
        elif value is True:
            page.check(f'input[type="checkbox"][name="{name}"]')
        elif page.locator(f'input[type="radio"][name="{name}"]').count():
            page.check(f'input[type="radio"][name="{name}"][value="{value}"]')
        elif page.locator(f'select[name="{name}"]').count():
            page.select_option(f'select[name="{name}"]', str(value))
        else:
            page.fill(f'[name="{name}"]', str(value))


def fill_rows(page: Any, name: str, rows: list[dict[str, str]]) -> None:
    """Rows of people (name, agency, role): one line of the form per person, in order."""
    for i, row in enumerate(rows):
        for part, text in row.items():
            selector = f'[name="{name}-{i}-{part}"]'
            if page.locator(f"select{selector}").count():
                page.select_option(f"select{selector}", text)
            else:
                page.fill(selector, text)


def as_browser_data(data: dict[str, Any]) -> dict[str, Any]:
    """Canned step data (ISO or D±n dates) as what a person types into the form."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and re.fullmatch(r"D[+-]\d+|\d{4}-\d{2}-\d{2}", value):
            out[key] = TODAY_PARTS if value in ("D-0", "D+0") else _future_parts()
        else:
            out[key] = value
    return out


def _future_parts() -> tuple[str, str, str]:
    return ("1", "1", str(TODAY.year + 5))


def sign_in(browser: Any, server: Any, email: str) -> Any:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{server.url}/staff/sign-in")
    page.fill('[name="email"]', email)
    page.fill('[name="password"]', PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/staff/sign-in" not in page.url, page.content()[:2000]
    # The second factor: the code the account's (test) authenticator shows now, whichever
    # 30-second step this lands in.
    assert "/staff/two-factor" in page.url, page.content()[:2000]
    page.fill('[name="code"]', authenticator_code(server, email))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert "/staff/two-factor" not in page.url, page.content()[:2000]
    return page


def open_step(page: Any, server: Any, case_id: int, event: str) -> None:
    """From the case page, follow the action for ``event`` as a person would."""
    page.goto(f"{server.url}/staff/cases/{case_id}")
    page.click(f'a[href$="/steps/{event}"]')
    page.wait_for_load_state()


def submit_step(page: Any, case_id: int, data: dict[str, Any], rationale: str) -> None:
    """Fill the open step form and send it with its main button (decision forms also have a
    "Check my reasons" button, which saves nothing)."""
    fill(page, as_browser_data(data))
    page.fill('[name="rationale"]', rationale)
    page.locator("main form").last.locator('button[type="submit"][name="submit"]').click()
    page.wait_for_load_state()
    assert re.search(rf"/staff/cases/{case_id}$", page.url), page.content()[:3000]
    assert "saved" in page.content()


def take_step(page: Any, server: Any, case_id: int, event: str, data: dict[str, Any],
              rationale: str) -> None:
    open_step(page, server, case_id, event)
    submit_step(page, case_id, data, rationale)


def download(page: Any, selector: str, folder: Path) -> Path:
    """Click a download link and keep the file in ``folder``; returns where it is."""
    with page.expect_download() as download_info:
        page.click(selector)
    target = folder / download_info.value.suggested_filename
    download_info.value.save_as(target)
    return target


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-"), content[:40]
    pages = PdfReader(io.BytesIO(content)).pages
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in pages))


def record_signed_undertaking(page: Any, server: Any, case_id: int, scan: Path, signed_by: str,
                              notes: str) -> None:
    """The officer follows the case's action to the upload page and sends the signed copy."""
    open_step(page, server, case_id, "record_undertaking")
    assert page.url.endswith(f"/documents/cases/{case_id}/signed-undertaking"), page.url
    page.set_input_files('input[type="file"][name="document"]', str(scan))
    fill(page, {"signed_on": TODAY_PARTS, "signed_by": signed_by, "rationale": notes})
    page.get_by_role("button", name="Save the signed undertaking").click()
    page.wait_for_load_state()
    assert re.search(rf"/staff/cases/{case_id}$", page.url), page.content()[:3000]
    assert "Signed confidentiality undertaking: saved" in page.content()
    assert page.get_by_test_id("undertaking-state").inner_text() == "Signed copy on file"


def wait_like_a_person(server: Any, shown_at: float) -> None:
    """Past the public form's minimum fill time since the form was shown (SEC-29): a person
    reads the page and checks their answers; a script that sends at once is refused."""
    minimum = float(server.app.config["PUBLIC_FORM_MIN_FILL_SECONDS"])
    time.sleep(max(0.0, shown_at + minimum + 0.5 - time.monotonic()))


def import_subject_register(app: Any) -> None:
    """The browser journey's subject in the register, beside a namesake with the same name and
    date of birth at another address."""

    subject = {**register_people_for_tests()[-4], "person_id": "BROWSER-1", "surname": "Nobody",
               "forenames": "Marcus", "aliases": []}
    namesake = {**register_people_for_tests()[-3], "person_id": "BROWSER-2", "surname": "Nobody",
                "forenames": "Marcus"}
    now = datetime.now(UTC)
    with app.app_context():
        records = [parse_person(p, now.date()) for p in (subject, namesake)]
        write_records(get_session(), CheckedFile(records, "0" * 64, 2), file_name="b.jsonl",
                      now=now, actor=SystemActor(name="tests"))


def case_id_from(page: Any) -> int:
    match = re.search(r"/staff/cases/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def test_public_application_to_face_to_face_disclosure_and_audit(browser, live_server, people,
                                                                  page, tmp_path):
    server = live_server
    # --- A member of the public applies.
    page.goto(server.url + "/")
    assert "999" in page.content()
    page.get_by_role("button", name=re.compile("Start now")).click()
    page.wait_for_load_state()
    shown_at = time.monotonic()
    fill(page, APPLICATION)
    page.locator("main form").last.locator('button[type="submit"]').last.click()
    page.wait_for_load_state()
    assert "Check your answers" in page.content()
    assert "Marcus Nobody" in page.content()
    wait_like_a_person(server, shown_at)
    page.get_by_role("button", name="Accept and send").click()
    page.wait_for_load_state()
    reference = re.search(r"CSD-[0-9A-Z]{4}-[0-9A-Z]{4}", page.content()).group(0)
    status_link = re.search(r"http://127\.0\.0\.1:\d+/status/[A-Za-z0-9_\-]+",
                            page.content()).group(0)
    page.goto(status_link)
    assert "Application received" in page.content()
    assert "Marcus Nobody" not in page.content()

    # --- The case officer works intake.
    officer = sign_in(browser, server, people["officer"].email)
    officer.click(f"text={reference}")
    case_id = case_id_from(officer)
    steps = [
        ("start_checks", {}, "Checks started within the hour of receipt."),
        ("accept_for_interview", demo.ACCEPT, "Named child and subject with access: in scope."),
        ("record_interview", {**demo.INTERVIEW, "interview_date": "D-0"},
         "Interview at the station at the applicant's chosen time."),
        ("verify_applicant", {}, "Identity and relationship to the child verified."),
        ("invite_partner", {"partner_user_id": str(people["partner"].id),
                            "information_requested": "Supervision status and risk."},
         "Probation manage the subject under MAPPA."),
    ]
    for event, data, rationale in steps:
        take_step(officer, server, case_id, event, data, rationale)

    # --- The invited partner agency records its view.
    partner = sign_in(browser, server, people["partner"].email)
    take_step(partner, server, case_id, "record_agency_view",
              {"information_held": "On licence until 2027.", "agency_view": "supports_disclosure"},
              "Probation support disclosure: the mother cannot protect the child otherwise.")

    # --- The risk check: the subject among namesakes, confirmed by a colleague, every check.
    import_subject_register(server.app)
    officer.goto(f"{server.url}/staff/cases/{case_id}")
    officer.click('a[href$="/identity"]')
    assert officer.locator('tr[data-person="BROWSER-2"][data-classification="near_miss"]').count()
    officer.check('input[name="person_id"][value="BROWSER-1"]')
    officer.check('input[name="identifiers"][value="date_of_birth"]')
    officer.check('input[name="identifiers"][value="register_id"]')
    officer.fill('[name="register_id_reference"]', "Quoted by probation (OM Sian Lloyd)")
    officer.fill('[name="note"]', "Date of birth agrees; probation quoted this register id.")
    officer.locator('[data-testid="propose-form"] button[type="submit"]').click()
    officer.wait_for_load_state()
    assert "a colleague must now confirm it" in officer.content()
    inspector = sign_in(browser, server, people["inspector"].email)
    inspector.goto(f"{server.url}/staff/cases/{case_id}/identity")
    inspector.check('input[name="decision"][value="confirm"]')
    inspector.fill('[name="review_note"]', "Checked the record against the probation email.")
    inspector.locator('[data-testid="review-form"] button[type="submit"]').click()
    inspector.wait_for_load_state()
    assert "Subject identity confirmed." in inspector.content()
    for source in ("pnc", "pnd", "visor", "local_intelligence", "childrens_social_care",
                   "probation_mappa", "previous_forces"):
        officer.goto(f"{server.url}/staff/cases/{case_id}")
        officer.click(f'tr[data-source="{source}"] a')
        officer.check('input[name="outcome"][value="done"]')
        fill(officer, {"checked_on": TODAY_PARTS, "result_summary": "Checked; see reference.",
                       "reference": f"REF-{source}"})
        officer.locator("main form button[type='submit']").click()
        officer.wait_for_load_state()
        assert "check recorded" in officer.content()
    officer.goto(f"{server.url}/staff/cases/{case_id}/risk-check")
    officer.check('input[name="purpose"][value="risk_assessment"]')
    officer.get_by_role("button", name="Open the risk check").click()
    officer.wait_for_load_state()
    assert "indefinite (review possible from" in officer.content()
    assert officer.locator('[data-testid="cso-flag"]').count() == 1

    take_step(officer, server, case_id, "complete_assessment", demo.ASSESS,
              "All checks complete; the risk to the child is high.")

    # --- The decision-maker decides to disclose, with the three limbs.
    inspector = sign_in(browser, server, people["inspector"].email)
    take_step(inspector, server, case_id, "approve_disclosure_to_applicant", demo.DISCLOSE,
              "Lawful, necessary and proportionate to disclose to the mother.")

    # --- A second decision-maker approves it.
    chief = sign_in(browser, server, people["chief"].email)
    take_step(chief, server, case_id, "countersign_decision", demo.COUNTERSIGN,
              "Read the whole record: the conviction and the access make the need pressing.")

    # --- The recipient signs the undertaking printed from the case; the officer uploads it.
    officer.goto(f"{server.url}/staff/cases/{case_id}")
    printed = download(officer, 'a[href$="/undertaking.pdf"]', tmp_path)
    assert reference in pdf_text(printed.read_bytes())
    # No scanner here: the printed PDF stands in for the signed scan.
    record_signed_undertaking(officer, server, case_id, printed, demo.DISCLOSE["recipient_name"],
                              "Signed in front of DC Shah at the station.")

    # --- The face-to-face disclosure, then closure.
    take_step(officer, server, case_id, "record_disclosure_delivered",
              {**demo.DELIVERED, "meeting_date": "D-0"}, "Disclosure delivered in person.")
    take_step(officer, server, case_id, "close_case",
              {"referrals_complete": "yes", "review_date": "D+5"}, "All actions complete.")
    officer.goto(f"{server.url}/staff/cases/{case_id}")
    assert "Closed" in officer.content()
    # The subject's details only after a reason (logged), once for this case in this session.
    assert "Marcus Nobody" not in officer.content()
    officer.check('input[name="reason"][value="case_work"]')
    officer.get_by_role("button", name="Continue").click()
    officer.wait_for_load_state()
    assert "Marcus Nobody" in officer.content()

    # --- The applicant now sees only "Completed".
    page.goto(status_link)
    assert "Completed" in page.content()
    assert "disclos" not in page.locator("main").inner_text().lower()

    # --- The auditor reads every rationale and limb, verifies the chain, downloads the PDF.
    auditor = sign_in(browser, server, people["auditor"].email)
    auditor.goto(f"{server.url}/audit/")
    assert re.search(r"intact", auditor.content(), re.I)
    auditor.goto(f"{server.url}/audit/cases/{case_id}")
    trail = auditor.locator("main").inner_text()
    for text in ("Lawful, necessary and proportionate to disclose to the mother.",
                 demo.DISCLOSE["necessity"], demo.DISCLOSE["proportionality"],
                 demo.DISCLOSE["lawful_basis"],
                 "Probation support disclosure: the mother cannot protect the child otherwise."):
        assert text in trail
    auditor.click('a[href$="decision-record.pdf"]')  # it holds the subject: a reason first
    auditor.wait_for_load_state()
    assert "Why do you need to see these details?" in auditor.content()
    auditor.check('input[name="reason"][value="audit"]')
    with auditor.expect_download() as download_info:
        auditor.get_by_role("button", name="Continue").click()
    pdf = PdfReader(io.BytesIO(open(download_info.value.path(), "rb").read()))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert reference in text
    assert "Disclosure delivered in person." in re.sub(r"\s+", " ", text)

    # --- The auditor finds who looked at the subject, and why.
    auditor.goto(f"{server.url}/audit/consultations")
    auditor.fill('input[name="subject"]', "Marcus Nobody")
    auditor.get_by_role("button", name="Show").click()
    auditor.wait_for_load_state()
    rows = auditor.locator('[data-testid="report-rows"]').inner_text()
    assert people["officer"].full_name in re.sub(r"\s+", " ", rows)
    assert "I am working on this case" in rows


def test_a_case_ends_in_no_disclosure_through_the_browser(browser, live_server, people):
    server = live_server
    case, _ = make_case(server.app, Status.awaiting_decision, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])
    inspector = sign_in(browser, server, people["inspector"].email)
    # The case was assessed high risk, so not disclosing is a contradiction the author explains
    # and the approver countersigns.
    no_disclosure = {**demo.NO_DISCLOSURE, "reason_category": "not_necessary",
                     "presumption_rebuttal": "The child has moved abroad with her father.",
                     "contradiction_explanation": "The risk was high while he had access; the "
                     "child has since moved abroad with her father and has no contact with him."}
    inspector.goto(f"{server.url}/staff/cases/{case.id}/steps/decide_no_disclosure")
    assert "Presumption to disclose" in inspector.content()
    take_step(inspector, server, case.id, "decide_no_disclosure", no_disclosure,
              "No pressing need: the child no longer has contact with the subject.")
    chief = sign_in(browser, server, people["chief"].email)
    take_step(chief, server, case.id, "countersign_decision", COUNTERSIGN_CONTRADICTION,
              "Agreed: with the child abroad there is no pressing need to disclose.")
    officer = sign_in(browser, server, people["officer"].email)
    take_step(officer, server, case.id, "communicate_outcome",
              {"method": "in_person", "communicated_on": "D-0"},
              "Letter handed over in person at the agreed safe time.")
    officer.goto(f"{server.url}/staff/cases/{case.id}")
    assert "Outcome communicated" in officer.content()


def test_an_officer_opens_a_right_to_know_case(browser, live_server, people):
    server = live_server
    officer = sign_in(browser, server, people["officer"].email)
    officer.goto(f"{server.url}/staff/")
    officer.click("text=Open a Right to Know case")
    officer.wait_for_load_state()
    first_child = officer.locator('[name$="full_name"]').nth(1).get_attribute("name")
    prefix = first_child.rsplit("-", 1)[0] if "-" in first_child else ""
    fields = {"subject-full_name": "Keith Browserman",
              "subject-relationship_to_child": "Family friend",
              "referral_source_detail": "MAPPA level 2 meeting",
              "risk_summary": "Registered offender babysitting a 9-year-old.",
              "referral_source": "mappa",
              "rationale": "The mother may not know his history."}
    fill(officer, {k: v for k, v in fields.items() if officer.locator(f'[name="{k}"]').count()})
    fill(officer, {f"{prefix}-full_name": "Amy Browser", f"{prefix}-age": "9",
                   f"{prefix}-subject_contact": "Babysits at weekends."})
    officer.locator("main form").last.locator('button[type="submit"]').click()
    officer.wait_for_load_state()
    assert re.search(r"/staff/cases/\d+$", officer.url), officer.content()[:3000]
    assert "Right to Know" in officer.content()
