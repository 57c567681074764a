"""The decision → approval → meeting → undertaking journey, and a no-disclosure case picked up by
dip sampling, each tried in a real browser the way new users would (issue 4, "Done when").

Every person works in their own browser session: the case officer, two partner-agency members
from different agencies, the decision-maker, a second decision-maker who approves, a third who
dip-samples, and the auditor.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest

from disclosure_app.db import get_session
from disclosure_app.models import Case, User
from disclosure_app.operations import demo
from tests.browser.test_journeys import (
    TODAY_PARTS,
    download,
    fill,
    open_step,
    pdf_text,
    record_signed_undertaking,
    sign_in,
    submit_step,
    take_step,
)
from tests.factories import (
    COUNTERSIGN_CONTRADICTION,
    SUBJECT_ADDRESS,
    SUBJECT_DOB,
    SUBJECT_NAME,
    make_case,
    resolve_risk_check,
)
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# The factory case: Alice Applicant's child Charlie; the subject lives in the same house and is
# alone with Charlie after school. The decision is worded for this case, as the checks require.
DECISION = {
    **demo.DISCLOSE,
    "information_considered": "PNC and ViSOR records of a 2014 conviction; probation's licence "
    "details; children's social care records of the household.",
    "partners_consulted": "Probation (Paula Probation) and children's social care (Carol "
    "Carewell) at the decision meeting today; both support disclosure.",
    "lawful_basis": "The common-law power to protect Charlie applies: PNC and ViSOR record a "
    "conviction for a sexual offence against a child, and the subject now lives in the same "
    "house; DPA 2018 Schedule 8 paragraph 4 covers the sensitive processing.",
    "necessity": "Charlie is alone with the subject after school every weekday; his mother "
    "cannot protect him from a risk she does not know about, and probation have no power to "
    "stop that contact.",
    "proportionality": "Only the conviction and its nature go to Charlie's mother, in person "
    "and under an undertaking; probation tell the subject afterwards and judge the risk of "
    "reprisal low.",
    "recipient_name": "Alice Applicant",
    "recipient_relationship": "Mother",
    "disclosure_wording": "The man who lives with you has a conviction for a sexual offence "
    "against a child. You must not share this information with anyone else.",
}
DECISION_SUMMARY = "Disclosure to Charlie's mother is lawful, necessary and proportionate."
# Long enough, but says nothing about this case: the checks must flag it.
GENERIC_NECESSITY = ("Disclosure is needed because the danger is serious and no other measure "
                     "would reduce it enough in time.")
APPROVAL_REASONS = ("Read the whole record and the meeting minutes: the need is pressing and "
                    "the wording is the minimum.")
DECISION_MEETING = {
    **demo.DECISION_MEETING,
    "meeting_date": "D-0",
    "attendees": [
        {"name": "DI Ivan Inspector", "agency": "police", "role": "Chair, decision-maker"},
        {"name": "Paula Probation", "agency": "probation", "role": "Offender manager"},
        {"name": "Carol Carewell", "agency": "childrens_social_care", "role": "Social worker"},
    ],
}
VIEWS = {
    "partner": ("On licence until 2027; assessed high risk to children.",
                "Probation support disclosure: Charlie's mother must know to protect him."),
    "social_care": ("The family is known: a child-in-need plan closed in 2023.",
                    "Children's social care support disclosure and will attend the meeting."),
}


def test_decision_approval_meeting_and_undertaking_journey(browser, live_server, people,
                                                          tmp_path):
    server = live_server
    case, _ = make_case(server.app, Status.full_risk_assessment, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])
    # The risk check (identity confirmed by two people, every check recorded) has its own
    # browser journey in test_journeys.py; here it is done through the service.
    with server.app.app_context():
        session = get_session()
        resolve_risk_check(server.app, session, session.get(Case, case.id),
                           session.get(User, people["officer"].id),
                           session.get(User, people["inspector"].id), datetime.now(UTC))

    # --- The officer invites two agencies; each member records a view in their own session.
    officer = sign_in(browser, server, people["officer"].email)
    for key, wanted in (("partner", "Supervision status and risk."),
                        ("social_care", "Any involvement with the family.")):
        take_step(officer, server, case.id, "invite_partner",
                  {"partner_user_id": str(people[key].id), "information_requested": wanted},
                  f"{people[key].full_name}'s agency holds information on this household.")
    for key, (held, reasons) in VIEWS.items():
        partner = sign_in(browser, server, people[key].email)
        assert case.reference in partner.content()  # the invited case is in their queue
        take_step(partner, server, case.id, "record_agency_view",
                  {"information_held": held, "agency_view": "supports_disclosure"}, reasons)

    # --- The multi-agency decision meeting, then the assessment is completed.
    take_step(officer, server, case.id, "record_decision_meeting", DECISION_MEETING,
              "Disclose to the mother, with a social worker at the meeting.")
    take_step(officer, server, case.id, "complete_assessment", demo.ASSESS,
              "All checks complete; the risk to Charlie is high.")

    # --- The decision-maker checks their reasons before recording the decision.
    inspector = sign_in(browser, server, people["inspector"].email)
    open_step(inspector, server, case.id, "approve_disclosure_to_applicant")
    fill(inspector, {**DECISION, "necessity": GENERIC_NECESSITY})
    inspector.fill('[name="rationale"]', DECISION_SUMMARY)
    inspector.get_by_test_id("check-reasons").click()
    inspector.wait_for_load_state()
    findings = inspector.get_by_test_id("quality-findings").inner_text()
    assert "Necessity" in findings and "To resolve" in findings, findings
    assert "Lawful basis" not in findings and "Proportionality" not in findings, findings
    inspector.fill('[name="necessity"]', DECISION["necessity"])
    inspector.get_by_test_id("check-reasons").click()
    inspector.wait_for_load_state()
    assert "No problems found" in inspector.get_by_test_id("quality-findings").inner_text()
    submit_step(inspector, case.id, {}, DECISION_SUMMARY)
    state = inspector.get_by_test_id("case-state").inner_text()
    assert "Decision awaiting second approval" in state

    # --- The author is not offered the approval, and is refused it if they go there anyway.
    for event in ("countersign_decision", "return_decision"):
        assert inspector.locator(f'a[data-event="{event}"]').count() == 0
    refused = inspector.goto(f"{server.url}/staff/cases/{case.id}/steps/countersign_decision")
    assert refused.status == 403

    # --- A second decision-maker reads the decision, every limb, and approves it.
    chief = sign_in(browser, server, people["chief"].email)
    open_step(chief, server, case.id, "countersign_decision")
    pending = chief.get_by_test_id("pending-decision").inner_text()
    for limb in ("lawful_basis", "necessity", "proportionality"):
        assert DECISION[limb] in pending
    assert people["inspector"].full_name in pending
    submit_step(chief, case.id, demo.COUNTERSIGN, APPROVAL_REASONS)
    assert "Disclosure approved" in chief.get_by_test_id("case-state").inner_text()
    approval = chief.get_by_test_id("approval-state").inner_text()
    assert approval.startswith("Approved by") and people["chief"].full_name in approval

    # --- The face-to-face meeting is scheduled, the undertaking printed, signed and uploaded.
    take_step(officer, server, case.id, "schedule_disclosure_meeting",
              {**demo.SCHEDULE_MEETING, "meeting_date": "D-0"},
              "A private room at the station; the social worker supports the mother.")
    officer.goto(f"{server.url}/staff/cases/{case.id}")
    printed = download(officer, 'a[href$="/undertaking.pdf"]', tmp_path)
    scan = printed.read_bytes()
    undertaking = pdf_text(scan)
    assert case.reference in undertaking and DECISION["recipient_name"] in undertaking
    # Delivery waits for the signed copy: the case page says so and offers no form; opened by
    # its address, the form is still refused.
    officer.goto(f"{server.url}/staff/cases/{case.id}")
    assert officer.locator('a[data-event="record_disclosure_delivered"]').count() == 0
    assert "Record the recipient's signed confidentiality undertaking before" in \
        officer.locator('[data-unavailable-event="record_disclosure_delivered"]').inner_text()
    refused = officer.goto(f"{server.url}/staff/cases/{case.id}/steps/record_disclosure_delivered")
    assert refused is not None and refused.status == 409
    assert "Record the recipient's signed confidentiality undertaking before" in \
        officer.locator("main").inner_text()
    assert officer.locator('[name="meeting_place"]').count() == 0
    # No scanner here: the printed PDF stands in for the signed scan.
    record_signed_undertaking(officer, server, case.id, printed, DECISION["recipient_name"],
                              "Signed in front of DC Shah and the social worker.")
    take_step(officer, server, case.id, "record_disclosure_delivered",
              {**demo.DELIVERED, "meeting_date": "D-0"}, "Disclosure delivered in person.")
    assert "Disclosure delivered" in officer.get_by_test_id("case-state").inner_text()

    # --- The auditor's trail shows every limb of the decision and of its approval.
    auditor = sign_in(browser, server, people["auditor"].email)
    auditor.goto(f"{server.url}/audit/cases/{case.id}")
    trail = re.sub(r"\s+", " ", auditor.locator("main").inner_text())
    for text in (DECISION["lawful_basis"], DECISION["necessity"], DECISION["proportionality"],
                 DECISION_SUMMARY, APPROVAL_REASONS, "Approve the decision (second "
                 "decision-maker)", people["chief"].full_name, VIEWS["partner"][1],
                 VIEWS["social_care"][1], "DI Ivan Inspector (Police, Chair, decision-maker)",
                 "Paula Probation (Probation, Offender manager)",
                 "Carol Carewell (Children's social care, Social worker)",
                 "Do you agree that the decision is lawful, necessary and proportionate? Yes",
                 hashlib.sha256(scan).hexdigest()):
        assert text in trail, text
    assert "DOES NOT MATCH" not in trail


NO_DISCLOSURE = {
    **demo.NO_DISCLOSURE,
    "reason_category": "not_necessary",
    "presumption_rebuttal": "Charlie has moved abroad with his father.",
    "contradiction_explanation": "The risk was high while the subject had access; Charlie has "
    "since moved abroad with his father and has no contact with him.",
}


def test_no_disclosure_letter_and_dip_sample_review(browser, live_server, people, tmp_path):
    server = live_server
    case, _ = make_case(server.app, Status.awaiting_decision, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])

    # --- Decided not to disclose (a flagged contradiction, explained) and countersigned.
    inspector = sign_in(browser, server, people["inspector"].email)
    take_step(inspector, server, case.id, "decide_no_disclosure", NO_DISCLOSURE,
              "No pressing need: Charlie no longer has contact with the subject.")
    chief = sign_in(browser, server, people["chief"].email)
    open_step(chief, server, case.id, "countersign_decision")
    assert "high" in chief.get_by_test_id("pending-decision-flags").inner_text()
    submit_step(chief, case.id, COUNTERSIGN_CONTRADICTION,
                "Agreed: with Charlie abroad there is no pressing need to disclose.")
    assert "No disclosure decided" in chief.get_by_test_id("case-state").inner_text()

    # --- The officer prints the letter (nothing about the subject), sends it and closes.
    officer = sign_in(browser, server, people["officer"].email)
    officer.goto(f"{server.url}/staff/cases/{case.id}")
    letter = pdf_text(download(officer, 'a[href$="/non-disclosure-letter.pdf"]', tmp_path)
                      .read_bytes())
    assert case.reference in letter
    year, month, day = SUBJECT_DOB.split("-")
    for detail in (*SUBJECT_NAME.split(), SUBJECT_ADDRESS.split(",")[0], SUBJECT_DOB,
                   f"{day}/{month}/{year}", year):
        assert detail not in letter, detail
    take_step(officer, server, case.id, "communicate_outcome",
              {"method": "in_person", "communicated_on": "D-0"},
              "Letter handed over in person at the agreed safe time.")
    take_step(officer, server, case.id, "close_case",
              {"referrals_complete": "yes", "review_date": "D+5"}, "All actions complete.")
    assert "Closed" in officer.get_by_test_id("case-state").inner_text()

    # --- A decision-maker who took no part draws today's closed no-disclosure cases at 100%.
    reviewer = sign_in(browser, server, people["superintendent"].email)
    reviewer.get_by_role("link", name="Dip sampling").click()
    reviewer.wait_for_load_state()
    fill(reviewer, {"share_percent": "100", "closed_from": TODAY_PARTS,
                    "closed_to": TODAY_PARTS})
    reviewer.get_by_role("button", name="Draw the sample").click()
    reviewer.wait_for_load_state()
    assert "Dip sample drawn: 1 of 1 closed no-disclosure cases (100%)" in reviewer.content()
    pending = reviewer.get_by_test_id("pending")
    assert case.reference in pending.inner_text()
    sample_href = pending.get_by_role("link", name=case.reference).get_attribute("href")

    # The approver took part, so may not review it.
    chief.goto(server.url + sample_href)
    assert chief.get_by_test_id("refusal").count() == 1
    assert chief.get_by_test_id("review-form").count() == 0

    # --- The reviewer records the review; it shows as reviewed and no longer pending.
    pending.get_by_role("link", name=case.reference).click()
    reviewer.wait_for_load_state()
    fill(reviewer, {"result": "upheld", "findings": "Checks, each limb and the reasons support "
                    "not disclosing: the child is abroad with no contact."})
    reviewer.get_by_role("button", name="Record the review").click()
    reviewer.wait_for_load_state()
    assert f"Review of {case.reference} recorded" in reviewer.content()
    reviews = reviewer.get_by_test_id("reviews").inner_text()
    assert case.reference in reviews
    assert "Upheld: the no-disclosure decision stands" in reviews
    assert people["superintendent"].full_name in reviews
    assert case.reference not in reviewer.get_by_test_id("pending").inner_text()
