"""Every legal and illegal transition of the disclosure workflow, its guards and validators.

The expected graph is written out here independently of the machine, so a change to either one
that is not made to the other fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from statemachine.exceptions import TransitionNotAllowed

from disclosure_app.operations import demo
from workflows import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
    DisclosureWorkflow,
    GateClosed,
    RationaleRequired,
    StepDataInvalid,
)
from workflows.checks import DEFAULT_CHECK_SOURCES
from workflows.errors import PreconditionUnmet
from workflows.policy import EXTENSION_ANSWERS, MAY_SEND, CasePolicy
from workflows.roles import Actor, Rank, Role
from workflows.status import TERMINAL_STATUSES, Route, Stage, Status, public_phase, stage_of
from workflows.steps import STEPS

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
APPROVED_AT = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
S = Status


@dataclass
class FakeCase:
    status: Status | None = None
    route: Route = Route.right_to_ask
    assigned_officer_id: int | None = 1
    applicant_identity_verified: bool | None = True
    representations_recorded: bool = False
    child_sexual_offence_flag: bool = False
    recipient_is_applicant: bool | None = None
    urgent_safeguarding: bool = False
    proposed_outcome: str | None = None
    decision_author_id: int | None = None
    decision_needs_countersign: bool = False
    decision_approver_id: int | None = None
    decision_approved_at: datetime | None = None
    decision_outcome: str | None = None
    disclosure_meeting_on: date | None = None
    undertaking_recorded: bool = False
    invited: set[int] = field(default_factory=lambda: {5})
    # The risk check's facts: by default the subject is confirmed and every check is resolved,
    # so the graph tests below see the legal transitions; the gates have tests of their own.
    subject_identity: str = "confirmed"
    register_child_sexual_offence: bool = False
    resolved: set[str] = field(default_factory=lambda: {c for c, _ in DEFAULT_CHECK_SOURCES})
    # Clocks and target dates: received ten days before NOW, whole process due in ten days.
    received_at: datetime = datetime(2026, 5, 22, 9, 0, tzinfo=UTC)
    initial_checks_due_at: datetime = datetime(2026, 5, 23, 9, 0, tzinfo=UTC)
    interview_due_at: datetime | None = datetime(2026, 6, 5, 23, 0, tzinfo=UTC)
    assessment_due_at: datetime | None = datetime(2026, 6, 8, 23, 0, tzinfo=UTC)
    decision_due_at: datetime = datetime(2026, 6, 11, 23, 0, tzinfo=UTC)
    checks_done_at: datetime | None = None
    interview_done_at: datetime | None = None
    assessment_done_at: datetime | None = None
    extension_request: dict[str, Any] | None = None
    extension_requested_by_id: int | None = None
    overall_breach_reason: str | None = None

    def is_partner_invited(self, user_id: int | None) -> bool:
        return user_id in self.invited

    def resolved_check_sources(self) -> set[str]:
        return self.resolved


OFFICER = Actor(1, Role.case_officer, "DC Officer", rank=Rank.constable)
DECIDER = Actor(2, Role.decision_maker, "DI Decider", rank=Rank.inspector)
APPROVER = Actor(4, Role.decision_maker, "DCI Approver", rank=Rank.chief_inspector)
PARTNER = Actor(5, Role.partner, "Probation Partner")
APPLICANT = Actor.applicant()
AUDITOR = Actor(7, Role.auditor, "Auditor")
ADMIN = Actor(8, Role.admin, "Admin")
SUPERVISOR = Actor(9, Role.case_officer, "DS Supervisor", rank=Rank.sergeant)

# Valid step data for every event (dates relative to TODAY).
VALID: dict[str, dict[str, Any]] = {
    "submit_application": {},
    "open_right_to_know": {"referral_source": "mappa", "referral_source_detail": "MAPPA meeting",
                           "risk_summary": "Offender babysitting"},
    "start_checks": {},
    "raise_urgent_safeguarding": {"risk_identified": "Child alone with subject tonight",
                                  "action_taken": "emergency_response",
                                  "who_was_informed": "Duty inspector"},
    "reject_out_of_scope": {"reason_code": "general_enquiry", "alternative_action": "Advice given",
                            "safeguarding_assessment": "none_identified"},
    "transfer": {"receiving_force": "Southshire Police", "date_sent": "2026-05-30"},
    "accept_for_interview": demo.ACCEPT,
    "accept_for_assessment": demo.ACCEPT,
    "record_interview": {**demo.INTERVIEW, "interview_date": "2026-05-31"},
    "verify_applicant": {},
    "close_unverified": {"verification_failure": "No ID produced",
                         "safeguarding_assessment": "right_to_know"},
    "withdraw": {"withdrawal_channel": "phone", "safeguarding_assessment": "none_identified"},
    "invite_representations": {"invitation_method": "letter", "deadline": "2026-06-20",
                               "safety_assessment": "No risk"},
    "record_representations": {"representations_received": "yes",
                               "representations_summary": "He denies the allegation"},
    "complete_assessment": demo.ASSESS,
    "invite_partner": {"partner_user_id": 5, "information_requested": "Supervision status"},
    "record_agency_view": {"information_held": "On licence", "agency_view": "no_view"},
    "approve_disclosure_to_applicant": demo.DISCLOSE,
    "approve_disclosure_to_other": demo.DISCLOSE,
    "approve_other_information": {**demo.DISCLOSE, "recipient": "other_person"},
    "decide_no_disclosure": demo.NO_DISCLOSURE,
    "countersign_decision": demo.COUNTERSIGN,
    "return_decision": {"what_needs_changing": "Necessity does not engage with the child's "
                        "access after school."},
    "record_decision_meeting": {**demo.DECISION_MEETING, "meeting_date": "2026-05-30"},
    "schedule_disclosure_meeting": {**demo.SCHEDULE_MEETING, "meeting_date": "2026-06-03"},
    "record_undertaking": {**demo.UNDERTAKING, "signed_on": "2026-05-31",
                           "document_sha256": "ab" * 32, "document_name": "signed.pdf"},
    "record_disclosure_delivered": {**demo.DELIVERED, "meeting_date": "2026-05-31"},
    "record_not_delivered": {"reason": "not_contactable", "details": "No answer"},
    "reconsider": {"what_changed": "Recipient now willing to sign"},
    "communicate_outcome": {"method": "letter", "communicated_on": "2026-05-31"},
    "notify_applicant": {"method": "phone", "communicated_on": "2026-05-31"},
    "close_case": {"referrals_complete": "yes", "review_date": "2032-01-01"},
    "request_extension": {"clock": "overall", "new_date": "2026-06-20",
                          "reason_code": "partner_information_awaited"},
    "extend_deadline": {"exceptional_confirmed": "yes"},
    "refuse_extension": {},
}

WHO: dict[str, Actor] = {
    "submit_application": APPLICANT,
    "record_agency_view": PARTNER,
    **{e: DECIDER for e in ("approve_disclosure_to_applicant", "approve_disclosure_to_other",
                            "approve_other_information", "decide_no_disclosure", "reconsider")},
    "countersign_decision": APPROVER,
    "return_decision": APPROVER,
    "extend_deadline": SUPERVISOR,
    "refuse_extension": SUPERVISOR,
}
# What a case must already hold for an event to be legal (beyond its state).
PENDING_EXTENSION = {"extension_request": {"clock": "overall", "new_date": "2026-06-20",
                                           "reason_code": "partner_information_awaited"},
                     "extension_requested_by_id": OFFICER.id}
EVENT_FACTS: dict[str, dict[str, Any]] = {
    "extend_deadline": PENDING_EXTENSION,
    "refuse_extension": PENDING_EXTENSION,
}

OPEN_FOR_URGENT = [s for s in Status if s not in TERMINAL_STATUSES and s is not S.draft]
PARTNER_STATES = [S.full_risk_assessment, S.representations_pending, S.awaiting_decision]
WITHDRAWABLE = [S.received, S.initial_checks, S.awaiting_interview, S.interviewed,
                S.full_risk_assessment, S.representations_pending, S.awaiting_decision,
                S.decision_pending_approval]

# (source, event) -> target, for a Right to Ask case with an applicant-recipient where relevant.
LEGAL_ASK: dict[tuple[Status, str], Status] = {
    (S.draft, "submit_application"): S.received,
    (S.received, "start_checks"): S.initial_checks,
    (S.initial_checks, "reject_out_of_scope"): S.not_progressed,
    (S.initial_checks, "transfer"): S.transferred,
    (S.initial_checks, "accept_for_interview"): S.awaiting_interview,
    (S.awaiting_interview, "record_interview"): S.interviewed,
    (S.interviewed, "verify_applicant"): S.full_risk_assessment,
    (S.awaiting_interview, "close_unverified"): S.identity_unverified,
    (S.interviewed, "close_unverified"): S.identity_unverified,
    (S.full_risk_assessment, "invite_representations"): S.representations_pending,
    (S.representations_pending, "record_representations"): S.full_risk_assessment,
    (S.full_risk_assessment, "complete_assessment"): S.awaiting_decision,
    (S.awaiting_decision, "approve_disclosure_to_applicant"): S.decision_pending_approval,
    (S.awaiting_decision, "approve_disclosure_to_other"): S.decision_pending_approval,
    (S.awaiting_decision, "approve_other_information"): S.decision_pending_approval,
    (S.awaiting_decision, "decide_no_disclosure"): S.decision_pending_approval,
    # The legal-transition cases propose a disclosure (see ``case_in``).
    (S.decision_pending_approval, "countersign_decision"): S.disclosure_approved,
    (S.decision_pending_approval, "return_decision"): S.awaiting_decision,
    (S.disclosure_approved, "schedule_disclosure_meeting"): S.disclosure_approved,
    (S.disclosure_approved, "record_undertaking"): S.disclosure_approved,
    (S.disclosure_approved, "record_disclosure_delivered"): S.disclosure_delivered,
    (S.disclosure_approved, "record_not_delivered"): S.disclosure_not_delivered,
    (S.disclosure_not_delivered, "reconsider"): S.awaiting_decision,
    (S.no_disclosure_decided, "communicate_outcome"): S.outcome_communicated,
    (S.disclosure_delivered, "close_case"): S.closed,  # applicant was the recipient
    (S.outcome_communicated, "close_case"): S.closed,
    **{(s, "withdraw"): S.withdrawn for s in WITHDRAWABLE},
    **{(s, "raise_urgent_safeguarding"): s for s in OPEN_FOR_URGENT},
    **{(s, "invite_partner"): s for s in PARTNER_STATES},
    **{(s, "record_agency_view"): s for s in PARTNER_STATES},
    **{(s, "record_decision_meeting"): s for s in PARTNER_STATES},
    **{(s, event): s for s in OPEN_FOR_URGENT
       for event in ("request_extension", "extend_deadline", "refuse_extension")},
}
LEGAL_KNOW: dict[tuple[Status, str], Status] = {
    (S.draft, "open_right_to_know"): S.referred,
    (S.referred, "start_checks"): S.initial_checks,
    (S.initial_checks, "accept_for_assessment"): S.full_risk_assessment,
    (S.no_disclosure_decided, "close_case"): S.closed,
    (S.disclosure_delivered, "close_case"): S.closed,
}


def machine(case: FakeCase, **policy: Any) -> DisclosureWorkflow:
    return DisclosureWorkflow(case, policy=CasePolicy(**policy))


def send(case: FakeCase, event: str, *, actor: Actor | None = None, data: dict | None = None,
         rationale: str = "Because it is necessary.", **policy: Any) -> None:
    actor = actor or WHO.get(event, OFFICER)
    machine(case, **policy).send(event, actor=actor, rationale=rationale,
                                 step=VALID[event] if data is None else data, today=TODAY,
                                 now=NOW)


# What a case has on record by the time it reaches each state on the usual path.
PROPOSED = {"proposed_outcome": "disclose_to_applicant", "decision_author_id": 3}  # DI Other
APPROVED = {**PROPOSED, "decision_approver_id": APPROVER.id, "decision_approved_at": APPROVED_AT,
            "decision_outcome": "disclosure", "undertaking_recorded": True}
FACTS_BY_STATE: dict[Status, dict[str, Any]] = {
    S.decision_pending_approval: PROPOSED,
    S.disclosure_approved: APPROVED,
    S.disclosure_not_delivered: APPROVED,
    S.disclosure_delivered: APPROVED,
}


def case_in(status: Status, route: Route = Route.right_to_ask, **facts: Any) -> FakeCase:
    case = FakeCase(route=route, **{**FACTS_BY_STATE.get(status, {}), **facts})
    case.status = status
    return case


def legal_targets(route: Route) -> dict[tuple[Status, str], Status]:
    if route is Route.right_to_ask:
        return LEGAL_ASK
    shared = {k: v for k, v in LEGAL_ASK.items() if k[0] in (
        S.initial_checks, S.full_risk_assessment, S.representations_pending, S.awaiting_decision,
        S.decision_pending_approval, S.disclosure_approved, S.disclosure_not_delivered)
        and k[1] not in ("withdraw", "accept_for_interview", "approve_disclosure_to_applicant")}
    urgent = {(s, event): s for s in OPEN_FOR_URGENT
              for event in ("raise_urgent_safeguarding", "request_extension", "extend_deadline",
                            "refuse_extension")}
    return {**shared, **urgent, **LEGAL_KNOW}


@pytest.mark.parametrize(("source", "event"), sorted(LEGAL_ASK, key=str))
def test_legal_right_to_ask_transition_reaches_its_target(source, event):
    case = case_in(source, recipient_is_applicant=True, **EVENT_FACTS.get(event, {}))
    send(case, event)
    assert case.status is LEGAL_ASK[(source, event)]


@pytest.mark.parametrize(("source", "event"), sorted(LEGAL_KNOW, key=str))
def test_legal_right_to_know_transition_reaches_its_target(source, event):
    case = case_in(source, Route.right_to_know, recipient_is_applicant=False,
                   **EVENT_FACTS.get(event, {}))
    send(case, event)
    assert case.status is LEGAL_KNOW[(source, event)]


# States a case on each route can never be in (the other route's intake states).
UNREACHABLE = {
    Route.right_to_ask: {S.referred},
    Route.right_to_know: {S.received, S.awaiting_interview, S.interviewed,
                          S.outcome_communicated},
}


def _illegal(route: Route) -> list[tuple[Status, str]]:
    legal = legal_targets(route)
    return [(s, e) for s in Status for e in STEPS
            if (s, e) not in legal and s not in UNREACHABLE[route]]


@pytest.mark.parametrize(("source", "event"), _illegal(Route.right_to_ask))
def test_illegal_right_to_ask_transition_is_refused_and_changes_nothing(source, event):
    case = case_in(source, recipient_is_applicant=True)
    with pytest.raises(TransitionNotAllowed):
        send(case, event)
    assert case.status is source


@pytest.mark.parametrize(("source", "event"), _illegal(Route.right_to_know))
def test_illegal_right_to_know_transition_is_refused_and_changes_nothing(source, event):
    case = case_in(source, Route.right_to_know, recipient_is_applicant=False)
    with pytest.raises(TransitionNotAllowed):
        send(case, event)
    assert case.status is source


def test_new_case_starts_in_draft_and_is_never_stored_there():
    case = FakeCase()
    machine(case)
    assert case.status is S.draft
    assert stage_of(S.draft) is Stage.intake


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_every_ending_is_final(status):
    configuration = machine(case_in(status)).configuration
    assert configuration and all(state.final for state in configuration)


@pytest.mark.parametrize("status", [s for s in Status if s not in TERMINAL_STATUSES])
def test_every_open_state_has_a_way_out(status):
    assert not any(state.final for state in machine(case_in(status)).configuration)
    assert machine(case_in(status)).allowed_events


# --- Guards (conditions) -------------------------------------------------------------------


def test_interview_route_is_only_for_right_to_ask():
    case = case_in(S.initial_checks, Route.right_to_know)
    with pytest.raises(TransitionNotAllowed):
        send(case, "accept_for_interview")


def test_applicant_cannot_be_verified_when_the_interview_did_not_verify_them():
    case = case_in(S.interviewed, applicant_identity_verified=False)
    with pytest.raises(TransitionNotAllowed):
        send(case, "verify_applicant")


def test_interview_records_whether_identity_was_verified():
    case = case_in(S.awaiting_interview, applicant_identity_verified=None)
    send(case, "record_interview", data={**VALID["record_interview"], "identity_verified": "no"})
    assert case.applicant_identity_verified is False


def test_third_party_applicant_gets_the_neutral_notice_before_closure():
    case = case_in(S.disclosure_delivered, recipient_is_applicant=False)
    with pytest.raises(TransitionNotAllowed):
        send(case, "close_case")
    send(case, "notify_applicant")
    assert case.status is S.outcome_communicated


def test_applicant_recipient_gets_no_separate_notice():
    case = case_in(S.disclosure_delivered, recipient_is_applicant=True)
    with pytest.raises(TransitionNotAllowed):
        send(case, "notify_applicant")


def test_right_to_know_no_disclosure_closes_without_telling_an_applicant():
    case = case_in(S.no_disclosure_decided, Route.right_to_know)
    with pytest.raises(TransitionNotAllowed):
        send(case, "communicate_outcome")
    send(case, "close_case")
    assert case.status is S.closed


def test_right_to_know_cannot_be_withdrawn_by_an_applicant():
    case = case_in(S.full_risk_assessment, Route.right_to_know)
    with pytest.raises(TransitionNotAllowed):
        send(case, "withdraw")


def test_urgent_safeguarding_flags_the_case_without_moving_it():
    case = case_in(S.awaiting_interview)
    send(case, "raise_urgent_safeguarding")
    assert case.status is S.awaiting_interview
    assert case.urgent_safeguarding is True


def test_enabled_events_reflect_the_guards():
    ask = {e.id for e in machine(case_in(S.initial_checks)).enabled_events()}
    know = {e.id for e in machine(case_in(S.initial_checks, Route.right_to_know)).enabled_events()}
    assert "accept_for_interview" in ask and "accept_for_assessment" not in ask
    assert "accept_for_assessment" in know and "withdraw" not in know


# --- Validators ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", sorted(STEPS))
@pytest.mark.parametrize("actor", [OFFICER, DECIDER, PARTNER, APPLICANT, AUDITOR, ADMIN],
                         ids=lambda a: a.role.value)
def test_only_roles_in_the_policy_table_may_send_an_event(event, actor):
    legal = {**LEGAL_ASK, **LEGAL_KNOW, (S.disclosure_delivered, "notify_applicant"): None}
    source = next(s for (s, e) in legal if e == event)
    route = Route.right_to_know if (source, event) in LEGAL_KNOW else Route.right_to_ask
    case = case_in(source, route, recipient_is_applicant=event != "notify_applicant",
                   **EVENT_FACTS.get(event, {}))
    if actor.role in MAY_SEND[event]:
        if event in EXTENSION_ANSWERS:  # answered by a supervisor, never the requester
            actor = replace(actor, id=99, rank=Rank.sergeant)
        send(case, event, actor=actor)
        assert case.status is not None
    else:
        with pytest.raises(ActorNotPermitted):
            send(case, event, actor=actor)
        assert case.status is source


def test_auditors_and_admins_may_send_nothing():
    for roles in MAY_SEND.values():
        assert Role.auditor not in roles and Role.admin not in roles


@pytest.mark.parametrize("rationale", ["", "   \n ", "text with \u202e override"])
def test_every_step_needs_a_usable_written_rationale(rationale):
    case = case_in(S.received)
    with pytest.raises(RationaleRequired):
        send(case, "start_checks", rationale=rationale)
    assert case.status is S.received


def test_missing_structured_fields_are_refused_with_a_message_per_field():
    case = case_in(S.awaiting_decision)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "approve_disclosure_to_other", data={})
    assert {"lawful_basis", "necessity", "proportionality"} <= set(refused.value.errors)
    assert case.status is S.awaiting_decision


@pytest.mark.parametrize("limb", ["lawful_basis", "necessity", "proportionality"])
@pytest.mark.parametrize("event", ["approve_disclosure_to_other", "decide_no_disclosure"])
def test_each_legal_limb_is_separately_mandatory_on_decisions(event, limb):
    case = case_in(S.awaiting_decision)
    data = {**VALID[event], limb: ""}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, event, data=data)
    assert limb in refused.value.errors


def test_decision_needs_the_configured_minimum_rank():
    case = case_in(S.awaiting_decision)
    sergeant = Actor(3, Role.decision_maker, "DS", rank=Rank.sergeant)
    with pytest.raises(DecisionMakerNotEligible):
        send(case, "decide_no_disclosure", actor=sergeant)
    send(case, "decide_no_disclosure", actor=sergeant, min_decision_rank=Rank.sergeant)
    assert case.status is S.decision_pending_approval


def test_higher_minimum_rank_refuses_an_inspector():
    case = case_in(S.awaiting_decision)
    with pytest.raises(DecisionMakerNotEligible):
        send(case, "approve_disclosure_to_other", min_decision_rank=Rank.chief_inspector)


def test_case_officer_cannot_decide_their_own_case():
    case = case_in(S.awaiting_decision, assigned_officer_id=DECIDER.id)
    with pytest.raises(DecisionMakerNotEligible):
        send(case, "approve_disclosure_to_other")


def test_presumption_applies_so_no_disclosure_needs_a_rebuttal():
    case = case_in(S.awaiting_decision, child_sexual_offence_flag=True)
    data = {**VALID["decide_no_disclosure"], "reason_category": "not_necessary"}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "decide_no_disclosure", data=data)
    assert "presumption_rebuttal" in refused.value.errors
    send(case, "decide_no_disclosure", data={**data, "presumption_rebuttal": "Child moved away"})
    assert case.status is S.decision_pending_approval


def test_presumption_is_never_an_automatic_disclose():
    case = case_in(S.awaiting_decision, child_sexual_offence_flag=True)
    with pytest.raises(StepDataInvalid):
        send(case, "approve_disclosure_to_other", data={**VALID["approve_disclosure_to_other"],
                                                        "necessity": ""})


def test_nothing_held_cannot_be_the_reason_when_a_conviction_was_found():
    case = case_in(S.awaiting_decision, child_sexual_offence_flag=True)
    data = {**VALID["decide_no_disclosure"], "presumption_rebuttal": "x"}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "decide_no_disclosure", data=data)
    assert "reason_category" in refused.value.errors


def test_assessment_cannot_complete_until_every_check_is_resolved():
    case = case_in(S.full_risk_assessment, resolved={"pnc", "pnd"})
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "complete_assessment")
    assert "ViSOR" in refused.value.errors["checks"]
    assert case.status is S.full_risk_assessment
    case.resolved = {c for c, _ in DEFAULT_CHECK_SOURCES}
    send(case, "complete_assessment")
    assert case.status is S.awaiting_decision


def test_the_checklist_is_configuration():
    policy = CasePolicy(check_sources=(("pnc", "PNC"), ("force_rms", "Our own RMS")))
    case = case_in(S.full_risk_assessment, resolved={"pnc"})
    machine = DisclosureWorkflow(case, policy=policy)
    with pytest.raises(StepDataInvalid) as refused:
        machine.send("complete_assessment", actor=OFFICER, rationale="Done.",
                     step=VALID["complete_assessment"], today=TODAY)
    assert refused.value.errors["checks"].endswith("Our own RMS")


@pytest.mark.parametrize("identity", ["unresolved", "proposed", "no_trace"])
def test_nothing_held_needs_every_check_even_for_no_trace(identity):
    case = case_in(S.awaiting_decision, subject_identity=identity, resolved={"pnc"})
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "decide_no_disclosure")
    assert "reason_category" in refused.value.errors
    other_reason = {**VALID["decide_no_disclosure"], "reason_category": "not_necessary"}
    send(case, "decide_no_disclosure", data=other_reason)
    assert case.status is S.decision_pending_approval


GATED = [(S.awaiting_decision, "approve_disclosure_to_applicant"),
         (S.awaiting_decision, "approve_disclosure_to_other"),
         (S.awaiting_decision, "approve_other_information"),
         (S.disclosure_approved, "record_disclosure_delivered")]


@pytest.mark.parametrize("identity", ["unresolved", "proposed", "no_trace"])
@pytest.mark.parametrize(("state", "event"), GATED)
def test_identity_gate_blocks_every_disclosure_until_the_subject_is_confirmed(
    state, event, identity
):
    case = case_in(state, subject_identity=identity, recipient_is_applicant=True)
    with pytest.raises(GateClosed, match="identity is not confirmed"):
        send(case, event)
    assert case.status is state
    case.subject_identity = "confirmed"
    send(case, event)
    assert case.status is LEGAL_ASK[(state, event)]


def test_no_trace_allows_only_a_no_disclosure_outcome():
    case = case_in(S.awaiting_decision, subject_identity="no_trace")
    send(case, "decide_no_disclosure")
    send(case, "countersign_decision", actor=APPROVER)
    assert case.status is S.no_disclosure_decided


def test_approving_a_disclosure_passes_the_identity_gate_again():
    case = case_in(S.decision_pending_approval, subject_identity="proposed")
    with pytest.raises(GateClosed):
        send(case, "countersign_decision", actor=APPROVER)
    assert case.status is S.decision_pending_approval


def test_a_register_conviction_rules_out_nothing_held_at_assessment_and_decision():
    case = case_in(S.full_risk_assessment, register_child_sexual_offence=True)
    nothing = {**VALID["complete_assessment"], "information_found": "none_held"}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "complete_assessment", data=nothing)
    assert "information_found" in refused.value.errors
    decided = case_in(S.awaiting_decision, register_child_sexual_offence=True)
    with pytest.raises(StepDataInvalid) as refused:
        send(decided, "decide_no_disclosure")
    assert "reason_category" in refused.value.errors


@pytest.mark.parametrize("identity", ["unresolved", "proposed"])
def test_assessment_needs_the_identity_resolved_one_way_or_the_other(identity):
    case = case_in(S.full_risk_assessment, subject_identity=identity)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "complete_assessment")
    assert "subject_identity" in refused.value.errors


def test_information_cannot_be_attributed_to_a_subject_who_was_not_traced():
    case = case_in(S.full_risk_assessment, subject_identity="no_trace")
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "complete_assessment")
    assert "information_found" in refused.value.errors
    send(case, "complete_assessment", data=demo.ASSESS_NOTHING)
    assert case.status is S.awaiting_decision


def test_assessment_needs_a_representations_decision():
    case = case_in(S.full_risk_assessment)
    data = {**VALID["complete_assessment"], "representations": "not_sought",
            "representations_reason": ""}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "complete_assessment", data=data)
    assert "representations_reason" in refused.value.errors
    received = {**VALID["complete_assessment"], "representations": "received"}
    with pytest.raises(StepDataInvalid):
        send(case, "complete_assessment", data=received)
    case.representations_recorded = True
    send(case, "complete_assessment", data=received)
    assert case.status is S.awaiting_decision


def test_recording_representations_is_remembered_on_the_case():
    case = case_in(S.representations_pending)
    send(case, "record_representations")
    assert case.representations_recorded is True


def test_right_to_know_cannot_disclose_other_information_to_an_absent_applicant():
    case = case_in(S.awaiting_decision, Route.right_to_know)
    with pytest.raises(StepDataInvalid):
        send(case, "approve_other_information",
             data={**VALID["approve_other_information"], "recipient": "applicant"})


def test_disclosure_recipient_is_remembered_and_reset_on_reconsideration():
    case = case_in(S.awaiting_decision)
    send(case, "approve_other_information",
         data={**VALID["approve_other_information"], "recipient": "applicant"})
    assert case.recipient_is_applicant is True
    send(case, "countersign_decision")
    send(case, "record_not_delivered")
    send(case, "reconsider")
    assert case.recipient_is_applicant is None and case.status is S.awaiting_decision
    assert case.decision_outcome is None and case.proposed_outcome is None


def test_disclosure_is_not_delivered_without_a_verified_recipient():
    case = case_in(S.disclosure_approved)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "record_disclosure_delivered",
             data={**VALID["record_disclosure_delivered"], "recipient_identity_verified": "no"})
    assert "recipient_identity_verified" in refused.value.errors


def test_disclosure_is_not_delivered_before_the_signed_undertaking_is_recorded():
    case = case_in(S.disclosure_approved, undertaking_recorded=False)
    with pytest.raises(PreconditionUnmet, match="signed confidentiality undertaking"):
        send(case, "record_disclosure_delivered")
    assert case.status is S.disclosure_approved
    send(case, "record_undertaking")
    assert case.undertaking_recorded is True
    send(case, "record_disclosure_delivered")
    assert case.status is S.disclosure_delivered


# --- Four eyes on both outcomes ------------------------------------------------------------


@pytest.mark.parametrize(("event", "outcome", "target"), [
    ("approve_disclosure_to_applicant", "disclosure", S.disclosure_approved),
    ("approve_disclosure_to_other", "disclosure", S.disclosure_approved),
    ("approve_other_information", "disclosure", S.disclosure_approved),
    ("decide_no_disclosure", "no_disclosure", S.no_disclosure_decided),
])
def test_a_decision_takes_effect_only_when_a_second_decision_maker_approves_it(
    event, outcome, target
):
    case = case_in(S.awaiting_decision)
    send(case, event)
    assert case.status is S.decision_pending_approval
    assert case.decision_author_id == DECIDER.id and case.decision_outcome is None
    send(case, "countersign_decision", actor=APPROVER)
    assert case.status is target
    assert case.decision_outcome == outcome
    assert case.decision_approver_id == APPROVER.id and case.decision_approved_at == NOW


@pytest.mark.parametrize("event", ["countersign_decision", "return_decision"])
@pytest.mark.parametrize("proposal", ["approve_disclosure_to_other", "decide_no_disclosure"])
def test_the_author_of_a_decision_cannot_approve_or_return_it(event, proposal):
    case = case_in(S.awaiting_decision)
    send(case, proposal, actor=DECIDER)
    with pytest.raises(DecisionMakerNotEligible, match="second decision-maker"):
        send(case, event, actor=DECIDER)
    assert case.status is S.decision_pending_approval


def test_the_approver_needs_the_minimum_rank_and_cannot_be_the_case_officer():
    case = case_in(S.decision_pending_approval)
    sergeant = Actor(9, Role.decision_maker, "DS", rank=Rank.sergeant)
    with pytest.raises(DecisionMakerNotEligible):
        send(case, "countersign_decision", actor=sergeant)
    officer_case = case_in(S.decision_pending_approval, assigned_officer_id=APPROVER.id)
    with pytest.raises(DecisionMakerNotEligible):
        send(officer_case, "countersign_decision", actor=APPROVER)


def test_a_returned_decision_goes_back_for_a_fresh_decision_with_nothing_carried_over():
    case = case_in(S.awaiting_decision)
    send(case, "decide_no_disclosure")
    send(case, "return_decision", actor=APPROVER)
    assert case.status is S.awaiting_decision
    assert case.proposed_outcome is None and case.decision_author_id is None


def test_a_decision_is_sent_back_only_with_what_needs_changing():
    case = case_in(S.decision_pending_approval)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "return_decision", actor=APPROVER, data={})
    assert "what_needs_changing" in refused.value.errors
    assert case.status is S.decision_pending_approval


@pytest.mark.parametrize(("field", "value"), [("record_reviewed", "no"),
                                              ("agrees_with_decision", "no")])
def test_approval_needs_the_record_read_and_agreement(field, value):
    case = case_in(S.decision_pending_approval)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "countersign_decision", data={**demo.COUNTERSIGN, field: value})
    assert field in refused.value.errors


def test_a_flagged_contradiction_must_be_countersigned_explicitly():
    case = case_in(S.decision_pending_approval, decision_needs_countersign=True)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "countersign_decision")
    assert "contradiction_countersigned" in refused.value.errors
    send(case, "countersign_decision",
         data={**demo.COUNTERSIGN, "contradiction_countersigned": "yes"})
    assert case.status is S.disclosure_approved


class _Report:
    """A stand-in for a rationale quality report (workflows.rationale_quality)."""

    def __init__(self, unresolved: dict[str, str], *, countersign: bool = False) -> None:
        self.unresolved = unresolved
        self.needs_countersign = countersign

    def blocking(self, data: dict[str, Any]) -> dict[str, str]:
        return self.unresolved


def test_unresolved_rationale_findings_block_the_decision():
    case = case_in(S.awaiting_decision)
    report = _Report({"necessity": "Necessity: mention this child"})
    with pytest.raises(StepDataInvalid) as refused:
        machine(case).send("decide_no_disclosure", actor=DECIDER, rationale="r",
                           step=VALID["decide_no_disclosure"], today=TODAY, now=NOW,
                           quality=report)
    assert refused.value.errors == {"necessity": "Necessity: mention this child"}
    assert case.status is S.awaiting_decision


def test_an_explained_contradiction_is_carried_to_the_approver():
    case = case_in(S.awaiting_decision)
    machine(case).send("decide_no_disclosure", actor=DECIDER, rationale="r",
                       step=VALID["decide_no_disclosure"], today=TODAY, now=NOW,
                       quality=_Report({}, countersign=True))
    assert case.decision_needs_countersign is True


# --- The multi-agency meeting and the face-to-face disclosure ------------------------------


def test_a_decision_meeting_is_recorded_without_moving_the_case():
    case = case_in(S.awaiting_decision)
    send(case, "record_decision_meeting")
    assert case.status is S.awaiting_decision


@pytest.mark.parametrize(("rows", "message"), [
    ([], "at least one person"),
    ([{"name": "Sian Lloyd", "agency": "probation", "role": ""}], "role"),
    ([{"name": "Sian Lloyd", "agency": "the moon", "role": "OM"}], "agency"),
    ([{"name": "Sian\u202eLloyd", "agency": "probation", "role": "OM"}], "hidden"),
])
def test_meeting_attendees_need_a_name_an_agency_and_a_role(rows, message):
    case = case_in(S.awaiting_decision)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "record_decision_meeting",
             data={**VALID["record_decision_meeting"], "attendees": rows})
    assert message in refused.value.errors["attendees"]


def test_blank_attendee_rows_are_ignored():
    case = case_in(S.awaiting_decision)
    rows = [*demo.DECISION_MEETING["attendees"], {"name": "", "agency": "", "role": ""}]
    send(case, "record_decision_meeting", data={**VALID["record_decision_meeting"],
                                                "attendees": rows})
    assert case.status is S.awaiting_decision


def test_the_subject_can_never_attend_the_disclosure_meeting():
    case = case_in(S.disclosure_approved)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "schedule_disclosure_meeting",
             data={**VALID["schedule_disclosure_meeting"], "subject_excluded": "no"})
    assert "subject_excluded" in refused.value.errors


def test_scheduling_remembers_the_meeting_date():
    case = case_in(S.disclosure_approved)
    send(case, "schedule_disclosure_meeting")
    assert case.disclosure_meeting_on == date(2026, 6, 3)


@pytest.mark.parametrize(("event", "field"), [
    ("record_disclosure_delivered", "meeting_date"),
    ("record_undertaking", "signed_on"),
])
def test_nothing_after_the_decision_can_be_dated_before_its_approval(event, field):
    case = case_in(S.disclosure_approved)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, event, data={**VALID[event], field: "2026-05-19"})
    assert "before the decision was approved" in refused.value.errors[field]


@pytest.mark.parametrize("status", [s for s in Status if s is not S.disclosure_approved])
def test_an_undertaking_cannot_be_recorded_without_an_approved_disclosure(status):
    case = case_in(status)
    with pytest.raises(TransitionNotAllowed):
        send(case, "record_undertaking")
    assert case.status is status


@pytest.mark.parametrize(("data", "field"), [
    ({"representations": "not_sought", "representations_not_sought_reason": None},
     "representations_not_sought_reason"),
    ({"representations": "not_sought", "representations_considered": ""},
     "representations_considered"),
    ({"representations": "received"}, "representations"),
    ({"referrals_made": ["none", "mappa"]}, "referrals_made"),
])
def test_a_disclosure_decision_records_representations_and_referrals_consistently(data, field):
    case = case_in(S.awaiting_decision)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "approve_disclosure_to_other",
             data={**VALID["approve_disclosure_to_other"], **data})
    assert field in refused.value.errors


def test_neither_confirm_nor_deny_needs_its_reason():
    case = case_in(S.awaiting_decision)
    data = {**VALID["decide_no_disclosure"], "ncnd_stance": "yes"}
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "decide_no_disclosure", data=data)
    assert "ncnd_reason" in refused.value.errors
    send(case, "decide_no_disclosure", data={**data, "ncnd_reason": "Confirming would reveal "
                                             "an ongoing investigation."})
    assert case.status is S.decision_pending_approval


def test_meeting_cannot_be_dated_in_the_future():
    case = case_in(S.disclosure_approved)
    with pytest.raises(StepDataInvalid) as refused:
        send(case, "record_disclosure_delivered",
             data={**VALID["record_disclosure_delivered"], "meeting_date": "2026-06-02"})
    assert "meeting_date" in refused.value.errors


def test_partner_must_be_invited_to_record_a_view():
    case = case_in(S.awaiting_decision, invited=set())
    with pytest.raises(ActorNotPermitted):
        send(case, "record_agency_view")


def test_unknown_choice_values_are_refused():
    case = case_in(S.initial_checks)
    with pytest.raises(StepDataInvalid):
        send(case, "reject_out_of_scope",
             data={**VALID["reject_out_of_scope"], "reason_code": "because"})


# --- Stages and the public view ----------------------------------------------------------


def test_every_state_belongs_to_exactly_one_stage():
    for status in Status:
        assert stage_of(status) in Stage


@pytest.mark.parametrize("status", [s for s in Status if s is not S.draft])
def test_public_phase_never_reveals_the_decision_or_disclosure_stages(status):
    phase = public_phase(status)
    assert phase in {"received", "initial", "assessment", "completed"}
    if stage_of(status) in (Stage.risk_check, Stage.decision):
        assert phase == "assessment"
    if status in (S.disclosure_approved, S.no_disclosure_decided, S.disclosure_delivered):
        assert phase == "assessment"
