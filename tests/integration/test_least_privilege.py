"""The application's own database connection cannot rewrite history: it demonstrably cannot
UPDATE, DELETE or TRUNCATE the decision log, nor change the schema or switch the guards off.

PostgreSQL: the app connects as the runtime role, which owns nothing and holds only SELECT and
INSERT on ``audit_entries``, so each attempt fails with a permission error (SQLSTATE 42501,
InsufficientPrivilege) before any trigger is reached. SQLite has no accounts: what stands between
the app's connection and the log are the append-only triggers and, before the database is even
asked, the ORM guard. Each test below runs on both engines; where the mechanism differs, the test
id names the engine and the assertions follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_engine, get_session
from disclosure_app.models import AuditEntry, Case, CaseStep
from disclosure_app.models.audit import AuditLogIsAppendOnly
from tests.databases import (
    ENGINE,
    OWNER_ROLE,
    RUNTIME_ROLE,
    audit_triggers,
    guard_trigger_names,
    superuser,
)
from tests.factories import make_case, make_user
from workflows.roles import Role
from workflows.status import Status


@dataclass(frozen=True)
class Attempt:
    what: str
    sql: str
    refused_with: str  # a regex the database's error must match


NOT_PERMITTED = "permission denied for table audit_entries"
NOT_OWNER = "must be owner of"

ATTEMPTS = {
    "postgresql": [
        Attempt("UPDATE one audit entry",
                "UPDATE audit_entries SET actor_name = 'Someone else' WHERE seq = 1",
                NOT_PERMITTED),
        Attempt("UPDATE every audit entry", "UPDATE audit_entries SET payload = '{}'",
                NOT_PERMITTED),
        Attempt("DELETE one audit entry", "DELETE FROM audit_entries WHERE seq = 1",
                NOT_PERMITTED),
        Attempt("DELETE every audit entry", "DELETE FROM audit_entries", NOT_PERMITTED),
        Attempt("TRUNCATE the audit log", "TRUNCATE audit_entries", NOT_PERMITTED),
        Attempt("TRUNCATE the audit log CASCADE", "TRUNCATE audit_entries CASCADE",
                NOT_PERMITTED),
        Attempt("CREATE TABLE", "CREATE TABLE shadow_log (seq integer PRIMARY KEY)",
                "permission denied for schema public"),
        Attempt("ALTER TABLE", "ALTER TABLE audit_entries ADD COLUMN note text", NOT_OWNER),
        Attempt("DROP TABLE", "DROP TABLE audit_entries CASCADE", NOT_OWNER),
        Attempt("switch a guard trigger off",
                "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_update_delete",
                NOT_OWNER),
        Attempt("drop the guard function", "DROP FUNCTION audit_entries_refuse_change() CASCADE",
                NOT_OWNER),
        Attempt("SET session_replication_role = replica",
                "SET session_replication_role = replica",
                'permission denied to set parameter "session_replication_role"'),
        Attempt("become the owner role", f'SET ROLE "{OWNER_ROLE}"',
                f'permission denied to set role "{OWNER_ROLE}"'),
        Attempt("rewrite the schema version", "UPDATE alembic_version SET version_num = 'x'",
                "permission denied for table alembic_version"),
    ],
    "sqlite": [
        Attempt("UPDATE one audit entry (trigger)",
                "UPDATE audit_entries SET actor_name = 'Someone else' WHERE seq = 1",
                "append-only"),
        Attempt("UPDATE every audit entry (trigger)", "UPDATE audit_entries SET payload = '{}'",
                "append-only"),
        Attempt("DELETE one audit entry (trigger)", "DELETE FROM audit_entries WHERE seq = 1",
                "append-only"),
        # SQLite has no TRUNCATE: an unqualified DELETE is its truncate.
        Attempt("DELETE every audit entry, SQLite's TRUNCATE (trigger)",
                "DELETE FROM audit_entries", "append-only"),
    ],
}[ENGINE]


@pytest.fixture
def logged(app: Flask, database: Any) -> Any:
    """Real audit entries to attack (creating an account writes one); row triggers only fire
    when there are rows."""
    with app.app_context():
        make_user(get_session(), Role.case_officer)
        make_user(get_session(), Role.auditor)
    return database


def _state(database: Any) -> tuple[Any, ...]:
    """Everything an attempt could have changed, read as a superuser."""
    with superuser(database) as conn:
        entries = conn.execute(text(
            "SELECT seq, payload, actor_name, prev_hash, entry_hash FROM audit_entries "
            "ORDER BY seq")).all()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        tables = sorted(inspect(conn).get_table_names())
        columns = [c["name"] for c in inspect(conn).get_columns("audit_entries")]
    return entries, version, tables, columns, audit_triggers(database)


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[f"{ENGINE}: {a.what}" for a in ATTEMPTS])
def test_the_apps_own_connection_is_refused(app, logged, attempt):
    before = _state(logged)
    assert len(before[0]) == 2
    with app.app_context(), get_engine().connect() as conn:
        with pytest.raises(DBAPIError, match=attempt.refused_with) as refused:
            conn.execute(text(attempt.sql))
        conn.rollback()
    if ENGINE == "postgresql":
        from psycopg import errors as pg_errors

        assert isinstance(refused.value.orig, pg_errors.InsufficientPrivilege)
        assert refused.value.orig.sqlstate == "42501"
    assert _state(logged) == before
    assert before[-1] == dict.fromkeys(guard_trigger_names(), "always")
    with app.app_context():
        assert audit.verify_chain(get_session()).ok


@pytest.mark.parametrize("change", ["modify", "delete"])
def test_the_orm_refuses_to_change_an_entry_before_the_database_is_asked(app, logged, change):
    with app.app_context():
        session = get_session()
        entry = session.get(AuditEntry, 1)
        if change == "modify":
            entry.actor_name = "Someone else"
        else:
            session.delete(entry)
        with pytest.raises(AuditLogIsAppendOnly):
            session.flush()
        session.rollback()
        assert session.get(AuditEntry, 1).actor_name != "Someone else"
        assert audit.verify_chain(get_session()).ok


# What the app's connection is, engine by engine. PostgreSQL: the runtime role with no power
# beyond reading and appending. SQLite has no accounts: the facts are the triggers that guard
# the log whatever connection reaches the file.
FACTS = {
    "postgresql": [
        ("runs as the runtime role", "SELECT current_user", RUNTIME_ROLE),
        ("was not switched to another role", "SELECT session_user", RUNTIME_ROLE),
        ("is not a superuser", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
         False),
        ("cannot create roles or databases, replicate or bypass row security",
         "SELECT rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls "
         "FROM pg_roles WHERE rolname = current_user", False),
        ("owns no table, index, sequence or view",
         "SELECT count(*) FROM pg_class WHERE relowner = "
         "(SELECT oid FROM pg_roles WHERE rolname = current_user)", 0),
        ("owns no function, schema or database",
         "SELECT (SELECT count(*) FROM pg_proc WHERE proowner = r.oid) + "
         "(SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) + "
         "(SELECT count(*) FROM pg_database WHERE datdba = r.oid) "
         "FROM pg_roles r WHERE r.rolname = current_user", 0),
        ("is not a member of the owner role",
         f"SELECT pg_has_role(current_user, '{OWNER_ROLE}', 'MEMBER')", False),
        ("may only read and append to the audit log",
         "SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', "
         "'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p "
         "WHERE has_table_privilege('audit_entries', p)", "INSERT,SELECT"),
        ("may only read the schema version",
         "SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', "
         "'DELETE', 'TRUNCATE']) AS p WHERE has_table_privilege('alembic_version', p)",
         "SELECT"),
        ("cannot create anything in the schema",
         "SELECT has_schema_privilege('public', 'CREATE')", False),
    ],
    "sqlite": [
        ("sees both append-only triggers on the audit log",
         "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
         "WHERE type = 'trigger' AND tbl_name = 'audit_entries' ORDER BY name)",
         "audit_entries_no_delete,audit_entries_no_update"),
        ("whose triggers abort the statement",
         "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries' "
         "AND sql LIKE '%RAISE(ABORT, ''audit log is append-only'')%'",
         2),
    ],
}[ENGINE]


@pytest.mark.parametrize(("fact", "query", "expected"), FACTS,
                         ids=[f"{ENGINE}: {fact}" for fact, _, _ in FACTS])
def test_the_apps_connection_has_only_the_rights_it_needs(app, fact, query, expected):
    with app.app_context(), get_engine().connect() as conn:
        assert conn.execute(text(query)).scalar() == expected, fact


def test_a_full_case_journey_reads_and_appends_on_the_apps_own_connection(app, staff, clients):
    """Everything the app does (submitting, every workflow step, the audit appends, the chain
    head, reading it all back) works with no more than those rights."""
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        session = get_session()
        if ENGINE == "postgresql":
            assert session.execute(text("SELECT current_user")).scalar() == RUNTIME_ROLE
        assert session.get(Case, case.id).status is Status.closed
        steps = session.scalar(select(func.count()).select_from(CaseStep)
                               .where(CaseStep.case_id == case.id))
        logged = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.case_id == case.id))
        assert steps > 5 and logged >= steps
        result = audit.verify_chain(session)
        assert result.ok and result.entries_checked == audit.chain_length(session)
    page = clients["auditor"].get(f"/audit/cases/{case.id}")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('data-testid="step-check">matches<') == steps
