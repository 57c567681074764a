"""Every error becomes a plain page with the right status; never a stack trace."""

from __future__ import annotations

import logging
import math
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, make_response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from disclosure_app.audit.integrity import ReadOnlyMode
from disclosure_app.core.errors import InputInvalid, NotFound, OutOfScope, StaleCase, StepNotAllowed
from disclosure_app.extensions import login_manager
from disclosure_app.privacy.keystore import KeyStoreError
from disclosure_app.security.events import _security_event, authorisation_denied
from disclosure_app.security.headers import secure
from workflows import WorkflowRefusal
from workflows.errors import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
    PreconditionUnmet,
    RationaleRequired,
    StepDataInvalid,
)

log = logging.getLogger(__name__)

_TITLES = {
    400: "There is a problem with your request",
    403: "You do not have permission to do this",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "This cannot be done now",
    413: "What you sent is too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service cannot save anything just now",
}

# What staff and the public see in reconciliation mode (the technical reason goes to the log).
READ_ONLY_MESSAGE = ("Nothing was saved. The service is read-only while its records are checked "
                     "after maintenance. You can still look things up. Try again later.")

# PostgreSQL SQLSTATEs that mean "cannot write now" rather than a fault in the app: a read-only
# transaction (a standby, or default_transaction_read_only) and insufficient resources (class 53).
_UNAVAILABLE_SQLSTATES = ("25006", "53")


# The public side's clock for "try again after …" (the service is for the public in England).
LOCAL_TIME = ZoneInfo("Europe/London")
# URLs for staff; everything else (the public side, unknown URLs) gets the public wording.
_STAFF_PREFIXES = ("/staff", "/audit", "/admin", "/documents", "/teams")
# Posted fields never written back into a page: secrets, and the form's old CSRF token (a fresh
# one is issued). Matched on the last part of the name ("applicant-postcode" -> "postcode").
_NEVER_RESENT_PARTS = ("password", "passcode", "totp", "secret", "token")
_NEVER_RESENT_NAMES = frozenset({"code", "csrf_token"})


def correlation_id() -> str:
    """This request's id, quoted on its error page and written with its log lines and security
    events, so support can find one from the other."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex[:12]
    return str(g.request_id)


def is_staff_path() -> bool:
    return request.path.startswith(_STAFF_PREFIXES)


def _page(status: int, message: str | None = None, *,  # type: ignore[no-untyped-def]
          headers: Any = None, title: str | None = None, **context: Any):
    """The error page, already carrying the security headers (an after-request hook that
    fails would otherwise leave it without them)."""
    page = render_template(
        "errors/error.html", status=status, title=title or _TITLES.get(status, "Error"),
        message=message,
        correlation_id=correlation_id(), public=not is_staff_path(), **context,
    )
    response = make_response(page, status)
    if headers:
        response.headers.update(headers)
    return secure(response)


def init_app(app: Flask) -> None:
    # Every request gets its id first, so security events and error pages share it.
    @app.before_request
    def _request_id() -> None:
        correlation_id()

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):  # type: ignore[no-untyped-def]
        if isinstance(exc, OutOfScope):
            authorisation_denied(_user_id(), reason="case out of scope",
                                 case_id=(request.view_args or {}).get("case_id"))
        return _page(404)

    @app.errorhandler(StepNotAllowed)
    def _not_allowed(exc: StepNotAllowed):  # type: ignore[no-untyped-def]
        _transition_refused(exc)
        return _page(409, exc.message)

    @app.errorhandler(PreconditionUnmet)
    def _precondition(exc: PreconditionUnmet):  # type: ignore[no-untyped-def]
        _transition_refused(exc)
        return _page(409, exc.message)

    @app.errorhandler(StaleCase)
    def _stale(exc: StaleCase):  # type: ignore[no-untyped-def]
        stale_edit_refused((request.view_args or {}).get("case_id"))
        return _page(409, exc.message)

    @app.errorhandler(ActorNotPermitted)
    @app.errorhandler(DecisionMakerNotEligible)
    def _refused(exc: WorkflowRefusal):  # type: ignore[no-untyped-def]
        authorisation_denied(_user_id(), reason=type(exc).__name__,
                             case_id=(request.view_args or {}).get("case_id"))
        return _page(403, exc.message)

    @app.errorhandler(InputInvalid)
    def _invalid(exc: InputInvalid):  # type: ignore[no-untyped-def]
        return _page(400, "; ".join(exc.errors.values()) or exc.message)

    @app.errorhandler(RationaleRequired)
    def _no_rationale(exc: RationaleRequired):  # type: ignore[no-untyped-def]
        return _page(400, exc.message)

    @app.errorhandler(StepDataInvalid)
    def _step_invalid(exc: StepDataInvalid):  # type: ignore[no-untyped-def]
        return _page(400, "; ".join(exc.errors.values()))

    _init_request_errors(app)


def _init_request_errors(app: Flask) -> None:
    """CSRF failures, HTTP errors and the last-resort handler."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        _security_event("csrf_failure", user_id=_user_id(), reason=exc.description)
        return _page(400, "Your form expired or was not sent from this service. Go back, reload "
                     "the page and try again. Nothing was saved.")

    _init_database_errors(app)

    @app.errorhandler(SecurityError)
    def _untrusted_host(exc: SecurityError):  # type: ignore[no-untyped-def]
        # A Host header not in TRUSTED_HOSTS: no URL can be built for it, so a plain answer.
        _security_event("untrusted_host")
        return "Bad request: this service does not answer to that host name.\n", 400, {
            "Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        if exc.code == 403:  # every refusal by role or rule (access control, views)
            authorisation_denied(_user_id(), reason="forbidden")
        elif exc.code == 413:
            _security_event("hostile_input", problem="request too large")
        elif exc.code == 429:
            return _too_many_requests()
        # Keep the exception's own headers: a 405 must say what is Allowed (RFC 9110 15.5.6).
        return _page(exc.code or 500, headers=exc.get_headers())

    @app.errorhandler(InternalServerError)
    def _failed_outside_the_view(exc: InternalServerError):  # type: ignore[no-untyped-def]
        # Flask lands here when something fails after the view (an after-request hook, such as
        # the rate limiter's headers) or in an error handler. A lock or a lost database is
        # still a 503; anything else a 500. Either way with its headers and a correlation id.
        # The view may have saved its work by then: the page must not say "Nothing was saved".
        original = exc.original_exception or exc
        if isinstance(original, DBAPIError | PoolTimeout) and _is_unavailable(original):
            return _database_unavailable(original, after_view=True)
        return _server_error(original, after_view=True)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        return _server_error(exc)


def stale_edit_refused(case_id: Any) -> None:
    """A form sent against an older version of the case: nothing was saved. Recorded, since a
    replayed or tampered version field looks exactly like this (ids only)."""
    _security_event("stale_edit", user_id=_user_id(), case_id=case_id)


def _user_id() -> int | None:
    return current_user.id if current_user and current_user.is_authenticated else None


def _transition_refused(exc: Exception) -> None:
    _security_event("transition_refused", user_id=_user_id(), refusal=type(exc).__name__,
                    case_id=(request.view_args or {}).get("case_id"),
                    event_name=(request.view_args or {}).get("event"))


def _init_database_errors(app: Flask) -> None:
    """A database that refuses a write answers 503 "Nothing was saved" (the transaction was
    rolled back); read-only reconciliation mode answers 503 with its banner."""

    @app.errorhandler(ReadOnlyMode)
    def _read_only(exc: ReadOnlyMode):  # type: ignore[no-untyped-def]
        log.warning("write refused: %s", exc.message)
        return _unavailable(READ_ONLY_MESSAGE, read_only=True)

    @app.errorhandler(KeyStoreError)
    def _keys_unavailable(exc: KeyStoreError):  # type: ignore[no-untyped-def]
        # The key store or a KEK cannot be reached (docs/operations.md, "Key loss"): the
        # record's personal data cannot be opened or sealed, so nothing is shown or saved.
        reference = correlation_id()
        log.critical("key store unavailable %s: %s", reference, exc)
        return _unavailable(
            "Nothing was saved. The service cannot open or protect personal data just now: its "
            "key store is unavailable. Try again later; if it keeps happening, contact support "
            f"and quote {reference}.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    @app.errorhandler(DBAPIError)
    def _database_refused(exc: Exception):  # type: ignore[no-untyped-def]
        if not _is_unavailable(exc):
            return _server_error(exc)
        return _database_unavailable(exc)


# Said when the failure came after the view had finished (it may have saved its work).
_MAYBE_SAVED = ("The service could not finish answering, so what you sent may or may not have "
                "been saved. Check before making the change again: a form sent again from this "
                "page is never saved twice.")


def _database_unavailable(exc: BaseException, *,  # type: ignore[no-untyped-def]
                          after_view: bool = False):
    reference = correlation_id()
    log.error("database refused the request %s: %s", reference,
              str(getattr(exc, "orig", exc)).splitlines()[0][:200])
    first = _MAYBE_SAVED if after_view else (
        "Nothing was saved. The service could not write to its database (it is busy, full "
        "or being maintained).")
    return _unavailable(
        f"{first} Wait a few minutes and try again. If it keeps happening, contact support and "
        f"quote {reference}.")


def _server_error(exc: BaseException, *,  # type: ignore[no-untyped-def]
                  after_view: bool = False):
    reference = correlation_id()
    log.error("unhandled error %s", reference, exc_info=exc)
    first = _MAYBE_SAVED if after_view else "Nothing was saved."
    return _page(500, f"{first} If you contact support, quote {reference}.")


def _is_unavailable(exc: Exception) -> bool:
    """Lock and statement timeouts, a full disk, a lost connection, a read-only database."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def _unavailable(message: str, *, read_only: bool = False):  # type: ignore[no-untyped-def]
    """503 with Retry-After. Rendered without touching the database again; if even the layout
    cannot be drawn (the signed-in user cannot be loaded, say), a plain page says the same.
    A form post comes back as a "Send again" form holding what was typed (never a password or
    a code): its one-time key makes sending it again safe."""
    headers = {"Retry-After": "120"}
    if "_login_user" not in g:
        # The signed-in user could not be loaded (the failure came first): draw the page as for
        # a visitor rather than ask the database again.
        g._login_user = login_manager.anonymous_user()
    try:
        page = render_template("errors/unavailable.html", status=503, title=_TITLES[503],
                               message=message, read_only=read_only, resend=_resend(),
                               correlation_id=correlation_id(), public=not is_staff_path())
    except Exception:  # noqa: BLE001 - the database may be what failed; say so plainly
        log.exception("could not render the 503 page")
        page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                f"{escape(_TITLES[503])}</title></head><body><h1>{escape(_TITLES[503])}</h1>"
                f"<p>{escape(message)}</p><p>If a child is in immediate danger, call 999.</p>"
                "</body></html>")
    response = make_response(page, 503)
    response.headers.update(headers)
    return secure(response)


def _resend() -> dict[str, Any] | None:
    """What a refused form post needs to be sent again as it was: its URL and its fields, less
    anything secret. None for a GET, a JSON body, or a sign-in step (nothing there is worth
    keeping but the secret itself)."""
    if request.method != "POST" or request.blueprint == "auth":
        return None
    try:
        posted = list(request.form.items(multi=True))
        had_files = any(f.filename for f in request.files.values())
    except Exception:  # noqa: BLE001 - an unreadable body: nothing to keep
        return None
    fields = [(name, value) for name, value in posted if not _never_resent(name)]
    dropped = len(fields) != len([n for n, _ in posted if n != "csrf_token"])
    if not fields:
        return None
    query = request.query_string.decode("ascii", "replace")
    return {"action": request.path + (f"?{query}" if query else ""), "fields": fields,
            "dropped_secret": dropped, "had_files": had_files}


def _never_resent(name: str) -> bool:
    part = name.rsplit("-", 1)[-1].lower()
    return part in _NEVER_RESENT_NAMES or any(word in part for word in _NEVER_RESENT_PARTS)


def _too_many_requests():  # type: ignore[no-untyped-def]
    """429: when to try again (the breached limit's reset, as Retry-After and as a time of
    day), and on the public application every answer kept, ready to send again. The breach
    itself is recorded by the limiter's on_breach hook (rate_limits.py)."""
    reset_at = _limit_reset_at()
    headers = {}
    when = None
    if reset_at is not None:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - time.time())))
        when = _time_of_day(reset_at)
    application = request.endpoint == "public.submit"
    return _page(429, headers=headers, when=when, endpoint=request.endpoint or "",
                 resend=_resend(),
                 title="Your application has not been sent yet" if application else None)


def _limit_reset_at() -> float | None:
    """The latest reset among the limits this request broke: the time all of them allow it."""
    limiter = current_app.extensions.get("rate_limiter")
    if limiter is None:
        return None
    try:
        broken = [lim for lim in limiter.current_limits if lim.breached]
        if not broken and limiter.current_limit is not None:
            broken = [limiter.current_limit]
        resets = [float(lim.reset_at) for lim in broken]
    except Exception:  # noqa: BLE001 - the counts could not be read: say "later", not 500
        log.warning("could not read the rate limit's reset time", exc_info=True)
        return None
    return max(resets) if resets else None


def _time_of_day(timestamp: float) -> str:
    """"14:05", or "14:05 on 3 March" when not today, in UK time, rounded up to the minute."""
    at = datetime.fromtimestamp(math.ceil(timestamp / 60) * 60, LOCAL_TIME)
    today = datetime.now(LOCAL_TIME).date()
    return f"{at:%H:%M}" if at.date() == today else f"{at:%H:%M} on {at.day} {at:%B}"
