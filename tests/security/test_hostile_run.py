"""What a hostile run against the local demo found (issue 11): forged cross-site posts, text that
is not UTF-8, a name sent twice, thousands of fields, tampered session cookies, a staff cookie kept
on disk and status links built from an attacker's Host header."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from disclosure_app.db import get_session
from disclosure_app.models import SecurityEvent
from tests.conftest import make_app, sign_in
from tests.factories import make_case
from tests.integration.test_public_journey import hidden_fields, status_link, valid_answers
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import code_now, csrf_token, events, session_cookie, written
from workflows.status import Status

FOREIGN = "https://attacker.example"
NOT_FROM_HERE = "not sent from this service"


def stored_events(app, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = get_session().scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)
                                     .order_by(SecurityEvent.id)).all()
        return [json.loads(row.details) for row in rows]


@pytest.fixture
def csrf_app(database):  # type: ignore[no-untyped-def]
    app = make_app(database, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["db_engine"].dispose()


def signed_in_with_csrf(app, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.post("/staff/sign-in", data={"email": email,
                                        "password": "correct horse battery staple",
                                        "csrf_token": csrf_token(client, "/staff/sign-in")})
    client.post("/staff/two-factor", data={"code": code_now(email),
                                           "csrf_token": csrf_token(client, "/staff/two-factor")})
    assert client.get("/staff/").status_code == 200
    return client


# --- Origin and Referer (SEC-24) ----------------------------------------------------------

FORGED = [
    {"Origin": FOREIGN, "Referer": f"{FOREIGN}/page"},
    {"Origin": FOREIGN},
    {"Origin": "null"},
    {"Referer": f"{FOREIGN}/page"},
    {"Origin": "http://localhost.attacker.example"},
    {"Origin": "http://localhost:8443"},
    {"Origin": "http://user@attacker.example"},
    {"Origin": "http://[::1"},
    {"Origin": FOREIGN, "Referer": "http://localhost/staff/"},
]


def test_a_staff_post_with_a_valid_token_from_another_site_is_refused_and_logged(
        csrf_app, staff, caplog):
    case, _ = make_case(csrf_app, Status.received, officer=staff["case_officer"])
    client = signed_in_with_csrf(csrf_app, staff["case_officer"].email)
    url = f"/staff/cases/{case.id}/steps/start_checks"
    data = {**form_payload("start_checks", {}, case.version), "csrf_token": csrf_token(client, url)}
    before = written(csrf_app)
    for headers in FORGED:
        refused = client.post(url, data=data, headers=headers)
        assert refused.status_code == 400, headers
        assert NOT_FROM_HERE in refused.get_data(as_text=True), headers
        assert written(csrf_app) == before, headers
    logged = events(caplog, "csrf_failure")
    assert len(logged) == len(FORGED) and all("another site" in e["reason"] for e in logged)
    assert len(stored_events(csrf_app, "csrf_failed")) == len(FORGED)
    accepted = client.post(url, data=data, headers={"Origin": "http://localhost",
                                                    "Referer": f"http://localhost{url}"})
    assert accepted.status_code == 303


@pytest.mark.parametrize("headers", [
    {"Origin": "http://localhost"},
    {"Origin": "http://LOCALHOST:80"},
    {"Referer": "http://localhost/apply"},  # no Origin, a same-origin Referer
    {},  # neither: not a browser, so no one's cookies ride on it (the token still applies)
])
def test_a_public_post_from_this_service_is_accepted(app, headers):
    assert app.test_client().post("/apply/submit", data=valid_answers(),
                                  headers=headers).status_code == 303


def test_a_public_post_from_another_site_stores_nothing(app):
    before = written(app)
    for headers in FORGED:
        refused = app.test_client().post("/apply/submit", data=valid_answers(), headers=headers)
        assert refused.status_code == 400 and NOT_FROM_HERE in refused.get_data(as_text=True)
    assert written(app) == before


def test_an_http_origin_is_foreign_to_an_https_request(app):
    base = "https://localhost"
    refused = app.test_client().post("/apply/submit", base_url=base, data=valid_answers(),
                                     headers={"Origin": "http://localhost"})
    assert refused.status_code == 400
    # Over https a browser sends its (same-origin) Referer too, which Flask-WTF's CSRF check
    # asks for there.
    assert app.test_client().post("/apply/submit", base_url=base, data=valid_answers(),
                                  headers={"Origin": base, "Referer": f"{base}/apply"}
                                  ).status_code == 303


def test_any_trusted_host_name_is_this_service(database):
    app = make_app(database, TRUSTED_HOSTS=["localhost", "disclosure.force.example"])
    try:
        sent = app.test_client().post("/apply/submit", data=valid_answers(),
                                      headers={"Origin": "https://disclosure.force.example"})
        assert sent.status_code == 303
    finally:
        app.extensions["db_engine"].dispose()


def test_pages_ask_browsers_to_send_their_origin_on_our_own_posts(app):
    # Under "no-referrer" a browser posts "Origin: null", which the check above must refuse.
    assert app.test_client().get("/").headers["Referrer-Policy"] == "same-origin"


# --- Input that is not text, or too much of it (SEC-19) -----------------------------------

MULTIPART_BAD = (b'--X\r\nContent-Disposition: form-data; name="concern"\r\n\r\n'
                 b'He \xff\xfe said\r\n')


def multipart(answers: dict, raw_part: bytes) -> bytes:  # type: ignore[type-arg]
    body = b""
    for name, value in MultiDict(answers).items(multi=True):
        if name == "concern":
            continue
        body += (f'--X\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                 ).encode()
    return body + raw_part + b"--X--\r\n"


@pytest.mark.parametrize("how", ["multipart", "raw", "percent"])
def test_a_form_field_that_is_not_utf8_is_refused_and_nothing_stored(app, how, caplog):
    answers = valid_answers()
    if how == "multipart":
        body = multipart(answers, MULTIPART_BAD)
        kind = "multipart/form-data; boundary=X"
    else:
        from urllib.parse import urlencode

        bad = b"He \xff\xfe said" if how == "raw" else b"He %FF%FE said"
        body = (urlencode({k: v for k, v in MultiDict(answers).items(multi=True)
                           if k != "concern"}).encode() + b"&concern=" + bad)
        kind = "application/x-www-form-urlencoded"
    before = written(app)
    response = app.test_client().post("/apply/submit", data=body, content_type=kind)
    assert response.status_code == 400
    assert written(app) == before
    assert [e["problem"] for e in events(caplog, "hostile_input")] == ["invalid UTF-8"]


@pytest.mark.parametrize("query", ["reference=%FF", "reference=\xff\xfe"])
def test_a_query_that_is_not_utf8_is_refused(app, staff, clients, query):
    response = clients["auditor"].get("/audit/", environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 400


def test_a_field_sent_in_the_address_and_the_body_is_refused(app):
    before = written(app)
    response = app.test_client().post("/apply/submit?concern=Something+else",
                                      data=valid_answers())
    assert response.status_code == 400
    assert written(app) == before


def test_thousands_of_urlencoded_fields_are_refused_like_multipart_parts(app):
    before = written(app)
    data = MultiDict(valid_answers())
    for number in range(5000):
        data.add(f"extra{number}", "x")
    response = app.test_client().post("/apply/submit", data=data)
    assert response.status_code == 413
    assert written(app) == before
    query = "&".join(f"f{number}=1" for number in range(5000))
    assert app.test_client().get(f"/?{query}").status_code == 413
    # A form at the limit is still read.
    assert app.test_client().get("/?" + "&".join(f"f{n}=1" for n in range(400))
                                 ).status_code == 200


# --- Tampered and foreign session cookies (SEC-32) ----------------------------------------

def test_a_tampered_or_foreign_session_cookie_is_logged_once_without_its_content(
        app, staff, caplog):
    genuine = session_cookie(sign_in(app, staff["case_officer"].email))
    middle = len(genuine) // 2
    tampered = genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1:]
    other = Flask("another_deployment")
    other.secret_key = "another-deployments-key-" * 2
    foreign = SecureCookieSessionInterface().get_signing_serializer(other).dumps(
        {"_user_id": f"{staff['case_officer'].id}"})
    for cookie in (tampered, foreign):
        caplog.clear()
        client = app.test_client()
        client.set_cookie("session", cookie)
        response = client.get("/staff/")
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
        logged = [e for e in events(caplog, "hostile_input") if "cookie" in e["problem"]]
        assert len(logged) == 1
        assert cookie[10:40] not in caplog.text
        # The bad cookie is removed, so the next request is simply anonymous.
        assert client.get_cookie("session") is None or client.get_cookie(
            "session").value != cookie
        client.get("/staff/sign-in")
        assert len([e for e in events(caplog, "hostile_input") if "cookie" in e["problem"]]) == 1
    stored = [e for e in stored_events(app, "suspicious_request") if "cookie" in e["problem"]]
    assert len(stored) == 2 and not any(tampered[10:40] in json.dumps(e) for e in stored)


# --- The staff cookie lives as long as the browser, not 12 hours on disk (SEC-11) ---------

def test_the_staff_cookie_is_a_browser_session_cookie(app, staff):
    client = app.test_client()
    email = staff["case_officer"].email
    client.post("/staff/sign-in", data={"email": email,
                                        "password": "correct horse battery staple"})
    signed_in = client.post("/staff/two-factor", data={"code": code_now(email)})
    assert signed_in.status_code == 302
    cookies = [c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies
    for cookie in cookies + client.get("/staff/").headers.getlist("Set-Cookie"):
        assert not re.search(r"(?i)\b(expires|max-age)=", cookie), cookie


# --- The local demo's host names (SEC-27) -------------------------------------------------

@pytest.fixture
def demo_app(database):  # type: ignore[no-untyped-def]
    """The configuration `make run` serves: no SERVER_NAME, no TRUSTED_HOSTS of its own (an
    instance/config.py written before it listed them)."""
    app = make_app(database, SERVER_NAME=None)
    yield app
    app.extensions["db_engine"].dispose()


def test_the_demo_refuses_a_foreign_host_and_links_to_its_own(demo_app):
    before = written(demo_app)
    client = demo_app.test_client()
    for url in ("/", "/apply"):
        assert client.get(url, headers={"Host": "attacker.example"}).status_code == 400
    check = client.post("/apply", data=valid_answers(), base_url="http://attacker.example")
    assert check.status_code == 400
    assert written(demo_app) == before
    base = "http://127.0.0.1:5000"
    check = client.post("/apply", data=valid_answers(), base_url=base)
    sent = client.post("/apply/submit", base_url=base, data=MultiDict(
        hidden_fields(check.get_data(as_text=True), "/apply/submit")))
    assert sent.status_code == 303
    page = client.get("/apply/confirmation", base_url=base).get_data(as_text=True)
    assert status_link(page).startswith(f"{base}/status/")
