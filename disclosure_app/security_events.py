"""Web side of the security event log: who and where from, for ``services.security_log``.

``log_event(Kind.x, user_id=…, **details)`` is the one call a view or handler makes."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_login import current_user

from disclosure_app.context import now
from disclosure_app.db import get_session
from disclosure_app.services import security_log
from disclosure_app.services.security_log import Kind


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
