"""Backups and restores (SECURITY.md R-6, R-7), through the commands an operator runs.

Back up → change things → restore into a fresh location → the restore is exactly the backed-up
state, verified automatically (integrity check, whole chain, chain head, row counts). A restore
that lost entries after the newest recorded chain head makes the app read-only until an admin
records why; the explanation is itself a log entry.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from disclosure_app.audit.chain import chain_length, verify_chain
from disclosure_app.audit.integrity import RESTORE_ACKNOWLEDGED
from disclosure_app.cases import applications
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from disclosure_app.operations.backup import Manifest
from tests.conftest import make_app, sign_in
from tests.databases import (
    ENGINE,
    TestDatabase,
    create_pg_database,
    drop_pg_database,
    guard_triggers_present,
    pg_database,
    sqlite_database,
    without_audit_guards,
)
from tests.factories import application_input, make_case
from tests.integration.test_fault_injection import dump
from tests.integration.test_public_journey import valid_answers
from tests.integration.test_staff_steps import form_payload, url
from workflows.status import Status

Target = Callable[[], tuple[str, TestDatabase]]


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def output(result: Any) -> str:
    """What the operator sees: standard output and errors, interleaved."""
    return result.output


@pytest.fixture
def fresh_target(tmp_path: Path) -> Iterator[Target]:
    """A new place to restore into: a SQLite path that does not exist yet, or an empty
    PostgreSQL database owned by the owner role (the restore connects as the owner)."""
    made: list[TestDatabase] = []

    def make() -> tuple[str, TestDatabase]:
        if ENGINE == "sqlite":
            path = tmp_path / f"restored-{len(made)}" / "disclosure.sqlite"
            db = sqlite_database(path)
            made.append(db)
            return str(path), db
        name = "r_" + uuid.uuid4().hex[:16]
        create_pg_database(name)
        db = pg_database(name)
        made.append(db)
        return db.owner_url, db

    yield make
    for db in made:
        if db.engine == "postgresql":
            drop_pg_database(db.name)


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "records" / "chain_head.json"


@pytest.fixture
def ops(database: TestDatabase, record: Path) -> Iterator[Flask]:
    """The app as an operator's command line sees it, with a chain-head record."""
    app = make_app(database, CHAIN_HEAD_RECORD=str(record))
    yield app
    app.extensions["db_engine"].dispose()


def head(app: Flask) -> int:
    with app.app_context():
        return chain_length(get_session())


def read_record(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def take_step(app: Flask, staff: dict[str, Any], case_id: int, event: str,
              officer: Any = None) -> Any:
    officer = officer or sign_in(app, staff["case_officer"].email)
    with app.app_context():
        version = get_session().get(Case, case_id).version
    return officer.post(url(case_id, event), data=form_payload(event, {}, version))


# --- The round trip ------------------------------------------------------------------------------


def test_backup_mutate_restore_gives_back_exactly_the_backed_up_state(
        ops, staff, database, tmp_path, record, fresh_target):
    make_case(ops, Status.awaiting_decision, officer=staff["case_officer"],
              decider=staff["decision_maker"])
    received, _ = make_case(ops, Status.received, officer=staff["case_officer"])
    backed_up = dump(database, counters=True)
    entries = head(ops)

    result = run(ops, "backup", str(tmp_path / "b1"))

    assert result.exit_code == 0, output(result)
    assert f"chain head: entry {entries}" in result.output
    manifest = Manifest.read(tmp_path / "b1")
    assert manifest.engine == ENGINE and manifest.chain_verified
    assert manifest.chain_head_seq == entries
    assert manifest.row_counts["cases"] == 2
    assert manifest.row_counts == {table: len(rows) for table, rows in backed_up.items()}
    assert read_record(record)["seq"] == entries

    # Life goes on after the backup.
    assert take_step(ops, staff, received.id, "start_checks").status_code == 303
    make_case(ops, Status.initial_checks, officer=staff["case_officer"])
    assert dump(database, counters=True) != backed_up

    target, restored = fresh_target()
    result = run(ops, "restore", str(tmp_path / "b1"), "--into", target)

    assert result.exit_code == 0, output(result)
    assert f"Audit chain intact: {entries} entries verified." in result.output
    assert "Row counts match the backup" in result.output
    assert dump(restored, counters=True) == backed_up
    assert guard_triggers_present(restored)
    on_restored = make_app(restored)
    try:
        with on_restored.app_context():  # on PostgreSQL, as the least-privilege runtime role
            session = get_session()
            assert session.get(Case, received.id).status is Status.received
            assert verify_chain(session).ok
    finally:
        on_restored.extensions["db_engine"].dispose()


def test_a_backup_taken_while_applications_arrive_is_one_consistent_snapshot(
        ops, staff, tmp_path, fresh_target):
    stop = threading.Event()
    stored: list[int] = []

    def keep_applying() -> None:
        with ops.app_context():
            session = get_session()
            deadline = time.monotonic() + 20
            while not stop.is_set() and len(stored) < 200 and time.monotonic() < deadline:
                applications.submit_application(
                    session, application_input(), policy=ops.extensions["case_policy"],
                    now=datetime.now(UTC))
                stored.append(1)

    writer = threading.Thread(target=keep_applying, daemon=True)
    writer.start()
    try:
        while len(stored) < 3:
            time.sleep(0.01)
        result = run(ops, "backup", str(tmp_path / "busy"))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert result.exit_code == 0, output(result)
    manifest = Manifest.read(tmp_path / "busy")
    assert 0 < manifest.row_counts["cases"] <= len(stored)

    target, _ = fresh_target()
    restored = run(ops, "restore", str(tmp_path / "busy"), "--into", target)
    assert restored.exit_code == 0, output(restored)


def test_backup_files_are_readable_only_by_their_owner(ops, staff, tmp_path):
    assert run(ops, "backup", str(tmp_path / "b")).exit_code == 0
    manifest = Manifest.read(tmp_path / "b")
    assert stat.S_IMODE(os.stat(tmp_path / "b").st_mode) == 0o700
    for name in ("manifest.json", manifest.data_file):
        assert stat.S_IMODE(os.stat(tmp_path / "b" / name).st_mode) == 0o600


# --- Restores that must not be trusted -----------------------------------------------------------


def test_restore_refuses_data_that_does_not_match_its_manifest(ops, staff, tmp_path,
                                                                fresh_target):
    assert run(ops, "backup", str(tmp_path / "b")).exit_code == 0
    data = tmp_path / "b" / Manifest.read(tmp_path / "b").data_file
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    target, _ = fresh_target()

    result = run(ops, "restore", str(tmp_path / "b"), "--into", target)

    assert result.exit_code != 0
    assert "SHA-256" in output(result)
    if ENGINE == "sqlite":
        assert not Path(target).exists()


def test_restore_reports_every_table_whose_row_count_differs(ops, staff, tmp_path,
                                                             fresh_target):
    make_case(ops, Status.received, officer=staff["case_officer"])
    assert run(ops, "backup", str(tmp_path / "b")).exit_code == 0
    path = tmp_path / "b" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["row_counts"]["cases"] += 1
    manifest["row_counts"]["users"] -= 1
    path.write_text(json.dumps(manifest))
    target, _ = fresh_target()

    result = run(ops, "restore", str(tmp_path / "b"), "--into", target)

    assert result.exit_code == 1
    text_out = output(result)
    assert "PROBLEM: table cases: 1 rows restored, 2 backed up" in text_out
    assert "PROBLEM: table users:" in text_out
    assert "Row counts match" not in text_out


def test_a_backup_of_a_tampered_log_is_flagged_and_its_restore_fails_verification(
        ops, staff, database, tmp_path, fresh_target):
    make_case(ops, Status.initial_checks, officer=staff["case_officer"])
    with without_audit_guards(database) as conn:
        conn.execute(text("UPDATE audit_entries SET actor_name = 'Someone Else' WHERE seq = 2"))

    backup = run(ops, "backup", str(tmp_path / "b"))
    assert backup.exit_code == 1
    assert "does not verify" in output(backup)
    assert not Manifest.read(tmp_path / "b").chain_verified

    target, _ = fresh_target()
    restore = run(ops, "restore", str(tmp_path / "b"), "--into", target)
    assert restore.exit_code == 1
    assert "audit verify failed: Audit chain BROKEN at entry 2" in output(restore)


def test_restore_never_overwrites_an_existing_database(ops, staff, database, tmp_path):
    assert run(ops, "backup", str(tmp_path / "b")).exit_code == 0
    before = dump(database)
    into = str(database.path) if ENGINE == "sqlite" else database.owner_url

    result = run(ops, "restore", str(tmp_path / "b"), "--into", into)

    assert result.exit_code != 0
    assert "already exists" in output(result) or "not empty" in output(result)
    assert dump(database) == before


def test_backup_refuses_a_directory_that_is_not_empty(ops, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "something").write_text("x")
    result = run(ops, "backup", str(tmp_path / "b"))
    assert result.exit_code != 0
    assert "not empty" in output(result)


# --- Read-only reconciliation after a restore (R-7) ----------------------------------------------


@pytest.fixture
def behind(ops, staff, database, tmp_path, record, fresh_target) -> dict[str, Any]:
    """A restore of a backup older than the newest recorded chain head, and an app on it."""
    case, token = make_case(ops, Status.received, officer=staff["case_officer"])
    assert run(ops, "backup", str(tmp_path / "old")).exit_code == 0
    backed_up = head(ops)
    assert take_step(ops, staff, case.id, "start_checks").status_code == 303
    make_case(ops, Status.received, officer=staff["case_officer"])
    assert run(ops, "audit", "record-head").exit_code == 0
    recorded = read_record(record)["seq"]
    assert recorded > backed_up
    target, restored = fresh_target()
    result = run(ops, "restore", str(tmp_path / "old"), "--into", target)
    assert result.exit_code == 0, output(result)
    assert "starts read-only" in result.output
    app = make_app(restored, CHAIN_HEAD_RECORD=str(record))
    yield {"app": app, "db": restored, "case": case, "token": token, "backed_up": backed_up,
           "recorded": recorded}
    app.extensions["db_engine"].dispose()


def test_after_a_restore_that_lost_entries_every_write_is_refused_with_a_banner(behind, staff):
    app, db, case = behind["app"], behind["db"], behind["case"]
    # Signing in records the code used (account bookkeeping, allowed while read-only, like
    # signing out): the snapshot is taken after it.
    officer = sign_in(app, staff["case_officer"].email)
    before = dump(db)

    step = take_step(app, staff, case.id, "start_checks", officer)
    apply = app.test_client().post("/apply/submit", data=valid_answers())

    for response in (step, apply):
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert 'data-testid="read-only-banner"' in page
        assert "Nothing was saved" in page
        assert "acknowledge-restore" not in page  # operator detail stays in the log
    assert dump(db) == before
    # Reading still works, and so does signing out.
    assert officer.get("/staff/").status_code == 200
    assert officer.post("/staff/sign-out").status_code == 302
    health = app.test_client().get("/healthz").get_json()
    assert health["read_only"] is True and health["status"] == "degraded"


def test_the_recorded_head_never_moves_back_to_a_restored_log(behind, record):
    result = run(behind["app"], "audit", "record-head")
    assert result.exit_code == 1
    assert "read-only" in output(result)
    assert read_record(record)["seq"] == behind["recorded"]


@pytest.mark.parametrize(("who", "reason", "problem"), [
    ("case_officer", "Restored last night's backup after a disk failure.", "not an active admin"),
    ("admin", "oops", "10 to 1,000 characters"),
])
def test_only_an_admin_with_a_real_reason_can_acknowledge_a_restore(behind, staff, who, reason,
                                                                     problem):
    result = run(behind["app"], "audit", "acknowledge-restore", "--admin", staff[who].email,
                 "--reason", reason)
    assert result.exit_code != 0
    assert problem in output(result)
    assert take_step(behind["app"], staff, behind["case"].id, "start_checks").status_code == 503


def test_an_admins_acknowledgement_is_logged_and_writes_resume(behind, staff, record):
    app, case = behind["app"], behind["case"]
    lost = behind["recorded"] - behind["backed_up"]
    reason = "Disk failure on the primary; restored the nightly backup taken at 02:00."

    result = run(app, "audit", "acknowledge-restore", "--admin", staff["admin"].email,
                 "--reason", reason)

    assert result.exit_code == 0, output(result)
    assert f"Recorded as entry {behind['backed_up'] + 1}: {lost} entries" in result.output
    with app.app_context():
        session = get_session()
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == RESTORE_ACKNOWLEDGED)).one()
        details = json.loads(entry.payload)["details"]
        assert details["entries_lost"] == lost
        assert details["recorded_seq"] == behind["recorded"]
        assert details["restored_seq"] == behind["backed_up"]
        assert details["reason"] == reason
        assert entry.actor_id == staff["admin"].id
    assert read_record(record)["seq"] == behind["backed_up"] + 1
    assert take_step(app, staff, case.id, "start_checks").status_code == 303
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"
    with app.app_context():
        assert verify_chain(get_session()).ok
    again = run(app, "audit", "acknowledge-restore", "--admin", staff["admin"].email,
                "--reason", reason)
    assert again.exit_code != 0 and "Nothing to acknowledge" in output(again)


def test_an_unreadable_chain_head_record_pauses_writes(ops, database, record):
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("{not json")
    before = dump(database)
    response = ops.test_client().post("/apply/submit", data=valid_answers())
    assert response.status_code == 503
    assert dump(database) == before
    assert ops.test_client().get("/healthz").get_json()["read_only"] is True
    assert run(ops, "audit", "record-head").exit_code == 1


def test_without_a_record_nothing_is_paused(ops, database, record):
    assert not record.exists()
    assert ops.test_client().post("/apply/submit", data=valid_answers()).status_code == 303
    assert ops.test_client().get("/healthz").get_json()["read_only"] is False
