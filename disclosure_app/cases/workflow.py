"""Taking a workflow step on a case: the one place a case's state changes.

``take_step`` is one transaction: load and lock the case in the user's scope → record the form's
one-time key (a repeat stops here: see ``services.idempotency``) → check the version the user saw
→ validate the step → run the machine (which authorises and transitions) → write the step record
and the audit entry (from the machine's ``after_transition``) → commit. Any error rolls
everything back, including the in-memory status the machine had already set.

Two people acting on one case at once (SECURITY.md R-2): the case row is locked before the
version check (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` already
admits one writer at a time), and re-read rather than taken from the session, so the second
request sees the first one's version and gets ``StaleCase``. The mapper's version column stays
as a second guard: if an UPDATE still finds the row changed, that is ``StaleCase`` too.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from statemachine.exceptions import TransitionNotAllowed

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import canonical_json, sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases.closure import assign_at_closure
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.clocks.service import sync_clocks
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, NotFound, OutOfScope, StaleCase, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.decisions import rationale_quality
from disclosure_app.models import Case, CaseAllocation, CaseInvitation, CaseStep, User
from disclosure_app.notifications.steps import notify_for_step
from workflows import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
    DisclosureWorkflow,
    StepDataInvalid,
    WorkflowRefusal,
)
from workflows.disclosure import EVENT_IDS
from workflows.fields import clean_step_data, normalise_text
from workflows.policy import EXTENSION_ANSWERS, CasePolicy
from workflows.roles import Actor, Role
from workflows.status import Status
from workflows.steps import StepSpec, step_for

# Which s.62 log type each step is. Delivering the disclosure is the disclosure itself.
_CATEGORY = {
    "submit_application": Category.collection,
    "open_right_to_know": Category.collection,
    "record_agency_view": Category.collection,
    "invite_partner": Category.disclosure,
    "record_undertaking": Category.collection,
    "record_disclosure_delivered": Category.disclosure,
}


# Steps whose record is a file: sent by the service that stores the file, never bare.
UPLOAD_EVENTS = frozenset({"record_undertaking"})


def audit_details(spec: StepSpec, data: dict[str, Any], rationale: str) -> dict[str, Any]:
    """What a step's audit entry says: codes in clear, personal text only as SHA-256."""
    codes = {
        f.name: data[f.name]
        for f in spec.fields
        if f.name in data and not f.holds_personal_data
    }
    return {
        "codes": codes,
        "step_sha256": sha256_hex(canonical_json(data)),
        "rationale_sha256": sha256_hex(rationale),
    }


def disclosure_recipient(case: Case, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Who received information in a disclosure step (DPA 2018 s.62(3)), as ids and codes; a
    person without an account is named only by the SHA-256 of the name the decision recorded.
    The justification of a step is its rationale, whose hash every entry carries."""
    if event == "invite_partner":
        return {"recipient": {"kind": "partner_agency_member",
                              "user_id": int(data.get("partner_user_id") or 0) or None}}
    if event != "record_disclosure_delivered":
        return {}
    if case.recipient_is_applicant:
        return {"recipient": {"kind": "applicant",
                              "applicant_id": case.applicant.id if case.applicant else None}}
    decisions = [s for s in case.steps if s.event.startswith("approve_disclosure")]
    name = (decisions[-1].data or {}).get("recipient_name", "") if decisions else ""
    return {"recipient": {"kind": "other_person", "name_sha256": sha256_hex(str(name))}}


class StepRecorder:
    """Machine listener: writes the step record and its audit entry in the same transaction."""

    def __init__(self, session: Session, case: Case, now: datetime,
                 policy: CasePolicy | None = None) -> None:
        self.session = session
        self.case = case
        self.now = now
        self.policy = policy
        self.step: CaseStep | None = None

    def after_transition(
        self,
        event: str,
        source: Any,
        target: Any,
        actor: Actor,
        rationale: str = "",
        step: dict[str, Any] | None = None,
        quality: rationale_quality.QualityReport | None = None,
    ) -> None:
        data = step or {}
        spec = step_for(str(event))
        case = self.case
        case.updated_at = self.now
        case.updated_by_id = actor.id
        case.updated_by_label = actor.name
        if Status(target.value).is_terminal and case.closed_at is None:
            case.closed_at = self.now
        if self.policy is not None:
            # A case that has just ended gets its retention group and first MoPI review date,
            # in the same row update as its final state.
            assign_at_closure(case, data, self.policy, self.now)
        self.session.flush()  # a new case gets its id here
        entry = audit.append(
            self.session,
            now=self.now,
            actor=actor,
            action=str(event),
            category=_CATEGORY.get(str(event), Category.alteration),
            case_id=case.id,
            from_status=str(source.value) if source.value != Status.draft else None,
            to_status=str(target.value),
            details={
                "reference": case.reference,
                **audit_details(spec, data, rationale),
                **disclosure_recipient(case, str(event), data),
                **({"quality": quality.to_record()} if quality is not None else {}),
            },
        )
        self.step = CaseStep(
            case_id=case.id,
            event=str(event),
            from_status=Status(source.value),
            to_status=Status(target.value),
            actor_id=actor.id,
            actor_role=actor.role,
            actor_name=actor.name,
            actor_rank=actor.rank.name if actor.rank else None,
            created_at=self.now,
            data=data,
            rationale=rationale,
            audit_seq=entry.seq,
            quality=quality.to_record() if quality is not None else None,
        )
        self.session.add(self.step)
        if quality is not None:
            # Later decisions are compared with this one's reasons (boilerplate detection).
            self.session.flush()
            rationale_quality.record_fingerprints(self.session, case.id, self.step.id, data)


@dataclass(frozen=True)
class StepRequest:
    case_id: int
    event: str
    expected_version: int
    data: dict[str, Any]
    rationale: str
    submission_key: str | None = None  # the form's one-time key (services.idempotency)


def run_machine(
    session: Session,
    case: Case,
    *,
    event: str,
    actor: Actor,
    data: dict[str, Any],
    rationale: str,
    policy: CasePolicy,
    now: datetime,
) -> CaseStep:
    """Validate and send one event. The caller owns the transaction."""
    spec = step_for(event)
    rationale = normalise_text(rationale)  # NFC once, like every other text (SEC-19)
    recorder = StepRecorder(session, case, now, policy)
    machine = DisclosureWorkflow(case, policy=policy, listeners=[recorder])
    # A step that cannot happen at this stage is refused as such (409), before its fields are
    # judged: what the form holds does not matter for a step the case cannot take.
    if event not in {e.id for e in machine.allowed_events}:
        raise _not_possible(spec, case)
    cleaned, errors = clean_step_data(spec, data, case, now.date())
    if errors:
        raise InputInvalid(errors)
    quality = check_reasons(session, case, event, cleaned, policy) if spec.is_decision else None
    try:
        machine.send(event, actor=actor, rationale=rationale, step=cleaned, today=now.date(),
                     now=now, quality=quality)
    except TransitionNotAllowed as exc:
        raise _not_possible(spec, case) from exc
    except StepDataInvalid as exc:
        raise InputInvalid(exc.errors) from exc
    assert recorder.step is not None
    # The clocks follow the step (a milestone stops one, an extension moves one, closing stops
    # them all), in the same transaction.
    calendar = load_calendar(session, policy, now.date())
    sync_clocks(session, case, calendar, policy.clocks, now)
    return recorder.step


def _not_possible(spec: StepSpec, case: Case) -> StepNotAllowed:
    label = Status(case.status).label if case.status else "new"
    return StepNotAllowed(
        f"'{spec.title}' is not possible while the case is at '{label}'. "
        "The case has not been changed."
    )


def check_reasons(
    session: Session, case: Case, event: str, data: dict[str, Any], policy: CasePolicy
) -> rationale_quality.QualityReport:
    """The rationale quality checks on a decision's (cleaned) data: shown to the author before
    they submit, and applied again, and recorded, when they do."""
    return rationale_quality.check(
        session, case, event, data,
        min_chars=policy.rationale_min_chars, threshold=policy.boilerplate_overlap,
    )


def preview_reasons(
    session: Session, user: User, case_id: int, event: str, data: dict[str, Any],
    *, policy: CasePolicy, now: datetime,
) -> tuple[rationale_quality.QualityReport, dict[str, str]]:
    """What the checks say about a draft decision, without saving anything: the report and
    which of its findings are still unresolved. Field errors come back as ``InputInvalid``."""
    spec = step_for(event)
    if not spec.is_decision:
        raise NotFound()
    case = load_case_in_scope(session, user, case_id)
    cleaned, errors = clean_step_data(spec, data, case, now.date())
    if errors:
        raise InputInvalid(errors)
    report = check_reasons(session, case, event, cleaned, policy)
    return report, report.blocking(cleaned)


def take_step(
    session: Session,
    request: StepRequest,
    *,
    user: User,
    policy: CasePolicy,
    now: datetime,
) -> CaseStep:
    """Take one step. Raises ``AlreadySubmitted`` if this form's key was used before (nothing
    is done again) and ``StaleCase`` if the case changed after the form was opened."""
    if request.event not in EVENT_IDS:
        raise NotFound()
    try:
        with transaction(session):
            case = load_case_in_scope(session, user, request.case_id, for_update=True)
            idempotency.claim(
                session, request.submission_key, idempotency.Purpose.step, now=now,
                case_id=case.id, event=request.event, user_id=user.id,
            )
            if case.version != request.expected_version:
                raise StaleCase(case.updated_by_label, case.updated_at)
            return _take_step(session, case, request, user=user, policy=policy, now=now)
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None
    except StaleDataError:
        raise stale_case(session, request.case_id) from None


def _take_step(
    session: Session,
    case: Case,
    request: StepRequest,
    *,
    user: User,
    policy: CasePolicy,
    now: datetime,
) -> CaseStep:
    if request.event in UPLOAD_EVENTS:
        # Only services.documents sends it, with the signed copy kept in the same transaction.
        raise StepNotAllowed("Record the signed undertaking by uploading the signed copy.")
    if request.event == "invite_partner":
        _check_partner(session, request.data)
    holder_before = case.assigned_officer_id
    step = run_machine(
        session,
        case,
        event=request.event,
        actor=user.as_actor(),
        data=request.data,
        rationale=request.rationale,
        policy=policy,
        now=now,
    )
    notify_for_step(session, case, step, policy, now)  # in this transaction, like the step
    if holder_before is None and case.assigned_officer_id == user.id:
        # Starting the checks of an unallocated case takes it: recorded like a claim.
        session.add(CaseAllocation(
            case_id=case.id, action="claim", to_user_id=user.id, from_team_id=case.team_id,
            to_team_id=case.team_id, reason="Took the case by starting its checks.",
            by_user_id=user.id, at=now, audit_seq=step.audit_seq))
    if request.event == "invite_partner":
        session.add(
            CaseInvitation(
                case_id=case.id,
                user_id=int(step.data["partner_user_id"]),
                invited_by_id=user.id,
                invited_at=now,
            )
        )
    if not case.is_open:
        _revoke_partner_access(case, now)
    return step


def stale_case(session: Session, case_id: int) -> StaleCase:
    """After a rolled-back write found the case changed underneath it: who changed it, when."""
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound()
    return StaleCase(case.updated_by_label, case.updated_at)


def _check_partner(session: Session, data: dict[str, Any]) -> None:
    try:
        partner_id = int(data.get("partner_user_id") or 0)
    except (TypeError, ValueError):
        partner_id = 0
    partner = session.get(User, partner_id) if partner_id else None
    if partner is None or partner.role is not Role.partner or not partner.active:
        raise InputInvalid({"partner_user_id": "Select a partner agency member"})


def _revoke_partner_access(case: Case, now: datetime) -> None:
    """Invited partners lose access once a case is closed."""
    for invitation in case.invitations:
        if invitation.revoked_at is None:
            invitation.revoked_at = now


def load_case_in_scope(
    session: Session, user: User, case_id: int, *, for_update: bool = False
) -> Case:
    """The case if this user may see it; otherwise the same 404 as a missing case.

    ``for_update`` (inside a write transaction): lock the row until commit and read it afresh,
    never from what the session loaded earlier in the request."""
    query = select(Case).where(Case.id == case_id)
    if user.role is Role.partner:
        query = query.join(CaseInvitation, CaseInvitation.case_id == Case.id).where(
            CaseInvitation.user_id == user.id, CaseInvitation.revoked_at.is_(None)
        )
    elif user.role not in (Role.case_officer, Role.decision_maker, Role.auditor):
        raise OutOfScope() if session.get(Case, case_id) is not None else NotFound()
    if for_update:
        query = query.with_for_update(of=Case).execution_options(populate_existing=True)
    case = session.scalars(query).first()
    if case is None:
        exists = session.scalar(select(Case.id).where(Case.id == case_id)) is not None
        raise OutOfScope() if exists else NotFound()
    return case


# What a step's validators may be given before its form exists: who sends it, and which step.
# A validator that also takes the rationale, the fields or the quality report judges the form,
# so it can only run when the form is sent.
_KNOWN_BEFORE_THE_FORM = frozenset({"self", "event", "actor"})
# Refusals about the person (hidden from them: the step is not theirs) rather than the case.
_NOT_YOURS = (ActorNotPermitted, DecisionMakerNotEligible)


@dataclass(frozen=True)
class StepOffer:
    """A step the case page shows this person: ``refusal`` says why it cannot be taken yet
    (something about the case, which the step's form cannot change), or is None."""

    spec: StepSpec
    refusal: str | None = None


def refusal_before_form(case: Case, actor: Actor, event: str, policy: CasePolicy,
                        machine: DisclosureWorkflow | None = None
                        ) -> WorkflowRefusal | StepNotAllowed | None:
    """Why the machine would refuse this step whatever its form held, or None.

    Asks the machine itself: the step must be enabled at the case's state, then every
    validator of its transition that needs nothing from the form runs now (who may send it,
    decision-maker eligibility, four eyes, the identity gate, the signed undertaking, the
    checklist). The same validators run again when the step is sent. Refusals about the person
    come back as the machine raised them (403); refusals about the case as ``StepNotAllowed``
    with the machine's message (409)."""
    spec = step_for(event)
    # Building a machine costs milliseconds (every transition's callbacks are resolved), so a
    # page asking about several steps passes one; its validators only read the case.
    machine = machine or DisclosureWorkflow(case, policy=policy)
    if case.status is None or event not in {e.id for e in machine.enabled_events()}:
        return _not_possible(spec, case)
    for name in _validators_before_form(machine, event):
        validator = getattr(machine, name)
        wanted = inspect.signature(validator).parameters
        given = {"event": event, "actor": actor}
        try:
            validator(**{key: value for key, value in given.items() if key in wanted})
        except _NOT_YOURS as exc:
            return exc
        except StepDataInvalid as exc:
            return StepNotAllowed("; ".join(exc.errors.values()))
        except WorkflowRefusal as exc:
            return StepNotAllowed(exc.message)
    return None


def _validators_before_form(machine: DisclosureWorkflow, event: str) -> list[str]:
    """The names of the validators every transition of ``event`` from the current state
    runs, in their order, keeping those that need nothing from the form."""
    lists = [[spec.func for spec in transition.validators]
             for state in machine.configuration for transition in state.transitions
             if transition.match(event)]
    if not lists:
        return []
    common = set(lists[0]).intersection(*lists[1:])
    names = [name for name in lists[0] if name in common]
    return [name for name in names if isinstance(name, str) and set(
        inspect.signature(getattr(type(machine), name)).parameters) <= _KNOWN_BEFORE_THE_FORM]


def step_offers(case: Case, user: User, policy: CasePolicy) -> list[StepOffer]:
    """The steps enabled now that this person may send, each with why it cannot be taken yet
    (or None). Steps refused because of who the person is are left out."""
    if case.status is None or Status(case.status).is_terminal:
        return []
    actor = user.as_actor()
    offers = []
    machine = DisclosureWorkflow(case, policy=policy)
    for event in machine.enabled_events():
        if event.id in EXTENSION_ANSWERS and not case.extension_request:
            continue  # nothing to answer: not worth a line on every case page
        refusal = refusal_before_form(case, actor, event.id, policy, machine)
        if isinstance(refusal, _NOT_YOURS):
            continue
        offers.append(StepOffer(step_for(event.id), refusal.message if refusal else None))
    return offers


def available_steps(case: Case, user: User, policy: CasePolicy) -> list[StepSpec]:
    """The steps this user could take now: those the machine's validators let go ahead."""
    return [offer.spec for offer in step_offers(case, user, policy) if offer.refusal is None]
