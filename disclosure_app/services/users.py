"""Staff accounts: creation, sign-in checks and deactivation. Passwords are Argon2id hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.db import transaction
from disclosure_app.models import User
from disclosure_app.services import audit
from disclosure_app.services.audit import Category, SystemActor
from disclosure_app.services.errors import InputInvalid, NotFound
from workflows.roles import Actor, Agency, Rank, Role

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# Unknown e-mail addresses still pay for one verify, so timing does not reveal which exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def configure_hasher(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Tests use a cheap profile; production keeps argon2-cffi's RFC 9106 default."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
    )
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


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
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
    return errors


def create_user(
    session: Session,
    new: NewUser,
    password: str,
    *,
    by: Actor | SystemActor,
    now: datetime,
) -> User:
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


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Same work whether or not they exist."""
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
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
