"""Case states, the four scheme stages they belong to, and what the public may see of them.

The string values are stored in the database: never rename one without a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class Route(StrEnum):
    """How a case entered the scheme (DOMAIN.md §2.0)."""

    right_to_ask = "right_to_ask"  # a member of the public applied
    right_to_know = "right_to_know"  # police or a partner agency started it proactively

    @property
    def label(self) -> str:
        return {"right_to_ask": "Right to Ask", "right_to_know": "Right to Know"}[self.value]


class Stage(StrEnum):
    """The four stages of the scheme, plus closed."""

    intake = "intake"
    risk_check = "risk_check"
    decision = "decision"
    disclosure = "disclosure"
    closed = "closed"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.intake: "Intake",
    Stage.risk_check: "Risk check",
    Stage.decision: "Multi-agency decision",
    Stage.disclosure: "Face-to-face disclosure",
    Stage.closed: "Closed",
}


class Status(StrEnum):
    """Every state a case can be in. ``draft`` exists only in memory before the first commit."""

    draft = "draft"
    # --- Intake
    received = "received"
    referred = "referred"
    initial_checks = "initial_checks"
    awaiting_interview = "awaiting_interview"
    interviewed = "interviewed"
    # --- Risk check
    full_risk_assessment = "full_risk_assessment"
    representations_pending = "representations_pending"
    # --- Multi-agency decision
    awaiting_decision = "awaiting_decision"
    decision_pending_approval = "decision_pending_approval"
    # --- Face-to-face disclosure (or the non-disclosure outcome)
    disclosure_approved = "disclosure_approved"
    disclosure_not_delivered = "disclosure_not_delivered"
    disclosure_delivered = "disclosure_delivered"
    no_disclosure_decided = "no_disclosure_decided"
    outcome_communicated = "outcome_communicated"
    # --- Closed (terminal)
    not_progressed = "not_progressed"
    transferred = "transferred"
    withdrawn = "withdrawn"
    identity_unverified = "identity_unverified"
    closed = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def stage(self) -> Stage:
        return stage_of(self)

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


STATUS_LABELS: dict[Status, str] = {
    Status.draft: "Draft",
    Status.received: "Application received",
    Status.referred: "Right to Know referral",
    Status.initial_checks: "Initial checks",
    Status.awaiting_interview: "Awaiting interview",
    Status.interviewed: "Interviewed",
    Status.full_risk_assessment: "Full risk assessment",
    Status.representations_pending: "Subject representations pending",
    Status.awaiting_decision: "Awaiting multi-agency decision",
    Status.decision_pending_approval: "Decision awaiting second approval",
    Status.disclosure_approved: "Disclosure approved",
    Status.disclosure_not_delivered: "Disclosure not delivered",
    Status.disclosure_delivered: "Disclosure delivered",
    Status.no_disclosure_decided: "No disclosure decided",
    Status.outcome_communicated: "Outcome communicated",
    Status.not_progressed: "Not progressed",
    Status.transferred: "Transferred",
    Status.withdrawn: "Withdrawn",
    Status.identity_unverified: "Closed: applicant identity unverified",
    Status.closed: "Closed",
}

_STAGES: dict[Stage, tuple[Status, ...]] = {
    Stage.intake: (
        Status.draft,
        Status.received,
        Status.referred,
        Status.initial_checks,
        Status.awaiting_interview,
        Status.interviewed,
    ),
    Stage.risk_check: (Status.full_risk_assessment, Status.representations_pending),
    Stage.decision: (Status.awaiting_decision, Status.decision_pending_approval),
    Stage.disclosure: (
        Status.disclosure_approved,
        Status.disclosure_not_delivered,
        Status.disclosure_delivered,
        Status.no_disclosure_decided,
        Status.outcome_communicated,
    ),
    Stage.closed: (
        Status.not_progressed,
        Status.transferred,
        Status.withdrawn,
        Status.identity_unverified,
        Status.closed,
    ),
}
_STAGE_OF = {status: stage for stage, statuses in _STAGES.items() for status in statuses}

TERMINAL_STATUSES: frozenset[Status] = frozenset(_STAGES[Stage.closed])
OPEN_STATUSES: tuple[Status, ...] = tuple(
    s for s in Status if s not in TERMINAL_STATUSES and s is not Status.draft
)


def stage_of(status: Status | str) -> Stage:
    return _STAGE_OF[Status(status)]


def statuses_in(stage: Stage | str) -> tuple[Status, ...]:
    return _STAGES[Stage(stage)]


# What the applicant's private status page may say. It never distinguishes the risk check, the
# decision or the disclosure stage: "face-to-face disclosure" alone would tell a third-party
# applicant that something was found. Everything after intake reads "checks in progress" until the
# case is closed, and every ending reads "completed".
PUBLIC_PHASES = {
    "received": "Application received",
    "initial": "Initial checks and interview",
    "assessment": "Checks and assessment in progress",
    "completed": "Completed",
}


def public_phase(status: Status | str) -> str:
    """The key into PUBLIC_PHASES that the applicant may see for ``status``."""
    status = Status(status)
    if status in TERMINAL_STATUSES or status is Status.outcome_communicated:
        return "completed"
    if status is Status.received:
        return "received"
    if stage_of(status) is Stage.intake:
        return "initial"
    return "assessment"
