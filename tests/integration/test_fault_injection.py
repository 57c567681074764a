"""Atomicity (SECURITY.md R-1) and a database that refuses to write.

R-1: for every workflow event, a fault is injected between the state update and the audit insert
(the case's UPDATE or INSERT has already reached the database inside the transaction), and again
just after the audit insert. Each time the person gets an error page, never a success, and the
whole database is exactly as before: case, version, step records, one-time form keys, the chain.
Sending the same form again afterwards works, so nothing half-done was left behind.

Refusals: a database that is locked, full or read-only answers 503 "Nothing was saved" with a
correlation id, and stores nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, inspect, make_url, select, text
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit_service
from disclosure_app.audit.chain import verify_chain
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from tests.conftest import make_app, sign_in
from tests.databases import ENGINE, TestDatabase, superuser
from tests.factories import SIGNED_COPY, make_case
from tests.integration.test_case_documents import upload as upload_signed_copy
from tests.integration.test_public_journey import valid_answers
from tests.integration.test_staff_steps import (
    ENTRY_EVENTS,
    VALID_STEPS,
    case_in,
    form_payload,
    right_to_know_payload,
    run_setup,
    step_data,
    url,
)
from workflows.status import Route, Status
from workflows.steps import STEPS


class InjectedFault(Exception):
    """Stands for anything that can go wrong mid-transaction (a bug, a lost connection)."""


def dump(database: TestDatabase, *, counters: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: the test databases are small enough to compare whole. All but
    the rate limiter's counters unless asked for: they count every attempt, refused ones
    included, by design (that is what makes them a limit), and hold no case data."""
    with superuser(database) as conn:
        tables = sorted(t for t in inspect(conn).get_table_names()
                        if not t.startswith("sqlite_")
                        and (counters or t != "rate_limit_counters"))
        return {t: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"')).all()), key=repr)
                for t in tables}


def chain_ok(app: Flask) -> bool:
    with app.app_context():
        return verify_chain(get_session()).ok


# --- Where the fault is injected -----------------------------------------------------------------

# What the database held, inside the failing transaction, when the fault struck.
Seen = list[dict[str, Any]]
Undo = list[Callable[[], None]]


def _inside_transaction(session: Session) -> dict[str, Any]:
    conn = session.connection()
    cases = Case.__table__
    rows = conn.execute(select(cases.c.id, cases.c.status, cases.c.version)).all()
    entries = conn.execute(select(AuditEntry.__table__.c.seq)).scalars().all()
    return {"cases": {row.id: (row.status, row.version) for row in rows},
            "entries": len(entries)}


def before_audit_insert(monkeypatch: pytest.MonkeyPatch, seen: Seen) -> Undo:
    def refuse(session: Session, **kwargs: Any) -> None:
        seen.append(_inside_transaction(session))
        raise InjectedFault("between the state update and the audit insert")

    monkeypatch.setattr(audit_service, "append", refuse)
    return []


def after_audit_insert(monkeypatch: pytest.MonkeyPatch, seen: Seen) -> Undo:
    real_append = audit_service.append

    def append_then_fail(session: Session, **kwargs: Any) -> None:
        real_append(session, **kwargs)
        seen.append(_inside_transaction(session))
        raise InjectedFault("after the audit insert, before commit")

    monkeypatch.setattr(audit_service, "append", append_then_fail)
    return []


def at_commit(monkeypatch: pytest.MonkeyPatch, seen: Seen) -> Undo:
    """Fails as the transaction that wrote an audit entry commits (everything flushed)."""

    def note_audit(session: Session, _flush_context: Any, _instances: Any) -> None:
        if any(isinstance(obj, AuditEntry) for obj in session.new):
            session.info["wrote_audit"] = True

    def refuse_commit(session: Session) -> None:
        if session.info.pop("wrote_audit", False):
            seen.append(_inside_transaction(session))
            raise InjectedFault("at commit")

    event.listen(Session, "before_flush", note_audit)
    event.listen(Session, "before_commit", refuse_commit)
    return [lambda: event.remove(Session, "before_flush", note_audit),
            lambda: event.remove(Session, "before_commit", refuse_commit)]


INJECT = {"before_audit_insert": before_audit_insert, "after_audit_insert": after_audit_insert,
          "at_commit": at_commit}


@contextmanager
def fault(point: str, seen: Seen) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        undo = INJECT[point](monkeypatch, seen)
        try:
            yield
        finally:
            for step in undo:
                step()


def assert_error_page_and_nothing_stored(response: Any, before: dict, database, app) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 500, page[:2000]
    assert "Nothing was saved" in page and "quote" in page
    assert "saved</" not in page and "Success" not in page
    assert dump(database) == before
    assert chain_ok(app)


# --- Every staff event ---------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["before_audit_insert", "after_audit_insert"])
@pytest.mark.parametrize("event_id", sorted(VALID_STEPS))
def test_a_fault_inside_a_step_leaves_the_case_and_chain_unchanged(
        app, staff, clients, database, event_id, point):
    start, route, who, data, expected, setup = VALID_STEPS[event_id]
    case = case_in(app, staff, start, route)
    run_setup(app, case.id, setup, staff)
    with app.app_context():
        version = get_session().get(Case, case.id).version
    payload = form_payload(event_id, step_data(data, staff), version,
                           rationale=f"Fault injection for {event_id}.")
    before = dump(database)
    seen: Seen = []

    with fault(point, seen):
        response = clients[who].post(url(case.id, event_id), data=payload)

    # The fault struck after the case's UPDATE had reached the database, inside the transaction.
    assert seen and seen[0]["cases"][case.id] == (expected.value, version + 1)
    assert_error_page_and_nothing_stored(response, before, database, app)
    # Nothing half-done blocks the same form being sent again.
    again = clients[who].post(url(case.id, event_id), data=payload)
    assert again.status_code == 303, again.get_data(as_text=True)[:2000]
    with app.app_context():
        stored = get_session().get(Case, case.id)
        assert (stored.status, stored.version) == (expected, version + 1)
    assert chain_ok(app)


# --- The events that start a case, and the applicant's own withdrawal ----------------------------


def _submit_application(app, clients, staff) -> tuple[Any, Callable[[], Any], Any]:
    answers = valid_answers()
    return None, lambda: clients["anonymous"].post("/apply/submit", data=answers), None


def _open_right_to_know(app, clients, staff) -> tuple[Any, Callable[[], Any], Any]:
    payload = right_to_know_payload()
    return (None, lambda: clients["case_officer"].post("/staff/right-to-know/new", data=payload),
            None)


def _withdraw_by_applicant(app, clients, staff) -> tuple[Any, Callable[[], Any], Any]:
    case, token = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    form = {"reason": "We have moved away.", "confirm": "y", "submission_key": new_key()}
    return case, lambda: clients["anonymous"].post(f"/status/{token}/withdraw", data=form), token


ENTRY_PATHS = {"submit_application": _submit_application,
               "open_right_to_know": _open_right_to_know,
               "applicant_withdraws": _withdraw_by_applicant}


@pytest.mark.parametrize("point", ["before_audit_insert", "after_audit_insert", "at_commit"])
@pytest.mark.parametrize("path", sorted(ENTRY_PATHS))
def test_a_fault_while_starting_or_withdrawing_a_case_stores_nothing(
        app, staff, clients, database, path, point):
    case, send, _ = ENTRY_PATHS[path](app, clients, staff)
    before = dump(database)
    seen: Seen = []

    with fault(point, seen):
        response = send()

    assert seen, "the fault was never reached"
    if case is None:  # the new case row was already inserted inside the transaction
        assert len(seen[0]["cases"]) == len(before["cases"]) + 1
    else:
        assert seen[0]["cases"][case.id][0] == Status.withdrawn.value
    assert_error_page_and_nothing_stored(response, before, database, app)
    assert send().status_code == 303
    assert dump(database) != before
    assert chain_ok(app)


@pytest.mark.parametrize("event_id", ["start_checks", "invite_partner", "close_case"])
def test_a_fault_at_commit_of_a_step_leaves_everything_unchanged(
        app, staff, clients, database, event_id):
    start, route, who, data, expected, setup = VALID_STEPS[event_id]
    case = case_in(app, staff, start, route)
    run_setup(app, case.id, setup, staff)
    with app.app_context():
        version = get_session().get(Case, case.id).version
    payload = form_payload(event_id, step_data(data, staff), version)
    before = dump(database)
    seen: Seen = []

    with fault("at_commit", seen):
        response = clients[who].post(url(case.id, event_id), data=payload)

    assert seen and seen[0]["entries"] == len(before["audit_entries"]) + 1
    assert_error_page_and_nothing_stored(response, before, database, app)


@pytest.mark.parametrize("point", ["before_audit_insert", "after_audit_insert"])
def test_a_fault_while_keeping_the_signed_undertaking_keeps_nothing(
        app, staff, clients, database, point):
    case = case_in(app, staff, Status.disclosure_approved)
    with app.app_context():
        version = get_session().get(Case, case.id).version
    before = dump(database)
    seen: Seen = []

    with fault(point, seen):
        response = upload_signed_copy(clients["case_officer"], case.id, version=version,
                                      content=SIGNED_COPY)

    assert seen and seen[0]["cases"][case.id] == (Status.disclosure_approved.value, version + 1)
    assert_error_page_and_nothing_stored(response, before, database, app)


def test_every_workflow_event_has_a_fault_injection_test():
    covered = set(VALID_STEPS) | {"submit_application", "open_right_to_know",
                                  "record_undertaking"}
    assert ENTRY_EVENTS <= covered
    assert covered == set(STEPS)


# --- A database that refuses the write -----------------------------------------------------------


@contextmanager
def _sqlite_locked(database: TestDatabase, app: Flask) -> Iterator[None]:
    """Another process holds the write lock and the app may not wait."""
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@contextmanager
def _sqlite_full(database: TestDatabase, app: Flask) -> Iterator[None]:
    """The disk is full: the database may not grow by a single page."""
    raw = sqlite3.connect(database.path, isolation_level=None)
    raw.execute("VACUUM")  # no free pages left inside the file either
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.close()
    engine = app.extensions["db_engine"]

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()


@contextmanager
def _pg_lock_timeout(database: TestDatabase, app: Flask) -> Iterator[None]:
    """A long maintenance job holds the chain head; the app gives up after its lock_timeout."""
    with superuser(database) as conn:
        conn.execute(text("LOCK TABLE audit_chain_head IN ACCESS EXCLUSIVE MODE"))
        yield


@contextmanager
def _pg_disk_full(database: TestDatabase, app: Flask) -> Iterator[None]:
    """PostgreSQL's own "could not extend file" error (SQLSTATE 53100) on every case write."""
    with superuser(database) as conn:
        conn.execute(text(
            "CREATE FUNCTION simulate_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$"))
        conn.execute(text("CREATE TRIGGER simulate_disk_full BEFORE INSERT OR UPDATE ON cases "
                          "FOR EACH ROW EXECUTE FUNCTION simulate_disk_full()"))
    try:
        yield
    finally:
        with superuser(database) as conn:
            conn.execute(text("DROP TRIGGER simulate_disk_full ON cases"))
            conn.execute(text("DROP FUNCTION simulate_disk_full()"))


@contextmanager
def _nothing(database: TestDatabase, app: Flask) -> Iterator[None]:
    yield  # the app itself was configured to refuse


def _with_url_options(database: TestDatabase, options: str) -> str:
    return make_url(database.url).update_query_dict({"options": options}).render_as_string(
        hide_password=False)


def _app_for(kind: str, database: TestDatabase) -> Flask:
    if kind == "locked":
        return make_app(database, DATABASE_LOCK_WAIT_SECONDS=0)
    if kind == "read-only file":
        return make_app(f"sqlite:///file:{database.path}?mode=ro&uri=true")
    if kind == "lock timeout":
        return make_app(database, DATABASE_URL=_with_url_options(database, "-c lock_timeout=300"))
    if kind == "read-only transaction":  # as on a hot standby
        return make_app(database, DATABASE_URL=_with_url_options(
            database, "-c default_transaction_read_only=on"))
    return make_app(database)


def _signed_in(app: Flask, database: TestDatabase, email: str) -> Any:
    """A client of ``app`` signed in as ``email``. Signing in records the authenticator code
    used (single-use codes), which a read-only database cannot: sign in through a writable app
    on the same database (same SECRET_KEY) and carry the session cookie over, as a browser
    signed in before the database turned read-only would."""
    writable = make_app(database)
    try:
        cookie = sign_in(writable, email).get_cookie("session")
    finally:
        writable.extensions["db_engine"].dispose()
    client = app.test_client()
    client.set_cookie("session", cookie.value)
    return client


REFUSALS = {
    "sqlite": {"locked": _sqlite_locked, "disk full": _sqlite_full, "read-only file": _nothing},
    "postgresql": {"lock timeout": _pg_lock_timeout, "disk full": _pg_disk_full,
                   "read-only transaction": _nothing},
}[ENGINE]
LONG_TEXT = "A long account of what happened, which needs more room than one page holds. " * 50


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_a_database_that_refuses_an_application_gives_a_clear_503_and_stores_nothing(
        database, kind):
    app = _app_for(kind, database)
    client = app.test_client()
    answers = valid_answers(concern=LONG_TEXT[:4900])
    before = dump(database)
    try:
        with REFUSALS[kind](database, app):
            response = client.post("/apply/submit", data=answers)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, page[:2000]
        assert "Nothing was saved" in page and "quote" in page
        assert response.headers["Retry-After"]
        for leak in ("INSERT", "SELECT", "sqlite3", "psycopg", "Traceback", "disk_full"):
            assert leak not in page
        assert dump(database) == before
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_a_database_that_refuses_a_staff_step_gives_a_clear_503_and_stores_nothing(
        app, database, staff, kind):
    case, _ = make_case(app, Status.received, route=Route.right_to_ask,
                        officer=staff["case_officer"])
    app = _app_for(kind, database)
    try:
        officer = _signed_in(app, database, staff["case_officer"].email)
        payload = form_payload("start_checks", {}, case.version, rationale=LONG_TEXT[:4900])
        before = dump(database)
        with REFUSALS[kind](database, app):
            response = officer.post(url(case.id, "start_checks"), data=payload)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, page[:2000]
        assert "Nothing was saved" in page
        assert dump(database) == before
    finally:
        app.extensions["db_engine"].dispose()
