"""The key store: one data key per case, wrapped under a key-encryption key (KEK), kept apart
from the main database.

Why apart: crypto-shredding works only if destroying a case's data key destroys every copy of
it. The main database is backed up for years; the key store has its own, short backup rotation
(docs/operations.md), so a key destroyed today is gone from every key-store backup within that
rotation, and a main-database backup from any date, restored, cannot be read for that case.

- Default location: a SQLite file of its own beside the main SQLite database
  (``instance/disclosure.keys.sqlite``), or ``instance/keystore.sqlite`` when the main database
  is PostgreSQL. ``KEYSTORE_URL`` points it elsewhere (a separate PostgreSQL database with its
  own role, for several app hosts). Production refuses a key store inside the main database.
- SQLite files are opened with ``secure_delete`` and checkpointed after a destruction, so the
  destroyed key's bytes are overwritten, not left in a free page or the write-ahead log.
- The KEK ring is a directory (``KEK_DIR``, default ``instance/kek``) of ``<id>.kek`` files and a
  ``current`` file naming the one new keys are wrapped under. Rotation (``flask keys
  rotate-kek``) adds a KEK and rewraps every data key under it in small transactions while the
  app keeps running: each row names its KEK, and a host that meets a KEK id it has not loaded
  reads the directory again. ``flask keys retire-kek`` then removes the old KEK once no row
  needs it.
- Unwrapped keys are cached per process for ``KEY_CACHE_SECONDS`` (300): a key destroyed on one
  host stops opening values on every host within that time (and at once where it is destroyed).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, event

from disclosure_app.privacy import envelope

DEFAULT_CACHE_SECONDS = 300.0
CACHE_LIMIT = 50_000
BLIND_INDEX_ENTRY = "blind_index"

metadata = sa.MetaData()
data_keys = sa.Table(
    "data_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("kek_id", sa.String(32), nullable=True),
    # NULL once destroyed: the row stays, so "destroyed on …" is a fact, not a missing key.
    sa.Column("wrapped", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("destroyed_at", sa.DateTime, nullable=True),
    sa.Column("destroyed_reason", sa.String(200), nullable=True),
    sa.Index("ix_data_keys_kek", "kek_id"),
)
secrets_table = sa.Table(
    "secrets", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("kek_id", sa.String(32), nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
)


class KeyStoreError(Exception):
    """A key the data needs is not in the key store, or its KEK is not in the KEK ring: see
    docs/operations.md, "Key loss"."""


class KeyDestroyed(Exception):
    """The case's data key was destroyed (its personal data was disposed of)."""

    def __init__(self, key_id: str, destroyed_at: datetime | None) -> None:
        super().__init__(f"data key {key_id} was destroyed")
        self.key_id = key_id
        self.destroyed_at = destroyed_at


# --- The KEK ring -------------------------------------------------------------------------------


class KekRing:
    """Key-encryption keys as files: ``<id>.kek`` (hex) and ``current`` (an id)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _read(self) -> None:
        keys = {}
        if self.directory.is_dir():
            for path in self.directory.glob("*.kek"):
                keys[path.stem] = bytes.fromhex(path.read_text(encoding="ascii").strip())
        self._keys = keys

    def get(self, kek_id: str) -> bytes:
        if kek_id not in self._keys:
            with self._lock:
                self._read()  # another host may have added it (rotation)
        try:
            return self._keys[kek_id]
        except KeyError:
            raise KeyStoreError(f"key-encryption key {kek_id} is not in {self.directory}") from None

    def current_id(self, *, create: bool) -> str:
        marker = self.directory / "current"
        if marker.exists():
            return marker.read_text(encoding="ascii").strip()
        if not create:
            raise KeyStoreError(f"no current key-encryption key in {self.directory}")
        return self.add()  # only ever for an empty key store: KeyStore._current_kek_id

    def add(self) -> str:
        """A new KEK, made current. Written 0600 next to its siblings."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        kek_id = envelope.new_key_id()
        path = self.directory / f"{kek_id}.kek"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(envelope.new_key().hex() + "\n")
        tmp = self.directory / "current.tmp"
        tmp.write_text(kek_id + "\n", encoding="ascii")
        os.replace(tmp, self.directory / "current")
        with self._lock:
            self._read()
        return kek_id

    def ids(self) -> list[str]:
        self._read()
        return sorted(self._keys)

    def remove(self, kek_id: str) -> None:
        (self.directory / f"{kek_id}.kek").unlink()
        with self._lock:
            self._read()


# --- The store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyState:
    key_id: str
    kek_id: str | None
    created_at: datetime
    destroyed_at: datetime | None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class KeyStore:
    def __init__(self, url: str, kek_dir: Path, *,
                 cache_seconds: float = DEFAULT_CACHE_SECONDS) -> None:
        self.url = url
        self.kek_ring = KekRing(kek_dir)
        self.cache_seconds = cache_seconds
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._ciphers: dict[str, tuple[AESGCM, float]] = {}
        self._blind_key: bytes | None = None

    # The engine is made on first use: most requests of a test run never need a key.
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        if self.url.startswith("sqlite"):
            path = sa.engine.make_url(self.url).database
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(self.url, pool_pre_ping=True)
        metadata.create_all(engine, checkfirst=True)
        return engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # -- data keys --

    def _current_kek_id(self) -> str:
        """The KEK new keys are wrapped under. A first one is made only for an empty key store:
        a store that holds keys but whose KEK directory has none is a lost or unmounted KEK
        directory, and new keys under a new KEK would hide that until the old ones are needed."""
        try:
            return self.kek_ring.current_id(create=False)
        except KeyStoreError:
            with self.engine.connect() as conn:
                held = conn.execute(sa.select(sa.func.count()).select_from(data_keys)).scalar()
                held += conn.execute(sa.select(sa.func.count()).select_from(secrets_table)
                                     ).scalar()
            if held:
                raise KeyStoreError(
                    f"the key store holds {held} keys but {self.kek_ring.directory} has no "
                    "current key-encryption key: restore it (docs/operations.md, Key loss)"
                ) from None
            return self.kek_ring.add()

    def create_data_key(self) -> str:
        kek_id = self._current_kek_id()
        key_id, key = envelope.new_key_id(), envelope.new_key()
        wrapped = envelope.wrap(self.kek_ring.get(kek_id), kek_id, key_id, key)
        with self.engine.begin() as conn:
            conn.execute(data_keys.insert().values(key_id=key_id, kek_id=kek_id, wrapped=wrapped,
                                                   created_at=_now()))
        self._ciphers[key_id] = (AESGCM(key), time.monotonic())
        return key_id

    def create_data_keys(self, count: int) -> list[str]:
        """``count`` new data keys in one key-store transaction (bulk loads and migrations)."""
        kek_id = self._current_kek_id()
        kek = self.kek_ring.get(kek_id)
        rows, now = [], _now()
        for _ in range(count):
            key_id, key = envelope.new_key_id(), envelope.new_key()
            rows.append({"key_id": key_id, "kek_id": kek_id, "created_at": now,
                         "wrapped": envelope.wrap(kek, kek_id, key_id, key)})
            self._ciphers[key_id] = (AESGCM(key), time.monotonic())
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 1000):
                conn.execute(data_keys.insert(), rows[start:start + 1000])
        return [r["key_id"] for r in rows]

    def cipher(self, key_id: str) -> AESGCM:
        """The AES-GCM object for a data key; KeyDestroyed once it has been destroyed."""
        cached = self._ciphers.get(key_id)
        if cached is not None and time.monotonic() - cached[1] < self.cache_seconds:
            return cached[0]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(data_keys.c.kek_id, data_keys.c.wrapped,
                                         data_keys.c.destroyed_at)
                               .where(data_keys.c.key_id == key_id)).first()
        if row is None:
            raise KeyStoreError(f"data key {key_id} is not in the key store")
        if row.wrapped is None:
            self._ciphers.pop(key_id, None)
            raise KeyDestroyed(key_id, row.destroyed_at)
        key = envelope.unwrap(self.kek_ring.get(row.kek_id), row.kek_id, key_id, row.wrapped)
        if len(self._ciphers) >= CACHE_LIMIT:
            self._ciphers.clear()
        cipher = AESGCM(key)
        self._ciphers[key_id] = (cipher, time.monotonic())
        return cipher

    def destroy(self, key_ids: list[str], reason: str) -> int:
        """Crypto-shredding: the wrapped keys are overwritten with NULL; the rows remain as a
        record. Returns how many keys were destroyed now."""
        if not key_ids:
            return 0
        destroyed = 0
        with self.engine.begin() as conn:
            for start in range(0, len(key_ids), 500):
                chunk = key_ids[start:start + 500]
                destroyed += conn.execute(
                    data_keys.update().where(data_keys.c.key_id.in_(chunk),
                                             data_keys.c.wrapped.is_not(None))
                    .values(wrapped=None, kek_id=None, destroyed_at=_now(),
                            destroyed_reason=reason[:200])).rowcount or 0
        for key_id in key_ids:
            self._ciphers.pop(key_id, None)
        self._scrub()
        return destroyed

    def _scrub(self) -> None:
        """Push destroyed bytes out of the write-ahead log (SQLite); PostgreSQL's dead tuples
        are removed by VACUUM, which ``flask records dispose`` runs on the key store."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM data_keys")

    def state(self, key_id: str) -> KeyState | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(data_keys).where(data_keys.c.key_id == key_id)).first()
        if row is None:
            return None
        return KeyState(row.key_id, row.kek_id, row.created_at, row.destroyed_at)

    def forget_cached(self) -> None:
        self._ciphers.clear()
        self._blind_key = None

    # -- the blind-index secret (wrapped like a data key, rotated with the KEK) --

    def blind_index_key(self) -> bytes:
        if self._blind_key is not None:
            return self._blind_key
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(secrets_table)
                               .where(secrets_table.c.name == BLIND_INDEX_ENTRY)).first()
            if row is None:
                kek_id = self._current_kek_id()
                secret = envelope.new_key()
                conn.execute(secrets_table.insert().values(
                    name=BLIND_INDEX_ENTRY, kek_id=kek_id,
                    wrapped=envelope.wrap(self.kek_ring.get(kek_id), kek_id,
                                          BLIND_INDEX_ENTRY, secret)))
                self._blind_key = secret
                return secret
        self._blind_key = envelope.unwrap(self.kek_ring.get(row.kek_id), row.kek_id,
                                          BLIND_INDEX_ENTRY, row.wrapped)
        return self._blind_key

    # -- KEK rotation --

    def rotate_kek(self, *, batch: int = 1000) -> tuple[str, int]:
        """Add a KEK and rewrap everything under it, ``batch`` rows per transaction, while the
        app runs (each row names its KEK, so old and new both open until the end)."""
        self.blind_index_key()  # make sure the secret exists before it is rewrapped
        new_id = self.kek_ring.add()
        new_kek = self.kek_ring.get(new_id)
        moved = 0
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    sa.select(data_keys.c.key_id, data_keys.c.kek_id, data_keys.c.wrapped)
                    .where(data_keys.c.wrapped.is_not(None), data_keys.c.kek_id != new_id)
                    .limit(batch)).all()
                for row in rows:
                    key = envelope.unwrap(self.kek_ring.get(row.kek_id), row.kek_id, row.key_id,
                                          row.wrapped)
                    conn.execute(data_keys.update()
                                 .where(data_keys.c.key_id == row.key_id,
                                        data_keys.c.kek_id == row.kek_id)
                                 .values(kek_id=new_id,
                                         wrapped=envelope.wrap(new_kek, new_id, row.key_id, key)))
            moved += len(rows)
            if len(rows) < batch:
                break
        with self.engine.begin() as conn:
            for row in conn.execute(sa.select(secrets_table)
                                    .where(secrets_table.c.kek_id != new_id)).all():
                secret = envelope.unwrap(self.kek_ring.get(row.kek_id), row.kek_id, row.name,
                                         row.wrapped)
                conn.execute(secrets_table.update().where(secrets_table.c.name == row.name)
                             .values(kek_id=new_id,
                                     wrapped=envelope.wrap(new_kek, new_id, row.name, secret)))
        return new_id, moved

    def kek_usage(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            counts = dict(conn.execute(
                sa.select(data_keys.c.kek_id, sa.func.count())
                .where(data_keys.c.kek_id.is_not(None)).group_by(data_keys.c.kek_id)).all())
            for (kek_id,) in conn.execute(sa.select(secrets_table.c.kek_id)).all():
                counts[kek_id] = counts.get(kek_id, 0) + 1
        return {kek_id: counts.get(kek_id, 0) for kek_id in self.kek_ring.ids()} | counts

    def retire_kek(self, kek_id: str) -> None:
        if kek_id == self.kek_ring.current_id(create=False):
            raise KeyStoreError("the current key-encryption key cannot be retired: rotate first")
        in_use = self.kek_usage().get(kek_id, 0)
        if in_use:
            raise KeyStoreError(f"{in_use} keys are still wrapped under {kek_id}: rotate first")
        self.kek_ring.remove(kek_id)

    def live_key_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(data_keys)
                                .where(data_keys.c.wrapped.is_not(None))).scalar_one()
