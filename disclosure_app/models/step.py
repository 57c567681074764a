"""The record of one workflow step: who did what, when, with which fields and rationale.

Append-only in practice (no code path updates or deletes one); its hash is in the audit chain.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base
from disclosure_app.models.types import enum_column
from disclosure_app.privacy.sealed import Sealed
from workflows.roles import Role
from workflows.status import Status

if TYPE_CHECKING:
    from disclosure_app.models.case import Case


class CaseStep(Base):
    __tablename__ = "case_steps"
    __table_args__ = (sa.Index("ix_case_steps_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    event: Mapped[str] = mapped_column(sa.String(64))
    from_status: Mapped[Status] = mapped_column(enum_column(Status))
    to_status: Mapped[Status] = mapped_column(enum_column(Status))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[Role] = mapped_column(enum_column(Role))
    actor_name: Mapped[str] = mapped_column(sa.String(160))
    actor_rank: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    # Sealed under the case's key: the fields and the rationale hold personal text. The audit
    # chain has their SHA-256 only, so it still verifies once the key is destroyed.
    data: Mapped[dict[str, Any]] = mapped_column(Sealed("json"))
    rationale: Mapped[str] = mapped_column(Sealed())
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))
    # For decisions: the rationale quality findings shown to the author, recorded with the step.
    quality: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    case: Mapped[Case] = relationship(back_populates="steps")
