"""The applicant's safe-contact answers decide how the outcome may be given, and the face-to-face
disclosure meeting needs a real time and date and a place that is not the subject's home (issue
11, "Identity and safety")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.models import Applicant, Case, CaseStep
from disclosure_app.operations import demo
from tests.factories import SUBJECT_ADDRESS, make_case, record_undertaking
from tests.integration.test_staff_steps import form_payload, snapshot, version_of
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

PARTNER_READS_POST = "My partner reads my post, so please do not write to me."


def case_at(app, staff, status: Status) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def set_contact(app, case_id: int, *, method: str, notes: str = "", phone: str = "01632 960001"
                ) -> None:
    """What the applicant answered on the public form about contacting them safely."""
    with app.app_context():
        session = get_session()
        applicant = session.query(Applicant).filter_by(case_id=case_id).one()
        applicant.contact_method, applicant.contact_notes, applicant.phone = method, notes, phone
        session.commit()


def post_step(client, app, case_id: int, event: str, data: dict, **raw: object):
    payload = {**form_payload(event, data, version_of(app, case_id)), **raw}
    response = client.post(f"/staff/cases/{case_id}/steps/{event}", data=payload)
    return response, unescape(response.get_data(as_text=True))


def steps_of(app, case_id: int, event: str) -> list[CaseStep]:
    with app.app_context():
        return list(get_session().query(CaseStep).filter_by(case_id=case_id, event=event))


# --- How the applicant is told the outcome ----------------------------------------------------

TODAY = date.today().isoformat()


def test_an_applicant_who_chose_phone_and_whose_post_is_read_is_never_sent_a_letter(
        app, staff, clients):
    case = case_at(app, staff, Status.no_disclosure_decided)
    set_contact(app, case.id, method="phone", notes=PARTNER_READS_POST)
    officer = clients["case_officer"]

    page = unescape(officer.get(f"/staff/cases/{case.id}/steps/communicate_outcome")
                    .get_data(as_text=True))
    assert 'value="letter"' not in page
    assert 'value="phone"' in page and 'value="in_person"' in page
    assert "Not offered: letter. The applicant did not agree to letters" in page

    before = snapshot(app, case.id)
    response, html = post_step(officer, app, case.id, "communicate_outcome",
                               {"method": "letter", "communicated_on": TODAY})
    assert response.status_code == 400
    assert "The applicant did not agree to letters: they asked to be contacted by phone" in html
    assert "Choose a safe way: in person, or telephone" in html
    assert snapshot(app, case.id) == before
    assert steps_of(app, case.id, "communicate_outcome") == []

    response, _ = post_step(officer, app, case.id, "communicate_outcome",
                            {"method": "phone", "communicated_on": TODAY})
    assert response.status_code == 303
    assert steps_of(app, case.id, "communicate_outcome")[0].data["method"] == "phone"


def test_a_letter_is_refused_when_the_applicant_says_their_post_is_not_safe(app, staff, clients):
    case = case_at(app, staff, Status.no_disclosure_decided)
    set_contact(app, case.id, method="letter", notes=PARTNER_READS_POST, phone="")
    officer = clients["case_officer"]
    page = unescape(officer.get(f"/staff/cases/{case.id}/steps/communicate_outcome")
                    .get_data(as_text=True))
    # No letter (their post is read) and no phone (no number): only in person is offered.
    assert 'value="letter"' not in page and 'value="phone"' not in page
    assert 'value="in_person"' in page

    # The server refuses it whatever a form offered.
    with app.app_context(), pytest.raises(InputInvalid) as refused:
        take_step(get_session(), StepRequest(case.id, "communicate_outcome",
                                             version_of(app, case.id),
                                             {"method": "letter", "communicated_on": TODAY},
                                             "Letter sent."),
                  user=staff["case_officer"], policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
    assert "mentions their post" in refused.value.errors["method"]
    assert steps_of(app, case.id, "communicate_outcome") == []


def test_a_letter_is_accepted_when_the_applicant_asked_for_letters(app, staff, clients):
    case = case_at(app, staff, Status.no_disclosure_decided)
    set_contact(app, case.id, method="letter", notes="")
    officer = clients["case_officer"]
    page = officer.get(f"/staff/cases/{case.id}/steps/communicate_outcome").get_data(
        as_text=True)
    assert 'value="letter"' in page and "Not offered" not in page
    response, _ = post_step(officer, app, case.id, "communicate_outcome",
                            {"method": "letter", "communicated_on": TODAY})
    assert response.status_code == 303


# --- The face-to-face disclosure meeting -------------------------------------------------------

MEETING = {**demo.SCHEDULE_MEETING,
           "meeting_date": (date.today() + timedelta(days=3)).isoformat()}


def test_the_meeting_time_must_be_a_real_time(app, staff, clients):
    case = case_at(app, staff, Status.disclosure_approved)
    officer = clients["case_officer"]
    before = snapshot(app, case.id)
    for bad in ("25:99", "24:00", "12:60", "noon", "1030"):
        response, html = post_step(officer, app, case.id, "schedule_disclosure_meeting",
                                   {**MEETING, "meeting_time": bad})
        assert response.status_code == 400, bad
        assert "Time of the meeting must be a real time on the 24-hour clock" in html, bad
        assert snapshot(app, case.id) == before
    response, _ = post_step(officer, app, case.id, "schedule_disclosure_meeting",
                            {**MEETING, "meeting_time": "9:05"})
    assert response.status_code == 303
    assert steps_of(app, case.id, "schedule_disclosure_meeting")[0].data["meeting_time"] == \
        "09:05"


def test_the_meeting_date_must_be_a_real_date(app, staff, clients):
    case = case_at(app, staff, Status.disclosure_approved)
    before = snapshot(app, case.id)
    response, html = post_step(clients["case_officer"], app, case.id,
                               "schedule_disclosure_meeting", MEETING,
                               meeting_date=["31", "2", str(date.today().year + 1)])
    assert response.status_code == 400
    assert "Date of the meeting must be a real date" in html
    assert snapshot(app, case.id) == before


@pytest.mark.parametrize("place", [
    SUBJECT_ADDRESS,
    "99 nonesuch LANE",
    "Flat 1, 99 Nonesuch Ln, Testborough",
    "99, NS2 7EX",
])
def test_the_meeting_place_is_never_the_subjects_address(app, staff, clients, place):
    case = case_at(app, staff, Status.disclosure_approved)
    before = snapshot(app, case.id)
    response, html = post_step(clients["case_officer"], app, case.id,
                               "schedule_disclosure_meeting", {**MEETING, "meeting_place": place})
    assert response.status_code == 400
    assert "subject's recorded address" in html
    assert snapshot(app, case.id) == before


def test_every_meeting_problem_is_named_on_its_own_field_at_once(app, staff):
    case = case_at(app, staff, Status.disclosure_approved)
    with app.app_context(), pytest.raises(InputInvalid) as refused:
        take_step(get_session(), StepRequest(
            case.id, "schedule_disclosure_meeting", version_of(app, case.id),
            {**MEETING, "meeting_time": "25:99", "meeting_place": SUBJECT_ADDRESS},
            "Meeting arranged."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
    errors = refused.value.errors
    assert "real time" in errors["meeting_time"]
    assert "subject's recorded address" in errors["meeting_place"]
    assert steps_of(app, case.id, "schedule_disclosure_meeting") == []


def test_a_disclosure_is_not_recorded_as_delivered_at_the_subjects_address(app, staff):
    case = case_at(app, staff, Status.disclosure_approved)
    now = datetime.now(UTC)
    with app.app_context():
        session = get_session()
        record_undertaking(session, case.id, staff["case_officer"],
                           policy=app.extensions["case_policy"], now=now)
        data = {**demo.DELIVERED, "meeting_date": now.date().isoformat(),
                "meeting_place": SUBJECT_ADDRESS}
        with pytest.raises(InputInvalid) as refused:
            take_step(session, StepRequest(case.id, "record_disclosure_delivered",
                                           session.get(Case, case.id).version, data,
                                           "Delivered."),
                      user=staff["case_officer"], policy=app.extensions["case_policy"], now=now)
    assert "subject's recorded address" in refused.value.errors["meeting_place"]
    assert steps_of(app, case.id, "record_disclosure_delivered") == []
