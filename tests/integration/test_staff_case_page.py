"""The staff case page: opening it is a logged consultation; it shows every step's record in
full (each rationale and each legal limb) and offers exactly the steps the workflow allows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from markupsafe import escape
from sqlalchemy import select

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from disclosure_app.operations import demo
from tests.factories import SUBJECT_NAME, give_reason, make_case, path_to
from workflows import MAY_SEND, DisclosureWorkflow
from workflows.policy import EXTENSION_ANSWERS
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


def new_case(app, staff, status):
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def html(response) -> str:
    return response.get_data(as_text=True)


def shown(text: str) -> str:
    return str(escape(text))


def action_events(response) -> set[str]:
    return set(re.findall(r'<a class="govuk-button[^"]*"[^>]*data-event="(\w+)"', html(response)))


def explained_events(response) -> set[str]:
    """Steps shown greyed, each with why it cannot be taken yet, and no link."""
    return set(re.findall(r'data-unavailable-event="(\w+)"', html(response)))


def consultations(app, case_id: int) -> list[AuditEntry]:
    with app.app_context():
        return list(get_session().scalars(select(AuditEntry).where(
            AuditEntry.case_id == case_id, AuditEntry.action == "case_viewed")))


def test_opening_a_case_writes_exactly_one_consultation_entry(app, staff, clients):
    case = new_case(app, staff, Status.initial_checks)
    assert consultations(app, case.id) == []

    response = clients["decision_maker"].get(f"/staff/cases/{case.id}")

    assert response.status_code == 200
    entries = consultations(app, case.id)
    assert len(entries) == 1
    assert entries[0].category == "consultation"
    assert entries[0].actor_id == staff["decision_maker"].id


def test_case_page_shows_the_case_and_its_people(app, staff, clients):
    case = new_case(app, staff, Status.awaiting_decision)
    give_reason(clients["case_officer"], case.id)
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    assert case.reference in page
    assert "Right to Ask" in page
    assert "Awaiting multi-agency decision" in page
    assert 'data-stage="decision" aria-current="step"' in page
    assert SUBJECT_NAME in page and "Charlie Child" in page and "Alice Applicant" in page
    assert "Whole process" in page and "Full risk assessment" in page  # target dates


def test_every_rationale_and_legal_limb_is_on_the_page_of_an_approved_case(app, staff, clients):
    case = new_case(app, staff, Status.disclosure_approved)
    for who in ("case_officer", "auditor"):
        page = html(clients[who].get(f"/staff/cases/{case.id}"))
        assert shown("Application submitted online by a member of the public.") in page
        for event, *_ in path_to(Status.disclosure_approved):
            assert f"Test rationale for {event}." in page
        for limb in ("lawful_basis", "necessity", "proportionality"):
            assert shown(demo.DISCLOSE[limb]) in page
        legal = page.split('data-testid="legal-tests"')[1].split('data-testid="rationale"')[0]
        for label in ("Lawful basis", "Necessity (pressing need)", "Proportionality"):
            assert label in legal
        assert shown(demo.DISCLOSE["disclosure_wording"]) in page


def test_timeline_shows_fields_with_labels_and_readable_values(app, staff, clients):
    case = new_case(app, staff, Status.awaiting_decision)
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    timeline = page.split('data-testid="timeline"')[1]
    # The checks are recorded on the checklist now (issue 5), shown above the timeline.
    checklist = page.split('data-testid="checklist"')[1].split("</table>")[0]
    assert "Police National Computer (PNC)" in checklist
    assert "ViSOR / sex offender register" in checklist
    assert "Convictions for child sexual offences" in timeline  # a choice's label, not its code
    assert "child_sexual_offences" not in timeline.replace('data-field="', "")
    today = datetime.now(UTC).date()
    assert f"{today.day} {today:%B %Y}" in timeline  # the interview date, in words
    assert "Application received → Initial checks" in timeline
    assert timeline.index("Submit an application") < timeline.index(
        "Complete the full risk assessment")


def test_applicant_contact_details_are_for_police_only(app, staff, clients):
    case = new_case(app, staff, Status.awaiting_decision)
    with app.app_context():
        take_step(get_session(), StepRequest(
            case.id, "invite_partner", case.version,
            {"partner_user_id": str(staff["partner"].id), "information_requested": "Risk."},
            "Probation manage him."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
        applicant = get_session().get(Case, case.id).applicant
        phone, address = applicant.phone, applicant.address
    for who in ("case_officer", "decision_maker"):
        page = html(clients[who].get(f"/staff/cases/{case.id}"))
        assert phone in page and address in page
    for who in ("partner", "auditor"):
        page = html(clients[who].get(f"/staff/cases/{case.id}"))
        assert "Alice Applicant" in page
        assert phone not in page and address not in page


STATES = [Status.received, Status.initial_checks, Status.awaiting_interview,
          Status.full_risk_assessment, Status.awaiting_decision, Status.disclosure_approved,
          Status.no_disclosure_decided, Status.closed]


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize("who", ["case_officer", "decision_maker", "auditor"])
def test_actions_are_exactly_the_enabled_events_the_role_may_send(app, staff, clients, status,
                                                                  who):
    case = new_case(app, staff, status)
    with app.app_context():
        stored = get_session().get(Case, case.id)
        machine = DisclosureWorkflow(stored, policy=app.extensions["case_policy"])
        enabled = {e.id for e in machine.enabled_events()}
        # An extension's answers appear only once one has been asked for.
        if not stored.extension_request:
            enabled -= EXTENSION_ANSWERS
    expected = {e for e in enabled if staff[who].role in MAY_SEND[e]}

    response = clients[who].get(f"/staff/cases/{case.id}")

    assert response.status_code == 200
    # Each is either offered, or shown with the machine's reason it cannot be taken yet.
    offered, explained = action_events(response), explained_events(response)
    assert offered | explained == expected and not offered & explained
    for event in explained:
        assert f'href="/staff/cases/{case.id}/steps/{event}"' not in html(response)
    if not expected:
        assert "There is nothing you can do on this case now." in html(response)


@pytest.mark.parametrize(("status", "who", "expected"), [
    (Status.initial_checks, "case_officer",
     {"reject_out_of_scope", "transfer", "accept_for_interview", "withdraw",
      "raise_urgent_safeguarding", "request_extension"}),
    (Status.initial_checks, "decision_maker",
     {"reject_out_of_scope", "transfer", "raise_urgent_safeguarding"}),
    (Status.awaiting_decision, "decision_maker",
     {"approve_disclosure_to_applicant", "approve_disclosure_to_other",
      "approve_other_information", "decide_no_disclosure", "invite_partner",
      "record_decision_meeting", "raise_urgent_safeguarding"}),
    (Status.awaiting_decision, "case_officer",
     {"invite_partner", "record_decision_meeting", "withdraw", "raise_urgent_safeguarding",
      "request_extension"}),
    (Status.decision_pending_approval, "decision_maker", {"raise_urgent_safeguarding"}),
    (Status.decision_pending_approval, "decision_maker_2",
     {"countersign_decision", "return_decision", "raise_urgent_safeguarding"}),
    (Status.disclosure_approved, "case_officer",  # delivery waits for the signed undertaking
     {"schedule_disclosure_meeting", "record_undertaking", "record_not_delivered",
      "raise_urgent_safeguarding", "request_extension"}),
    (Status.closed, "case_officer", set()),
])
def test_actions_for_known_situations(app, staff, clients, status, who, expected):
    case = new_case(app, staff, status)
    assert action_events(clients[who].get(f"/staff/cases/{case.id}")) == expected


def test_action_links_lead_to_the_step_forms(app, staff, clients):
    case = new_case(app, staff, Status.received)
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    assert f'href="/staff/cases/{case.id}/steps/start_checks"' in page


def test_auditors_read_the_case_page_without_actions(app, staff, clients):
    case = new_case(app, staff, Status.awaiting_decision)
    response = clients["auditor"].get(f"/staff/cases/{case.id}")
    assert response.status_code == 200
    assert action_events(response) == set()
    assert "/steps/" not in html(response)


def test_admins_may_not_open_case_pages(app, staff, clients):
    case = new_case(app, staff, Status.received)
    assert clients["admin"].get(f"/staff/cases/{case.id}").status_code == 403
    assert consultations(app, case.id) == []


def test_a_missing_case_is_not_found(clients):
    assert clients["case_officer"].get("/staff/cases/424242").status_code == 404


def test_decision_record_link_appears_when_the_documents_endpoint_exists(app, staff, clients):
    case = new_case(app, staff, Status.disclosure_approved)
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    has_endpoint = "documents.case_record" in app.view_functions
    assert ("Download decision record (PDF)" in page) is has_endpoint


def test_urgent_safeguarding_banner(app, staff, clients):
    case = new_case(app, staff, Status.initial_checks)
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    assert 'data-testid="urgent-safeguarding"' not in page
    with app.app_context():
        take_step(get_session(), StepRequest(
            case.id, "raise_urgent_safeguarding", case.version,
            {"risk_identified": "Child alone with subject tonight.",
             "action_taken": "emergency_response", "who_was_informed": "Control room"},
            "Immediate risk."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
    page = html(clients["case_officer"].get(f"/staff/cases/{case.id}"))
    assert 'data-testid="urgent-safeguarding"' in page
    assert "Emergency response deployed" in page


def test_names_with_markup_are_shown_as_text(app, staff, clients):
    payload = {
        "subject-full_name": "<b>Bold</b> <script>alert(1)</script>",
        "subject-date_of_birth": ["", "", ""],
        "subject-relationship_to_child": "Neighbour",
        "children-0-full_name": "Amy <i>Carter</i>",
        "children-0-date_of_birth": ["", "", ""],
        "children-0-age": "9",
        "children-0-subject_contact": "Lives next door",
        "referral_source": "police_intelligence",
        "referral_source_detail": "Local intelligence",
        "risk_summary": "Seen with the child.",
        "rationale": "Needs checking.",
        "submission_key": new_key(),
    }
    response = clients["case_officer"].post("/staff/right-to-know/new", data=payload)
    assert response.status_code == 303
    case_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    give_reason(clients["case_officer"], case_id)
    page = html(clients["case_officer"].get(response.headers["Location"]))
    assert "&lt;b&gt;Bold&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "Amy &lt;i&gt;Carter&lt;/i&gt;" in page


@pytest.mark.parametrize("path", ["/staff/cases/{id}", "/staff/", "/staff/?stage=nowhere",
                                  "/staff/right-to-know/new"])
def test_staff_pages_have_a_title_and_unique_ids(app, staff, clients, path):
    case = new_case(app, staff, Status.disclosure_approved)
    page = html(clients["case_officer"].get(path.format(id=case.id)))
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert re.search(r"<title>[^<]+ – ", page)


@pytest.mark.parametrize("path", ["/staff/cases/99999999999999999999999",
                                  "/staff/cases/99999999999999999999999/steps/start_checks",
                                  "/staff/cases/-1", "/staff/cases/abc"])
def test_impossible_case_ids_are_not_found(clients, path):
    assert clients["case_officer"].get(path).status_code == 404
