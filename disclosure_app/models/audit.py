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


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _ctx: object, _instances: object) -> None:
    """First line of defence; the database triggers are the second (bulk statements skip this)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")
