"""Teams (units), who belongs to them, temporary cover, and the history of who held each case.

A case lands in a team (by the child's postcode district, else the default team) and stays
unallocated until an officer claims it or a supervisor assigns it. Nothing here is deleted:
a member who leaves gets ``removed_at``, a cover that ends early gets ``ended_at``, so every past
allocation can still be explained.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base

if TYPE_CHECKING:
    from disclosure_app.models.user import User


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Outward postcode districts ("NS1 NS2 NX14"), upper case, space separated: a new case whose
    # child lives in one of them lands in this team.
    postcode_districts: Mapped[str] = mapped_column(sa.String(1000), default="")
    # New cases no district rule claims land here; exactly one active team has it.
    is_default: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime]

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", order_by="TeamMember.id", viewonly=True
    )

    @property
    def districts(self) -> list[str]:
        return self.postcode_districts.split()


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "user_id"),
        sa.Index("ix_team_members_user", "user_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime]
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    removed_at: Mapped[datetime | None]

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class OfficerCover(Base):
    """One officer covering another's cases from ``starts_on`` to ``ends_on`` (inclusive)."""

    __tablename__ = "officer_covers"
    __table_args__ = (
        sa.Index("ix_officer_covers_cover", "cover_user_id", "ends_on"),
        sa.Index("ix_officer_covers_absent", "absent_user_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    absent_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    cover_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # ended early by a supervisor

    absent_user: Mapped[User] = relationship(foreign_keys=[absent_user_id])
    cover_user: Mapped[User] = relationship(foreign_keys=[cover_user_id])


class CaseAllocation(Base):
    """Who held a case from when: every claim, assignment and reassignment, with its reason and
    the audit entry that records it. Append-only."""

    __tablename__ = "case_allocations"
    __table_args__ = (sa.Index("ix_case_allocations_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(sa.String(20))  # claim, assign, reassign, bulk_reassign
    from_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    from_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    to_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    by_user: Mapped[User] = relationship(foreign_keys=[by_user_id])
