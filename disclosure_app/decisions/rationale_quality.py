"""The rationale quality checks on a decision, with what only the database knows: the case's
facts and the rationales of every earlier decision (see ``workflows.rationale_quality``).

Boilerplate detection reads ``rationale_fingerprints`` once per check: the draft's shingle hashes
are looked up through the shingle index and counted per (case, limb), so its cost follows the
number of matching shingles, not the number of decisions ever made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, or_, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import Session

from disclosure_app.models import Case, RationaleFingerprint
from workflows import rationale_quality as rq
from workflows.checks import CheckOutcome
from workflows.rationale_quality import CaseFacts, QualityReport, Similar


@dataclass(frozen=True)
class QualitySettings:
    min_chars: int = rq.DEFAULT_MIN_CHARS
    threshold: float = rq.DEFAULT_OVERLAP


def quality_settings(config: Mapping[str, Any]) -> QualitySettings:
    """``RATIONALE_MIN_CHARS`` and ``BOILERPLATE_OVERLAP`` from the app config, with defaults.
    A bad value stops the app at start-up rather than silently weakening the checks."""
    min_chars = int(config.get("RATIONALE_MIN_CHARS", rq.DEFAULT_MIN_CHARS))
    threshold = float(config.get("BOILERPLATE_OVERLAP", rq.DEFAULT_OVERLAP))
    if min_chars < 1:
        raise ValueError("RATIONALE_MIN_CHARS must be at least 1")
    if not 0 < threshold <= 1:
        raise ValueError("BOILERPLATE_OVERLAP must be more than 0 and at most 1")
    return QualitySettings(min_chars=min_chars, threshold=threshold)


# --- Case facts -------------------------------------------------------------------------------


def case_facts(case: Case) -> CaseFacts:
    """The facts the checks test a decision against: who is involved, the access, the checks
    done, the agencies consulted and their views, and the risk assessment's conclusions."""
    children = list(case.children)
    subject, applicant = case.subject, case.applicant
    names = [c.full_name for c in children]
    descriptions = [c.subject_contact for c in children] + [c.lives_with for c in children]
    descriptions += [c.applicant_relationship for c in children]
    if subject is not None:
        names += [subject.full_name, subject.aliases]
        descriptions += [subject.relationship_to_child, subject.relationship_to_applicant]
    if applicant is not None:
        names += [applicant.full_name, applicant.other_names]
        descriptions.append(applicant.relationship_to_subject)
    assessment = _latest_data(case, "complete_assessment")
    # The checks actually done (not those marked not applicable), as recorded on the checklist.
    done = {c.source for c in case.checks if c.outcome == CheckOutcome.done}
    checks = [code for code in rq.CHECK_TERMS if code in done]
    agencies = sorted({str(inv.user.agency) for inv in case.invitations if inv.user.agency})
    return CaseFacts(
        terms=rq.case_terms(names=names, descriptions=descriptions, checks=checks,
                            agencies=agencies),
        risk_level=assessment.get("risk_level"),
        information_found=assessment.get("information_found"),
        subject_identity=str(case.subject_identity) if case.subject_identity else None,
        representations=assessment.get("representations"),
        representations_reason_given=bool(str(assessment.get("representations_reason") or "")
                                          .strip()),
        agency_views=_agency_views(case),
        names=rq.name_words(names),
        examples=_examples(children, subject, checks),
    )


def _latest_data(case: Case, event: str) -> dict[str, Any]:
    for step in reversed(case.steps):
        if step.event == event:
            return dict(step.data or {})
    return {}


def _agency_views(case: Case) -> tuple[str, ...]:
    """Each partner member's latest view (a member may revise theirs), in the order given."""
    latest: dict[int | None, str] = {}
    for step in case.steps:
        if step.event == "record_agency_view" and (step.data or {}).get("agency_view"):
            latest.pop(step.actor_id, None)
            latest[step.actor_id] = step.data["agency_view"]
    return tuple(latest.values())


def _examples(children: list[Any], subject: Any, checks: list[str]) -> tuple[str, ...]:
    """Up to three terms as the author would write them: a child's first name, the subject's
    relationship to the child and the first check done."""
    out: list[str] = []
    first_names = [w for c in children for w in c.full_name.split()[:1]]
    if first_names and rq.name_words(first_names[:1]):
        out.append(first_names[0])
    relationship = getattr(subject, "relationship_to_child", "") or ""
    if rq.description_words([relationship]) and len(relationship) <= 40:
        out.append(relationship.strip().lower())
    ordered = list(checks)
    if ordered:
        out.append(rq.CHECK_TERMS[ordered[0]][0])
    return tuple(out)


def masked_names(facts: CaseFacts, data: Mapping[str, Any]) -> frozenset[str]:
    """The name words replaced before shingling: the case's people and the decision's
    recipient, so the same template filled in with other names still matches."""
    return facts.names | rq.name_words([data.get("recipient_name")])


# --- Boilerplate ------------------------------------------------------------------------------


def similar_rationales(
    session: Session,
    case_id: int,
    data: Mapping[str, Any],
    *,
    threshold: float = rq.DEFAULT_OVERLAP,
    masked: frozenset[str] | None = None,
) -> dict[str, Similar]:
    """For each limb in ``data``, the other case's limb holding the largest share (at least
    ``threshold``) of its shingles, as written or with this case's names ``masked`` (by default
    the names on case ``case_id``). One query through the shingle index."""
    if masked is None:
        masked = _case_names(session, case_id, data)
    mine = rq.limb_variants(data, masked)
    if not mine:
        return {}
    best: dict[str, Similar] = {}
    for row in session.execute(similar_query(case_id, mine, threshold)).mappings():
        for limb, variants in mine.items():
            overlap = max(row[_count_label(limb, k)] / len(found)
                          for k, found in enumerate(variants))
            candidate = Similar(row["reference"], row["field"], overlap)
            current = best.get(limb)
            if overlap >= threshold and (current is None or _better(candidate, current)):
                best[limb] = candidate
    return best


def _better(a: Similar, b: Similar) -> bool:
    # Highest overlap wins; ties go to the earliest reference, so the answer is stable.
    return (-a.overlap, a.case_reference, a.field) < (-b.overlap, b.case_reference, b.field)


def _count_label(limb: str, variant: int) -> str:
    return f"n_{limb}_{variant}"


def similar_query(
    case_id: int, mine: Mapping[str, tuple[frozenset[int], ...]], threshold: float
) -> Any:
    """Other cases' limbs holding at least ``threshold`` of one of this decision's limbs (in one
    of its variants): the draft's shingles are looked up through the shingle index, and for each
    (case, limb) found, the distinct shingles of each limb variant are counted."""
    fp = RationaleFingerprint
    every = sorted(set().union(*(found for variants in mine.values() for found in variants)))
    # The lookup first, through the shingle index; MATERIALIZED keeps PostgreSQL from folding it
    # into the grouping, where the index on case_id (which delivers rows grouped) can look
    # cheaper on a small table than the shingle lookup, and would read every fingerprint.
    matched = (
        select(fp.case_id, fp.field, fp.shingle)
        .where(fp.shingle.in_(every), fp.case_id != case_id)
        .cte("matched")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    counts = []
    enough: list[tuple[str, int]] = []
    for limb, variants in mine.items():
        for k, found in enumerate(variants):
            label = _count_label(limb, k)
            hit = case_when((matched.c.shingle.in_(sorted(found)), matched.c.shingle))
            counts.append(func.count(distinct(hit)).label(label))
            enough.append((label, rq.required_matches(len(found), threshold)))
    grouped = (
        select(matched.c.case_id, matched.c.field, *counts)
        .group_by(matched.c.case_id, matched.c.field)
        .subquery()
    )
    reached: list[ColumnElement[bool]] = [grouped.c[label] >= need for label, need in enough]
    return (
        select(Case.reference, grouped)
        .join(grouped, Case.id == grouped.c.case_id)
        .where(or_(*reached))
    )


def _case_names(session: Session, case_id: int, data: Mapping[str, Any]) -> frozenset[str]:
    case_row = session.get(Case, case_id)
    if case_row is None:
        raise LookupError(f"no case {case_id}")
    return masked_names(case_facts(case_row), data)


def record_fingerprints(
    session: Session, case_id: int, step_id: int, data: Mapping[str, Any]
) -> int:
    """Store the shingle hashes of a saved decision's limbs, for later decisions to be compared
    with. Call in the transaction that saves the step. Returns how many were stored."""
    masked = _case_names(session, case_id, data)
    rows = [
        RationaleFingerprint(case_id=case_id, step_id=step_id, field=limb, shingle=shingle)
        for limb, found in rq.limb_fingerprints(data, masked).items()
        for shingle in sorted(found)
    ]
    session.add_all(rows)
    return len(rows)


# --- The check --------------------------------------------------------------------------------


def check(
    session: Session,
    case: Case,
    event: str,
    data: Mapping[str, Any],
    *,
    min_chars: int = rq.DEFAULT_MIN_CHARS,
    threshold: float = rq.DEFAULT_OVERLAP,
) -> QualityReport:
    """Every quality finding on a decision's cleaned data, for the author to see before they
    submit and to be recorded with the decision."""
    facts = case_facts(case)
    similar = similar_rationales(session, case.id, data, threshold=threshold,
                                 masked=masked_names(facts, data))
    return rq.assess(event, data, facts, similar=similar, min_chars=min_chars,
                     threshold=threshold)


__all__ = [
    "CaseFacts",
    "QualityReport",
    "QualitySettings",
    "Similar",
    "case_facts",
    "check",
    "masked_names",
    "quality_settings",
    "record_fingerprints",
    "similar_query",
    "similar_rationales",
]
