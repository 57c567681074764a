#!/usr/bin/env python3
"""Offline verifier for a disclosure_app audit bundle.

Runs with nothing but Python (3.11 or newer) and the ``cryptography`` package: it never imports
the application, never touches its database, and can be copied onto a machine of the auditor's
own choosing. A bundle is what ``flask --app disclosure_app audit export DIR`` writes:

    entries.jsonl      one line per log entry, oldest first:
                       {"prev_hash":"<hex>","entry_hash":"<hex>","payload":<canonical JSON>}
    checkpoints/       signed checkpoints (C2SP signed-note format), one file each
    public-key.txt     the log's Ed25519 verifier key (<name>+<key id>+<base64 key>)
    manifest.json      what the export contained (not signed: informative only)
    verify.py          this program

What it checks, reporting the FIRST sequence number at which the log is not what it should be:

* every entry's hash is SHA-256(previous hash || payload), its previous hash is the entry before
  it, the first previous hash is 32 zero bytes, and the payload names the entry's own number
  (a changed byte, a changed previous hash, a deleted, inserted or reordered entry);
* every checkpoint is signed by the public key (give the key you hold with --key: the copy in
  the bundle only proves the bundle agrees with itself);
* at every checkpoint's size, the RFC 6962 Merkle root over the entry hashes equals the signed
  root (a history rewritten and re-hashed after it was checkpointed), and the log is not shorter
  than any checkpoint (tail truncation);
* no two checkpoints of the same size have different roots (a fork), including checkpoints you
  kept from earlier exports (--checkpoint FILE, repeatable);
* the bundle holds as many entries and checkpoint files as its manifest lists (a checkpoint
  file deleted from the bundle would hide the truncation or rewrite it proves).

With no checkpoint at all (none in the bundle, none given), the result is printed with a loud
WARNING on standard error: an unanchored hash chain proves only that the file agrees with itself.

Inclusion proofs: ``--prove SEQ`` prints a proof that one entry is in the newest checkpoint (or
``--size``), and ``--check-proof FILE --key KEY`` checks such a proof without the rest of the log.

Speed: a large log is cut into ranges verified side by side, one process per available CPU (up
to four; ``--jobs 1`` keeps everything in one process). The answer, including the first bad
sequence number, does not depend on the number of processes.

Exit status: 0 intact, 1 tampering or inconsistency found, 2 the input could not be read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain, islice, pairwise, repeat
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_HASH = "0" * 64
EMPTY_ROOT = hashlib.sha256(b"").digest()
ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space (C2SP signed-note)
PROOF_FORMAT = "disclosure-audit-inclusion-proof/1"

ENTRIES_FILE = "entries.jsonl"
CHECKPOINTS_DIR = "checkpoints"
PUBLIC_KEY_FILE = "public-key.txt"
MANIFEST_FILE = "manifest.json"

# The fixed layout of an entries.jsonl line (any other layout is reported as malformed):
# {"prev_hash":"<64 hex>","entry_hash":"<64 hex>","payload":<payload>}\n
_P1, _P2, _P3 = b'{"prev_hash":"', b'","entry_hash":"', b'","payload":'
_PREV = slice(14, 78)
_MID = slice(78, 94)
_ENTRY = slice(94, 158)
_PAYLOAD_AT = slice(158, 170)
_PAYLOAD = slice(170, -2)
_SEQ_KEY = b',"seq":'

CHUNK_BITS = 12
CHUNK = 1 << CHUNK_BITS  # leaves per chunk; chunks start at multiples of CHUNK (aligned subtrees)

# Hashing small inputs is dominated by hashlib's per-object cost, not by SHA-256 itself, so the
# hot loops call these unbound C methods through map() (no Python frame per hash), and the
# Merkle hashes start from a copy of a context that has already taken its one-byte prefix
# (cheaper than a new context plus a concatenated input).
_sha256 = hashlib.sha256
_HASH = type(_sha256())
_digest, _update, _copy = _HASH.digest, _HASH.update, _HASH.copy
_LEAF_PREFIXED = _sha256(b"\x00")  # RFC 6962: leaf hash = SHA-256(0x00 || entry hash)
_NODE_PREFIXED = _sha256(b"\x01")  # node hash = SHA-256(0x01 || left || right)


class InputUnreadable(Exception):
    """The bundle, key or proof cannot be read at all (exit status 2)."""


# --- Line format -----------------------------------------------------------------------------


def entry_line(prev_hash: str, entry_hash: str, payload: str) -> bytes:
    """One entries.jsonl line. The payload is embedded as it was hashed (canonical JSON)."""
    return b"".join((_P1, prev_hash.encode("ascii"), _P2, entry_hash.encode("ascii"), _P3,
                     payload.encode("utf-8"), b"}\n"))


# --- RFC 6962 Merkle tree --------------------------------------------------------------------


def leaf_hash(entry_hash: bytes) -> bytes:
    return _sha256(b"\x00" + entry_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _leaves(entry_hashes: list[bytes]) -> list[bytes]:
    contexts = list(map(_copy, repeat(_LEAF_PREFIXED, len(entry_hashes))))
    deque(map(_update, contexts, entry_hashes), 0)  # deque(..., 0) runs the map, keeps nothing
    return list(map(_digest, contexts))


def _pairs(level: list[bytes]) -> list[bytes]:
    """The next level up, complete pairs only (a lone last node is left out)."""
    # One context per complete pair; map() stops at its shortest input, so a lone last left
    # node is not hashed.
    contexts = list(map(_copy, repeat(_NODE_PREFIXED, len(level) >> 1)))
    deque(map(_update, contexts, level[0::2]), 0)
    deque(map(_update, contexts, level[1::2]), 0)
    return list(map(_digest, contexts))


def _fold(nodes: list[bytes]) -> bytes:
    """Root of a left-balanced tree given its perfect subtrees, largest (leftmost) first."""
    if not nodes:
        return EMPTY_ROOT
    root = nodes[-1]
    for node in reversed(nodes[:-1]):
        root = node_hash(node, root)
    return root


@dataclass(frozen=True)
class _ChunkTree:
    """What the tree over one aligned chunk of leaves contributes to the whole tree: its root if
    the chunk is full, and for each size asked for inside the chunk, the perfect subtrees of the
    chunk left of that size, largest first. Computed without knowing anything before the chunk,
    so chunks can be hashed in any order or process and folded in order afterwards."""

    leaves: int
    root: bytes | None
    inner: dict[int, list[bytes]]


def _chunk_tree(entry_hashes: list[bytes], start: int, sizes: Iterable[int]) -> _ChunkTree:
    levels = [_leaves(entry_hashes)]
    while len(levels[-1]) > 1:
        levels.append(_pairs(levels[-1]))
    inner = {}
    for size in sizes:
        nodes, offset = [], 0
        within = size - start
        for height in range(CHUNK_BITS, -1, -1):
            if within & (1 << height):
                nodes.append(levels[height][offset >> height])
                offset += 1 << height
        inner[size] = nodes
    full = len(entry_hashes) == CHUNK
    return _ChunkTree(len(entry_hashes), levels[CHUNK_BITS][0] if full else None, inner)


class MerkleBuilder:
    """RFC 6962 tree heads over a stream of entry hashes, fed a chunk of up to ``CHUNK`` leaves
    at a time (only the last chunk may be short). Answers the root at any size inside the
    chunk just fed, so roots at every checkpoint size come from one pass: the completed chunks
    are kept as a stack of perfect subtrees (a compact range, at most one per height), so each
    leaf is hashed once, each inner node once, whatever the number of checkpoints."""

    def __init__(self) -> None:
        self.size = 0
        self._outer: list[tuple[int, bytes]] = []  # (height, hash) of completed aligned chunks

    def add_chunk(self, entry_hashes: list[bytes], sizes: Iterable[int] = ()) -> dict[int, bytes]:
        return self.add_tree(_chunk_tree(entry_hashes, self.size, sizes))

    def add_tree(self, tree: _ChunkTree) -> dict[int, bytes]:
        """Fold in the next chunk's tree; the roots at the sizes it was computed for."""
        if self.size % CHUNK:
            raise ValueError("only the last chunk may be short")
        outer = [h for _, h in self._outer]
        roots = {size: _fold(outer + nodes) for size, nodes in tree.inner.items()}
        self.size += tree.leaves
        if tree.root is not None:
            self._push(CHUNK_BITS, tree.root)
        return roots

    def _push(self, height: int, node: bytes) -> None:
        while self._outer and self._outer[-1][0] == height:
            _, left = self._outer.pop()
            node = node_hash(left, node)
            height += 1
        self._outer.append((height, node))


def merkle_root(entry_hashes: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over entry hashes (raw 32-byte values)."""
    builder = MerkleBuilder()
    root = EMPTY_ROOT
    for start in range(0, len(entry_hashes), CHUNK):
        chunk = entry_hashes[start:start + CHUNK]
        root = builder.add_chunk(chunk, [start + len(chunk)])[start + len(chunk)]
    return root


def inclusion_proof(entry_hashes: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path for leaf ``index`` in the tree over all of ``entry_hashes``."""
    if not 0 <= index < len(entry_hashes):
        raise ValueError("index outside the tree")
    level = _leaves(entry_hashes)
    path = []
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        # A lone last node moves up unchanged: that is RFC 6962's left-balanced split.
        up = _pairs(level)
        if len(level) % 2:
            up.append(level[-1])
        level, index = up, index >> 1
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- Keys and signed notes (C2SP signed-note, Ed25519) ----------------------------------------


def key_id(name: str, public_key: bytes) -> bytes:
    return _sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True)
class VerifierKey:
    name: str
    id: bytes
    key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            name, hex_id, b64 = text.strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            if not _valid_name(name) or len(raw) != 33 or raw[0] != ALG_ED25519:
                raise ValueError("not an Ed25519 verifier key")
            if bytes.fromhex(hex_id) != key_id(name, raw[1:]):
                raise ValueError("its key id does not match its key")
            return cls(name, bytes.fromhex(hex_id), Ed25519PublicKey.from_public_bytes(raw[1:]))
        except (ValueError, binascii.Error) as exc:
            raise InputUnreadable(f"the public key cannot be read: {exc}") from exc


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str
    source: str  # where it came from (a file name), for messages

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode("ascii")


class NoteInvalid(Exception):
    pass


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint text: origin, tree size, base64 root hash."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def open_checkpoint(note: str, key: VerifierKey, source: str = "") -> Checkpoint:
    """Verify the note's signature by ``key`` and parse its checkpoint body."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteInvalid("it is not a signed note")
    text += "\n"
    found = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteInvalid("it has a malformed signature line")
        name, _, b64 = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as exc:
            raise NoteInvalid("it has a malformed signature line") from exc
        if name != key.name or raw[:4] != key.id:
            continue  # another signer (a witness's cosignature): not ours to check
        try:
            key.key.verify(raw[4:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise NoteInvalid(f"its signature by {key.name} does not verify") from exc
        found = True
        break
    if not found:
        raise NoteInvalid(f"it carries no signature by {key.name}")
    return read_checkpoint(note, source)


def read_checkpoint(note: str, source: str = "") -> Checkpoint:
    """The checkpoint body of a signed note, WITHOUT checking its signature (for a program
    that holds no public key and can only compare the roots it claims)."""
    lines = note.split("\n")
    try:
        origin, size_text, root_b64 = lines[0], lines[1], lines[2]
        size = int(size_text)
        root = base64.b64decode(root_b64, validate=True)
        if size < 0 or str(size) != size_text or len(root) != 32 or not origin:
            raise ValueError
    except (ValueError, IndexError, binascii.Error) as exc:
        raise NoteInvalid("its body is not a checkpoint") from exc
    return Checkpoint(origin, size, root, note, source)


# --- Verifying a bundle ----------------------------------------------------------------------


@dataclass
class Result:
    ok: bool
    entries: int = 0
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoints: list[Checkpoint] = field(default_factory=list)
    key_name: str = ""

    def summary(self) -> str:
        if not self.ok:
            where = f"entry {self.first_bad_seq}: " if self.first_bad_seq is not None else ""
            return f"TAMPERED OR INCONSISTENT: {where}{self.problem}"
        newest = max(self.checkpoints, key=lambda c: c.size, default=None)
        signed = (f"{len(self.checkpoints)} checkpoint(s) signed by {self.key_name} verified; "
                  f"the newest covers entries 1-{newest.size} (root {newest.root_b64})"
                  if newest else "no signed checkpoint to check the entries against")
        return f"OK: {self.entries} entries, hash chain intact; {signed}."


def _fail(seq: int | None, problem: str, entries: int = 0) -> Result:
    return Result(False, entries, seq, problem)


def read_checkpoints(paths: Iterable[Path],
                     key: VerifierKey) -> tuple[list[Checkpoint], Result | None]:
    checkpoints = []
    for path in paths:
        try:
            note = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputUnreadable(f"checkpoint {path} cannot be read: {exc}") from exc
        try:
            checkpoints.append(open_checkpoint(note, key, path.name))
        except NoteInvalid as exc:
            return [], _fail(None, f"checkpoint {path.name}: {exc}")
    origins = {c.origin for c in checkpoints}
    if len(origins) > 1:
        return [], _fail(None, f"checkpoints name different logs: {sorted(origins)}")
    by_size: dict[int, Checkpoint] = {}
    for cp in sorted(checkpoints, key=lambda c: c.size):
        other = by_size.setdefault(cp.size, cp)
        if other.root != cp.root:
            return [], _fail(None, f"two signed checkpoints of size {cp.size} have different "
                                   f"roots ({other.source}: {other.root_b64}; {cp.source}: "
                                   f"{cp.root_b64}): the log has been forked")
    return sorted(by_size.values(), key=lambda c: c.size), None


def _chunks(handle: BinaryIO, max_chunks: int | None = None) -> Iterator[list[bytes]]:
    """Lists of ``CHUNK`` lines (the last may be short) from the handle's position on."""
    try:
        yield from islice(iter(lambda: list(islice(handle, CHUNK)), []), max_chunks)
    except OSError as exc:
        raise InputUnreadable(f"{handle.name} cannot be read: {exc}") from exc


_entries, _payloads = itemgetter(_ENTRY), itemgetter(_PAYLOAD)
_startswith, _endswith, _rfind = bytes.startswith, bytes.endswith, bytes.rfind
_unhexlify = binascii.unhexlify


def _sound_chunk(lines: list[bytes], first_seq: int, prev_hex: bytes) -> list[bytes] | None:
    """The fast path: every check for a whole chunk at once, in C loops (map and list
    comparisons: no Python frame per entry). Returns the entries' raw hashes, or None to send
    the chunk to ``_diagnose`` for the exact entry and reason. A line laid out differently
    slices into the wrong bytes and so fails the link or hash check.

    Why each step is shaped as it is (this loop is the verifier's speed):
    * the entry hashes are sliced out once; each previous hash is compared in place
      (``startswith`` at its offset) with the entry hash before it, so no slice is made for it.
      A shorter entry hash would match a mere prefix, but it cannot equal a 32-byte digest in
      the hash check below, so in any chunk accepted ``startswith`` was as strict as equality;
    * the hash check compares 32-byte digests with the unhexlified entry hashes, which would
      accept upper-case hex: the joined entry hashes must therefore equal their lower-case
      form (links are compared as text, so every hash in the file is then exact);
    * each entry's hash is a context started from the previous raw hash and fed the payload
      (cheaper than a concatenated copy of every payload)."""
    # The fixed text around the fields is part of what was exported: a changed byte there is a
    # changed entry too, even though no hash covers it (checked in place, no copies).
    if not (all(map(_startswith, lines, repeat(_P1)))
            and all(map(_startswith, lines, repeat(_P2), repeat(_MID.start)))
            and all(map(_startswith, lines, repeat(_P3), repeat(_PAYLOAD_AT.start)))
            and all(map(_endswith, lines, repeat(b"}\n")))):
        return None
    entries = list(map(_entries, lines))
    if not (_startswith(lines[0], prev_hex, 14)
            and all(map(_startswith, islice(lines, 1, None), entries, repeat(14)))):
        return None
    joined = b"".join(entries)
    if joined != joined.lower():
        return None
    payloads = list(map(_payloads, lines))
    where = map(_rfind, payloads, repeat(_SEQ_KEY))
    seq_marks = map(b',"seq":%d,'.__mod__, range(first_seq, first_seq + len(lines)))
    if not all(map(_startswith, payloads, seq_marks, where)):
        return None
    try:
        raw = list(map(_unhexlify, entries))
        contexts = list(map(_sha256, [_unhexlify(prev_hex), *raw[:-1]]))
    except binascii.Error:
        return None
    deque(map(_update, contexts, payloads), 0)
    if list(map(_digest, contexts)) != raw:
        return None
    return raw


def _payload_seq(payload: bytes) -> int | None:
    at = payload.rfind(_SEQ_KEY)
    if at < 0:
        return None
    end = at + len(_SEQ_KEY)
    digits = payload[end:payload.find(b",", end)]
    return int(digits) if digits.isdigit() else None


def _line_problem(line: bytes, expected: int, prev_hex: bytes) -> tuple[int, str] | None:
    """(first bad sequence number, reason) for one line, or None if it is sound."""
    if not (line.startswith(_P1) and line.endswith(b"}\n") and line[_MID] == _P2
            and line[_PAYLOAD_AT] == _P3):
        return expected, "the line is malformed (not an exported entry)"
    payload = line[_PAYLOAD]
    seq = _payload_seq(payload)
    if seq is None:
        return expected, "its payload names no sequence number"
    if seq != expected:
        # Deleted (a later number in this place), inserted or reordered (an earlier or
        # repeated one): the log is first wrong at the smaller of the two numbers.
        return min(seq, expected), (f"expected entry {expected} here but found entry {seq} "
                                    "(an entry was deleted, inserted or moved)")
    if line[_PREV] != prev_hex:
        return seq, "its previous hash is not the hash of the entry before it"
    try:
        computed = _sha256(binascii.unhexlify(line[_PREV]) + payload).hexdigest()
    except binascii.Error:
        return seq, "its previous hash is not hexadecimal"
    if computed.encode("ascii") != line[_ENTRY]:
        return seq, "its contents do not match its hash (the entry was changed)"
    return None


def _diagnose(lines: list[bytes], first_seq: int, prev_hex: bytes) -> tuple[int, str]:
    for offset, line in enumerate(lines):
        problem = _line_problem(line, first_seq + offset, prev_hex)
        if problem is not None:
            return problem
        prev_hex = line[_ENTRY]
    raise AssertionError("a chunk failed the fast check but no line is at fault")


class _RootCheck:
    """Compares recomputed roots with the signed ones in size order. A mismatch is reported
    from the entry after the last checkpoint that matched, with the entries before the chunk
    holding the mismatched size counted as verified (chunks are aligned, so that count follows
    from the size: the same figure however the roots were computed)."""

    def __init__(self, checkpoints: list[Checkpoint]) -> None:
        self.signed = {c.size: c for c in checkpoints}
        self.last_good = 0

    def check(self, roots: dict[int, bytes]) -> Result | None:
        for size in sorted(roots):
            signed = self.signed[size]
            if roots[size] != signed.root:
                first = self.last_good + 1
                return _fail(first, f"entries {first}-{size} do not match the signed checkpoint "
                                    f"of size {size} (its root is {signed.root_b64}): an entry in "
                                    "that range was changed, added or removed and the chain "
                                    "re-hashed", (size - 1) // CHUNK * CHUNK)
            self.last_good = size
        return None


def _sizes_in(wanted: list[int], start: int, count: int) -> list[int]:
    return [s for s in wanted if start < s <= start + count]


def _chain_pass(chunks: Iterable[list[bytes]], first_seq: int, prev_hex: bytes | None,
                consume: Callable[[int, list[bytes]], Result | None]
                ) -> tuple[int, Result | None, bytes | None]:
    """Check the chain over ``chunks``, the first line numbered ``first_seq`` and linked to
    ``prev_hex`` (None: to whatever its own previous hash says, for a range whose link to the
    range before is checked by the caller). Each sound chunk's raw entry hashes go to
    ``consume(entries before the chunk, hashes)``, which may stop the pass with a failure.
    Returns (lines verified, the first failure or None, the last entry hash as text)."""
    count = 0
    for lines in chunks:
        if lines[-1][-1:] != b"\n":
            lines[-1] += b"\n"  # a final line without its newline is still read
        if prev_hex is None:
            prev_hex = lines[0][_PREV]
        entry_raws = _sound_chunk(lines, first_seq + count, prev_hex)
        if entry_raws is None:
            seq, problem = _diagnose(lines, first_seq + count, prev_hex)
            return count, _fail(seq, problem, seq - 1), prev_hex
        failure = consume(first_seq - 1 + count, entry_raws)
        if failure is not None:
            return count, failure, prev_hex
        prev_hex = lines[-1][_ENTRY]
        count += len(lines)
    return count, None, prev_hex


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputUnreadable(f"{path} cannot be read: {exc}") from exc


def _verify_here(path: Path, wanted: list[int], roots: _RootCheck) -> tuple[int, Result | None]:
    """One process, one pass: each chunk's roots are computed and checked as soon as its chain
    is, so the first fault in the file is the one reported."""
    builder = MerkleBuilder()

    def consume(start: int, hashes: list[bytes]) -> Result | None:
        if not wanted or start >= wanted[-1]:
            return None  # no signed root left to compare: the tree is not needed
        return roots.check(builder.add_chunk(hashes, _sizes_in(wanted, start, len(hashes))))

    with _open(path) as handle:
        count, failure, _ = _chain_pass(_chunks(handle), 1, GENESIS_HASH.encode("ascii"), consume)
    return count, failure


# --- The same, split across processes --------------------------------------------------------
#
# Hashing dominates and each entry's checks need only the entry and the hash before it, so the
# file can be cut into ranges verified side by side, in a pool of processes: with two free
# cores the complete verification takes about half as long. There are several ranges per
# process, handed out as processes come free, so a process that gets less of the CPU (a busy
# machine) takes fewer ranges instead of holding up the rest. Each range starts at a chunk
# boundary (a multiple of CHUNK entries), so its Merkle work is a list of per-chunk trees that
# fold in order into exactly the roots one pass computes. The cut points are chosen from what
# the payloads claim, which is not trusted: the ranges count only if they meet exactly (each
# ends where the next begins, with the expected number of entries, and the next one's first
# previous hash is this one's last entry hash). If anything at all is wrong, the whole file is
# verified again in one process, which names the first fault exactly as it always does: the
# answer never depends on how the work was split.

PARALLEL_MIN_BYTES = 16 << 20  # smaller (under about 30,000 entries): not worth the processes
MAX_JOBS = 4
RANGES_PER_JOB = 4


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)  # the CPUs this process may run on
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


@dataclass
class _Range:
    """What one process found in its range of lines."""

    first_index: int  # entries before the range
    count: int
    sound: bool
    first_prev: bytes | None  # its first line's previous hash, as text
    last_entry: bytes | None  # its last line's entry hash, as text
    end: int  # the byte offset just after its last line
    trees: list[_ChunkTree] = field(default_factory=list)


def _verify_range(path: Path, offset: int, first_index: int, max_chunks: int | None,
                  wanted: list[int]) -> _Range:
    """The chain over ``max_chunks`` chunks (None: to the end) from byte ``offset``, the first
    line being entry ``first_index + 1``, and the Merkle trees of those chunks."""
    trees: list[_ChunkTree] = []

    def consume(start: int, hashes: list[bytes]) -> None:
        if wanted and start < wanted[-1]:
            trees.append(_chunk_tree(hashes, start, _sizes_in(wanted, start, len(hashes))))

    with _open(path) as handle:
        handle.seek(offset)
        chunks = _chunks(handle, max_chunks)
        first = next(chunks, None)
        if first is None:
            return _Range(first_index, 0, False, None, None, offset)
        first_prev = GENESIS_HASH.encode("ascii") if first_index == 0 else first[0][_PREV]
        count, failure, last = _chain_pass(chain([first], chunks), first_index + 1, first_prev,
                                           consume)
        return _Range(first_index, count, failure is None, first_prev, last, handle.tell(),
                      trees)


def _cut_points(path: Path, parts: int) -> list[tuple[int, int]]:
    """(byte offset, entries before it) where each range after the first starts: the first line
    at or after an even share of the file whose payload claims a number just after a multiple
    of CHUNK (shares that lead to the same line give one range)."""
    size = path.stat().st_size
    points: list[tuple[int, int]] = []
    with path.open("rb") as handle:
        for part in range(1, parts):
            handle.seek(size * part // parts)
            handle.readline()  # the rest of a line begun before this offset
            for _ in range(2 * CHUNK):
                offset, line = handle.tell(), handle.readline()
                seq = _payload_seq(line[_PAYLOAD]) if line else None
                if seq is None:
                    break  # the end of the file, or a line the verification will reject
                if seq > 1 and (seq - 1) % CHUNK == 0:
                    if not points or (offset > points[-1][0] and seq - 1 > points[-1][1]):
                        points.append((offset, seq - 1))
                    break
    return points


def _verify_in_parallel(path: Path, wanted: list[int],
                        jobs: int) -> tuple[int, dict[int, bytes]] | None:
    """(entries, the roots at the ``wanted`` sizes reached) if every range is sound and they
    meet exactly; None to verify in one process instead."""
    try:
        points = _cut_points(path, jobs * RANGES_PER_JOB)
    except OSError:
        return None  # one process will report it
    if not points:
        return None
    starts = [(0, 0), *points]
    offsets, indexes = [o for o, _ in starts], [i for _, i in starts]
    counts = [(nxt - index) // CHUNK for index, nxt in pairwise(indexes)] + [None]
    ranges = []
    try:
        # The platform's default way to start a process (fork here: nothing to re-import).
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context()) as pool:
            for found in pool.map(_verify_range, repeat(path), offsets, indexes, counts,
                                  repeat(wanted)):
                if not found.sound:
                    pool.shutdown(wait=False, cancel_futures=True)
                    return None
                ranges.append(found)
    except (BrokenProcessPool, InputUnreadable, OSError, RuntimeError):
        return None  # a process could not be started, died, or could not read the file
    for before, after, offset in zip(ranges, ranges[1:], offsets[1:], strict=False):
        if not (before.first_index + before.count == after.first_index and before.end == offset
                and before.last_entry == after.first_prev):
            return None
    builder, roots = MerkleBuilder(), {}
    for tree in (tree for part in ranges for tree in part.trees):
        roots.update(builder.add_tree(tree))
    return ranges[-1].first_index + ranges[-1].count, roots


def verify_entries(path: Path, checkpoints: list[Checkpoint], *, merkle: bool = True,
                   jobs: int | None = None) -> Result:
    """Verify ``path``: the chain, and every checkpoint's root at its size (unless ``merkle`` is
    False: then checkpoints are checked for signature and size only). ``jobs`` processes share
    the work (default: up to ``MAX_JOBS``, one per available CPU, for a log of at least
    ``PARALLEL_MIN_BYTES``); the result is the same for any number."""
    wanted = sorted({c.size for c in checkpoints if c.size > 0}) if merkle else []
    if jobs is None:
        try:
            large = path.stat().st_size >= PARALLEL_MIN_BYTES
        except OSError:
            large = False  # one process will report it
        jobs = min(_cpus(), MAX_JOBS) if large else 1
    roots = _RootCheck(checkpoints)
    done = _verify_in_parallel(path, wanted, jobs) if jobs > 1 else None
    if done is None:
        count, failure = _verify_here(path, wanted, roots)
    else:
        count, failure = done[0], roots.check(done[1])
    if failure is not None:
        return failure
    signed = max((c.size for c in checkpoints), default=0)
    if signed > count:
        return _fail(count + 1, f"the log ends at entry {count} but a signed checkpoint covers "
                                f"{signed} entries: entries {count + 1}-{signed} were "
                                "removed (tail truncation)", count)
    return Result(True, count, checkpoints=checkpoints)


def load_key(bundle: Path | None, key_path: Path | None) -> VerifierKey:
    path = key_path or (bundle / PUBLIC_KEY_FILE if bundle else None)
    if path is None:
        raise InputUnreadable("give the log's public key with --key")
    try:
        return VerifierKey.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputUnreadable(f"the public key {path} cannot be read: {exc}") from exc


def verify_bundle(bundle: Path, key: VerifierKey, extra_checkpoints: Iterable[Path] = (), *,
                  merkle: bool = True, jobs: int | None = None) -> Result:
    entries = bundle / ENTRIES_FILE
    if not entries.is_file():
        raise InputUnreadable(f"{entries} is missing")
    files = sorted((bundle / CHECKPOINTS_DIR).glob("*.txt")) + list(extra_checkpoints)
    checkpoints, failure = read_checkpoints(files, key)
    if failure is not None:
        return failure
    result = verify_entries(entries, checkpoints, merkle=merkle, jobs=jobs)
    result.key_name = key.name
    if result.ok:
        failure = _check_manifest(bundle, result.entries)
        if failure is not None:
            return failure
    return result


def _check_manifest(bundle: Path, count: int) -> Result | None:
    """The manifest is not signed, but a bundle whose manifest promises more entries or
    checkpoint files than it holds has lost some on the way (a checkpoint file removed would
    otherwise hide a truncation or a rewrite that it proves)."""
    path = bundle / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        promised = int(manifest["entries"])
        promised_checkpoints = int(manifest.get("checkpoints", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputUnreadable(f"{path} cannot be read: {exc}") from exc
    files = sorted(p.name for p in (bundle / CHECKPOINTS_DIR).glob("*.txt"))
    if promised_checkpoints != len(files):
        listed = manifest.get("checkpoint_files")
        missing = (sorted(set(listed) - set(files)) if isinstance(listed, list) else [])
        named = f" (missing: {', '.join(map(str, missing))})" if missing else ""
        return _fail(None, f"the manifest lists {promised_checkpoints} checkpoint file(s) but "
                           f"{CHECKPOINTS_DIR}/ holds {len(files)}{named}: signed checkpoints "
                           "were removed from the bundle", count)
    if promised != count:
        return _fail(min(promised, count) + 1,
                     f"the manifest lists {promised} entries but the file holds {count}", count)
    return None


UNANCHORED_WARNING = """\
WARNING: NO SIGNED CHECKPOINT WAS CHECKED (none in the bundle, none given with --checkpoint).
WARNING: This only shows that the file agrees with itself: anyone able to rewrite the log can
WARNING: rewrite and re-hash it consistently. Verify against checkpoints signed by the log's
WARNING: key, and keep the ones you receive (--checkpoint FILE)."""


# --- Inclusion proofs ------------------------------------------------------------------------


def make_proof(bundle: Path, key: VerifierKey, seq: int, size: int | None = None) -> dict:
    """A proof that entry ``seq`` is in the checkpoint of ``size`` (default: the newest)."""
    checkpoints, failure = read_checkpoints(sorted((bundle / CHECKPOINTS_DIR).glob("*.txt")), key)
    if failure is not None:
        raise InputUnreadable(failure.summary())
    chosen = [c for c in checkpoints if (c.size == size if size else c.size >= seq)]
    if not chosen:
        raise InputUnreadable(f"no signed checkpoint covers entry {seq}")
    checkpoint = chosen[-1] if size is None else chosen[0]
    hashes, line = [], None
    with (bundle / ENTRIES_FILE).open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            if number > checkpoint.size:
                break
            hashes.append(binascii.unhexlify(raw_line[_ENTRY]))
            if number == seq:
                line = raw_line
    if line is None or len(hashes) < checkpoint.size:
        raise InputUnreadable(f"entry {seq} or the checkpoint's entries are missing")
    path = inclusion_proof(hashes, seq - 1)
    return {
        "format": PROOF_FORMAT,
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": checkpoint.size,
        "entry": {"prev_hash": line[_PREV].decode("ascii"),
                  "entry_hash": line[_ENTRY].decode("ascii"),
                  "payload": line[_PAYLOAD].decode("utf-8")},
        "path": [base64.b64encode(p).decode("ascii") for p in path],
        "checkpoint": checkpoint.note,
    }


def check_proof(proof: dict, key: VerifierKey) -> tuple[bool, str]:
    try:
        if proof.get("format") != PROOF_FORMAT:
            return False, "not an inclusion proof of this format"
        checkpoint = open_checkpoint(proof["checkpoint"], key, "the proof")
        entry, seq = proof["entry"], int(proof["seq"])
        payload = entry["payload"].encode("utf-8")
        entry_hash = bytes.fromhex(entry["entry_hash"])
        if _sha256(bytes.fromhex(entry["prev_hash"]) + payload).digest() != entry_hash:
            return False, f"entry {seq}'s contents do not match its hash"
        if _payload_seq(payload) != seq or int(proof["leaf_index"]) != seq - 1:
            return False, f"the payload is not entry {seq}"
        if int(proof["tree_size"]) != checkpoint.size:
            return False, "the proof is for a different tree size than its checkpoint"
        path = [base64.b64decode(p, validate=True) for p in proof["path"]]
    except NoteInvalid as exc:
        return False, f"the checkpoint in the proof: {exc}"
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return False, f"the proof cannot be read: {exc}"
    if not verify_inclusion(leaf_hash(entry_hash), seq - 1, checkpoint.size, path,
                            checkpoint.root):
        return False, (f"entry {seq} is NOT included in the signed checkpoint of size "
                       f"{checkpoint.size}")
    return True, (f"entry {seq} is included in the log's signed checkpoint of size "
                  f"{checkpoint.size} (root {checkpoint.root_b64}, signed by {key.name}). "
                  f"Its payload: {entry['payload']}")


# --- Command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a disclosure_app audit bundle offline (exit 0 intact, 1 tampered, "
                    "2 unreadable).")
    parser.add_argument("bundle", nargs="?", type=Path, help="the exported bundle directory")
    parser.add_argument("--key", type=Path,
                        help="the log's public key as you hold it (default: the bundle's copy)")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[],
                        help="a checkpoint you kept from before (repeatable)")
    parser.add_argument("--no-merkle", action="store_true",
                        help="skip recomputing the checkpoints' Merkle roots (faster; a history "
                             "re-hashed after it was signed then goes unnoticed)")
    parser.add_argument("--jobs", type=int, choices=range(1, 65), metavar="N",
                        help="verify in N processes side by side, each a range of the log "
                             f"(default: one per available CPU, up to {MAX_JOBS}, for a log of "
                             f"{PARALLEL_MIN_BYTES >> 20} MiB or more; the result is the same)")
    parser.add_argument("--prove", type=int, metavar="SEQ",
                        help="print an inclusion proof for entry SEQ (after verifying)")
    parser.add_argument("--size", type=int, help="with --prove: the checkpoint size to prove in")
    parser.add_argument("--check-proof", type=Path, metavar="FILE",
                        help="check an inclusion proof (needs --key)")
    args = parser.parse_args(argv)
    try:
        if args.check_proof:
            key = load_key(None, args.key)
            try:
                proof = json.loads(args.check_proof.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputUnreadable(f"{args.check_proof} cannot be read: {exc}") from exc
            ok, message = check_proof(proof, key)
            print(("OK: " if ok else "FAILED: ") + message)
            return 0 if ok else 1
        if args.bundle is None:
            parser.error("give a bundle directory (or --check-proof FILE)")
        if args.key is None:
            print("Note: checking against the public key inside the bundle. Use --key with the "
                  "key you hold to rule out a substituted key.", file=sys.stderr)
        key = load_key(args.bundle, args.key)
        result = verify_bundle(args.bundle, key, args.checkpoint, merkle=not args.no_merkle,
                               jobs=args.jobs)
        print(result.summary())
        if not result.ok:
            return 1
        if not result.checkpoints:
            print(UNANCHORED_WARNING, file=sys.stderr)
        if args.prove is not None:
            print(json.dumps(make_proof(args.bundle, key, args.prove, args.size), indent=2))
        return 0
    except InputUnreadable as exc:
        print(f"CANNOT VERIFY: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
