"""Disposal by crypto-shredding, and the purge of short-lived rows.

For each record a review approved for disposal, with no legal hold in place:

1. its data key is destroyed in the key store, so that every copy of its personal data (this
   database, every backup of it, every export) can no longer be read;
2. its personal rows are deleted (applicant, children, subject, kept documents, link keys and
   rationale fingerprints) and the sealed text left on the case row is emptied;
3. an "erasure" entry (DPA 2018 s.62) is added to the audit chain. The chain holds only hashes of
   what was destroyed, so it still verifies, as do its signed checkpoints and exports.

The skeleton (reference, route, dates, states, outcome codes, retention group) stays, so that
management information and the annual return do not change. Steps, checks and identity decisions
stay too: their sealed fields no longer open, and their codes and dates are the skeleton.

Runs as ``flask records dispose`` with the owner role (the runtime role has no DELETE), a batch
at a time; a run that stops half-way is finished by the next (a destroyed key stays destroyed,
and the rows are deleted on the retry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.db import transaction
from disclosure_app.models import (
    Applicant,
    Case,
    CaseLinkKey,
    Child,
    LegalHold,
    RateLimitCounter,
    RationaleFingerprint,
    StoredDocument,
    Subject,
    SubmissionKey,
)
from disclosure_app.privacy.keystore import KeyStore

BATCH = 500
PERSONAL_ROWS = (Applicant, Child, Subject, StoredDocument, CaseLinkKey, RationaleFingerprint)
ACTOR = SystemActor(name="flask records dispose")


@dataclass
class DisposalReport:
    disposed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    keys_destroyed: int = 0
    purged: dict[str, int] = field(default_factory=dict)


def _held(case_id_column: object) -> object:
    return exists().where(LegalHold.case_id == case_id_column, LegalHold.lifted_at.is_(None))


def dispose_approved(session: Session, store: KeyStore, *, now: datetime,
                     limit: int | None = None, batch: int = BATCH) -> DisposalReport:
    report = DisposalReport()
    pending = (Case.disposal_approved_at.is_not(None), Case.personal_data_disposed_at.is_(None))
    report.held = list(session.scalars(select(Case.reference).where(*pending, _held(Case.id))
                                       .order_by(Case.id)))
    while limit is None or len(report.disposed) < limit:
        size = batch if limit is None else min(batch, limit - len(report.disposed))
        with transaction(session):
            cases = session.execute(
                select(Case.id, Case.reference, Case.data_key_id, Case.retention_group)
                .where(*pending, ~_held(Case.id)).order_by(Case.id).limit(size)
                .with_for_update(of=Case)).all()
            if not cases:
                break
            ids = [c.id for c in cases]
            # The key first: once it is gone the data is unreadable everywhere, whatever
            # happens to the rest of this transaction (a retry finishes the deletions).
            report.keys_destroyed += store.destroy([c.data_key_id for c in cases
                                                   if c.data_key_id], "disposal")
            for model in PERSONAL_ROWS:
                session.execute(delete(model).where(model.case_id.in_(ids)))
            session.execute(update(Case).where(Case.id.in_(ids)).values(
                personal_data_disposed_at=now, concern=b"", status_token_hash=None,
                extension_request=None, version=Case.version + 1)
                .execution_options(synchronize_session=False))
            for c in cases:
                audit.append(session, now=now, actor=ACTOR, action="personal_data_disposed",
                             category=Category.erasure, case_id=c.id,
                             details={"reference": c.reference, "data_key_id": c.data_key_id,
                                      "retention_group": c.retention_group})
            report.disposed.extend(c.reference for c in cases)
    return report


def purge_expired(session: Session, *, now: datetime, submission_key_days: int) -> dict[str, int]:
    """Rows that were only ever needed for a short time: form keys past the replay window, and
    rate-limit counters whose window has closed. (Sessions are signed cookies: nothing of them
    is kept on the server to purge.)"""
    with transaction(session):
        keys = session.execute(delete(SubmissionKey).where(
            SubmissionKey.created_at < now - timedelta(days=submission_key_days))).rowcount
        counters = session.execute(delete(RateLimitCounter).where(
            RateLimitCounter.expires_at < now.timestamp())).rowcount
    return {"submission_keys": keys or 0, "rate_limit_counters": counters or 0}
