"""Partner-agency members see and act on only the cases they are invited to, and only while the
case is open."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseStep, User
from disclosure_app.operations import demo
from tests.factories import make_case, make_user, record_undertaking, resolve
from workflows.roles import Agency, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

VIEW = {"information_held": "Subject on licence until 2027; assessed high risk to children.",
        "agency_view": "supports_disclosure"}


def new_case(app, staff, status=Status.awaiting_decision):
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return case


def step(app, staff, case_id: int, event: str, who: str, data: dict) -> None:
    with app.app_context():
        session = get_session()
        version = session.get(Case, case_id).version
        take_step(session, StepRequest(case_id, event, version,
                                       resolve(data, datetime.now(UTC)), f"Because: {event}."),
                  user=staff[who], policy=app.extensions["case_policy"], now=datetime.now(UTC))


def invite(app, staff, case_id: int) -> None:
    step(app, staff, case_id, "invite_partner", "case_officer",
         {"partner_user_id": str(staff["partner"].id),
          "information_requested": "Current risk assessment and supervision status."})


def queue_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-case-id="(\d+)"', response.get_data(as_text=True))]


def counts(app, case_id: int) -> tuple[int, int, int]:
    with app.app_context():
        session = get_session()
        return (session.get(Case, case_id).version,
                session.scalar(select(func.count()).select_from(CaseStep)
                               .where(CaseStep.case_id == case_id)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def test_partner_sees_only_invited_cases_in_the_queue(app, staff, clients):
    invited = new_case(app, staff)
    new_case(app, staff)
    invite(app, staff, invited.id)
    assert queue_ids(clients["partner"].get("/staff/")) == [invited.id]
    assert len(queue_ids(clients["case_officer"].get("/staff/"))) == 2


def test_partner_gets_the_same_404_for_an_uninvited_case_as_for_a_missing_one(
        app, staff, clients):
    uninvited = new_case(app, staff)
    response = clients["partner"].get(f"/staff/cases/{uninvited.id}")
    missing = clients["partner"].get("/staff/cases/987654")
    assert response.status_code == missing.status_code == 404
    assert response.get_data() == missing.get_data()
    assert clients["partner"].get(
        f"/staff/cases/{uninvited.id}/steps/record_agency_view").status_code == 404
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "case_viewed")) == 0


def test_invited_partner_reads_the_case_and_sees_the_invitation(app, staff, clients):
    case = new_case(app, staff)
    invite(app, staff, case.id)
    page = clients["partner"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    invitations = page.split('data-testid="invitations"')[1].split("</table>")[0]
    assert staff["partner"].full_name in invitations
    assert "Probation" in invitations
    assert re.findall(r'<a class="govuk-button[^"]*"[^>]*data-event="(\w+)"', page) == [
        "record_agency_view"]


def test_invited_partner_records_their_agencys_view(app, staff, clients):
    case = new_case(app, staff)
    invite(app, staff, case.id)
    version, steps, audit = counts(app, case.id)
    url = f"/staff/cases/{case.id}/steps/record_agency_view"

    assert clients["partner"].get(url).status_code == 200
    response = clients["partner"].post(url, data={
        **VIEW, "expected_version": str(version), "submission_key": new_key(),
        "rationale": "Disclosure is the only way the mother can protect the child."})

    assert response.status_code == 303
    assert counts(app, case.id) == (version + 1, steps + 1, audit + 1)
    with app.app_context():
        session = get_session()
        assert session.get(Case, case.id).status is Status.awaiting_decision
        row = session.scalars(select(CaseStep).order_by(CaseStep.id.desc())).first()
        assert (row.event, row.actor_id) == ("record_agency_view", staff["partner"].id)
        assert row.data["agency_view"] == "supports_disclosure"
    page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Supports disclosure" in page
    assert "Disclosure is the only way the mother can protect the child." in page


def test_partner_cannot_take_police_steps_on_an_invited_case(app, staff, clients):
    case = new_case(app, staff)
    invite(app, staff, case.id)
    before = counts(app, case.id)
    url = f"/staff/cases/{case.id}/steps/approve_disclosure_to_applicant"
    assert clients["partner"].get(url).status_code == 403
    data = {**demo.DISCLOSE, "expected_version": str(before[0]), "rationale": "No."}
    assert clients["partner"].post(url, data=data).status_code == 403
    assert counts(app, case.id) == before


def test_partner_loses_access_when_the_case_closes(app, staff, clients):
    case = new_case(app, staff)
    invite(app, staff, case.id)
    assert clients["partner"].get(f"/staff/cases/{case.id}").status_code == 200

    step(app, staff, case.id, "approve_disclosure_to_applicant", "decision_maker", demo.DISCLOSE)
    step(app, staff, case.id, "countersign_decision", "decision_maker_2", demo.COUNTERSIGN)
    with app.app_context():
        record_undertaking(get_session(), case.id, staff["case_officer"],
                           policy=app.extensions["case_policy"], now=datetime.now(UTC))
    assert clients["partner"].get(f"/staff/cases/{case.id}").status_code == 200
    step(app, staff, case.id, "record_disclosure_delivered", "case_officer",
         {**demo.DELIVERED, "meeting_date": "D-0"})
    step(app, staff, case.id, "close_case", "case_officer",
         {"referrals_complete": "yes", "review_date": "D+2000"})

    assert clients["partner"].get(f"/staff/cases/{case.id}").status_code == 404
    assert queue_ids(clients["partner"].get("/staff/?stage=closed")) == []
    assert clients["case_officer"].get(f"/staff/cases/{case.id}").status_code == 200


def test_invite_partner_form_offers_only_partners_not_yet_invited(app, staff, clients):
    case = new_case(app, staff)
    url = f"/staff/cases/{case.id}/steps/invite_partner"
    page = clients["case_officer"].get(url).get_data(as_text=True)
    assert f'value="{staff["partner"].id}"' in page
    invite(app, staff, case.id)
    page = clients["case_officer"].get(url).get_data(as_text=True)
    assert f'value="{staff["partner"].id}"' not in page
    assert "already been invited" in page
    # Posting an already-invited partner anyway is a 400, never a database error.
    version = counts(app, case.id)[0]
    response = clients["case_officer"].post(url, data={
        "partner_user_id": str(staff["partner"].id), "information_requested": "Again.",
        "expected_version": str(version), "rationale": "Again.", "submission_key": new_key()})
    assert response.status_code == 400


def test_a_partner_sees_their_invitation_and_their_own_view_but_not_police_steps(app, staff,
                                                                                 clients):
    case = new_case(app, staff)
    invite(app, staff, case.id)
    with app.app_context():
        other_id = make_user(get_session(), Role.partner, name="Cara Socialcare",
                             agency=Agency.childrens_social_care).id
    step(app, staff, case.id, "invite_partner", "case_officer",
         {"partner_user_id": str(other_id), "information_requested": "Family involvement."})
    step(app, staff, case.id, "record_agency_view", "partner",
         {"information_held": "On licence until 2027.", "agency_view": "supports_disclosure"})
    with app.app_context():
        session = get_session()
        take_step(session, StepRequest(case.id, "record_agency_view",
                                       session.get(Case, case.id).version,
                                       {"information_held": "Family known since 2019.",
                                        "agency_view": "no_view"}, "Other agency view."),
                  user=session.get(User, other_id), policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
    page = clients["partner"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    timeline = page.split('data-testid="timeline"')[1]
    assert "On licence until 2027." in timeline  # their own view
    assert "Current risk assessment and supervision status." in timeline  # what was asked
    assert "Family involvement." not in page  # what another agency was asked
    assert "Family known since 2019." not in page  # another agency's view
    assert "Other agency view." not in page
    for police_step in ("Test rationale for record_interview.",
                        "Test rationale for complete_assessment.", demo.INTERVIEW[
                            "account_of_concern"]):
        assert police_step not in page
    police_page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "Family known since 2019." in police_page
    assert "Test rationale for complete_assessment." in police_page
