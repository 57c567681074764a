"""The schema comes from the Alembic migrations alone: they build an empty database up to head,
take it all the way down and up again, and agree with the models. The audit log is append-only in
the database itself (even a superuser's UPDATE, DELETE or TRUNCATE is refused), and every
application connection is set up safely: on SQLite durable (WAL, FULL sync) and enforcing foreign
keys; on PostgreSQL running as the least-privilege runtime role, never as a superuser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from disclosure_app import models  # noqa: F401  (every table on Base.metadata)
from disclosure_app.cli import alembic_config, upgrade_database
from disclosure_app.db import Base, get_engine, get_session
from tests.conftest import make_app
from tests.databases import (
    ENGINE,
    RUNTIME_ROLE,
    TestDatabase,
    audit_triggers,
    drop_pg_database,
    ensure_pg_roles,
    guard_trigger_names,
    new_pg_database,
    sqlite_database,
    superuser,
    superuser_connection,
)
from tests.factories import make_user
from workflows.roles import Role

APPLICATION_TABLES = {
    "users", "cases", "applicants", "children", "subjects", "case_steps", "case_invitations",
    "audit_entries", "audit_chain_head", "submission_keys", "stored_documents",
    "rationale_fingerprints", "dip_sample_draws", "dip_samples",
    # The risk check (issue 5).
    "register_imports", "register_people", "register_names", "register_addresses",
    "case_checks", "identity_decisions", "case_link_keys", "case_links",
    "audit_checkpoints", "audit_verifications", "security_events", "access_reasons",
    "mfa_reset_requests", "rate_limit_counters",
    # Clocks, teams and allocation, staff notifications (issue 13).
    "teams", "team_members", "officer_covers", "case_allocations", "case_clocks",
    "closure_days", "scheduler_leases", "forecast_fits", "historical_cases", "notifications",
    # Retention reviews, legal holds and corrections of personal details (issue 14).
    "retention_reviews", "legal_holds", "rectifications",
}


# The checkpoints, verification runs and security events are append-only too (0005).
NEWER_APPEND_ONLY_GUARDS = {
    engine: {f"{table}_{suffix}" for table in
             ("audit_checkpoints", "audit_verifications", "security_events")
             for suffix in suffixes}
    for engine, suffixes in (("sqlite", ("no_update", "no_delete")),
                             ("postgresql", ("no_update_delete", "no_truncate")))
}


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[TestDatabase]:
    """A database with no tables at all: a file that does not exist yet, or a new PostgreSQL
    database owned by the owner role (dropped afterwards)."""
    if ENGINE == "sqlite":
        yield sqlite_database(tmp_path / "empty.sqlite")
        return
    ensure_pg_roles()
    database = new_pg_database()
    yield database
    drop_pg_database(database.name)


@pytest.fixture
def empty_app(empty_database: TestDatabase) -> Iterator[Flask]:
    app = make_app(empty_database)
    yield app
    app.extensions["db_engine"].dispose()


Schema = dict[tuple[str, str, str], str]  # (kind, table, name) -> the SQL or definition


def schema(database: TestDatabase) -> Schema:
    """Every table, index and trigger in the database with the SQL that made it; on PostgreSQL
    also every column list, constraint, sequence, function and the grants on each table."""
    with superuser(database) as conn:
        if database.engine == "sqlite":
            rows = conn.execute(text(
                "SELECT type, tbl_name, name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%'")).all()
            return {(kind, table, name): _sqlite_sql(sql) for kind, table, name, sql in rows}
        return _pg_schema(conn)


def _sqlite_sql(sql: str) -> str:
    """The statement with its table-level constraints in a fixed order: SQLite keeps whatever
    order a batch migration (which recreates the table) reflected them in, which says nothing
    about the schema. Columns keep their order; every character of every clause still counts."""
    lines = sql.split("\n")
    columns = [line.rstrip(", ") for line in lines if not line.lstrip().startswith("CONSTRAINT")]
    constraints = sorted(line.rstrip(", ") for line in lines
                         if line.lstrip().startswith("CONSTRAINT"))
    return "\n".join(columns + constraints)


_PG_CATALOG = {
    "table": """
        SELECT c.relname, c.relname,
               pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '') || ' ' ||
               string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
                          CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || ' ' ||
                          coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
        GROUP BY c.oid, c.relname, c.relowner, c.relacl""",
    "sequence": """
        SELECT coalesce(t.relname, ''), s.relname,
               pg_get_userbyid(s.relowner) || ' ' || coalesce(s.relacl::text, '')
        FROM pg_class s
        LEFT JOIN pg_depend dep ON dep.objid = s.oid AND dep.classid = 'pg_class'::regclass
             AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
        LEFT JOIN pg_class t ON t.oid = dep.refobjid
        WHERE s.relnamespace = 'public'::regnamespace AND s.relkind = 'S'""",
    "index": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'""",
    "constraint": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace""",
    "trigger": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) || ' ' || tgenabled::text
        FROM pg_trigger WHERE NOT tgisinternal""",
    "function": """
        SELECT '', proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace""",
}


def _pg_schema(conn: Connection) -> Schema:
    found: Schema = {}
    for kind, query in _PG_CATALOG.items():
        for table, name, definition in conn.execute(text(query)):
            found[(kind, table, name)] = definition
    return found


def tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(get_engine()).get_table_names())


def head_revision(app: Flask) -> str:
    with app.app_context():
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(app: Flask) -> str | None:
    with app.app_context(), get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_an_empty_database_migrates_to_head_down_to_base_and_up_again(empty_app, empty_database):
    assert tables(empty_app) == set()
    with empty_app.app_context():
        upgrade_database()
    assert tables(empty_app) == APPLICATION_TABLES | {"alembic_version"}
    assert current_revision(empty_app) == head_revision(empty_app)
    first = schema(empty_database)
    assert {table for _, table, _ in first} >= APPLICATION_TABLES

    with empty_app.app_context():
        command.downgrade(alembic_config(), "base")
    assert tables(empty_app) - {"alembic_version"} == set()
    assert current_revision(empty_app) is None
    leftovers = {key for key in schema(empty_database) if key[1] != "alembic_version"}
    assert leftovers == set(), "indexes, triggers, sequences or functions outlived their tables"

    with empty_app.app_context():
        upgrade_database()
    assert current_revision(empty_app) == head_revision(empty_app)
    assert schema(empty_database) == first


def test_the_models_and_the_migrations_describe_the_same_schema(app):
    with app.app_context(), get_engine().connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_every_model_table_is_created_by_the_migrations(app):
    assert set(Base.metadata.tables) == APPLICATION_TABLES
    assert tables(app) == APPLICATION_TABLES | {"alembic_version"}


def test_the_audit_guard_triggers_exist_after_upgrade(empty_app, empty_database):
    with empty_app.app_context():
        upgrade_database()
    triggers = {name for kind, _, name in schema(empty_database) if kind == "trigger"}
    assert triggers == guard_trigger_names() | NEWER_APPEND_ONLY_GUARDS[ENGINE]
    # On PostgreSQL "always": they fire even under session_replication_role = replica.
    assert audit_triggers(empty_database) == dict.fromkeys(guard_trigger_names(), "always")


@pytest.fixture
def audited_db(app: Flask, database: TestDatabase) -> TestDatabase:
    """A migrated database with real audit entries (creating an account writes one)."""
    with app.app_context():
        make_user(get_session(), Role.case_officer)
        make_user(get_session(), Role.auditor)
    app.extensions["db_engine"].dispose()
    with superuser(database) as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one() == 2
    return database


RAW_CHANGES = [
    "UPDATE audit_entries SET payload = '{}' WHERE seq = 1",
    "UPDATE audit_entries SET actor_name = 'Someone else'",
    "DELETE FROM audit_entries WHERE seq = 2",
    "DELETE FROM audit_entries",
]
if ENGINE == "postgresql":
    # SQLite has no TRUNCATE (an unqualified DELETE, above, is its truncate). On PostgreSQL a
    # plain TRUNCATE is already stopped by case_steps' foreign key; CASCADE gets past that, and
    # the statement trigger refuses it.
    RAW_CHANGES.append("TRUNCATE audit_entries CASCADE")


@pytest.mark.parametrize("statement", RAW_CHANGES)
def test_raw_sql_cannot_change_or_remove_audit_entries_even_as_superuser(audited_db, statement):
    snapshot = text("SELECT seq, payload, actor_name FROM audit_entries ORDER BY seq")
    with superuser_connection(audited_db) as conn:
        before = conn.execute(snapshot).all()
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
        conn.rollback()
        after = conn.execute(snapshot).all()
    assert len(before) == 2
    assert after == before


def test_raw_sql_can_still_append_to_the_audit_log_table(app, audited_db):
    """The guards refuse changes, not additions (appending is the services' job, but a trigger
    or a grant that refused every write would break the application). Done on the app's own
    connection: on PostgreSQL that is the runtime role."""
    with app.app_context(), get_engine().connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM audit_entries WHERE seq = 2")).mappings().one())
        row.update(seq=3, entry_hash="f" * 64)
        conn.execute(text(f"INSERT INTO audit_entries ({', '.join(row)}) "
                          f"VALUES ({', '.join(':' + column for column in row)})"), row)
        assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one() == 3
        conn.rollback()
    with superuser(audited_db) as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one() == 2


# What every application connection must say about itself. SQLite: durable (WAL, synchronous
# FULL) and enforcing foreign keys (both are per-connection settings there). PostgreSQL: the
# connection runs as the least-privilege runtime role, never a superuser (durability and foreign
# keys are the server's, not the connection's, to choose).
CONNECTION_FACTS = {
    "sqlite": [
        ("PRAGMA journal_mode", "wal"),
        ("PRAGMA foreign_keys", 1),
        ("PRAGMA synchronous", 2),  # FULL
    ],
    "postgresql": [
        ("SELECT current_user", RUNTIME_ROLE),
        ("SELECT session_user", RUNTIME_ROLE),
        ("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", False),
        ("SELECT current_setting('is_superuser')", "off"),
    ],
}[ENGINE]


@pytest.mark.parametrize(("query", "expected"), CONNECTION_FACTS,
                         ids=[f"{ENGINE}: {query}" for query, _ in CONNECTION_FACTS])
def test_every_app_connection_is_set_up_safely(app, query, expected):
    with app.app_context():
        session = get_session()
        assert session.connection().exec_driver_sql(query).scalar() == expected
        session.rollback()
        # Every pooled connection, not just the first: open two at once.
        with get_engine().connect() as one, get_engine().connect() as two:
            values = [one.exec_driver_sql(query).scalar()]
            one.rollback()
            values.append(two.exec_driver_sql(query).scalar())
            two.rollback()
        assert values == [expected, expected]


def test_foreign_keys_are_enforced_on_app_connections(app):
    with app.app_context(), get_engine().connect() as connection:
        with pytest.raises(IntegrityError, match="(?i)foreign key"):
            connection.exec_driver_sql(
                "INSERT INTO case_invitations (case_id, user_id, invited_by_id, invited_at) "
                "VALUES (424242, 434343, 444444, '2026-01-01 00:00:00')"
            )
