"""The schema comes from the Alembic migrations alone: they build an empty database up to head,
take it all the way down and up again, and agree with the models. The audit log is append-only in
the database itself, and every application connection to SQLite is durable (WAL, FULL sync) and
enforces foreign keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect

from disclosure_app import models  # noqa: F401  (every table on Base.metadata)
from disclosure_app.cli import alembic_config, upgrade_database
from disclosure_app.db import Base, get_engine, get_session
from tests.conftest import make_app
from tests.factories import make_user
from workflows.roles import Role

APPLICATION_TABLES = {
    "users", "cases", "applicants", "children", "subjects", "case_steps", "case_invitations",
    "audit_entries", "audit_chain_head",
}
GUARD_TRIGGERS = {"audit_entries_no_update", "audit_entries_no_delete"}


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database file that does not exist yet: no tables at all."""
    app = make_app(tmp_path / "empty.sqlite")
    yield app
    app.extensions["db_engine"].dispose()


def schema(db_file: Path) -> dict[tuple[str, str], str]:
    """Every table, index and trigger in the file, with the SQL that made it."""
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return {(kind, name): sql for kind, name, sql in rows}


def db_file(app: Flask) -> Path:
    return Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))


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


def test_an_empty_database_migrates_to_head_down_to_base_and_up_again(empty_app):
    assert tables(empty_app) == set()
    with empty_app.app_context():
        upgrade_database()
    assert tables(empty_app) == APPLICATION_TABLES | {"alembic_version"}
    assert current_revision(empty_app) == head_revision(empty_app)
    first = schema(db_file(empty_app))

    with empty_app.app_context():
        command.downgrade(alembic_config(), "base")
    assert tables(empty_app) - {"alembic_version"} == set()
    assert current_revision(empty_app) is None
    leftovers = {key for key in schema(db_file(empty_app)) if key != ("table", "alembic_version")}
    assert leftovers == set(), "indexes or triggers outlived their tables"

    with empty_app.app_context():
        upgrade_database()
    assert current_revision(empty_app) == head_revision(empty_app)
    assert schema(db_file(empty_app)) == first


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


def test_the_audit_guard_triggers_exist_after_upgrade(empty_app):
    with empty_app.app_context():
        upgrade_database()
    triggers = {name for kind, name in schema(db_file(empty_app)) if kind == "trigger"}
    assert triggers == GUARD_TRIGGERS


@pytest.fixture
def audited_db(app, db_path) -> Path:
    """A migrated database with real audit entries (creating an account writes one)."""
    with app.app_context():
        make_user(get_session(), Role.case_officer)
        make_user(get_session(), Role.auditor)
    app.extensions["db_engine"].dispose()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 2
    return db_path


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entries SET payload = '{}' WHERE seq = 1",
    "UPDATE audit_entries SET actor_name = 'Someone else'",
    "DELETE FROM audit_entries WHERE seq = 2",
    "DELETE FROM audit_entries",
])
def test_raw_sql_cannot_change_or_remove_audit_entries(audited_db, statement):
    conn = sqlite3.connect(audited_db)
    try:
        before = conn.execute("SELECT seq, payload, actor_name FROM audit_entries").fetchall()
        with pytest.raises((sqlite3.IntegrityError, sqlite3.OperationalError),
                           match="append-only"):
            conn.execute(statement)
        conn.rollback()
        after = conn.execute("SELECT seq, payload, actor_name FROM audit_entries").fetchall()
    finally:
        conn.close()
    assert after == before


def test_raw_sql_can_still_append_to_the_audit_log_table(audited_db):
    """The guards refuse changes, not additions (appending is the services' job, but a trigger
    that refused every write would break the application)."""
    conn = sqlite3.connect(audited_db)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(audit_entries)")]
        row = dict(zip(columns, conn.execute(
            "SELECT * FROM audit_entries WHERE seq = 2").fetchone(), strict=True))
        row.update(seq=3, entry_hash="f" * 64)
        conn.execute(f"INSERT INTO audit_entries ({', '.join(row)}) "
                     f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
        assert conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 3
        conn.rollback()
    finally:
        conn.close()


@pytest.mark.parametrize(("pragma", "expected"), [
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", 2),  # FULL
])
def test_app_connections_are_durable_and_enforce_foreign_keys(app, pragma, expected):
    with app.app_context():
        session = get_session()
        assert session.connection().exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected
        session.rollback()
        # Every pooled connection, not just the first: open two at once.
        with get_engine().connect() as one, get_engine().connect() as two:
            values = [one.exec_driver_sql(f"PRAGMA {pragma}").scalar()]
            one.rollback()
            values.append(two.exec_driver_sql(f"PRAGMA {pragma}").scalar())
            two.rollback()
        assert values == [expected, expected]


def test_foreign_keys_are_enforced_on_app_connections(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context(), get_engine().connect() as connection:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            connection.exec_driver_sql(
                "INSERT INTO case_invitations (case_id, user_id, invited_by_id, invited_at) "
                "VALUES (424242, 434343, 444444, '2026-01-01 00:00:00')"
            )
