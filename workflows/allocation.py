"""Who may hold, claim and hand on a case, and who may cover for an absent officer.

Pure rules (no Flask, no ORM): the service in ``disclosure_app.teams`` reads the people and the
case, asks these functions, and turns each ``Refusal`` into the answer its kind calls for. Every
refusal is a plain-English sentence a person can act on.

- Only an active **case officer** ever holds a case: partner agency members, auditors and
  administrators never act on cases, and a decision-maker must stay free to decide (a case
  officer cannot decide their own case: ``workflows.disclosure.decision_maker_eligible``).
- An officer may **claim** an open, unallocated case of a team they belong to.
- A **supervisor** (a case officer or decision-maker of at least ``supervisor_min_rank``,
  Sergeant unless configured) may assign, reassign, move everything one officer holds, and
  arrange cover. Handing on a case someone already holds needs a reason.
- **Cover** lets one case officer see an absent officer's open cases among their own, from its
  first to its last day inclusive, unless a supervisor ends it early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from workflows.roles import Rank, Role

REASON_MAX_CHARS = 1000  # case_allocations.reason
COVER_REASON_MAX_CHARS = 500  # officer_covers.reason

# An outward postcode (the district): "NS1", "NX14", "EC1A", "W1".
_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
# The inward half is always a digit and two letters: "4AB".
_INWARD = re.compile(r"[0-9][A-Z]{2}")


@dataclass(frozen=True)
class AllocationPolicy:
    """Force-configurable: the lowest rank that supervises (``SUPERVISOR_MIN_RANK``) and the
    force's local time (a cover's days are the force's days, not UTC's)."""

    supervisor_min_rank: Rank = Rank.sergeant
    local_tz: str = "Europe/London"


@dataclass(frozen=True)
class Person:
    """A staff member as these rules see them."""

    id: int
    role: Role
    rank: Rank | None = None
    active: bool = True
    team_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Holding:
    """What the rules need to know about a case."""

    is_open: bool
    team_id: int | None
    holder_id: int | None


class RefusalKind(StrEnum):
    not_permitted = "not_permitted"  # who is asking may never do this (HTTP 403)
    not_now = "not_now"  # the case or the cover does not allow it now (HTTP 409)
    invalid = "invalid"  # something the form holds; ``field`` names it (HTTP 400)


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    message: str
    field: str | None = None


def _not_permitted(message: str) -> Refusal:
    return Refusal(RefusalKind.not_permitted, message)


def _not_now(message: str) -> Refusal:
    return Refusal(RefusalKind.not_now, message)


def _invalid(field_name: str, message: str) -> Refusal:
    return Refusal(RefusalKind.invalid, message, field_name)


# --- People ------------------------------------------------------------------------------------


def is_supervisor(person: Person, policy: AllocationPolicy) -> bool:
    return (person.active and person.role in (Role.case_officer, Role.decision_maker)
            and person.rank is not None and person.rank >= policy.supervisor_min_rank)


def supervisor_refusal(person: Person, policy: AllocationPolicy) -> Refusal | None:
    if is_supervisor(person, policy):
        return None
    return _not_permitted(
        "Only a supervisor (a case officer or decision-maker of at least "
        f"{policy.supervisor_min_rank.label} rank) can allocate cases or arrange cover.")


_CANNOT_HOLD = {
    Role.decision_maker: "A decision-maker cannot hold a case (they may have to decide it)",
    Role.partner: "A partner agency member cannot hold a case",
    Role.auditor: "An auditor cannot hold a case",
    Role.admin: "An administrator cannot hold a case",
    Role.records_manager: "A records manager cannot hold a case",
    Role.applicant: "Only a case officer can hold a case",
}


def holder_problem(candidate: Person | None, *, missing: str = "Select a case officer from the "
                   "list") -> str | None:
    """Why ``candidate`` cannot hold cases (or cover for someone), or None; ``missing`` is
    what to say when nobody (or nobody known) was chosen."""
    if candidate is None:
        return missing
    if candidate.role is not Role.case_officer:
        return f"{_CANNOT_HOLD[candidate.role]}: select an active case officer"
    if not candidate.active:
        return "That account is deactivated: select an active case officer"
    return None


def reason_problem(reason: str, *, required: bool, max_chars: int = REASON_MAX_CHARS
                   ) -> str | None:
    if required and not reason.strip():
        return "Enter the reason"
    if len(reason) > max_chars:
        return f"The reason must be {max_chars:,} characters or fewer"
    return None


# --- Claiming and assigning --------------------------------------------------------------------


def action_for(case: Holding) -> str:
    """``assign`` gives an unallocated case a holder; ``reassign`` takes it from one."""
    return "assign" if case.holder_id is None else "reassign"


def claim_refusals(claimant: Person, case: Holding) -> list[Refusal]:
    if claimant.role is not Role.case_officer or not claimant.active:
        return [_not_permitted("Only a case officer can claim a case.")]
    if case.team_id is None or case.team_id not in claimant.team_ids:
        return [_not_permitted("You can only claim cases of a team you belong to. Ask a "
                               "supervisor to assign this case.")]
    if not case.is_open:
        return [_not_now("This case is closed, so it cannot be claimed.")]
    if case.holder_id == claimant.id:
        return [_not_now("This case is already yours.")]
    if case.holder_id is not None:
        return [_not_now("Another officer already holds this case. A supervisor can reassign "
                         "it.")]
    return []


def assignment_refusals(by: Person, case: Holding, to: Person | None, reason: str,
                        policy: AllocationPolicy) -> list[Refusal]:
    """Assign (no holder yet) or reassign (with a reason) one case to ``to``."""
    refusal = supervisor_refusal(by, policy)
    if refusal is not None:
        return [refusal]
    if not case.is_open:
        return [_not_now("This case is closed, so it cannot be assigned or reassigned.")]
    found = []
    problem = holder_problem(to)
    if problem is None and to is not None and to.id == case.holder_id:
        problem = "That officer already holds this case: select someone else"
    if problem:
        found.append(_invalid("to_user_id", problem))
    problem = reason_problem(reason, required=action_for(case) == "reassign")
    if problem:
        found.append(_invalid("reason", problem))
    return found


def bulk_reassignment_refusals(by: Person, from_person: Person | None, to: Person | None,
                               reason: str, open_cases: int, policy: AllocationPolicy
                               ) -> list[Refusal]:
    """Move every open case ``from_person`` holds to ``to`` (an officer leaving or absent)."""
    refusal = supervisor_refusal(by, policy)
    if refusal is not None:
        return [refusal]
    found = []
    if from_person is None or from_person.role is not Role.case_officer:
        found.append(_invalid("from_user_id", "Select the officer whose cases are to move"))
    elif open_cases == 0:
        found.append(_invalid("from_user_id", "That officer holds no open cases"))
    problem = holder_problem(to)
    if problem is None and to is not None and from_person is not None and (
            to.id == from_person.id):
        problem = "Select a different officer to take the cases"
    if problem:
        found.append(_invalid("to_user_id", problem))
    problem = reason_problem(reason, required=True)
    if problem:
        found.append(_invalid("reason", problem))
    return found


# --- Cover -------------------------------------------------------------------------------------


def local_day(moment: datetime, tz: str) -> date:
    """The force's calendar day at ``moment`` (a cover's first and last days are local)."""
    return moment.astimezone(ZoneInfo(tz)).date()


def cover_in_force(starts_on: date, ends_on: date, ended: bool, today: date) -> bool:
    return not ended and starts_on <= today <= ends_on


@dataclass(frozen=True)
class CoverRequest:
    absent: Person | None
    cover: Person | None
    starts_on: date | None
    ends_on: date | None
    reason: str


def cover_refusals(by: Person, request: CoverRequest, *, today: date,
                   overlapping: bool, policy: AllocationPolicy) -> list[Refusal]:
    """``overlapping``: the same officer already covers the same absence on one of these
    days (a second identical cover would add nothing, and is what a double click makes)."""
    refusal = supervisor_refusal(by, policy)
    if refusal is not None:
        return [refusal]
    found = []
    absent, cover = request.absent, request.cover
    if absent is None or absent.role is not Role.case_officer:
        found.append(_invalid("absent_user_id", "Select the absent case officer"))
    problem = holder_problem(cover, missing="Select the case officer who will cover")
    if problem is None and absent is not None and cover is not None and cover.id == absent.id:
        problem = "An officer cannot cover for themselves: select someone else"
    if problem is None and overlapping:
        problem = "That officer already covers this absence on some of these days"
    if problem:
        found.append(_invalid("cover_user_id", problem))
    found += _cover_date_refusals(request.starts_on, request.ends_on, today)
    problem = reason_problem(request.reason, required=True, max_chars=COVER_REASON_MAX_CHARS)
    if problem:
        found.append(_invalid("reason", problem))
    return found


def _cover_date_refusals(starts_on: date | None, ends_on: date | None, today: date
                         ) -> list[Refusal]:
    found = []
    if starts_on is None:
        found.append(_invalid("starts_on", "Enter the first day of cover"))
    if ends_on is None:
        found.append(_invalid("ends_on", "Enter the last day of cover"))
    elif ends_on < today:
        found.append(_invalid("ends_on", "The last day of cover must be today or later"))
    elif starts_on is not None and ends_on < starts_on:
        found.append(_invalid("ends_on", "The last day of cover must be the same as or after "
                                         "the first day"))
    return found


def end_cover_refusals(by: Person, *, ended: bool, ends_on: date, today: date,
                       policy: AllocationPolicy) -> list[Refusal]:
    refusal = supervisor_refusal(by, policy)
    if refusal is not None:
        return [refusal]
    if ended or ends_on < today:
        return [_not_now("This cover has already ended.")]
    return []


# --- Postcode districts ------------------------------------------------------------------------


def outward_district(postcode: str | None) -> str | None:
    """The outward code of a UK postcode ("ns1 4ab", "NS14AB", "NS1" → "NS1"), or None."""
    compact = re.sub(r"\s+", "", postcode or "").upper()
    if len(compact) >= 5 and _INWARD.fullmatch(compact[-3:]):
        compact = compact[:-3]
    return compact if _OUTWARD.fullmatch(compact) else None


def parse_districts(text: str) -> tuple[list[str], list[str]]:
    """Districts typed by an administrator, separated by spaces or commas: (the districts,
    upper case, each once and in order; whatever is not an outward postcode)."""
    good: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        district = part.upper()
        if not _OUTWARD.fullmatch(district):
            bad.append(part)
        elif district not in good:
            good.append(district)
    return good, bad
