"""Security bookkeeping: second-factor resets that need two administrators, and the counters
the rate limiter shares between processes and hosts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base


class MfaResetRequest(Base):
    """Admin A asks for a person's authenticator to be reset; only admin B's approval clears it
    (ASVS V6.4.6): one administrator alone cannot take over an account's second factor."""

    __tablename__ = "mfa_reset_requests"
    __table_args__ = (sa.Index("ix_mfa_reset_requests_open", "approved_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(500))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RateLimitCounter(Base):
    """One fixed-window counter of the rate limiter (``disclosure_app.rate_limits``)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
