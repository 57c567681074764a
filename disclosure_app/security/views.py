"""Staff sign-in and sign-out (SECURITY.md SEC-01 … SEC-13).

Sign-in is password, then the second factor: the code from the person's authenticator app, or
at first sign-in (and after an approved reset) setting one up; then, if the password was issued
by someone else, a new password. Nobody is signed in (``sessions.start``) before every step is
done: until then the session cookie holds only a pending sign-in, which no staff page accepts.
Sign-out is a POST and ends every copy of the session cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.security import accounts as users
from disclosure_app.security import mfa, sessions, sign_in
from disclosure_app.security.events import _security_event
from disclosure_app.security.forms import (
    ChangePasswordForm,
    CodeForm,
    LoginForm,
    LogoutForm,
    NewPasswordForm,
)
from disclosure_app.security.hash_slots import HashSlotsBusy, hash_slot
from disclosure_app.security.sessions import FILE_VIEW, lockout_policy
from disclosure_app.security.sign_in import Outcome
from disclosure_app.web.access import STAFF, allow, public
from disclosure_app.web.context import now
from workflows.roles import Role

bp = Blueprint("auth", __name__, url_prefix="/staff")

GENERIC_REFUSAL = "Enter a correct email address and password"
BUSY = "The service is busy. Wait a moment and try again."
WRONG_CODE = "Enter the current 6-digit code from your authenticator app"
START_AGAIN = "Sign in again: too many wrong codes, or the sign-in took too long."


def home_for(role: Role) -> str:
    if role is Role.auditor:
        return url_for("audit.index")
    if role is Role.admin:
        return url_for("admin.users")
    if role is Role.records_manager:
        return url_for("records.queue")
    return url_for("staff.queue")


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths; never //host, scheme-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or urlsplit(target).netloc or urlsplit(target).scheme:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    return target


def _context_words() -> tuple[str, ...]:
    config = current_app.config
    return (str(config["FORCE_NAME"]), str(config["SERVICE_NAME"]), "police")


# --- Pending sign-in ----------------------------------------------------------------------


def _restart(message: str = START_AGAIN) -> Any:
    session.pop(sessions.PENDING, None)
    flash(message, "info")
    return redirect(url_for("auth.login"))


def _finish(user: User, pending: dict[str, Any], lock_notice: Any = None) -> Any:
    """Every factor checked: a new session, then wherever the person was going."""
    if user.must_change_password:
        session[sessions.PENDING] = {**pending, "stage": "password", "at": now().timestamp(),
                                     "version": user.session_version}
        return redirect(url_for("auth.new_password"))
    sessions.start(user)
    _security_event("sign_in", user_id=user.id, factor="password+totp")
    if lock_notice is not None:
        flash(f"Your account was locked on {lock_notice:%d %B %Y at %H:%M} UTC after repeated "
              "failed sign-in attempts. If that was not you, tell your administrator now.",
              "info")
    return redirect(_safe_next(pending.get("next")) or home_for(user.role))


# --- Views --------------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            result = sign_in.check_password(get_session(), email, form.password.data or "",
                                            now=now(), policy=lockout_policy(), slot=hash_slot)
        except HashSlotsBusy:
            _security_event("sign_in_busy")
            form.email.errors = [*form.email.errors, BUSY]
            return render_template("auth/login.html", form=form, first_run=False), 503
        if result.outcome is Outcome.ok:
            session.clear()  # nothing from before the sign-in carries over
            session[sessions.PENDING] = {
                "uid": result.user_id, "challenge": result.challenge, "stage": "code",
                "next": _safe_next(request.args.get("next")), "at": now().timestamp()}
            _security_event("password_accepted", user_id=result.user_id)
            return redirect(url_for("auth.two_factor"))
        _security_event("sign_in_failed", factor="password", user_id=result.user_id,
                        reason=result.reason, email=email)
        if result.locked_now:
            _security_event("account_locked", user_id=result.user_id)
        form.email.errors = [*form.email.errors, GENERIC_REFUSAL]
    if form.errors:
        status = 400
    first_run = request.method == "GET" and users.count_users(get_session()) == 0
    return render_template("auth/login.html", form=form, first_run=first_run), status


@bp.route("/two-factor", methods=["GET", "POST"])
@public
def two_factor():  # type: ignore[no-untyped-def]
    pending = sessions.pending("code")
    if pending is None:
        return _restart("Sign in to continue.")
    user = get_session().get(User, pending["uid"])
    if user is None or not user.mfa_enrolled:
        return redirect(url_for("auth.set_up_two_factor"))
    form = CodeForm()
    if form.validate_on_submit():
        result = sign_in.check_code(get_session(), pending["uid"], pending["challenge"],
                                    form.code.data or "", now=now(), cipher=mfa.cipher(),
                                    policy=lockout_policy())
        if result.outcome is Outcome.ok and result.user is not None:
            return _finish(result.user, pending, result.lock_notice)
        _code_failure_event(pending["uid"], result.outcome, result.locked_now)
        if result.outcome is Outcome.restart:
            return _restart()
        form.code.errors = [*form.code.errors, WRONG_CODE]
    return render_template("auth/two_factor.html", form=form), 400 if form.errors else 200


def _code_failure_event(user_id: int, outcome: Outcome, locked_now: bool = False) -> None:
    if outcome is Outcome.replayed_code:
        _security_event("totp_replay", user_id=user_id)
    else:
        _security_event("sign_in_failed", factor="totp", user_id=user_id,
                        reason=str(outcome))
    if locked_now:
        _security_event("account_locked", user_id=user_id)


@bp.route("/two-factor/set-up", methods=["GET", "POST"])
@public
def set_up_two_factor():  # type: ignore[no-untyped-def]
    pending = sessions.pending("code")
    if pending is None:
        return _restart("Sign in to continue.")
    secret = sign_in.pending_secret(get_session(), pending["uid"], pending["challenge"],
                                    now=now(), cipher=mfa.cipher(), policy=lockout_policy())
    if secret is None:
        user = get_session().get(User, pending["uid"])
        if user is not None and user.mfa_enrolled:
            return redirect(url_for("auth.two_factor"))
        return _restart()
    form = CodeForm()
    if form.validate_on_submit():
        result = sign_in.confirm_enrolment(get_session(), pending["uid"], pending["challenge"],
                                           form.code.data or "", now=now(),
                                           cipher=mfa.cipher(), policy=lockout_policy())
        if result.outcome is Outcome.ok and result.user is not None:
            _security_event("mfa_enrolled", user_id=result.user.id)
            return _finish(result.user, pending)
        _code_failure_event(pending["uid"], result.outcome)
        if result.outcome is Outcome.restart:
            return _restart()
        form.code.errors = [*form.code.errors, WRONG_CODE]
    response = make_response(render_template(
        "auth/set_up_two_factor.html", form=form, secret=mfa.grouped(secret)),
        400 if form.errors else 200)
    return response


@bp.get("/two-factor/set-up/qr.svg")
@public
def two_factor_qr():  # type: ignore[no-untyped-def]
    pending = sessions.pending("code")
    if pending is None:
        return _restart("Sign in to continue.")
    session_db = get_session()
    secret = sign_in.pending_secret(session_db, pending["uid"], pending["challenge"],
                                    now=now(), cipher=mfa.cipher(), policy=lockout_policy())
    user = session_db.get(User, pending["uid"])
    if secret is None or user is None:
        return _restart()
    uri = mfa.provisioning_uri(secret, user.email, str(current_app.config["FORCE_NAME"]))
    response = make_response(mfa.qr_svg(uri))
    response.headers["Content-Type"] = "image/svg+xml"
    return response


@bp.route("/new-password", methods=["GET", "POST"])
@public
def new_password():  # type: ignore[no-untyped-def]
    pending = sessions.pending("password")
    if pending is None:
        return _restart("Sign in to continue.")
    form, template = NewPasswordForm(), "auth/new_password.html"
    if form.validate_on_submit():
        user = get_session().get(User, pending["uid"])
        if user is None or not user.active or user.session_version != pending.get("version"):
            return _restart()
        try:
            user = sign_in.change_password(get_session(), user.id, form.password.data or "",
                                           now=now(), current_password=None,
                                           context=_context_words(), slot=hash_slot)
        except HashSlotsBusy:
            form.form_errors.append(BUSY)
            return render_template(template, form=form), 503
        except InputInvalid as exc:
            form.password.errors = [*form.password.errors, *exc.errors.values()]
        else:
            _security_event("password_changed", user_id=user.id)
            return _finish(user, {**pending, "stage": "done"})
    return render_template(template, form=form), 400 if form.errors else 200


@bp.route("/confirm-identity", methods=["GET", "POST"])
@allow(*STAFF)
def confirm_identity():  # type: ignore[no-untyped-def]
    """Step-up: a fresh code before a sensitive action (SEC-13). Then straight on to it: a
    document comes down as a file while this page stays, so the page says so and links back to
    the case."""
    form = CodeForm()
    target = _safe_next(request.args.get("next"))
    if form.validate_on_submit():
        outcome = sign_in.confirm_identity(get_session(), current_user.id, form.code.data or "",
                                           now=now(), cipher=mfa.cipher(),
                                           policy=lockout_policy())
        if outcome is Outcome.ok:
            sessions.stepped_up()
            _security_event("step_up", user_id=current_user.id)
            return redirect(target or home_for(current_user.role))
        _code_failure_event(current_user.id, outcome)
        if outcome is Outcome.restart:
            sessions.end()
            return _restart("Your account is locked for a while. Sign in again later.")
        form.code.errors = [*form.code.errors, WRONG_CODE]
    file_view = _file_view(target)
    return render_template("auth/confirm_identity.html", form=form, target=target,
                           for_a_file=file_view is not None,
                           back=_case_page(file_view[1]) if file_view else None), \
        400 if form.errors else 200


def _file_view(target: str | None) -> tuple[str, dict[str, Any]] | None:
    """The endpoint and arguments of ``target`` (a safe relative path) if it sends a file."""
    if not target:
        return None
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        endpoint, args = adapter.match(urlsplit(target).path, method="GET")
    except HTTPException:
        return None
    view = current_app.view_functions.get(endpoint)
    return (endpoint, args) if getattr(view, FILE_VIEW, False) else None


def _case_page(args: dict[str, Any]) -> str | None:
    case_id = args.get("case_id")
    return url_for("staff.case", case_id=case_id) if isinstance(case_id, int) else None


@bp.route("/account/password", methods=["GET", "POST"])
@allow(*STAFF)
def change_password():  # type: ignore[no-untyped-def]
    form, template = ChangePasswordForm(), "auth/change_password.html"
    if form.validate_on_submit():
        try:
            user = sign_in.change_password(
                get_session(), current_user.id, form.password.data or "", now=now(),
                current_password=form.current_password.data or "",
                context=_context_words(), slot=hash_slot)
        except HashSlotsBusy:
            form.form_errors.append(BUSY)
            return render_template(template, form=form), 503
        except InputInvalid as exc:
            for name, message in exc.errors.items():
                form[name].errors = [*form[name].errors, message]
        else:
            _security_event("password_changed", user_id=user.id)
            sessions.start(user)  # this session carries on; every other one has ended
            flash("Your password has been changed. You have been signed out everywhere else.",
                  "success")
            return redirect(home_for(user.role))
    return render_template(template, form=form), 400 if form.errors else 200


@bp.route("/sign-out", methods=["POST"])
@allow(*STAFF)
def logout():  # type: ignore[no-untyped-def]
    form = LogoutForm()
    if form.validate_on_submit():
        user_id = current_user.id
        users.end_sessions(get_session(), user_id, now=now())
        sessions.end()
        _security_event("sign_out", user_id=user_id)
        flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
