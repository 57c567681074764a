"""SECURITY.md §1.1 Authentication (SEC-01 … SEC-08)."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.security import accounts as users
from disclosure_app.security import mfa, passwords
from tests.conftest import make_app, sign_in
from tests.factories import DISCLOSE, PASSWORD, make_case, make_user, totp_secret_for
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import (
    code_now,
    code_step,
    events,
    password_step,
    written,
)
from workflows.roles import Role
from workflows.status import Status

GENERIC = "Enter a correct email address and password"


def _user(app, email: str) -> User:
    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


# --- SEC-01 -------------------------------------------------------------------------------


def test_sec01_the_password_alone_reaches_no_staff_page_and_writes_nothing(app, staff):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    client = app.test_client()
    response = password_step(client, staff["decision_maker"].email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/two-factor")
    before = written(app)
    for url in ("/staff/", f"/staff/cases/{case.id}", "/audit/", "/admin/users"):
        page = client.get(url)
        assert page.status_code == 302 and page.headers["Location"].endswith("/staff/two-factor")
    decide = client.post(f"/staff/cases/{case.id}/steps/approve_disclosure_to_applicant",
                         data=form_payload("approve_disclosure_to_applicant", DISCLOSE,
                                           case.version))
    assert decide.status_code == 302
    assert decide.headers["Location"].endswith("/staff/two-factor")
    assert written(app) == before


def test_sec01_every_staff_role_is_asked_for_a_code(app, staff):
    for key in ("case_officer", "decision_maker", "partner", "auditor", "admin"):
        response = password_step(app.test_client(), staff[key].email)
        assert response.headers["Location"].endswith("/staff/two-factor"), key


# --- SEC-02 -------------------------------------------------------------------------------


def test_sec02_a_code_is_accepted_once_and_a_replay_is_refused_and_logged(app, staff, caplog):
    email = staff["auditor"].email
    secret = totp_secret_for(email)
    step = mfa.step_at(datetime.now(UTC))
    code = mfa.code_for_step(secret, step)
    client = app.test_client()
    password_step(client, email)
    assert code_step(client, code).status_code == 302
    client.post("/staff/sign-out")
    again = app.test_client()
    password_step(again, email)
    refused = code_step(again, code)
    assert refused.status_code == 400
    assert "Enter the current 6-digit code" in refused.get_data(as_text=True)
    assert again.get("/audit/").status_code == 302
    assert [e["user_id"] for e in events(caplog, "totp_replay")] == [staff["auditor"].id]


def test_sec02_a_code_from_three_steps_ago_is_refused(app, staff):
    email = staff["auditor"].email
    client = app.test_client()
    password_step(client, email)
    assert code_step(client, code_now(email, offset=-3)).status_code == 400
    assert code_step(client, code_now(email, offset=+3)).status_code == 400
    assert code_step(client, code_now(email)).status_code == 302  # within the drift: accepted


def test_sec02_the_fifth_wrong_code_sends_the_person_back_to_the_password(app, staff):
    email = staff["auditor"].email
    client = app.test_client()
    password_step(client, email)
    wrong = "000000" if code_now(email) != "000000" else "111111"
    for _ in range(4):
        assert code_step(client, wrong).status_code == 400
    fifth = code_step(client, wrong)
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/staff/sign-in")
    # The sixth attempt is not even looked at: the sign-in is over, even with a right code.
    sixth = code_step(client, code_now(email))
    assert sixth.status_code == 302 and sixth.headers["Location"].endswith("/staff/sign-in")
    assert client.get("/audit/").status_code == 302


def test_sec02_secrets_are_stored_encrypted_never_in_clear(app, staff):
    email = staff["auditor"].email
    user = _user(app, email)
    secret = totp_secret_for(email)
    assert user.totp_secret_encrypted and secret not in user.totp_secret_encrypted
    with app.app_context():
        assert mfa.cipher().decrypt(user.totp_secret_encrypted) == secret
    other = mfa.SecretCipher([mfa.derived_key("a different key entirely, held elsewhere")])
    with pytest.raises(mfa.SecretUnreadable):
        other.decrypt(user.totp_secret_encrypted)
    assert len(mfa.new_secret()) == 32 and mfa.new_secret() != mfa.new_secret()


# --- SEC-03 -------------------------------------------------------------------------------


@pytest.fixture
def hasher_restored():
    yield
    users.configure_hasher(time_cost=1, memory_cost=1024, parallelism=1)  # as tests/conftest


def test_sec03_hashes_are_argon2id_and_are_rehashed_when_the_parameters_change(
        app, staff, hasher_restored):
    email = staff["auditor"].email
    before = _user(app, email).password_hash
    assert before.startswith("$argon2id$") and "m=1024,t=1" in before
    users.configure_hasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert password_step(app.test_client(), email).status_code == 302
    after = _user(app, email).password_hash
    assert after.startswith("$argon2id$") and "m=2048,t=2" in after
    assert users.verify_password(after, PASSWORD)


# --- SEC-04 -------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["Password1234", "Northshire2025!", "short", "passwordpolice1",
                                  "qwertyuiop123", "Police-Police-99"])
def test_sec04_common_short_and_context_passwords_are_refused(weak):
    assert passwords.problem(weak, context=("Northshire Police", "police")) is not None


def test_sec04_a_long_non_ascii_passphrase_is_accepted_and_verified_byte_exact(app, staff):
    email = staff["case_officer"].email
    client = sign_in(app, email)
    phrase = "Ärger über Öl: ŝtonoj, ŭmbraj fenestroj kaj 𝄞 muziko en la ĝardeno ĉiam 2024"
    assert len(phrase) >= 64
    assert passwords.problem(phrase) is None
    changed = client.post("/staff/account/password", data={
        "current_password": PASSWORD, "password": phrase, "confirm": phrase})
    assert changed.status_code == 302
    assert password_step(app.test_client(), email, phrase).status_code == 302
    assert password_step(app.test_client(), email, phrase[:-1]).status_code == 400
    assert password_step(app.test_client(), email, phrase.upper()).status_code == 400
    assert passwords.problem("x" * 1024) is None and passwords.problem("x" * 1025) is not None


# --- SEC-05 -------------------------------------------------------------------------------


def test_sec05_five_failures_lock_the_account_temporarily_with_the_generic_answer(
        app, staff, caplog):
    email = staff["decision_maker"].email
    start = datetime.now(UTC)
    app.config["CLOCK"] = lambda: start
    for _ in range(6):
        wrong = password_step(app.test_client(), email, "not the password at all")
        assert wrong.status_code == 400 and GENERIC in wrong.get_data(as_text=True)
    right = password_step(app.test_client(), email)
    assert right.status_code == 400 and GENERIC in right.get_data(as_text=True)
    assert len(events(caplog, "account_locked")) == 1
    later_time = start + timedelta(minutes=16)
    app.config["CLOCK"] = lambda: later_time
    later = app.test_client()
    assert password_step(later, email).status_code == 302
    code = mfa.code_for_step(totp_secret_for(email), mfa.step_at(later_time))
    signed_in = later.post("/staff/two-factor", data={"code": code}, follow_redirects=True)
    assert "account was locked" in signed_in.get_data(as_text=True)  # they are told


def test_sec05_locks_back_off_but_always_end(app, staff):
    email = staff["decision_maker"].email
    start = datetime.now(UTC)
    moment = start
    for lock in range(4):
        app.config["CLOCK"] = lambda m=moment: m
        for _ in range(5):
            password_step(app.test_client(), email, "wrong wrong wrong")
        until = _user(app, email).locked_until
        assert until is not None
        assert until - moment == timedelta(minutes=15 * 2 ** min(lock, 2))
        moment = until + timedelta(seconds=1)
    app.config["CLOCK"] = lambda: moment
    assert password_step(app.test_client(), email).status_code == 302


def test_sec05_the_per_address_limit_is_shared_by_every_worker(database, staff):
    """Two app instances on one database stand in for two gunicorn workers (or hosts)."""
    first = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="4 per minute")
    second = make_app(database, RATELIMIT_ENABLED=True, RATELIMIT_SIGN_IN="4 per minute")
    try:
        statuses = [password_step((first if i % 2 else second).test_client(),
                                  "nobody@test.example").status_code for i in range(6)]
    finally:
        first.extensions["db_engine"].dispose()
        second.extensions["db_engine"].dispose()
    assert statuses == [400, 400, 400, 400, 429, 429]


# --- SEC-06 -------------------------------------------------------------------------------


def test_sec06_unknown_accounts_and_wrong_passwords_get_the_same_answer_and_time(
        app, staff, hasher_restored):
    # A profile costly enough that a missing dummy verify would stand out.
    users.configure_hasher(time_cost=2, memory_cost=16384, parallelism=1)
    # Timing needs more tries from one address than the shipped per-address limit allows (a
    # deployment setting; the limit has its own tests).
    app.config["RATELIMIT_SIGN_IN"] = "1000 per minute"
    known = staff["partner"].email
    with app.app_context():  # give the known account a hash with the same (costlier) profile
        session = get_session()
        session.get(User, staff["partner"].id).password_hash = users.hash_password(PASSWORD)
        session.commit()
    unknown = "no.such.person@test.example"
    bodies: dict[str, set[str]] = {"known": set(), "unknown": set()}
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for attempt in range(50):
        # Each pair is timed back to back, in alternating order, so that the machine's load at
        # that moment (a busy CI host) weighs on both alike and drops out of the difference.
        pair = (("known", known), ("unknown", unknown))
        for label, email in pair if attempt % 2 else pair[::-1]:
            started = time.perf_counter()
            response = password_step(app.test_client(), email, "Wrong password guess 1")
            times[label].append(time.perf_counter() - started)
            assert response.status_code == 400
            # The page's CSRF token is signed afresh every second for everyone alike.
            body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1TOKEN"',
                          response.get_data(as_text=True))
            bodies[label].add(body.replace(email, "EMAIL"))
    assert bodies["known"] == bodies["unknown"] and len(bodies["known"]) == 1
    # The median of the paired differences: an attacker compares the two answers' times, and a
    # missing dummy verify would put the whole Argon2 cost into every difference.
    gap = statistics.median(k - u for k, u in zip(times["known"], times["unknown"], strict=True))
    typical = statistics.median(times["known"] + times["unknown"])
    assert abs(gap) < 0.1 * typical, times


# --- SEC-07 -------------------------------------------------------------------------------


def test_sec07_no_accounts_exist_until_the_first_admin_command(app):
    with app.app_context():
        assert users.count_users(get_session()) == 0
    page = app.test_client().get("/staff/sign-in").get_data(as_text=True)
    assert 'data-testid="bootstrap-notice"' in page and "create-first-admin" in page
    for guess in ("admin@force.example", "admin", "administrator@localhost"):
        assert password_step(app.test_client(), guess, "admin").status_code == 400


def test_sec07_the_first_admin_must_enrol_and_change_the_password_before_any_page(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-first-admin", "--email", "first.admin@force.example",
                                 "--name", "Fiona First"])
    assert result.exit_code == 0, result.output
    password = result.output.rsplit(":", 1)[1].strip()
    again = runner.invoke(args=["create-first-admin", "--email", "second@force.example",
                                "--name", "Second"])
    assert again.exit_code != 0 and "already exist" in again.output

    client = app.test_client()
    assert password_step(client, "first.admin@force.example", password).status_code == 302
    assert client.get("/admin/users").headers["Location"].endswith("/staff/two-factor")
    setup = client.get("/staff/two-factor", follow_redirects=True)
    assert setup.request.path == "/staff/two-factor/set-up"
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<',
                       setup.get_data(as_text=True)).group(1).replace(" ", "")
    assert client.get("/staff/two-factor/set-up/qr.svg").mimetype == "image/svg+xml"
    code = mfa.code_for_step(secret, mfa.step_at(datetime.now(UTC)))
    enrolled = client.post("/staff/two-factor/set-up", data={"code": code})
    assert enrolled.headers["Location"].endswith("/staff/new-password")
    assert client.get("/admin/users").headers["Location"].endswith("/staff/new-password")
    new = "a new passphrase only fiona knows 77"
    done = client.post("/staff/new-password", data={"password": new, "confirm": new})
    assert done.headers["Location"].endswith("/admin/users")
    assert client.get("/admin/users").status_code == 200
    assert password_step(app.test_client(), "first.admin@force.example",
                         password).status_code == 400  # the one-time password is gone


# --- SEC-08 -------------------------------------------------------------------------------


def test_sec08_an_authenticator_reset_needs_a_second_administrator(app, staff, caplog):
    with app.app_context():
        second_admin = make_user(get_session(), Role.admin, name="Bea Second")
    target = staff["decision_maker"]
    first = sign_in(app, staff["admin"].email)
    victim_session = sign_in(app, target.email)
    asked = first.post(f"/admin/users/{target.id}/mfa-reset",
                       data={"reason": "Phone lost on duty; confirmed by line manager."})
    assert asked.status_code == 302
    assert _user(app, target.email).mfa_enrolled  # nothing changes on one admin's say-so
    with app.app_context():
        [request] = users.open_mfa_resets(get_session())
    own = first.post(f"/admin/mfa-resets/{request.id}/approve")
    assert own.status_code == 403 and _user(app, target.email).mfa_enrolled
    second = sign_in(app, second_admin.email)
    assert second.post(f"/admin/mfa-resets/{request.id}/approve").status_code == 302
    assert not _user(app, target.email).mfa_enrolled
    assert victim_session.get("/staff/").status_code == 302  # every session of theirs ended
    fresh = app.test_client()
    assert password_step(fresh, target.email).status_code == 302
    # Still two factors: the next sign-in sets up a new authenticator before any page.
    assert fresh.get("/staff/two-factor").headers["Location"].endswith("/staff/two-factor/set-up")
    assert fresh.get("/staff/").status_code == 302
    assert {e["event"] for e in events(caplog)} >= {"mfa_reset_requested", "mfa_reset_approved",
                                                    "authz_denied"}


def test_sec08_administrators_never_see_or_set_a_password_for_an_existing_account(app):
    view_names = set(app.view_functions)
    assert not any("reset_password" in name or "set_password" in name for name in view_names)
    assert {"auth.change_password", "auth.new_password"} <= view_names  # only the person

