"""Idempotent submissions (SECURITY.md R-3), on SQLite and on PostgreSQL alike.

Every form that changes something carries a one-time key, stored under a UNIQUE constraint in
the same transaction as its change. Sent twice (a double click, a replay, the back button and
send again), the form changes things once and the repeat is answered with the original result.
A missing, damaged or misused key is a 400 that stores nothing; never a 500.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from disclosure_app.cases import applications
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.idempotency import (
    KEY_MISUSED,
    KEY_PROBLEM,
    AlreadySubmitted,
    is_well_formed,
    new_key,
)
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseStep, SubmissionKey
from disclosure_app.operations import demo
from tests.conftest import make_app, sign_in
from tests.factories import application_input, make_case, make_user, referral_input
from tests.integration.test_public_journey import (
    as_multidict,
    hidden_fields,
    status_link,
    valid_answers,
)
from tests.integration.test_staff_steps import form_payload, right_to_know_payload
from workflows.roles import Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

PARALLEL = 10
KEY_INPUT = re.compile(r'name="submission_key" type="hidden" value="([^"]*)"')


@pytest.fixture
def patient_app(database: Any) -> Any:
    """The app on this test's database, its writers waiting up to 120 s for their turn: ten
    writers released at once on a busy machine can queue past the shipped 5 s cap (which answers
    "busy, nothing saved" and has its own tests in test_database_contention.py). The tests
    that use it are about one-time keys, not lock waits."""
    app = make_app(database, DATABASE_LOCK_WAIT_SECONDS=120)
    yield app
    app.extensions["db_engine"].dispose()


def in_parallel(count: int, send: Callable[[int], Any]) -> list[Any]:
    """``send(i)`` for i in range(count), all released at the same moment."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count), timeout=120))


def rows(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def checked_answers(client: Any) -> list[tuple[str, str]]:
    """The hidden fields of the check-your-answers page's "Accept and send" form."""
    page = client.post("/apply", data=valid_answers())
    assert page.status_code == 200
    return hidden_fields(page.get_data(as_text=True), "/apply/submit")


def key_on(page: str) -> str:
    found = KEY_INPUT.findall(page)
    assert found, page[:2000]
    return found[-1]


def squash(page: str) -> str:
    return " ".join(unescape(page).split())


# --- The public application ------------------------------------------------------------------


def test_the_application_form_carries_a_fresh_key_through_check_your_answers(client):
    first = key_on(client.get("/apply").get_data(as_text=True))
    second = key_on(client.get("/apply").get_data(as_text=True))
    assert is_well_formed(first) and is_well_formed(second) and first != second

    answers = {**valid_answers(), "submission_key": first}
    check = client.post("/apply", data=answers).get_data(as_text=True)
    assert ("submission_key", first) in hidden_fields(check, "/apply/submit")
    assert ("submission_key", first) in hidden_fields(check, "/apply")  # "change your answers"
    assert first not in check.split("<form")[0]  # never shown among the answers


def test_ten_identical_applications_sent_at_once_are_stored_once(patient_app):
    answers = as_multidict(checked_answers(patient_app.test_client()))
    answers.poplist("csrf_token")  # each browser below sends its own session's token
    browsers = [patient_app.test_client() for _ in range(PARALLEL)]

    responses = in_parallel(PARALLEL, lambda i: browsers[i].post("/apply/submit", data=answers))

    assert [r.status_code for r in responses] == [303] * PARALLEL
    assert {r.headers["Location"] for r in responses} == {"/apply/confirmation"}
    assert rows(patient_app, Case) == 1
    assert rows(patient_app, AuditEntry, AuditEntry.action == "submit_application") == 1
    assert rows(patient_app, SubmissionKey) == 1
    with patient_app.app_context():
        reference = get_session().scalars(select(Case.reference)).one()
    pages = [squash(b.get("/apply/confirmation").get_data(as_text=True)) for b in browsers]
    assert all(reference in page for page in pages)
    shown_the_link = [page for page in pages if 'data-testid="status-link"' in page]
    told_again = [page for page in pages if "We already have your application" in page]
    assert len(shown_the_link) == 1 and len(told_again) == PARALLEL - 1
    assert all("/status/" not in page for page in told_again)


def test_sending_the_application_again_after_the_confirmation_gives_its_reference_not_its_link(
        app, client):
    answers = as_multidict(checked_answers(client))
    assert client.post("/apply/submit", data=answers).status_code == 303
    link = status_link(client.get("/apply/confirmation").get_data(as_text=True))

    again = client.post("/apply/submit", data=answers)  # back, and "Accept and send" again

    assert again.status_code == 303
    assert again.headers["Location"] == "/apply/confirmation"
    page = squash(client.get("/apply/confirmation").get_data(as_text=True))
    with app.app_context():
        reference = get_session().scalars(select(Case.reference)).one()
    assert reference in page
    assert "We already have your application" in page
    assert "the link to your status page is shown only once" in page
    assert "call 101 and quote your reference number" in page
    assert link not in page and "/status/" not in page
    assert rows(app, Case) == 1
    assert client.get(link).status_code == 200  # the first link still works


def test_a_repeat_sent_before_the_confirmation_was_shown_keeps_the_status_link(app, client):
    answers = as_multidict(checked_answers(client))
    first = client.post("/apply/submit", data=answers)
    second = client.post("/apply/submit", data=answers)  # a double click, same browser
    assert (first.status_code, second.status_code) == (303, 303)
    page = client.get("/apply/confirmation").get_data(as_text=True)
    assert client.get(status_link(page)).status_code == 200
    assert rows(app, Case) == 1


def test_a_repeat_with_changed_answers_stores_nothing_new(app, client):
    answers = checked_answers(client)
    assert client.post("/apply/submit", data=as_multidict(answers)).status_code == 303
    changed = [(n, "Someone Else" if n == "subject-full_name" else v) for n, v in answers]
    again = client.post("/apply/submit", data=as_multidict(changed))
    assert again.status_code == 303
    assert rows(app, Case) == 1
    with app.app_context():
        assert get_session().scalars(select(Case)).one().subject.full_name != "Someone Else"


def test_two_applications_with_their_own_keys_are_both_stored(app, client):
    for _ in range(2):
        assert client.post("/apply/submit", data=valid_answers()).status_code == 303
        assert "status-link" in client.get("/apply/confirmation").get_data(as_text=True)
    assert rows(app, Case) == 2
    assert rows(app, SubmissionKey) == 2


BAD_KEYS = [None, "", "short", "x" * 65, "<script>alert(1)</script>" * 2,
            "../../etc/passwd/../../etc/passwd/../..", "a" * 40 + "\u202e", "a" * 42 + " "]


@pytest.mark.parametrize("key", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_an_application_without_a_sound_key_is_a_400_that_stores_nothing(app, client, key):
    answers = valid_answers(submission_key=key)
    response = client.post("/apply/submit", data=answers)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page
    assert KEY_PROBLEM in unescape(page)
    assert "Alice Applicant" in page  # the answers are kept
    assert rows(app, Case) == 0 and rows(app, SubmissionKey) == 0
    fresh = key_on(page)
    assert is_well_formed(fresh) and fresh != key
    resent = client.post("/apply/submit", data=valid_answers(submission_key=fresh))
    assert resent.status_code == 303
    assert rows(app, Case) == 1


# --- Withdrawal --------------------------------------------------------------------------------


def test_a_withdrawal_sent_again_is_recorded_once_and_answered_as_the_first_time(app, client):
    case, token = make_case(app, Status.awaiting_interview)
    key = key_on(client.get(f"/status/{token}").get_data(as_text=True))
    form = {"reason": "We have moved away.", "confirm": "y", "submission_key": key}

    first = client.post(f"/status/{token}/withdraw", data=form)
    again = client.post(f"/status/{token}/withdraw", data=form)

    assert (first.status_code, again.status_code) == (303, 303)
    assert again.headers["Location"].endswith(f"/status/{token}")
    page = squash(client.get(f"/status/{token}").get_data(as_text=True))
    assert "Your application has been withdrawn." in page
    assert rows(app, AuditEntry, AuditEntry.action == "withdraw") == 1


def test_ten_identical_withdrawals_sent_at_once_withdraw_once(patient_app):
    _, token = make_case(patient_app, Status.received)
    form = {"reason": "", "confirm": "y", "submission_key": new_key()}
    browsers = [patient_app.test_client() for _ in range(PARALLEL)]
    responses = in_parallel(
        PARALLEL, lambda i: browsers[i].post(f"/status/{token}/withdraw", data=form))
    assert [r.status_code for r in responses] == [303] * PARALLEL
    assert rows(patient_app, AuditEntry, AuditEntry.action == "withdraw") == 1
    assert rows(patient_app, Case, Case.status == Status.withdrawn) == 1


def test_a_withdrawal_key_from_another_application_is_refused(app, client):
    _, first = make_case(app, Status.received)
    case, second = make_case(app, Status.received)
    key = new_key()
    form = {"confirm": "y", "submission_key": key}
    assert client.post(f"/status/{first}/withdraw", data=form).status_code == 303
    response = client.post(f"/status/{second}/withdraw", data=form)
    assert response.status_code == 400
    assert KEY_MISUSED in unescape(response.get_data(as_text=True))
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.received


# --- Staff steps -------------------------------------------------------------------------------


def officer_case(app: Flask, staff: dict[str, Any], status: Status) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return case


def step_url(case_id: int, event: str) -> str:
    return f"/staff/cases/{case_id}/steps/{event}"


def test_ten_identical_step_posts_sent_at_once_take_the_step_once(patient_app, staff):
    case = officer_case(patient_app, staff, Status.initial_checks)
    payload = form_payload("accept_for_interview", demo.ACCEPT, case.version)
    officers = [sign_in(patient_app, staff["case_officer"].email) for _ in range(PARALLEL)]
    url = step_url(case.id, "accept_for_interview")

    responses = in_parallel(PARALLEL, lambda i: officers[i].post(url, data=payload))

    assert [r.status_code for r in responses] == [303] * PARALLEL
    assert {r.headers["Location"] for r in responses} == {f"/staff/cases/{case.id}"}
    with patient_app.app_context():
        session = get_session()
        stored = session.get(Case, case.id)
        assert stored.status is Status.awaiting_interview
        assert stored.version == case.version + 1
    assert rows(patient_app, CaseStep, CaseStep.event == "accept_for_interview") == 1
    assert rows(patient_app, AuditEntry, AuditEntry.action == "accept_for_interview") == 1
    assert rows(patient_app, SubmissionKey, SubmissionKey.key == payload["submission_key"]) == 1
    banners = [squash(o.get(f"/staff/cases/{case.id}").get_data(as_text=True))
               for o in officers]
    assert sum("Accept: arrange the interview: saved" in page for page in banners) == 1
    assert sum("already saved from this form, so nothing was saved again" in page
               for page in banners) == PARALLEL - 1


def test_a_step_form_sent_again_after_it_was_saved_lands_on_the_case_and_changes_nothing(
        app, staff, clients):
    case = officer_case(app, staff, Status.initial_checks)
    payload = form_payload("accept_for_interview", demo.ACCEPT, case.version)
    url = step_url(case.id, "accept_for_interview")
    assert clients["case_officer"].post(url, data=payload).status_code == 303
    clients["case_officer"].get(f"/staff/cases/{case.id}")  # the first banner, seen

    edited = {**payload, "rationale": "Second thoughts, typed after going back."}
    again = clients["case_officer"].post(url, data=edited)

    assert again.status_code == 303
    assert again.headers["Location"] == f"/staff/cases/{case.id}"
    page = squash(clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True))
    assert "Accept: arrange the interview: already saved from this form" in page
    assert rows(app, CaseStep, CaseStep.event == "accept_for_interview") == 1
    with app.app_context():
        session = get_session()
        assert session.get(Case, case.id).version == case.version + 1
        step = session.scalars(select(CaseStep).where(
            CaseStep.event == "accept_for_interview")).one()
        assert step.rationale == payload["rationale"]


def test_a_repeat_is_answered_even_when_the_form_would_no_longer_be_valid(app, staff, clients):
    """Inviting a partner removes them from the form's choices: the repeat must still be
    answered as the first time, not refused as an invalid choice."""
    case = officer_case(app, staff, Status.awaiting_decision)
    url = step_url(case.id, "invite_partner")
    payload = form_payload("invite_partner", {"partner_user_id": str(staff["partner"].id),
                                              "information_requested": "Risk assessment."},
                           case.version)
    assert clients["case_officer"].post(url, data=payload).status_code == 303
    again = clients["case_officer"].post(url, data=payload)
    assert again.status_code == 303
    assert rows(app, CaseStep, CaseStep.event == "invite_partner") == 1


URGENT = {"risk_identified": "Alone with the child.", "action_taken": "csc_referral",
          "who_was_informed": "Duty social worker"}


@pytest.mark.parametrize("elsewhere", ["another case", "another step", "another officer"])
def test_a_step_key_already_used_for_something_else_is_a_400_that_stores_nothing(
        app, staff, clients, elsewhere):
    first = officer_case(app, staff, Status.initial_checks)
    used = form_payload("accept_for_interview", demo.ACCEPT, first.version)
    assert clients["case_officer"].post(step_url(first.id, "accept_for_interview"),
                                        data=used).status_code == 303
    client, target, event, data = clients["case_officer"], first, "accept_for_interview", {}
    if elsewhere == "another case":
        target, data = officer_case(app, staff, Status.initial_checks), demo.ACCEPT
    elif elsewhere == "another step":
        event, data = "raise_urgent_safeguarding", URGENT
    else:
        with app.app_context():
            email = make_user(get_session(), Role.case_officer, name="Colin Colleague").email
        client = sign_in(app, email)
    with app.app_context():
        version = get_session().get(Case, target.id).version
    steps_before = rows(app, CaseStep)

    response = client.post(step_url(target.id, event), data={
        **form_payload(event, data, version), "submission_key": used["submission_key"]})

    assert response.status_code == 400
    assert KEY_MISUSED in unescape(response.get_data(as_text=True))
    assert rows(app, CaseStep) == steps_before
    with app.app_context():
        assert get_session().get(Case, target.id).version == version


@pytest.mark.parametrize("key", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_a_step_without_a_sound_key_is_a_400_that_keeps_what_was_typed(
        app, staff, clients, key):
    case = officer_case(app, staff, Status.initial_checks)
    payload = form_payload("accept_for_interview", demo.ACCEPT, case.version,
                           rationale="My careful rationale.")
    if key is None:
        del payload["submission_key"]
    else:
        payload["submission_key"] = key
    url = step_url(case.id, "accept_for_interview")

    response = clients["case_officer"].post(url, data=payload)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert KEY_PROBLEM in unescape(page)
    assert "My careful rationale." in page
    assert rows(app, CaseStep, CaseStep.event == "accept_for_interview") == 0
    assert rows(app, SubmissionKey) == 0
    payload["submission_key"] = key_on(page)
    assert clients["case_officer"].post(url, data=payload).status_code == 303


def test_a_refused_step_does_not_use_up_its_key(app, staff, clients):
    case = officer_case(app, staff, Status.initial_checks)
    payload = form_payload("accept_for_interview", {**demo.ACCEPT, "immediate_risk": ""},
                           case.version)
    url = step_url(case.id, "accept_for_interview")
    assert clients["case_officer"].post(url, data=payload).status_code == 400
    assert rows(app, SubmissionKey) == 0
    payload["immediate_risk"] = "no"
    assert clients["case_officer"].post(url, data=payload).status_code == 303
    assert rows(app, SubmissionKey) == 1


def test_the_step_form_carries_a_new_key_each_time_it_is_opened(app, staff, clients):
    case = officer_case(app, staff, Status.initial_checks)
    url = step_url(case.id, "accept_for_interview")
    keys = {key_on(clients["case_officer"].get(url).get_data(as_text=True)) for _ in range(3)}
    assert len(keys) == 3 and all(is_well_formed(k) for k in keys)


# --- Right to Know -----------------------------------------------------------------------------


def test_a_right_to_know_referral_sent_twice_opens_one_case(app, staff, clients):
    officer = clients["case_officer"]
    key = key_on(officer.get("/staff/right-to-know/new").get_data(as_text=True))
    payload = right_to_know_payload(submission_key=key)

    first = officer.post("/staff/right-to-know/new", data=payload)
    again = officer.post("/staff/right-to-know/new", data=payload)

    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["Location"] == again.headers["Location"]
    assert rows(app, Case) == 1
    page = squash(officer.get(again.headers["Location"]).get_data(as_text=True))
    assert "was already opened from this form, so no second case was opened" in page


def test_ten_identical_right_to_know_referrals_sent_at_once_open_one_case(patient_app, staff):
    payload = right_to_know_payload()
    officers = [sign_in(patient_app, staff["case_officer"].email) for _ in range(PARALLEL)]
    responses = in_parallel(
        PARALLEL, lambda i: officers[i].post("/staff/right-to-know/new", data=payload))
    assert [r.status_code for r in responses] == [303] * PARALLEL
    assert len({r.headers["Location"] for r in responses}) == 1
    assert rows(patient_app, Case) == 1
    assert rows(patient_app, AuditEntry, AuditEntry.action == "open_right_to_know") == 1


def test_a_right_to_know_referral_without_a_sound_key_is_a_400(app, staff, clients):
    response = clients["case_officer"].post("/staff/right-to-know/new",
                                            data=right_to_know_payload(submission_key="nope"))
    assert response.status_code == 400
    assert KEY_PROBLEM in unescape(response.get_data(as_text=True))
    assert rows(app, Case) == 0


# --- The services --------------------------------------------------------------------------------


def test_the_services_do_a_keyed_change_once_and_then_describe_it(app, staff):
    policy = app.extensions["case_policy"]
    key = new_key()
    with app.app_context():
        session = get_session()
        done = applications.submit_application(
            session, application_input(), policy=policy,
            now=datetime.now(UTC), submission_key=key)
        with pytest.raises(AlreadySubmitted) as again:
            applications.submit_application(
                session, application_input(), policy=policy,
                now=datetime.now(UTC), submission_key=key)
        assert again.value.reference == done.case.reference
        assert again.value.case_id == done.case.id
        assert not hasattr(again.value, "status_token")

        step_key = new_key()
        request = StepRequest(done.case.id, "start_checks", done.case.version, {},
                              "Checks started.", submission_key=step_key)
        take_step(session, request, user=staff["case_officer"], policy=policy,
                  now=datetime.now(UTC))
        with pytest.raises(AlreadySubmitted) as repeated:
            take_step(session, request, user=staff["case_officer"], policy=policy,
                      now=datetime.now(UTC))
        assert (repeated.value.case_id, repeated.value.event) == (done.case.id, "start_checks")

        case = applications.open_right_to_know(
            session, referral_input(), user=staff["case_officer"], policy=policy,
            now=datetime.now(UTC), submission_key=new_key())
        keys = session.scalars(select(SubmissionKey).order_by(SubmissionKey.id)).all()
        assert [(k.purpose, k.case_id, k.event) for k in keys] == [
            ("apply", done.case.id, None), ("step", done.case.id, "start_checks"),
            ("right_to_know", case.id, None)]
        assert keys[1].user_id == staff["case_officer"].id and keys[0].user_id is None
