"""Idempotent submissions (SECURITY.md R-3): a form sent twice changes things once.

Each form that changes something carries a one-time key, made when the form is rendered
(``new_key``). The service calls ``claim`` inside its transaction, before any other write: the key
is inserted under a UNIQUE constraint and flushed at once, so it commits with the change or not
at all. A second request with the same key cannot insert it: on SQLite it waits for the write
lock and then finds the key; on PostgreSQL its INSERT waits for the first transaction and fails
when that one commits. The service then rolls back, having done nothing, and raises
``AlreadySubmitted`` describing the first request's result, which the view shows again.

Services take the key as optional: the views always send one, while seeding and the CLI, which
cannot double-submit, send none.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from disclosure_app.core.errors import InputInvalid, ServiceError
from disclosure_app.models import SubmissionKey


class Purpose(StrEnum):
    apply = "apply"
    right_to_know = "right_to_know"
    step = "step"
    withdraw = "withdraw"
    dip_draw = "dip_draw"
    dip_review = "dip_review"
    risk_check = "risk_check"  # the checklist, identity decisions and case links (issue 5)


KEY_FIELD = "submission_key"
KEY_PROBLEM = (
    "This form could not be sent because part of it was missing or changed. "
    "Nothing was saved. Check your answers and send the form again."
)
KEY_MISUSED = (
    "This form has already been used for something else, so nothing was saved. "
    "Go back to the start of the task and fill in a new form."
)
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{32,64}")


def new_key() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def is_well_formed(key: object) -> bool:
    return isinstance(key, str) and _WELL_FORMED.fullmatch(key) is not None


class AlreadySubmitted(ServiceError):
    """This form was sent before and its change is already saved: nothing was done this time."""

    def __init__(self, original: SubmissionKey, reference: str) -> None:
        super().__init__("This form has already been sent. Nothing was saved a second time.")
        self.purpose = Purpose(original.purpose)
        self.case_id = original.case_id
        self.event = original.event
        self.reference = reference
        self.submitted_at = original.created_at


class KeyUsed(Exception):  # noqa: N818  (an internal signal, never shown)
    """Raised by ``claim`` inside the transaction; once it has rolled back, the service raises
    ``replayed(session, used)`` instead."""

    def __init__(self, key: str, purpose: Purpose, case_id: int | None, event: str | None,
                 user_id: int | None) -> None:
        super().__init__(purpose)
        self.key = key
        self.purpose = purpose
        self.case_id = case_id
        self.event = event
        self.user_id = user_id


def claim(
    session: Session,
    key: str | None,
    purpose: Purpose,
    *,
    now: datetime,
    case_id: int | None = None,
    event: str | None = None,
    user_id: int | None = None,
) -> SubmissionKey | None:
    """Record ``key`` in the caller's transaction, before anything else is written.

    Raises ``KeyUsed`` if it is already recorded (or being recorded by a concurrent request that
    then commits) and ``InputInvalid`` if it is not a key this service could have made.
    ``None`` (seeding, CLI) records nothing."""
    if key is None:
        return None
    if not is_well_formed(key):
        raise InputInvalid({KEY_FIELD: KEY_PROBLEM})
    row = SubmissionKey(key=key, purpose=str(purpose), case_id=case_id, event=event,
                        user_id=user_id, created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyUsed(key, purpose, case_id, event, user_id) from exc
    return row


def replayed(session: Session, used: KeyUsed) -> ServiceError:
    """What to raise after ``KeyUsed`` (and the rollback): the first request's result."""
    found = earlier(session, used.key, used.purpose, case_id=used.case_id, event=used.event,
                    user_id=used.user_id)
    if found is None:  # the constraint that failed was not the key's: cannot happen, but say so
        raise RuntimeError("a submission key clashed but no earlier submission was found")
    return found


def earlier(
    session: Session,
    key: object,
    purpose: Purpose,
    *,
    case_id: int | None = None,
    event: str | None = None,
    user_id: int | None = None,
) -> AlreadySubmitted | None:
    """The earlier submission with this key, if there is one, as the exception that describes
    its result. Views ask first, so that a repeat is answered even if the form would no longer
    validate (the earlier submission changed what the form offers); ``claim`` is the real guard.

    A key recorded for a different purpose, case, step or person is refused (400): it was not
    issued for this form, and must neither suppress this change nor reveal the other one."""
    if not is_well_formed(key):
        return None
    row = session.scalars(select(SubmissionKey).where(SubmissionKey.key == key)).first()
    if row is None:
        return None
    expected = (str(purpose), event, user_id)
    if (row.purpose, row.event, row.user_id) != expected or (
        case_id is not None and row.case_id != case_id
    ):
        raise InputInvalid({KEY_FIELD: KEY_MISUSED})
    reference = row.case.reference if row.case is not None else ""
    return AlreadySubmitted(row, reference)
