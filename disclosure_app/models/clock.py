"""The case clocks' index, force closure days, the scheduler's lease and the fitted forecast.

``CaseClock`` is derived from the case (its target dates and status) by
``disclosure_app.clocks.service.sync_clocks`` after every step, like ``stage`` follows
``status``. It exists so that ``clocks tick`` finds the clocks whose next threshold has passed
through one index range (``next_at``) instead of scanning open cases.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from disclosure_app.db import Base


class CaseClock(Base):
    __tablename__ = "case_clocks"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "clock"),
        # The tick's only read: clocks whose next threshold has passed.
        sa.Index("ix_case_clocks_next_at", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    clock: Mapped[str] = mapped_column(sa.String(20))  # workflows.clocks.ClockName
    due_at: Mapped[datetime]
    near_at: Mapped[datetime]
    # workflows.clocks.ClockState as of the last sync or tick.
    state: Mapped[str] = mapped_column(sa.String(16))
    # When the state next changes if nothing happens (None: stopped or already breached).
    next_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    # The breach forecast says this target is likely to be missed (refreshed with each daily
    # fit, disclosure_app.clocks.forecasting.flag_open_cases): the workload page counts them.
    likely_breach: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class ClosureDay(Base):
    """A day the force's unit is closed (added by an administrator): not a working day."""

    __tablename__ = "closure_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(sa.String(200))
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class SchedulerLease(Base):
    """One row per scheduled job: the host holding it and until when (several app hosts run the
    same cron line; only the holder of an unexpired lease works)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    expires_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]


class ForecastFit(Base):
    """The breach forecast fitted from closed cases (workflows.forecast), newest row used."""

    __tablename__ = "forecast_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime]
    sample_size: Mapped[int]
    model_json: Mapped[str] = mapped_column(sa.Text)


class HistoricalCase(Base):
    """A case closed before this system (imported from the force's previous case management
    system by ``flask clocks import-history``): only its route and milestone dates, never a
    person, so that a new force's breach forecast starts from its own record."""

    __tablename__ = "historical_cases"
    __table_args__ = (sa.Index("ix_historical_cases_closed", "closed_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(120))
    source_reference: Mapped[str] = mapped_column(sa.String(60), unique=True)
    route: Mapped[str] = mapped_column(sa.String(20))
    received_on: Mapped[date]
    checks_done_on: Mapped[date | None]
    interviewed_on: Mapped[date | None]
    assessed_on: Mapped[date | None]
    closed_on: Mapped[date]
    imported_at: Mapped[datetime]
