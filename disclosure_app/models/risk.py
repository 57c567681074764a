"""What the risk check records on a case: the checklist, the identity decisions, and links
between cases (automatic keys and manual links).

Each row is written in the same transaction as its audit entry (``audit_seq``). Check records
and identity decisions are appended, never edited: the newest record for a source is its state.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base
from disclosure_app.privacy.sealed import Sealed

if TYPE_CHECKING:
    from disclosure_app.models.case import Case
    from disclosure_app.models.register import RegisterPerson
    from disclosure_app.models.user import User


class CaseCheck(Base):
    __tablename__ = "case_checks"
    __table_args__ = (sa.Index("ix_case_checks_case", "case_id", "source", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    source: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))  # workflows.checks.CheckOutcome
    checked_on: Mapped[date | None]
    checked_by: Mapped[str] = mapped_column(sa.String(160), default="")
    # What a source said about the people, and why it was not checked: sealed under the case's
    # key (disclosure_app.privacy).
    result_summary: Mapped[str] = mapped_column(Sealed(), default="")
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    reason: Mapped[str] = mapped_column(Sealed(), default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    recorded_by: Mapped[User] = relationship()


class IdentityDecision(Base):
    """One step in resolving who the subject is: a proposed match (then confirmed or rejected by
    a second person), or "no trace"."""

    __tablename__ = "identity_decisions"
    __table_args__ = (sa.Index("ix_identity_decisions_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # "match" or "no_trace"
    person_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("register_people.id"))
    person_id: Mapped[str | None] = mapped_column(sa.String(64))
    identifiers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    references: Mapped[dict[str, Any]] = mapped_column(Sealed("json"), default=dict)
    classification: Mapped[str | None] = mapped_column(sa.String(20))
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    note: Mapped[str] = mapped_column(Sealed(), default="")
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    # "proposed" → "confirmed" | "rejected"; "no_trace" rows are final when written.
    state: Mapped[str] = mapped_column(sa.String(16))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Sealed(), default="")

    person: Mapped[RegisterPerson | None] = relationship()
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


class CaseLinkKey(Base):
    """What makes two cases about the same subject, child or applicant: a normalised name with a
    date of birth or postcode, or a confirmed register id. Equal keys link cases."""

    __tablename__ = "case_link_keys"
    __table_args__ = (
        sa.Index("ix_case_link_keys_key", "kind", "key", "case_id"),
        sa.UniqueConstraint("case_id", "kind", "key", name="uq_case_link_keys_case_kind_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # subject | child | applicant
    key: Mapped[str] = mapped_column(sa.String(200))


class CaseLink(Base):
    """A link made by hand, with a reason. Stored once per pair (lower case id first)."""

    __tablename__ = "case_links"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "linked_case_id", name="uq_case_links_pair"),
        sa.Index("ix_case_links_linked", "linked_case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    linked_case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    reason: Mapped[str] = mapped_column(Sealed())  # sealed under the first case's key
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    case: Mapped[Case] = relationship(foreign_keys=[case_id])
    linked_case: Mapped[Case] = relationship(foreign_keys=[linked_case_id])
