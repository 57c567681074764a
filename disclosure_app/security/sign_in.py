"""Staff sign-in, one step at a time: password, then the second factor (or enrolling one at
first sign-in), then a new password if the one in use was issued by someone else.

Passwords (SEC-03, SEC-05, SEC-06):
- The Argon2id verify runs outside any database transaction (it is slow; on SQLite a write
  transaction would hold the lock meanwhile). Unknown email addresses, locked and deactivated
  accounts all pay for one verify (a dummy hash where needed) and get the same refusal.
- Five failures within ``window`` lock the account for ``lock`` (15 minutes), doubling for each
  lock in a row up to four times that, so a lock is always temporary: nobody can keep a
  decision-maker out indefinitely, and an account sees at most 20 guesses an hour. The
  person is told at their next sign-in.
- A stored hash made with older parameters is replaced at the next successful sign-in.

Second factor (SEC-01, SEC-02): a correct password starts a challenge: a random value whose
SHA-256 is stored on the account and whose clear value travels in the signed session cookie.
Only the newest challenge, less than ``challenge_ttl`` old and with fewer than five wrong codes,
may be completed; the fifth wrong code ends it (back to the password). Each accepted code's
time-step is stored and only later steps are accepted afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import transaction
from disclosure_app.models import User
from disclosure_app.security import accounts as users
from disclosure_app.security import mfa, passwords
from disclosure_app.security.mfa import SecretCipher

MAX_CODE_FAILURES = 5


@dataclass(frozen=True)
class LockoutPolicy:
    failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)
    max_doublings: int = 2
    challenge_ttl: timedelta = timedelta(minutes=5)


class Outcome(StrEnum):
    ok = "ok"
    refused = "refused"  # wrong password, unknown address, locked or deactivated: one answer
    wrong_code = "wrong_code"
    replayed_code = "replayed_code"
    restart = "restart"  # the challenge is over: start again from the password


@dataclass(frozen=True)
class PasswordResult:
    outcome: Outcome
    user_id: int | None = None
    challenge: str | None = None
    reason: str = ""  # for the security log only, never shown
    locked_now: bool = False


@dataclass(frozen=True)
class CodeResult:
    outcome: Outcome
    user: User | None = None
    lock_notice: datetime | None = None
    locked_now: bool = False


# A cap on concurrent hashing (``disclosure_app.security.hash_slots.hash_slot`` in the app): entered
# around the Argon2 work only, never around a database transaction, so that a request waiting
# for a database lock never holds a hashing slot that other sign-ins are queueing for.
HashSlot = Callable[[], AbstractContextManager[None]]


def _digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode("ascii")).hexdigest()


def check_password(session: Session, email: str, password: str, *, now: datetime,
                   policy: LockoutPolicy, slot: HashSlot = nullcontext) -> PasswordResult:
    address = email.strip().lower()
    user = session.scalars(select(User).where(User.email == address)).first()
    found = None if user is None else (user.id, user.password_hash, user.active,
                                       user.locked_until)
    session.commit()  # end the read: the slow verify below must not hold a transaction open
    if found is None or (found[3] is not None and found[3] > now):
        with slot():
            users.verify_dummy(password)  # the same work as a real check: timing reveals nothing
        return PasswordResult(Outcome.refused, reason="unknown" if found is None else "locked",
                              user_id=None if found is None else found[0])
    user_id, stored, active, _ = found
    with slot():
        correct = users.verify_password(stored, password)
        new_hash = (users.hash_password(password) if correct and users.needs_rehash(stored)
                    else None)
    if not correct:
        locked_now = _record_failure(session, user_id, now=now, policy=policy)
        return PasswordResult(Outcome.refused, user_id=user_id, reason="wrong_password",
                              locked_now=locked_now)
    if not active:
        return PasswordResult(Outcome.refused, user_id=user_id, reason="inactive")
    challenge = secrets.token_urlsafe(32)
    with transaction(session):
        row = _locked_row(session, user_id)
        if new_hash is not None:
            row.password_hash = new_hash
        row.failed_logins = 0
        row.failure_window_at = None
        row.mfa_challenge_hash = _digest(challenge)
        row.mfa_challenge_at = now
        row.mfa_failures = 0
    return PasswordResult(Outcome.ok, user_id=user_id, challenge=challenge)


def _locked_row(session: Session, user_id: int) -> User:
    return session.scalars(select(User).where(User.id == user_id).with_for_update()).one()


def _record_failure(session: Session, user_id: int, *, now: datetime,
                    policy: LockoutPolicy) -> bool:
    """Count one failure (a wrong password or code); True if it locked the account."""
    with transaction(session):
        row = _locked_row(session, user_id)
        if row.failure_window_at is None or now - row.failure_window_at > policy.window:
            row.failure_window_at = now
            row.failed_logins = 0
        row.failed_logins += 1
        if row.failed_logins < policy.failures:
            return False
        row.locked_until = now + policy.lock * (2 ** min(row.lockouts, policy.max_doublings))
        row.lockouts += 1
        row.failed_logins = 0
        row.failure_window_at = None
        row.lock_notice_at = now
        row.mfa_challenge_hash = None
        return True


def _challenge_row(session: Session, user_id: int, challenge: str, now: datetime,
                   policy: LockoutPolicy) -> User | None:
    row = session.scalars(select(User).where(User.id == user_id).with_for_update()).first()
    if (row is None or not row.active or row.mfa_challenge_hash is None
            or row.mfa_challenge_at is None or now - row.mfa_challenge_at > policy.challenge_ttl
            or not hmac.compare_digest(row.mfa_challenge_hash, _digest(challenge))
            or (row.locked_until is not None and row.locked_until > now)):
        return None
    return row


def check_code(session: Session, user_id: int, challenge: str, code: str, *, now: datetime,
               cipher: SecretCipher, policy: LockoutPolicy) -> CodeResult:
    """The second step of sign-in for an enrolled account."""
    locked_now = False
    with transaction(session):
        row = _challenge_row(session, user_id, challenge, now, policy)
        if row is None or row.totp_secret_encrypted is None:
            return CodeResult(Outcome.restart)
        step = mfa.matching_step(cipher.decrypt(row.totp_secret_encrypted), code, now)
        if step is not None and step > (row.totp_last_step if row.totp_last_step is not None
                                        else -1):
            row.totp_last_step = step
            return _complete(row, now)
        row.mfa_failures += 1
        outcome = Outcome.replayed_code if step is not None else Outcome.wrong_code
        if row.mfa_failures >= MAX_CODE_FAILURES:
            row.mfa_challenge_hash = None
            outcome = Outcome.restart
    locked_now = _record_failure(session, user_id, now=now, policy=policy)
    return CodeResult(outcome, locked_now=locked_now)


def _complete(row: User, now: datetime) -> CodeResult:
    notice = row.lock_notice_at
    row.mfa_challenge_hash = None
    row.mfa_failures = 0
    row.failed_logins = 0
    row.lockouts = 0
    row.lock_notice_at = None
    return CodeResult(Outcome.ok, user=row, lock_notice=notice)


def pending_secret(session: Session, user_id: int, challenge: str, *, now: datetime,
                   cipher: SecretCipher, policy: LockoutPolicy) -> str | None:
    """The secret being enrolled in this sign-in (made on first call); None if the challenge
    is over or the account already has a second factor."""
    with transaction(session):
        row = _challenge_row(session, user_id, challenge, now, policy)
        if row is None or row.totp_secret_encrypted is not None:
            return None
        if row.totp_pending_encrypted is None:
            row.totp_pending_encrypted = cipher.encrypt(mfa.new_secret())
        return cipher.decrypt(row.totp_pending_encrypted)


def confirm_enrolment(session: Session, user_id: int, challenge: str, code: str, *,
                      now: datetime, cipher: SecretCipher, policy: LockoutPolicy) -> CodeResult:
    """First sign-in: the first code from the new authenticator proves it is set up."""
    with transaction(session):
        row = _challenge_row(session, user_id, challenge, now, policy)
        if row is None or row.totp_pending_encrypted is None or row.totp_secret_encrypted:
            return CodeResult(Outcome.restart)
        step = mfa.matching_step(cipher.decrypt(row.totp_pending_encrypted), code, now)
        if step is not None:
            row.totp_secret_encrypted = row.totp_pending_encrypted
            row.totp_pending_encrypted = None
            row.totp_last_step = step
            row.mfa_enrolled_at = now
            row.session_version += 1  # a second factor changed: every older session ends
            audit.append(session, now=now, actor=row.as_actor(), action="mfa_enrolled",
                         category=Category.alteration, details={"user_id": row.id})
            return _complete(row, now)
        row.mfa_failures += 1
        outcome = Outcome.wrong_code
        if row.mfa_failures >= MAX_CODE_FAILURES:
            row.mfa_challenge_hash = None
            outcome = Outcome.restart
    return CodeResult(outcome)


def confirm_identity(session: Session, user_id: int, code: str, *, now: datetime,
                     cipher: SecretCipher, policy: LockoutPolicy) -> Outcome:
    """Step-up: a fresh code from a signed-in person before a sensitive action (SEC-13)."""
    with transaction(session):
        row = _locked_row(session, user_id)
        if row.totp_secret_encrypted is None or (row.locked_until and row.locked_until > now):
            return Outcome.restart
        step = mfa.matching_step(cipher.decrypt(row.totp_secret_encrypted), code, now)
        last = row.totp_last_step if row.totp_last_step is not None else -1
        if step is not None and step > last:
            row.totp_last_step = step
            return Outcome.ok
    _record_failure(session, user_id, now=now, policy=policy)
    return Outcome.replayed_code if step is not None else Outcome.wrong_code


def change_password(session: Session, user_id: int, new_password: str, *, now: datetime,
                    current_password: str | None, context: tuple[str, ...],
                    slot: HashSlot = nullcontext) -> User:
    """Set a new password (bumps the session version: every other session ends, SEC-09).
    ``current_password`` is required unless the sign-in that just completed proved it."""
    user = session.get(User, user_id)
    if user is None:
        raise InputInvalid({"password": "Sign in again"})  # nosec B105 # a message
    stored, email, name = user.password_hash, user.email, user.full_name
    session.commit()  # end the read before the slow hash checks
    with slot():
        if current_password is not None and not users.verify_password(stored, current_password):
            raise InputInvalid({"current_password":
                                "Your current password is not correct"})  # nosec B105 # a message
        problem = passwords.problem(new_password, context=(*context, email, name))
        if problem is None and users.verify_password(stored, new_password):
            problem = "Choose a password different from the one you have now"
        if problem:
            raise InputInvalid({"password": problem})
        new_hash = users.hash_password(new_password)
    with transaction(session):
        row = _locked_row(session, user_id)
        row.password_hash = new_hash
        row.must_change_password = False
        row.password_changed_at = now
        row.session_version += 1
        audit.append(session, now=now, actor=row.as_actor(), action="password_changed",
                     category=Category.alteration, details={"user_id": row.id})
    return row
