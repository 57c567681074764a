"""Database engine, sessions and the one transaction per use case.

All engine-specific behaviour lives here: SQLite gets WAL, ``synchronous=FULL``, foreign keys and
``BEGIN IMMEDIATE`` (so a transaction takes the write lock up front and the audit chain is
appended by one writer at a time); PostgreSQL serialises chain appends with a row lock on the
chain head (see ``services.audit``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
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


def make_engine(url: str, *, busy_timeout: int = 30) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        _configure_sqlite(engine, busy_timeout)
        return engine
    # Small pools per worker: a few sync workers per host, PgBouncer in front at scale.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine, busy_timeout: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout) * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or default_sqlite_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    engine = make_engine(url, busy_timeout=app.config.get("SQLITE_BUSY_TIMEOUT_SECONDS", 30))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


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
            yield session
    except BaseException:
        session.expire_all()
        raise


def release_read_transaction() -> None:
    """End the request session's read transaction, if it has one and changed nothing, before
    writing on another connection (the rate limiter's counters): on SQLite every transaction
    takes the write lock up front, so a second connection would otherwise wait for it."""
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
)
READ_ONLY_TABLES = ("alembic_version",)
# The only tables the runtime role may delete from: a person's names and addresses in the
# offender register (a copy of an external extract, rewritten whenever that person is imported
# again) and expired rate-limit counters (purged by the app itself).
DELETABLE_TABLES = ("register_names", "register_addresses", "rate_limit_counters")


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
