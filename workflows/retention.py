"""Review, retention and disposal of closed cases (MoPI; DPA 2018 Part 3; DOMAIN.md §8).

Pure rules: which retention group a closed case falls in, when it is first reviewed, and what a
review may decide. The app (disclosure_app.records) stores the group, the dates, the reviews and
the legal holds, and performs disposal.

Police information is kept only while it is still needed for a policing purpose; a review that
decides to keep it is recorded, with its reason and the next review date. A legal hold (an IOPC
investigation, court proceedings, a complaint) stops disposal until it is lifted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What a closed case came to, as the retention schedule groups it."""

    disclosure = "disclosure"
    no_disclosure = "no_disclosure"
    not_progressed = "not_progressed"


@dataclass(frozen=True)
class RetentionRule:
    outcome: Outcome
    label: str
    mopi_group: int
    # Years from closure to the first review, and the longest a "retain" review may set.
    review_years: int


# Defaults a force changes in configuration (RETENTION_SCHEDULE). A disclosure concerns a
# person managed as a risk to children: public protection, reviewed every 10 years. An enquiry
# that ended without disclosure is still kept (a pattern of concerns about one person matters,
# DOMAIN.md §7) but reviewed at the normal six-year minimum.
DEFAULT_SCHEDULE: tuple[RetentionRule, ...] = (
    RetentionRule(Outcome.disclosure, "Disclosure made (public protection)", 1, 10),
    RetentionRule(Outcome.no_disclosure, "Considered, no disclosure", 3, 6),
    RetentionRule(Outcome.not_progressed, "Not progressed, withdrawn or transferred", 3, 6),
)


class Decision(StrEnum):
    retain = "retain"
    dispose = "dispose"


class HoldKind(StrEnum):
    iopc = "iopc"
    court = "court"
    complaint = "complaint"
    other = "other"

    @property
    def label(self) -> str:
        return HOLD_LABELS[self]


HOLD_LABELS = {
    HoldKind.iopc: "IOPC investigation",
    HoldKind.court: "Court proceedings",
    HoldKind.complaint: "Complaint",
    HoldKind.other: "Other legal reason",
}

REASON_MIN_CHARS = 20


def schedule_from_config(configured: Mapping[str, Mapping[str, Any]] | None
                         ) -> tuple[RetentionRule, ...]:
    """``RETENTION_SCHEDULE``: {outcome: {"label", "mopi_group", "review_years"}}, each key
    optional (the default rule's value is kept). Every outcome keeps a rule."""
    if not configured:
        return DEFAULT_SCHEDULE
    unknown = set(configured) - {o.value for o in Outcome}
    if unknown:
        raise ValueError(f"RETENTION_SCHEDULE: unknown outcomes {sorted(unknown)}")
    rules = []
    for rule in DEFAULT_SCHEDULE:
        given = configured.get(rule.outcome.value) or {}
        years = int(given.get("review_years", rule.review_years))
        if not 1 <= years <= 100:
            raise ValueError(f"RETENTION_SCHEDULE[{rule.outcome}]: review_years must be 1-100")
        rules.append(RetentionRule(rule.outcome, str(given.get("label", rule.label)),
                                   int(given.get("mopi_group", rule.mopi_group)), years))
    return tuple(rules)


def outcome_of(decision_outcome: str | None) -> Outcome:
    if decision_outcome == "disclosure":
        return Outcome.disclosure
    if decision_outcome == "no_disclosure":
        return Outcome.no_disclosure
    return Outcome.not_progressed  # withdrawn, not eligible, transferred, identity unverified


def rule_for(schedule: tuple[RetentionRule, ...], outcome: Outcome) -> RetentionRule:
    for rule in schedule:
        if rule.outcome is outcome:
            return rule
    raise LookupError(f"the retention schedule has no rule for {outcome}")


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def first_review(closed_on: date, rule: RetentionRule, earlier: date | None = None) -> date:
    """The schedule's date, or the officer's earlier one (a review may always come sooner)."""
    scheduled = add_years(closed_on, rule.review_years)
    return min(scheduled, earlier) if earlier and earlier > closed_on else scheduled


def review_problems(decision: str, reason: str, next_review: date | None, *, today: date,
                    rule: RetentionRule, held: bool) -> dict[str, str]:
    """What is wrong with a review as entered; empty when it may be recorded."""
    problems: dict[str, str] = {}
    if decision not in {d.value for d in Decision}:
        problems["decision"] = "Choose whether to retain or dispose of the record"
    if len(reason.strip()) < REASON_MIN_CHARS:
        problems["reason"] = (f"Give the reason for the decision (at least {REASON_MIN_CHARS} "
                              "characters): a review that is not recorded did not happen")
    if decision == Decision.retain:
        latest = add_years(today, rule.review_years)
        if next_review is None:
            problems["next_review_on"] = "Enter the next review date"
        elif next_review <= today:
            problems["next_review_on"] = "The next review date must be in the future"
        elif next_review > latest:
            problems["next_review_on"] = (
                f"The next review must be within {rule.review_years} years "
                f"(by {latest.strftime('%d %B %Y')}) for this retention group")
    if decision == Decision.dispose and held:
        problems["decision"] = "A legal hold is in place: the record cannot be disposed of"
    return problems
