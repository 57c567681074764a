"""The breach forecast, fed from this force's own closed cases (``workflows.forecast``).

The model is refitted by ``clocks tick`` when it is older than ``FORECAST_REFIT_HOURS`` (or by
``flask clocks forecast``) from the most recent ``FORECAST_HISTORY_CASES`` fully closed cases,
and stored as JSON in ``forecast_fits``. Pages read the newest fit once per process and fit id,
so a queue page costs a few bisections per case, never a pass over the history. With no fit
stored yet, the model is the stated prior alone (and says so: ``used_prior``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from disclosure_app.clocks.service import CLOCK_COLUMNS
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseClock, ForecastFit, HistoricalCase
from workflows.clocks import ClockName, ClockPolicy
from workflows.forecast import (
    ENDS_AT,
    ClosedCase,
    Forecast,
    ForecastModel,
    Milestone,
    Prior,
    forecast,
    likely_to_breach,
    milestones_of,
)
from workflows.status import Status
from workflows.working_calendar import WorkingCalendar

# The case attribute recording when each milestone was reached.
MILESTONE_AT: dict[Milestone, str] = {
    Milestone.received: "received_at",
    Milestone.checks_done: "checks_done_at",
    Milestone.interviewed: "interview_done_at",
    Milestone.assessed: "assessment_done_at",
    Milestone.closed: "closed_at",
}

_cache: dict[str, tuple[int, ForecastModel]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class CaseForecast:
    completion: datetime | None  # the forecast completion date (end of that working day)
    likely_breaches: list[ClockName]
    chances: dict[ClockName, float]
    used_prior: bool


def _offsets(case: Case, calendar: WorkingCalendar) -> dict[Milestone, int]:
    received = calendar.local_date(case.received_at)
    offsets = {}
    for milestone in milestones_of(str(case.route)):
        at = getattr(case, MILESTONE_AT[milestone])
        if at is not None:
            offsets[milestone] = max(0, calendar.working_days_between(
                received, calendar.local_date(at)))
    return offsets


def history(session: Session, calendar: WorkingCalendar, limit: int) -> list[ClosedCase]:
    """The most recent fully closed cases (by target date), as working-day offsets, topped up
    with cases imported from the force's previous system (``clocks.history``)."""
    cases = [ClosedCase(str(case.route), _offsets(case, calendar)) for case in session.scalars(
        select(Case).where(Case.status == Status.closed)
        .order_by(Case.decision_due_at.desc(), Case.id.desc()).limit(limit))]
    older = session.scalars(select(HistoricalCase).order_by(
        HistoricalCase.closed_on.desc(), HistoricalCase.id.desc()).limit(limit - len(cases)))
    return cases + [ClosedCase(row.route, _historical_offsets(row, calendar)) for row in older]


def _historical_offsets(row: HistoricalCase, calendar: WorkingCalendar) -> dict[Milestone, int]:
    days = {Milestone.received: row.received_on, Milestone.checks_done: row.checks_done_on,
            Milestone.interviewed: row.interviewed_on, Milestone.assessed: row.assessed_on,
            Milestone.closed: row.closed_on}
    return {milestone: max(0, calendar.working_days_between(row.received_on, day))
            for milestone, day in days.items() if day is not None}


def refit(session: Session, calendar: WorkingCalendar, clocks: ClockPolicy, *, now: datetime,
          min_sample: int, limit: int, threshold: float = 0.5) -> ForecastFit:
    """Fit the model from the history and store it (one transaction), then mark the open
    cases' clocks likely to breach by it (``flag_open_cases``)."""
    with transaction(session):
        cases = history(session, calendar, limit)
        model = ForecastModel.fit(cases, min_sample=min_sample, prior=Prior.from_policy(clocks))
        fit = ForecastFit(fitted_at=now, sample_size=len(cases), model_json=model.to_json())
        session.add(fit)
    flag_open_cases(session, model, calendar, now, threshold)
    return fit


FLAG_BATCH = 2000


def flag_open_cases(session: Session, model: ForecastModel, calendar: WorkingCalendar,
                    now: datetime, threshold: float) -> int:
    """Mark every open case's running clocks likely to breach, or not, by ``model`` (batches
    of open cases by id, each its own transaction); the number of clocks marked likely."""
    flagged, after = 0, 0
    while True:
        with transaction(session):
            cases = list(session.scalars(
                select(Case).where(Case.is_open.is_(True), Case.id > after)
                .order_by(Case.id).limit(FLAG_BATCH)))
            if not cases:
                return flagged
            likely = set()
            for case in cases:
                outlook = case_forecast(case, model, calendar, now, threshold)
                likely |= {(case.id, c.value) for c in (outlook.likely_breaches if outlook else [])}
            ids = [case.id for case in cases]
            session.execute(update(CaseClock).where(CaseClock.case_id.in_(ids))
                            .values(likely_breach=False))
            for case_id, clock in likely:
                session.execute(update(CaseClock).where(
                    CaseClock.case_id == case_id, CaseClock.clock == clock,
                    CaseClock.stopped_at.is_(None)).values(likely_breach=True))
            flagged += len(likely)
            after = ids[-1]


def refit_if_stale(session: Session, calendar: WorkingCalendar, clocks: ClockPolicy, *,
                   now: datetime, min_sample: int, limit: int, max_age_hours: float,
                   threshold: float = 0.5) -> ForecastFit | None:
    newest = session.scalars(select(ForecastFit).order_by(ForecastFit.id.desc()).limit(1)).first()
    if newest is not None and now - newest.fitted_at < timedelta(hours=max_age_hours):
        return None
    return refit(session, calendar, clocks, now=now, min_sample=min_sample, limit=limit,
                 threshold=threshold)


def current_model(session: Session, clocks: ClockPolicy, min_sample: int) -> ForecastModel:
    """The newest stored fit (cached per process), or the prior alone if none is stored."""
    fit_id = session.scalar(select(ForecastFit.id).order_by(ForecastFit.id.desc()).limit(1))
    key = str(session.get_bind().url)
    with _cache_lock:
        cached = _cache.get(key)
    if fit_id is not None and cached is not None and cached[0] == fit_id:
        return cached[1]
    if fit_id is None:
        return ForecastModel.fit([], min_sample=min_sample, prior=Prior.from_policy(clocks))
    model = ForecastModel.from_json(session.get_one(ForecastFit, fit_id).model_json)
    with _cache_lock:
        _cache[key] = (fit_id, model)
    return model


def case_forecast(case: Case, model: ForecastModel, calendar: WorkingCalendar, now: datetime,
                  threshold: float) -> CaseForecast | None:
    """The forecast for one open case (None for a closed one)."""
    if case.status is None or Status(case.status).is_terminal:
        return None
    route = str(case.route)
    offsets = _offsets(case, calendar)
    reached = max(offsets, key=milestones_of(route).index)
    received = calendar.local_date(case.received_at)
    today = calendar.local_date(now)
    since_received = max(0, calendar.working_days_between(received, today))
    since_reached = max(0, min(since_received, since_received - offsets[reached]))
    due: dict[Milestone, int] = {}
    for clock, milestone in ENDS_AT.items():
        due_at = getattr(case, CLOCK_COLUMNS[clock][0])
        if due_at is not None and milestone not in offsets and milestone in milestones_of(route):
            due[milestone] = calendar.working_days_between(received, calendar.last_day(due_at))
    result: Forecast = forecast(model, route, reached, since_reached, since_received, due)
    by_milestone = {m: c for c, m in ENDS_AT.items()}
    completion_day = calendar.add_working_days(received, result.completion_offset)
    return CaseForecast(
        completion=calendar.end_of_local_day(completion_day),
        likely_breaches=[by_milestone[m] for m in likely_to_breach(result, threshold)],
        chances={by_milestone[m]: p for m, p in result.breach_probability.items()},
        used_prior=result.used_prior,
    )
