"""Reasons for opening a case's sensitive sections (DPA 2018 s.62(2): a consultation log must
make its justification possible to establish; SECURITY.md SEC-31).

Before the subject's details, the children's details or the risk check are shown, the viewer
picks a reason (a code) and may add a short note; ``give_reason`` records both, once per case
per sign-in session, as a consultation entry in the decision log (the code in clear, the note as
SHA-256) plus an ``AccessReason`` row holding the note beside the case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import transaction
from disclosure_app.models import AccessReason, AuditEntry, User

REASON_GIVEN = "sensitive_access_justified"

REASONS: dict[str, str] = {
    "case_work": "I am working on this case (assigned, or covering for the officer)",
    "decision": "I am making or preparing the disclosure decision",
    "supervision": "Supervisory review of the case",
    "partner_contribution": "Contributing my agency's information to this case",
    "audit": "Audit, professional standards or data protection review",
    "other": "Another reason (say what)",
}

SECTIONS: dict[str, str] = {
    "subject": "the subject's and children's details",
    "risk_check": "the risk check",
    "decision_record": "the decision record (PDF)",
}

NOTE_MAX = 200


def give_reason(session: Session, user: User, case_id: int, *, reason_code: str, note: str,
                section: str, now: datetime) -> AuditEntry:
    note = " ".join(note.split())
    errors = {}
    if reason_code not in REASONS:
        errors["reason"] = "Select why you need to see these details"
    elif reason_code == "other" and not note:
        errors["note"] = "Say why you need to see these details"
    if len(note) > NOTE_MAX:
        errors["note"] = f"Keep the reason to {NOTE_MAX} characters or fewer"
    if section not in SECTIONS:
        errors["section"] = "That section is not known"
    if errors:
        raise InputInvalid(errors)
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        entry = audit.append(
            session, now=now, actor=user.as_actor(), action=REASON_GIVEN,
            category=Category.consultation, case_id=case.id,
            details={"reference": case.reference, "section": section, "reason_code": reason_code,
                     "note_sha256": sha256_hex(note)})
        session.add(AccessReason(case_id=case.id, user_id=user.id, reason_code=reason_code,
                                 note=note, created_at=now, audit_seq=entry.seq))
    return entry


def reasons_for(session: Session, seqs: list[int]) -> dict[int, AccessReason]:
    """The reason rows behind these consultation entries, by entry number."""
    if not seqs:
        return {}
    rows = session.scalars(select(AccessReason).where(AccessReason.audit_seq.in_(seqs)))
    return {row.audit_seq: row for row in rows}


def note_matches(reason: AccessReason, entry: AuditEntry) -> bool:
    """Whether the stored note is still the one whose hash was logged."""
    import json

    details = json.loads(entry.payload).get("details", {})
    return details.get("note_sha256") == sha256_hex(reason.note)
