"""Appending to and verifying the decision log.

``append`` must run inside the caller's transaction: the entry commits or rolls back with the
change it records. Appends lock the single chain-head row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so the chain never forks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from disclosure_app.audit import verify as offline
from disclosure_app.audit.canonical import canonical_json, chain_hash
from disclosure_app.models.audit import GENESIS_HASH, AuditCheckpoint, AuditEntry, ChainHead
from workflows.roles import Actor

FORMAT_VERSION = 1


class Category(StrEnum):
    """The six kinds of processing DPA 2018 s.62 requires a log of."""

    collection = "collection"
    alteration = "alteration"
    consultation = "consultation"
    disclosure = "disclosure"
    combination = "combination"
    erasure = "erasure"


@dataclass(frozen=True)
class SystemActor:
    """For entries made by the application itself (start-up checks, CLI commands)."""

    id: None = None
    role: str = "system"
    name: str = "System"


def append(
    session: Session,
    *,
    now: datetime,
    actor: Actor | SystemActor,
    action: str,
    category: Category,
    case_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    # Read the head afresh: the session may still hold it from an earlier transaction, and
    # another writer may have moved it on since.
    head = session.execute(
        select(ChainHead).where(ChainHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar()
    if head is None:
        head = ChainHead(id=1, seq=0, entry_hash=GENESIS_HASH)
        session.add(head)
    seq = head.seq + 1
    payload = canonical_json(
        {
            "v": FORMAT_VERSION,
            "seq": seq,
            "at": now,
            "actor": {"id": actor.id, "role": str(actor.role), "name": actor.name},
            "action": action,
            "category": str(category),
            "case_id": case_id,
            "from": from_status,
            "to": to_status,
            "details": details or {},
        }
    )
    entry = AuditEntry(
        seq=seq,
        created_at=now,
        actor_id=actor.id,
        actor_role=str(actor.role),
        actor_name=actor.name,
        action=action,
        category=str(category),
        case_id=case_id,
        from_status=from_status,
        to_status=to_status,
        payload=payload,
        prev_hash=head.entry_hash,
        entry_hash=chain_hash(head.entry_hash, payload),
        format_version=FORMAT_VERSION,
    )
    session.add(entry)
    head.seq = seq
    head.entry_hash = entry.entry_hash
    session.flush()
    return entry


# --- Verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoints_checked: int = 0

    def summary(self) -> str:
        if self.ok:
            against = (f" and matched against {self.checkpoints_checked} signed checkpoint(s)"
                       if self.checkpoints_checked else "")
            return f"Audit chain intact: {self.entries_checked} entries verified{against}."
        if self.first_bad_seq is None:
            return f"Audit chain NOT VERIFIED: {self.problem}"
        return f"Audit chain BROKEN at entry {self.first_bad_seq}: {self.problem}"


_COLUMN_CHECKS = (
    ("actor_id", lambda p: p["actor"]["id"]),
    ("actor_role", lambda p: p["actor"]["role"]),
    ("actor_name", lambda p: p["actor"]["name"]),
    ("action", lambda p: p["action"]),
    ("category", lambda p: p["category"]),
    ("case_id", lambda p: p["case_id"]),
    ("from_status", lambda p: p["from"]),
    ("to_status", lambda p: p["to"]),
)


def _entry_problem(entry: Any, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"expected entry {expected_seq} next but found {entry.seq} (missing or reordered)"
    if entry.prev_hash != prev_hash:
        return "its previous-hash does not match the entry before it"
    if chain_hash(entry.prev_hash, entry.payload) != entry.entry_hash:
        return "its contents do not match its hash"
    try:
        payload = json.loads(entry.payload)
    except ValueError:
        return "its payload is not valid JSON"
    if payload.get("seq") != entry.seq:
        return "its payload names a different sequence number"
    if payload.get("at") != entry.created_at.isoformat(timespec="microseconds"):
        return "its time column does not match its payload"
    for column, read in _COLUMN_CHECKS:
        if getattr(entry, column) != read(payload):
            return f"its {column} column does not match its payload"
    return None


def iter_entries(session: Session, batch: int = 5000) -> Iterator[Any]:
    """Stream entries as plain rows in sequence order, a batch at a time (constant memory)."""
    table = AuditEntry.__table__
    last = 0
    while True:
        rows = session.execute(
            select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def first_bad_seq(entry_seq: int, expected: int) -> int:
    """Where the log is first wrong when ``entry_seq`` stands where ``expected`` should: an
    entry deleted (a later number here) is first wrong at the missing number, one inserted or
    moved (an earlier or repeated number) at that number. The offline verifier agrees."""
    return min(entry_seq, expected)


def _first_problem(
    entries: Iterable[Any], expected: int, prev_hash: str, head_seq: int | None = None,
    on_sound: Callable[[Any], VerifyResult | None] | None = None,
) -> tuple[VerifyResult | None, int, str]:
    """Walk ``entries`` from sequence number ``expected`` (whose predecessor hashed to
    ``prev_hash``). Returns (a failure or None, the next expected number, the last good hash).
    ``on_sound`` sees each sound entry and may stop the walk with a failure."""
    start = expected
    for entry in entries:
        if head_seq is not None and entry.seq > head_seq:
            return (VerifyResult(False, expected - start, entry.seq,
                                 f"entry {entry.seq} lies beyond the chain head ({head_seq})"),
                    expected, prev_hash)
        problem = _entry_problem(entry, expected, prev_hash)
        if problem:
            return (VerifyResult(False, expected - start, first_bad_seq(entry.seq, expected),
                                 problem), expected, prev_hash)
        if on_sound is not None and (failure := on_sound(entry)) is not None:
            return failure, expected, prev_hash
        prev_hash = entry.entry_hash
        expected += 1
    return None, expected, prev_hash


# --- The stored checkpoints, and the copies kept outside the database ---------------------------


@dataclass(frozen=True)
class Anchor:
    """A signed checkpoint the chain must agree with: its size, the root it claims, and where
    it was found (for messages)."""

    size: int
    root: bytes
    source: str


def checkpoint_anchors(session: Session, *, public_key: str | None = None,
                       copy_dirs: Iterable[str | Path] = ()
                       ) -> tuple[list[Anchor], VerifyResult | None]:
    """Every stored checkpoint and every copy in ``copy_dirs``. With ``public_key`` each note's
    signature must verify; without one only the roots the notes claim can be compared. A note
    that does not verify, or stored columns that differ from their note, are a failure."""
    key = None
    if public_key:
        try:
            key = offline.VerifierKey.parse(public_key)
        except offline.InputUnreadable as exc:
            return [], VerifyResult(False, 0, None, f"the configured public key: {exc}")
    notes: list[tuple[str, str, tuple[int, str] | None]] = [
        (row.note, f"stored checkpoint of size {row.tree_size}", (row.tree_size, row.root_hash))
        for row in session.execute(select(AuditCheckpoint.tree_size, AuditCheckpoint.root_hash,
                                          AuditCheckpoint.note)
                                   .order_by(AuditCheckpoint.tree_size))]
    for directory in copy_dirs:
        for path in sorted(Path(directory).glob("checkpoint-*.txt")):
            try:
                notes.append((path.read_text(encoding="utf-8"), f"copy {path}", None))
            except (OSError, UnicodeDecodeError) as exc:
                return [], VerifyResult(False, 0, None, f"the checkpoint copy {path} cannot be "
                                                         f"read: {exc}")
    anchors = []
    for note, source, columns in notes:
        try:
            cp = (offline.open_checkpoint(note, key, source) if key
                  else offline.read_checkpoint(note, source))
        except offline.NoteInvalid as exc:
            return [], VerifyResult(False, 0, None, f"the {source}: {exc}")
        if columns is not None and columns != (cp.size, cp.root.hex()):
            return [], VerifyResult(False, 0, None, f"the {source}: its columns differ from "
                                                     "its signed note")
        anchors.append(Anchor(cp.size, cp.root, source))
    return anchors, None


class _RootCheck:
    """Feeds sound entry hashes into an RFC 6962 tree a chunk at a time, comparing the root at
    each anchor's size once its chunk is complete: a chunk's chain is checked before its roots,
    so the first fault named is the one the offline verifier names."""

    def __init__(self, anchors: list[Anchor]) -> None:
        self.by_size: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            if anchor.size > 0:
                self.by_size.setdefault(anchor.size, []).append(anchor)
        self.top = max(self.by_size, default=0)
        self.builder = offline.MerkleBuilder()
        self.chunk: list[bytes] = []
        self.last_good = 0

    def add(self, entry: Any) -> VerifyResult | None:
        if self.builder.size + len(self.chunk) >= self.top:
            return None  # no signed root left to compare: the tree is not needed
        self.chunk.append(bytes.fromhex(entry.entry_hash))
        return self.flush() if len(self.chunk) == offline.CHUNK else None

    def flush(self) -> VerifyResult | None:
        if not self.chunk:
            return None
        start = self.builder.size
        sizes = [s for s in self.by_size if start < s <= start + len(self.chunk)]
        roots = self.builder.add_chunk(self.chunk, sizes)
        self.chunk = []
        for size in sorted(roots):
            for anchor in self.by_size[size]:
                if roots[size] != anchor.root:
                    first = self.last_good + 1
                    return VerifyResult(
                        False, self.last_good, first,
                        f"entries {first}-{size} do not match the {anchor.source} (signed root "
                        f"{base64.b64encode(anchor.root).decode('ascii')}): an entry in that "
                        "range was changed, added or removed and the chain re-hashed")
            self.last_good = size
        return None


def verify_chain(session: Session, *, public_key: str | None = None,
                 copy_dirs: Iterable[str | Path] = ()) -> VerifyResult:
    """Recompute the whole chain from the first entry and check it against every signed
    checkpoint (stored, and the copies in ``copy_dirs``): the RFC 6962 root at each
    checkpoint's size must be the signed one, and the log must reach every checkpoint's size.
    Reports the first bad entry."""
    anchors, failure = checkpoint_anchors(session, public_key=public_key, copy_dirs=copy_dirs)
    if failure is not None:
        return failure
    roots = _RootCheck(anchors)
    failure, expected, prev_hash = _first_problem(iter_entries(session), 1, GENESIS_HASH,
                                                  on_sound=roots.add)
    if failure is None:
        failure = roots.flush()
    if failure is not None:
        return failure
    count = expected - 1
    signed = max((a for a in anchors), key=lambda a: a.size, default=None)
    if signed is not None and signed.size > count:
        return VerifyResult(
            False, count, count + 1,
            f"the log ends at entry {count} but the {signed.source} covers {signed.size} "
            f"entries: entries {count + 1}-{signed.size} were removed (tail truncation)")
    head = session.get(ChainHead, 1)
    if head is not None and (head.seq != count or head.entry_hash != prev_hash):
        return VerifyResult(
            False, count, count + 1 if head.seq > count else head.seq,
            f"the chain head records {head.seq} entries but {count} were found (truncated?)",
        )
    return VerifyResult(True, count, checkpoints_checked=len(anchors))


def verify_tail(session: Session | Connection, count: int = 1000) -> VerifyResult:
    """Verify the newest ``count`` entries: each one's hash and columns, the link to the entry
    before them, and that the chain head names the last one. Bounded: reads ``count + 1`` rows."""
    entries, heads = AuditEntry.__table__, ChainHead.__table__
    head = session.execute(select(heads.c.seq, heads.c.entry_hash).where(heads.c.id == 1)).first()
    head_seq, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    start = max(1, head_seq - count + 1)
    prev_hash: str | None = GENESIS_HASH
    if start > 1:
        prev_hash = session.execute(
            select(entries.c.entry_hash).where(entries.c.seq == start - 1)).scalar()
        if prev_hash is None:
            return VerifyResult(False, 0, start - 1,
                                "the entry before the verified tail is missing")
    rows = session.execute(
        select(entries).where(entries.c.seq >= start).order_by(entries.c.seq).limit(count + 1)
    ).all()
    failure, expected, last_hash = _first_problem(rows, start, prev_hash, head_seq)
    if failure is not None:
        return failure
    checked = expected - start
    if expected - 1 != head_seq or last_hash != head_hash:
        return VerifyResult(False, checked, expected,
                            f"the chain head records {head_seq} entries but the log ends at "
                            f"{expected - 1} (truncated?)")
    return VerifyResult(True, checked)


def chain_length(session: Session) -> int:
    head = session.get(ChainHead, 1)
    return 0 if head is None else head.seq
