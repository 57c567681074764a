"""The auditor's reports: who consulted a case or a subject and why, everything one staff member
did in a period, disclosures with their recipients, misuse alerts and the security event log.

Each report is a plain table (``Report``) so that the page, the CSV and the PDF show exactly the
same rows. Reports read the indexes on the audit table ((case_id, seq), (actor_id, seq),
(category, seq)) and are capped at ``ROW_LIMIT`` rows, newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit import consultation, monitoring
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.audit.queries import action_label, case_references
from disclosure_app.cases.step_display import role_label
from disclosure_app.db import transaction
from disclosure_app.models import AuditEntry, Case, SecurityEvent, Subject, User
from disclosure_app.privacy import blind_index
from disclosure_app.security import event_log as security_log

ROW_LIMIT = 5000


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    filters: dict[str, Any] = field(default_factory=dict)  # ids and codes only (for the log)
    truncated: bool = False


def day_bounds(date_from: date | None, date_to: date | None, *, default_days: int,
               today: date) -> tuple[datetime, datetime]:
    start = date_from or today - timedelta(days=default_days)
    end = (date_to or today) + timedelta(days=1)
    return datetime.combine(start, time.min, UTC), datetime.combine(end, time.min, UTC)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _details(entry: AuditEntry) -> dict[str, Any]:
    try:
        details = json.loads(entry.payload).get("details", {})
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def _who(entry: AuditEntry) -> str:
    return f"{entry.actor_name} ({role_label(entry.actor_role)})"


# --- Who consulted a case or a subject, and why -----------------------------------------------


search_key = blind_index.name_search_key


def cases_for_subject(session: Session, name: str) -> list[int]:
    """Cases whose subject has exactly this name (case, spacing and Unicode form ignored),
    found through the name's blind index, not by reading every sealed name."""
    digest = blind_index.subject_name_digest(name)
    return sorted(session.scalars(select(Subject.case_id).where(Subject.name_index == digest)))


def record_subject_search(session: Session, auditor: User, name: str, case_ids: list[int], *,
                          now: datetime) -> None:
    """Searching by a subject's name is itself a consultation of personal data: logged with
    the name's hash and the cases it found, never the name."""
    with transaction(session):
        audit.append(session, now=now, actor=auditor.as_actor(), action="subject_searched",
                     category=Category.consultation,
                     details={"name_sha256": sha256_hex(search_key(name)),
                              "case_ids": case_ids, "purpose": "audit"})


CONSULTATION_COLUMNS = ("Entry", "Time", "Who", "Case", "What", "Reason", "Note", "Note intact")


def consultations(session: Session, case_ids: list[int], *, since: datetime,
                  until: datetime) -> Report:
    entries = list(session.scalars(
        select(AuditEntry).where(AuditEntry.case_id.in_(case_ids or [-1]),
                                 AuditEntry.category == str(Category.consultation),
                                 AuditEntry.created_at >= since, AuditEntry.created_at < until)
        .order_by(AuditEntry.seq.desc()).limit(ROW_LIMIT + 1)))
    truncated = len(entries) > ROW_LIMIT
    entries = entries[:ROW_LIMIT]
    references = case_references(session, entries)
    wanted_reasons = {e.seq for e in entries if e.action == consultation.REASON_GIVEN}
    for e in entries:
        seq = _details(e).get("reason_seq")
        if isinstance(seq, int):
            wanted_reasons.add(seq)
    reasons = consultation.reasons_for(session, sorted(wanted_reasons))
    reason_entries = {e.seq: e for e in session.scalars(
        select(AuditEntry).where(AuditEntry.seq.in_(sorted(reasons) or [-1])))}
    rows = []
    for e in entries:
        details = _details(e)
        seq = e.seq if e.action == consultation.REASON_GIVEN else details.get("reason_seq")
        reason = reasons.get(seq) if isinstance(seq, int) else None
        if reason is not None:
            why = consultation.REASONS.get(reason.reason_code, reason.reason_code)
            intact = "yes" if consultation.note_matches(reason, reason_entries[reason.audit_seq]) \
                else "NO: the note differs from the one logged"
            note = reason.note
            why = f"{why} (entry {reason.audit_seq})"
        else:
            why = str(details.get("purpose") or "")
            note, intact = "", ""
        rows.append((str(e.seq), _utc(e.created_at), _who(e), references.get(e.case_id, ""),
                     action_label(e.action), why, note, intact))
    return Report("consultations", "Who consulted these cases, and why", CONSULTATION_COLUMNS,
                  rows, {"case_ids": case_ids, "since": since, "until": until}, truncated)


# --- Everything one person did ------------------------------------------------------------------

ACTIVITY_COLUMNS = ("Time", "Log", "Entry", "What", "Category", "Case", "Details")


def staff_activity(session: Session, user_id: int, *, since: datetime, until: datetime) -> Report:
    entries = list(session.scalars(
        select(AuditEntry).where(AuditEntry.actor_id == user_id, AuditEntry.created_at >= since,
                                 AuditEntry.created_at < until)
        .order_by(AuditEntry.seq.desc()).limit(ROW_LIMIT + 1)))
    events = security_log.recent(session, since=since, until=until, user_id=user_id,
                                 limit=ROW_LIMIT + 1)
    references = case_references(session, entries)
    rows: list[tuple[datetime, tuple[str, ...]]] = []
    for e in entries:
        states = f"{e.from_status or 'new'} → {e.to_status}" if e.to_status else ""
        rows.append((e.created_at, (_utc(e.created_at), "decision log", str(e.seq),
                                    action_label(e.action), e.category,
                                    references.get(e.case_id, ""), states)))
    for ev in events:
        rows.append((ev.occurred_at, (_utc(ev.occurred_at), "security events", "",
                                      security_log.LABELS.get(ev.kind, ev.kind), "",
                                      "", ev.endpoint)))
    rows.sort(key=lambda r: r[0], reverse=True)
    truncated = len(rows) > ROW_LIMIT
    return Report("staff", "Everything this person did", ACTIVITY_COLUMNS,
                  [r for _, r in rows[:ROW_LIMIT]],
                  {"user_id": user_id, "since": since, "until": until}, truncated)


# --- Disclosures and their recipients ---------------------------------------------------------

DISCLOSURE_COLUMNS = ("Entry", "Time", "Who disclosed", "What", "Case", "Recipient",
                      "Justification")


def _recipient(details: dict[str, Any], names: dict[int, str]) -> str:
    recipient = details.get("recipient")
    if isinstance(recipient, dict):
        kind = recipient.get("kind")
        if kind == "partner_agency_member":
            return f"Partner agency member: {names.get(recipient.get('user_id'), '?')}"
        if kind == "applicant":
            return "The applicant"
        if kind == "other_person":
            return "Another person best placed to protect the child (named in the decision)"
    user_id = details.get("recipient_user_id")
    if isinstance(user_id, int):
        return f"Downloaded by {names.get(user_id, user_id)}"
    return ""


def _justification(entry: AuditEntry, details: dict[str, Any]) -> str:
    if details.get("rationale_sha256"):
        return "The step's recorded rationale (hash in the entry)"
    if details.get("reason_seq"):
        return f"Reason given in entry {details['reason_seq']}"
    return str(details.get("document") or details.get("purpose") or "")


def disclosures(session: Session, *, since: datetime, until: datetime) -> Report:
    entries = list(session.scalars(
        select(AuditEntry).where(AuditEntry.category == str(Category.disclosure),
                                 AuditEntry.created_at >= since, AuditEntry.created_at < until)
        .order_by(AuditEntry.seq.desc()).limit(ROW_LIMIT + 1)))
    truncated = len(entries) > ROW_LIMIT
    entries = entries[:ROW_LIMIT]
    references = case_references(session, entries)
    names = dict(session.execute(select(User.id, User.full_name)).all())
    rows = []
    for e in entries:
        details = _details(e)
        rows.append((str(e.seq), _utc(e.created_at), _who(e), action_label(e.action),
                     references.get(e.case_id, ""), _recipient(details, names),
                     _justification(e, details)))
    return Report("disclosures", "Disclosures and their recipients", DISCLOSURE_COLUMNS, rows,
                  {"since": since, "until": until}, truncated)


# --- Alerts and security events ---------------------------------------------------------------

ALERT_COLUMNS = ("Time", "Alert", "Who", "Case", "Detail")


def alerts(session: Session, s: monitoring.AlertSettings, *, since: datetime,
           until: datetime) -> Report:
    found = monitoring.alerts(session, s, since=since, until=until)
    names = dict(session.execute(select(User.id, User.full_name)).all())
    refs = dict(session.execute(select(Case.id, Case.reference).where(
        Case.id.in_({a.case_id for a in found if a.case_id} or {-1}))).all())
    rows = [(_utc(a.at), monitoring.KIND_LABELS[a.kind], names.get(a.user_id, str(a.user_id)),
             refs.get(a.case_id, "") if a.case_id else "", a.summary) for a in found]
    return Report("alerts", "Misuse alerts", ALERT_COLUMNS, rows[:ROW_LIMIT],
                  {"since": since, "until": until}, len(rows) > ROW_LIMIT)


SECURITY_COLUMNS = ("Time", "Event", "Who", "Client address", "Request", "Details")


def security_events(session: Session, *, since: datetime, until: datetime,
                    kind: str | None = None) -> Report:
    events = security_log.recent(session, since=since, until=until, kind=kind,
                                 limit=ROW_LIMIT + 1)
    names = dict(session.execute(select(User.id, User.full_name)).all())
    rows = [(_utc(ev.occurred_at), security_log.LABELS.get(ev.kind, ev.kind),
             names.get(ev.user_id, "") if ev.user_id else "(not signed in)", ev.client_ip,
             f"{ev.method} {ev.endpoint}".strip(), ev.details)
            for ev in events[:ROW_LIMIT]]
    return Report("security", "Security events", SECURITY_COLUMNS, rows,
                  {"since": since, "until": until, "kind": kind}, len(events) > ROW_LIMIT)


def security_event_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(SecurityEvent)) or 0)
