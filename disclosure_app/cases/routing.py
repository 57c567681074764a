"""Which team a new case lands in: the active team whose postcode districts include the outward
district of the postcode the caller gives (where the child lives; the applicant's postcode when
that is all there is), else the default team, else none (no active team at all)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import Case, Team
from workflows.allocation import outward_district


def team_for_postcode(session: Session, postcode: str | None) -> Team | None:
    """The active team for ``postcode``: by its district, else the default team, else None.
    Teams are few (a force has a handful of units), so they are read whole."""
    teams = list(session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.id)))
    district = outward_district(postcode)
    if district is not None:
        for team in teams:
            if district in team.districts:
                return team
    return next((team for team in teams if team.is_default), None)


def route_case(session: Session, case: Case, postcode: str | None) -> Team | None:
    """Put a new case in its team (sets ``case.team_id``, in the caller's transaction) and
    return the team, or None when there is no active team. The case stays unallocated: an
    officer of the team claims it, or a supervisor assigns it. Nothing is logged here: the
    case's own creation entry is the record (it may carry ``team_id``)."""
    team = team_for_postcode(session, postcode)
    case.team_id = team.id if team is not None else None
    return team
