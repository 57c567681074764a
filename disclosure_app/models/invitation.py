"""Partner-agency members invited to take part in one case's multi-agency decision."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base

if TYPE_CHECKING:
    from disclosure_app.models.case import Case
    from disclosure_app.models.user import User


class CaseInvitation(Base):
    __tablename__ = "case_invitations"
    __table_args__ = (sa.UniqueConstraint("case_id", "user_id"),
                      sa.Index("ix_case_invitations_user", "user_id", "case_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    invited_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="invitations")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
