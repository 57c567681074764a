"""Security records, apart from the s.62 decision log.

- The security event log (SECURITY.md SEC-32): sign-ins, failed sign-ins, second-factor
  failures, lockouts, authorisation denials, CSRF failures. Separate from the decision log:
  these events are about the service's security, not about processing personal data, and an
  anonymous visitor can cause them, so they must not be able to grow the signed chain. Rows hold
  ids, codes and hashes only: never a password, code, cookie or token, and never the text
  someone typed as an email address (only its SHA-256).
- Second-factor resets that need two administrators.
- The counters the rate limiter shares between processes and hosts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base
from disclosure_app.models.audit import register_append_only


class SecurityEvent(Base):
    __tablename__ = "security_events"
    __table_args__ = (
        sa.Index("ix_security_events_at", "occurred_at", "id"),
        sa.Index("ix_security_events_user", "user_id", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(32))
    user_id: Mapped[int | None]  # no foreign key: an event may name an account later removed
    client_ip: Mapped[str] = mapped_column(sa.String(45), default="")
    method: Mapped[str] = mapped_column(sa.String(8), default="")
    endpoint: Mapped[str] = mapped_column(sa.String(100), default="")
    details: Mapped[str] = mapped_column(sa.Text, default="{}")  # canonical JSON: codes only


register_append_only(SecurityEvent)


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
    """One fixed-window counter of the rate limiter (``disclosure_app.security.rate_limits``)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
