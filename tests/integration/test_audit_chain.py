"""The decision log is append-only and tamper-evident: the database and the ORM refuse changes,
and a change made behind the application's back (a database superuser switching the guard
triggers off) is found by the chain verifier, the auditor's console and ``flask audit verify``."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry
from disclosure_app.models.audit import AuditLogIsAppendOnly
from tests.databases import (
    ENGINE,
    audit_triggers,
    guard_trigger_names,
    superuser_connection,
    without_audit_guards,
)
from tests.factories import make_case
from workflows.status import Status


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
    with without_audit_guards(db_path) as conn:
        changed = conn.execute(
            text("UPDATE audit_entries SET payload = replace(payload, :old, :new) "
                 "WHERE seq = :seq"),
            {"old": '"approve_disclosure_to_applicant"', "new": '"decide_no_disclosure"',
             "seq": seq},
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


def test_the_guard_triggers_are_back_after_the_superuser_edit(app, db_path, closed_case):
    with without_audit_guards(db_path) as conn:
        changed = conn.execute(
            text("UPDATE audit_entries SET actor_name = actor_name WHERE seq = 1")).rowcount
        assert changed == 1
    assert audit_triggers(db_path) == dict.fromkeys(guard_trigger_names(), "always")
    with superuser_connection(db_path) as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE audit_entries SET actor_name = 'x' WHERE seq = 1"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("DELETE FROM audit_entries WHERE seq = 1"))
    assert _verify(app).ok


def test_a_single_changed_byte_in_a_payload_is_detected_at_its_sequence_number(
    app, db_path, closed_case
):
    seq = _seq_of(app, "record_interview")
    with without_audit_guards(db_path) as conn:
        payload = conn.execute(text("SELECT payload FROM audit_entries WHERE seq = :seq"),
                               {"seq": seq}).scalar_one()
        middle = len(payload) // 2
        flipped = "1" if payload[middle] != "1" else "2"
        forged = payload[:middle] + flipped + payload[middle + 1:]
        conn.execute(text("UPDATE audit_entries SET payload = :payload WHERE seq = :seq"),
                     {"payload": forged, "seq": seq})
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq
    assert result.entries_checked == seq - 1
    assert "do not match its hash" in result.problem


def test_a_changed_previous_hash_is_detected_at_its_sequence_number(app, db_path, closed_case):
    seq = _seq_of(app, "record_interview")
    with without_audit_guards(db_path) as conn:
        changed = conn.execute(
            text("UPDATE audit_entries SET prev_hash = :forged WHERE seq = :seq"),
            {"forged": "ab" * 32, "seq": seq},
        ).rowcount
        assert changed == 1
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq
    assert "previous-hash" in result.problem
    cli = _cli_verify(app)
    assert cli.exit_code != 0 and f"BROKEN at entry {seq}" in cli.output


def test_a_forged_column_with_an_untouched_payload_is_detected(app, db_path, closed_case):
    seq = _seq_of(app, "close_case")
    with without_audit_guards(db_path) as conn:
        changed = conn.execute(
            text("UPDATE audit_entries SET actor_name = 'Someone Else' WHERE seq = :seq"),
            {"seq": seq}).rowcount
        assert changed == 1
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == seq
    assert "actor_name" in result.problem


def test_a_deleted_entry_is_detected_at_its_sequence_number(app, db_path, closed_case):
    seq = _seq_of(app, "record_interview")
    with without_audit_guards(db_path) as conn:
        # A step record points at its entry (case_steps.audit_seq): a forger removes both.
        conn.execute(text("DELETE FROM case_steps WHERE audit_seq = :seq"), {"seq": seq})
        deleted = conn.execute(text("DELETE FROM audit_entries WHERE seq = :seq"),
                               {"seq": seq}).rowcount
        assert deleted == 1
    result = _verify(app)
    assert not result.ok
    # The missing entry is named, as the offline verifier names it (issue 11).
    assert result.first_bad_seq == seq
    assert f"expected entry {seq}" in result.problem
    cli = _cli_verify(app)
    assert cli.exit_code != 0 and f"BROKEN at entry {seq}:" in cli.output


def test_a_truncated_chain_is_detected(app, db_path, closed_case):
    with app.app_context():
        last = audit.chain_length(get_session())
    with without_audit_guards(db_path) as conn:
        conn.execute(text("DELETE FROM case_steps WHERE audit_seq = :seq"), {"seq": last})
        deleted = conn.execute(text("DELETE FROM audit_entries WHERE seq = :seq"),
                               {"seq": last}).rowcount
        assert deleted == 1
    result = _verify(app)
    assert not result.ok
    assert result.first_bad_seq == last
    assert "truncated" in result.problem
    cli = _cli_verify(app)
    assert cli.exit_code != 0 and f"BROKEN at entry {last}" in cli.output


CHANGES = {
    "update one": update(AuditEntry).where(AuditEntry.seq == 1).values(actor_name="Someone Else"),
    "update all": update(AuditEntry).values(payload="{}"),
    "delete one": delete(AuditEntry).where(AuditEntry.seq == 1),
    "delete all": delete(AuditEntry),
}

# How the application's own connection is refused. SQLite has no accounts: the append-only
# triggers refuse. PostgreSQL: the app's runtime role holds no UPDATE or DELETE privilege on the
# table, so the statement is refused before the triggers are reached.
APP_REFUSAL = {
    "sqlite": ((IntegrityError, OperationalError), "append-only"),
    "postgresql": (ProgrammingError, "permission denied for table audit_entries"),
}[ENGINE]


@pytest.mark.parametrize("name", list(CHANGES))
def test_the_database_refuses_the_apps_connection_to_change_or_delete_entries(
    app, closed_case, name
):
    errors, message = APP_REFUSAL
    with app.app_context():
        session = get_session()
        before = session.scalar(select(AuditEntry.payload).where(AuditEntry.seq == 1))
        with pytest.raises(errors, match=message):
            session.execute(CHANGES[name])
        session.rollback()
        assert session.scalar(select(AuditEntry.payload).where(AuditEntry.seq == 1)) == before
    assert _verify(app).ok


@pytest.mark.parametrize("name", list(CHANGES))
def test_the_guard_triggers_refuse_even_a_superuser(app, db_path, closed_case, name):
    """On PostgreSQL the triggers fire ALWAYS: for the table owner and superusers too."""
    with superuser_connection(db_path) as conn:
        before = conn.execute(text("SELECT seq, payload, actor_name FROM audit_entries "
                                   "ORDER BY seq")).all()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(CHANGES[name])
        conn.rollback()
        after = conn.execute(text("SELECT seq, payload, actor_name FROM audit_entries "
                                  "ORDER BY seq")).all()
    assert after == before
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
