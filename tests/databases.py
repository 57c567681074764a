"""The database engines the suite runs on, and raw access to them for tests that play the part
of someone working behind the app's back (a DBA, an attacker with database access).

``make test`` runs the whole suite twice: on SQLite (the embedded default) and on a throwaway
PostgreSQL 15 cluster, selected by ``TEST_DATABASE_URL`` (a superuser URL to that cluster).
On PostgreSQL the app connects as a least-privilege runtime role and migrations run as the owner
role, exactly as in production.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

SUPERUSER_URL = os.environ.get("TEST_DATABASE_URL", "")
ENGINE = "postgresql" if SUPERUSER_URL else "sqlite"

OWNER_ROLE = "disclosure_owner"
RUNTIME_ROLE = "disclosure_runtime"

_GUARD_TRIGGERS = {
    "sqlite": ("audit_entries_no_update", "audit_entries_no_delete"),
    "postgresql": ("audit_entries_no_update_delete", "audit_entries_no_truncate"),
}


@dataclass(frozen=True)
class TestDatabase:
    """One test's database: where the app connects, and where a superuser connects."""

    __test__ = False  # not a test class, whatever its name says

    url: str  # as the app's runtime role
    superuser_url: str
    owner_url: str
    path: Path | None = None  # SQLite file
    name: str = ""  # PostgreSQL database name

    @property
    def engine(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"

    def __fspath__(self) -> str:
        """The SQLite file, for tests that open it directly; a PostgreSQL database has none."""
        if self.path is None:
            raise TypeError("a PostgreSQL test database has no file: use tests.databases helpers")
        return str(self.path)


def _pg_url(database: str, role: str | None = None) -> str:
    url = make_url(SUPERUSER_URL).set(database=database)
    if role is not None:
        url = url.set(username=role, password=None)
    return url.render_as_string(hide_password=False)


def _admin() -> Connection:
    # No pool: closing the connection closes it (a pooled one outlived its engine, unclosed).
    engine = create_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    return engine.connect()


def ensure_pg_roles() -> None:
    """The owner (runs migrations, owns every table) and the runtime role (what the app uses).
    Cluster-wide, so created once; concurrent workers may race, which is harmless."""
    with _admin() as conn:
        for role in (OWNER_ROLE, RUNTIME_ROLE):
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
            if exists.first() is None:
                try:
                    conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
                except Exception as exc:  # another worker created it first
                    if "already exists" not in str(exc):
                        raise


def create_pg_database(name: str, *, template: str | None = None) -> None:
    with _admin() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        source = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{source} OWNER "{OWNER_ROLE}"'))


def drop_pg_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def new_pg_database(template: str | None = None) -> TestDatabase:
    name = "t_" + uuid.uuid4().hex[:16]
    create_pg_database(name, template=template)
    return pg_database(name)


def pg_database(name: str) -> TestDatabase:
    return TestDatabase(
        url=_pg_url(name, RUNTIME_ROLE),
        superuser_url=_pg_url(name),
        owner_url=_pg_url(name, OWNER_ROLE),
        name=name,
    )


def sqlite_database(path: Path) -> TestDatabase:
    url = f"sqlite:///{path}"
    return TestDatabase(url=url, superuser_url=url, owner_url=url, path=path)


def copy_sqlite(template: TestDatabase, path: Path) -> TestDatabase:
    assert template.path is not None
    shutil.copy(template.path, path)
    return sqlite_database(path)


def checkpoint_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")


@contextmanager
def superuser(db: TestDatabase) -> Iterator[Connection]:
    """A raw connection with full rights, committed on exit (nothing the app controls)."""
    engine = create_engine(db.superuser_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def without_audit_guards(db: TestDatabase) -> Iterator[Connection]:
    """What only a superuser or the table owner can do: switch off the append-only triggers,
    change the log, and switch them back on exactly as the migration created them."""
    engine_name = db.engine
    with superuser(db) as conn:
        if engine_name == "sqlite":
            saved = {
                name: conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE type='trigger' AND name=:n"),
                    {"n": name},
                ).scalar_one()
                for name in _GUARD_TRIGGERS["sqlite"]
            }
            for name in saved:
                conn.execute(text(f"DROP TRIGGER {name}"))
            yield conn
            for sql in saved.values():
                conn.execute(text(sql))
        else:
            for name in _GUARD_TRIGGERS["postgresql"]:
                conn.execute(text(f"ALTER TABLE audit_entries DISABLE TRIGGER {name}"))
            yield conn
            for name in _GUARD_TRIGGERS["postgresql"]:
                conn.execute(text(f"ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER {name}"))


def guard_triggers_present(db: TestDatabase) -> bool:
    with superuser(db) as conn:
        if db.engine == "sqlite":
            found = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger'")).scalars().all()
        else:
            found = conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_entries'::regclass "
                "AND tgenabled = 'A'")).scalars().all()
    return set(_GUARD_TRIGGERS[db.engine]) <= set(found)


def safe_identifier(value: str) -> str:
    assert re.fullmatch(r"[A-Za-z0-9_]+", value), value
    return value


# --- Helpers for tests that check the guards themselves ----------------------------------------

def guard_trigger_names(engine: str = ENGINE) -> set[str]:
    """The append-only triggers the initial migration installs on ``audit_entries``."""
    return set(_GUARD_TRIGGERS[engine])


def audit_triggers(db: TestDatabase) -> dict[str, str]:
    """Every trigger on ``audit_entries`` and when it fires: ``always`` (SQLite triggers always
    do; on PostgreSQL, ENABLE ALWAYS: even under session_replication_role=replica), ``origin``,
    ``replica`` or ``disabled``."""
    with superuser(db) as conn:
        if db.engine == "sqlite":
            names = conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'audit_entries'")).scalars().all()
            return {name: "always" for name in names}
        rows = conn.execute(text(
            "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'audit_entries'::regclass "
            "AND NOT tgisinternal")).all()
    modes = {"A": "always", "O": "origin", "R": "replica", "D": "disabled"}
    return {name: modes[enabled] for name, enabled in rows}


@contextmanager
def superuser_connection(db: TestDatabase) -> Iterator[Connection]:
    """A raw connection with full rights that the caller commits itself; anything not committed
    is rolled back on exit (so a statement the database refuses leaves nothing behind)."""
    engine = create_engine(db.superuser_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
