"""Every error becomes a plain page with the right status; never a stack trace."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from disclosure_app.services.errors import InputInvalid, NotFound, StaleCase, StepNotAllowed
from workflows import WorkflowRefusal
from workflows.errors import (
    ActorNotPermitted,
    DecisionMakerNotEligible,
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
}


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
        return _page(404)

    @app.errorhandler(StepNotAllowed)
    def _not_allowed(exc: StepNotAllowed):  # type: ignore[no-untyped-def]
        return _page(409, exc.message)

    @app.errorhandler(StaleCase)
    def _stale(exc: StaleCase):  # type: ignore[no-untyped-def]
        return _page(409, exc.message)

    @app.errorhandler(ActorNotPermitted)
    @app.errorhandler(DecisionMakerNotEligible)
    def _refused(exc: WorkflowRefusal):  # type: ignore[no-untyped-def]
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

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        return _page(400, "Your form expired or was not sent from this service. Go back, reload "
                     "the page and try again. Nothing was saved.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        # Keep the exception's own headers: a 405 must say what is Allowed (RFC 9110 15.5.6).
        return (*_page(exc.code or 500), exc.get_headers())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        correlation_id = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s", correlation_id)
        return _page(500, f"Nothing was saved. If you contact support, quote {correlation_id}.")
