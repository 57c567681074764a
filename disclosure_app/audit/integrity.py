"""Self-checks of the decision log, and read-only "reconciliation" mode after a restore.

Start-up (SECURITY.md R-11): the last ``STARTUP_VERIFY_ENTRIES`` (1,000) entries are re-verified
and a break is logged as CRITICAL; the durability settings are checked (R-5). ``/healthz``
repeats the tail check at most every ``HEALTH_TAIL_TTL_SECONDS``.

Reconciliation (R-7): ``flask backup`` and ``flask audit record-head`` write the newest chain
head to ``CHAIN_HEAD_RECORD``, a file outside the database (on shared storage when there are
several app hosts). While the database does not contain that entry — a restore from an older
backup has lost history — every write is refused with a 503, until an admin explains the gap
with ``flask audit acknowledge-restore``, which is itself a log entry. The decision is made
from those durable facts on every write, never cached in a process, so any number of hosts
agree on it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Engine, event, exists, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from disclosure_app.audit.chain import verify_tail
from disclosure_app.models.audit import GENESIS_HASH, AuditEntry, ChainHead
from disclosure_app.models.user import User

log = logging.getLogger(__name__)

RESTORE_ACKNOWLEDGED = "restore_acknowledged"
BYPASS = "integrity_reconciliation"  # session.info key: the acknowledgement itself may write

_entries = AuditEntry.__table__
_head = ChainHead.__table__


class ReadOnlyMode(Exception):
    """A write was refused because the log is behind the newest recorded chain head."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- The recorded chain head (R-7) ------------------------------------------------------------


@dataclass(frozen=True)
class HeadRecord:
    seq: int
    entry_hash: str
    recorded_at: str = ""
    source: str = ""


class RecordUnreadable(Exception):
    pass


def record_path(app: Flask) -> Path | None:
    value = app.config.get("CHAIN_HEAD_RECORD")
    return Path(value) if value else None


def read_record(path: Path | None) -> HeadRecord | None:
    """The recorded head; None when nothing was ever recorded. A file that exists but cannot be
    read raises: the safe answer is read-only, not "no record"."""
    if path is None:
        return None
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordUnreadable(f"the chain-head record cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(raw)
        return HeadRecord(int(data["seq"]), str(data["entry_hash"]),
                          str(data.get("recorded_at", "")), str(data.get("source", "")))
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordUnreadable("the chain-head record is not valid") from exc


def write_record(path: Path, seq: int, entry_hash: str, source: str) -> HeadRecord:
    """Atomically replace the record (temporary file, fsync, rename): never a torn file."""
    record = HeadRecord(seq, entry_hash, datetime.now(UTC).isoformat(timespec="seconds"), source)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(record.__dict__, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".chain-head-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return record


@dataclass(frozen=True)
class Reconciliation:
    """Whether writes must wait for an admin, and why."""

    needed: bool
    message: str = ""
    record: HeadRecord | None = None
    db_seq: int = 0
    db_hash: str = GENESIS_HASH


def chain_head(conn: Session | Connection) -> tuple[int, str]:
    row = conn.execute(select(_head.c.seq, _head.c.entry_hash).where(_head.c.id == 1)).first()
    return (row.seq, row.entry_hash) if row else (0, GENESIS_HASH)


def reconciliation(conn: Session | Connection, path: Path | None) -> Reconciliation:
    """Is the newest recorded head in this database (or has its loss been acknowledged)?"""
    try:
        record = read_record(path)
    except RecordUnreadable as exc:
        return Reconciliation(True, f"{exc}. Writes are paused until it is repaired.")
    db_seq, db_hash = chain_head(conn)
    if record is None or record.seq == 0:
        return Reconciliation(False, record=record, db_seq=db_seq, db_hash=db_hash)
    contains = conn.execute(select(exists().where(
        _entries.c.seq == record.seq, _entries.c.entry_hash == record.entry_hash))).scalar()
    if contains or _acknowledged(conn, record):
        return Reconciliation(False, record=record, db_seq=db_seq, db_hash=db_hash)
    if db_seq < record.seq:
        why = (f"the decision log ends at entry {db_seq}, but entry {record.seq} was recorded "
               f"on {record.recorded_at or 'an earlier date'} (restored from an older backup?)")
    else:
        why = f"entry {record.seq} in the decision log is not the one recorded (a different log?)"
    return Reconciliation(
        True,
        f"The service is read-only: {why}. An administrator must record why with "
        "`flask audit acknowledge-restore` before anything can be saved.",
        record, db_seq, db_hash)


def _acknowledged(conn: Session | Connection, record: HeadRecord) -> bool:
    payloads = conn.execute(
        select(_entries.c.payload).where(_entries.c.action == RESTORE_ACKNOWLEDGED)).scalars()
    for payload in payloads:
        details = json.loads(payload).get("details", {})
        if (details.get("recorded_seq") == record.seq
                and details.get("recorded_hash") == record.entry_hash):
            return True
    return False


def _only_session_bookkeeping(session: Session) -> bool:
    """Signing out bumps the user's session version: allowed even while read-only."""
    return not session.new and not session.deleted and all(
        isinstance(obj, User) for obj in session.dirty)


def install_write_guard(app: Flask, factory: sessionmaker[Session]) -> None:
    """Refuse every flush that changes data while reconciliation is needed."""

    @event.listens_for(factory, "before_flush")
    def _guard(session: Session, _ctx: Any, _instances: Any) -> None:
        if session.info.get(BYPASS) or _only_session_bookkeeping(session):
            return
        if not (session.new or session.dirty or session.deleted):
            return
        path = record_path(app)
        if path is None:
            return
        state = reconciliation(session.connection(), path)
        if state.needed:
            raise ReadOnlyMode(state.message)


# --- Start-up and health ----------------------------------------------------------------------


@dataclass
class TailStatus:
    ok: bool | None  # None: could not be checked
    detail: str
    checked_at: float
    head: tuple[int, str] | None = None


def check_tail(app: Flask, conn: Session | Connection, *, max_age: float = 0.0) -> TailStatus:
    """The tail verification, reusing the last result while the head is unchanged and the result
    is younger than ``max_age`` seconds (a per-process cache of a durable fact, never a decision
    about what may be written)."""
    head = chain_head(conn)
    cached: TailStatus | None = app.extensions.get("integrity_tail")
    if cached and cached.head == head and time.monotonic() - cached.checked_at < max_age:
        return cached
    result = verify_tail(conn, int(app.config.get("STARTUP_VERIFY_ENTRIES", 1000)))
    status = TailStatus(result.ok, result.summary(), time.monotonic(), head)
    app.extensions["integrity_tail"] = status
    return status


def durability_problems(conn: Connection) -> list[str]:
    """Settings that would let an acknowledged write be lost (SECURITY.md R-5)."""
    problems = []
    if conn.dialect.name == "sqlite":
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        if str(journal).lower() != "wal":
            problems.append(f"SQLite journal_mode is {journal}, not wal")
        if int(synchronous) < 2:
            problems.append(f"SQLite synchronous is {synchronous}, not 2 (FULL)")
    elif conn.dialect.name == "postgresql":
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            value = conn.execute(text(f"SHOW {setting}")).scalar()
            if value != "on":
                problems.append(f"PostgreSQL {setting} is {value}, not on")
    return problems


def _database_exists(engine: Engine) -> bool:
    """Never create an empty SQLite file just to look at it."""
    if engine.dialect.name != "sqlite":
        return True
    database = engine.url.database
    return bool(database) and database != ":memory:" and Path(database).exists()


def startup_check(app: Flask) -> None:
    """Re-verify the newest entries, check durability and reconciliation; log what is wrong.
    Never stops the app from starting (a break must stay visible, not become an outage)."""
    engine: Engine = app.extensions["db_engine"]
    if not app.config.get("STARTUP_INTEGRITY_CHECK", True) or not _database_exists(engine):
        return
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, _head.name):
                return  # not migrated yet (`flask db upgrade` is about to run)
            tail = check_tail(app, conn)
            problems = durability_problems(conn)
            state = reconciliation(conn, record_path(app))
    except SQLAlchemyError as exc:
        log.warning("start-up integrity check skipped: %s", type(exc).__name__)
        return
    finally:
        engine.dispose()  # keep no connection from start-up: the first request opens its own
    if tail.ok:
        log.info("start-up check: %s", tail.detail)
    else:
        log.critical("AUDIT CHAIN INTEGRITY ALARM at start-up: %s", tail.detail)
    for problem in problems:
        log.warning("durability at risk: %s", problem)
    if state.needed:
        log.critical("starting in read-only reconciliation mode: %s", state.message)


def init_app(app: Flask) -> None:
    if "CHAIN_HEAD_RECORD" not in app.config or app.config["CHAIN_HEAD_RECORD"] is None:
        # Tests get no record unless they ask for one; otherwise the instance folder.
        app.config["CHAIN_HEAD_RECORD"] = (
            "" if app.testing else str(Path(app.instance_path) / "chain_head.json"))
    install_write_guard(app, app.extensions["db_sessionmaker"])

    @app.context_processor
    def _reconciliation_notice() -> dict[str, Any]:
        """``read_only_notice()`` for a banner in base.html (queried only if a template asks)."""

        def read_only_notice() -> str:
            from disclosure_app.db import get_session

            try:
                state = reconciliation(get_session().connection(), record_path(app))
            except SQLAlchemyError:
                return ""
            return state.message if state.needed else ""

        return {"read_only_notice": read_only_notice}

    startup_check(app)
