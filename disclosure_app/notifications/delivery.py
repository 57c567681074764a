"""Sending the e-mails that notifications queued: ``deliver_pending``, which
``flask --app disclosure_app notifications send`` runs (every minute, say, from any host).

``Notification.email_state`` moves through these values (each fits its 10 characters):

=============  =====================================================  ======================
state          meaning                                                ``emailed_at``
=============  =====================================================  ======================
``none``       no e-mail: not wanted, e-mail off, or the account was  unset
               deactivated before it went
``pending``    queued, not tried yet                                  unset
``sendingN``   claimed by a run for its Nth try (N = 1 … 3)           when claimed
``retryN``     N tries failed; the next run tries again               when claimed last
``sent``       handed to the mail server (or written to the outbox)   the run's time
``failed``     ``MAX_ATTEMPTS`` tries failed: given up. The           when claimed last
               notification is still shown in the app.
=============  =====================================================  ======================

The try number lives in the state because the table has no attempts column; a run that stops
early (the server cannot be reached) hands its unsent rows back without counting a try.

**Two hosts at once.** A run claims a batch before sending it: ``UPDATE … SET email_state =
'sendingN' WHERE id IN (…) AND email_state IN ('pending', 'retry1', 'retry2') RETURNING id``,
committed, and it sends only the rows its own UPDATE returned. PostgreSQL re-checks the WHERE of
a row another transaction has just changed (so the second claimer gets nothing back), and SQLite
admits one writer at a time, so no row is claimed twice: no ``SKIP LOCKED`` needed (SQLite has
none). ``RETURNING`` needs SQLite 3.35 or later. Nothing is held open while a message is sent.

**A run that dies** between claiming and recording leaves ``sendingN`` rows; once older than
``CLAIM_TIMEOUT`` the next run counts them as a failed try. The message may have gone, so a
recipient may, rarely, get it twice: at least once, never silently lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from disclosure_app.db import transaction
from disclosure_app.models import Notification, User
from disclosure_app.notifications.mail import Mailer, MailerUnavailable, OutgoingMail

log = logging.getLogger(__name__)
_notifications = Notification.__table__

# Three tries, one per run: a refused address or a message the server will not take is
# usually permanent, and a server that is down stops the run without counting a try at all.
MAX_ATTEMPTS = 3
# One claim and one record per batch, each its own short transaction. A batch is sent within
# CLAIM_TIMEOUT even at MAIL_TIMEOUT_SECONDS (10) per message: 50 × 10 s < 15 min.
BATCH_SIZE = 50
CLAIM_TIMEOUT = timedelta(minutes=15)

PENDING, SENT, FAILED, NONE = "pending", "sent", "failed", "none"
WAITING = (PENDING, *(f"retry{n}" for n in range(1, MAX_ATTEMPTS)))


def sending(attempt: int) -> str:
    return f"sending{attempt}"


def waiting_before(attempt: int) -> str:
    """The state a claimed row had before its ``attempt``-th try."""
    return PENDING if attempt == 1 else f"retry{attempt - 1}"


def after_failure(attempt: int) -> str:
    return f"retry{attempt}" if attempt < MAX_ATTEMPTS else FAILED


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # tries that failed this run (tried again next run unless given up)
    gave_up: int = 0  # of those, the last allowed try: now "failed"
    skipped: int = 0  # the account was deactivated: no e-mail
    recovered: int = 0  # claims left by a run that died, counted as failed tries
    unavailable: str | None = None  # the server could not be reached: the run stopped

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unavailable is None

    def summary(self) -> str:
        text = (f"{self.sent} sent, {self.failed} failed ({self.gave_up} given up after "
                f"{MAX_ATTEMPTS} tries), {self.skipped} skipped (account deactivated).")
        if self.recovered:
            text += f" {self.recovered} left unfinished by an earlier run counted as failed tries."
        if self.unavailable:
            text += (f" The mail server could not be reached ({self.unavailable}): the rest "
                     "wait for the next run.")
        return text


@dataclass(frozen=True)
class _Claimed:
    attempt: int
    mail: OutgoingMail


@dataclass
class _Outcome:
    sent: list[_Claimed] = field(default_factory=list)
    failed: list[_Claimed] = field(default_factory=list)
    released: list[_Claimed] = field(default_factory=list)


def deliver_pending(session: Session, mailer: Mailer, *, now: datetime, limit: int = 200
                    ) -> DeliveryReport:
    """Send up to ``limit`` queued e-mails, oldest first, batch by batch. One message failing
    does not stop the others; a server that cannot be reached stops the run."""
    report = DeliveryReport()
    with transaction(session):
        report.recovered = _recover_stale(session, now)
    remaining = limit
    while remaining > 0 and report.unavailable is None:
        with transaction(session):
            claimed, batch = _claim(session, now, min(BATCH_SIZE, remaining), report)
        if claimed == 0:
            break
        remaining -= claimed
        outcome = _send(mailer, batch, report)
        with transaction(session):
            _record(session, outcome)
    return report


def _recover_stale(session: Session, now: datetime) -> int:
    cutoff = now - CLAIM_TIMEOUT
    recovered = 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = session.execute(
            update(_notifications)
            .where(_notifications.c.email_state == sending(attempt),
                   _notifications.c.emailed_at < cutoff)
            .values(email_state=after_failure(attempt)))
        recovered += result.rowcount  # type: ignore[attr-defined]
    return recovered


def _claim(session: Session, now: datetime, size: int, report: DeliveryReport
           ) -> tuple[int, list[_Claimed]]:
    """Claim up to ``size`` waiting rows; return how many this run claimed, and those to send
    (a deactivated account's are set to "none" instead)."""
    t = _notifications
    # A row this run has already tried (its claim time is this run's) waits for the next run.
    ids = session.scalars(
        select(t.c.id).where(t.c.email_state.in_(WAITING),
                             or_(t.c.emailed_at.is_(None), t.c.emailed_at < now))
        .order_by(t.c.id).limit(size)).all()
    attempts = claim_rows(session, list(ids), now) if ids else {}
    if not attempts:
        return 0, []
    details = session.execute(
        select(t.c.id, t.c.message, t.c.case_id, User.email, User.active)
        .join(User, User.id == t.c.user_id).where(t.c.id.in_(list(attempts)))
        .order_by(t.c.id)).all()
    inactive = [row.id for row in details if not row.active]
    if inactive:
        session.execute(update(t).where(t.c.id.in_(inactive)).values(email_state=NONE))
        report.skipped += len(inactive)
    batch = [_Claimed(attempts[row.id], OutgoingMail(row.id, row.email, row.message,
                                                     row.case_id, now))
             for row in details if row.active]
    return len(attempts), batch


def claim_rows(session: Session, ids: list[int], now: datetime) -> dict[int, int]:
    """Claim those of ``ids`` that are still waiting, in the caller's transaction; return the
    ones this call claimed, with the try each is for. Rows another run claimed first (even
    between its SELECT and this UPDATE) are not returned, so they are not sent twice."""
    t = _notifications
    next_state = case({state: sending(n) for n, state in enumerate(WAITING, 1)},
                      value=t.c.email_state)
    rows = session.execute(
        update(t).where(t.c.id.in_(ids), t.c.email_state.in_(WAITING))
        .values(email_state=next_state, emailed_at=now)
        .returning(t.c.id, t.c.email_state)).all()
    return {row.id: int(row.email_state.removeprefix("sending")) for row in rows}


def _send(mailer: Mailer, batch: list[_Claimed], report: DeliveryReport) -> _Outcome:
    outcome = _Outcome()
    for index, item in enumerate(batch):
        try:
            mailer.send(item.mail)
        except MailerUnavailable as exc:
            report.unavailable = str(exc)
            outcome.released = batch[index:]
            break
        except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the rest
            # The id and the error's class only: its text can quote the address.
            log.warning("notification %d: e-mail not sent (%s), try %d of %d",
                        item.mail.notification_id, type(exc).__name__, item.attempt,
                        MAX_ATTEMPTS)
            outcome.failed.append(item)
            report.failed += 1
            report.gave_up += after_failure(item.attempt) == FAILED
        else:
            outcome.sent.append(item)
            report.sent += 1
    return outcome


def _record(session: Session, outcome: _Outcome) -> None:
    """Each row moves on only from the exact state this run claimed it in, so a claim another
    run has since recovered is never overwritten. ``emailed_at`` already holds the claim time
    (``now``); a row handed back untried to "pending" has it cleared again."""
    moves: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in outcome.sent:
        moves[(sending(item.attempt), SENT)].append(item.mail.notification_id)
    for item in outcome.failed:
        moves[(sending(item.attempt), after_failure(item.attempt))].append(
            item.mail.notification_id)
    for item in outcome.released:  # not tried: back as it was, no try counted
        moves[(sending(item.attempt), waiting_before(item.attempt))].append(
            item.mail.notification_id)
    t = _notifications
    for (claimed, new_state), ids in moves.items():
        values: dict[str, object] = {"email_state": new_state}
        if new_state == PENDING:
            values["emailed_at"] = None
        session.execute(update(t).where(t.c.id.in_(ids), t.c.email_state == claimed)
                        .values(**values))
