"""Who holds a case: claiming it, assigning or reassigning it, and moving everything one officer
holds to another. Each is one transaction that locks the case rows, asks the rules in
``workflows.allocation``, then writes for every case changed: the new holder, a
``CaseAllocation`` row, an audit entry (ids and codes; the reason only as its SHA-256) and,
unless someone took the case themselves, a notification to the new holder.

Access follows ``Case.assigned_officer_id`` (partner invitations, four eyes on decisions), so
changing the holder is all a reassignment does; nothing else about who may see the case moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseAllocation, User
from disclosure_app.notifications.service import Kind, notify
from disclosure_app.teams.people import enforce, person_of, user_by_id
from workflows.allocation import (
    AllocationPolicy,
    Holding,
    RefusalKind,
    action_for,
    assignment_refusals,
    bulk_reassignment_refusals,
    claim_refusals,
)
from workflows.fields import normalise_text

# The audit log's action for each kind of allocation.
AUDIT_ACTIONS = {
    "claim": "case_claimed",
    "assign": "case_assigned",
    "reassign": "case_reassigned",
    "bulk_reassign": "case_bulk_reassigned",
}
ACTION_LABELS = {
    "claim": "Claimed",
    "assign": "Assigned",
    "reassign": "Reassigned",
    "bulk_reassign": "Reassigned with all the officer's cases",
}


@dataclass(frozen=True)
class Handover:
    """A case that changed hands, and the record of it."""

    case: Case
    allocation: CaseAllocation
    to_user: User


def holding(case: Case) -> Holding:
    return Holding(is_open=case.is_open, team_id=case.team_id, holder_id=case.assigned_officer_id)


def _hand_over(session: Session, case: Case, *, action: str, to: User, by: User, reason: str,
               now: datetime) -> Handover:
    """Give ``case`` to ``to``, in the caller's transaction, with its record and audit entry."""
    entry = audit.append(
        session, now=now, actor=by.as_actor(), action=AUDIT_ACTIONS[action],
        category=Category.alteration, case_id=case.id,
        details={
            "reference": case.reference,
            "from_user_id": case.assigned_officer_id,
            "to_user_id": to.id,
            "team_id": case.team_id,
            # The reason is free text (it may name people): only its hash goes in the log.
            "reason_sha256": sha256_hex(reason) if reason else None,
        },
    )
    allocation = CaseAllocation(
        case_id=case.id, action=action, from_user_id=case.assigned_officer_id, to_user_id=to.id,
        from_team_id=case.team_id, to_team_id=case.team_id, reason=reason, by_user_id=by.id,
        at=now, audit_seq=entry.seq,
    )
    session.add(allocation)
    case.assigned_officer_id = to.id
    # The case's version moves on, so a step form opened before the handover is refused as
    # stale; it must then name who changed the case.
    case.updated_at = now
    case.updated_by_id = by.id
    case.updated_by_label = by.display_name
    if to.id != by.id:  # nobody is told about a case they took themselves
        notify(session, user_ids=[to.id], kind=Kind.case_assigned, case=case,
               occasion=str(entry.seq), now=now)
    session.flush()
    return Handover(case, allocation, to)


def claim(session: Session, user: User, case_id: int, *, now: datetime) -> Handover:
    """``user`` takes an open, unallocated case of one of their teams."""
    with transaction(session):
        case = load_case_in_scope(session, user, case_id, for_update=True)
        claimant = person_of(session, user)
        assert claimant is not None
        enforce(claim_refusals(claimant, holding(case)))
        return _hand_over(session, case, action="claim", to=user, by=user, reason="", now=now)


def assign(session: Session, user: User, case_id: int, to_user_id: int | None, reason: str, *,
           policy: AllocationPolicy, now: datetime) -> Handover:
    """A supervisor gives a case to a case officer: "assign" if nobody held it, "reassign"
    (a reason required) if someone did."""
    reason = normalise_text(reason)
    with transaction(session):
        case = load_case_in_scope(session, user, case_id, for_update=True)
        to = user_by_id(session, to_user_id)
        by = person_of(session, user)
        assert by is not None
        enforce(assignment_refusals(by, holding(case), person_of(session, to), reason, policy))
        assert to is not None
        return _hand_over(session, case, action=action_for(holding(case)), to=to, by=user,
                          reason=reason, now=now)


def bulk_reassign(session: Session, user: User, from_user_id: int | None,
                  to_user_id: int | None, reason: str, *, policy: AllocationPolicy,
                  now: datetime) -> list[Handover]:
    """Every open case ``from_user_id`` holds goes to ``to_user_id``, in one transaction: one
    record, one audit entry and one notification per case. Closed cases keep their holder (the
    record of who worked them)."""
    reason = normalise_text(reason)
    with transaction(session):
        from_user = user_by_id(session, from_user_id)
        to = user_by_id(session, to_user_id)
        cases = _open_cases_held_by(session, from_user.id) if from_user is not None else []
        by = person_of(session, user)
        assert by is not None
        enforce(bulk_reassignment_refusals(by, person_of(session, from_user),
                                           person_of(session, to), reason, len(cases), policy))
        assert to is not None
        return [_hand_over(session, case, action="bulk_reassign", to=to, by=user, reason=reason,
                           now=now) for case in cases]


def check_may_assign(session: Session, user: User, case: Case, policy: AllocationPolicy
                     ) -> None:
    """Before the assign form is shown: refused as the form would be, whatever it held."""
    by = person_of(session, user)
    assert by is not None
    enforce([refusal for refusal in assignment_refusals(by, holding(case), None, "", policy)
             if refusal.kind is not RefusalKind.invalid])


def _open_cases_held_by(session: Session, user_id: int) -> list[Case]:
    """Locked until commit and read afresh (``ix_cases_officer_due``)."""
    return list(session.scalars(
        select(Case).where(Case.assigned_officer_id == user_id, Case.is_open.is_(True))
        .order_by(Case.decision_due_at, Case.id)
        .with_for_update(of=Case).execution_options(populate_existing=True)))


def history(session: Session, case_id: int) -> list[CaseAllocation]:
    """Every change of holder, oldest first."""
    return list(session.scalars(
        select(CaseAllocation).where(CaseAllocation.case_id == case_id)
        .order_by(CaseAllocation.id)
        .options(selectinload(CaseAllocation.from_user), selectinload(CaseAllocation.to_user),
                 selectinload(CaseAllocation.by_user))))
