"""Notifications to staff: shown in the app, and e-mailed when SMTP is configured.

A notification says which case (its reference and a link) and what needs attention, never a
name, an address or an outcome. ``dedupe_key`` is unique: the same event raised twice (two
``clocks tick`` runs at once, a retried request) stores one notification.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The header's unread count and the list: one user's notifications, newest first.
        sa.Index("ix_notifications_user", "user_id", "read_at", "id"),
        # The mailer's queue.
        sa.Index("ix_notifications_email", "email_state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    case_reference: Mapped[str | None] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    # "none" (no e-mail wanted or configured), "pending", "sent" or "failed".
    email_state: Mapped[str] = mapped_column(sa.String(10), default="none", server_default="none")
    emailed_at: Mapped[datetime | None]
