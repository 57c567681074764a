"""The decision log is append-only and tamper-evident: the database and the ORM refuse changes,
and a change made behind the application's back (a database superuser dropping the guard
triggers) is found by the chain verifier, the auditor's console and ``flask audit verify``."""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry
from disclosure_app.models.audit import AuditLogIsAppendOnly
from disclosure_app.services import audit
from tests.factories import make_case
from workflows.status import Status

GUARDS = {
    "audit_entries_no_update": """CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON
        audit_entries BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    "audit_entries_no_delete": """CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON
        audit_entries BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
}


@contextmanager
def superuser(db_path, trigger: str):
    """A raw connection that drops one guard trigger, lets the caller change the table, then puts
    the trigger back: what an administrator with the database file could do."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute(f"DROP TRIGGER {trigger}")
        yield conn
        conn.execute(GUARDS[trigger])
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def closed_case(app, staff):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return case


def _seq_of(app, action: str) -> int:
    with app.app_context():
        return get_session().scalar(select(AuditEntry.seq).where(AuditEntry.action == action))


def _verify(app):
    with app.app_context():
        return audit.verify_chain(get_session())


def _cli_verify(app):
    # The `audit` group is a plain click group, so the test pushes the app context that the
    # `flask` command would.
    with app.app_context():
        return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_an_untouched_chain_verifies_in_the_cli_and_the_service(app, closed_case):
    result = _verify(app)
    assert result.ok and result.entries_checked > 10
    cli = _cli_verify(app)
    assert cli.exit_code == 0, cli.output
    assert f"intact: {result.entries_checked} entries" in cli.output


def test_an_edited_payload_is_reported_with_its_sequence_number_everywhere(
    app, db_path, closed_case, clients
):
    seq = _seq_of(app, "approve_disclosure_to_applicant")
    with superuser(db_path, "audit_entries_no_update") as conn:
        changed = conn.execute(
            "UPDATE audit_entries SET payload = replace(payload, "
            "'\"approve_disclosure_to_applicant\"', '\"decide_no_disclosure\"') WHERE seq = ?",
            (seq,),
        ).rowcount
        assert changed == 1

    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq
    assert result.entries_checked == seq - 1

    page = clients["auditor"].get("/audit/").get_data(as_text=True)
    assert re.search(r'data-testid="chain-state">BROKEN<', page)
    assert f'data-testid="first-bad-seq">{seq}<' in page
    assert 'data-testid="chain-state">Intact<' not in page

    cli = _cli_verify(app)
    assert cli.exit_code != 0
    assert f"BROKEN at entry {seq}" in cli.output


def test_the_guard_trigger_is_back_after_the_superuser_edit(app, db_path, closed_case):
    with superuser(db_path, "audit_entries_no_update") as conn:
        conn.execute("UPDATE audit_entries SET actor_name = actor_name WHERE seq = 1")
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_entries SET actor_name = 'x' WHERE seq = 1")
    finally:
        conn.close()


def test_a_forged_column_with_an_untouched_payload_is_detected(app, db_path, closed_case):
    seq = _seq_of(app, "close_case")
    with superuser(db_path, "audit_entries_no_update") as conn:
        conn.execute("UPDATE audit_entries SET actor_name = 'Someone Else' WHERE seq = ?", (seq,))
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq
    assert "actor_name" in result.problem


def test_a_deleted_entry_is_detected_at_its_sequence_number(app, db_path, closed_case):
    seq = _seq_of(app, "record_interview")
    with superuser(db_path, "audit_entries_no_delete") as conn:
        conn.execute("DELETE FROM audit_entries WHERE seq = ?", (seq,))
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq + 1  # the entry found where `seq` should have been
    assert f"expected entry {seq}" in result.problem
    cli = _cli_verify(app)
    assert cli.exit_code != 0 and str(seq + 1) in cli.output


def test_a_truncated_chain_is_detected(app, db_path, closed_case):
    with app.app_context():
        last = audit.chain_length(get_session())
    with superuser(db_path, "audit_entries_no_delete") as conn:
        conn.execute("DELETE FROM audit_entries WHERE seq = ?", (last,))
    result = _verify(app)
    assert not result.ok
    assert "truncated" in result.problem


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEntry).where(AuditEntry.seq == 1).values(actor_name="Someone Else"),
        update(AuditEntry).values(payload="{}"),
        delete(AuditEntry).where(AuditEntry.seq == 1),
        delete(AuditEntry),
    ],
    ids=["update one", "update all", "delete one", "delete all"],
)
def test_the_database_refuses_to_change_or_delete_entries(app, closed_case, statement):
    with app.app_context():
        session = get_session()
        before = session.scalar(select(AuditEntry.payload).where(AuditEntry.seq == 1))
        with pytest.raises((IntegrityError, OperationalError), match="append-only"):
            session.execute(statement)
        session.rollback()
        assert session.scalar(select(AuditEntry.payload).where(AuditEntry.seq == 1)) == before
    assert _verify(app).ok


def test_the_orm_refuses_to_modify_an_entry(app, closed_case):
    with app.app_context():
        session = get_session()
        entry = session.get(AuditEntry, 1)
        entry.actor_name = "Someone Else"
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()


def test_the_orm_refuses_to_delete_an_entry(app, closed_case):
    with app.app_context():
        session = get_session()
        session.delete(session.get(AuditEntry, 1))
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
    assert _verify(app).ok
