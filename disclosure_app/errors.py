"""Every error becomes a plain page with the right status; never a stack trace."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, SecurityError

from disclosure_app.extensions import login_manager
from disclosure_app.integrity import ReadOnlyMode
from disclosure_app.security_log import _security_event, authorisation_denied
from disclosure_app.services.errors import (
    InputInvalid,
    NotFound,
    OutOfScope,
    StaleCase,
    StepNotAllowed,
)
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


def _page(status: int, message: str | None = None):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "errors/error.html", status=status, title=_TITLES.get(status, "Error"), message=message
        ),
        status,
    )


def init_app(app: Flask) -> None:
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
        # Keep the exception's own headers: a 405 must say what is Allowed (RFC 9110 15.5.6).
        return (*_page(exc.code or 500), exc.get_headers())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        correlation_id = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s", correlation_id)
        return _page(500, f"Nothing was saved. If you contact support, quote {correlation_id}.")


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

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    @app.errorhandler(DBAPIError)
    def _database_refused(exc: Exception):  # type: ignore[no-untyped-def]
        if not _is_unavailable(exc):
            return _server_error(exc)
        correlation_id = uuid.uuid4().hex[:12]
        log.error("database refused the request %s: %s", correlation_id,
                  str(getattr(exc, "orig", exc)).splitlines()[0][:200])
        return _unavailable(
            "Nothing was saved. The service could not write to its database (it is busy, full "
            "or being maintained). Wait a few minutes and try again. If it keeps happening, "
            f"contact support and quote {correlation_id}.")


def _server_error(exc: Exception):  # type: ignore[no-untyped-def]
    correlation_id = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s", correlation_id, exc_info=exc)
    return _page(500, f"Nothing was saved. If you contact support, quote {correlation_id}.")


def _is_unavailable(exc: Exception) -> bool:
    """Lock and statement timeouts, a full disk, a lost connection, a read-only database."""
    if isinstance(exc, OperationalError | PoolTimeout):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


def _unavailable(message: str, *, read_only: bool = False):  # type: ignore[no-untyped-def]
    """503 with Retry-After. Rendered without touching the database again; if even the layout
    cannot be drawn (the signed-in user cannot be loaded, say), a plain page says the same."""
    headers = {"Retry-After": "120"}
    if "_login_user" not in g:
        # The signed-in user could not be loaded (the failure came first): draw the page as for
        # a visitor rather than ask the database again.
        g._login_user = login_manager.anonymous_user()
    try:
        page = render_template("errors/unavailable.html", status=503, title=_TITLES[503],
                               message=message, read_only=read_only)
    except Exception:  # noqa: BLE001 - the database may be what failed; say so plainly
        log.exception("could not render the 503 page")
        page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                f"{escape(_TITLES[503])}</title></head><body><h1>{escape(_TITLES[503])}</h1>"
                f"<p>{escape(message)}</p><p>If a child is in immediate danger, call 999.</p>"
                "</body></html>")
    return page, 503, headers
