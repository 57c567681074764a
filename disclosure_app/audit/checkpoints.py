"""Signed checkpoints of the decision log, the auditor's export bundle and inclusion proofs
(SECURITY.md SEC-34, §3.3).

A checkpoint is the RFC 6962 Merkle root over the first ``size`` entry hashes, written in the
C2SP tlog-checkpoint format and signed with Ed25519 (a C2SP signed note). Only the
``flask audit checkpoint`` command signs, with a private key file it is handed on the command
line: the web app is configured with the public key alone (``create_app`` refuses to start with
a signing key in its configuration). Before signing, the command re-verifies the whole chain and
checks that the new tree extends the newest stored checkpoint, so it never signs a history that
was rewritten since.

The Merkle tree, the note format and the verification live in ``disclosure_app/audit/verify.py``,
the stand-alone verifier an auditor runs offline: one implementation for both sides.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.audit import verify as offline
from disclosure_app.audit.chain import (
    VerifyResult,
    _entry_problem,  # one definition of "sound"
    chain_length,
    first_bad_seq,
    iter_entries,
    verify_chain,
)
from disclosure_app.db import transaction
from disclosure_app.models import AuditCheckpoint, AuditEntry, AuditVerification
from disclosure_app.models.audit import GENESIS_HASH

PRIVATE_PREFIX = "PRIVATE+KEY+"
VERIFIER_SOURCE = Path(offline.__file__)


class SigningKeyInvalid(Exception):
    pass


# --- Keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: C2SP key name plus the private key (held only by the CLI).
    ``demo``: the key file says it is the `make run` demo key (refused in production)."""

    name: str
    private_key: Ed25519PrivateKey
    demo: bool = False

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @property
    def key_id(self) -> bytes:
        return offline.key_id(self.name, self.public_bytes)

    @property
    def verifier_key(self) -> str:
        raw = bytes([offline.ALG_ED25519]) + self.public_bytes
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode('ascii')}"

    @property
    def private_text(self) -> str:
        raw = bytes([offline.ALG_ED25519]) + self.private_key.private_bytes_raw()
        return (f"{PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+"
                f"{base64.b64encode(raw).decode('ascii')}")

    def sign(self, text: str) -> str:
        """``text`` as a signed note (the signature covers the text with its final newline)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise ValueError("a note's text ends with one newline and has no blank line")
        signature = self.private_key.sign(text.encode("utf-8"))
        blob = base64.b64encode(self.key_id + signature).decode("ascii")
        return f"{text}\n{offline.SIGNATURE_PREFIX}{self.name} {blob}\n"

    @classmethod
    def parse(cls, text: str) -> Signer:
        try:
            if not text.startswith(PRIVATE_PREFIX):
                raise ValueError
            name, hex_id, b64 = text[len(PRIVATE_PREFIX):].strip().split("+", 2)
            raw = base64.b64decode(b64, validate=True)
            if len(raw) != 33 or raw[0] != offline.ALG_ED25519:
                raise ValueError
            signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        except ValueError as exc:
            raise SigningKeyInvalid("not an Ed25519 signing key written by `audit keygen`") \
                from exc
        if signer.key_id.hex() != hex_id:
            raise SigningKeyInvalid("the signing key's id does not match the key")
        return signer

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """The key line; lines starting with '#' are comments (the demo key says so in one)."""
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningKeyInvalid(f"cannot read the signing key: {exc}") from exc
        lines = text.splitlines()
        comments = [line for line in lines if line.startswith("#")]
        signer = cls.parse("\n".join(line for line in lines if not line.startswith("#")))
        if any(DEMO_MARK in line for line in comments):
            signer = cls(signer.name, signer.private_key, demo=True)
        return signer


def generate_key(name: str) -> Signer:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise ValueError("a key name has no spaces and no '+'")
    return Signer(name, Ed25519PrivateKey.generate())


def write_key_files(signer: Signer, private_path: Path, public_path: Path) -> None:
    """The private key goes to a new file readable by its owner only; never overwritten."""
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists already: keys are never overwritten")
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(signer.private_text + "\n")
    public_path.write_text(signer.verifier_key + "\n", encoding="ascii")


def is_private_key(value: object) -> bool:
    return isinstance(value, str) and PRIVATE_PREFIX in value


# --- The `make run` demo key ---------------------------------------------------------------------
#
# So that an auditor's offline check can be tried on the demo out of the box, `flask audit
# demo-checkpoint` (run by `make run`) makes a key pair in the instance folder, outside the web
# process, and signs checkpoints of the demo log with it. The private key file says it is a demo
# key; `audit checkpoint` refuses it in production, and the web app picks the demo public key up
# only when it is not production, not under test, and configured with no key of its own.

DEMO_MARK = "DEMO KEY"
DEMO_PRIVATE_FILE = "demo-audit-signing-key.txt"
DEMO_PUBLIC_FILE = "demo-audit-public-key.txt"
DEMO_COMMENT = (f"# {DEMO_MARK} made by `flask audit demo-checkpoint` for the `make run` demo. "
                "Never use it in production.\n")


def demo_key_dir(config: Any, instance_path: str) -> Path:
    return Path(config.get("DEMO_AUDIT_KEY_DIR") or instance_path)


def use_demo_public_key(app: Any) -> None:
    """Point AUDIT_PUBLIC_KEY_FILE at the demo public key, if there is one and the app is the
    local demo: not production, not under test, and no key configured."""
    config = app.config
    if (config.get("PRODUCTION") or config.get("TESTING") or config.get("AUDIT_PUBLIC_KEY")
            or config.get("AUDIT_PUBLIC_KEY_FILE")):
        return
    path = demo_key_dir(config, app.instance_path) / DEMO_PUBLIC_FILE
    if path.is_file():
        config["AUDIT_PUBLIC_KEY_FILE"] = str(path)
        config["AUDIT_PUBLIC_KEY_IS_DEMO"] = True


def ensure_demo_keys(directory: Path, origin: str) -> tuple[Signer, bool]:
    """The demo signer, made on first use (private key file mode 0600, marked DEMO KEY).
    Returns (signer, whether it was made now)."""
    private, public = directory / DEMO_PRIVATE_FILE, directory / DEMO_PUBLIC_FILE
    if private.exists() and public.exists():
        signer = Signer.from_file(private)
        if not signer.demo:
            raise SigningKeyInvalid(f"{private} is not marked as a demo key")
        if public.read_text(encoding="ascii").strip() != signer.verifier_key:
            raise SigningKeyInvalid(f"{public} is not the public half of {private}")
        return signer, False
    if private.exists() or public.exists():
        raise SigningKeyInvalid(f"only one of {private.name} and {public.name} exists in "
                                f"{directory}: remove it to make a new demo key pair")
    directory.mkdir(parents=True, exist_ok=True)
    signer = generate_key(origin)
    write_key_files(signer, private, public)
    with private.open("a", encoding="ascii") as handle:
        handle.write(DEMO_COMMENT)
    return Signer(signer.name, signer.private_key, demo=True), True


# --- Building trees from the database ----------------------------------------------------------


def _entry_hash_chunks(session: Session, up_to: int) -> Iterator[list[bytes]]:
    """Entry hashes 1..up_to as raw bytes, ``offline.CHUNK`` at a time, verifying each entry
    (hash, link, columns) on the way; raises ``ChainBroken`` at the first bad one."""
    chunk: list[bytes] = []
    prev, expected = GENESIS_HASH, 1
    for entry in iter_entries(session):
        if entry.seq > up_to:
            break
        problem = _entry_problem(entry, expected, prev)
        if problem:
            raise ChainBroken(VerifyResult(False, expected - 1,
                                           first_bad_seq(entry.seq, expected), problem))
        chunk.append(bytes.fromhex(entry.entry_hash))
        prev, expected = entry.entry_hash, expected + 1
        if len(chunk) == offline.CHUNK:
            yield chunk
            chunk = []
    if expected - 1 != up_to:
        raise ChainBroken(VerifyResult(False, expected - 1, expected,
                                       f"entries {expected}-{up_to} are missing"))
    if chunk:
        yield chunk


class ChainBroken(Exception):
    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.summary())
        self.result = result


def tree_roots(session: Session, up_to: int, sizes: list[int]) -> dict[int, bytes]:
    """RFC 6962 roots at each of ``sizes`` (all ≤ ``up_to``), in one verified pass."""
    builder = offline.MerkleBuilder()
    roots: dict[int, bytes] = {}
    for chunk in _entry_hash_chunks(session, up_to):
        here = [s for s in sizes if builder.size < s <= builder.size + len(chunk)]
        roots.update(builder.add_chunk(chunk, here))
    if 0 in sizes:
        roots[0] = offline.EMPTY_ROOT
    return roots


# --- Checkpoints -------------------------------------------------------------------------------


def newest(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()


def behind_newest(session: Session) -> VerifyResult | None:
    """A cheap check that the log still reaches the newest checkpoint with the same entry at its
    end (entries cut off the end, the chain head moved back, would otherwise look like "no new
    entries since the last checkpoint"). None when it does."""
    last = newest(session)
    if last is None or last.tree_size == 0:
        return None
    at_size = session.scalar(select(AuditEntry.entry_hash)
                             .where(AuditEntry.seq == last.tree_size))
    if at_size is None:
        end = int(session.scalar(select(func.max(AuditEntry.seq))
                                 .where(AuditEntry.seq < last.tree_size)) or 0)
        return VerifyResult(
            False, end, end + 1,
            f"the log ends at entry {end} but the checkpoint signed at "
            f"{last.created_at:%Y-%m-%d %H:%M} UTC covers {last.tree_size} entries: entries "
            f"{end + 1}-{last.tree_size} were removed (tail truncation)")
    if at_size != last.head_hash:
        return VerifyResult(
            False, 0, last.tree_size,
            f"entry {last.tree_size} no longer has the hash it had when the checkpoint of "
            f"{last.tree_size} entries was signed: the log was rewritten")
    return None


def is_due(session: Session, now: datetime, *, every_entries: int, every_minutes: int) -> bool:
    """A checkpoint is due when there are entries it would cover and either ``every_entries``
    of them or ``every_minutes`` have passed since the last one."""
    last = newest(session)
    size = chain_length(session)
    if last is None:
        return size > 0
    pending = size - last.tree_size
    return pending > 0 and (pending >= every_entries
                            or now - last.created_at >= timedelta(minutes=every_minutes))


@dataclass(frozen=True)
class Made:
    checkpoint: AuditCheckpoint
    copies: list[Path]


class InconsistentHistory(Exception):
    pass


def create_checkpoint(session: Session, signer: Signer, *, origin: str, now: datetime,
                      copy_to: list[Path] | None = None) -> Made:
    """Sign the tree head over every entry so far. Refuses (``ChainBroken``,
    ``InconsistentHistory``) if the chain does not verify or no longer extends the newest
    checkpoint: a rewritten history is never signed."""
    if signer.name != origin:
        raise SigningKeyInvalid(f"the key is for {signer.name!r}, the log is {origin!r}")
    size = chain_length(session)
    last = newest(session)
    # The whole chain against every checkpoint signed so far (stored, and the copies kept
    # outside): a truncated or rewritten history is never signed.
    verified = verify_chain(session, public_key=signer.verifier_key, copy_dirs=copy_to or ())
    if not verified.ok:
        if verified.first_bad_seq is None:
            raise InconsistentHistory(f"{verified.problem}; not signing")
        raise ChainBroken(verified)
    sizes = [size] + ([last.tree_size] if last else [])
    roots = tree_roots(session, size, sizes)
    if last is not None and roots[last.tree_size].hex() != last.root_hash:
        raise InconsistentHistory(
            f"the first {last.tree_size} entries no longer have the root signed at "
            f"{last.created_at:%Y-%m-%d %H:%M} UTC: the log was rewritten; not signing")
    head_hash = (session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == size))
                 if size else GENESIS_HASH)
    note = signer.sign(offline.checkpoint_body(origin, size, roots[size]))
    with transaction(session):
        checkpoint = AuditCheckpoint(
            tree_size=size, root_hash=roots[size].hex(), head_hash=head_hash, origin=origin,
            key_name=signer.name, key_id=signer.key_id.hex(), note=note, created_at=now)
        session.add(checkpoint)
        session.add(AuditVerification(
            verified_at=now, scope="checkpoint", by="audit checkpoint", ok=True,
            entries_checked=size, head_seq=size, first_bad_seq=None, problem=""))
    copies = [write_checkpoint_file(directory, checkpoint) for directory in copy_to or []]
    return Made(checkpoint, copies)


def checkpoint_filename(size: int) -> str:
    return f"checkpoint-{size:012d}.txt"


def write_checkpoint_file(directory: Path, checkpoint: AuditCheckpoint) -> Path:
    """Copy a checkpoint out of the system (an auditor's drop folder, a witness's inbox)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / checkpoint_filename(checkpoint.tree_size)
    path.write_text(checkpoint.note, encoding="utf-8")
    return path


# --- Checking checkpoints in the app (the auditor's status page) ------------------------------


@dataclass(frozen=True)
class CheckpointStatus:
    count: int
    newest: AuditCheckpoint | None
    signature_ok: bool | None  # None: no public key configured or no checkpoint
    problem: str
    entries_since: int


def status(session: Session, public_key: str | None) -> CheckpointStatus:
    """The newest checkpoint and whether it verifies with the configured public key and still
    matches the entry it names as its head."""
    count = int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)
    last = newest(session)
    since = chain_length(session) - (last.tree_size if last else 0)
    if last is None or not public_key:
        return CheckpointStatus(count, last, None, "" if public_key else
                                "No public key is configured (AUDIT_PUBLIC_KEY).", since)
    try:
        key = offline.VerifierKey.parse(public_key)
        opened = offline.open_checkpoint(last.note, key)
    except (offline.InputUnreadable, offline.NoteInvalid) as exc:
        return CheckpointStatus(count, last, False, str(exc), since)
    head = (session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == last.tree_size))
            if last.tree_size else GENESIS_HASH)
    if opened.size != last.tree_size or opened.root.hex() != last.root_hash:
        return CheckpointStatus(count, last, False, "the stored columns differ from the signed "
                                "note", since)
    if head != last.head_hash:
        return CheckpointStatus(count, last, False, f"entry {last.tree_size} no longer has the "
                                "hash it had when it was checkpointed", since)
    return CheckpointStatus(count, last, True, "", since)


def record_verification(session: Session, result: VerifyResult, *, scope: str, by: str,
                        now: datetime) -> AuditVerification:
    with transaction(session):
        run = AuditVerification(
            verified_at=now, scope=scope, by=by[:160], ok=result.ok,
            entries_checked=result.entries_checked, head_seq=chain_length(session),
            first_bad_seq=result.first_bad_seq, problem=result.problem[:500])
        session.add(run)
    return run


def last_verifications(session: Session, limit: int = 5) -> list[AuditVerification]:
    return list(session.scalars(select(AuditVerification)
                                .order_by(AuditVerification.verified_at.desc(),
                                          AuditVerification.id.desc()).limit(limit)))


# --- The export bundle and proofs --------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    entries: int
    checkpoints: int
    head_hash: str


def export_bundle(session: Session, directory: Path, *, public_key: str, now: datetime,
                  origin: str) -> Exported:
    """Write the bundle an auditor verifies offline (see ``verify.py``'s docstring). The
    directory must be new or empty. Entries are copied as stored, so the verifier checks the
    database's own bytes."""
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty")
    (directory / offline.CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
    up_to = chain_length(session)
    head = GENESIS_HASH
    count = 0
    with (directory / offline.ENTRIES_FILE).open("wb") as out:
        for entry in iter_entries(session):
            if entry.seq > up_to:
                break
            out.write(offline.entry_line(entry.prev_hash, entry.entry_hash, entry.payload))
            head, count = entry.entry_hash, count + 1
    # Every checkpoint, also any larger than the log: a log cut below a signed checkpoint must
    # fail the auditor's verification, not lose the checkpoint that proves the cut.
    checkpoints = list(session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)))
    files = [write_checkpoint_file(directory / offline.CHECKPOINTS_DIR, checkpoint).name
             for checkpoint in checkpoints]
    session.rollback()  # end the read transaction (SQLite: do not hold the database)
    (directory / offline.PUBLIC_KEY_FILE).write_text(public_key.strip() + "\n", encoding="ascii")
    shutil.copyfile(VERIFIER_SOURCE, directory / "verify.py")
    manifest = {"format": "disclosure-audit-bundle/1", "origin": origin,
                "exported_at": now.isoformat(timespec="seconds"), "entries": count,
                "head_hash": head, "checkpoints": len(checkpoints), "checkpoint_files": files}
    (directory / offline.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    (directory / "README.txt").write_text(BUNDLE_README, encoding="utf-8")
    return Exported(count, len(checkpoints), head)


BUNDLE_README = """\
Decision log export (disclosure_app)

Verify it on any machine with Python 3.11+ and the `cryptography` package:

    python3 verify.py . --key /path/to/the/public-key/you/hold

Exit status 0 means the log is intact and matches every signed checkpoint; 1 names the first
entry that is wrong; 2 means something could not be read. Without --key the copy of the public
key in this folder is used, which only proves the export agrees with itself: check the key
against one obtained separately (the console shows it, and it was published when the log began).
Keep the checkpoint files: give them to later verifications with --checkpoint FILE, so that a
history rewritten after you saw it cannot go unnoticed.

Prove that one entry is in the log without the rest of it:

    python3 verify.py . --prove 1234 > proof.json
    python3 verify.py --check-proof proof.json --key public-key.txt
"""


def prove(session: Session, seq: int, *, size: int | None = None) -> dict[str, object]:
    """An inclusion proof (see ``verify.py --check-proof``) for entry ``seq`` in the newest
    checkpoint that covers it, or in the one of ``size``."""
    query = select(AuditCheckpoint).where(AuditCheckpoint.tree_size >= seq)
    if size is not None:
        query = query.where(AuditCheckpoint.tree_size == size)
    checkpoint = session.scalars(query.order_by(AuditCheckpoint.tree_size.desc()).limit(1)).first()
    if checkpoint is None:
        raise LookupError(f"no checkpoint covers entry {seq}: run `flask audit checkpoint`")
    entry = session.get(AuditEntry, seq)
    if entry is None:
        raise LookupError(f"entry {seq} does not exist")
    hashes = [h for chunk in _entry_hash_chunks(session, checkpoint.tree_size) for h in chunk]
    path = offline.inclusion_proof(hashes, seq - 1)
    return {
        "format": offline.PROOF_FORMAT, "seq": seq, "leaf_index": seq - 1,
        "tree_size": checkpoint.tree_size,
        "entry": {"prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash,
                  "payload": entry.payload},
        "path": [base64.b64encode(p).decode("ascii") for p in path],
        "checkpoint": checkpoint.note,
    }
