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
