"""Linked cases: applications and Right to Know cases about the same subject, child or applicant.

Automatic links come from keys written when a case is created (and, for the subject, when their
identity is confirmed): a folded name with a date of birth, a folded name with a postcode, or the
register id. Equal keys link cases (``ix_case_link_keys_key``); a name alone never does.
Keys are stored as keyed blind indexes (``privacy.blind_index``), never as the name and date.
Manual links carry a reason and are an audit entry of their own (DPA 2018 s.62 combination).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseLink, CaseLinkKey, CaseStep, User
from disclosure_app.privacy import blind_index
from workflows.fields import normalise_text, text_problem
from workflows.identity import link_keys
from workflows.roles import Role
from workflows.status import Status

KIND_LABELS = {"subject": "Same subject", "child": "Same child", "applicant": "Same applicant"}
DISCLOSURE_EVENTS = ("approve_disclosure_to_applicant", "approve_disclosure_to_other",
                     "approve_other_information", "record_disclosure_delivered")
DECISION_OUTCOMES = {
    "approve_disclosure_to_applicant": "Disclosure to the applicant",
    "approve_disclosure_to_other": "Disclosure to another person",
    "approve_other_information": "Other relevant information disclosed",
    "decide_no_disclosure": "No disclosure",
}
REASON_MAX = 1000


def keys_for(case: Case) -> set[tuple[str, str]]:
    """(kind, blind digest) for every key the case's people give."""
    return {(kind, blind_index.digest(f"link:{kind}", key)) for kind, key in _plain_keys(case)}


def _plain_keys(case: Case) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    if case.subject is not None:
        s = case.subject
        keys |= {("subject", k) for k in link_keys(s.full_name, date_of_birth=s.date_of_birth,
                                                   postcode=s.postcode)}
        if case.subject_person is not None and case.subject_identity == "confirmed":
            keys.add(("subject", f"register:{case.subject_person.person_id}"))
    if case.applicant is not None:
        a = case.applicant
        keys |= {("applicant", k) for k in link_keys(a.full_name, date_of_birth=a.date_of_birth,
                                                     postcode=a.postcode)}
    for child in case.children:
        keys |= {("child", k) for k in link_keys(child.full_name,
                                                 date_of_birth=child.date_of_birth)}
    return keys


def write_keys(session: Session, case: Case) -> None:
    """Add any missing link keys for ``case`` (inside the caller's transaction)."""
    session.flush()
    held = set(session.execute(
        select(CaseLinkKey.kind, CaseLinkKey.key).where(CaseLinkKey.case_id == case.id)
    ).all())
    for kind, key in sorted(keys_for(case) - held):
        session.add(CaseLinkKey(case_id=case.id, kind=kind, key=key))


@dataclass
class LinkedCase:
    case: Case
    reasons: list[str] = field(default_factory=list)
    outcome: str = ""
    earlier_disclosure: bool = False


def linked_cases(session: Session, case: Case) -> list[LinkedCase]:
    mine, theirs = aliased(CaseLinkKey), aliased(CaseLinkKey)
    found: dict[int, LinkedCase] = {}
    automatic = session.execute(
        select(theirs.case_id, theirs.kind)
        .join(mine, (mine.kind == theirs.kind) & (mine.key == theirs.key))
        .where(mine.case_id == case.id, theirs.case_id != case.id)
        .distinct()
    ).all()
    manual = session.scalars(select(CaseLink).where(
        (CaseLink.case_id == case.id) | (CaseLink.linked_case_id == case.id))).all()
    reasons: dict[int, list[str]] = {}
    for other_id, kind in automatic:
        reasons.setdefault(other_id, []).append(KIND_LABELS[kind])
    for link in manual:
        other_id = link.linked_case_id if link.case_id == case.id else link.case_id
        reasons.setdefault(other_id, []).append(f"Linked by hand: {link.reason}")
    if not reasons:
        return []
    cases = session.scalars(select(Case).where(Case.id.in_(sorted(reasons)))).all()
    steps = session.execute(
        select(CaseStep.case_id, CaseStep.event).where(
            CaseStep.case_id.in_(sorted(reasons)),
            CaseStep.event.in_([*DECISION_OUTCOMES, "record_disclosure_delivered"]))
        .order_by(CaseStep.id)
    ).all()
    for other in cases:
        events = [event for cid, event in steps if cid == other.id]
        found[other.id] = LinkedCase(
            case=other,
            reasons=sorted(set(reasons[other.id])),
            outcome=_outcome(other, events),
            earlier_disclosure=any(e in DISCLOSURE_EVENTS for e in events)
            and any(r in ("Same subject",) or r.startswith("Linked by hand")
                    for r in reasons[other.id]),
        )
    return sorted(found.values(), key=lambda lc: (lc.case.received_at, lc.case.id))


def _outcome(case: Case, events: list[str]) -> str:
    if "record_disclosure_delivered" in events:
        return "Disclosure delivered"
    decisions = [e for e in events if e in DECISION_OUTCOMES]
    if decisions:
        return DECISION_OUTCOMES[decisions[-1]]
    status = Status(case.status)
    return status.label if status.is_terminal else "Not decided yet"


def repeat_disclosures(links: list[LinkedCase], case: Case) -> list[LinkedCase]:
    """Earlier cases about the same subject in which a disclosure was made."""
    return [lc for lc in links if lc.earlier_disclosure and lc.case.received_at <= case.received_at]


def link_by_hand(session: Session, user: User, case_id: int, *, reference: str, reason: str,
                 now: datetime, submission_key: str | None = None) -> Case:
    reason = normalise_text(reason or "")
    errors = {}
    if not reason:
        errors["reason"] = "Enter why the cases are linked"
    elif text_problem(reason, multiline=True) or len(reason) > REASON_MAX:
        errors["reason"] = (text_problem(reason, multiline=True)
                            or f"The reason must be {REASON_MAX} characters or fewer")
    reference = (reference or "").strip().upper()
    if not reference:
        errors["reference"] = "Enter the reference of the case to link"
    if errors:
        raise InputInvalid(errors)
    try:
        with transaction(session):
            return _link(session, user, case_id, reference, reason, now, submission_key)
    except idempotency.KeyUsed as used:
        raise idempotency.replayed(session, used) from None


def _link(session: Session, user: User, case_id: int, reference: str, reason: str,
          now: datetime, submission_key: str | None) -> Case:
    case = load_case_in_scope(session, user, case_id, for_update=True)
    idempotency.claim(session, submission_key, idempotency.Purpose.risk_check, now=now,
                      case_id=case.id, event="case_link", user_id=user.id)
    other = session.scalars(select(Case).where(Case.reference == reference)).first()
    if other is None or user.role not in (Role.case_officer, Role.decision_maker):
        raise InputInvalid({"reference": "No case has that reference"})
    if other.id == case.id:
        raise InputInvalid({"reference": "A case cannot be linked to itself"})
    low, high = sorted((case.id, other.id))
    if session.scalars(select(CaseLink).where(CaseLink.case_id == low,
                                              CaseLink.linked_case_id == high)).first():
        raise InputInvalid({"reference": "These cases are already linked"})
    entry = audit.append(
        session, now=now, actor=user.as_actor(), action="case_linked",
        category=Category.combination, case_id=case.id,
        details={"reference": case.reference, "linked_case_id": other.id,
                 "linked_reference": other.reference, "reason_sha256": sha256_hex(reason)},
    )
    session.add(CaseLink(case_id=low, linked_case_id=high, reason=reason,
                         created_by_id=user.id, created_at=now, audit_seq=entry.seq))
    return case

