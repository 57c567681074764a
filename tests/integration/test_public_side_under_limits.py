"""The public side under its limits and its error pages (issue 11): a shared address is not a
wall, a refused send keeps every answer and says when to try again, error pages stay safe even
when an after-request hook fails, and the public side speaks to the public."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from limits import parse_many
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import MultiDict

from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import Case, SecurityEvent
from disclosure_app.operations import demo
from tests.conftest import make_app
from tests.factories import PASSWORD
from tests.integration.test_public_journey import count, hidden_fields, squash, valid_answers
from tests.integration.test_staff_steps import (
    VALID_STEPS,
    case_in,
    form_payload,
    right_to_know_payload,
    run_setup,
    url,
)
from tests.security.test_sec_browser_and_limits import _assert_headers
from workflows.status import Status

LOCKED = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


def _locked(*args: Any, **kwargs: Any) -> None:
    raise LOCKED


def _checked(client: Any, **overrides: Any) -> list[tuple[str, str]]:
    """The hidden answers of a check-your-answers page (what "Accept and send" posts)."""
    page = client.post("/apply", data=valid_answers(submission_key=new_key(), **overrides))
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    return hidden_fields(page.get_data(as_text=True), "/apply/submit")


def _stored_events(app: Any, event: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = get_session().scalars(select(SecurityEvent)).all()
        found = [json.loads(row.details) | {"kind": row.kind} for row in rows]
        get_session().rollback()
    return [e for e in found if e.get("event") == event]


@pytest.fixture
def limited(database):
    app = make_app(database, RATELIMIT_ENABLED=True)
    yield app
    app.extensions["db_engine"].dispose()


# --- 1. Limits a refuge or a library can live with ---------------------------------------------


def test_the_shipped_per_address_limit_lets_a_refuge_send_tens_of_applications_an_hour(limited):
    per_hour = [lim.amount for lim in parse_many(limited.config["RATELIMIT_APPLY"])
                if lim.get_expiry() == 3600]
    assert per_hour and per_hour[0] >= 20
    client = limited.test_client()
    statuses = [client.post("/apply/submit", data=MultiDict(_checked(client))).status_code
                for _ in range(20)]
    assert statuses == [303] * 20
    assert count(limited, Case) == 20


def test_the_global_cap_still_refuses_past_its_limit_whatever_the_address(database):
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_APPLY_GLOBAL="2 per hour")
    try:
        statuses = []
        for i in range(3):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"192.0.2.{i + 1}"
            statuses.append(client.post("/apply/submit",
                                        data=MultiDict(_checked(client))).status_code)
        assert statuses == [303, 303, 429]
    finally:
        app.extensions["db_engine"].dispose()


# --- 2. A 429 keeps every answer and says when --------------------------------------------------


def test_a_refused_application_keeps_every_answer_says_when_and_can_be_sent_again(database):
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_APPLY="1 per hour")
    try:
        client = app.test_client()
        assert client.post("/apply/submit", data=MultiDict(_checked(client))).status_code == 303
        sent = _checked(client, concern='He said "<b>soon</b>" & left.')
        refused = client.post("/apply/submit", data=MultiDict(sent))
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429
        _assert_headers(refused, "429")
        # Every answer, ready to send again, escaped.
        kept = hidden_fields(page, "/apply/submit")
        assert sorted(p for p in kept if p[0] != "csrf_token") == sorted(
            p for p in sent if p[0] != "csrf_token")
        assert "<b>soon</b>" not in page and "&lt;b&gt;soon&lt;/b&gt;" in page
        assert re.search(r'<button[^>]*>\s*Try again', page)
        # When: the header and the page agree, in UK time.
        wait = int(refused.headers["Retry-After"])
        assert 0 < wait <= 3600
        at = datetime.fromtimestamp(time.time() + wait, ZoneInfo("Europe/London"))
        shown = re.search(r"after (\d\d:\d\d)", squash(page))
        assert shown, squash(page)[:3000]
        assert abs(int(shown[1][:2]) * 60 + int(shown[1][3:]) - (at.hour * 60 + at.minute)) in (
            0, 1, 1439)
        assert "101" in page and "999" in page
        assert count(app, Case) == 1
        # Once the limit allows it, the same page sends the same application, once.
        app.config["RATELIMIT_APPLY"] = "5 per hour"
        again = client.post("/apply/submit", data=MultiDict(kept))
        assert again.status_code == 303
        assert count(app, Case) == 2
    finally:
        app.extensions["db_engine"].dispose()


def test_a_refused_status_page_says_when_and_gives_101_and_999(database):
    # In-process counts: this is about the page. (The database storage under a status read is
    # the lock fix's own test.)
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_STATUS="1 per minute",
                   RATELIMIT_STORAGE_URI="memory://")
    try:
        client = app.test_client()
        client.get("/status/" + "A" * 43)
        refused = client.get("/status/" + "A" * 43)
        page = squash(refused.get_data(as_text=True))
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) <= 60
        assert re.search(r"after \d\d:\d\d", page) and "101" in page and "999" in page
    finally:
        app.extensions["db_engine"].dispose()


# --- 3. 503 "Nothing was saved" keeps what was typed, never a password ------------------------


def test_a_503_on_the_application_keeps_every_answer_and_sends_it_again(app, client,
                                                                         monkeypatch):
    sent = _checked(client, concern='He said "<script>x</script>"')
    monkeypatch.setattr("disclosure_app.cases.applications.submit_application", _locked)
    refused = client.post("/apply/submit", data=MultiDict(sent))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 503
    assert "Nothing was saved" in page
    assert "<script>x</script>" not in page
    kept = hidden_fields(page, "/apply/submit")
    assert sorted(p for p in kept if p[0] != "csrf_token") == sorted(
        p for p in sent if p[0] != "csrf_token")
    assert re.search(r'<button[^>]*>\s*Send again', page)
    monkeypatch.undo()
    assert client.post("/apply/submit", data=MultiDict(kept)).status_code == 303
    assert client.post("/apply/submit", data=MultiDict(kept)).status_code == 303
    assert count(app, Case) == 1


def test_a_503_on_a_staff_form_keeps_what_was_typed(app, clients, monkeypatch):
    monkeypatch.setattr("disclosure_app.cases.applications.open_right_to_know", _locked)
    typed = right_to_know_payload(risk_summary='Typed by hand "<i>x</i>" & more')
    response = clients["case_officer"].post("/staff/right-to-know/new", data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    kept = hidden_fields(page, "/staff/right-to-know/new")
    assert ("risk_summary", typed["risk_summary"]) in kept
    assert ("submission_key", typed["submission_key"]) in kept
    assert [v for n, v in kept if n == "subject-date_of_birth"] == ["2", "11", "1969"]
    assert "<i>x</i>" not in page


def test_a_503_never_keeps_a_password_or_a_code(app, client, staff, monkeypatch):
    monkeypatch.setattr("disclosure_app.security.sign_in.check_password", _locked)
    response = client.post("/staff/sign-in", data={"email": staff["case_officer"].email,
                                                   "password": PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert PASSWORD not in page
    assert 'name="password"' not in page
    monkeypatch.setattr("disclosure_app.security.sign_in.check_code", _locked)
    response = client.post("/staff/two-factor", data={"code": "492039"})
    assert "492039" not in response.get_data(as_text=True)


# --- 4. Error pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", [RuntimeError("after-request bug"), LOCKED])
def test_a_failing_after_request_hook_still_answers_with_headers_and_a_correlation_id(
        database, failure):
    app = make_app(database, PROPAGATE_EXCEPTIONS=False)

    @app.after_request
    def _fails(response):  # type: ignore[no-untyped-def]  # runs first: registered last
        raise failure

    try:
        response = app.test_client().get("/")
        page = response.get_data(as_text=True)
        assert response.status_code == (503 if failure is LOCKED else 500)
        _assert_headers(response, str(response.status_code))
        assert re.search(r"quote [0-9a-f]{12}", page), page[:2000]
        assert "Nothing was saved" not in page  # the view had finished: it may have saved
    finally:
        app.extensions["db_engine"].dispose()


def test_the_public_404_speaks_to_the_public_and_the_staff_404_to_staff(client):
    public = squash(client.get("/status/" + "B" * 43).get_data(as_text=True))
    assert "case you may not have access to" not in public
    assert "101" in public and "999" in public
    assert 'href="/"' in public
    guessed = squash(client.get("/no-such-page").get_data(as_text=True))
    assert "case you may not have access to" not in guessed and "101" in guessed
    staff = squash(client.get("/staff/no-such-page").get_data(as_text=True))
    assert "case you may not have access to" in staff


def test_a_stale_edit_leaves_a_security_event(app, staff, clients):
    case = case_in(app, staff, Status.initial_checks)
    seen_version = case.version
    run_setup(app, case.id, [("raise_urgent_safeguarding", "case_officer",
                              VALID_STEPS["raise_urgent_safeguarding"][3])], staff)
    payload = form_payload("accept_for_interview", demo.ACCEPT, seen_version,
                           rationale="My carefully written rationale about scope.")
    response = clients["case_officer"].post(url(case.id, "accept_for_interview"), data=payload)
    assert response.status_code == 409
    found = _stored_events(app, "stale_edit")
    assert len(found) == 1
    assert found[0]["case_id"] == case.id


# --- 5. A bot rejection is recorded --------------------------------------------------------------


def test_a_form_sent_too_fast_writes_its_security_event(database):
    app = make_app(database, PUBLIC_FORM_MIN_FILL_SECONDS=3)
    try:
        client = app.test_client()
        # Shown and sent at once: no stamp from an earlier showing of the form.
        sent = client.post("/apply/submit", data=MultiDict(_checked(client, form_started=None)))
        assert sent.status_code == 400
        found = _stored_events(app, "too_fast")
        assert len(found) == 1
        assert found[0]["kind"] == "suspicious_request"
    finally:
        app.extensions["db_engine"].dispose()


# --- 6. Errors that say whose field; a Change link on each row ---------------------------------


@pytest.mark.parametrize(("field", "whose"), [
    ("applicant-date_of_birth", "About you"),
    ("subject-date_of_birth", "The person you are worried about"),
    ("child2-date_of_birth", "Child 2"),
])
def test_each_date_error_says_whose_date_it_is(client, field, whose):
    page = client.post("/apply", data=valid_answers(**{field: ["31", "2", "1990"]}))
    summary = page.get_data(as_text=True).split('class="govuk-error-summary"', 1)[1]
    summary = summary.split("</ul>", 1)[0]
    assert re.search(rf'<a href="#{field}-day">{re.escape(whose)}: Date of birth must be a real '
                     "date", summary), summary


def test_check_your_answers_has_a_change_link_on_every_row_that_keeps_the_answers(client):
    page = client.post("/apply", data=valid_answers()).get_data(as_text=True)
    rows = page.count('class="govuk-summary-list__row')
    actions = re.findall(r'formaction="/apply#([a-z0-9_-]+)"[^>]*>\s*Change'
                         r'<span class="govuk-visually-hidden">([^<]+)</span>', page)
    assert rows > 20 and len(actions) == rows
    targets = [target for target, _ in actions]
    for target in ("applicant-full_name", "applicant-date_of_birth-day", "child2-full_name",
                   "subject-postcode", "concern", "declared_sharing"):
        assert target in targets
    for target in targets:  # each lands on an input of the form
        assert target
    # The change buttons sit in the form that carries every answer back.
    form = page.split('action="/apply"', 1)[1].split("</form>", 1)[0]
    assert 'formaction="/apply#applicant-postcode"' in form
    back = client.post("/apply#applicant-postcode", data=MultiDict(hidden_fields(page, "/apply")))
    answered = back.get_data(as_text=True)
    assert 'id="applicant-postcode"' in answered and 'value="NS1 4DM"' in answered
