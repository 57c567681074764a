"""The teams themselves, kept by administrators: code, name, postcode districts, the default
flag, and who belongs to each. Nothing is deleted: a team is deactivated, a member leaves
(``removed_at``). Administrators see no case data here: no counts, no references.

Two rules keep routing unambiguous (``disclosure_app.cases.routing``): a postcode district
belongs to at most one active team, and exactly one active team is the default (making a team
the default takes the flag from the one that had it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.core.errors import InputInvalid, NotFound
from disclosure_app.db import transaction
from disclosure_app.models import Team, TeamMember, User
from disclosure_app.teams.people import user_by_id
from workflows.allocation import parse_districts
from workflows.fields import normalise_text, text_problem
from workflows.roles import Role

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# Who may belong to a team: the officers who hold cases, and the decision-makers who supervise.
MEMBER_ROLES = (Role.case_officer, Role.decision_maker)


@dataclass(frozen=True)
class TeamInput:
    code: str
    name: str
    districts: str  # as typed: "NS1 NS2, NX14"
    is_default: bool
    active: bool = True


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.active.desc(), Team.name)))


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound()
    return team


def current_members(session: Session, team_id: int) -> list[TeamMember]:
    return list(session.scalars(
        select(TeamMember).join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id, TeamMember.removed_at.is_(None))
        .order_by(User.full_name, User.id)))


def possible_members(session: Session, team_id: int) -> list[User]:
    """Active officers and decision-makers not in the team now (the add form's choices)."""
    current = select(TeamMember.user_id).where(TeamMember.team_id == team_id,
                                               TeamMember.removed_at.is_(None))
    return list(session.scalars(
        select(User).where(User.role.in_(MEMBER_ROLES), User.active.is_(True),
                           User.id.not_in(current))
        .order_by(User.full_name, User.id)))


# --- Creating and changing a team ------------------------------------------------------------


def _text_errors(data: TeamInput) -> dict[str, str]:
    errors = {}
    if not data.code:
        errors["code"] = "Enter a code for the team"
    elif len(data.code) > 32 or not _CODE.fullmatch(data.code):
        errors["code"] = ("The code must be 32 characters or fewer: letters, numbers, hyphens "
                          "and underscores")
    if not data.name:
        errors["name"] = "Enter the team's name"
    elif len(data.name) > 100:
        errors["name"] = "The team's name must be 100 characters or fewer"
    elif text_problem(data.name, multiline=False):
        errors["name"] = str(text_problem(data.name, multiline=False))
    return errors


def _clash_errors(session: Session, data: TeamInput, team_id: int | None) -> dict[str, str]:
    others = select(Team).where(Team.id != team_id) if team_id else select(Team)
    errors = {}
    if session.scalar(others.where(func.lower(Team.code) == data.code.lower()).limit(1)):
        errors["code"] = "Another team already has this code"
    if session.scalar(others.where(func.lower(Team.name) == data.name.lower()).limit(1)):
        errors["name"] = "Another team already has this name"
    return errors


def _district_errors(session: Session, districts: list[str], bad: list[str], active: bool,
                     team_id: int | None) -> dict[str, str]:
    if bad:
        return {"districts": "These are not postcode districts: " + ", ".join(bad)
                + " (a district is the first part of a postcode, like NS1)"}
    if len(" ".join(districts)) > 1000:
        return {"districts": "Too many districts for one team: 1,000 characters at most"}
    if not active:
        return {}
    others = session.scalars(select(Team).where(Team.active.is_(True), Team.id != team_id)
                             if team_id else select(Team).where(Team.active.is_(True)))
    taken = [f"{d} (team {team.code})" for team in others for d in districts
             if d in team.districts]
    if taken:
        return {"districts": "These districts already belong to another active team: "
                + ", ".join(taken)}
    return {}


def _settle_default(session: Session, team: Team, wants_default: bool) -> list[int]:
    """Apply the default flag; return the teams that lost it. Exactly one active team is the
    default whenever any team is active."""
    if wants_default and not team.active:
        raise InputInvalid({"is_default": "An inactive team cannot be the default team"})
    others = list(session.scalars(select(Team).where(Team.id != team.id, Team.active.is_(True),
                                                     Team.is_default.is_(True))))
    if wants_default:
        for other in others:
            other.is_default = False
        team.is_default = True
        return [other.id for other in others]
    team.is_default = False
    any_active = team.active or session.scalar(
        select(Team.id).where(Team.id != team.id, Team.active.is_(True)).limit(1)) is not None
    if any_active and not others:
        raise InputInvalid({"is_default": _NO_DEFAULT if team.active else _DEFAULT_LEAVING})
    return []


_NO_DEFAULT = ("One active team must be the default team (for cases no district matches): make "
               "this team the default, or first make another active team the default")
_DEFAULT_LEAVING = ("This is the default team: make another active team the default before "
                    "deactivating this one")


def _checked(session: Session, data: TeamInput, team_id: int | None
             ) -> tuple[TeamInput, list[str]]:
    data = TeamInput(normalise_text(data.code), normalise_text(data.name), data.districts,
                     data.is_default, data.active)
    districts, bad = parse_districts(data.districts)
    errors = _text_errors(data)
    errors = {**_clash_errors(session, data, team_id), **errors}
    errors |= _district_errors(session, districts, bad, data.active, team_id)
    if errors:
        raise InputInvalid(errors)
    return data, districts


def _team_details(team: Team, moved_from: list[int]) -> dict[str, Any]:
    return {"team_id": team.id, "code": team.code, "districts": team.districts,
            "is_default": team.is_default, "active": team.active,
            "default_taken_from_team_ids": moved_from}


def create_team(session: Session, by: User, data: TeamInput, *, now: datetime) -> Team:
    with transaction(session):
        data, districts = _checked(session, data, None)
        team = Team(code=data.code, name=data.name, postcode_districts=" ".join(districts),
                    is_default=False, active=data.active, created_at=now)
        session.add(team)
        session.flush()
        moved = _settle_default(session, team, data.is_default)
        session.flush()
        audit.append(session, now=now, actor=by.as_actor(), action="team_created",
                     category=Category.alteration, details=_team_details(team, moved))
        return team


def update_team(session: Session, by: User, team_id: int, data: TeamInput, *,
                now: datetime) -> Team:
    with transaction(session):
        team = get_team(session, team_id)
        data, districts = _checked(session, data, team.id)
        team.code, team.name = data.code, data.name
        team.postcode_districts = " ".join(districts)
        team.active = data.active
        moved = _settle_default(session, team, data.is_default)
        session.flush()
        audit.append(session, now=now, actor=by.as_actor(), action="team_changed",
                     category=Category.alteration, details=_team_details(team, moved))
        return team


# --- Members -----------------------------------------------------------------------------------


def add_member(session: Session, by: User, team_id: int, user_id: int | None, *,
               now: datetime) -> TeamMember:
    """A person joins a team (again, if they had left it: the row is reused, the log keeps
    both events)."""
    with transaction(session):
        team = get_team(session, team_id)
        user = user_by_id(session, user_id)
        if user is None or user.role not in MEMBER_ROLES or not user.active:
            raise InputInvalid({"user_id": "Select an active case officer or decision-maker"})
        member = session.scalars(select(TeamMember).where(
            TeamMember.team_id == team.id, TeamMember.user_id == user.id)).first()
        if member is not None and member.removed_at is None:
            raise InputInvalid({"user_id": "That person is already in this team"})
        if member is None:
            member = TeamMember(team_id=team.id, user_id=user.id, added_at=now,
                                added_by_id=by.id)
            session.add(member)
        else:
            member.added_at, member.added_by_id, member.removed_at = now, by.id, None
        session.flush()
        audit.append(session, now=now, actor=by.as_actor(), action="team_member_added",
                     category=Category.alteration,
                     details={"team_id": team.id, "user_id": user.id})
        return member


def remove_member(session: Session, by: User, team_id: int, user_id: int, *,
                  now: datetime) -> TeamMember:
    """A person leaves a team. The cases they hold stay theirs until a supervisor moves them."""
    with transaction(session):
        member = session.scalars(select(TeamMember).where(
            TeamMember.team_id == team_id, TeamMember.user_id == user_id,
            TeamMember.removed_at.is_(None))).first()
        if member is None:
            raise NotFound()
        member.removed_at = now
        audit.append(session, now=now, actor=by.as_actor(), action="team_member_removed",
                     category=Category.alteration,
                     details={"team_id": team_id, "user_id": user_id})
        return member
