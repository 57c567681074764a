"""The staff case queue: filters validated against the workflow's enums, keyset pages, and no
personal details about the people in a case."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from tests.conftest import sign_in
from tests.factories import SUBJECT_NAME, make_case, make_user
from workflows.roles import Role
from workflows.status import Route, Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


def case_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-case-id="(\d+)"', response.get_data(as_text=True))]


def next_link(response) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
    return unescape(match.group(1)) if match else None


def new_case(app, staff, status=Status.received, **kwargs):
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], **kwargs)
    return case


def test_queue_lists_open_cases_but_not_closed_ones(app, staff, clients):
    open_case = new_case(app, staff, Status.initial_checks)
    closed = new_case(app, staff, Status.closed)
    response = clients["case_officer"].get("/staff/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert case_ids(response) == [open_case.id]
    assert open_case.reference in page
    assert closed.reference not in page
    assert "Initial checks" in page
    assert "Right to Ask" in page
    assert staff["case_officer"].display_name in page


def test_queue_shows_no_names_of_the_people_in_a_case(app, staff, clients):
    new_case(app, staff, Status.awaiting_decision)
    page = clients["decision_maker"].get("/staff/").get_data(as_text=True)
    for name in (SUBJECT_NAME, "Alice Applicant", "Charlie Child"):
        assert name not in page


@pytest.mark.parametrize("who", ["case_officer", "decision_maker", "partner"])
def test_queue_is_open_to_officers_decision_makers_and_partners(clients, who):
    assert clients[who].get("/staff/").status_code == 200


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_queue_is_refused_to_auditors_and_admins(clients, who):
    assert clients[who].get("/staff/").status_code == 403


def test_queue_sends_anonymous_visitors_to_sign_in(clients):
    response = clients["anonymous"].get("/staff/")
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_only_case_officers_see_the_open_right_to_know_button(clients):
    assert "Open a Right to Know case" in clients["case_officer"].get("/staff/").get_data(
        as_text=True)
    page = clients["decision_maker"].get("/staff/").get_data(as_text=True)
    assert 'href="/staff/right-to-know/new"' not in page


def test_filter_by_state(app, staff, clients):
    received = new_case(app, staff, Status.received)
    checking = new_case(app, staff, Status.initial_checks)
    officer = clients["case_officer"]
    assert case_ids(officer.get("/staff/?status=received")) == [received.id]
    assert case_ids(officer.get("/staff/?status=initial_checks")) == [checking.id]


def test_filter_by_stage_can_show_closed_cases(app, staff, clients):
    new_case(app, staff, Status.received)
    closed = new_case(app, staff, Status.closed)
    assert case_ids(clients["case_officer"].get("/staff/?stage=closed")) == [closed.id]


def test_filter_by_route(app, staff, clients):
    ask = new_case(app, staff, Status.initial_checks)
    know = new_case(app, staff, Status.initial_checks, route=Route.right_to_know)
    officer = clients["case_officer"]
    assert case_ids(officer.get("/staff/?route=right_to_know")) == [know.id]
    assert case_ids(officer.get("/staff/?route=right_to_ask")) == [ask.id]


def test_filter_mine_shows_only_cases_assigned_to_me(app, staff, clients):
    mine = new_case(app, staff, Status.initial_checks)
    with app.app_context():
        other_officer = make_user(get_session(), Role.case_officer, name="Other Officer")
    make_case(app, Status.initial_checks, officer=other_officer,
              decider=staff["decision_maker"])
    officer = clients["case_officer"]
    assert len(case_ids(officer.get("/staff/"))) == 2
    assert case_ids(officer.get("/staff/?mine=yes")) == [mine.id]


def test_filter_overdue_and_red_overdue_flags(app, staff, clients):
    policy = app.extensions["case_policy"]
    app.extensions["case_policy"] = replace(policy, clocks=replace(policy.clocks, overall_days=1))
    late = new_case(app, staff, Status.initial_checks)
    app.extensions["case_policy"] = replace(policy, clocks=replace(policy.clocks,
                                                                   overall_days=90))
    new_case(app, staff, Status.initial_checks)
    app.extensions["case_policy"] = policy
    app.config["CLOCK"] = lambda: datetime.now(UTC) + timedelta(days=10)
    # Ten days on, yesterday's session has ended (12 hours at most): sign in again then.
    officer = sign_in(app, staff["case_officer"].email)

    response = officer.get("/staff/?overdue=yes")

    assert case_ids(response) == [late.id]
    page = response.get_data(as_text=True)
    assert re.search(r'govuk-tag--red[^>]*>\s*Whole process overdue', page)


def test_urgent_safeguarding_is_flagged_in_the_queue(app, staff, clients):
    case = new_case(app, staff, Status.initial_checks)
    with app.app_context():
        take_step(get_session(), StepRequest(
            case.id, "raise_urgent_safeguarding", case.version,
            {"risk_identified": "Child alone with subject tonight.",
             "action_taken": "emergency_response", "who_was_informed": "Control room"},
            "Immediate risk."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
    page = clients["case_officer"].get("/staff/").get_data(as_text=True)
    assert "Urgent safeguarding" in page


@pytest.mark.parametrize(("query", "message"), [
    ("stage=nowhere", "Choose a stage from the list"),
    ("status=draft", "Choose a state from the list"),
    ("status=<script>", "Choose a state from the list"),
    ("route=right_to_shout", "Choose a route from the list"),
    ("overdue=maybe", "The overdue filter can only be switched on"),
    ("mine=1", "filter can only be switched on"),
])
def test_invalid_filter_value_is_a_400_with_a_clear_message(clients, query, message):
    response = clients["case_officer"].get(f"/staff/?{query}")
    raw = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in unescape(raw)
    assert "govuk-error-summary" in raw
    assert "<script>" not in raw


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not-a-cursor", "!!!", "x" * 500, "caf\u00e9",
    cursor_of("2026-01-01|abc"),  # not an id
    cursor_of("2026-01-01|5"),  # no time zone
    cursor_of("2026-01-01T00:00:00+00:00|99999999999999999999999"),  # beyond any integer
])
def test_a_bad_page_link_is_a_400_not_a_500(app, staff, clients, cursor):
    new_case(app, staff)
    response = clients["case_officer"].get(f"/staff/?after={cursor}")
    assert response.status_code == 400
    assert "That page link is not valid" in response.get_data(as_text=True)


def test_keyset_pages_cover_every_case_once(app, staff, clients):
    app.config["QUEUE_PAGE_SIZE"] = 2
    created = {new_case(app, staff).id for _ in range(5)}
    officer = clients["case_officer"]

    seen: list[int] = []
    url: str | None = "/staff/?status=received"
    pages = 0
    while url:
        response = officer.get(url)
        assert response.status_code == 200
        ids = case_ids(response)
        assert 0 < len(ids) <= 2
        seen += ids
        url = next_link(response)
        pages += 1
        if url:
            query = parse_qs(urlsplit(url).query)
            assert set(query) == {"status", "after"}  # the filters, the cursor, nothing else
            assert query["status"] == ["received"]
            assert "page" not in query and "offset" not in query
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == created
