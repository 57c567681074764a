"""Dip sampling: a random share of closed no-disclosure cases, drawn for a second review.

A wrong "nothing to disclose" is the failure nobody notices (the Wiltshire re-review of 3,778
cases; ANCHORS.md §3), so a configurable share of closed no-disclosure cases is drawn at random
and a decision-maker who took no part in the decision records whether it stands. Closed cases are
never reopened: a decision that does not stand is followed up (a new, linked case, say), and the
review says what was done.

Each call below is one transaction. A draw records the population it was taken from and how many
it selected, even when there was nothing to draw, so an inspector can check both that sampling
ran and that the share was applied. Audit entries carry ids, counts, codes and dates; the
reviewer's free text only as SHA-256.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import Select, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseStep, ChainHead, DipSample, DipSampleDraw, User
from workflows.errors import ActorNotPermitted, DecisionMakerNotEligible
from workflows.fields import normalise_text, text_problem
from workflows.policy import APPROVAL_EVENTS, DECISION_EVENTS, CasePolicy
from workflows.roles import Role
from workflows.status import Status

NO_DISCLOSURE = "no_disclosure"
MIN_SHARE, MAX_SHARE = 1, 100
EARLIEST = date(2000, 1, 1)
MAX_TEXT = 5000
CLI_LABEL = "dip-sample command"

DRAWN = "dip_sample_drawn"
REVIEWED = "dip_sample_reviewed"

# Everyone who sent one of these on a case took part in its decision (including a decision that
# was sent back and remade), so none of them may review it.
_DECISION_PART = DECISION_EVENTS | APPROVAL_EVENTS | {"reconsider"}


class Result(StrEnum):
    upheld = "upheld"
    upheld_with_learning = "upheld_with_learning"
    not_upheld = "not_upheld"

    @property
    def label(self) -> str:
        return {
            "upheld": "Upheld: the no-disclosure decision stands",
            "upheld_with_learning": "Upheld, with learning to share",
            "not_upheld": "Not upheld: the decision should be revisited",
        }[self.value]


def sample_size(population: int, share_percent: int) -> int:
    """ceil(share × population), in whole numbers so that no rounding can shrink the sample."""
    return (population * share_percent + 99) // 100


def previous_month(today: date) -> tuple[date, date]:
    """The calendar month before ``today``'s: the default range for a draw."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def population_query(closed_from: date, closed_to: date) -> Select[tuple[int]]:
    """Ids of closed no-disclosure cases closed in [from, to] (UTC dates) and never drawn.

    Served by ix_cases_outcome_closed (decision_outcome, closed_at, id): a range scan in index
    order, never a scan of the cases table; "never drawn" is a probe of dip_samples' unique
    case_id index."""
    already = exists().where(DipSample.case_id == Case.id)
    return (
        select(Case.id)
        .where(
            Case.decision_outcome == NO_DISCLOSURE,
            Case.closed_at >= _day_start(closed_from),
            Case.closed_at < _day_start(closed_to + timedelta(days=1)),
            Case.status == Status.closed,
            Case.is_open.is_(False),
            ~already,
        )
        .order_by(Case.decision_outcome, Case.closed_at, Case.id)
    )


def draw_errors(share_percent: object, closed_from: date | None, closed_to: date | None,
                today: date) -> dict[str, str]:
    errors = range_errors(closed_from, closed_to, today)
    if (not isinstance(share_percent, int) or isinstance(share_percent, bool)
            or not MIN_SHARE <= share_percent <= MAX_SHARE):
        errors["share_percent"] = (f"The share must be a whole number from {MIN_SHARE} to "
                                   f"{MAX_SHARE}")
    return errors


def range_errors(closed_from: date | None, closed_to: date | None,
                 today: date) -> dict[str, str]:
    """What is wrong with a range of closing dates (inclusive, UTC), by field."""
    errors: dict[str, str] = {}
    for name, day, label in (("closed_from", closed_from, "The first closing date"),
                             ("closed_to", closed_to, "The last closing date")):
        if not isinstance(day, date):
            errors[name] = f"Enter {label.lower()}"
        elif day < EARLIEST:
            errors[name] = f"{label} must be in {EARLIEST.year} or later"
        elif day > today:
            errors[name] = (f"{label} must be today or in the past: cases not yet closed "
                            "cannot be drawn")
    if not errors and closed_from > closed_to:  # type: ignore[operator]
        errors["closed_to"] = "The last closing date must be the same as or after the first"
    return errors


def _lock_the_chain_head(session: Session) -> None:
    """Serialise draws (and anything else that writes the decision log) before counting the
    population, so two draws at once never pick the same case: the second counts after the first
    has committed. PostgreSQL takes the row lock the audit append would take anyway; SQLite's
    BEGIN IMMEDIATE already admits one writer at a time."""
    session.execute(select(ChainHead.id).where(ChainHead.id == 1).with_for_update())


def draw(
    session: Session,
    user: User | None,
    *,
    share_percent: int,
    closed_from: date,
    closed_to: date,
    now: datetime,
    rng: random.Random | None = None,
    submission_key: str | None = None,
) -> DipSampleDraw:
    """Draw ceil(share × population) of the eligible cases at random, in one transaction.

    ``user`` None is the CLI. ``rng`` is for tests; the default is the operating system's
    randomness, so nobody can predict or steer which cases are drawn. A population of zero is
    still recorded: the inspector needs to see that sampling ran."""
    errors = draw_errors(share_percent, closed_from, closed_to, now.date())
    if errors:
        raise InputInvalid(errors)
    if user is not None and user.role is not Role.decision_maker:
        raise ActorNotPermitted("Only a decision-maker can draw a dip sample.")
    chooser = rng or secrets.SystemRandom()
    actor = user.as_actor() if user is not None else SystemActor(name=CLI_LABEL)
    try:
        with transaction(session):
            idempotency.claim(session, submission_key, idempotency.Purpose.dip_draw, now=now,
                              user_id=user.id if user else None)
            _lock_the_chain_head(session)
            eligible = list(session.scalars(population_query(closed_from, closed_to)))
            chosen = sorted(chooser.sample(eligible, sample_size(len(eligible), share_percent)))
            the_draw = DipSampleDraw(
                drawn_at=now,
                drawn_by_id=user.id if user else None,
                drawn_by_label=(f"{user.display_name} ({user.role.label})" if user
                                else CLI_LABEL),
                share_percent=share_percent,
                closed_from=closed_from,
                closed_to=closed_to,
                population=len(eligible),
                selected=len(chosen),
            )
            session.add(the_draw)
            session.flush()
            the_draw.samples = [DipSample(case_id=case_id, findings="", follow_up="")
                                for case_id in chosen]
            try:
                session.flush()
            except IntegrityError as exc:  # only if the chain head did not exist yet to lock
                raise StepNotAllowed("Another dip sample was being drawn at the same moment, "
                                     "so nothing was drawn. Try again.") from exc
            entry = audit.append(
                session, now=now, actor=actor, action=DRAWN,
                # The draw reads closed cases to choose some; it changes none of them.
                category=Category.consultation,
                details={"draw_id": the_draw.id, "share_percent": share_percent,
                         "closed_from": closed_from, "closed_to": closed_to,
                         "population": len(eligible), "selected": len(chosen),
                         "case_ids": chosen},
            )
            the_draw.audit_seq = entry.seq
            return the_draw
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None


@dataclass(frozen=True)
class Review:
    result: str
    findings: str
    follow_up: str


def _review_errors(review: Review) -> dict[str, str]:
    errors: dict[str, str] = {}
    if review.result not in set(Result):
        errors["result"] = "Select the result of the review"
    for name, text, missing in (
        ("findings", review.findings, "Enter your findings"),
        ("follow_up", review.follow_up, "Say what will be done: the case stays closed, so, for "
         "example, a new linked case is opened"),
    ):
        if len(text) > MAX_TEXT:
            errors[name] = f"Keep this to {MAX_TEXT:,} characters or fewer"
        elif text_problem(text, multiline=True):
            errors[name] = str(text_problem(text, multiline=True))
        elif not text and (name == "findings" or review.result == Result.not_upheld):
            errors[name] = missing
    return errors


def check_reviewer(session: Session, user: User, case: Case, policy: CasePolicy) -> None:
    """A decision-maker of sufficient rank who took no part in the case's decision and was not
    its officer. Raises ``DecisionMakerNotEligible`` with the reason otherwise."""
    if user.role is not Role.decision_maker:
        raise DecisionMakerNotEligible("Only a decision-maker can review a dip-sampled case.")
    if user.rank is None or user.rank < policy.min_decision_rank:
        raise DecisionMakerNotEligible(
            "A dip-sample review needs a decision-maker of at least "
            f"{policy.min_decision_rank.label} rank.")
    if user.id == case.assigned_officer_id:
        raise DecisionMakerNotEligible(
            "You were the case officer on this case, so you cannot review its decision. "
            "Another decision-maker must review it.")
    took_part = user.id in (case.decision_author_id, case.decision_approver_id) or (
        session.scalar(select(exists().where(
            CaseStep.case_id == case.id, CaseStep.actor_id == user.id,
            CaseStep.event.in_(sorted(_DECISION_PART)))))
    )
    if took_part:
        raise DecisionMakerNotEligible(
            "You took part in this case's decision, so you cannot review it. "
            "A decision-maker who took no part in it must review it.")


def check_reviewable(session: Session, user: User, sample: DipSample,
                     policy: CasePolicy) -> None:
    """Refuse a review by someone who may not make it (403), or of a sample already reviewed
    (409): each sample is reviewed once."""
    check_reviewer(session, user, sample.case, policy)
    if sample.reviewed_at is not None:
        raise StepNotAllowed(
            f"Case {sample.case.reference} was already reviewed on "
            f"{sample.reviewed_at:%d %B %Y}. A sample is reviewed once; nothing was changed.")


def record_review(
    session: Session,
    user: User,
    sample_id: int,
    *,
    result: str,
    findings: str,
    follow_up: str,
    policy: CasePolicy,
    now: datetime,
    submission_key: str | None = None,
) -> DipSample:
    """Record the second review of one drawn case, once, in one transaction."""
    review = Review(result=result, findings=normalise_text(findings or ""),
                    follow_up=normalise_text(follow_up or ""))
    try:
        with transaction(session):
            sample = _lock_sample(session, sample_id)
            idempotency.claim(session, submission_key, idempotency.Purpose.dip_review, now=now,
                              case_id=sample.case_id, user_id=user.id)
            check_reviewable(session, user, sample, policy)
            errors = _review_errors(review)
            if errors:
                raise InputInvalid(errors)
            entry = audit.append(
                session, now=now, actor=user.as_actor(), action=REVIEWED,
                category=Category.alteration, case_id=sample.case_id,
                details={"reference": sample.case.reference, "sample_id": sample.id,
                         "draw_id": sample.draw_id, "result": review.result,
                         "findings_sha256": sha256_hex(review.findings),
                         "follow_up_sha256": sha256_hex(review.follow_up)},
            )
            sample.reviewer_id = user.id
            sample.reviewed_at = now
            sample.result = review.result
            sample.findings = review.findings
            sample.follow_up = review.follow_up
            sample.audit_seq = entry.seq
            return sample
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None


def _lock_sample(session: Session, sample_id: int) -> DipSample:
    """The sample, locked and read afresh: of two reviewers at once, the second sees the first's
    review (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE)."""
    sample = session.scalars(
        select(DipSample).where(DipSample.id == sample_id).with_for_update(of=DipSample)
        .execution_options(populate_existing=True)
    ).first()
    if sample is None:
        raise NotFound()
    return sample


# --- Reading ------------------------------------------------------------------------------------


def pending(session: Session, limit: int = 200) -> list[DipSample]:
    """Drawn cases still awaiting review, oldest first (ix_dip_samples_pending)."""
    return list(session.scalars(
        select(DipSample).where(DipSample.reviewed_at.is_(None))
        .options(joinedload(DipSample.case), joinedload(DipSample.draw))
        .order_by(DipSample.reviewed_at, DipSample.id).limit(limit)
    ))


def pending_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(DipSample).where(DipSample.reviewed_at.is_(None))
    ) or 0


def recent_reviews(session: Session, limit: int = 20) -> list[DipSample]:
    """The newest reviews first (ix_dip_samples_pending, read backwards)."""
    return list(session.scalars(
        select(DipSample).where(DipSample.reviewed_at.is_not(None))
        .options(joinedload(DipSample.case), joinedload(DipSample.reviewer))
        .order_by(DipSample.reviewed_at.desc(), DipSample.id.desc()).limit(limit)
    ))


def recent_draws(session: Session, limit: int = 20) -> list[DipSampleDraw]:
    return list(session.scalars(
        select(DipSampleDraw).order_by(DipSampleDraw.id.desc()).limit(limit)
    ))


def sample_for(session: Session, sample_id: int) -> DipSample:
    sample = session.scalars(
        select(DipSample).where(DipSample.id == sample_id)
        .options(joinedload(DipSample.case), joinedload(DipSample.draw),
                 joinedload(DipSample.reviewer))
    ).first()
    if sample is None:
        raise NotFound()
    return sample


def references(session: Session, samples: list[DipSample]) -> dict[int, str]:
    """Case references by case id (for a draw's list of drawn cases)."""
    ids = [s.case_id for s in samples]
    if not ids:
        return {}
    return dict(session.execute(select(Case.id, Case.reference).where(Case.id.in_(ids))).all())
