"""Reading cases: the staff queue (keyset-paginated), and opening a case, which is a DPA 2018
s.62 consultation and therefore writes an audit entry.

The queue has four views: "my cases" (held by me, or by an officer I cover for today),
"unallocated in my teams", "my teams" and "everything I may see" (partners: the cases they are
invited to). Each is served by an index ending in (decision_due_at, id): ``ix_cases_officer_due``,
``ix_cases_team_officer_due``, ``ix_cases_team_open_due`` and the state indexes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session, selectinload

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import transaction
from disclosure_app.models import (
    AuditEntry,
    Case,
    CaseInvitation,
    OfficerCover,
    Team,
    TeamMember,
    User,
)
from workflows.allocation import local_day
from workflows.roles import Role
from workflows.status import Route, Stage, Status


class QueueView(StrEnum):
    mine = "mine"
    unallocated = "unallocated"
    teams = "teams"
    everything = "everything"

    @property
    def label(self) -> str:
        return {
            "mine": "My cases",
            "unallocated": "Unallocated in my teams",
            "teams": "My teams",
            "everything": "Everything I may see",
        }[self.value]


# The views each role has, in tab order. Only case officers hold cases; decision-makers belong
# to teams as supervisors; partners see the cases they are invited to and nothing else.
VIEWS_FOR: dict[Role, tuple[QueueView, ...]] = {
    Role.case_officer: tuple(QueueView),
    Role.decision_maker: (QueueView.unallocated, QueueView.teams, QueueView.everything),
    Role.partner: (QueueView.everything,),
}
_TEAM_VIEWS = frozenset({QueueView.unallocated, QueueView.teams})


@dataclass(frozen=True)
class QueueFilter:
    stage: Stage | None = None
    status: Status | None = None
    route: Route | None = None
    overdue_only: bool = False
    mine_only: bool = False  # the older "only cases assigned to me": the same as view=mine
    view: QueueView = QueueView.everything
    team_id: int | None = None  # one team's cases (the workload page links here)
    officer_id: int | None = None  # the cases one officer holds (likewise)

    @property
    def effective_view(self) -> QueueView:
        return QueueView.mine if self.mine_only else self.view


@dataclass(frozen=True)
class QueueScope:
    """Who the views are about: the teams the person belongs to, and the absent officers whose
    cases they cover today."""

    team_ids: tuple[int, ...] = ()
    covered_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    next_cursor: str | None
    view: QueueView = QueueView.everything
    views: tuple[QueueView, ...] = ()
    counts: dict[QueueView, int] = field(default_factory=dict)
    team: Team | None = None  # the team filter, if any
    officer: User | None = None  # the officer filter, if any


def encode_cursor(case: Case) -> str:
    raw = f"{case.decision_due_at.isoformat()}|{case.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        due, _, case_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        due_at = datetime.fromisoformat(due)
        if due_at.tzinfo is None:  # every cursor we issue is UTC-aware; naive ones cannot bind
            raise ValueError("cursor without a time zone")
        after_id = int(case_id)
        if not 0 <= after_id < 2**63:  # beyond any database integer
            raise ValueError("case id out of range")
        return due_at, after_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputInvalid({"after": "That page link is not valid"}) from exc


def queue_scope(session: Session, user: User, today: date) -> QueueScope:
    """The teams ``user`` belongs to, and whom they cover on ``today`` (the force's day)."""
    if user.role not in (Role.case_officer, Role.decision_maker):
        return QueueScope()
    team_ids = session.scalars(
        select(TeamMember.team_id)
        .where(TeamMember.user_id == user.id, TeamMember.removed_at.is_(None))
        .order_by(TeamMember.team_id))
    covered = session.scalars(
        select(OfficerCover.absent_user_id).distinct()
        .where(OfficerCover.cover_user_id == user.id, OfficerCover.ends_on >= today,
               OfficerCover.starts_on <= today, OfficerCover.ended_at.is_(None))
        .order_by(OfficerCover.absent_user_id))
    return QueueScope(tuple(team_ids), tuple(covered))


def _one_or_any(column: Any, values: tuple[int, ...]) -> Any:
    """``= x`` for one value, so that the index also gives the order; ``IN`` for several (the
    rows of a few officers or teams are then sorted: a small set, never the table)."""
    if not values:
        return false()
    return column == values[0] if len(values) == 1 else column.in_(values)


def _in_view(query: Select[tuple[Case]], user: User, view: QueueView, scope: QueueScope
             ) -> Select[tuple[Case]]:
    if view is QueueView.mine:
        return query.where(_one_or_any(Case.assigned_officer_id, (user.id, *scope.covered_ids)))
    if view is QueueView.unallocated:
        return query.where(_one_or_any(Case.team_id, scope.team_ids),
                           Case.assigned_officer_id.is_(None))
    if view is QueueView.teams:
        return query.where(_one_or_any(Case.team_id, scope.team_ids))
    return query


def queue_query(user: User, filt: QueueFilter, now: datetime,
                scope: QueueScope | None = None) -> Select[tuple[Case]]:
    """The queue's query. Every branch is served by an index that ends (decision_due_at, id),
    so pages are read in index order without scanning the table, and without sorting except
    where a view covers several teams or officers (``_one_or_any``)."""
    query = select(Case)
    # is_open is always fixed (it follows from a state or stage), so that the officer and team
    # indexes, which have it before the due date, serve every filter in the queue's order.
    if filt.status is not None:
        query = query.where(Case.status == filt.status,
                            Case.is_open.is_(not Status(filt.status).is_terminal))
    elif filt.stage is not None:
        query = query.where(Case.stage == filt.stage,
                            Case.is_open.is_(filt.stage is not Stage.closed))
    else:
        query = query.where(Case.is_open.is_(True))
    if filt.route is not None:
        query = query.where(Case.route == filt.route)
    if filt.overdue_only:
        query = query.where(Case.decision_due_at < now)
    query = _in_view(query, user, filt.effective_view, scope or QueueScope())
    if filt.team_id is not None:
        query = query.where(Case.team_id == filt.team_id)
    if filt.officer_id is not None:
        query = query.where(Case.assigned_officer_id == filt.officer_id)
    if user.role is Role.partner:
        query = query.join(CaseInvitation, CaseInvitation.case_id == Case.id).where(
            CaseInvitation.user_id == user.id, CaseInvitation.revoked_at.is_(None)
        )
    return query.order_by(Case.decision_due_at, Case.id)


def count_query(query: Select[tuple[Case]]) -> Select[tuple[int]]:
    return select(func.count()).select_from(query.order_by(None).subquery())


def _empty(view: QueueView, scope: QueueScope) -> bool:
    """A team view for someone in no team: nothing to read."""
    return view in _TEAM_VIEWS and not scope.team_ids


def _checked_filters(session: Session, filt: QueueFilter, views: tuple[QueueView, ...]
                     ) -> tuple[Team | None, User | None]:
    if filt.effective_view not in views:
        raise InputInvalid({"view": "Choose one of the queues shown"})
    team = session.get(Team, filt.team_id) if filt.team_id is not None else None
    if filt.team_id is not None and team is None:
        raise InputInvalid({"team": "There is no such team"})
    officer = session.get(User, filt.officer_id) if filt.officer_id is not None else None
    if filt.officer_id is not None and (officer is None or officer.role is not Role.case_officer):
        raise InputInvalid({"officer": "There is no such case officer"})
    return team, officer


def queue_page(
    session: Session,
    user: User,
    filt: QueueFilter,
    *,
    after: str | None,
    page_size: int,
    now: datetime,
    tz: str = "Europe/London",
) -> QueuePage:
    views = VIEWS_FOR.get(user.role, ())
    team, officer = _checked_filters(session, filt, views)
    scope = queue_scope(session, user, local_day(now, tz))
    view = filt.effective_view
    counts = {
        v: 0 if _empty(v, scope) else session.scalar(count_query(queue_query(
            user, replace(filt, view=v, mine_only=False), now, scope))) or 0
        for v in views
    }
    query = queue_query(user, filt, now, scope)
    if after:
        due, case_id = decode_cursor(after)
        query = query.where(
            (Case.decision_due_at > due) | ((Case.decision_due_at == due) & (Case.id > case_id))
        )
    rows = [] if _empty(view, scope) else list(
        session.scalars(
            query.options(selectinload(Case.assigned_officer), selectinload(Case.team))
            .limit(page_size + 1)
        )
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    return QueuePage(cases=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None,
                     view=view, views=views, counts=counts, team=team, officer=officer)


def view_case(
    session: Session,
    user: User,
    case_id: int,
    *,
    purpose: str,
    now: datetime,
    justification: dict[str, object] | None = None,
) -> Case:
    """Open a case for a staff member and log the consultation, in one transaction.

    ``justification``: ids and codes saying why (the entry number of the reason given for the
    sensitive sections, which sections were shown), never free text."""
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        audit.append(
            session,
            now=now,
            actor=user.as_actor(),
            action="case_viewed",
            category=Category.consultation,
            case_id=case.id,
            details={"reference": case.reference, "purpose": purpose, **(justification or {})},
        )
    return case


def log_disclosure(
    session: Session,
    user: User,
    case_id: int | None,
    *,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> AuditEntry:
    """Append the s.62 disclosure entry for a document or export leaving the system, in the
    caller's transaction. ``details`` say what left (the document's kind and the SHA-256 of the
    exact bytes) and to whom (a user id, or a recipient type code: never a name)."""
    return audit.append(
        session,
        now=now,
        actor=user.as_actor(),
        action=action,
        category=Category.disclosure,
        case_id=case_id,
        details=details,
    )


def record_download(
    session: Session,
    user: User,
    case_id: int | None,
    *,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> Case | None:
    """Log a document or export downloaded by a staff member (the recipient), in one
    transaction."""
    with transaction(session):
        case = load_case_in_scope(session, user, case_id) if case_id is not None else None
        log_disclosure(session, user, case_id, action=action, now=now,
                       details={"recipient_user_id": user.id, **details})
    return case
