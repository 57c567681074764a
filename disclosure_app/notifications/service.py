"""Raising notifications for staff, in the caller's transaction.

What a notification says is fixed text with the case's reference: never a name, an address, a
decision or an outcome, because e-mail leaves the force's systems. Each one has a dedupe key
(kind, case, occasion, recipient) that is unique in the table, and is inserted with
``ON CONFLICT DO NOTHING``: the same occasion raised twice — two ``clocks tick`` runs at once, a
retried request — stores one notification, without either writer failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from disclosure_app.models import Case, Notification
from disclosure_app.notifications import mail

_notifications = Notification.__table__


class Kind(StrEnum):
    clock_near_breach = "clock_near_breach"
    clock_breached = "clock_breached"
    approval_needed = "approval_needed"
    extension_requested = "extension_requested"
    partner_invited = "partner_invited"
    partner_view_recorded = "partner_view_recorded"
    case_assigned = "case_assigned"
    # To a team's supervisors: how many of the team's cases reached near breach in one tick
    # (written by disclosure_app.clocks.tick, whose wording has the count and the team's name).
    team_near_breach = "team_near_breach"


# Kinds about a team rather than one case: no case reference, no link to a case.
TEAM_KINDS = frozenset({Kind.team_near_breach})
CASE_KINDS = frozenset(Kind) - TEAM_KINDS

# {reference} and {detail} are the only substitutions: a reference and a fixed label.
MESSAGES: dict[Kind, str] = {
    Kind.clock_near_breach: "Case {reference}: the {detail} target is close.",
    Kind.clock_breached: "Case {reference}: the {detail} target date has passed.",
    Kind.approval_needed: "Case {reference}: a decision is waiting for a second decision-maker.",
    Kind.extension_requested: "Case {reference}: a target date extension is waiting for a "
                              "supervisor.",
    Kind.partner_invited: "Case {reference}: you are invited to give your agency's view.",
    Kind.partner_view_recorded: "Case {reference}: a partner agency has recorded its view.",
    Kind.case_assigned: "Case {reference} is now yours.",
    Kind.team_near_breach: "{detail} case(s) in your team reached a target's near-breach point.",
}


def message(kind: Kind, reference: str, detail: str = "") -> str:
    return MESSAGES[kind].format(reference=reference, detail=detail)


def dedupe_key(kind: Kind, case_id: int | None, occasion: str, user_id: int) -> str:
    return f"{kind.value}:{case_id or 0}:{occasion}:{user_id}"


def insert_ignoring_repeats(session: Session) -> Insert:
    """An INSERT into notifications that skips rows whose dedupe key is already stored."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(_notifications).on_conflict_do_nothing(index_elements=["dedupe_key"])


def notify(
    session: Session,
    *,
    user_ids: Iterable[int],
    kind: Kind,
    case: Case | None,
    occasion: str,
    now: datetime,
    detail: str = "",
    email: bool | None = None,
) -> None:
    """Notify each person once per (kind, case, occasion). ``occasion`` names what happened
    (a step's audit entry number, a clock and its target date), so a new occasion notifies
    again and a repeat of the same one does not. ``email``: also queue an e-mail; None (the
    default) means "if this app sends e-mail" (``mail.enabled``), so callers need not ask."""
    if email is None:
        email = mail.enabled_for_current_app()
    reference = case.reference if case is not None else ""
    rows = [
        {
            "user_id": user_id,
            "case_id": case.id if case is not None else None,
            "case_reference": reference or None,
            "kind": kind.value,
            "message": message(kind, reference, detail),
            "created_at": now,
            "dedupe_key": dedupe_key(kind, case.id if case else None, occasion, user_id),
            "email_state": "pending" if email else "none",
        }
        for user_id in sorted(set(user_ids))
        if user_id is not None
    ]
    if rows:
        session.execute(insert_ignoring_repeats(session), rows)
