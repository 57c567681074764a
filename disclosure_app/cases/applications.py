"""Starting cases: a public Right to Ask application, or a police Right to Know referral; and
what the applicant can do with their private status link.

Each takes the form's one-time key (``services.idempotency``): sent twice, the form creates one
case (or withdraws once) and the repeat raises ``AlreadySubmitted`` with the first result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from disclosure_app.cases import links, tokens
from disclosure_app.cases.routing import route_case
from disclosure_app.cases.workflow import run_machine, stale_case
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.clocks.service import set_targets
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, NotFound
from disclosure_app.core.idempotency import Purpose
from disclosure_app.db import transaction
from disclosure_app.models import Applicant, Case, Child, Subject, User
from workflows.policy import CasePolicy
from workflows.roles import Actor
from workflows.status import Route


@dataclass(frozen=True)
class Timescales:
    """The targets as the public pages state them ("within 10 working days")."""

    initial_checks_hours: int = 24
    interview_days: int = 10
    overall_days: int = 45
    working_days: bool = True

    @property
    def day_word(self) -> str:
        return "working days" if self.working_days else "days"


@dataclass(frozen=True)
class ApplicantDetails:
    full_name: str
    address: str
    postcode: str
    contact_method: str
    safe_contact_times: str
    relationship_to_subject: str
    other_names: str = ""
    date_of_birth: date | None = None
    phone: str = ""
    email: str = ""
    messages_ok: bool = False
    contact_notes: str = ""


@dataclass(frozen=True)
class ChildDetails:
    full_name: str
    subject_contact: str
    date_of_birth: date | None = None
    age: int | None = None
    gender: str = ""
    lives_with: str = ""
    applicant_relationship: str = ""


@dataclass(frozen=True)
class SubjectDetails:
    full_name: str
    relationship_to_child: str
    aliases: str = ""
    date_of_birth: date | None = None
    approximate_age: int | None = None
    address: str = ""
    postcode: str = ""
    relationship_to_applicant: str = ""


@dataclass(frozen=True)
class ApplicationInput:
    applicant: ApplicantDetails
    subject: SubjectDetails
    children: list[ChildDetails]
    concern: str
    declared_truthful: bool
    declared_sharing: bool


@dataclass(frozen=True)
class Submitted:
    case: Case
    status_token: str  # shown once, never stored


@dataclass(frozen=True)
class ReferralInput:
    subject: SubjectDetails
    children: list[ChildDetails]
    step: dict = field(default_factory=dict)
    rationale: str = ""


def _new_case(session: Session, route: Route, now: datetime, policy: CasePolicy,
              actor_label: str) -> Case:
    """A case received now, its targets counted on the force's working calendar."""
    case = Case(
        reference=tokens.new_reference(),
        route=route,
        status=None,
        created_at=now,
        updated_at=now,
        updated_by_label=actor_label,
        received_at=now,
    )
    set_targets(case, load_calendar(session, policy, now.date()), policy.clocks)
    return case


def _check_people(subject: SubjectDetails, children: list[ChildDetails]) -> None:
    errors = {}
    if not subject.full_name.strip():
        errors["subject-full_name"] = "Enter the name of the person you are worried about"
    if not children:
        errors["children"] = "Add at least one child"
    if errors:
        raise InputInvalid(errors)


def _add_people(case: Case, subject: SubjectDetails, children: list[ChildDetails]) -> None:
    case.subject = Subject(**subject.__dict__)
    case.children = [
        Child(position=i, **child.__dict__) for i, child in enumerate(children, start=1)
    ]


def submit_application(
    session: Session,
    data: ApplicationInput,
    *,
    policy: CasePolicy,
    now: datetime,
    submission_key: str | None = None,
) -> Submitted:
    """Store a Right to Ask application and its first audit entry in one transaction."""
    _check_people(data.subject, data.children)
    if not (data.declared_truthful and data.declared_sharing):
        raise InputInvalid({"declarations": "You must confirm both declarations to apply"})
    token = tokens.new_status_token()
    try:
        with transaction(session):
            claimed = idempotency.claim(session, submission_key, Purpose.apply, now=now)
            case = _store_application(session, data, token, policy, now)
            if claimed is not None:
                claimed.case_id = case.id
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None
    return Submitted(case=case, status_token=token)


def _store_application(
    session: Session,
    data: ApplicationInput,
    token: str,
    policy: CasePolicy,
    now: datetime,
) -> Case:
    case = _new_case(session, Route.right_to_ask, now, policy, "the applicant")
    case.concern = data.concern
    case.declared_truthful = data.declared_truthful
    case.declared_sharing = data.declared_sharing
    case.status_token_hash = tokens.hash_token(token)
    case.applicant = Applicant(**data.applicant.__dict__)
    _add_people(case, data.subject, data.children)
    # The unit for the child's area: the applicant's household is the best postcode a public
    # application gives (the form asks no child's address).
    route_case(session, case, data.applicant.postcode)
    session.add(case)
    run_machine(
        session,
        case,
        event="submit_application",
        actor=Actor.applicant(),
        data={},
        rationale="Application submitted online by a member of the public.",
        policy=policy,
        now=now,
    )
    links.write_keys(session, case)
    return case


def open_right_to_know(
    session: Session,
    data: ReferralInput,
    *,
    user: User,
    policy: CasePolicy,
    now: datetime,
    submission_key: str | None = None,
) -> Case:
    """A case officer opens a proactive (Right to Know) case."""
    _check_people(data.subject, data.children)
    try:
        with transaction(session):
            claimed = idempotency.claim(session, submission_key, Purpose.right_to_know, now=now,
                                        user_id=user.id)
            case = _new_case(session, Route.right_to_know, now, policy, user.display_name)
            case.concern = str(data.step.get("risk_summary", ""))
            case.declared_truthful = True
            case.declared_sharing = True
            _add_people(case, data.subject, data.children)
            # A referral names where the subject lives; the child's own address is not asked.
            route_case(session, case, data.subject.postcode)
            session.add(case)
            run_machine(
                session,
                case,
                event="open_right_to_know",
                actor=user.as_actor(),
                data=data.step,
                rationale=data.rationale,
                policy=policy,
                now=now,
            )
            links.write_keys(session, case)
            if claimed is not None:
                claimed.case_id = case.id
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None
    return case


def find_by_status_token(session: Session, token: str, *, for_update: bool = False) -> Case:
    """The case a private status link belongs to; 404 for anything else (same answer).
    ``for_update``: lock it and read it afresh (inside a write transaction)."""
    if not token or len(token) > 100:
        raise NotFound()
    query = select(Case).where(Case.status_token_hash == tokens.hash_token(token))
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case = session.scalars(query).first()
    if case is None:
        raise NotFound()
    return case


def withdraw_by_applicant(
    session: Session,
    token: str,
    reason: str,
    *,
    policy: CasePolicy,
    now: datetime,
    submission_key: str | None = None,
) -> Case:
    try:
        with transaction(session):
            case = find_by_status_token(session, token, for_update=True)
            idempotency.claim(session, submission_key, Purpose.withdraw, now=now,
                              case_id=case.id)
            rationale = reason.strip() or (
                "The applicant withdrew the application using their status link and gave no "
                "reason."
            )
            run_machine(
                session,
                case,
                event="withdraw",
                actor=Actor.applicant(),
                data={"withdrawal_channel": "status_page",
                      "safeguarding_assessment": "to_be_assessed"},
                rationale=rationale,
                policy=policy,
                now=now,
            )
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None
    except StaleDataError:
        raise stale_case(session, case.id) from None
    return case
