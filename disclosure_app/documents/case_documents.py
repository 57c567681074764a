"""Documents a case hands to people, and the signed copies it keeps (issue 4, "Sealed documents").

Generated documents (the confidentiality undertaking for the recipient to sign, the applicant's
outcome letter) are never stored: each is rebuilt from the case, deterministically, and the
SHA-256 of the exact bytes handed out is written into the audit chain in the same transaction
(an s.62 disclosure: what, to which kind of recipient, by whom). The case bundle rebuilds every
copy the chain records and checks it against that hash.

The signed undertaking comes back as a scan or photo. Its bytes are kept (``StoredDocument``)
and the ``record_undertaking`` step is sent through the workflow machine in the same
transaction, so the file, the step and the step's audit entry (which holds the file's SHA-256)
are saved together or not at all; a case with no approved disclosure is refused by the machine
and nothing is kept.

Uploads are recognised by their first bytes (PDF, PNG or JPEG), never by the name or the type the
browser claims; the stored name is made by the server.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.exc import StaleDataError

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.cases.queue import log_disclosure
from disclosure_app.cases.step_requests import FieldErrors, Replayed, Saved, Stale
from disclosure_app.cases.workflow import load_case_in_scope, run_machine, stale_case
from disclosure_app.core import idempotency
from disclosure_app.core.errors import (
    InputInvalid,
    NotFound,
    ServiceError,
    StaleCase,
    StepNotAllowed,
)
from disclosure_app.core.idempotency import AlreadySubmitted, Purpose
from disclosure_app.db import transaction
from disclosure_app.documents.pdf.letters import OutcomeLetter, build_outcome_letter
from disclosure_app.documents.pdf.undertaking import Undertaking, build_undertaking
from disclosure_app.models import AuditEntry, Case, CaseStep, StoredDocument, User
from workflows.errors import ActorNotPermitted, RationaleRequired
from workflows.policy import CasePolicy
from workflows.roles import Role
from workflows.status import Route, Status
from workflows.steps import DECISION_STEP_EVENTS

UNDERTAKING = "undertaking"
NON_DISCLOSURE_LETTER = "non_disclosure_letter"
CLOSURE_LETTER = "closure_letter"
KINDS = (UNDERTAKING, NON_DISCLOSURE_LETTER, CLOSURE_LETTER)
KIND_LABELS = {
    UNDERTAKING: "Confidentiality undertaking for the recipient to sign",
    NON_DISCLOSURE_LETTER: "Letter to the applicant (no disclosure)",
    CLOSURE_LETTER: "Letter to the applicant (neutral closure: disclosure made to someone else)",
}
GENERATED_ACTION = "document_generated"
STORED_OPENED_ACTION = "stored_document_opened"
SIGNED_UNDERTAKING = "signed_undertaking"
UNDERTAKING_EVENT = "record_undertaking"
DISCLOSURE_DECISIONS = frozenset({
    "approve_disclosure_to_applicant", "approve_disclosure_to_other", "approve_other_information",
})

# Who may produce a document for the applicant or the recipient, and who may read kept copies.
GENERATORS = frozenset({Role.case_officer, Role.decision_maker})
STORED_READERS = frozenset({Role.case_officer, Role.decision_maker, Role.auditor})

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_FIELD = "document"


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Letterhead:
    """Force details printed on documents (from configuration)."""

    force_name: str
    non_emergency_phone: str = "101"


@dataclass(frozen=True)
class GeneratedDocument:
    kind: str
    filename: str
    content: bytes
    sha256: str
    media_type: str = "application/pdf"


# --- Which documents a case may produce now --------------------------------------------------


def refusal(case: Case, kind: str) -> str | None:
    """Why ``kind`` cannot be produced for this case now, in plain words; None if it can."""
    if kind == UNDERTAKING:
        if case.status is not Status.disclosure_approved:
            return ("A confidentiality undertaking can only be produced while an approved "
                    "disclosure is waiting to be delivered. This case is at "
                    f"'{Status(case.status).label}'.")
        return None
    if kind == NON_DISCLOSURE_LETTER:
        if case.route is not Route.right_to_ask or case.applicant is None:
            return "A Right to Know case has no applicant to write to."
        if case.decision_outcome != "no_disclosure":
            return ("The non-disclosure letter is only for a case whose decision not to "
                    "disclose has been approved.")
        return None
    if kind == CLOSURE_LETTER:
        if case.route is not Route.right_to_ask or case.applicant is None:
            return "A Right to Know case has no applicant to write to."
        delivered = case.status in (Status.disclosure_delivered, Status.outcome_communicated,
                                    Status.closed)
        if not (case.decision_outcome == "disclosure" and case.recipient_is_applicant is False
                and delivered):
            return ("The neutral closure letter is only for an applicant who was not the "
                    "recipient of a disclosure, once that disclosure has been delivered.")
        return None
    return "There is no such document for a case."


def available_kinds(case: Case) -> list[str]:
    return [kind for kind in KINDS if refusal(case, kind) is None]


def recipient_type(case: Case, kind: str) -> str:
    """Who the document is for, as a code (names never enter the audit chain)."""
    if kind == UNDERTAKING and case.recipient_is_applicant is False:
        return "other_person"
    return "applicant"


# --- Building ---------------------------------------------------------------------------------


def _decision_step(session: Session, case: Case, before_seq: int | None) -> CaseStep | None:
    """The case's latest decision step (before the audit entry ``before_seq``, if given)."""
    query = select(CaseStep).where(CaseStep.case_id == case.id,
                                   CaseStep.event.in_(DECISION_STEP_EVENTS))
    if before_seq is not None:
        query = query.where(CaseStep.audit_seq < before_seq)
    return session.scalars(query.order_by(CaseStep.id.desc()).limit(1)).first()


def _recipient_name(session: Session, case: Case, before_seq: int | None) -> str:
    step = _decision_step(session, case, before_seq)
    if step is not None and step.event in DISCLOSURE_DECISIONS:
        name = str((step.data or {}).get("recipient_name") or "")
        if name:
            return name
    if case.recipient_is_applicant and case.applicant is not None:
        return case.applicant.full_name
    return ""


def _filename(kind: str, reference: str) -> str:
    if kind == UNDERTAKING:
        return f"confidentiality-undertaking-{reference}.pdf"
    # The same name for both letters: the name travels with the file (an email attachment, a
    # print queue) and must not say which outcome it is.
    return f"applicant-letter-{reference}.pdf"


def build(session: Session, case: Case, kind: str, *, at: datetime, letterhead: Letterhead,
          before_seq: int | None = None) -> GeneratedDocument:
    """The document as it is (or was, at ``at`` and before audit entry ``before_seq``)."""
    if kind == UNDERTAKING:
        content = build_undertaking(Undertaking(
            reference=case.reference,
            recipient_name=_recipient_name(session, case, before_seq),
            prepared_on=at.date(),
            force_name=letterhead.force_name,
            non_emergency_phone=letterhead.non_emergency_phone,
        ))
    else:
        applicant = case.applicant
        if applicant is None:  # refusal() says so first; a rebuild for the bundle may find it
            raise StepNotAllowed("The case holds no applicant details to address a letter to.")
        content = build_outcome_letter(OutcomeLetter(
            reference=case.reference,
            applicant_name=applicant.full_name,
            address=applicant.address,
            postcode=applicant.postcode,
            received_on=case.received_at.date(),
            dated=at.date(),
            force_name=letterhead.force_name,
            non_emergency_phone=letterhead.non_emergency_phone,
        ))
    return GeneratedDocument(kind, _filename(kind, case.reference), content,
                             hashlib.sha256(content).hexdigest())


def _require_role(user: User, roles: frozenset[Role], message: str) -> None:
    if user.role not in roles:
        raise ActorNotPermitted(message)


def generate(session: Session, user: User, case_id: int, kind: str, *, now: datetime,
             letterhead: Letterhead) -> GeneratedDocument:
    """Produce ``kind`` for the case and log its hand-over, in one transaction."""
    if kind not in KINDS:
        raise StepNotAllowed("There is no such document for a case.")
    _require_role(user, GENERATORS, "Only case officers and decision-makers can produce "
                  "documents for the applicant or the recipient.")
    with transaction(session):
        # Locked, so that the state the document was allowed in is the state it is logged in.
        case = load_case_in_scope(session, user, case_id, for_update=True)
        problem = refusal(case, kind)
        if problem:
            raise StepNotAllowed(problem)
        document = build(session, case, kind, at=now, letterhead=letterhead)
        log_disclosure(session, user, case.id, action=GENERATED_ACTION, now=now, details={
            "document": kind,
            "reference": case.reference,
            "recipient_type": recipient_type(case, kind),
            "sha256": document.sha256,
        })
    return document


# --- Uploads ----------------------------------------------------------------------------------

_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
TYPE_PROBLEM = "The selected file must be a PDF, PNG or JPEG"


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    content: bytes
    sha256: str


def _media_type(content: bytes) -> tuple[str, str] | None:
    for magic, media_type, extension in _SIGNATURES:
        if content.startswith(magic):
            if media_type == "image/png" and content[12:16] != b"IHDR":
                return None  # the signature alone, not an image
            if media_type == "application/pdf" and b"%%EOF" not in content[-2048:]:
                return None  # cut short: a PDF ends with %%EOF
            return media_type, extension
    return None


def safe_filename(claimed: str, extension: str, *, fallback: str = "signed-undertaking") -> str:
    """A name made by the server: the last path part of what the browser sent, reduced to plain
    letters, digits, dots and dashes, ending in the extension of the type found in the
    bytes (so a PNG is never served as ``.pdf``)."""
    base = re.split(r"[\\/]", claimed or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("-", stem).strip(".-")
    stem = re.sub(r"-{2,}", "-", stem)[:80].strip(".-") or fallback
    return f"{stem}.{extension}"


def inspect_upload(claimed_name: str, content: bytes, *, max_bytes: int) -> Upload:
    """Accept a signed copy or say why not (``InputInvalid`` on the upload field)."""
    if not content:
        raise InputInvalid({UPLOAD_FIELD: "The selected file is empty"})
    if len(content) > max_bytes:
        raise InputInvalid({UPLOAD_FIELD: f"The selected file must be smaller than "
                            f"{size_words(max_bytes)}"})
    found = _media_type(content)
    if found is None:
        raise InputInvalid({UPLOAD_FIELD: TYPE_PROBLEM})
    media_type, extension = found
    return Upload(safe_filename(claimed_name, extension), media_type, content,
                  hashlib.sha256(content).hexdigest())


def size_words(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


@dataclass(frozen=True)
class SignedUndertaking:
    case_id: int
    expected_version: int
    filename: str  # as the browser sent it; only used, cleaned, for the stored name
    content: bytes
    signed_on: date | str | None
    signed_by: str
    rationale: str
    submission_key: str | None = None


def record_signed_undertaking(
    session: Session,
    user: User,
    request: SignedUndertaking,
    *,
    policy: CasePolicy,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> StoredDocument:
    """Keep the signed copy and send ``record_undertaking``, in one transaction.

    Refusals store nothing: a bad file (``InputInvalid``), a case with no approved disclosure
    (``StepNotAllowed``, from the machine), a changed case (``StaleCase``), a form sent twice
    (``AlreadySubmitted``)."""
    upload = inspect_upload(request.filename, request.content, max_bytes=max_bytes)
    signed_on = request.signed_on.isoformat() if isinstance(request.signed_on, date) else (
        request.signed_on)
    data = {"signed_on": signed_on, "signed_by": request.signed_by,
            "document_sha256": upload.sha256, "document_name": upload.filename}
    try:
        with transaction(session):
            case = load_case_in_scope(session, user, request.case_id, for_update=True)
            idempotency.claim(session, request.submission_key, idempotency.Purpose.step, now=now,
                              case_id=case.id, event=UNDERTAKING_EVENT, user_id=user.id)
            if case.version != request.expected_version:
                raise StaleCase(case.updated_by_label, case.updated_at)
            step = run_machine(session, case, event=UNDERTAKING_EVENT, actor=user.as_actor(),
                               data=data, rationale=request.rationale, policy=policy, now=now)
            document = StoredDocument(
                case_id=case.id, kind=SIGNED_UNDERTAKING, filename=upload.filename,
                media_type=upload.media_type, size_bytes=len(upload.content),
                sha256=upload.sha256, content=upload.content, uploaded_by_id=user.id,
                uploaded_at=now, audit_seq=step.audit_seq,
            )
            session.add(document)
            session.flush()
            return document
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None
    except StaleDataError:
        raise stale_case(session, request.case_id) from None


# --- Reading kept copies -----------------------------------------------------------------------


class DocumentAltered(ServiceError):
    """A kept file no longer matches the SHA-256 the audit chain recorded for it."""


@dataclass(frozen=True)
class StoredFile:
    id: int
    kind: str
    filename: str
    media_type: str
    content: bytes
    sha256: str


def chain_sha256(session: Session, document: StoredDocument) -> str:
    """The SHA-256 the audit chain recorded when the file was kept (the step's entry holds it
    in clear); the row's own column if the entry names none."""
    if document.audit_seq is not None:
        entry = session.get(AuditEntry, document.audit_seq)
        if entry is not None:
            codes = json.loads(entry.payload).get("details", {}).get("codes", {})
            recorded = codes.get("document_sha256")
            if isinstance(recorded, str):
                return recorded
    return document.sha256


def stored_documents(session: Session, case_id: int) -> list[StoredDocument]:
    """The case's kept documents, oldest first, without their contents."""
    return list(session.scalars(select(StoredDocument).where(StoredDocument.case_id == case_id)
                                .order_by(StoredDocument.id)))


def open_stored(session: Session, user: User, case_id: int, document_id: int, *,
                now: datetime) -> StoredFile:
    """A kept document's bytes, checked against the chain, with the consultation logged."""
    _require_role(user, STORED_READERS, "Only police staff and auditors can open the documents "
                  "kept on a case.")
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        document = session.scalars(
            select(StoredDocument).options(undefer(StoredDocument.content))
            .where(StoredDocument.id == document_id, StoredDocument.case_id == case.id)
        ).first()
        if document is None:
            raise NotFound()
        actual = hashlib.sha256(document.content).hexdigest()
        if actual != chain_sha256(session, document):
            raise DocumentAltered(
                "This document's contents no longer match the fingerprint recorded in the "
                "decision log when it was kept, so it has not been opened. Report this to the "
                "service team: the stored copy may have been altered.")
        audit.append(session, now=now, actor=user.as_actor(), action=STORED_OPENED_ACTION,
                     category=Category.consultation, case_id=case.id, details={
                         "reference": case.reference, "document_id": document.id,
                         "document": document.kind, "sha256": actual})
        return StoredFile(document.id, document.kind, document.filename, document.media_type,
                          document.content, actual)


def public_summary(document: StoredDocument) -> dict[str, Any]:
    """What a list of kept documents shows (never the contents)."""
    return {"id": document.id, "kind": document.kind, "filename": document.filename,
            "media_type": document.media_type, "size_bytes": document.size_bytes,
            "uploaded_at": document.uploaded_at}


# --- The signed-undertaking form, answered in one call (as a step form is) ---------------------


@dataclass(frozen=True)
class SentUpload:
    """What the person sent on the signed-undertaking page (its file read only once the form
    passed its own checks)."""

    upload: SignedUndertaking
    form_valid: bool


def send_signed_undertaking(
    session: Session,
    user: User,
    case: Case,
    sent: SentUpload,
    *,
    policy: CasePolicy,
    now: datetime,
    max_bytes: int,
) -> Saved | Replayed | FieldErrors | Stale:
    """Answer the signed-undertaking form on ``case``: the ``record_undertaking`` step, whose
    record is a file (``documents.case_documents.record_signed_undertaking``, one transaction).
    The same answers as ``cases.step_requests.send``, in the same order, less those that cannot
    arise here."""
    upload = sent.upload
    if idempotency.earlier(session, upload.submission_key, Purpose.step, case_id=case.id,
                           event=UNDERTAKING_EVENT, user_id=user.id) is not None:
        return Replayed()
    if not (sent.form_valid and idempotency.is_well_formed(upload.submission_key)):
        return FieldErrors(case, {})
    try:
        document = record_signed_undertaking(session, user, upload, policy=policy, now=now,
                                             max_bytes=max_bytes)
    except AlreadySubmitted:
        return Replayed()
    except InputInvalid as exc:
        return FieldErrors(load_case_in_scope(session, user, case.id), exc.errors)
    except RationaleRequired as exc:
        return FieldErrors(load_case_in_scope(session, user, case.id), {"rationale": exc.message})
    except StaleCase as exc:
        log.info("signed undertaking on case %s by user %s refused: the case changed after the "
                 "form was opened", case.id, user.id)
        return Stale(load_case_in_scope(session, user, case.id), exc.message)
    return Saved(document)
