"""The Child Sex Offender Disclosure Scheme as pure-Python state machines.

This package is the single source of truth for which steps exist, who may take them, what each
step must record and which state a case is in afterwards. It never imports Flask, SQLAlchemy,
WTForms or ``disclosure_app``: the web app depends on it, never the other way round.
"""

from workflows.disclosure import DisclosureWorkflow
from workflows.errors import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
    GateClosed,
    RationaleRequired,
    StepDataInvalid,
    WorkflowRefusal,
)
from workflows.policy import DECISION_EVENTS, MAY_SEND, CasePolicy
from workflows.roles import Actor, Agency, Rank, Role
from workflows.status import OPEN_STATUSES, Route, Stage, Status, public_phase, stage_of

__all__ = [
    "DECISION_EVENTS",
    "MAY_SEND",
    "OPEN_STATUSES",
    "Actor",
    "ActorNotPermitted",
    "Agency",
    "CasePolicy",
    "DecisionMakerNotEligible",
    "DisclosureWorkflow",
    "GateClosed",
    "RationaleRequired",
    "Rank",
    "Role",
    "Route",
    "Stage",
    "Status",
    "StepDataInvalid",
    "WorkflowRefusal",
    "public_phase",
    "stage_of",
]
