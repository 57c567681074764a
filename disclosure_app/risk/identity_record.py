"""How the subject's identity was resolved, as the auditor's decision trail and the PDF decision
record show it: who proposed which register record and when, on which identifiers, who confirmed
or rejected it and when, and the checks checklist with each result.

Shared by the trail (HTML) and the PDF record, so that both say the same thing. Values are plain
text; escaping is the renderer's job. Reading only: no audit entry is written here (the page or
the download that shows it is itself logged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import Case, CaseCheck, IdentityDecision, User
from workflows.checks import DEFAULT_CHECK_SOURCES, CheckOutcome
from workflows.identity import Classification, Identifier, IdentityStatus

OUTCOMES = {
    "proposed": "Awaiting a second person's confirmation",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "no_trace": "No trace recorded",
}


@dataclass(frozen=True)
class IdentityStep:
    """One proposal (with its confirmation or rejection), or a "no trace" record."""

    kind: str  # "match" or "no_trace"
    outcome: str
    register_record: str  # the register's person id ("" for no trace)
    register_source: str
    identifiers: tuple[str, ...]  # "Date of birth", "Register id ... (Quoted by ...)"
    classification: str
    flags: tuple[str, ...]
    proposed_by: str  # "Constable Olive Officer (Case officer)"
    proposed_at: datetime
    note: str
    reviewed_by: str
    reviewed_at: datetime | None
    review_note: str


@dataclass(frozen=True)
class CheckLine:
    source: str
    outcome: str
    checked_on: date | None
    checked_by: str
    reference: str
    result: str  # the result summary, or why the check does not apply
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class IdentityRecord:
    status: str  # the case's identity status, as words
    register_record: str  # the confirmed record's person id, or ""
    steps: tuple[IdentityStep, ...]
    checks: tuple[CheckLine, ...]

    @property
    def confirmed(self) -> IdentityStep | None:
        return next((s for s in reversed(self.steps) if s.outcome == OUTCOMES["confirmed"]),
                    None)


def officer(user: User | None) -> str:
    """'Inspector Diane Decider (Decision-maker)': the name, rank and role at the time read."""
    if user is None:
        return ""
    return f"{user.display_name} ({user.role.label})"


def _identifiers(decision: IdentityDecision) -> tuple[str, ...]:
    shown = []
    references = decision.references or {}
    for value in decision.identifiers or []:
        try:
            label = Identifier(value).label
        except ValueError:
            label = str(value)
        where = str(references.get(value) or "")
        shown.append(f"{label} ({where})" if where else label)
    return tuple(shown)


def _classification(value: str | None) -> str:
    try:
        return Classification(value).label if value else ""
    except ValueError:
        return str(value)


def describe_decision(decision: IdentityDecision) -> IdentityStep:
    person = decision.person
    return IdentityStep(
        kind=decision.kind,
        outcome=OUTCOMES.get(decision.state, decision.state),
        register_record=decision.person_id or "",
        register_source=person.source if person is not None else "",
        identifiers=_identifiers(decision),
        classification=_classification(decision.classification),
        flags=tuple(decision.flags or ()),
        proposed_by=officer(decision.proposed_by),
        proposed_at=decision.proposed_at,
        note=decision.note or "",
        reviewed_by=officer(decision.reviewed_by),
        reviewed_at=decision.reviewed_at,
        review_note=decision.review_note or "",
    )


def describe_checks(checks: Iterable[CaseCheck],
                    sources: Sequence[tuple[str, str]] = DEFAULT_CHECK_SOURCES
                    ) -> tuple[CheckLine, ...]:
    """The newest record of every source checked, in checklist order (then any other source)."""
    newest: dict[str, CaseCheck] = {}
    for check in sorted(checks, key=lambda c: c.id):
        newest[check.source] = check
    labels: Mapping[str, str] = dict(sources)
    order = [code for code, _ in sources if code in newest]
    order += sorted(code for code in newest if code not in labels)
    lines = []
    for code in order:
        check = newest[code]
        try:
            outcome = CheckOutcome(check.outcome).label
        except ValueError:
            outcome = check.outcome
        lines.append(CheckLine(
            source=labels.get(code, code.replace("_", " ").capitalize()),
            outcome=outcome,
            checked_on=check.checked_on,
            checked_by=check.checked_by or "",
            reference=check.reference or "",
            result=(check.result_summary if check.outcome == CheckOutcome.done
                    else check.reason) or "",
            recorded_by=officer(check.recorded_by),
            recorded_at=check.recorded_at,
        ))
    return tuple(lines)


def identity_record(session: Session, case: Case,
                    sources: Sequence[tuple[str, str]] = DEFAULT_CHECK_SOURCES
                    ) -> IdentityRecord:
    decisions = session.scalars(
        select(IdentityDecision).where(IdentityDecision.case_id == case.id)
        .order_by(IdentityDecision.id))
    checks = session.scalars(select(CaseCheck).where(CaseCheck.case_id == case.id))
    try:
        status = IdentityStatus(case.subject_identity).label
    except ValueError:
        status = str(case.subject_identity)
    return IdentityRecord(
        status=status,
        register_record=case.subject_person.person_id if case.subject_person else "",
        steps=tuple(describe_decision(d) for d in decisions),
        checks=describe_checks(checks, sources),
    )
