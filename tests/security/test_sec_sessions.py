"""SECURITY.md §1.2 Sessions (SEC-09 … SEC-13)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from disclosure_app.operations import demo
from disclosure_app.security import mfa
from tests.conftest import make_app, sign_in
from tests.factories import DISCLOSE, PASSWORD, make_case, totp_secret_for
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import (
    client_with_cookie,
    code_now,
    code_step,
    password_step,
    session_cookie,
    written,
)
from workflows.status import Status

# --- SEC-09 -------------------------------------------------------------------------------


def test_sec09_copied_cookie_rejected_after_logout(app, staff):
    client = sign_in(app, staff["case_officer"].email)
    copy = session_cookie(client)
    assert client_with_cookie(app, copy).get("/staff/").status_code == 200
    client.post("/staff/sign-out")
    replay = client_with_cookie(app, copy).get("/staff/")
    assert replay.status_code == 302 and "/staff/sign-in" in replay.headers["Location"]


def test_sec09_copied_cookie_rejected_after_the_account_is_disabled(app, staff, clients):
    officer = sign_in(app, staff["case_officer"].email)
    copy = session_cookie(officer)
    assert clients["admin"].post(f"/admin/users/{staff['case_officer'].id}/active",
                                 data={"active": "0"}).status_code == 302
    assert client_with_cookie(app, copy).get("/staff/").status_code == 302


def test_sec09_copied_cookie_rejected_after_a_password_change(app, staff):
    email = staff["case_officer"].email
    stolen = session_cookie(sign_in(app, email))
    owner = sign_in(app, email)
    new = "four unrelated words make passphrases"
    assert owner.post("/staff/account/password", data={
        "current_password": PASSWORD, "password": new, "confirm": new}).status_code == 302
    assert client_with_cookie(app, stolen).get("/staff/").status_code == 302
    assert owner.get("/staff/").status_code == 200  # the person who changed it carries on


# --- SEC-10 -------------------------------------------------------------------------------


def test_sec10_a_new_session_at_sign_in_and_the_old_cookie_stays_anonymous(app, staff):
    email = staff["case_officer"].email
    client = app.test_client()
    password_step(client, email)
    before = session_cookie(client)
    assert code_step(client, code_now(email)).status_code == 302
    after = session_cookie(client)
    assert before != after
    replay = client_with_cookie(app, before).get("/staff/")
    assert replay.status_code == 302 and "/staff/" != replay.headers["Location"]
    assert client_with_cookie(app, after).get("/staff/").status_code == 200


def test_sec10_step_up_issues_a_new_session_id(app, staff):
    email = staff["auditor"].email
    client = sign_in(app, email)
    before = session_cookie(client)
    response = client.post("/staff/confirm-identity?next=/audit/",
                           data={"code": code_now(email, offset=1)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/audit/")
    assert session_cookie(client) != before


# --- SEC-11 -------------------------------------------------------------------------------


def test_sec11_fifteen_minutes_idle_ends_the_session(app, staff):
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start
    client = sign_in_at(app, staff["case_officer"].email, start)
    app.config["CLOCK"] = lambda: start + timedelta(minutes=14)
    assert client.get("/staff/").status_code == 200
    app.config["CLOCK"] = lambda: start + timedelta(minutes=14 + 16)
    idle = client.get("/staff/")
    assert idle.status_code == 302 and "/staff/sign-in" in idle.headers["Location"]


def test_sec11_twelve_hours_at_most_however_active(app, staff):
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start
    client = sign_in_at(app, staff["case_officer"].email, start)
    for minutes in range(10, 12 * 60 + 1, 10):
        app.config["CLOCK"] = lambda m=minutes: start + timedelta(minutes=m)
        assert client.get("/staff/").status_code == 200, minutes
    app.config["CLOCK"] = lambda: start + timedelta(hours=12, minutes=1)
    assert client.get("/staff/").status_code == 302
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)


def test_sec11_no_remember_me_cookie_is_ever_set(app, staff):
    client = app.test_client()
    email = staff["case_officer"].email
    responses = [password_step(client, email, remember="y"), code_step(client, code_now(email)),
                 client.get("/staff/")]
    for response in responses:
        assert not any("remember_token" in h for h in response.headers.getlist("Set-Cookie"))


def sign_in_at(app, email: str, moment: datetime):
    client = app.test_client()
    password_step(client, email)
    code = mfa.code_for_step(totp_secret_for(email), mfa.step_at(moment))
    assert code_step(client, code).status_code == 302
    return client


# --- SEC-12 -------------------------------------------------------------------------------

COOKIE = re.compile(r"^__Host-\w+=[^;]+; .*Secure; .*HttpOnly; .*Path=/; .*SameSite=Strict",
                    re.IGNORECASE)


def test_sec12_the_production_cookie_is_host_only_secure_httponly_strict(database, staff):
    app = make_app(database, PRODUCTION=True, TESTING=False, WTF_CSRF_ENABLED=True,
                   SECRET_KEY="k" + Fernet.generate_key().decode(),
                   TOTP_ENCRYPTION_KEY=Fernet.generate_key().decode(),
                   TRUSTED_HOSTS=["localhost"])
    try:
        client = app.test_client()
        base = "https://localhost"
        page = client.get("/staff/sign-in", base_url=base).get_data(as_text=True)
        token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
        response = client.post("/staff/sign-in", base_url=base,
                               headers={"Referer": f"{base}/staff/sign-in"},
                               data={"email": staff["auditor"].email, "password": PASSWORD,
                                     "csrf_token": token})
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")
        assert cookies and all(COOKIE.match(c) for c in cookies), cookies
        assert not any("Domain=" in c for c in cookies)
        assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    finally:
        app.extensions["db_engine"].dispose()


# --- SEC-13 -------------------------------------------------------------------------------


def test_sec13_a_decision_six_minutes_after_sign_in_needs_a_fresh_code(app, staff):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start
    email = staff["decision_maker"].email
    client = sign_in_at(app, email, start)
    later = start + timedelta(minutes=6)
    app.config["CLOCK"] = lambda: later
    url = f"/staff/cases/{case.id}/steps/approve_disclosure_to_applicant"
    assert client.get(url).headers["Location"].startswith("/staff/confirm-identity")
    payload = form_payload("approve_disclosure_to_applicant", DISCLOSE, case.version)
    before = written(app)
    refused = client.post(url, data=payload)
    assert refused.status_code == 401
    assert 'data-testid="step-up"' in refused.get_data(as_text=True)
    assert written(app) == before
    code = mfa.code_for_step(totp_secret_for(email), mfa.step_at(later) + 1)
    accepted = client.post(url, data={**payload, "step_up_code": code})
    assert accepted.status_code == 303, accepted.get_data(as_text=True)[:2000]
    once = written(app)
    assert once["steps"] == before["steps"] + 1
    again = client.post(url, data={**payload, "step_up_code": code})  # same one-time key
    assert again.status_code == 303 and written(app) == once


def test_sec13_documents_exports_and_account_changes_ask_for_a_fresh_code(app, staff, clients):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"])
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start + timedelta(minutes=6)
    checks = [
        (clients["auditor"], "get", "/audit/export.csv"),
        (clients["auditor"], "get", f"/documents/cases/{case.id}/bundle.zip"),
        (clients["auditor"], "get", f"/documents/cases/{case.id}/decision-record.pdf"),
        (clients["admin"], "get", "/admin/users/new"),
        (clients["admin"], "post", f"/admin/users/{staff['auditor'].id}/active"),
    ]
    before = written(app)
    for client, method, url in checks:
        response = getattr(client, method)(url, data={"active": "0"} if method == "post" else None)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/staff/confirm-identity"), url
    assert written(app) == before
    confirmed = clients["auditor"].post(
        "/staff/confirm-identity?next=/audit/export.csv",
        data={"code": mfa.code_for_step(totp_secret_for(staff["auditor"].email),
                                        mfa.step_at(start + timedelta(minutes=6)) + 1)})
    assert confirmed.headers["Location"].endswith("/audit/export.csv")
    assert clients["auditor"].get("/audit/export.csv").status_code == 200


def test_sec13_approving_a_decision_with_check_my_reasons_sent_still_needs_a_fresh_code(
        app, staff):
    """'Check my reasons' is a decision-page button. Sent with an approval (countersigning or
    returning a decision), it once skipped the step-up and the approval was saved without a
    fresh code."""
    case, _ = make_case(app, Status.decision_pending_approval, officer=staff["case_officer"])
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start
    email = staff["decision_maker_2"].email
    client = sign_in_at(app, email, start)
    later = start + timedelta(minutes=6)
    app.config["CLOCK"] = lambda: later
    for event in ("countersign_decision", "return_decision"):
        url = f"/staff/cases/{case.id}/steps/{event}"
        answers = demo.COUNTERSIGN if event == "countersign_decision" else {
            "what_needs_changing": "The proportionality limb does not weigh this family's case."}
        payload = {**form_payload(event, answers, case.version), "check_reasons": "1"}
        before = written(app)
        refused = client.post(url, data=payload)
        assert refused.status_code == 401, (event, refused.status_code)
        assert 'data-testid="step-up"' in refused.get_data(as_text=True)
        assert written(app) == before
