"""Extensions through the staff forms (ask, authorise by a second person of rank, refuse), the
public status page's new date and neutral sentence, and the reason asked for a late closure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseStep
from tests.conftest import sign_in
from tests.factories import make_case, make_user
from tests.integration.test_staff_steps import form_payload, snapshot, url
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


def a_case(app, staff, status=Status.full_risk_assessment):
    return make_case(app, status, officer=staff["case_officer"],
                     decider=staff["decision_maker"], approver=staff["decision_maker_2"])


def case_row(app, case_id: int) -> Case:
    with app.app_context():
        session = get_session()
        case = session.get(Case, case_id)
        session.expunge(case)
        return case


def local_day(instant: datetime) -> date:
    from zoneinfo import ZoneInfo
    return (instant - timedelta(microseconds=1)).astimezone(ZoneInfo("Europe/London")).date()


def ask(clients, app, case_id: int, new_date: date, who: str = "case_officer"):
    payload = form_payload("request_extension", {
        "clock": "overall", "new_date": new_date.isoformat(),
        "reason_code": "partner_information_awaited"}, case_row(app, case_id).version,
        rationale="Probation's risk assessment is due after the current target.")
    return clients[who].post(url(case_id, "request_extension"), data=payload)


def test_an_authorised_extension_moves_the_target_and_the_public_page_shows_it(
        app, staff, clients):
    case, token = a_case(app, staff)
    old_day = local_day(case.decision_due_at)
    new_day = old_day + timedelta(days=14)

    assert ask(clients, app, case.id, new_day).status_code == 303
    assert local_day(case_row(app, case.id).decision_due_at) == old_day  # not yet
    page = unescape(clients["decision_maker"].get(f"/staff/cases/{case.id}").get_data(
        as_text=True))
    assert f"/staff/cases/{case.id}/steps/extend_deadline" in page

    answer = form_payload("extend_deadline", {"exceptional_confirmed": "yes"},
                          case_row(app, case.id).version,
                          rationale="Waiting for probation is outside the unit's control.")
    response = clients["decision_maker"].post(url(case.id, "extend_deadline"), data=answer)
    assert response.status_code == 303

    assert local_day(case_row(app, case.id).decision_due_at) == new_day
    public = unescape(app.test_client().get(f"/status/{token}").get_data(as_text=True))
    assert new_day.strftime("%d %B %Y") in public
    assert old_day.strftime("%d %B %Y") not in public
    assert "We have changed a target date for" in public
    assert "does not tell you anything about" in public
    for secret in ("probation", "Probation", "partner", "exceptional"):
        assert secret not in public.split("Target dates")[1].split("</dl>")[0]
    with app.app_context():
        actions = get_session().scalars(select(AuditEntry.action).where(
            AuditEntry.case_id == case.id)).all()
    assert "request_extension" in actions and "extend_deadline" in actions


def test_the_officer_who_asked_cannot_authorise_even_as_a_sergeant(app, staff, clients):
    with app.app_context():
        sergeant = make_user(get_session(), Role.case_officer, rank=Rank.sergeant)
    client = sign_in(app, sergeant.email)
    case, _ = a_case(app, staff)
    clients = {**clients, "sergeant": client}
    assert ask(clients, app, case.id, local_day(case.decision_due_at) + timedelta(days=3),
               who="sergeant").status_code == 303
    before = snapshot(app, case.id)
    answer = form_payload("extend_deadline", {"exceptional_confirmed": "yes"},
                          case_row(app, case.id).version, rationale="My own request.")
    response = client.post(url(case.id, "extend_deadline"), data=answer)
    assert response.status_code == 403
    assert "You asked for this extension" in unescape(response.get_data(as_text=True))
    assert snapshot(app, case.id) == before


def test_a_constable_cannot_authorise_an_extension(app, staff, clients):
    with app.app_context():
        colleague = make_user(get_session(), Role.case_officer, rank=Rank.constable)
    case, _ = a_case(app, staff)
    ask(clients, app, case.id, local_day(case.decision_due_at) + timedelta(days=3))
    before = snapshot(app, case.id)
    answer = form_payload("extend_deadline", {"exceptional_confirmed": "yes"},
                          case_row(app, case.id).version, rationale="Fine by me.")
    response = sign_in(app, colleague.email).post(url(case.id, "extend_deadline"), data=answer)
    assert response.status_code == 403
    assert snapshot(app, case.id) == before


@pytest.mark.parametrize(("days", "message"), [
    (0, "must be after the current target"),
    (-5, "must be after the current target"),
    (31, "at most 30 days"),
])
def test_a_bad_new_date_is_refused_with_a_reason_and_nothing_is_stored(app, staff, clients,
                                                                     days, message):
    case, _ = a_case(app, staff)
    before = snapshot(app, case.id)
    response = ask(clients, app, case.id, local_day(case.decision_due_at) + timedelta(days=days))
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True))
    assert snapshot(app, case.id) == before


def test_a_past_new_date_is_refused(app, staff, clients):
    case, _ = a_case(app, staff)
    before = snapshot(app, case.id)
    response = ask(clients, app, case.id, date.today() - timedelta(days=1))
    assert response.status_code == 400
    assert "must be in the future" in unescape(response.get_data(as_text=True))
    assert snapshot(app, case.id) == before


def test_a_refused_extension_leaves_the_target_and_says_nothing_to_the_public(
        app, staff, clients):
    case, token = a_case(app, staff)
    due = case.decision_due_at
    ask(clients, app, case.id, local_day(due) + timedelta(days=7))
    refuse = form_payload("refuse_extension", {}, case_row(app, case.id).version,
                          rationale="The partner can be chased; no exceptional reason.")
    assert clients["decision_maker"].post(url(case.id, "refuse_extension"),
                                          data=refuse).status_code == 303
    assert case_row(app, case.id).decision_due_at == due
    public = app.test_client().get(f"/status/{token}").get_data(as_text=True)
    assert "We have changed a target date" not in public


# --- A late closure asks why (DOMAIN.md §9.3 #23) ------------------------------------------


def test_closing_after_the_target_needs_the_reason_and_records_it(app, staff, clients):
    case, _ = a_case(app, staff, Status.disclosure_delivered)
    later = case.decision_due_at + timedelta(days=2)
    app.config["CLOCK"] = lambda: later
    officer = sign_in(app, staff["case_officer"].email)  # yesterday's session has ended
    data = {"referrals_complete": "yes",
            "review_date": (later.date() + timedelta(days=2000)).isoformat()}
    before = snapshot(app, case.id)
    refused = officer.post(url(case.id, "close_case"),
                           data=form_payload("close_case", data, case_row(app, case.id).version))
    assert refused.status_code == 400
    page = unescape(refused.get_data(as_text=True))
    assert "select why it was missed" in page and "Explain what held the case up" in page
    assert snapshot(app, case.id) == before

    data |= {"breach_reason_code": "partner_delay",
             "breach_explanation": "Probation's information arrived after the target."}
    closed = officer.post(url(case.id, "close_case"),
                          data=form_payload("close_case", data, case_row(app, case.id).version))
    assert closed.status_code == 303
    stored = case_row(app, case.id)
    assert stored.status is Status.closed and stored.overall_breach_reason == "partner_delay"
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(CaseStep).where(
            CaseStep.case_id == case.id, CaseStep.event == "close_case")) == 1


def test_closing_in_time_asks_for_no_reason(app, staff, clients):
    case, _ = a_case(app, staff, Status.disclosure_delivered)
    data = {"referrals_complete": "yes",
            "review_date": (date.today() + timedelta(days=2000)).isoformat()}
    response = clients["case_officer"].post(url(case.id, "close_case"), data=form_payload(
        "close_case", data, case_row(app, case.id).version))
    assert response.status_code == 303
    assert case_row(app, case.id).overall_breach_reason is None

