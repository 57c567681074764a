"""The Child Sex Offender Disclosure Scheme workflow (DOMAIN.md §2 and §9).

One machine covers both routes. A case is built in memory in ``draft`` and its first event
(``submit_application`` for Right to Ask, ``open_right_to_know`` for Right to Know) is committed
with it, so no draft row is ever stored.

Every event is checked, in order, by: the policy table (role, invitation), the written rationale,
the step's structured fields, and for decisions the decision-maker's rank and independence. Only
then do conditions (facts about the case) pick the transition.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from statemachine import State, StateChart

from workflows import extensions, steps
from workflows.checks import outstanding
from workflows.errors import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
    GateClosed,
    PreconditionUnmet,
    RationaleRequired,
    StepDataInvalid,
)
from workflows.fields import LONG_TEXT_MAX, clean_step_data, normalise_text, text_problem
from workflows.identity import IdentityStatus
from workflows.policy import DEFAULT_POLICY, MAY_SEND, CasePolicy
from workflows.protocols import CaseRecord
from workflows.roles import Actor, Role
from workflows.status import Route, Status
from workflows.working_calendar import WorkingCalendar

# Two validators, not three: every transition's callbacks are resolved whenever a machine is
# built, so fewer (and shared) validators keep building one cheap. ``form_valid`` checks the
# rationale, then the step's fields.
EVERY_STEP = ["actor_permitted", "form_valid"]
DECISION = [*EVERY_STEP, "decision_maker_eligible", "reasons_pass_quality_checks"]
# Four eyes: the second decision-maker is eligible on the same terms and is not the author.
APPROVAL = [*EVERY_STEP, "decision_maker_eligible", "not_the_decision_author",
            "identity_confirmed_if_disclosing"]
PARTNER_STEP = [*EVERY_STEP, "partner_invited"]
DELIVERY = [*EVERY_STEP, "undertaking_on_file", "subject_identity_confirmed"]
# A case closed after its whole-process target says why (DOMAIN.md §9.3 #23).
CLOSING = [*EVERY_STEP, "late_closure_explained"]
# Four eyes on an extension: a supervisor who did not ask for it.
EXTENSION_ANSWER = [*EVERY_STEP, "extension_answer_allowed"]


def _in_every_open_state(states: list[State], validators: list[str]) -> Any:
    """One internal (no state change) transition from each of ``states``."""
    transitions = states[0].to.itself(internal=True, validators=validators)
    for state in states[1:]:
        transitions |= state.to.itself(internal=True, validators=validators)
    return transitions

# What a decision proposes; the second decision-maker's approval makes it the case's outcome.
DISCLOSURE_PROPOSALS = {
    "approve_disclosure_to_applicant": "disclose_to_applicant",
    "approve_disclosure_to_other": "disclose_to_other",
    "approve_other_information": "other_information",
}


class QualityReport(Protocol):
    """What ``workflows.rationale_quality`` found in a decision's reasons (see that module)."""

    @property
    def needs_countersign(self) -> bool: ...

    def blocking(self, data: dict[str, Any]) -> dict[str, str]: ...
# Risk check gates (issue 5): no disclosure about anyone whose identity is not confirmed, and no
# assessment (or "nothing held") before every check is resolved.
# The gate comes before the rationale checks: no wording makes a disclosure about an unconfirmed
# person acceptable, so that is what the decision-maker is told first.
DISCLOSURE = [*EVERY_STEP, "decision_maker_eligible", "subject_identity_confirmed",
              "reasons_pass_quality_checks"]


def _state(status: Status, **kwargs: Any) -> State:
    return State(status.label, value=status, **kwargs)


class DisclosureWorkflow(StateChart[CaseRecord]):  # type: ignore[misc]
    """Intake → risk check → multi-agency decision → face-to-face disclosure, with every exit."""

    # StateChart's SCXML defaults would silently ignore refused events, swallow listener errors
    # (so an audit-write failure would not roll back) and write None to the status mid-step.
    allow_event_without_transition = False
    catch_errors_as_events = False
    atomic_configuration_update = True

    draft = _state(Status.draft, initial=True)

    # ### Intake: register the concern, make the applicant safe to contact, find immediate risk.
    received = _state(Status.received)
    referred = _state(Status.referred)
    initial_checks = _state(Status.initial_checks)
    awaiting_interview = _state(Status.awaiting_interview)
    interviewed = _state(Status.interviewed)
    # ### Risk check: what is known about the subject, and whether they pose a risk to the child.
    full_risk_assessment = _state(Status.full_risk_assessment)
    representations_pending = _state(Status.representations_pending)
    # ### Multi-agency decision: police decide with partners; lawful, necessary, proportionate.
    awaiting_decision = _state(Status.awaiting_decision)
    decision_pending_approval = _state(Status.decision_pending_approval)
    # ### Face-to-face disclosure, in person with a signed undertaking, or the outcome delivered.
    disclosure_approved = _state(Status.disclosure_approved)
    disclosure_not_delivered = _state(Status.disclosure_not_delivered)
    disclosure_delivered = _state(Status.disclosure_delivered)
    no_disclosure_decided = _state(Status.no_disclosure_decided)
    outcome_communicated = _state(Status.outcome_communicated)
    # ### Closed. Every ending is final: a case is never reopened; new information opens a new,
    # linked case so that each decision keeps its own immutable record.
    not_progressed = _state(Status.not_progressed, final=True)
    transferred = _state(Status.transferred, final=True)
    withdrawn = _state(Status.withdrawn, final=True)
    identity_unverified = _state(Status.identity_unverified, final=True)
    closed = _state(Status.closed, final=True)

    # --- Entry routes
    submit_application = draft.to(received, cond="is_right_to_ask", validators=EVERY_STEP)
    open_right_to_know = draft.to(referred, cond="is_right_to_know", validators=EVERY_STEP)

    # --- Intake
    start_checks = received.to(
        initial_checks, cond="is_right_to_ask", validators=EVERY_STEP
    ) | referred.to(initial_checks, cond="is_right_to_know", validators=EVERY_STEP)
    reject_out_of_scope = initial_checks.to(not_progressed, validators=EVERY_STEP)
    transfer = initial_checks.to(transferred, validators=EVERY_STEP)
    accept_for_interview = initial_checks.to(
        awaiting_interview, cond="is_right_to_ask", validators=EVERY_STEP
    )
    accept_for_assessment = initial_checks.to(
        full_risk_assessment, cond="is_right_to_know", validators=EVERY_STEP
    )
    record_interview = awaiting_interview.to(interviewed, validators=EVERY_STEP)
    verify_applicant = interviewed.to(
        full_risk_assessment, cond="applicant_identity_verified", validators=EVERY_STEP
    )
    close_unverified = awaiting_interview.to(
        identity_unverified, validators=EVERY_STEP
    ) | interviewed.to(identity_unverified, validators=EVERY_STEP)
    # The applicant may withdraw until a decision is made; the safeguarding concern stays live.
    withdraw = (
        received.to(withdrawn, validators=EVERY_STEP)
        | initial_checks.to(withdrawn, cond="is_right_to_ask", validators=EVERY_STEP)
        | awaiting_interview.to(withdrawn, validators=EVERY_STEP)
        | interviewed.to(withdrawn, validators=EVERY_STEP)
        | full_risk_assessment.to(withdrawn, cond="is_right_to_ask", validators=EVERY_STEP)
        | representations_pending.to(withdrawn, cond="is_right_to_ask", validators=EVERY_STEP)
        | awaiting_decision.to(withdrawn, cond="is_right_to_ask", validators=EVERY_STEP)
        | decision_pending_approval.to(withdrawn, cond="is_right_to_ask", validators=EVERY_STEP)
    )

    # --- Risk check
    invite_representations = full_risk_assessment.to(
        representations_pending, validators=EVERY_STEP
    )
    record_representations = representations_pending.to(
        full_risk_assessment, validators=EVERY_STEP
    )
    complete_assessment = full_risk_assessment.to(
        awaiting_decision, validators=[*EVERY_STEP, "checks_resolved"]
    )

    # --- Multi-agency decision. Partners are invited and record views without moving the case.
    invite_partner = (
        full_risk_assessment.to.itself(internal=True, validators=EVERY_STEP)
        | representations_pending.to.itself(internal=True, validators=EVERY_STEP)
        | awaiting_decision.to.itself(internal=True, validators=EVERY_STEP)
    )
    record_agency_view = (
        full_risk_assessment.to.itself(internal=True, validators=PARTNER_STEP)
        | representations_pending.to.itself(internal=True, validators=PARTNER_STEP)
        | awaiting_decision.to.itself(internal=True, validators=PARTNER_STEP)
    )
    # The meeting record: who attended for which agency, what was shared, each agency's view.
    record_decision_meeting = (
        full_risk_assessment.to.itself(internal=True, validators=EVERY_STEP)
        | representations_pending.to.itself(internal=True, validators=EVERY_STEP)
        | awaiting_decision.to.itself(internal=True, validators=EVERY_STEP)
    )
    # A decision (either outcome) is made by one decision-maker and takes effect only when a
    # second one approves it; the approver may send it back with reasons.
    approve_disclosure_to_applicant = awaiting_decision.to(
        decision_pending_approval, cond="is_right_to_ask", validators=DISCLOSURE
    )
    approve_disclosure_to_other = awaiting_decision.to(
        decision_pending_approval, validators=DISCLOSURE
    )
    approve_other_information = awaiting_decision.to(
        decision_pending_approval, validators=DISCLOSURE
    )
    decide_no_disclosure = awaiting_decision.to(
        decision_pending_approval, validators=[*DECISION, "nothing_held_needs_checks"]
    )
    countersign_decision = decision_pending_approval.to(
        disclosure_approved, cond="disclosure_proposed", validators=APPROVAL
    ) | decision_pending_approval.to(
        no_disclosure_decided, unless="disclosure_proposed", validators=APPROVAL
    )
    return_decision = decision_pending_approval.to(awaiting_decision, validators=APPROVAL)

    # --- Face-to-face disclosure and outcome
    schedule_disclosure_meeting = disclosure_approved.to.itself(
        internal=True, validators=EVERY_STEP
    )
    record_undertaking = disclosure_approved.to.itself(internal=True, validators=EVERY_STEP)
    record_disclosure_delivered = disclosure_approved.to(disclosure_delivered, validators=DELIVERY)
    record_not_delivered = disclosure_approved.to(disclosure_not_delivered, validators=EVERY_STEP)
    reconsider = disclosure_not_delivered.to(awaiting_decision, validators=EVERY_STEP)
    communicate_outcome = no_disclosure_decided.to(
        outcome_communicated, cond="is_right_to_ask", validators=EVERY_STEP
    )
    # A third-party applicant who is not the recipient gets only a neutral message (§5.4).
    notify_applicant = disclosure_delivered.to(
        outcome_communicated, cond="applicant_notice_due", validators=EVERY_STEP
    )
    close_case = (
        outcome_communicated.to(closed, validators=CLOSING)
        | disclosure_delivered.to(closed, unless="applicant_notice_due", validators=CLOSING)
        | no_disclosure_decided.to(closed, cond="is_right_to_know", validators=CLOSING)
    )

    # --- Urgent safeguarding can be raised from any open state and never ends the case.
    raise_urgent_safeguarding = (
        received.to.itself(internal=True, validators=EVERY_STEP)
        | referred.to.itself(internal=True, validators=EVERY_STEP)
        | initial_checks.to.itself(internal=True, validators=EVERY_STEP)
        | awaiting_interview.to.itself(internal=True, validators=EVERY_STEP)
        | interviewed.to.itself(internal=True, validators=EVERY_STEP)
        | full_risk_assessment.to.itself(internal=True, validators=EVERY_STEP)
        | representations_pending.to.itself(internal=True, validators=EVERY_STEP)
        | awaiting_decision.to.itself(internal=True, validators=EVERY_STEP)
        | decision_pending_approval.to.itself(internal=True, validators=EVERY_STEP)
        | disclosure_approved.to.itself(internal=True, validators=EVERY_STEP)
        | disclosure_not_delivered.to.itself(internal=True, validators=EVERY_STEP)
        | disclosure_delivered.to.itself(internal=True, validators=EVERY_STEP)
        | no_disclosure_decided.to.itself(internal=True, validators=EVERY_STEP)
        | outcome_communicated.to.itself(internal=True, validators=EVERY_STEP)
    )

    # --- Target dates (DOMAIN.md §9.3 #24): asked for by the case officer, authorised or
    # refused by a supervisor who did not ask. No state change; the target moves on approval.
    request_extension = _in_every_open_state(
        [received, referred, initial_checks, awaiting_interview, interviewed,
         full_risk_assessment, representations_pending, awaiting_decision,
         decision_pending_approval, disclosure_approved, disclosure_not_delivered,
         disclosure_delivered, no_disclosure_decided, outcome_communicated],
        [*EVERY_STEP, "no_extension_pending", "extension_request_valid"])
    extend_deadline = _in_every_open_state(
        [received, referred, initial_checks, awaiting_interview, interviewed,
         full_risk_assessment, representations_pending, awaiting_decision,
         decision_pending_approval, disclosure_approved, disclosure_not_delivered,
         disclosure_delivered, no_disclosure_decided, outcome_communicated],
        EXTENSION_ANSWER)
    refuse_extension = _in_every_open_state(
        [received, referred, initial_checks, awaiting_interview, interviewed,
         full_risk_assessment, representations_pending, awaiting_decision,
         decision_pending_approval, disclosure_approved, disclosure_not_delivered,
         disclosure_delivered, no_disclosure_decided, outcome_communicated],
        EXTENSION_ANSWER)

    def __init__(self, model: CaseRecord, *, policy: CasePolicy = DEFAULT_POLICY, **kw: Any):
        self.policy = policy
        super().__init__(model=model, state_field="status", **kw)

    # --- Validators: refuse with a reason --------------------------------------------------

    def actor_permitted(self, event: str, actor: Actor | None = None) -> None:
        if actor is None or actor.role not in MAY_SEND[str(event)]:
            role = actor.role.label if actor else "Nobody"
            raise ActorNotPermitted(f"{role} may not {steps.step_for(str(event)).title.lower()}.")

    def form_valid(self, event: str, rationale: str = "", step: dict[str, Any] | None = None,
                   today: date | None = None) -> None:
        self.rationale_given(rationale)
        self.step_data_valid(event, step, today)

    def rationale_given(self, rationale: str = "") -> None:
        text = normalise_text(rationale or "")
        if not text:
            raise RationaleRequired("Give a written rationale for this step.")
        problem = text_problem(text, multiline=True)
        if problem or len(text) > LONG_TEXT_MAX:
            raise RationaleRequired(problem or f"Rationale must be {LONG_TEXT_MAX} characters "
                                    "or fewer.")

    def step_data_valid(
        self, event: str, step: dict[str, Any] | None = None, today: date | None = None
    ) -> None:
        spec = steps.step_for(str(event))
        _, errors = clean_step_data(spec, step or {}, self.model, today or date.today())
        if errors:
            raise StepDataInvalid(errors)

    def decision_maker_eligible(self, actor: Actor | None = None) -> None:
        assert actor is not None  # actor_permitted ran first
        minimum = self.policy.min_decision_rank
        if actor.rank is None or actor.rank < minimum:
            raise DecisionMakerNotEligible(
                f"A disclosure decision needs a decision-maker of at least {minimum.label} rank."
            )
        if actor.id is not None and actor.id == self.model.assigned_officer_id:
            raise DecisionMakerNotEligible(
                "The case officer cannot make the disclosure decision on their own case."
            )

    def not_the_decision_author(self, actor: Actor | None = None) -> None:
        if actor is not None and actor.id == self.model.decision_author_id:
            raise DecisionMakerNotEligible(
                "You made this decision, so you cannot approve or return it: a second "
                "decision-maker must."
            )

    def reasons_pass_quality_checks(
        self, step: dict[str, Any] | None = None, quality: QualityReport | None = None
    ) -> None:
        # The service always passes the report it showed the author; the machine refuses the
        # decision while any finding is unresolved (fixed, acknowledged or explained).
        if quality is None:
            return
        errors = quality.blocking(step or {})
        if errors:
            raise StepDataInvalid(errors)

    def undertaking_on_file(self) -> None:
        if not self.model.undertaking_recorded:
            raise PreconditionUnmet(
                "Record the recipient's signed confidentiality undertaking before recording the "
                "disclosure as delivered. If they would not sign, record the disclosure as not "
                "delivered so that a decision-maker can reconsider."
            )

    def partner_invited(self, actor: Actor | None = None) -> None:
        if actor is None or not self.model.is_partner_invited(actor.id):
            raise ActorNotPermitted("Only partner agencies invited to this case can record a view.")

    # --- Risk check gates (issue 5) --------------------------------------------------------

    def subject_identity_confirmed(self) -> None:
        """DOMAIN.md §7.2: a disclosure needs the subject positively identified: two independent
        identifiers, confirmed by a second person (recorded by ``services.risk_check``)."""
        if self.model.subject_identity != IdentityStatus.confirmed:
            raise GateClosed(
                "The subject's identity is not confirmed, so nothing can be disclosed about them. "
                "Confirm the match with a colleague on the identity page, or record 'no trace' "
                "and decide not to disclose."
            )

    def identity_confirmed_if_disclosing(self) -> None:
        """Approving a disclosure passes the identity gate again; approving no disclosure (the
        only outcome for "no trace") does not need it."""
        if self.disclosure_proposed():
            self.subject_identity_confirmed()

    def checks_resolved(self) -> None:
        missing = outstanding(self.policy.check_sources, self.model.resolved_check_sources())
        if missing:
            raise StepDataInvalid({"checks": "Record every check as done or not applicable "
                                   "before completing the assessment. Still open: "
                                   + ", ".join(missing)})

    def nothing_held_needs_checks(self, step: dict[str, Any] | None = None) -> None:
        if (step or {}).get("reason_category") != "no_information":
            return
        missing = outstanding(self.policy.check_sources, self.model.resolved_check_sources())
        if missing:
            raise StepDataInvalid({"reason_category": "'No relevant information held' needs "
                                   "every check resolved first. Still open: "
                                   + ", ".join(missing)})

    # --- Target dates (workflows.extensions) ----------------------------------------------

    def no_extension_pending(self) -> None:
        if self.model.extension_request:
            raise PreconditionUnmet("An extension is already waiting for a supervisor: it must "
                                    "be authorised or refused before another is asked for.")

    def extension_request_valid(self, step: dict[str, Any] | None = None) -> None:
        errors = extensions.request_problems(self.model, step or {},
                                             max_days=self.policy.extension_max_days,
                                             tz=self.policy.local_tz)
        if errors:
            raise StepDataInvalid(errors)

    def extension_answer_allowed(self, actor: Actor | None = None) -> None:
        """An extension can be answered only when one is asked for, and only by a supervisor
        who did not ask for it."""
        self.extension_pending()
        self.extension_authoriser_eligible(actor)

    def extension_pending(self) -> None:
        if not self.model.extension_request:
            raise PreconditionUnmet("No extension has been asked for on this case.")

    def extension_authoriser_eligible(self, actor: Actor | None = None) -> None:
        assert actor is not None  # actor_permitted ran first
        minimum = self.policy.min_extension_rank
        if actor.rank is None or actor.rank < minimum:
            raise DecisionMakerNotEligible(
                f"An extension must be answered by an officer of at least {minimum.label} rank."
            )
        if actor.id is not None and actor.id == self.model.extension_requested_by_id:
            raise DecisionMakerNotEligible(
                "You asked for this extension, so you cannot answer it: a supervisor must."
            )

    def late_closure_explained(self, step: dict[str, Any] | None = None,
                               now: datetime | None = None) -> None:
        data = step or {}
        if now is None or now <= self.model.decision_due_at:
            return
        errors = {}
        if not data.get("breach_reason_code"):
            errors["breach_reason_code"] = ("The whole-process target date has passed: select "
                                            "why it was missed")
        if not data.get("breach_explanation"):
            errors["breach_explanation"] = "Explain what held the case up"
        if errors:
            raise StepDataInvalid(errors)

    # --- Conditions: facts about the case --------------------------------------------------

    def is_right_to_ask(self) -> bool:
        return self.model.route == Route.right_to_ask

    def is_right_to_know(self) -> bool:
        return self.model.route == Route.right_to_know

    def applicant_identity_verified(self) -> bool:
        return bool(self.model.applicant_identity_verified)

    def disclosure_proposed(self) -> bool:
        return self.model.proposed_outcome in DISCLOSURE_PROPOSALS.values()

    def applicant_notice_due(self) -> bool:
        return self.is_right_to_ask() and self.model.recipient_is_applicant is False

    # --- Actions: the facts a step establishes, written with the state change --------------

    def on_start_checks(self, actor: Actor) -> None:
        # The officer who starts the checks holds the case unless it was already allocated.
        if self.model.assigned_officer_id is None:
            self.model.assigned_officer_id = actor.id

    # Milestones: when each stage's clock stopped (workflows.clocks, workflows.forecast).
    def on_exit_initial_checks(self, now: datetime | None = None) -> None:
        if now is not None and self.model.checks_done_at is None:
            self.model.checks_done_at = now

    def on_enter_awaiting_decision(self, now: datetime | None = None) -> None:
        if now is not None and self.model.assessment_done_at is None:
            self.model.assessment_done_at = now

    def on_request_extension(self, actor: Actor, step: dict[str, Any]) -> None:
        self.model.extension_request = {
            "clock": step["clock"], "new_date": step["new_date"],
            "reason_code": step["reason_code"],
        }
        self.model.extension_requested_by_id = actor.id

    def on_extend_deadline(self) -> None:
        request = self.model.extension_request or {}
        new_due = WorkingCalendar(tz=self.policy.local_tz).end_of_local_day(
            date.fromisoformat(request["new_date"]))
        setattr(self.model, extensions.DUE_ATTRIBUTE[request["clock"]], new_due)
        self._clear_extension()

    def on_refuse_extension(self) -> None:
        self._clear_extension()

    def _clear_extension(self) -> None:
        self.model.extension_request = None
        self.model.extension_requested_by_id = None

    def on_close_case(self, step: dict[str, Any]) -> None:
        self.model.overall_breach_reason = step.get("breach_reason_code") or None

    def on_open_right_to_know(self, actor: Actor) -> None:
        self.model.assigned_officer_id = actor.id

    def on_raise_urgent_safeguarding(self) -> None:
        self.model.urgent_safeguarding = True

    def on_record_interview(self, step: dict[str, Any], now: datetime | None = None) -> None:
        self.model.applicant_identity_verified = step.get("identity_verified") == "yes"
        if now is not None and self.model.interview_done_at is None:
            self.model.interview_done_at = now

    def on_record_representations(self) -> None:
        self.model.representations_recorded = True

    def on_complete_assessment(self, step: dict[str, Any]) -> None:
        self.model.child_sexual_offence_flag = step.get("child_sexual_offence_conviction") == "yes"

    def on_approve_disclosure_to_applicant(
        self, actor: Actor, quality: QualityReport | None = None
    ) -> None:
        self._propose("approve_disclosure_to_applicant", actor, quality)
        self.model.recipient_is_applicant = True

    def on_approve_disclosure_to_other(
        self, actor: Actor, quality: QualityReport | None = None
    ) -> None:
        self._propose("approve_disclosure_to_other", actor, quality)
        self.model.recipient_is_applicant = False

    def on_approve_other_information(
        self, actor: Actor, step: dict[str, Any], quality: QualityReport | None = None
    ) -> None:
        self._propose("approve_other_information", actor, quality)
        self.model.recipient_is_applicant = step.get("recipient") == "applicant"

    def on_decide_no_disclosure(self, actor: Actor, quality: QualityReport | None = None) -> None:
        self._propose("decide_no_disclosure", actor, quality)
        self.model.recipient_is_applicant = None

    def _propose(self, event: str, actor: Actor, quality: QualityReport | None) -> None:
        self.model.proposed_outcome = DISCLOSURE_PROPOSALS.get(event, "no_disclosure")
        self.model.decision_author_id = actor.id
        self.model.decision_needs_countersign = bool(quality and quality.needs_countersign)

    def on_countersign_decision(self, actor: Actor, now: datetime) -> None:
        self.model.decision_approver_id = actor.id
        self.model.decision_approved_at = now
        self.model.decision_outcome = (
            "disclosure" if self.disclosure_proposed() else "no_disclosure"
        )

    def on_return_decision(self) -> None:
        self._clear_decision()

    def on_schedule_disclosure_meeting(self, step: dict[str, Any]) -> None:
        self.model.disclosure_meeting_on = date.fromisoformat(step["meeting_date"])

    def on_record_undertaking(self) -> None:
        self.model.undertaking_recorded = True

    def on_reconsider(self) -> None:
        # The earlier decision, its approval and the meeting stay in the step records; the case
        # goes back for a fresh decision with nothing carried over.
        self._clear_decision()
        self.model.decision_approver_id = None
        self.model.decision_approved_at = None
        self.model.decision_outcome = None
        self.model.disclosure_meeting_on = None
        self.model.undertaking_recorded = False

    def _clear_decision(self) -> None:
        self.model.proposed_outcome = None
        self.model.decision_author_id = None
        self.model.decision_needs_countersign = False
        self.model.recipient_is_applicant = None


EVENT_IDS: frozenset[str] = frozenset(e.id for e in DisclosureWorkflow.events)
assert EVENT_IDS == set(MAY_SEND), "the machine and the policy table must list the same events"
assert Role.auditor not in {r for roles in MAY_SEND.values() for r in roles}
