"""Security events (SECURITY.md SEC-32): sign-in success and failure with the factor, wrong and
replayed codes, lockouts, sign-outs, revoked and expired sessions, authorisation denials,
refused transitions, rate-limit hits, honeypot hits and account changes.

Every event goes through ``_security_event``, the one place that decides where they are kept:
today one structured line on the ``disclosure_app.security`` logger. Values are JSON-encoded, so
CR, LF and other non-printable characters in (say) a typed email address are escaped and one
event is always one line. Callers never pass passwords, codes, secrets, cookies or tokens.

Misuse alerting (SEC-32a): authorisation denials are counted per person in the rate limiter's
shared storage; the ``MISUSE_DENIALS_ALERT``-th denial inside ten minutes raises one
``misuse_alert`` event at CRITICAL for protective monitoring to pick up.

Events worth keeping are also stored (``event_log``) with who and where from: ``log_event`` is
the one call that does it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_login import current_user
from limits.storage import Storage

from disclosure_app.core.clock import now
from disclosure_app.db import get_session
from disclosure_app.security import event_log as security_log
from disclosure_app.security.event_log import Kind

log = logging.getLogger("disclosure_app.security")
# Security events are always emitted (where they go is the deployment's logging configuration),
# even when the root logger only passes warnings.
log.setLevel(logging.INFO)

# Details that must never be written, whatever a caller passes by mistake.
_NEVER_LOGGED = frozenset({"password", "code", "secret", "token", "cookie", "csrf_token",
                           "totp", "challenge"})
ALERTS = frozenset({"misuse_alert", "account_locked", "totp_replay"})


# Which events are kept in the security event log (services.security_log), under which kind.
# The rest (a password accepted before its second factor, a passed step-up) are log lines only.
_STORED: dict[str, str] = {
    "sign_in": "login_succeeded",
    "sign_out": "logout",
    "totp_replay": "mfa_failed",
    "account_locked": "lockout",
    "authz_denied": "authorisation_denied",
    "csrf_failure": "csrf_failed",
    "session_revoked": "session_revoked",
    "session_expired": "session_expired",
    "mfa_enrolled": "mfa_enrolled",
    "account_created": "account_changed",
    "account_activated": "account_changed",
    "password_changed": "account_changed",  # nosec B105 - an event name, not a password
    "mfa_reset_requested": "account_changed",
    "mfa_reset_approved": "account_changed",
    "step_up_required": "step_up_failed",
    "rate_limited": "rate_limited",
    "honeypot": "suspicious_request",
    "hostile_input": "suspicious_request",
    "too_fast": "suspicious_request",
    "form_start_missing": "suspicious_request",
    "untrusted_host": "suspicious_request",
    "stale_edit": "suspicious_request",
    "sign_in_busy": "rate_limited",
    "misuse_alert": "misuse_alert",
}


# Stored kinds that stand for several events.
_GROUPS = frozenset({"account_changed", "suspicious_request", "rate_limited", "step_up_failed"})


def _stored_kind(kind: str, details: dict[str, Any]) -> str | None:
    if kind == "sign_in_failed":
        return "mfa_failed" if details.get("factor") == "totp" else "login_failed"
    return _STORED.get(kind)


def _security_event(kind: str, **details: Any) -> None:
    """Record one security event: one structured log line, and a row in the security event log
    (services.security_log) for the kinds an auditor reviews."""
    if "email" in details:
        # What was typed as an email address may be a password typed in the wrong box: only its
        # hash is kept, which still groups repeated failures for one identifier.
        details["identifier_sha256"] = security_log.identifier_hash(str(details.pop("email") or ""))
    _store(kind, details)
    record: dict[str, Any] = {"event": kind}
    if has_request_context():
        record["ip"] = request.remote_addr
        record["endpoint"] = request.endpoint
        record["request_id"] = g.get("request_id")
    for key, value in details.items():
        if key in _NEVER_LOGGED:
            continue
        record[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
    line = json.dumps(record, ensure_ascii=True, sort_keys=True)
    log.log(logging.CRITICAL if kind == "misuse_alert" else
            logging.WARNING if kind in ALERTS else logging.INFO, "security %s", line)


def _store(kind: str, details: dict[str, Any]) -> None:
    stored = _stored_kind(kind, details)
    if stored is None or not has_request_context():
        return

    # Stored as canonical JSON, which refuses floats (one value must always hash the same):
    # a measurement (a duration, say) is kept as its decimal text instead of losing the event.
    kept = {k: (repr(v) if isinstance(v, float) else v) for k, v in details.items()
            if k not in _NEVER_LOGGED and k != "user_id"}
    if stored in _GROUPS:
        kept["event"] = kind  # which of the grouped events it was
    if stored == "authorisation_denied":
        kept["path"] = request.path[:200]
    try:
        log_event(Kind(stored), user_id=details.get("user_id"), **kept)
    except Exception:  # noqa: BLE001 - recording must never turn a response into a failure
        log.exception("could not store security event %s", kind)


def authorisation_denied(user_id: int | None, **details: Any) -> None:
    """An authorisation denial, counted towards the misuse alert for that person."""
    _security_event("authz_denied", user_id=user_id, **details)
    if user_id is None:
        return
    threshold = int(current_app.config.get("MISUSE_DENIALS_ALERT", 21))
    try:
        count = count_event(f"denials:{user_id}", window_seconds=600)
    except Exception:  # noqa: BLE001 - counting must never turn a refusal into a failure
        log.exception("could not count an authorisation denial")
        return
    if count == threshold:
        _security_event("misuse_alert", user_id=user_id, pattern="authorisation denials",
                        threshold=threshold, window_minutes=10)


def count_event(key: str, *, window_seconds: int) -> int:
    """Count one occurrence of ``key`` in a fixed window shared by every process (for alerts).
    Counts even when request limits are switched off. The storage is made by
    ``rate_limits.init_app``."""
    storage: Storage = current_app.extensions["event_counter"]
    return storage.incr(f"event/{key}", window_seconds)


def _request_info() -> security_log.RequestInfo:
    # remote_addr is the proxy's view of the client (ProxyFix, if deployed, sets it).
    return security_log.RequestInfo(client_ip=request.remote_addr or "",
                                    method=request.method, endpoint=request.endpoint or "")


def current_user_id() -> int | None:
    try:
        return current_user.id if current_user.is_authenticated else None
    except Exception:  # noqa: BLE001 - the user may be what could not be loaded
        return None


def log_event(kind: Kind, *, user_id: int | None = None, **details: Any) -> None:
    security_log.record(get_session(), kind, now=now(),
                        user_id=user_id if user_id is not None else current_user_id(),
                        request=_request_info(), details=details)


def init_app(app: Flask) -> None:
    """Authorisation denials are logged wherever they arise: the deny-by-default check, a
    workflow refusal, a view's own abort(403), an out-of-scope case (the error handlers call
    ``security_log.authorisation_denied``, which stores them here)."""
