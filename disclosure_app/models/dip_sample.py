"""Dip sampling: a random share of closed no-disclosure cases drawn for a second review.

A wrong "nothing to disclose" is the silent failure (DOMAIN.md; the Wiltshire re-review), so a
configurable share of closed no-disclosure cases is drawn at random, and a decision-maker who took
no part in the decision records whether it stands. A draw records the population it was taken
from, so an inspector can check the share really was applied.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base

if TYPE_CHECKING:
    from disclosure_app.models.case import Case
    from disclosure_app.models.user import User


class DipSampleDraw(Base):
    __tablename__ = "dip_sample_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    drawn_at: Mapped[datetime]
    drawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: CLI
    drawn_by_label: Mapped[str] = mapped_column(sa.String(160))
    share_percent: Mapped[int]  # whole per cent, 1..100
    closed_from: Mapped[date]
    closed_to: Mapped[date]
    population: Mapped[int]  # eligible cases not already sampled
    selected: Mapped[int]
    audit_seq: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    samples: Mapped[list[DipSample]] = relationship(back_populates="draw",
                                                    order_by="DipSample.id")


class DipSample(Base):
    __tablename__ = "dip_samples"
    __table_args__ = (sa.Index("ix_dip_samples_pending", "reviewed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("dip_sample_draws.id"))
    # A case is drawn at most once: a second review of the same decision would be a new review.
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(sa.String(40))
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    follow_up: Mapped[str] = mapped_column(sa.Text, default="")
    audit_seq: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_entries.seq"))

    draw: Mapped[DipSampleDraw] = relationship(back_populates="samples")
    case: Mapped[Case] = relationship()
    reviewer: Mapped[User | None] = relationship()
