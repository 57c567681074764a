"""The people the allocation rules are about, read from the database, and the one way a
refusal from those rules becomes an error the web layer can answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.core.errors import InputInvalid, StepNotAllowed
from disclosure_app.models import TeamMember, User
from workflows.allocation import Person, Refusal, RefusalKind
from workflows.errors import ActorNotPermitted
from workflows.roles import Role


def team_ids_of(session: Session, user_id: int) -> frozenset[int]:
    """The teams a person belongs to now (a member who left has ``removed_at``)."""
    return frozenset(session.scalars(
        select(TeamMember.team_id)
        .where(TeamMember.user_id == user_id, TeamMember.removed_at.is_(None))))


def person_of(session: Session, user: User | None) -> Person | None:
    if user is None:
        return None
    return Person(user.id, user.role, user.rank, user.active, team_ids_of(session, user.id))


def user_by_id(session: Session, user_id: int | None) -> User | None:
    """A staff account by the id a form sent; None for none, or for an id that is not one."""
    if user_id is None or not 0 < user_id < 2**63:
        return None
    return session.get(User, user_id)


def enforce(refusals: list[Refusal]) -> None:
    """Nothing to say, or the first refusal's kind decides the answer: who is asking may never
    do this (403, logged as a denial), the case or cover does not allow it now (409), or the
    form is wrong (400, every field's problem at once)."""
    if not refusals:
        return
    first = refusals[0]
    if first.kind is RefusalKind.not_permitted:
        raise ActorNotPermitted(first.message)
    if first.kind is RefusalKind.not_now:
        raise StepNotAllowed(first.message)
    raise InputInvalid({r.field or "form": r.message for r in refusals})


def active_case_officers(session: Session) -> list[User]:
    """Everyone who may be given a case (the choices of the assign and cover forms)."""
    return list(session.scalars(
        select(User).where(User.role == Role.case_officer, User.active.is_(True))
        .order_by(User.full_name, User.id)))


def case_officers(session: Session) -> list[User]:
    """Every case officer, active or not (an officer who has left may still hold cases)."""
    return list(session.scalars(
        select(User).where(User.role == Role.case_officer)
        .order_by(User.active.desc(), User.full_name, User.id)))
