"""The case bundle: everything a reviewer (the IOPC, an inspector, a court) needs to test a case's
decisions, in one ZIP file, with a manifest of SHA-256 fingerprints.

What it holds:

- ``decision-record-<reference>.pdf``: the decision record, produced now;
- ``generated/<seq>-<kind>.pdf``: every document the case handed to someone (the undertaking,
  the applicant's letter), rebuilt as it was at its audit entry ``<seq>``; the manifest says
  whether the rebuilt bytes still match the SHA-256 the chain recorded when it was handed out;
- ``stored/<id>-<name>``: every kept file (the signed undertaking), checked the same way against
  the SHA-256 in the entry that recorded it;
- ``audit-entries.json``: the case's audit entries exactly as the chain holds them, so that
  anyone can recompute ``entry_hash = SHA-256(prev_hash as bytes || payload as UTF-8)``;
- ``manifest.json``: the size and SHA-256 of every other file, the chain head when the bundle
  was made, and who made it.

The ZIP is deterministic (fixed timestamps and permissions, names sorted), so the same contents
always give the same bytes. The export is itself a disclosure and is logged, with the bundle's
SHA-256, in the same transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from disclosure_app.cases.queue import log_disclosure
from disclosure_app.cases.step_display import people_names
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.documents import case_documents as documents
from disclosure_app.documents.pdf.records import build_case_record
from disclosure_app.models import AuditEntry, Case, ChainHead, StoredDocument, User
from disclosure_app.models.audit import GENESIS_HASH
from workflows.errors import ActorNotPermitted
from workflows.roles import Role

FORMAT_VERSION = 1
EXPORT_ACTION = "case_bundle_exported"
HASH_RULE = ("entry_hash = SHA-256(bytes.fromhex(prev_hash) + payload.encode('utf-8')); each "
             "entry's prev_hash is the entry_hash of the entry before it in the whole log, which "
             "may belong to another case")
# 1980-01-01 is the earliest time a ZIP entry can carry: a fixed stamp keeps the bytes the same.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass
class _Contents:
    files: dict[str, bytes]
    notes: dict[str, dict[str, Any]]  # extra manifest fields per file name
    not_rebuilt: list[dict[str, Any]]  # documents the chain records that could not be rebuilt

    def add(self, name: str, content: bytes, **note: Any) -> None:
        if name in self.files:
            raise ValueError(f"two files named {name} in one bundle")
        self.files[name] = content
        self.notes[name] = note


def audit_entry_record(entry: AuditEntry) -> dict[str, Any]:
    """One entry as the chain holds it (the payload is the exact hashed text, not re-encoded)."""
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "action": entry.action,
        "category": entry.category,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _generated_copies(session: Session, case: Case, entries: list[AuditEntry],
                      letterhead: documents.Letterhead, contents: _Contents) -> None:
    for entry in entries:
        if entry.action != documents.GENERATED_ACTION:
            continue
        details = json.loads(entry.payload).get("details", {})
        kind = details.get("document")
        if kind not in documents.KINDS:
            continue
        try:
            rebuilt = documents.build(session, case, kind, at=entry.created_at,
                                      letterhead=letterhead, before_seq=entry.seq)
        except StepNotAllowed as exc:  # e.g. the applicant's details have since been erased
            contents.not_rebuilt.append({"audit_seq": entry.seq, "document": kind,
                                         "chain_sha256": details.get("sha256"),
                                         "reason": exc.message})
            continue
        contents.add(f"generated/{entry.seq:08d}-{kind}.pdf", rebuilt.content,
                     audit_seq=entry.seq, chain_sha256=details.get("sha256"),
                     matches_chain=rebuilt.sha256 == details.get("sha256"))


def _stored_copies(session: Session, case: Case, contents: _Contents) -> None:
    kept = session.scalars(
        select(StoredDocument).options(undefer(StoredDocument.content))
        .where(StoredDocument.case_id == case.id).order_by(StoredDocument.id)
    )
    for document in kept:
        recorded = documents.chain_sha256(session, document)
        actual = hashlib.sha256(document.content).hexdigest()
        contents.add(f"stored/{document.id:06d}-{document.filename}", document.content,
                     kind=document.kind, audit_seq=document.audit_seq, chain_sha256=recorded,
                     matches_chain=actual == recorded)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the permissions below mean the same everywhere
            info.external_attr = 0o100600 << 16  # a regular file, readable by its owner only
            archive.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


def _manifest(case: Case, user: User, contents: _Contents, *, now: datetime,
              head: tuple[int, str]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "reference": case.reference,
        "case_id": case.id,
        "exported_at": now.isoformat(timespec="microseconds"),
        "exported_by": {"user_id": user.id, "name": user.display_name, "role": str(user.role)},
        "chain_head_at_export": {"seq": head[0], "entry_hash": head[1]},
        "audit_hash_rule": HASH_RULE,
        "documents_not_rebuilt": contents.not_rebuilt,
        "files": [
            {"name": name, "size": len(content),
             "sha256": hashlib.sha256(content).hexdigest(), **contents.notes[name]}
            for name, content in sorted(contents.files.items())
        ],
    }


def export_case_bundle(session: Session, user: User, case_id: int, *, now: datetime,
                       letterhead: documents.Letterhead) -> tuple[str, bytes]:
    """The bundle's file name and bytes; the export is logged in the same transaction."""
    if user.role is not Role.auditor:
        raise ActorNotPermitted("Only auditors can export a case bundle.")
    with transaction(session):
        # Locked: the record, the copies and the entries all describe one moment of the case.
        case = load_case_in_scope(session, user, case_id, for_update=True)
        steps = list(case.steps)
        entries = list(session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.seq)))
        contents = _Contents({}, {}, [])
        contents.add(f"decision-record-{case.reference}.pdf", build_case_record(
            case, steps, force_name=letterhead.force_name, generated_at=now,
            generated_by=f"{user.display_name} ({user.role.label})",
            people=people_names(session, steps)))
        contents.add("audit-entries.json",
                     _json_bytes([audit_entry_record(entry) for entry in entries]),
                     entries=len(entries))
        _generated_copies(session, case, entries, letterhead, contents)
        _stored_copies(session, case, contents)
        head = session.execute(
            select(ChainHead.seq, ChainHead.entry_hash).where(ChainHead.id == 1)).first()
        manifest = _manifest(case, user, contents, now=now,
                             head=(head.seq, head.entry_hash) if head else (0, GENESIS_HASH))
        files = {**contents.files, "manifest.json": _json_bytes(manifest)}
        bundle = _zip(files)
        log_disclosure(session, user, case.id, action=EXPORT_ACTION, now=now, details={
            "document": "case_bundle",
            "reference": case.reference,
            "recipient_user_id": user.id,
            "files": len(files),
            "sha256": hashlib.sha256(bundle).hexdigest(),
        })
    return f"case-bundle-{case.reference}.zip", bundle
