"""The security event log (SECURITY.md SEC-32): sign-ins, failed sign-ins, authorisation
denials, CSRF failures and, as they arrive, MFA failures and lockouts.

Separate from the s.62 decision log: these events are about the service's security, not about
processing personal data, and an anonymous visitor can cause them, so they must not be able to
grow the signed chain. Rows hold ids, codes and hashes only: never a password, code, cookie or
token, and never the text someone typed as an email address (only its SHA-256).
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
