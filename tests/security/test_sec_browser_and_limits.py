"""SECURITY.md §1.5 Browser-side protections (SEC-24 … SEC-28) and §1.6 anti-automation and
resource limits (SEC-29, SEC-30)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug.datastructures import MultiDict

from disclosure_app.security.hash_slots import hash_slot
from tests.conftest import make_app, sign_in
from tests.factories import give_reason, make_case
from tests.integration.test_public_journey import hidden_fields, valid_answers
from tests.security.helpers import csrf_token, events, password_step, written
from workflows.status import Status

# --- SEC-24 -------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database):
    app = make_app(database, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["db_engine"].dispose()


def test_sec24_posts_without_a_good_csrf_token_are_refused_and_write_nothing(
        csrf_app, staff, caplog):
    app = csrf_app
    before = written(app)
    client = app.test_client()
    assert client.post("/apply/submit", data=valid_answers()).status_code == 400
    other = app.test_client()
    foreign = csrf_token(other, "/apply")
    assert client.post("/apply/submit",
                       data={**valid_answers(), "csrf_token": foreign}).status_code == 400
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    old = csrf_token(client, "/apply")
    time.sleep(2.1)
    assert client.post("/apply/submit",
                       data={**valid_answers(), "csrf_token": old}).status_code == 400
    assert written(app) == before
    assert len(events(caplog, "csrf_failure")) == 3


def test_sec24_mutating_urls_refuse_get(app):
    post_only = [r for r in app.url_map.iter_rules()
                 if "POST" in r.methods and "GET" not in r.methods]
    assert len(post_only) >= 8
    client = app.test_client()
    for rule in post_only:
        url = rule.rule.replace("<id:", "<").replace("<token>", "x" * 43)
        for name in ("case_id", "user_id", "request_id", "sample_id", "notification_id",
                     "team_id", "cover_id", "closure_day_id", "hold_id"):
            url = url.replace(f"<{name}>", "1")
        assert client.get(url).status_code == 405, url
    assert app.config.get("WTF_CSRF_SSL_STRICT", True) is True


# --- SEC-25 -------------------------------------------------------------------------------

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # same-origin (SEC-25's alternative): under no-referrer browsers post "Origin: null", which
    # the Origin check must refuse (test_hostile_run).
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def _assert_headers(response, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    for part in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                 "frame-ancestors 'none'", "form-action 'self'"):
        assert part in csp, (where, part)
    assert "unsafe-inline" not in csp, where
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (where, name)
    if response.mimetype == "text/html":
        assert "charset=utf-8" in response.headers["Content-Type"], where


def test_sec25_security_headers_on_every_page_and_on_errors(database, staff):
    app = make_app(database)

    @app.get("/forced-failure")
    def forced():  # type: ignore[no-untyped-def]
        raise RuntimeError("forced for the header test")

    forced._access_public = True  # type: ignore[attr-defined]
    try:
        clients = {"anonymous": app.test_client(),
                   "officer": sign_in(app, staff["case_officer"].email),
                   "auditor": sign_in(app, staff["auditor"].email),
                   "admin": sign_in(app, staff["admin"].email)}
        seen = 0
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.arguments or rule.endpoint == "forced":
                continue
            for who, client in clients.items():
                _assert_headers(client.get(rule.rule), f"{who} {rule.rule}")
                seen += 1
        assert seen > 40
        _assert_headers(clients["anonymous"].get("/no-such-page"), "404")
        failure = clients["anonymous"].get("/forced-failure")
        assert failure.status_code == 500
        _assert_headers(failure, "500")
    finally:
        app.extensions["db_engine"].dispose()


# --- SEC-26 -------------------------------------------------------------------------------


def test_sec26_staff_pages_documents_and_the_confirmation_are_never_cached(app, staff, clients):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"])
    give_reason(clients["case_officer"], case.id, section="decision_record")
    for who, url in [("case_officer", "/staff/"), ("case_officer", f"/staff/cases/{case.id}"),
                     ("auditor", "/audit/"), ("auditor", f"/audit/cases/{case.id}"),
                     ("auditor", "/audit/export.csv"), ("admin", "/admin/users"),
                     ("case_officer", f"/documents/cases/{case.id}/decision-record.pdf")]:
        response = clients[who].get(url)
        response.get_data()  # read a streamed body whole: its request context then ends
        response.close()
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url
    client = app.test_client()
    check = client.post("/apply", data=valid_answers())
    client.post("/apply/submit", data=MultiDict(hidden_fields(check.get_data(as_text=True),
                                                              "/apply/submit")))
    confirmation = client.get("/apply/confirmation")
    assert confirmation.status_code == 200
    assert "no-store" in confirmation.headers["Cache-Control"]


def test_sec26_search_forms_carry_no_personal_data_in_the_query_string(app, clients):
    import re

    for who, url in (("case_officer", "/staff/"), ("auditor", "/audit/")):
        page = clients[who].get(url).get_data(as_text=True)
        for form in re.findall(r'<form method="get".*?</form>', page, re.S):
            names = set(re.findall(r'name="([^"]+)"', form))
            assert not names & {"name", "full_name", "subject", "date_of_birth", "address",
                                "concern", "applicant"}, (url, names)


# --- SEC-27 -------------------------------------------------------------------------------


def test_sec27_unknown_host_headers_are_refused(database):
    app = make_app(database, TRUSTED_HOSTS=["localhost", "disclosure.force.example"])
    try:
        client = app.test_client()
        assert client.get("/", headers={"Host": "attacker.example"}).status_code == 400
        assert client.get("/", headers={"Host": "localhost"}).status_code == 200
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("target", ["//attacker.example", "https:attacker.example",
                                    "/\\attacker.example", "https://attacker.example/x",
                                    "/\r\nSet-Cookie:x=1", "javascript:alert(1)",
                                    "\\\\attacker.example", "/ok\x00//attacker.example"])
def test_sec27_next_only_accepts_a_path_on_this_site(app, staff, target):
    from tests.security.helpers import code_now

    client = app.test_client()
    email = staff["case_officer"].email
    first = client.post("/staff/sign-in", query_string={"next": target},
                        data={"email": email, "password": "correct horse battery staple"})
    if "\x00" in target:
        assert first.status_code == 400  # refused outright: no parameter may carry a NUL
        return
    done = client.post("/staff/two-factor", data={"code": code_now(email)})
    assert done.status_code == 302
    assert done.headers["Location"] in ("/staff/", "http://localhost/staff/"), target


# --- SEC-28 -------------------------------------------------------------------------------


def test_sec28_forwarded_for_from_the_client_does_not_reset_the_limit(database, caplog):
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="3 per minute")
    try:
        statuses = [app.test_client().post(
            "/staff/sign-in", data={"email": "x@test.example", "password": "y" * 12},
            headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Real-IP": f"10.0.1.{i}"}).status_code
            for i in range(5)]
    finally:
        app.extensions["db_engine"].dispose()
    assert statuses == [400, 400, 400, 429, 429]
    assert {e["ip"] for e in events(caplog, "sign_in_failed")} == {"127.0.0.1"}


def test_sec28_behind_one_proxy_the_proxys_address_for_the_client_is_used(database, caplog):
    app = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="2 per minute",
                   PROXY_FIX_X_FOR=1)
    try:
        def attempt(chain: str) -> int:
            return app.test_client().post(
                "/staff/sign-in", data={"email": "x@test.example", "password": "y" * 12},
                headers={"X-Forwarded-For": chain}).status_code

        # The client forges the left part; the proxy appends the address it really saw.
        assert [attempt(f"1.1.1.{i}, 203.0.113.9") for i in range(3)] == [400, 400, 429]
        assert attempt("1.1.1.1, 198.51.100.7") == 400  # another real client has its own count
    finally:
        app.extensions["db_engine"].dispose()
    assert {e["ip"] for e in events(caplog, "sign_in_failed")} == {"203.0.113.9",
                                                                   "198.51.100.7"}


# --- SEC-29 -------------------------------------------------------------------------------


def _apply(client, **overrides) -> int:
    check = client.post("/apply", data=valid_answers(**overrides))
    return client.post("/apply/submit", data=MultiDict(hidden_fields(
        check.get_data(as_text=True), "/apply/submit"))).status_code


def test_sec29_past_the_per_address_hourly_limit_an_application_is_429(database):
    # The shipped limit is set for a shared address (a refuge, a library): tens an hour
    # (config.py says why). One past it is refused, and nothing more is stored.
    app = make_app(database, RATELIMIT_ENABLED=True)
    try:
        assert app.config["RATELIMIT_APPLY"].startswith("30 per hour")
        statuses = [_apply(app.test_client()) for _ in range(31)]
        assert statuses == [303] * 30 + [429]
        assert written(app)["cases"] == 30
    finally:
        app.extensions["db_engine"].dispose()


def test_sec29_a_filled_honeypot_looks_sent_but_stores_nothing(app, client, caplog):
    before = written(app)
    check = client.post("/apply", data={**valid_answers(), "website": "http://spam.example"})
    fields = hidden_fields(check.get_data(as_text=True), "/apply/submit")
    assert ("website", "http://spam.example") in fields
    sent = client.post("/apply/submit", data=MultiDict(fields))
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Application sent" in page and "/status/" not in page
    assert written(app) == before
    assert len(events(caplog, "honeypot")) == 1


def test_sec29_a_form_sent_too_quickly_is_refused(database):
    app = make_app(database, PUBLIC_FORM_MIN_FILL_SECONDS=3)
    try:
        client = app.test_client()
        client.get("/apply")
        before = written(app)
        # Within half a second of the form being shown (no stamp from an earlier showing).
        assert _apply(client, form_started=None) == 400
        assert written(app) == before
        app.config["PUBLIC_FORM_MIN_FILL_SECONDS"] = 0.3
        check = client.post("/apply", data=valid_answers(form_started=None))
        fields = hidden_fields(check.get_data(as_text=True), "/apply/submit")
        time.sleep(0.4)
        assert client.post("/apply/submit", data=MultiDict(fields)).status_code == 303
        no_start = valid_answers(form_started=None)
        assert client.post("/apply/submit", data=no_start).status_code == 400  # never shown
    finally:
        app.extensions["db_engine"].dispose()


# --- SEC-30 -------------------------------------------------------------------------------


def test_sec30_password_checks_wait_for_a_free_slot_and_refuse_when_busy(database, staff,
                                                                          tmp_path):
    app = make_app(database, PASSWORD_HASH_SLOTS=1, PASSWORD_HASH_WAIT_SECONDS=0.3,
                   PASSWORD_HASH_SLOT_DIR=str(tmp_path))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with app.app_context(), hash_slot():
            held.set()
            release.wait(5)

    try:
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        busy = password_step(app.test_client(), staff["auditor"].email)
        assert busy.status_code == 503 and "busy" in busy.get_data(as_text=True)
        release.set()
        holder.join(5)
        assert password_step(app.test_client(), staff["auditor"].email).status_code == 302
    finally:
        release.set()
        app.extensions["db_engine"].dispose()


def test_sec30_generated_documents_have_a_page_cap():
    from disclosure_app.documents.pdf.layout import MAX_PAGES

    assert 0 < MAX_PAGES <= 200
    assert json.loads(json.dumps({"cap": MAX_PAGES}))["cap"] == MAX_PAGES
