"""The security event log (SECURITY.md SEC-32): one row per event, ids and codes only.

``record`` is deliberately forgiving: it runs in its own short transaction (usually from an
error handler, after the request's own work was rolled back) and a failure to record is
written to the application log instead of turning a 403 into a 500. Adding a kind (MFA failure,
lockout, session revoked when multi-factor sign-in arrives) is one ``Kind`` member and one call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from disclosure_app.audit.canonical import canonical_json, sha256_hex
from disclosure_app.db import transaction
from disclosure_app.models import SecurityEvent

# Not "disclosure_app.security": that logger carries one JSON line per event (security_log.py)
# for protective monitoring; this one only notes what the store wrote.
log = logging.getLogger("disclosure_app.security_store")


class Kind(StrEnum):
    login_succeeded = "login_succeeded"
    login_failed = "login_failed"
    logout = "logout"
    authorisation_denied = "authorisation_denied"
    csrf_failed = "csrf_failed"
    mfa_failed = "mfa_failed"
    lockout = "lockout"
    session_revoked = "session_revoked"
    session_expired = "session_expired"
    mfa_enrolled = "mfa_enrolled"
    account_changed = "account_changed"
    step_up_failed = "step_up_failed"
    rate_limited = "rate_limited"
    suspicious_request = "suspicious_request"
    misuse_alert = "misuse_alert"


LABELS = {
    Kind.login_succeeded: "Signed in",
    Kind.login_failed: "Sign-in failed",
    Kind.logout: "Signed out",
    Kind.authorisation_denied: "Authorisation denied",
    Kind.csrf_failed: "Form rejected (CSRF check failed)",
    Kind.mfa_failed: "Second factor failed",
    Kind.lockout: "Account locked",
    Kind.session_revoked: "Session revoked",
    Kind.session_expired: "Session expired",
    Kind.mfa_enrolled: "Authenticator set up",
    Kind.account_changed: "Account changed",
    Kind.step_up_failed: "Step-up refused",
    Kind.rate_limited: "Rate limit reached",
    Kind.suspicious_request: "Suspicious request refused",
    Kind.misuse_alert: "Misuse alert",
}

# Detail keys that may hold a secret are refused outright, whatever the caller passes.
FORBIDDEN_KEYS = frozenset({"password", "code", "totp", "token", "cookie", "csrf_token",
                            "session", "secret", "reset_token"})


def identifier_hash(text: str) -> str:
    """What someone typed as their email address, as a hash: lets the console group repeated
    failures for one identifier without storing what may be a mistyped password."""
    return sha256_hex(text.strip().lower())


def _clean(value: Any) -> Any:
    """Printable, bounded text: CR, LF and other control characters are escaped, so a hostile
    value cannot forge a second log line (SEC-32)."""
    if isinstance(value, str):
        escaped = value.encode("unicode_escape").decode("ascii")
        return escaped[:200]
    return value


@dataclass(frozen=True)
class RequestInfo:
    client_ip: str = ""
    method: str = ""
    endpoint: str = ""


def record(session: Session, kind: Kind, *, now: datetime, user_id: int | None = None,
           request: RequestInfo = RequestInfo(), details: dict[str, Any] | None = None) -> None:
    details = {k: _clean(v) for k, v in (details or {}).items()}
    leaked = FORBIDDEN_KEYS & set(details)
    if leaked:
        raise ValueError(f"security events never hold {sorted(leaked)}")
    row = SecurityEvent(
        occurred_at=now, kind=str(kind), user_id=user_id, client_ip=_clean(request.client_ip)[:45],
        method=request.method[:8], endpoint=_clean(request.endpoint)[:100],
        details=canonical_json(details))
    log.info("security event %s user=%s ip=%s %s %s %s", kind, user_id, row.client_ip,
             row.method, row.endpoint, row.details)
    try:
        if session.in_transaction():
            session.rollback()
        with transaction(session):
            session.add(row)
    except Exception as exc:  # noqa: BLE001 - recording must never break the response
        # (read-only reconciliation mode, a locked database: the line above is the record)
        session.rollback()
        if not isinstance(exc, SQLAlchemyError):
            log.warning("security event %s not stored: %s", kind, type(exc).__name__)


def recent(session: Session, *, since: datetime, until: datetime, kind: str | None = None,
           user_id: int | None = None, limit: int = 500) -> list[SecurityEvent]:
    query = select(SecurityEvent).where(SecurityEvent.occurred_at >= since,
                                        SecurityEvent.occurred_at < until)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    if user_id is not None:
        query = query.where(SecurityEvent.user_id == user_id)
    return list(session.scalars(query.order_by(SecurityEvent.occurred_at.desc(),
                                               SecurityEvent.id.desc()).limit(limit)))


def count(session: Session, kind: Kind, *, user_id: int, since: datetime) -> int:
    return int(session.scalar(
        select(func.count()).select_from(SecurityEvent).where(
            SecurityEvent.user_id == user_id, SecurityEvent.kind == str(kind),
            SecurityEvent.occurred_at >= since)) or 0)
