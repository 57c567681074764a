"""Deny by default: every endpoint must declare who may use it.

``@public`` marks the few pages the public may see; ``@allow(*roles)`` lists the staff roles
for every other view. An endpoint with neither is refused for everyone (and a test walks
``app.url_map`` to make sure none exists).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from disclosure_app.security import sessions
from workflows.roles import Role

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

STAFF = (Role.case_officer, Role.decision_maker, Role.partner, Role.auditor, Role.admin,
         Role.records_manager)
CASE_READERS = (Role.case_officer, Role.decision_maker, Role.partner, Role.auditor)
POLICE = (Role.case_officer, Role.decision_maker)


def public(view: F) -> F:
    view._access_public = True  # type: ignore[attr-defined]
    return view


def allow(*roles: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view._access_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return decorate


def access_rule(view: Callable[..., Any]) -> str | frozenset[Role] | None:
    if getattr(view, "_access_public", False):
        return "public"
    return getattr(view, "_access_roles", None)


def init_app(app: Flask) -> None:
    @app.before_request
    def _enforce_access() -> Any:
        if request.endpoint is None or request.endpoint == "static":
            return None
        try:
            return _decide()
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001 - fail closed: a broken check refuses (SEC-35)
            log.exception("access check failed; refusing")
            abort(403)


def _decide() -> Any:
    view = current_app.view_functions[request.endpoint or ""]
    rule = access_rule(view)
    if rule == "public":
        return None
    if rule is None:
        abort(403)
    if not current_user.is_authenticated:
        # Password given but not the second factor (or a new password still owed): carry on
        # there, never to a staff page (SEC-01).
        pending = sessions.pending_page()
        if pending:
            return redirect(pending)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in rule:
        abort(403)  # logged as an authorisation denial by the error handler
    return None
