"""Audit trust holes found by tampering with a copy, as an insider would (issue 11): a log cut
below a signed checkpoint, a history re-hashed consistently, checkpoint files removed from a
bundle, a deleted entry named differently by the two verifiers, and the commands' answers in
read-only mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from disclosure_app.audit import chain as audit
from disclosure_app.audit import checkpoints, verify
from disclosure_app.audit.canonical import chain_hash
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.db import get_session, transaction
from disclosure_app.models import AuditEntry
from tests.conftest import make_app
from tests.databases import ENGINE, TestDatabase, superuser, without_audit_guards
from tests.factories import make_case
from tests.integration.test_audit_verifier import run_verifier
from workflows.status import Status

_CHECKPOINT_GUARDS = {
    "sqlite": ("audit_checkpoints_no_update", "audit_checkpoints_no_delete"),
    "postgresql": ("audit_checkpoints_no_update_delete", "audit_checkpoints_no_truncate"),
}[ENGINE]


def run(app: Flask, *args: str | Path):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def add_entries(app: Flask, count: int) -> int:
    """``count`` entries that no other table points at (so a forger can cut them cleanly)."""
    with app.app_context():
        session = get_session()
        with transaction(session):
            for n in range(count):
                entry = audit.append(session, now=datetime.now(UTC), actor=SystemActor(),
                                     action="test_entry", category=Category.consultation,
                                     details={"n": n})
        return entry.seq


@pytest.fixture
def keys(tmp_path: Path, app: Flask) -> tuple[Path, Path]:
    private, public = tmp_path / "signing.key", tmp_path / "public.key"
    assert run(app, "audit", "keygen", "--private", private, "--public", public).exit_code == 0
    return private, public


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    return tmp_path / "dpo-copies"


@pytest.fixture
def signed(app: Flask, staff, keys, copies) -> int:  # type: ignore[no-untyped-def]
    """A closed case and a few more entries, signed (a copy kept outside the database)."""
    app.config["AUDIT_PUBLIC_KEY"] = keys[1].read_text().strip()
    app.config["AUDIT_CHECKPOINT_COPY_DIRS"] = (str(copies),)
    make_case(app, Status.closed, officer=staff["case_officer"], decider=staff["decision_maker"])
    size = add_entries(app, 6)
    result = run(app, "audit", "checkpoint", "--key-file", keys[0], "--force")
    assert result.exit_code == 0, result.output
    assert f"Signed checkpoint of {size} entries" in result.output
    assert (copies / checkpoints.checkpoint_filename(size)).is_file()
    return size


def cut_tail(db: TestDatabase, keep: int) -> None:
    """Trigger dropped, every entry after ``keep`` deleted, the chain head moved back."""
    with without_audit_guards(db) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq > :keep"), {"keep": keep})
        head = conn.execute(text("SELECT entry_hash FROM audit_entries WHERE seq = :keep"),
                            {"keep": keep}).scalar_one()
        conn.execute(text("UPDATE audit_chain_head SET seq = :keep, entry_hash = :head"),
                     {"keep": keep, "head": head})


def rehash_from(db: TestDatabase, seq: int) -> None:
    """Entry ``seq`` rewritten and every later entry re-hashed, the chain head moved on: the
    chain is consistent again, only a signed checkpoint can tell."""
    with without_audit_guards(db) as conn:
        rows = conn.execute(text("SELECT seq, payload, prev_hash FROM audit_entries "
                                 "ORDER BY seq")).all()
        prev = None
        for number, payload, prev_hash in rows:
            if number < seq:
                continue
            prev = prev_hash if prev is None else prev
            if number == seq:
                data = json.loads(payload)
                data["details"]["forged"] = True
                payload = json.dumps(data, separators=(",", ":"), sort_keys=True,
                                     ensure_ascii=False)
            entry = chain_hash(prev, payload)
            conn.execute(text("UPDATE audit_entries SET payload = :p, prev_hash = :prev, "
                              "entry_hash = :e WHERE seq = :s"),
                         {"p": payload, "prev": prev, "e": entry, "s": number})
            prev = entry
        conn.execute(text("UPDATE audit_chain_head SET entry_hash = :e"), {"e": prev})


def drop_stored_checkpoints(db: TestDatabase) -> None:
    with superuser(db) as conn:
        if ENGINE == "sqlite":
            saved = [conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                                  {"n": name}).scalar_one() for name in _CHECKPOINT_GUARDS]
            for name in _CHECKPOINT_GUARDS:
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text("DELETE FROM audit_checkpoints"))
            for sql in saved:
                conn.execute(text(sql))
        else:
            for name in _CHECKPOINT_GUARDS:
                conn.execute(text(f"ALTER TABLE audit_checkpoints DISABLE TRIGGER {name}"))
            conn.execute(text("DELETE FROM audit_checkpoints"))
            for name in _CHECKPOINT_GUARDS:
                conn.execute(text(f"ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER {name}"))


# --- 1. A log cut below a signed checkpoint -------------------------------------------------


def test_a_log_cut_below_a_signed_checkpoint_fails_audit_verify_naming_the_first_missing(
        app, database, signed):
    cut_tail(database, signed - 3)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {signed - 2}:" in result.output
    assert "tail truncation" in result.output


def test_a_log_cut_below_a_signed_checkpoint_is_never_taken_for_no_new_entries(
        app, database, signed, keys):
    cut_tail(database, signed - 3)
    for args in ((), ("--force",)):
        result = run(app, "audit", "checkpoint", "--key-file", keys[0], *args)
        assert result.exit_code == 1, result.output
        assert "No new entries" not in result.output and "No checkpoint due" not in result.output
        assert f"NOT SIGNED: Audit chain BROKEN at entry {signed - 2}:" in result.output
    with app.app_context():
        assert checkpoints.newest(get_session()).tree_size == signed  # nothing new signed


def test_a_log_cut_below_a_signed_checkpoint_fails_the_export_and_the_offline_verifier(
        app, database, signed, keys, tmp_path):
    cut_tail(database, signed - 3)
    bundle = tmp_path / "bundle"
    result = run(app, "audit", "export", bundle)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at entry {signed - 2}:" in result.output
    # The checkpoint larger than the log is in the bundle: the auditor's check names the cut.
    assert (bundle / "checkpoints" / checkpoints.checkpoint_filename(signed)).is_file()
    offline = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert offline.stdout.startswith(f"TAMPERED OR INCONSISTENT: entry {signed - 2}: "
                                     f"the log ends at entry {signed - 3}")


# --- 2. A consistently re-hashed history that the signed checkpoints refute -------------------


def test_a_rehashed_history_fails_audit_verify_against_the_stored_checkpoint(
        app, database, signed):
    rehash_from(database, 5)
    with app.app_context():  # the hash chain alone is consistent again
        assert audit.verify_tail(get_session(), signed).ok
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert (f"BROKEN at entry 1: entries 1-{signed} do not match the stored checkpoint of size "
            f"{signed}") in result.output


def test_a_rehashed_history_with_the_stored_checkpoints_deleted_fails_against_the_kept_copy(
        app, database, signed, copies):
    rehash_from(database, 5)
    drop_stored_checkpoints(database)
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"entries 1-{signed} do not match the copy {copies}" in result.output


def test_a_stored_checkpoint_re_signed_with_another_key_is_refused(app, database, signed):
    rehash_from(database, 5)
    forger = checkpoints.generate_key(app.config["AUDIT_LOG_ORIGIN"])
    with app.app_context():
        session = get_session()
        hashes = [bytes.fromhex(h) for h in session.scalars(
            select(AuditEntry.entry_hash).order_by(AuditEntry.seq))]
    root = verify.merkle_root(hashes)
    note = forger.sign(verify.checkpoint_body(forger.name, signed, root))
    with superuser(database) as conn:
        if ENGINE == "sqlite":
            conn.execute(text("DROP TRIGGER audit_checkpoints_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER "
                              "audit_checkpoints_no_update_delete"))
        conn.execute(text("UPDATE audit_checkpoints SET note = :n, root_hash = :r"),
                     {"n": note, "r": root.hex()})
    app.config["AUDIT_CHECKPOINT_COPY_DIRS"] = ()  # only the forged stored one is left
    result = run(app, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert "NOT VERIFIED: the stored checkpoint of size" in result.output
    assert "carries no signature by" in result.output


# --- 3. Checkpoint files removed from a bundle ----------------------------------------------


def test_a_bundle_missing_the_checkpoint_files_its_manifest_counts_fails_offline(
        app, signed, keys, tmp_path):
    bundle = tmp_path / "bundle"
    assert run(app, "audit", "export", bundle).exit_code == 0
    for path in (bundle / "checkpoints").glob("*.txt"):
        path.unlink()
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("the manifest lists 1 checkpoint file(s) but checkpoints/ holds 0 (missing: "
            f"{checkpoints.checkpoint_filename(signed)})") in result.stdout


def test_a_bundle_with_no_checkpoint_at_all_verifies_with_a_loud_warning(
        app, signed, keys, tmp_path):
    bundle = tmp_path / "bundle"
    assert run(app, "audit", "export", bundle).exit_code == 0
    for path in (bundle / "checkpoints").glob("*.txt"):
        path.unlink()
    (bundle / "manifest.json").unlink()
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING: NO SIGNED CHECKPOINT WAS CHECKED" in result.stderr
    # A checkpoint kept from before anchors it: no warning.
    kept = tmp_path / "kept.txt"
    with app.app_context():
        kept.write_text(checkpoints.newest(get_session()).note)
    anchored = run_verifier(bundle / "verify.py", bundle, "--key", keys[1], "--checkpoint", kept)
    assert anchored.returncode == 0 and "WARNING" not in anchored.stderr


# --- 4. Both verifiers name the deleted entry itself ------------------------------------------


def test_audit_verify_and_the_offline_verifier_name_the_same_deleted_entry(
        app, database, signed, keys, tmp_path):
    seq = signed - 2
    with without_audit_guards(database) as conn:
        conn.execute(text("DELETE FROM audit_entries WHERE seq = :seq"), {"seq": seq})
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at entry {seq}: expected entry {seq} next but found {seq + 1}" \
        in result.output
    bundle = tmp_path / "bundle"
    assert run(app, "audit", "export", bundle).exit_code == 1
    offline = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert offline.stdout.startswith(f"TAMPERED OR INCONSISTENT: entry {seq}: ")


# --- 5. Read-only mode after a restore from an older backup -----------------------------------


@pytest.fixture
def read_only(database, staff, tmp_path):  # type: ignore[no-untyped-def]
    """An app whose recorded chain head is ahead of its log (an older backup was restored)."""
    record = tmp_path / "chain_head.json"
    record.write_text(json.dumps({"seq": 10_000, "entry_hash": "ab" * 32,
                                  "recorded_at": "2026-01-01T00:00:00+00:00"}))
    app = make_app(database, CHAIN_HEAD_RECORD=str(record))
    yield app
    app.extensions["db_engine"].dispose()


def test_audit_verify_in_read_only_mode_says_so_and_exits_3_not_1(read_only):
    result = run(read_only, "audit", "verify")
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert "Audit chain intact" in result.output
    assert "READ-ONLY: The service is read-only" in result.output
    assert "acknowledge-restore" in result.output
    help_text = " ".join(run(read_only, "audit", "verify", "--help").output.split())
    assert "Exit status: 0" in help_text and "3 the log is intact but the" in help_text


def test_create_user_in_read_only_mode_says_so_and_exits_3(read_only):
    result = run(read_only, "create-user", "--email", "x@force.example", "--name", "X Y",
                 "--role", "auditor")
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)
    assert "READ-ONLY" in result.output and "Nothing was saved." in result.output
    assert "Exit status 3" in " ".join(run(read_only, "create-user", "--help").output.split())


def test_audit_checkpoint_in_read_only_mode_says_so_and_exits_3(read_only, tmp_path):
    private, public = tmp_path / "k", tmp_path / "k.pub"
    assert run(read_only, "audit", "keygen", "--private", private, "--public", public
               ).exit_code == 0
    result = run(read_only, "audit", "checkpoint", "--key-file", private, "--force")
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)
    assert "READ-ONLY" in result.output and "No checkpoint was signed." in result.output
