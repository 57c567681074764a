"""Staff accounts. The public never have one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base
from disclosure_app.models.types import enum_column, rank_column
from workflows.roles import Actor, Agency, Rank, Role


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    rank: Mapped[Rank | None] = mapped_column(rank_column(), nullable=True)
    agency: Mapped[Agency | None] = mapped_column(enum_column(Agency), nullable=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on sign-out and deactivation: the id in every session cookie carries it, so a copied
    # cookie stops working the moment the server says so (Flask's cookie sessions cannot).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]

    # Second factor (TOTP). Secrets are stored encrypted with a key held outside the database
    # (``disclosure_app.security.mfa``); the last accepted 30-second step makes every code
    # single-use.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    totp_pending_encrypted: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The sign-in in progress between the password and the code: a random challenge (stored as
    # SHA-256) that a replayed cookie cannot revive, and its count of wrong codes.
    mfa_challenge_hash: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    mfa_challenge_at: Mapped[datetime | None] = mapped_column(nullable=True)
    mfa_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # A one-time password (from an administrator or the bootstrap command) must be replaced.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    password_changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Brute-force control per account: failures in the current window, a temporary lock with
    # backoff (``lockouts`` in a row), and when the person should be told about it.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    failure_window_at: Mapped[datetime | None] = mapped_column(nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    lockouts: Mapped[int] = mapped_column(default=0, server_default="0")
    lock_notice_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def mfa_enrolled(self) -> bool:
        return self.totp_secret_encrypted is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def display_name(self) -> str:
        if self.rank is not None and self.role in (Role.case_officer, Role.decision_maker):
            return f"{self.rank.label} {self.full_name}"
        if self.agency is not None:
            return f"{self.full_name} ({self.agency.label})"
        return self.full_name

    def as_actor(self) -> Actor:
        return Actor(
            id=self.id, role=self.role, name=self.display_name, rank=self.rank, agency=self.agency
        )
