"""Misuse alerts the ICO expects a force to look for (SECURITY.md SEC-32a): someone consulting a
case they are not involved in, bulk consultation, and repeated authorisation denials.

Alerts are computed from the logs themselves each time they are asked for (the console, and
``flask audit alerts`` from a scheduled job that mails whoever must act), so there is no second
record that could disagree with the logs or be quietly deleted.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import AuditEntry, Case, CaseStep, SecurityEvent
from disclosure_app.models.risk import CaseCheck, IdentityDecision
from disclosure_app.security.event_log import Kind
from workflows.roles import Role
from workflows.status import Stage

# The entries that mean "looked at a case".
CONSULTATIONS = ("case_viewed", "sensitive_access_justified")
# Decision-makers legitimately read cases that reach them for a decision.
DECISION_STAGES = (Stage.decision, Stage.disclosure, Stage.closed)


@dataclass(frozen=True)
class AlertSettings:
    bulk_cases: int
    bulk_window: timedelta
    denials: int
    denial_window: timedelta


def settings(config: Mapping[str, Any]) -> AlertSettings:
    return AlertSettings(
        bulk_cases=int(config["ALERT_BULK_CONSULTATIONS"]),
        bulk_window=timedelta(minutes=int(config["ALERT_BULK_WINDOW_MINUTES"])),
        denials=int(config["ALERT_DENIALS"]),
        denial_window=timedelta(minutes=int(config["ALERT_DENIAL_WINDOW_MINUTES"])))


@dataclass(frozen=True)
class Alert:
    kind: str  # unassigned_consultation, bulk_consultation, repeated_denials
    at: datetime
    user_id: int
    summary: str
    case_id: int | None = None
    count: int = 1


KIND_LABELS = {
    "unassigned_consultation": "Consulted a case they are not involved in",
    "bulk_consultation": "Bulk consultation",
    "repeated_denials": "Repeated authorisation denials",
}


def alerts(session: Session, s: AlertSettings, *, since: datetime,
           until: datetime) -> list[Alert]:
    views = list(session.execute(
        select(AuditEntry.seq, AuditEntry.created_at, AuditEntry.actor_id, AuditEntry.actor_role,
               AuditEntry.case_id)
        .where(AuditEntry.action.in_(CONSULTATIONS), AuditEntry.created_at >= since,
               AuditEntry.created_at < until, AuditEntry.actor_id.is_not(None))
        .order_by(AuditEntry.seq)))
    found = _unassigned(session, views) + _bulk(views, s)
    denials = list(session.execute(
        select(SecurityEvent.occurred_at, SecurityEvent.user_id)
        .where(SecurityEvent.kind == str(Kind.authorisation_denied),
               SecurityEvent.occurred_at >= since, SecurityEvent.occurred_at < until,
               SecurityEvent.user_id.is_not(None))
        .order_by(SecurityEvent.occurred_at, SecurityEvent.id)))
    found += _bursts([(d.user_id, d.occurred_at, None) for d in denials], s.denials,
                     s.denial_window, "repeated_denials", "authorisation denials")
    return sorted(found, key=lambda a: a.at, reverse=True)


def _unassigned(session: Session, views: list[Any]) -> list[Alert]:
    police = [v for v in views if v.actor_role in (Role.case_officer, Role.decision_maker)
              and v.case_id is not None]
    case_ids = {v.case_id for v in police}
    if not case_ids:
        return []
    cases = {c.id: c for c in session.execute(
        select(Case.id, Case.assigned_officer_id, Case.stage).where(Case.id.in_(case_ids)))}
    acted = _involved(session, case_ids)
    first: dict[tuple[int, int], Any] = {}
    counts: Counter[tuple[int, int]] = Counter()
    for v in police:
        case = cases.get(v.case_id)
        if case is None or case.assigned_officer_id == v.actor_id:
            continue
        if (v.case_id, v.actor_id) in acted:
            continue
        if v.actor_role == Role.decision_maker and case.stage in DECISION_STAGES:
            continue
        key = (v.actor_id, v.case_id)
        first.setdefault(key, v)
        counts[key] += 1
    return [Alert("unassigned_consultation", v.created_at, user_id, case_id=case_id,
                  count=counts[(user_id, case_id)],
                  summary=f"opened case {case_id} {counts[(user_id, case_id)]} time(s) without "
                          "being its officer or having acted on it")
            for (user_id, case_id), v in first.items()]


def _involved(session: Session, case_ids: set[int]) -> set[tuple[int, int]]:
    """(case id, user id) for everyone who has acted on a case: taken a step, recorded a check,
    or proposed, confirmed or rejected the subject's identity (the identity gate requires a
    second person to confirm: that is involvement, not curiosity)."""
    acted = set(session.execute(
        select(CaseStep.case_id, CaseStep.actor_id).where(CaseStep.case_id.in_(case_ids))))
    acted |= set(session.execute(
        select(CaseCheck.case_id, CaseCheck.recorded_by_id)
        .where(CaseCheck.case_id.in_(case_ids))))
    for column in (IdentityDecision.proposed_by_id, IdentityDecision.reviewed_by_id):
        acted |= set(session.execute(
            select(IdentityDecision.case_id, column)
            .where(IdentityDecision.case_id.in_(case_ids), column.is_not(None))))
    return {(case_id, user_id) for case_id, user_id in acted}


def _bulk(views: list[Any], s: AlertSettings) -> list[Alert]:
    return _bursts([(v.actor_id, v.created_at, v.case_id) for v in views], s.bulk_cases,
                   s.bulk_window, "bulk_consultation", "different cases consulted")


def _bursts(events: list[tuple[int, datetime, int | None]], limit: int, window: timedelta,
            kind: str, what: str) -> list[Alert]:
    """One alert each time someone goes over ``limit`` (distinct case ids, or events when the
    id is None) within any ``window``; the next alert for them needs a fresh window."""
    by_user: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    for user_id, at, key in events:
        by_user[user_id].append((at, key))
    found = []
    for user_id, items in by_user.items():
        recent: deque[tuple[datetime, object]] = deque()
        keys: Counter[object] = Counter()
        quiet_until: datetime | None = None
        for n, (at, case_id) in enumerate(items):
            key: object = case_id if case_id is not None else ("event", n)
            recent.append((at, key))
            keys[key] += 1
            while recent and recent[0][0] <= at - window:
                _, old = recent.popleft()
                keys[old] -= 1
                if keys[old] <= 0:
                    del keys[old]
            if len(keys) > limit and (quiet_until is None or at >= quiet_until):
                minutes = int(window.total_seconds() // 60)
                found.append(Alert(kind, at, user_id, count=len(keys),
                                   summary=f"{len(keys)} {what} within {minutes} minutes "
                                           f"(the limit is {limit})"))
                quiet_until = at + window
    return found
