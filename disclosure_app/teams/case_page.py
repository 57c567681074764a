"""The allocation section of the case page (the staff blueprint shows it; the teams blueprint
takes its forms): the team, the holder, "Claim this case" for an officer who may claim it,
the assign or reassign form for a supervisor, and the allocation history.

Partners see none of it: who in the police holds a case, and why it moved, is not theirs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from disclosure_app.models import Case, CaseAllocation, Team, User
from disclosure_app.teams import allocation
from disclosure_app.teams.people import active_case_officers, person_of
from workflows.allocation import AllocationPolicy, action_for, claim_refusals, is_supervisor
from workflows.roles import Role


@dataclass(frozen=True)
class AllocationPanel:
    team: Team | None
    holder: User | None
    can_claim: bool
    can_assign: bool
    action: str  # "assign" (nobody holds it) or "reassign"
    officers: list[User]  # whom a supervisor may give it to
    history: list[CaseAllocation]


def allocation_panel(session: Session, case: Case, user: User, policy: AllocationPolicy
                     ) -> AllocationPanel | None:
    if user.role is Role.partner:
        return None
    person = person_of(session, user)
    assert person is not None
    holding = allocation.holding(case)
    can_assign = case.is_open and is_supervisor(person, policy)
    officers = [officer for officer in active_case_officers(session)
                if officer.id != case.assigned_officer_id] if can_assign else []
    return AllocationPanel(
        team=case.team,
        holder=case.assigned_officer,
        can_claim=not claim_refusals(person, holding),
        can_assign=can_assign,
        action=action_for(holding),
        officers=officers,
        history=allocation.history(session, case.id),
    )
