"""Backups and restores, each checked (SECURITY.md R-6, R-7).

A backup is a directory holding the data and a ``manifest.json``: engine, schema revision, chain
head, row count of every table and the data file's SHA-256, all taken from the same snapshot as
the data.

* SQLite: the online backup API (``sqlite3.Connection.backup``), never a file copy of a live
  database; the manifest is computed from the copy.
* PostgreSQL: ``pg_dump -Fc`` run inside a snapshot exported from a REPEATABLE READ transaction
  that also computed the manifest, so both describe the same instant.

A restore goes into a fresh location only (a new SQLite file, or an empty PostgreSQL database),
and is then checked: integrity check (SQLite), full chain verification, chain head, schema
revision and per-table row counts against the manifest.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump/pg_restore: argument lists, no shell
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from disclosure_app.audit.chain import verify_chain
from disclosure_app.audit.integrity import chain_head
from disclosure_app.db import runtime_grant_statements

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"


class BackupError(Exception):
    """The backup or restore could not be made, or did not check out."""


@dataclass
class Manifest:
    engine: str
    data_file: str
    created_at: str
    schema_revision: str | None
    chain_head_seq: int
    chain_head_hash: str
    chain_verified: bool
    row_counts: dict[str, int]
    data_sha256: str = ""
    data_bytes: int = 0
    seconds: float = 0.0
    format: int = FORMAT

    def write(self, directory: Path) -> None:
        _write_private(directory / MANIFEST, json.dumps(self.__dict__, indent=2) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(f"no readable {MANIFEST} in {directory}") from exc
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r}")
        return cls(**data)


@dataclass
class RestoreReport:
    target: str
    manifest: Manifest
    problems: list[str] = field(default_factory=list)
    chain_summary: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


# --- Facts about a database -------------------------------------------------------------------


def describe(conn: Connection) -> dict[str, Any]:
    """Schema revision, chain head, per-table row counts and full chain verification."""
    tables = sorted(t for t in inspect(conn).get_table_names() if not t.startswith("sqlite_"))
    counts = {
        # Table names come from the database's own catalogue, never from a request.
        table: int(conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one())  # noqa: S608 # nosec B608
        for table in tables
    }
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    seq, entry_hash = chain_head(conn) if "audit_chain_head" in tables else (0, "")
    with Session(bind=conn) as session:
        verified = verify_chain(session) if "audit_entries" in tables else None
    return {
        "schema_revision": revision,
        "chain_head_seq": seq,
        "chain_head_hash": entry_hash,
        "row_counts": counts,
        "chain": verified,
    }


# --- Backup ------------------------------------------------------------------------------------


def backup(url: str, directory: Path, *, pg_bin: str | None = None) -> Manifest:
    """Back the database at ``url`` up into ``directory`` (created; must be new or empty)."""
    started = time.monotonic()
    _prepare_directory(directory)
    if make_url(url).get_backend_name() == "sqlite":
        manifest = _backup_sqlite(url, directory)
    else:
        manifest = _backup_postgres(url, directory, pg_bin)
    data = directory / manifest.data_file
    manifest.data_sha256 = _sha256(data)
    manifest.data_bytes = data.stat().st_size
    manifest.seconds = round(time.monotonic() - started, 3)
    manifest.write(directory)
    return manifest


def _backup_sqlite(url: str, directory: Path) -> Manifest:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path}")
    target = directory / SQLITE_FILE
    source = sqlite3.connect(source_path, timeout=30)
    try:
        destination = sqlite3.connect(target)
        try:
            # One step: a single read transaction, so the copy is one consistent snapshot; in WAL
            # mode it does not block the app's writers meanwhile.
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            destination.close()
    finally:
        source.close()
    os.chmod(target, 0o600)
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            facts = describe(conn)
    finally:
        engine.dispose()
    return _manifest("sqlite", SQLITE_FILE, facts)


def _backup_postgres(url: str, directory: Path, pg_bin: str | None) -> Manifest:
    target = directory / PG_FILE
    engine = create_engine(url, isolation_level="REPEATABLE READ",
                           execution_options={"postgresql_readonly": True})
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts = describe(conn)  # the same snapshot pg_dump will read
            command = [_pg_tool("pg_dump", pg_bin), "--format=custom", "--no-password",
                       f"--snapshot={snapshot}", f"--file={target}", _libpq_uri(url)]
            _run(command, url)
            conn.rollback()
    finally:
        engine.dispose()
    os.chmod(target, 0o600)
    return _manifest("postgresql", PG_FILE, facts)


def _manifest(engine: str, data_file: str, facts: dict[str, Any]) -> Manifest:
    chain = facts["chain"]
    return Manifest(
        engine=engine,
        data_file=data_file,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        schema_revision=facts["schema_revision"],
        chain_head_seq=facts["chain_head_seq"],
        chain_head_hash=facts["chain_head_hash"],
        chain_verified=bool(chain and chain.ok),
        row_counts=facts["row_counts"],
    )


# --- Restore -----------------------------------------------------------------------------------


def restore(directory: Path, target: str, *, runtime_role: str | None = None,
            pg_bin: str | None = None) -> RestoreReport:
    """Restore the backup in ``directory`` into ``target`` (a new SQLite file path or URL, or
    the URL of an empty PostgreSQL database), then check it against the manifest."""
    started = time.monotonic()
    manifest = Manifest.read(directory)
    data = directory / manifest.data_file
    if not data.exists() or _sha256(data) != manifest.data_sha256:
        raise BackupError(f"{data.name} is missing or does not match the manifest's SHA-256")
    if manifest.engine == "sqlite":
        url = _restore_sqlite(data, target)
    else:
        url = _restore_postgres(data, target, runtime_role, pg_bin)
    report = check_restored(url, manifest)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _restore_sqlite(data: Path, target: str) -> str:
    path = _sqlite_path(target) if "://" in target else Path(target)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            raise BackupError(f"{path}{suffix} already exists: restore into a fresh location")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    try:
        destination = sqlite3.connect(path)
        try:
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=WAL")  # what the app expects
        finally:
            destination.close()
    finally:
        source.close()
    os.chmod(path, 0o600)
    return f"sqlite:///{path}"


def _restore_postgres(data: Path, target: str, runtime_role: str | None,
                      pg_bin: str | None) -> str:
    if make_url(target).get_backend_name() != "postgresql":
        raise BackupError("a PostgreSQL backup restores into a PostgreSQL database URL")
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            existing = inspect(conn).get_table_names(schema="public")
        if existing:
            raise BackupError("the target database is not empty: restore into a fresh one "
                              f"(it has {len(existing)} tables)")
        # Objects are owned by whoever restores (the owner role); privileges are granted anew.
        _run([_pg_tool("pg_restore", pg_bin), "--no-owner", "--no-acl", "--exit-on-error",
              "--single-transaction", "--no-password", f"--dbname={_libpq_uri(target)}",
              str(data)], target)
        if runtime_role:
            with engine.begin() as conn:
                tables = sorted(inspect(conn).get_table_names(schema="public"))
                for statement in runtime_grant_statements(runtime_role, tables):
                    conn.execute(text(statement))
    finally:
        engine.dispose()
    return target


def check_restored(url: str, manifest: Manifest) -> RestoreReport:
    """Everything that must hold for a restore to be trusted; each failure is named."""
    report = RestoreReport(target=_safe_url(url), manifest=manifest)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                result = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
                if result != "ok":
                    report.problems.append(f"SQLite integrity check: {result}")
            facts = describe(conn)
            conn.rollback()
    finally:
        engine.dispose()
    chain = facts["chain"]
    report.chain_summary = chain.summary() if chain else "no decision log"
    if chain is None or not chain.ok:
        report.problems.append(f"audit verify failed: {report.chain_summary}")
    if (facts["chain_head_seq"], facts["chain_head_hash"]) != (
            manifest.chain_head_seq, manifest.chain_head_hash):
        report.problems.append(
            f"chain head is entry {facts['chain_head_seq']}, the backup recorded "
            f"{manifest.chain_head_seq}")
    if facts["schema_revision"] != manifest.schema_revision:
        report.problems.append(f"schema revision {facts['schema_revision']} is not the "
                               f"backup's {manifest.schema_revision}")
    counts = facts["row_counts"]
    for table in sorted(set(counts) | set(manifest.row_counts)):
        have, want = counts.get(table), manifest.row_counts.get(table)
        if have != want:
            report.problems.append(f"table {table}: {have} rows restored, {want} backed up")
    return report


# --- Helpers -----------------------------------------------------------------------------------


def _prepare_directory(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: choose a new directory for each backup")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)


def _write_private(path: Path, body: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _libpq_uri(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it, without the password (passed in PGPASSWORD,
    so it never appears in a process listing)."""
    parsed: URL = make_url(url)
    return parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


def _run(command: list[str], url: str) -> None:
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 # nosec B603
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed: {result.stderr.strip()[:2000]}")


def _pg_tool(name: str, pg_bin: str | None) -> str:
    """``PG_BIN_DIR`` if configured; else the newest Debian-packaged server's tools (pg_dump must
    be at least the server's version); else whatever is on PATH."""
    candidates = [str(Path(pg_bin) / name)] if pg_bin else []
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    candidates += list(reversed(versions))
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} not found: install the PostgreSQL client tools or set PG_BIN_DIR")

