"""The tamper-evident decision log.

Each entry's ``payload`` is canonical JSON; ``entry_hash = SHA-256(prev_hash || payload)``. The
indexed columns repeat payload values for querying, and verification checks they agree, so an
edit to either is detected. Personal text never enters a payload: only its SHA-256.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from disclosure_app.db import Base

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.Index("ix_audit_entries_case", "case_id", "seq"),
        sa.Index("ix_audit_entries_actor", "actor_id", "seq"),
        sa.Index("ix_audit_entries_action", "action", "seq"),
        sa.Index("ix_audit_entries_category", "category", "seq"),
        sa.Index("ix_audit_entries_created", "created_at", "seq"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[datetime]
    actor_id: Mapped[int | None]
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    actor_name: Mapped[str] = mapped_column(sa.String(160))
    action: Mapped[str] = mapped_column(sa.String(64))
    category: Mapped[str] = mapped_column(sa.String(16))
    case_id: Mapped[int | None]
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_status: Mapped[str | None] = mapped_column(sa.String(32))
    payload: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    format_version: Mapped[int] = mapped_column(default=1)


class ChainHead(Base):
    """One row: the newest sequence number and hash. Appends lock it, so the chain never forks."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    entry_hash: Mapped[str] = mapped_column(sa.String(64), default=GENESIS_HASH)


class AuditCheckpoint(Base):
    """A signed tree head: the RFC 6962 root over the first ``tree_size`` entry hashes, as a
    C2SP signed note. One per size (a second, different root for a size would be a fork)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(unique=True)
    root_hash: Mapped[str] = mapped_column(sa.String(64))
    head_hash: Mapped[str] = mapped_column(sa.String(64))  # entry_hash of entry ``tree_size``
    origin: Mapped[str] = mapped_column(sa.String(200))
    key_name: Mapped[str] = mapped_column(sa.String(200))
    key_id: Mapped[str] = mapped_column(sa.String(8))
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class AuditVerification(Base):
    """One run of a verification of the log (what the auditor's status page reports)."""

    __tablename__ = "audit_verifications"
    __table_args__ = (sa.Index("ix_audit_verifications_at", "verified_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime]
    scope: Mapped[str] = mapped_column(sa.String(16))  # full, tail, checkpoint
    by: Mapped[str] = mapped_column(sa.String(160))
    ok: Mapped[bool]
    entries_checked: Mapped[int]
    head_seq: Mapped[int]
    first_bad_seq: Mapped[int | None]
    problem: Mapped[str] = mapped_column(sa.String(500), default="")


# Tables the application only ever appends to (the database refuses UPDATE and DELETE too).
APPEND_ONLY_MODELS: tuple[type[Base], ...] = (AuditEntry, AuditCheckpoint, AuditVerification)


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx: object, _instances: object) -> None:
    """First line of defence; the database triggers are the second (bulk statements skip this)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY_MODELS + _EXTRA_APPEND_ONLY):
            raise AuditLogIsAppendOnly(f"{type(obj).__tablename__} rows cannot be changed or "
                                       "deleted")


# Append-only models defined in other modules register themselves here.
_EXTRA_APPEND_ONLY: tuple[type[Base], ...] = ()


def register_append_only(model: type[Base]) -> None:
    global _EXTRA_APPEND_ONLY
    _EXTRA_APPEND_ONLY = (*_EXTRA_APPEND_ONLY, model)
