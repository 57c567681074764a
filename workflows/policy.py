"""Who may send each event, and the configurable rules for disclosure decisions.

The machine enforces this table in a validator; the web app reads the same table to decide which
buttons to show. Auditors and administrators send nothing: they can read, never act on a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.checks import DEFAULT_CHECK_SOURCES
from workflows.clocks import ClockPolicy
from workflows.retention import DEFAULT_SCHEDULE, RetentionRule
from workflows.roles import Rank, Role
from workflows.steps import DECISION_STEP_EVENTS, STEPS

_OFFICER = frozenset({Role.case_officer})
_POLICE = frozenset({Role.case_officer, Role.decision_maker})
_DECIDER = frozenset({Role.decision_maker})

MAY_SEND: dict[str, frozenset[Role]] = {
    # Intake
    "submit_application": frozenset({Role.applicant}),
    "open_right_to_know": _OFFICER,
    "start_checks": _OFFICER,
    "raise_urgent_safeguarding": _POLICE,
    "reject_out_of_scope": _POLICE,
    "transfer": _POLICE,
    "accept_for_interview": _OFFICER,
    "accept_for_assessment": _OFFICER,
    "record_interview": _OFFICER,
    "verify_applicant": _OFFICER,
    "close_unverified": _OFFICER,
    "withdraw": frozenset({Role.applicant, Role.case_officer}),
    # Risk check
    "invite_representations": _POLICE,
    "record_representations": _OFFICER,
    "complete_assessment": _OFFICER,
    # Multi-agency decision
    "invite_partner": _POLICE,
    "record_agency_view": frozenset({Role.partner}),
    "record_decision_meeting": _POLICE,
    "approve_disclosure_to_applicant": _DECIDER,
    "approve_disclosure_to_other": _DECIDER,
    "approve_other_information": _DECIDER,
    "decide_no_disclosure": _DECIDER,
    "countersign_decision": _DECIDER,
    "return_decision": _DECIDER,
    "reconsider": _DECIDER,
    # Face-to-face disclosure and outcome
    "schedule_disclosure_meeting": _OFFICER,
    "record_undertaking": _OFFICER,
    "record_disclosure_delivered": _OFFICER,
    "record_not_delivered": _OFFICER,
    "communicate_outcome": _OFFICER,
    "notify_applicant": _OFFICER,
    "close_case": _POLICE,
    # Target dates (DOMAIN.md §9.3 #24): the case officer asks; a supervisor authorises.
    "request_extension": _OFFICER,
    "extend_deadline": _POLICE,
    "refuse_extension": _POLICE,
}

DECISION_EVENTS: frozenset[str] = DECISION_STEP_EVENTS

# Events that only record something on the case without moving it on.
RECORDING_EVENTS: frozenset[str] = frozenset(
    {
        "raise_urgent_safeguarding",
        "invite_partner",
        "record_agency_view",
        "record_decision_meeting",
        "schedule_disclosure_meeting",
        "record_undertaking",
        "request_extension",
        "extend_deadline",
        "refuse_extension",
    }
)
# Answers to an extension request: a second person of at least ``min_extension_rank``.
EXTENSION_ANSWERS: frozenset[str] = frozenset({"extend_deadline", "refuse_extension"})
# The second decision-maker's answer to a decision: same rank rule, never the decision's author.
APPROVAL_EVENTS: frozenset[str] = frozenset({"countersign_decision", "return_decision"})

assert set(MAY_SEND) == set(STEPS), "every step needs a policy row, and every row a step"


@dataclass(frozen=True)
class CasePolicy:
    """Force-configurable rules. The default minimum rank follows DOMAIN.md §1 (proposal)."""

    min_decision_rank: Rank = Rank.inspector
    # Rationale quality checks at the moment of decision (workflows.rationale_quality).
    rationale_min_chars: int = 80
    boilerplate_overlap: float = 0.8
    # The risk check's sources, (code, label), in checklist order (workflows.checks).
    check_sources: tuple[tuple[str, str], ...] = DEFAULT_CHECK_SOURCES
    # Extensions of a target date (workflows.extensions): who may authorise one, and how far
    # beyond the current target (calendar days) one may go.
    min_extension_rank: Rank = Rank.sergeant
    extension_max_days: int = 30
    # The force's local time: a target date ends at local midnight.
    local_tz: str = "Europe/London"
    # Targets and near-breach points (workflows.clocks) and whose bank holidays are not working
    # days: "england_and_wales", "scotland" or "northern_ireland".
    clocks: ClockPolicy = field(default_factory=ClockPolicy)
    bank_holiday_nation: str = "england_and_wales"
    # The retention schedule (workflows.retention): each outcome's group and review period.
    retention: tuple[RetentionRule, ...] = DEFAULT_SCHEDULE


DEFAULT_POLICY = CasePolicy()
