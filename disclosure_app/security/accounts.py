"""Staff accounts: creation, sign-in checks and deactivation. Passwords are Argon2id hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.core.errors import InputInvalid, NotFound, ServiceError
from disclosure_app.db import transaction
from disclosure_app.models import MfaResetRequest, User
from disclosure_app.security import passwords
from disclosure_app.security.mfa import SecretCipher
from workflows.roles import Actor, Agency, Rank, Role

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH

_hasher = PasswordHasher()
# Unknown e-mail addresses still pay for one verify, so timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def configure_hasher(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the Argon2id profile for new hashes (stored hashes with other parameters are
    replaced at their owner's next sign-in). Production keeps argon2-cffi's RFC 9106 default
    (t=3, 64 MiB, p=4); never go below OWASP's minimum (t=2, 19 MiB, p=1) outside tests."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
    )
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_dummy(password: str) -> None:
    """The cost of one verify, for accounts that do not exist or may not sign in."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class NewUser:
    email: str
    full_name: str
    role: Role
    rank: Rank | None = None
    agency: Agency | None = None


def _validate(new: NewUser, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if "@" not in new.email or len(new.email) > 254:
        errors["email"] = "Enter an email address in the correct format"
    if not new.full_name.strip() or len(new.full_name) > 100:
        errors["full_name"] = "Enter a full name of 100 characters or fewer"
    if new.role in (Role.case_officer, Role.decision_maker) and new.rank is None:
        errors["rank"] = "Select the officer's rank"
    if new.role is Role.partner and new.agency is None:
        errors["agency"] = "Select the partner's agency"
    if new.role is Role.applicant:
        errors["role"] = "Applicants do not have accounts"
    problem = passwords.problem(password, context=(new.email, new.full_name))
    if problem:
        errors["password"] = problem
    return errors


def create_user(
    session: Session,
    new: NewUser,
    password: str,
    *,
    by: Actor | SystemActor,
    now: datetime,
    must_change_password: bool = True,
) -> User:
    """A new account. Its password was issued by someone else (an administrator, a command), so
    by default it must be changed at first sign-in, after the second factor is enrolled."""
    errors = _validate(new, password)
    if errors:
        raise InputInvalid(errors)
    email = new.email.strip().lower()
    with transaction(session):
        if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
            raise InputInvalid({"email": "An account with this email address already exists"})
        user = User(
            email=email,
            full_name=new.full_name.strip(),
            role=new.role,
            rank=new.rank if new.role in (Role.case_officer, Role.decision_maker) else None,
            agency=new.agency if new.role is Role.partner else None,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
            created_at=now,
        )
        session.add(user)
        session.flush()
        audit.append(
            session,
            now=now,
            actor=by,
            action="user_created",
            category=Category.collection,
            details={"user_id": user.id, "role": str(user.role)},
        )
    return user


def load_session_user(session: Session, session_id: str) -> User | None:
    """Flask-Login's loader: the id carries the session version, so bumping it logs out."""
    user_id, _, version = session_id.partition(":")
    try:
        user = session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def end_sessions(session: Session, user_id: int, *, now: datetime) -> None:
    """Sign the user out everywhere: every existing session cookie stops working."""
    with transaction(session):
        user = session.get(User, user_id)
        if user is not None:
            user.session_version += 1


def set_active(session: Session, user_id: int, active: bool, *, by: User, now: datetime) -> User:
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound()
        if user.id == by.id and not active:
            raise InputInvalid({"active": "You cannot deactivate your own account"})
        user.active = active
        user.session_version += 1
        audit.append(
            session,
            now=now,
            actor=by.as_actor(),
            action="user_activated" if active else "user_deactivated",
            category=Category.alteration,
            details={"user_id": user.id},
        )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.full_name)))


def partner_users(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.partner, User.active.is_(True))
            .order_by(User.agency, User.full_name)
        )
    )


# --- Second factor: provisioning, and resets that need two administrators (SEC-07, SEC-08) --


def provision_mfa(session: Session, user_id: int, secret: str, *, cipher: SecretCipher,
                  by: SystemActor, now: datetime) -> None:
    """Give an account a known authenticator secret. For seeded demo accounts and test
    fixtures only, as part of making the account (whose creation is in the log already): real
    accounts enrol their own at first sign-in (``services.sign_in``), which is logged."""
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound()
        user.totp_secret_encrypted = cipher.encrypt(secret)
        user.totp_pending_encrypted = None
        user.totp_last_step = None
        user.mfa_enrolled_at = now


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def create_first_admin(session: Session, email: str, full_name: str, *, now: datetime
                       ) -> tuple[User, str]:
    """The bootstrap account (no default accounts exist): refused once any account exists.
    Returns the account and its one-time password, which must be changed at first sign-in
    after enrolling the second factor."""
    if count_users(session):
        session.rollback()
        raise InputInvalid({"email": "Accounts already exist: administrators create new ones "
                                     "from the Staff accounts page"})
    password = generate_password()
    user = create_user(session, NewUser(email, full_name, Role.admin), password,
                       by=SystemActor(name="create-first-admin command"), now=now,
                       must_change_password=True)
    return user, password


def open_mfa_resets(session: Session) -> list[MfaResetRequest]:
    return list(session.scalars(select(MfaResetRequest)
                                .where(MfaResetRequest.approved_at.is_(None))
                                .order_by(MfaResetRequest.id)))


def request_mfa_reset(session: Session, user_id: int, reason: str, *, by: User,
                      now: datetime) -> MfaResetRequest:
    """Admin A asks for a lost authenticator to be reset. Nothing changes until another
    administrator approves."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InputInvalid({"reason": "Give the reason in 500 characters or fewer"})
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotFound()
        request = MfaResetRequest(user_id=user.id, requested_by_id=by.id, requested_at=now,
                                  reason=reason)
        session.add(request)
        session.flush()
        audit.append(session, now=now, actor=by.as_actor(), action="mfa_reset_requested",
                     category=Category.alteration,
                     details={"user_id": user.id, "request_id": request.id})
    return request


class SecondApproverRequired(ServiceError):
    """The administrator who asked for a reset may not approve it."""


def approve_mfa_reset(session: Session, request_id: int, *, by: User, now: datetime) -> User:
    """Admin B approves: the authenticator is removed, every session of that person ends, and
    at their next sign-in (password first) they enrol a new one."""
    with transaction(session):
        request = session.get(MfaResetRequest, request_id)
        if request is None or request.approved_at is not None:
            raise NotFound()
        if request.requested_by_id == by.id or request.user_id == by.id:
            raise SecondApproverRequired("A second administrator must approve this reset.")
        user = session.get(User, request.user_id)
        assert user is not None
        request.approved_by_id = by.id
        request.approved_at = now
        user.totp_secret_encrypted = None
        user.totp_pending_encrypted = None
        user.totp_last_step = None
        user.mfa_enrolled_at = None
        user.mfa_challenge_hash = None
        user.session_version += 1
        audit.append(session, now=now, actor=by.as_actor(), action="mfa_reset_approved",
                     category=Category.alteration,
                     details={"user_id": user.id, "request_id": request.id})
    return user
