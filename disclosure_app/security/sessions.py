"""Staff sessions (SECURITY.md SEC-09 … SEC-13).

The session is Flask's signed cookie; what makes it revocable is the per-user session version
inside the Flask-Login id (``User.get_id``), checked against the database on every request:
sign-out, a password change, a second-factor change and deactivation all bump it.

On top of that, kept in the signed cookie (the client can read but not alter it):
- ``sid``: a random id made at sign-in and remade after every step-up, so the cookie after
  either is new (no fixation);
- ``auth_at``: sign-in time. After ``STAFF_ABSOLUTE_HOURS`` (12) the session ends whatever;
- ``seen_at``: last request. After ``STAFF_IDLE_MINUTES`` (15) without one the session ends;
- ``step_up_at``: last time the person re-entered a code. Sensitive actions (deciding or
  approving a decision, generating a document, exporting, changing accounts) need one within
  ``STEP_UP_MINUTES`` (5). Flask-Login's "fresh" flag cannot do this: it only tells a real
  sign-in from a remember-me cookie, and this app never sets one.
Times come from ``core.clock.now()``, so tests can move the clock.

The cookie is a browser-session cookie (no Expires or Max-Age): nothing outlives the browser on
disk for the 12 hours the signed cookie stays valid, and the timeouts above are enforced here,
on the server, whatever the browser keeps. ``PERMANENT_SESSION_LIFETIME`` (12 hours) still
bounds the age of the cookie's signature when it is read back.

A session cookie that fails its signature check (altered, or signed with another deployment's
key) is treated as no session, removed from the browser, and logged once as a security event
(``hostile_input``; nothing of the cookie itself is logged).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired

from disclosure_app.core.clock import now
from disclosure_app.db import release_read_transaction
from disclosure_app.models import User
from disclosure_app.security.events import _security_event
from disclosure_app.security.sign_in import LockoutPolicy

F = TypeVar("F", bound=Callable[..., Any])

PENDING = "pending_sign_in"
PENDING_MAX_SECONDS = 600


def _stamp(moment: datetime) -> float:
    return moment.timestamp()


def start(user: User) -> None:
    """Sign ``user`` in on a brand-new session (called only after every factor is checked)."""
    moment = _stamp(now())
    session.clear()
    login_user(user, remember=False)
    session.permanent = False  # a browser-session cookie; the timeouts are checked server-side
    session["sid"] = secrets.token_urlsafe(16)
    session["auth_at"] = moment
    session["seen_at"] = moment
    session["step_up_at"] = moment


def end() -> None:
    logout_user()
    session.clear()


def stepped_up() -> None:
    session["step_up_at"] = _stamp(now())
    session["sid"] = secrets.token_urlsafe(16)


def step_up_is_fresh() -> bool:
    at = session.get("step_up_at")
    limit = timedelta(minutes=float(current_app.config["STEP_UP_MINUTES"])).total_seconds()
    return isinstance(at, int | float) and 0 <= _stamp(now()) - at <= limit


def confirm_url(target: str | None = None) -> str:
    return url_for("auth.confirm_identity", next=target or request.full_path.rstrip("?"))


def step_up_required(*, then: str | None = None) -> Callable[[F], F]:
    """Sensitive views: without a step-up in the last few minutes, go and confirm it first.
    ``then`` names the endpoint to come back to after a POST (a POST cannot be repeated by a
    redirect, and nothing was done)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if step_up_is_fresh():
                return view(*args, **kwargs)
            _security_event("step_up_required", user_id=current_user.id)
            target = url_for(then) if then and request.method != "GET" else None
            return redirect(confirm_url(target))

        wrapper._step_up = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _expired(moment: float) -> str | None:
    config = current_app.config
    auth_at, seen_at = session.get("auth_at"), session.get("seen_at")
    if not isinstance(auth_at, int | float) or not isinstance(seen_at, int | float):
        return "session_without_times"
    if moment - auth_at > timedelta(hours=float(config["STAFF_ABSOLUTE_HOURS"])).total_seconds():
        return "absolute_timeout"
    if moment - seen_at > timedelta(minutes=float(config["STAFF_IDLE_MINUTES"])).total_seconds():
        return "idle_timeout"
    return None


class CheckedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a security event for a cookie that was tampered
    with or signed elsewhere (Flask silently starts a new session)."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        value = request.cookies.get(self.get_cookie_name(app))
        if serializer is None or not value:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.session_class(serializer.loads(value, max_age=max_age))
        except SignatureExpired:
            return self.session_class()  # genuine but older than the absolute lifetime
        except BadSignature:
            fresh = self.session_class()
            fresh.modified = True  # an empty, modified session: the bad cookie is deleted
            if not request.path.startswith(f"{app.static_url_path}/"):
                _security_event("hostile_input", problem="session cookie failed its signature "
                                "check")
            return fresh


def init_app(app: Flask) -> None:
    app.session_interface = CheckedCookieSessions()

    @app.before_request
    def _session_lifetime() -> Any:
        if request.endpoint in (None, "static") or "_user_id" not in session:
            return None
        if not current_user.is_authenticated:
            # The id no longer matches the account's session version: revoked server-side.
            _security_event("session_revoked")
            session.clear()
            return None
        moment = _stamp(now())
        reason = _expired(moment)
        if reason:
            _security_event("session_expired", user_id=current_user.id, reason=reason)
            end()
            flash("You have been signed out because your session ended. Sign in again.", "info")
            return None
        session["seen_at"] = moment
        # Loading the account opened a read transaction; on SQLite that holds the write lock,
        # which the page's own work (or /healthz's separate connection) must not wait behind.
        release_read_transaction()
        return None


# A view that answers with a file to download marks itself with this attribute (``sends_a_file``).
FILE_VIEW = "_sends_a_file"


def sends_a_file(view: Any) -> Any:
    """Mark a view that answers with an attachment, so that "Confirm it is you" can say the
    file will download and offer the way back."""
    setattr(view, FILE_VIEW, True)
    return view


# --- Sign-in in progress (read by the sign-in pages and by access control) ------------------


def lockout_policy() -> LockoutPolicy:
    """This app's lockout settings, for every check of a password or code."""
    config = current_app.config
    return LockoutPolicy(
        failures=int(config["LOCKOUT_FAILURES"]),
        window=timedelta(minutes=float(config["LOCKOUT_WINDOW_MINUTES"])),
        lock=timedelta(minutes=float(config["LOCKOUT_MINUTES"])),
    )


def pending(stage: str) -> dict[str, Any] | None:
    """The sign-in waiting at ``stage`` (a password given, a code owed...), unless too old."""
    waiting = session.get(PENDING)
    if not isinstance(waiting, dict) or waiting.get("stage") != stage:
        return None
    at = waiting.get("at")
    if not isinstance(at, int | float) or now().timestamp() - at > PENDING_MAX_SECONDS:
        session.pop(PENDING, None)
        return None
    return waiting


def pending_page() -> str | None:
    """Where an unfinished sign-in continues (access control sends staff pages there)."""
    if pending("code") is not None:
        return url_for("auth.two_factor")
    if pending("password") is not None:
        return url_for("auth.new_password")
    return None
