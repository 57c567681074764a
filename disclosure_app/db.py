"""Database engine, sessions and the one transaction per use case.

All engine-specific behaviour lives here. SQLite gets WAL, ``synchronous=FULL`` and foreign keys;
a transaction that writes (``transaction()``, or a raw ``engine.begin()``) starts with ``BEGIN
IMMEDIATE`` so it takes the write lock up front and the audit chain is appended by one writer at
a time, while the request session's reads start with a plain ``BEGIN`` and never take the write
lock (WAL readers and the one writer do not block each other). Writers in one process queue
first come, first served (``WriteQueue``) rather than racing SQLite's polling busy handler, and
nobody waits for a lock longer than ``DATABASE_LOCK_WAIT_SECONDS``: past it the request gets the
503 "Nothing was saved" (errors.py). PostgreSQL serialises chain appends with a row lock on the
chain head (see ``services.audit``), queued by the server in arrival order, under the same limit
as its ``lock_timeout``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use UTC-aware values")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def default_sqlite_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'disclosure.sqlite'}"


# Execution option saying that a connection's transactions write (SQLite: queue, then BEGIN
# IMMEDIATE); without it they only read (plain BEGIN, no write lock). ``transaction()`` sets it
# for the request session; raw writers use ``writer(engine).begin()``. A transaction that reads
# and then writes without it could find its snapshot stale and fail at once, so every write
# goes through one of the two.
WRITES = "disclosure_writes"
DEFAULT_LOCK_WAIT_SECONDS = 5.0


class LockWaitExceeded(OperationalError):
    """A writer waited longer than ``DATABASE_LOCK_WAIT_SECONDS`` for its turn. An
    ``OperationalError`` like SQLite's own "database is locked", so errors.py answers both with
    the 503 "Nothing was saved" page."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            "BEGIN IMMEDIATE", None,
            sqlite3.OperationalError(f"waited {seconds:g} s for the write lock"))


class WriteQueue:
    """Writers of one process take the database in the order they arrived.

    SQLite's busy handler polls with growing sleeps, so under load a writer that has just
    finished can take the lock again before one that has waited for seconds; with eight busy
    writers some waited past any sane limit. Here the lock is handed directly to the longest
    waiter on release. Across processes (gunicorn workers) the busy timeout still applies, capped
    by the same limit.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(max(timeout, 0.0)):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()  # stays held: ownership passes to the next writer
            else:
                self._held = False


def make_engine(url: str, *, lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": lock_wait_seconds})
        _configure_sqlite(engine, lock_wait_seconds)
        return engine
    # Small pools per worker: a few sync workers per host, PgBouncer in front at scale.
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if "lock_timeout" not in url:  # an explicit setting in the URL's options wins
        _configure_postgresql(engine, lock_wait_seconds)
    return engine


def _configure_postgresql(engine: Engine, lock_wait_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET lock_timeout = {int(lock_wait_seconds * 1000)}")
        cursor.close()
        dbapi_conn.commit()


def _configure_sqlite(engine: Engine, lock_wait_seconds: float) -> None:
    queue = WriteQueue()
    engine_wait_ms = int(lock_wait_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={engine_wait_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(WRITES, False):
            conn.exec_driver_sql("BEGIN")
            return
        started = time.monotonic()
        if not queue.acquire(lock_wait_seconds):
            raise LockWaitExceeded(lock_wait_seconds)
        try:
            # Whatever is left of the limit for other processes' writers (SQLite's busy wait).
            left = max(0, engine_wait_ms - int((time.monotonic() - started) * 1000))
            conn.exec_driver_sql(f"PRAGMA busy_timeout={left}")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            queue.release()
            raise
        conn.info["holds_write_queue"] = True

    def _end(conn: Any) -> None:
        if conn.info.pop("holds_write_queue", False):
            queue.release()

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # A connection returned without commit or rollback events (invalidated, say) must not
        # keep the queue: every other writer would wait out the limit.
        if record.info.pop("holds_write_queue", False):
            queue.release()


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or default_sqlite_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    engine = make_engine(url, lock_wait_seconds=float(
        app.config.get("DATABASE_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS)))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def writer(engine: Engine) -> Engine:
    """``engine`` for transactions that write: ``writer(engine).begin()``."""
    return engine.execution_options(**{WRITES: True})


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    """The request's session (one per app context)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any error."""
    if session.in_transaction():
        # A read earlier in the request (loading the signed-in user, say) opened a transaction.
        # End it so that ours starts fresh and, on SQLite, takes the write lock up front.
        # Nothing may have been changed outside a service: that would be committed here.
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a service transaction")
        session.commit()
    try:
        with session.begin():
            # Procure the connection now, marked as writing: on SQLite it takes its turn in the
            # write queue and BEGIN IMMEDIATE before the first read, so nothing it reads can be
            # changed by another writer before it writes.
            session.connection(execution_options={WRITES: True})
            yield session
    except BaseException:
        session.expire_all()
        raise


def release_read_transaction() -> None:
    """End the request session's read transaction, if it has one and changed nothing, before
    writing on another connection (the rate limiter's counters). Reads no longer hold SQLite's
    write lock, but a long-lived read transaction pins an old snapshot and keeps WAL from being
    checkpointed, so it is ended whenever the request moves on to something else."""
    session = g.get("db_session")
    if session is not None and session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a service transaction")
        session.commit()


def is_sqlite(session: Session) -> bool:
    bind = session.get_bind()
    return bind.dialect.name == "sqlite"


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- PostgreSQL least privilege -----------------------------------------------------------------
# Migrations run as the owner role (``MIGRATION_DATABASE_URL``); the app runs as a runtime role
# (``DATABASE_URL``) that owns nothing, cannot run DDL (PostgreSQL 15 no longer lets PUBLIC create
# in the public schema) and may only read and append to the decision log. Re-applied after every
# upgrade, so tables added by later migrations are covered.

APPEND_ONLY_TABLES = (
    "audit_entries", "audit_checkpoints", "audit_verifications", "security_events",
    # Who held each case, the forecast's fits and the imported history: written once.
    "case_allocations", "forecast_fits", "historical_cases",
)
READ_ONLY_TABLES = ("alembic_version",)
# The only tables the runtime role may delete from: a person's names and addresses in the
# offender register (a copy of an external extract, rewritten whenever that person is imported
# again), expired rate-limit counters (purged by the app itself) and a case's link keys (derived
# from its people's details, rewritten when a detail is corrected).
DELETABLE_TABLES = ("register_names", "register_addresses", "rate_limit_counters",
                    "case_link_keys")


def runtime_grant_statements(role: str, tables: list[str]) -> list[str]:
    if not role.replace("_", "").isalnum():
        raise ValueError(f"unsafe role name {role!r}")
    statements = [f'GRANT USAGE ON SCHEMA public TO "{role}"']
    for table in tables:
        statements.append(f'REVOKE ALL ON TABLE "{table}" FROM PUBLIC, "{role}"')
        if table in APPEND_ONLY_TABLES:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            privileges = "SELECT"
        elif table in DELETABLE_TABLES:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        else:
            privileges = "SELECT, INSERT, UPDATE"
        statements.append(f'GRANT {privileges} ON TABLE "{table}" TO "{role}"')
    statements.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    return statements
