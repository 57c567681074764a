"""Who is told when a workflow step needs someone else: called once by
``cases.workflow.take_step`` after the machine has taken the step, in the same transaction, so
a notification exists exactly when its step does.

The occasion is the step's audit entry number, so the same step raised twice stores one
notification per person. Who is told:

- a decision (any of the four) awaiting approval: every active decision-maker of at least the
  policy's decision rank, except its author and the case's officer (who may not approve it);
- an extension asked for: every active case officer and decision-maker of at least the
  policy's extension rank, except the person who asked (who may not authorise it);
- a partner agency invited: that partner;
- a partner agency's view recorded: the case's officer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import Case, CaseStep, User
from disclosure_app.notifications.service import Kind, notify
from workflows.policy import CasePolicy
from workflows.roles import Rank, Role
from workflows.steps import DECISION_STEP_EVENTS

Recipients = Callable[[Session, Case, CaseStep, CasePolicy], Iterable[int]]


def _active_at_rank(session: Session, roles: tuple[Role, ...], minimum: Rank) -> list[int]:
    # Ranks are stored by name, so "at least" is the list of names at or above it.
    ranks = [rank for rank in Rank if rank >= minimum]
    return list(session.scalars(select(User.id).where(
        User.role.in_(roles), User.active.is_(True), User.rank.in_(ranks))))


def _approvers(session: Session, case: Case, step: CaseStep, policy: CasePolicy) -> list[int]:
    # Left out in Python, not SQL: "id != NULL" would leave everyone out when no officer is set.
    excluded = {step.actor_id, case.assigned_officer_id}
    return [user_id for user_id in _active_at_rank(
        session, (Role.decision_maker,), policy.min_decision_rank) if user_id not in excluded]


def _extension_authorisers(session: Session, case: Case, step: CaseStep, policy: CasePolicy
                           ) -> list[int]:
    return [user_id for user_id in _active_at_rank(
        session, (Role.case_officer, Role.decision_maker), policy.min_extension_rank)
        if user_id != step.actor_id]


def _invited_partner(session: Session, case: Case, step: CaseStep, policy: CasePolicy
                     ) -> list[int]:
    return [int(step.data["partner_user_id"])]


def _case_officer(session: Session, case: Case, step: CaseStep, policy: CasePolicy
                  ) -> list[int]:
    officer = session.get(User, case.assigned_officer_id) if case.assigned_officer_id else None
    return [officer.id] if officer is not None and officer.active else []


RULES: dict[str, tuple[Kind, Recipients]] = {
    **{event: (Kind.approval_needed, _approvers) for event in sorted(DECISION_STEP_EVENTS)},
    "request_extension": (Kind.extension_requested, _extension_authorisers),
    "invite_partner": (Kind.partner_invited, _invited_partner),
    "record_agency_view": (Kind.partner_view_recorded, _case_officer),
}


def notify_for_step(session: Session, case: Case, step: CaseStep, policy: CasePolicy,
                    now: datetime) -> None:
    """Raise the notifications ``step`` calls for, if any, in the caller's transaction."""
    rule = RULES.get(step.event)
    if rule is None:
        return
    kind, recipients = rule
    notify(session, user_ids=recipients(session, case, step, policy), kind=kind, case=case,
           occasion=f"audit-{step.audit_seq}", now=now)
