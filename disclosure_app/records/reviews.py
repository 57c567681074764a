"""The records manager's work: the review queue, MoPI reviews and legal holds.

A records manager never sees an open case: every case they name is loaded through
``load_closed_case``, which answers an open case exactly like a missing one (404). What they
see is the record's skeleton (reference, route, dates, outcome, retention group, reviews, holds,
how many other enquiries concern the same people), never the personal details: a retention
decision is about the record, and reading the personal data would be a consultation with no
need for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.core.errors import InputInvalid, NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseLinkKey, LegalHold, RetentionReview, User
from workflows.fields import normalise_text, text_problem
from workflows.policy import CasePolicy
from workflows.retention import (
    REASON_MIN_CHARS,
    Decision,
    HoldKind,
    Outcome,
    RetentionRule,
    review_problems,
    rule_for,
)

QUEUE_PAGE = 50
DUE_SOON_DAYS = 30
REASON_MAX_CHARS = 2000


def _active_hold(case_id_column: object) -> object:
    return exists().where(LegalHold.case_id == case_id_column, LegalHold.lifted_at.is_(None))


def load_closed_case(session: Session, case_id: int, *, for_update: bool = False) -> Case:
    """A closed case, or the 404 of a missing one (an open case is not a records matter)."""
    query = select(Case).where(Case.id == case_id, Case.is_open.is_(False))
    if for_update:
        query = query.with_for_update(of=Case).execution_options(populate_existing=True)
    case = session.scalars(query).first()
    if case is None:
        raise NotFound()
    return case


# --- The queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    case: Case
    overdue: bool
    held: bool


@dataclass(frozen=True)
class ReviewQueue:
    due: list[QueueRow]
    next_after: tuple[date, int] | None  # keyset of the next page
    overdue_count: int
    due_soon_count: int
    awaiting_disposal: list[Case]
    awaiting_disposal_count: int
    held_count: int


def review_queue(session: Session, today: date, *, after: tuple[date, int] | None = None
                 ) -> ReviewQueue:
    """Closed records due for review within ``DUE_SOON_DAYS`` (overdue first, oldest first),
    through ``ix_cases_review_due``; records approved for disposal; how many are on hold."""
    horizon = today + timedelta(days=DUE_SOON_DAYS)
    reviewable = and_(Case.review_due_on <= horizon, Case.disposal_approved_at.is_(None),
                      Case.personal_data_disposed_at.is_(None), Case.is_open.is_(False))
    query = select(Case, _active_hold(Case.id)).where(reviewable)
    if after is not None:
        query = query.where((Case.review_due_on > after[0])
                            | ((Case.review_due_on == after[0]) & (Case.id > after[1])))
    rows = session.execute(query.order_by(Case.review_due_on, Case.id)
                           .limit(QUEUE_PAGE + 1)).all()
    due = [QueueRow(case, case.review_due_on < today, bool(held))
           for case, held in rows[:QUEUE_PAGE]]
    next_after = None
    if len(rows) > QUEUE_PAGE:
        last = due[-1].case
        next_after = (last.review_due_on, last.id) if last.review_due_on else None
    overdue = session.scalar(select(func.count()).select_from(Case).where(
        reviewable, Case.review_due_on < today)) or 0
    soon = session.scalar(select(func.count()).select_from(Case).where(reviewable)) or 0
    pending = and_(Case.disposal_approved_at.is_not(None),
                   Case.personal_data_disposed_at.is_(None))
    awaiting = list(session.scalars(select(Case).where(pending)
                                    .order_by(Case.disposal_approved_at, Case.id)
                                    .limit(QUEUE_PAGE)))
    awaiting_count = session.scalar(select(func.count()).select_from(Case).where(pending)) or 0
    held = session.scalar(select(func.count(func.distinct(LegalHold.case_id)))
                          .where(LegalHold.lifted_at.is_(None))) or 0
    return ReviewQueue(due, next_after, overdue, soon - overdue, awaiting, awaiting_count, held)


# --- One record ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRecord:
    case: Case
    rule: RetentionRule | None
    reviews: list[RetentionReview]
    holds: list[LegalHold]
    linked_cases: int  # other enquiries about the same people (a MoPI consideration)

    @property
    def active_holds(self) -> list[LegalHold]:
        return [h for h in self.holds if h.lifted_at is None]

    @property
    def disposed(self) -> bool:
        return self.case.personal_data_disposed_at is not None


def case_record(session: Session, case_id: int, policy: CasePolicy) -> CaseRecord:
    case = load_closed_case(session, case_id)
    rule = rule_for(policy.retention, Outcome(case.retention_group)) \
        if case.retention_group in {o.value for o in Outcome} else None
    reviews = list(session.scalars(select(RetentionReview).where(
        RetentionReview.case_id == case_id).order_by(RetentionReview.id.desc())))
    holds = list(session.scalars(select(LegalHold).where(LegalHold.case_id == case_id)
                                 .order_by(LegalHold.id.desc())))
    mine, theirs = aliased(CaseLinkKey), aliased(CaseLinkKey)
    linked = session.scalar(
        select(func.count(func.distinct(theirs.case_id))).select_from(mine)
        .join(theirs, (mine.kind == theirs.kind) & (mine.key == theirs.key))
        .where(mine.case_id == case_id, theirs.case_id != case_id)) or 0
    return CaseRecord(case, rule, reviews, holds, linked)


# --- Reviews ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewInput:
    decision: str
    reason: str
    next_review_on: date | None


def _reason(text: str, field: str) -> str:
    text = normalise_text(text or "")
    problem = text_problem(text, multiline=True) if text else None
    if problem:
        raise InputInvalid({field: problem})
    if len(text) > REASON_MAX_CHARS:
        raise InputInvalid({field: f"The reason must be {REASON_MAX_CHARS:,} characters or "
                                   "fewer"})
    return text


def record_review(session: Session, user: User, case_id: int, data: ReviewInput, *,
                  policy: CasePolicy, today: date, now: datetime) -> RetentionReview:
    with transaction(session):
        case = load_closed_case(session, case_id, for_update=True)
        if case.personal_data_disposed_at is not None:
            raise StepNotAllowed("This record's personal data has already been disposed of: "
                                 "there is nothing left to review.")
        if case.disposal_approved_at is not None:
            raise StepNotAllowed("Disposal of this record is already approved: it is waiting "
                                 "for the next disposal run.")
        reason = _reason(data.reason, "reason")
        held = session.scalar(select(_active_hold(case.id))) or False
        rule = rule_for(policy.retention, Outcome(case.retention_group or "not_progressed"))
        problems = review_problems(data.decision, reason, data.next_review_on, today=today,
                                   rule=rule, held=bool(held))
        if problems:
            raise InputInvalid(problems)
        decision = Decision(data.decision)
        entry = audit.append(
            session, now=now, actor=user.as_actor(), action="retention_reviewed",
            category=Category.alteration, case_id=case.id,
            details={"decision": decision.value, "reason_sha256": sha256_hex(reason),
                     "retention_group": case.retention_group,
                     "next_review_on": data.next_review_on.isoformat()
                     if decision is Decision.retain and data.next_review_on else None})
        review = RetentionReview(
            case_id=case.id, decision=decision.value, reason=reason,
            next_review_on=data.next_review_on if decision is Decision.retain else None,
            reviewed_by_id=user.id, reviewed_at=now, audit_seq=entry.seq)
        session.add(review)
        if decision is Decision.retain:
            case.review_due_on = data.next_review_on
        else:
            case.disposal_approved_at = now
        return review


# --- Legal holds --------------------------------------------------------------------------------


def set_hold(session: Session, user: User, case_id: int, kind: str, reason: str, *,
             now: datetime) -> LegalHold:
    with transaction(session):
        case = load_closed_case(session, case_id, for_update=True)
        if case.personal_data_disposed_at is not None:
            raise StepNotAllowed("This record's personal data has already been disposed of: a "
                                 "hold can no longer keep it.")
        reason = _reason(reason, "hold_reason")
        problems = {}
        if kind not in {k.value for k in HoldKind}:
            problems["hold_kind"] = "Choose what the hold is for"
        if len(reason) < REASON_MIN_CHARS:
            problems["hold_reason"] = (f"Say why the record must be kept (at least "
                                       f"{REASON_MIN_CHARS} characters)")
        if problems:
            raise InputInvalid(problems)
        entry = audit.append(session, now=now, actor=user.as_actor(), action="legal_hold_set",
                             category=Category.alteration, case_id=case.id,
                             details={"kind": kind, "reason_sha256": sha256_hex(reason)})
        hold = LegalHold(case_id=case.id, kind=kind, reason=reason, set_by_id=user.id,
                         set_at=now, set_audit_seq=entry.seq)
        session.add(hold)
        return hold


def lift_hold(session: Session, user: User, case_id: int, hold_id: int, reason: str, *,
              now: datetime) -> LegalHold:
    with transaction(session):
        load_closed_case(session, case_id, for_update=True)
        hold = session.scalars(select(LegalHold).where(LegalHold.id == hold_id,
                                                       LegalHold.case_id == case_id)).first()
        if hold is None:
            raise NotFound()
        if hold.lifted_at is not None:
            raise StepNotAllowed("This hold has already been lifted.")
        reason = _reason(reason, "lift_reason")
        if len(reason) < REASON_MIN_CHARS:
            raise InputInvalid({"lift_reason": "Say why the hold can end (at least "
                                               f"{REASON_MIN_CHARS} characters)"})
        entry = audit.append(session, now=now, actor=user.as_actor(),
                             action="legal_hold_lifted", category=Category.alteration,
                             case_id=case_id, details={"hold_id": hold.id, "kind": hold.kind,
                                                       "reason_sha256": sha256_hex(reason)})
        hold.lifted_by_id, hold.lifted_at, hold.lift_reason = user.id, now, reason
        hold.lifted_audit_seq = entry.seq
        return hold
