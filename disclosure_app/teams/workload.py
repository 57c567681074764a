"""The supervisors' workload page: open cases per officer and per team, by stage and by clock.

One grouped read of the open cases (``ix_cases_open_due`` finds them), each with the worst state
its clocks have been escalated to by ``clocks tick`` (``case_clocks.state``), gives every
figure; the people and teams are then listed even when they hold nothing, so an idle officer
shows as idle and an officer who has left but still holds cases shows as such.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from disclosure_app.models import Case, CaseClock, OfficerCover, Team, User
from disclosure_app.teams import cover
from disclosure_app.teams.people import active_case_officers, case_officers, enforce, person_of
from workflows.allocation import AllocationPolicy, local_day, supervisor_refusal
from workflows.status import Stage

OPEN_STAGES = (Stage.intake, Stage.risk_check, Stage.decision, Stage.disclosure)
# The escalated clock states (workflows.clocks.ClockState), worst last.
CLOCK_STATES = ("on_track", "near_breach", "breached")
CLOCK_LABELS = {"on_track": "On track", "near_breach": "Near breach", "breached": "Breached"}


@dataclass
class Tally:
    total: int = 0
    by_stage: dict[Stage, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STAGES, 0))
    by_clock: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLOCK_STATES, 0))
    # Open cases the breach forecast says are likely to miss a target (refreshed daily).
    likely: int = 0

    def add(self, stage: Stage, clock: str, count: int) -> None:
        self.total += count
        self.by_stage[stage] = self.by_stage.get(stage, 0) + count
        self.by_clock[clock] = self.by_clock.get(clock, 0) + count


@dataclass(frozen=True)
class OfficerLoad:
    officer: User
    tally: Tally


@dataclass(frozen=True)
class TeamLoad:
    team: Team | None  # None: open cases made before teams, or with no team to route to
    tally: Tally
    unallocated: int


@dataclass(frozen=True)
class WorkloadPage:
    officers: list[OfficerLoad]
    teams: list[TeamLoad]
    covers: list[OfficerCover]
    # The forms' choices: whose cases can move (holders of open cases), who can take cases or
    # cover (active case officers), whose absence can be covered (active case officers too).
    holders: list[User]
    takers: list[User]


def _tallies(session: Session) -> tuple[dict[int | None, Tally], dict[int | None, Tally],
                                        dict[int | None, int]]:
    by_officer: dict[int | None, Tally] = defaultdict(Tally)
    by_team: dict[int | None, Tally] = defaultdict(Tally)
    unallocated: dict[int | None, int] = defaultdict(int)
    level = func.max(case((CaseClock.state == "breached", 2),
                          (CaseClock.state == "near_breach", 1), else_=0))
    worst = (select(CaseClock.case_id, level.label("level"))
             .where(CaseClock.stopped_at.is_(None)).group_by(CaseClock.case_id).subquery())
    clock = func.coalesce(worst.c.level, 0)
    rows = session.execute(
        select(Case.assigned_officer_id, Case.team_id, Case.stage, clock, func.count())
        .outerjoin(worst, worst.c.case_id == Case.id)
        .where(Case.is_open.is_(True))
        .group_by(Case.assigned_officer_id, Case.team_id, Case.stage, clock))
    for officer_id, team_id, stage, worst_level, count in rows:
        state = CLOCK_STATES[worst_level]
        by_team[team_id].add(Stage(stage), state, count)
        if officer_id is None:
            unallocated[team_id] += count
        else:
            by_officer[officer_id].add(Stage(stage), state, count)
    likely = session.execute(
        select(Case.assigned_officer_id, Case.team_id, func.count(func.distinct(Case.id)))
        .join(CaseClock, CaseClock.case_id == Case.id)
        .where(Case.is_open.is_(True), CaseClock.likely_breach.is_(True),
               CaseClock.stopped_at.is_(None))
        .group_by(Case.assigned_officer_id, Case.team_id))
    for officer_id, team_id, count in likely:
        by_team[team_id].likely += count
        if officer_id is not None:
            by_officer[officer_id].likely += count
    return by_officer, by_team, unallocated


def workload_page(session: Session, user: User, *, policy: AllocationPolicy,
                  now: datetime) -> WorkloadPage:
    supervisor = person_of(session, user)
    assert supervisor is not None
    refusal = supervisor_refusal(supervisor, policy)
    enforce([refusal] if refusal else [])
    by_officer, by_team, unallocated = _tallies(session)
    officers = [OfficerLoad(officer, by_officer.get(officer.id, Tally()))
                for officer in case_officers(session)
                if officer.active or officer.id in by_officer]
    teams = list(session.scalars(select(Team).order_by(Team.active.desc(), Team.name)))
    team_loads = [TeamLoad(team, by_team.get(team.id, Tally()), unallocated.get(team.id, 0))
                  for team in teams if team.active or team.id in by_team]
    if None in by_team:
        team_loads.append(TeamLoad(None, by_team[None], unallocated.get(None, 0)))
    return WorkloadPage(
        officers=officers,
        teams=team_loads,
        covers=cover.current_and_future(session, local_day(now, policy.local_tz)),
        holders=[load.officer for load in officers if load.tally.total],
        takers=active_case_officers(session),
    )
