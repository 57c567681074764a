"""The risk check: the checks checklist, resolving the subject's identity, and the risk check view.

Identity (DOMAIN.md §7.2, §13): one officer proposes a match, naming at least two independent
identifiers that the case and the record really share (the service re-runs the comparison and
refuses a claim the records contradict); a *different* police officer confirms or rejects it.
Only then is the case's ``subject_identity`` "confirmed", which the workflow's identity gate reads
before any disclosure is approved or delivered. "No trace" is recorded with a reason and allows
only a no-disclosure outcome.

Every change here is one transaction with its audit entry; searching the register and opening
the risk check view are consultations (DPA 2018 s.62) with a stated purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases import links
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseCheck, IdentityDecision, RegisterPerson, User
from disclosure_app.risk.register.source import LocalRegister, OffenderRecord, candidate_record
from workflows.checks import CheckOutcome
from workflows.fields import normalise_text, text_problem
from workflows.identity import (
    Address,
    Assessment,
    Identifier,
    IdentityStatus,
    SubjectDescription,
    assess,
    identifier_problems,
    indicates_unsupervised_access,
    names_from_case,
    rank,
    script_flags,
)
from workflows.policy import CasePolicy
from workflows.roles import Role
from workflows.status import Status

POLICE = (Role.case_officer, Role.decision_maker)
# While the risk check can still change: from initial checks until a decision is made (and again
# while a decision is being reconsidered).
WORKING_STATUSES = frozenset({
    Status.initial_checks, Status.awaiting_interview, Status.interviewed,
    Status.full_risk_assessment, Status.representations_pending, Status.awaiting_decision,
    Status.disclosure_not_delivered,
})
NOTE_MAX = 2000
SHORT_MAX = 160
CANDIDATES_PER_PAGE = 20

# Why the risk check view is opened (the s.62 consultation purpose): codes, never free text.
PURPOSES = (
    ("risk_assessment", "Carrying out the risk assessment"),
    ("decision", "Preparing or making the disclosure decision"),
    ("disclosure", "Preparing the face-to-face disclosure"),
    ("review", "Supervisory review of the case"),
    ("audit", "Audit or complaint investigation"),
)


# --- Reading ----------------------------------------------------------------------------------


def subject_description(case: Case) -> SubjectDescription:
    s = case.subject
    if s is None:
        return SubjectDescription(names=[])
    return SubjectDescription(
        names=names_from_case(s.full_name, s.aliases),
        date_of_birth=s.date_of_birth,
        approximate_age=s.approximate_age,
        addresses=[Address(s.address, s.postcode)] if s.postcode else [],
    )


@dataclass
class IdentityPage:
    case: Case
    assessments: list[Assessment]  # this page's candidates
    capped: bool
    pending: IdentityDecision | None
    history: list[IdentityDecision]
    subject_flags: list[str] = field(default_factory=list)
    total: int = 0  # every candidate found and worth showing, on all pages
    page: int = 1
    pages: int = 1
    first: int = 0  # "Showing first to last of total" (1-based; 0 when there are none)
    last: int = 0
    flagged: int = 0  # candidates whose names are flagged (all listed first)


def page_count(total: int, per_page: int = CANDIDATES_PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def decisions(session: Session, case_id: int) -> list[IdentityDecision]:
    return list(session.scalars(
        select(IdentityDecision).where(IdentityDecision.case_id == case_id)
        .order_by(IdentityDecision.id)
    ))


def pending_proposal(session: Session, case_id: int) -> IdentityDecision | None:
    return session.scalars(
        select(IdentityDecision).where(IdentityDecision.case_id == case_id,
                                       IdentityDecision.state == "proposed")
        .order_by(IdentityDecision.id.desc())
    ).first()


def identity_page(session: Session, user: User, case_id: int, *, now: datetime,
                  page: int = 1, log: bool = True) -> IdentityPage:
    """Search the register for the case's subject: a consultation of the register, logged.
    Every candidate is shown, ``CANDIDATES_PER_PAGE`` at a time (a page past the end shows the
    last page); flagged look-alike names come first, so none is ever hidden on a later page.
    ``log=False`` only when a refused form on the same page is shown again to the same person
    (their GET was logged; a refused POST writes nothing at all)."""
    with transaction(session):
        case = _police_case(session, user, case_id)
        subject = subject_description(case)
        search = LocalRegister(session, now.date()).candidates(subject)
        ranked = rank(subject, search.candidates, now.date())
        pages = page_count(len(ranked))
        page = min(max(page, 1), pages)
        start = (page - 1) * CANDIDATES_PER_PAGE
        shown = ranked[start:start + CANDIDATES_PER_PAGE]
        if log:
            audit.append(
                session, now=now, actor=user.as_actor(), action="register_searched",
                category=Category.consultation, case_id=case.id,
                details={"reference": case.reference, "purpose": "subject identity",
                         "candidates_found": len(search.candidates),
                         "candidates_listed": len(ranked), "page": page,
                         "candidates_shown": len(shown)},
            )
    flags = []
    if case.subject is not None:
        for name in subject.names:
            flags += [f"'{name.full}': {f}" for f in script_flags(name.full)]
    return IdentityPage(case, shown, search.capped, pending_proposal(session, case.id),
                        decisions(session, case.id), flags, total=len(ranked), page=page,
                        pages=pages, first=start + 1 if shown else 0, last=start + len(shown),
                        flagged=sum(1 for a in ranked if a.flags))


def _police_case(session: Session, user: User, case_id: int, *, for_update: bool = False
                 ) -> Case:
    if user.role not in POLICE:
        raise NotFound()
    return load_case_in_scope(session, user, case_id, for_update=for_update)


def _working_case(session: Session, user: User, case_id: int, *, key: str | None, action: str,
                  now: datetime) -> Case:
    """Lock the case, record the form's one-time key (first write: a repeat stops here), and
    check the risk check may still change."""
    case = _police_case(session, user, case_id, for_update=True)
    idempotency.claim(session, key, idempotency.Purpose.risk_check, now=now, case_id=case.id,
                      event=action, user_id=user.id)
    if Status(case.status) not in WORKING_STATUSES:
        raise StepNotAllowed(
            f"The risk check cannot be changed while the case is at "
            f"'{Status(case.status).label}'. The case has not been changed.")
    return case


@contextmanager
def once(session: Session) -> Iterator[None]:
    """Turn a replayed form key (``idempotency.KeyUsed``) into ``AlreadySubmitted``."""
    try:
        yield
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None


def _clean(value: str | None, label: str, *, limit: int, required: bool, multiline: bool = True
           ) -> tuple[str, str | None]:
    text = normalise_text(value or "")
    if not text:
        return "", f"Enter {label}" if required else None
    problem = text_problem(text, multiline=multiline)
    if problem:
        return "", problem
    if len(text) > limit:
        return "", f"{label[0].upper()}{label[1:]} must be {limit} characters or fewer"
    return text, None


# --- Identity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    person_id: str
    identifiers: list[str]
    references: dict[str, str]
    note: str
    flags_checked: bool = False


def propose_match(session: Session, user: User, case_id: int, proposal: Proposal, *,
                  now: datetime, submission_key: str | None = None) -> IdentityDecision:
    errors: dict[str, str] = {}
    note, problem = _clean(proposal.note, "why this is the subject", limit=NOTE_MAX,
                           required=True)
    if problem:
        errors["note"] = problem
    try:
        claimed = [Identifier(i) for i in proposal.identifiers]
    except ValueError:
        raise InputInvalid({"identifiers": "Choose identifiers from the list"}) from None
    references = {}
    for ident in claimed:
        if ident.needs_reference:
            text, problem = _clean(proposal.references.get(ident.value), "where it came from",
                                   limit=SHORT_MAX, required=False, multiline=False)
            if problem:
                errors[f"{ident.value}_reference"] = problem
            references[ident] = text
    with once(session), transaction(session):
        case = _working_case(session, user, case_id, key=submission_key,
                             action="identity_propose", now=now)
        if case.subject_identity == IdentityStatus.confirmed:
            raise StepNotAllowed("The subject's identity is already confirmed on this case.")
        if pending_proposal(session, case.id) is not None:
            raise StepNotAllowed("A match is already awaiting a second person's confirmation: "
                                 "confirm or reject it first.")
        person = session.scalars(select(RegisterPerson).where(
            RegisterPerson.person_id == proposal.person_id)).first()
        if person is None:
            raise InputInvalid({"person_id": "Choose one of the candidates shown"})
        assessment = assess(subject_description(case), candidate_record(person), now.date())
        errors.update(identifier_problems(claimed, assessment, references))
        if assessment.flags and not proposal.flags_checked:
            errors["flags_checked"] = ("A name is flagged (mixed scripts or look-alike "
                                       "characters): confirm you checked it against the source "
                                       "documents")
        if errors:
            raise InputInvalid(errors)
        decision = IdentityDecision(
            case_id=case.id, kind="match", person_pk=person.id, person_id=person.person_id,
            identifiers=[i.value for i in claimed],
            references={i.value: text for i, text in references.items()},
            classification=assessment.classification.value, flags=assessment.flags, note=note,
            proposed_by_id=user.id, proposed_at=now, state="proposed", review_note="",
        )
        session.add(decision)
        case.subject_identity = IdentityStatus.proposed
        _touch(case, user, now)
        audit.append(
            session, now=now, actor=user.as_actor(), action="identity_match_proposed",
            category=Category.alteration, case_id=case.id,
            details={"reference": case.reference, "identifiers": decision.identifiers,
                     "classification": decision.classification, "flagged": bool(decision.flags),
                     "person_id_sha256": sha256_hex(person.person_id),
                     "note_sha256": sha256_hex(note)},
        )
    return decision


def review_match(session: Session, user: User, case_id: int, *, decision_id: int, confirm: bool,
                 note: str, now: datetime, submission_key: str | None = None
                 ) -> IdentityDecision:
    note, problem = _clean(note, "your reasons", limit=NOTE_MAX, required=True)
    if problem:
        raise InputInvalid({"review_note": problem})
    with once(session), transaction(session):
        case = _working_case(session, user, case_id, key=submission_key,
                             action="identity_review", now=now)
        decision = pending_proposal(session, case.id)
        if decision is None or decision.id != decision_id:
            raise StepNotAllowed("That proposed match is no longer awaiting confirmation.")
        if decision.proposed_by_id == user.id:
            raise StepNotAllowed("A second person must confirm the match: you proposed it.")
        decision.state = "confirmed" if confirm else "rejected"
        decision.reviewed_by_id, decision.reviewed_at, decision.review_note = user.id, now, note
        if confirm:
            person = session.get(RegisterPerson, decision.person_pk)
            assert person is not None
            record = LocalRegister(session, now.date()).record(person.person_id)
            case.subject_identity = IdentityStatus.confirmed
            case.subject_person_pk = person.id
            case.subject_person = person
            case.register_child_sexual_offence = bool(record and record.child_sexual_offence)
        else:
            case.subject_identity = IdentityStatus.unresolved
        _touch(case, user, now)
        audit.append(
            session, now=now, actor=user.as_actor(),
            action="identity_confirmed" if confirm else "identity_match_rejected",
            category=Category.alteration, case_id=case.id,
            details={"reference": case.reference, "decision_id": decision.id,
                     "proposed_by_id": decision.proposed_by_id, "note_sha256": sha256_hex(note)},
        )
        if confirm:
            links.write_keys(session, case)
    return decision


def record_no_trace(session: Session, user: User, case_id: int, *, note: str, now: datetime,
                    submission_key: str | None = None) -> IdentityDecision:
    note, problem = _clean(note, "what was searched and why no record is the subject",
                           limit=NOTE_MAX, required=True)
    if problem:
        raise InputInvalid({"no_trace_note": problem})
    with once(session), transaction(session):
        case = _working_case(session, user, case_id, key=submission_key,
                             action="identity_no_trace", now=now)
        if case.subject_identity == IdentityStatus.confirmed:
            raise StepNotAllowed("The subject's identity is already confirmed on this case.")
        if pending_proposal(session, case.id) is not None:
            raise StepNotAllowed("A match is awaiting confirmation: confirm or reject it first.")
        decision = IdentityDecision(
            case_id=case.id, kind="no_trace", identifiers=[], references={}, flags=[],
            note=note, proposed_by_id=user.id, proposed_at=now, state="no_trace",
            review_note="",
        )
        session.add(decision)
        case.subject_identity = IdentityStatus.no_trace
        _touch(case, user, now)
        audit.append(
            session, now=now, actor=user.as_actor(), action="identity_no_trace",
            category=Category.alteration, case_id=case.id,
            details={"reference": case.reference, "note_sha256": sha256_hex(note)},
        )
    return decision


def _touch(case: Case, user: User, now: datetime) -> None:
    case.updated_at = now
    case.updated_by_id = user.id
    case.updated_by_label = user.display_name


# --- The checks checklist --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckInput:
    source: str
    outcome: str
    checked_on: date | None = None
    checked_by: str = ""
    result_summary: str = ""
    reference: str = ""
    reason: str = ""


def record_check(session: Session, user: User, case_id: int, data: CheckInput, *,
                 policy: CasePolicy, now: datetime, submission_key: str | None = None
                 ) -> CaseCheck:
    sources = dict(policy.check_sources)
    if data.source not in sources:
        raise NotFound()
    errors, values = _check_values(data, user, now)
    if errors:
        raise InputInvalid(errors)
    with once(session), transaction(session):
        case = _working_case(session, user, case_id, key=submission_key,
                             action=f"check:{data.source}", now=now)
        entry = audit.append(
            session, now=now, actor=user.as_actor(), action="check_recorded",
            category=Category.alteration, case_id=case.id,
            details={"reference": case.reference, "source": data.source,
                     "outcome": data.outcome,
                     "checked_on": values["checked_on"].isoformat()
                     if values["checked_on"] else None,
                     "text_sha256": sha256_hex("\n".join(
                         (values["checked_by"], values["result_summary"],
                          values["reference"], values["reason"])))},
        )
        check = CaseCheck(case_id=case.id, source=data.source, outcome=data.outcome,
                          recorded_by_id=user.id, recorded_at=now, audit_seq=entry.seq,
                          **values)
        session.add(check)
        session.flush()
        session.expire(case, ["checks"])
    return check


def _check_values(data: CheckInput, user: User, now: datetime) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    values: dict = {"checked_on": None, "checked_by": "", "result_summary": "", "reference": "",
                    "reason": ""}
    if data.outcome == CheckOutcome.done:
        if data.checked_on is None:
            errors["checked_on"] = "Enter the date the check was done"
        elif data.checked_on > now.date():
            errors["checked_on"] = "The date of the check must be today or in the past"
        values["checked_on"] = data.checked_on
        for name, label, limit, required, multiline in (
            ("checked_by", "who did the check", SHORT_MAX, False, False),
            ("result_summary", "a summary of the result", NOTE_MAX, True, True),
            ("reference", "the reference", 100, True, False),
        ):
            values[name], problem = _clean(getattr(data, name), label, limit=limit,
                                           required=required, multiline=multiline)
            if problem:
                errors[name] = problem
        values["checked_by"] = values["checked_by"] or user.display_name
    elif data.outcome == CheckOutcome.not_applicable:
        values["reason"], problem = _clean(data.reason, "why this check does not apply",
                                           limit=NOTE_MAX, required=True)
        if problem:
            errors["reason"] = problem
    else:
        errors["outcome"] = "Select whether the check was done or does not apply"
    return errors, values


def checklist(case: Case, policy: CasePolicy) -> list[tuple[str, str, CaseCheck | None]]:
    """(code, label, newest record or None) for every configured source, in order."""
    newest: dict[str, CaseCheck] = {}
    for check in case.checks:
        newest[check.source] = check
    return [(code, label, newest.get(code)) for code, label in policy.check_sources]


# --- The risk check view ----------------------------------------------------------------------


@dataclass
class RiskCheck:
    case: Case
    record: OffenderRecord | None
    urgent_prompt: bool


def open_risk_check(session: Session, user: User, case_id: int, *, purpose: str, now: datetime
                    ) -> RiskCheck:
    if purpose not in dict(PURPOSES):
        raise InputInvalid({"purpose": "Select why you are opening the risk check"})
    if user.role not in (*POLICE, Role.auditor):
        raise NotFound()
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        record = None
        if case.subject_identity == IdentityStatus.confirmed and case.subject_person is not None:
            record = LocalRegister(session, now.date()).record(case.subject_person.person_id)
        audit.append(
            session, now=now, actor=user.as_actor(), action="risk_check_viewed",
            category=Category.consultation, case_id=case.id,
            details={"reference": case.reference, "purpose": purpose,
                     "register_record_shown": record is not None},
        )
    return RiskCheck(case, record, urgent_prompt_due(case, record))


def urgent_prompt_due(case: Case, record: OffenderRecord | None = None) -> bool:
    """A confirmed subject with a child sexual offence conviction who lives with, or has
    unsupervised access to, a named child: prompt urgent safeguarding at once (until raised)."""
    if (case.urgent_safeguarding or not case.is_open
            or case.subject_identity != IdentityStatus.confirmed):
        return False
    if not (case.register_child_sexual_offence or (record and record.child_sexual_offence)):
        return False
    texts = [t for c in case.children for t in (c.subject_contact, c.lives_with)]
    if case.subject is not None:
        texts.append(case.subject.relationship_to_child)
    return indicates_unsupervised_access(*texts)


# --- What the case page and the decision step show -------------------------------------------


@dataclass
class CasePanel:
    identity: IdentityStatus
    person_id: str | None
    pending: IdentityDecision | None
    checklist: list[tuple[str, str, CaseCheck | None]]
    outstanding: list[str]
    linked: list[links.LinkedCase]
    repeats: list[links.LinkedCase]
    urgent_prompt: bool
    register_child_sexual_offence: bool
    can_change: bool


def case_panel(session: Session, case: Case, policy: CasePolicy) -> CasePanel:
    """The risk check at a glance (police and auditors only: never shown to partners)."""
    items = checklist(case, policy)
    linked = links.linked_cases(session, case)
    return CasePanel(
        identity=IdentityStatus(case.subject_identity),
        person_id=case.subject_person.person_id if case.subject_person else None,
        pending=pending_proposal(session, case.id),
        checklist=items,
        outstanding=[label for _, label, record in items if record is None],
        linked=linked,
        repeats=links.repeat_disclosures(linked, case),
        urgent_prompt=urgent_prompt_due(case),
        register_child_sexual_offence=case.register_child_sexual_offence,
        can_change=Status(case.status) in WORKING_STATUSES,
    )


# --- Resolving the risk check in one go (the demo seed and the test factories) -----------------


def record_every_check(session: Session, user: User, case_id: int, *, policy: CasePolicy,
                       now: datetime, summary: str = "Nothing held on the subject.") -> None:
    """Every configured source recorded as done today (what a real officer does one by one)."""
    for n, (code, _label) in enumerate(policy.check_sources, start=1):
        record_check(session, user, case_id,
                     CheckInput(source=code, outcome=CheckOutcome.done, checked_on=now.date(),
                                result_summary=summary, reference=f"{code.upper()}-{n:04d}"),
                     policy=policy, now=now)


def confirm_identity(session: Session, proposer: User, confirmer: User, case_id: int, *,
                     person_id: str, identifiers: list[str], references: dict[str, str],
                     now: datetime) -> IdentityDecision:
    """Propose ``person_id`` as the subject and have a second person confirm it."""
    decision = propose_match(
        session, proposer, case_id,
        Proposal(person_id, identifiers, references,
                 note="Identifiers checked against the record."),
        now=now)
    return review_match(session, confirmer, case_id, decision_id=decision.id, confirm=True,
                        note="Checked the record and the case myself; it is the subject.",
                        now=now)
