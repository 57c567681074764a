"""Retention reviews and legal holds on closed cases, and corrections of personal details
(disclosure_app.records).

The case itself carries its retention group, its next review date and, once disposed of, when;
every review and every hold is a row here and an entry in the audit chain.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base
from disclosure_app.privacy.sealed import Sealed

if TYPE_CHECKING:
    from disclosure_app.models.user import User


class RetentionReview(Base):
    """One MoPI review: retain (with the next review date) or dispose, and why."""

    __tablename__ = "retention_reviews"
    __table_args__ = (sa.Index("ix_retention_reviews_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    decision: Mapped[str] = mapped_column(sa.String(16))  # workflows.retention.Decision
    # About the record, not the people in it (the form says so): it stays readable after
    # disposal, as the reason the record was disposed of.
    reason: Mapped[str] = mapped_column(sa.Text)
    next_review_on: Mapped[date | None]
    reviewed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    reviewed_by: Mapped[User] = relationship()


class LegalHold(Base):
    """A hold (IOPC, court, complaint) that stops disposal until it is lifted."""

    __tablename__ = "legal_holds"
    __table_args__ = (sa.Index("ix_legal_holds_case", "case_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # workflows.retention.HoldKind
    reason: Mapped[str] = mapped_column(sa.Text)
    set_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    set_at: Mapped[datetime]
    set_audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str] = mapped_column(sa.Text, default="")
    lifted_audit_seq: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    set_by: Mapped[User] = relationship(foreign_keys=[set_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])


class Rectification(Base):
    """A personal detail corrected (DPA 2018 s.46): the value before and after, and why, sealed
    under the case's key like the detail itself, so auditors can read what it said."""

    __tablename__ = "rectifications"
    __table_args__ = (sa.Index("ix_rectifications_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    person: Mapped[str] = mapped_column(sa.String(16))  # applicant | subject | child
    person_row_id: Mapped[int]
    field: Mapped[str] = mapped_column(sa.String(40))
    old_value: Mapped[str] = mapped_column(Sealed())
    new_value: Mapped[str] = mapped_column(Sealed())
    reason: Mapped[str] = mapped_column(Sealed())
    by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    by: Mapped[User] = relationship()
