"""Health and self-checks (SECURITY.md R-5, R-11): ``/healthz`` says whether the database answers
and the newest decision-log entries verify, and nothing else; start-up re-verifies the newest
entries, raises a CRITICAL alarm on a break and warns about settings that could lose writes."""

from __future__ import annotations

import logging

from sqlalchemy import make_url, text

from disclosure_app.audit.chain import chain_length, verify_chain
from disclosure_app.audit.integrity import durability_problems, verify_tail
from disclosure_app.db import get_engine, get_session
from tests.conftest import make_app
from tests.databases import without_audit_guards
from tests.factories import SUBJECT_NAME, make_case, make_user
from workflows.roles import Role
from workflows.status import Status

HEALTH_KEYS = {"status", "database", "chain_head_seq", "chain_tail", "read_only", "email"}


def head_seq(app) -> int:
    with app.app_context():
        return chain_length(get_session())


def corrupt_entry(database, seq: int) -> None:
    """What an attacker with database access might do: change one entry's recorded action."""
    with without_audit_guards(database) as conn:
        conn.execute(text("UPDATE audit_entries SET action = 'tampered' WHERE seq = :seq"),
                     {"seq": seq})


def test_healthz_reports_the_database_and_chain_head_without_personal_data(app, staff, client):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == HEALTH_KEYS
    assert body == {"status": "ok", "database": "ok", "chain_head_seq": head_seq(app),
                    "chain_tail": "ok", "read_only": False, "email": "outbox"}
    text_body = response.get_data(as_text=True)
    for personal in (SUBJECT_NAME, case.reference, staff["case_officer"].email, "Olive"):
        assert personal not in text_body
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_sign_in_and_takes_get_only(client):
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_a_corrupted_entry_near_the_head_raises_a_critical_alarm_at_start_up(
        app, staff, database, caplog):
    make_case(app, Status.awaiting_interview, officer=staff["case_officer"])
    newest = head_seq(app)
    assert newest > 6
    corrupt_entry(database, newest - 5)

    with caplog.at_level(logging.INFO, logger="disclosure_app.audit.integrity"):
        restarted = make_app(database)
    try:
        alarms = [r for r in caplog.records if r.levelno == logging.CRITICAL]
        assert len(alarms) == 1
        assert "INTEGRITY ALARM" in alarms[0].getMessage()
        assert f"entry {newest - 5}" in alarms[0].getMessage()

        body = restarted.test_client().get("/healthz").get_json()
        assert body["status"] == "degraded"
        assert body["chain_tail"] == "broken"
        assert body["database"] == "ok" and body["chain_head_seq"] == newest
    finally:
        restarted.extensions["db_engine"].dispose()


def test_an_intact_chain_starts_without_an_alarm(app, staff, database, caplog):
    make_case(app, Status.initial_checks, officer=staff["case_officer"])
    with caplog.at_level(logging.INFO, logger="disclosure_app.audit.integrity"):
        restarted = make_app(database)
    restarted.extensions["db_engine"].dispose()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Audit chain intact" in r.getMessage() for r in caplog.records)


def test_start_up_reverifies_only_the_newest_entries(app, staff, database, caplog):
    """Bounded work at start-up: a break older than the window is left to `audit verify`."""
    make_case(app, Status.awaiting_interview, officer=staff["case_officer"])
    newest = head_seq(app)
    corrupt_entry(database, 2)

    with caplog.at_level(logging.INFO, logger="disclosure_app.audit.integrity"):
        restarted = make_app(database, STARTUP_VERIFY_ENTRIES=5)
    try:
        assert not [r for r in caplog.records if r.levelno == logging.CRITICAL]
        with restarted.app_context():
            session = get_session()
            tail = verify_tail(session, 5)
            assert tail.ok and tail.entries_checked == 5
            full = verify_chain(session)
            assert not full.ok and full.first_bad_seq == 2
            assert not verify_tail(session, newest).ok
    finally:
        restarted.extensions["db_engine"].dispose()


def test_verify_tail_detects_a_truncated_head(app, staff, database):
    make_case(app, Status.initial_checks, officer=staff["case_officer"])
    with app.app_context():
        make_user(get_session(), Role.auditor)  # the newest entry: nothing refers to it
    newest = head_seq(app)
    with without_audit_guards(database) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = :seq"), {"seq": newest})
    with app.app_context():
        result = verify_tail(get_session(), 1000)
    assert not result.ok
    assert "truncated" in result.problem


def test_healthz_is_503_when_the_database_cannot_be_reached(database, tmp_path):
    if database.engine == "sqlite":
        unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite'}"
    else:
        unreachable = make_url(database.url).set(database="no_such_database").render_as_string(
            hide_password=False)
    app = make_app(unreachable)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable" and body["database"] == "unreachable"
    assert "no_such" not in response.get_data(as_text=True)


def test_start_up_checks_the_engines_durability_settings(database, caplog):
    """SQLite: WAL with synchronous=FULL and foreign keys on every connection, and no warning.
    PostgreSQL: the throwaway test cluster runs with fsync off, and start-up says so (a
    production cluster must not)."""
    with caplog.at_level(logging.WARNING, logger="disclosure_app.audit.integrity"):
        app = make_app(database)
    warned = " ".join(r.getMessage() for r in caplog.records if "durability" in r.getMessage())
    with app.app_context(), get_engine().connect() as conn:
        if database.engine == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert durability_problems(conn) == []
            assert warned == ""
        else:
            settings = {name: conn.execute(text(f"SHOW {name}")).scalar()
                        for name in ("fsync", "synchronous_commit", "full_page_writes")}
            unsafe = sorted(name for name, value in settings.items() if value != "on")
            assert unsafe, "expected the relaxed test cluster"
            for name in unsafe:
                assert f"PostgreSQL {name} is" in warned
    app.extensions["db_engine"].dispose()
