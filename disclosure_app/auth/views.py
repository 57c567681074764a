"""Staff sign-in and sign-out. Sign-out is a POST and ends every copy of the session cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from disclosure_app.access import STAFF, allow, public
from disclosure_app.auth.forms import LoginForm, LogoutForm
from disclosure_app.context import now
from disclosure_app.db import get_session
from disclosure_app.security_events import Kind, log_event
from disclosure_app.services import users
from disclosure_app.services.security_log import identifier_hash
from workflows.roles import Role

bp = Blueprint("auth", __name__, url_prefix="/staff")


def home_for(role: Role) -> str:
    if role is Role.auditor:
        return url_for("audit.index")
    if role is Role.admin:
        return url_for("admin.users")
    return url_for("staff.queue")


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never //host, scheme-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or urlsplit(target).netloc:
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(get_session(), form.email.data or "", form.password.data or "")
        if user is not None:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(user, remember=False)
            log_event(Kind.login_succeeded, user_id=user.id, factor="password")
            return redirect(_safe_next(request.args.get("next")) or home_for(user.role))
        # Who tried: the hash of what they typed (it may be a password typed in the wrong box).
        log_event(Kind.login_failed, factor="password",
                  identifier_sha256=identifier_hash(form.email.data or ""))
        form.email.errors = list(form.email.errors) + ["Enter a correct email address and password"]
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.route("/sign-out", methods=["POST"])
@allow(*STAFF)
def logout():  # type: ignore[no-untyped-def]
    form = LogoutForm()
    if form.validate_on_submit():
        log_event(Kind.logout)
        users.end_sessions(get_session(), current_user.id, now=now())
        logout_user()
        session.clear()
        flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
