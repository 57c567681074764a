"""The public side, without an account: the start page, the Right to Ask application (form ->
check your answers -> submit -> confirmation) and the applicant's private status page, from which
they may withdraw until a decision is made.

The status token in ``/status/<token>`` is a secret: nothing here logs it, and the status page
shows only the reference, dates and the public phase (``workflows.status.PUBLIC_PHASES``).

Both forms that store something carry a one-time key (``services.idempotency``): an application
sent twice (a double click, the back button) is stored once, and the repeat is told its
reference again, but never the status link, which is shown once only.
"""

from __future__ import annotations

import time
from typing import Any

import flask
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from disclosure_app.cases import applications
from disclosure_app.cases.deadlines import deadlines
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid, StaleCase, StepNotAllowed
from disclosure_app.core.idempotency import AlreadySubmitted, Purpose
from disclosure_app.db import get_session
from disclosure_app.models import Case
from disclosure_app.public.forms import ApplicationForm, WithdrawForm, application_input
from disclosure_app.security.events import _security_event
from disclosure_app.web.access import public
from disclosure_app.web.context import case_policy, now, timescales
from disclosure_app.web.errors import stale_edit_refused
from disclosure_app.web.form_keys import key_is_sound, renew_unless_sound
from workflows import DisclosureWorkflow
from workflows.clocks import ClockName
from workflows.status import PUBLIC_PHASES, Status, public_phase

bp = Blueprint("public", __name__)

TOO_FAST = ("Check your answers, then send your application again. Nothing has been sent yet.")
WITHDRAWN_MESSAGE = ("Your application has been withdrawn. If you are still worried about a child, "
                     "call 101, or 999 in an emergency.")
# The service's own refusal names the case's internal state, which the applicant must not see.
CANNOT_WITHDRAW = ("This application can no longer be withdrawn online. If you want to stop it, "
                   "call 101 and give your reference number.")
# Staff changed the case while the withdrawal was being sent (their names are never shown here).
CHANGED_MEANWHILE = ("Your application was updated while you were sending this, so nothing was "
                     "saved. Open your status link again and, if you still want to, withdraw.")
# The targets the applicant is shown, in their words (the internal risk assessment is not one).
TARGET_LABELS = {
    ClockName.initial_checks: "Initial checks",
    ClockName.interview: "Meeting with you",
    ClockName.overall: "Whole process",
}


@bp.get("/")
@public
def start():  # type: ignore[no-untyped-def]
    return render_template("public/start.html", timescales=timescales())


@bp.get("/privacy")
@public
def privacy():  # type: ignore[no-untyped-def]
    return render_template("public/privacy.html")


@bp.get("/accessibility")
@public
def accessibility():  # type: ignore[no-untyped-def]
    return render_template("public/accessibility.html")


@bp.route("/apply", methods=["GET", "POST"])
@public
def apply():  # type: ignore[no-untyped-def]
    """The application form. A valid post shows the answers back; nothing is stored yet."""
    form = ApplicationForm()
    if request.method == "POST":
        renew_unless_sound(form)  # nothing is stored yet: a lost key is simply replaced
    if request.method == "POST" and request.form.get("action") == "change":
        return _application_page(form)  # back from check your answers, values as posted
    if form.validate_on_submit():
        return render_template("public/check_answers.html", form=form,
                               form_started=_form_started(form))
    return _application_page(form)


@bp.post("/apply/submit")
@public
def submit():  # type: ignore[no-untyped-def]
    """Store the application. The answers come back as hidden fields: validate them again."""
    form = ApplicationForm()
    if request.form.get("website"):
        # The honeypot was filled: an automated sender. Answer as if it worked; store nothing.
        _security_event("honeypot", endpoint="public.submit")
        flask.session["confirmation"] = {"held": True}
        return redirect(url_for("public.confirmation"), code=303)
    earlier = idempotency.earlier(get_session(), form.submission_key.data, Purpose.apply)
    if earlier is not None:
        return _already_sent(earlier)
    valid = form.validate()
    if not (key_is_sound(form) and valid):
        return _application_page(form)
    if not _filled_in_time(form):
        form.form_errors.append(TOO_FAST)
        return _application_page(form)
    try:
        done = applications.submit_application(
            get_session(), application_input(form),
            policy=case_policy(), now=now(),
            submission_key=form.submission_key.data,
        )
    except InputInvalid as exc:
        form.add_service_errors(exc.errors)
        return _application_page(form)
    except AlreadySubmitted as exc:  # the same form, sent at the same moment
        return _already_sent(exc)
    flask.session["confirmation"] = {"reference": done.case.reference, "token": done.status_token}
    return redirect(url_for("public.confirmation"), code=303)


def _already_sent(earlier: AlreadySubmitted):  # type: ignore[no-untyped-def]
    """The same application again: its reference, never its status link (shown once only)."""
    pending = flask.session.get("confirmation")
    first_not_yet_shown = (isinstance(pending, dict) and pending.get("token")
                           and pending.get("reference") == earlier.reference)
    if not first_not_yet_shown:
        flask.session["confirmation"] = {"reference": earlier.reference, "again": True}
    return redirect(url_for("public.confirmation"), code=303)


@bp.get("/apply/confirmation")
@public
def confirmation():  # type: ignore[no-untyped-def]
    """Shown once: the status link exists nowhere else (only its hash is stored). After a
    repeated submission, the reference of the application already stored, and no link."""
    details = flask.session.pop("confirmation", None)
    if not isinstance(details, dict) or not (details.get("token") or details.get("again")
                                             or details.get("held")):
        return redirect(url_for("public.start"))
    token = details.get("token")
    return render_template(
        "public/confirmation.html",
        held=bool(details.get("held")),
        reference=details.get("reference", ""),
        status_url=url_for("public.status", token=token, _external=True) if token else None,
        timescales=timescales(),
    )


@bp.get("/status/<token>")
@public
def status(token: str):  # type: ignore[no-untyped-def]
    case = applications.find_by_status_token(get_session(), token)
    return _status_page(case, token, WithdrawForm())


@bp.post("/status/<token>/withdraw")
@public
def withdraw(token: str):  # type: ignore[no-untyped-def]
    case = applications.find_by_status_token(get_session(), token)
    form = WithdrawForm()
    if idempotency.earlier(get_session(), form.submission_key.data, Purpose.withdraw,
                           case_id=case.id) is not None:
        return _withdrawn(token)  # sent twice: it was withdrawn the first time
    if not _can_withdraw(case):
        raise StepNotAllowed(CANNOT_WITHDRAW)
    valid = form.validate_on_submit()
    if not (key_is_sound(form) and valid):
        return _status_page(case, token, form)
    try:
        applications.withdraw_by_applicant(
            get_session(), token, form.reason.data, policy=case_policy(), now=now(),
            submission_key=form.submission_key.data,
        )
    except AlreadySubmitted:
        return _withdrawn(token)
    except StepNotAllowed:
        raise StepNotAllowed(CANNOT_WITHDRAW) from None  # a decision was made meanwhile
    except StaleCase:
        stale_edit_refused(case.id)
        raise StepNotAllowed(CHANGED_MEANWHILE) from None
    return _withdrawn(token)


def _withdrawn(token: str):  # type: ignore[no-untyped-def]
    flash(WITHDRAWN_MESSAGE, "success")
    return redirect(url_for("public.status", token=token), code=303)


# --- Helpers -------------------------------------------------------------------------------


def _started_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="public-form-started")


def _form_started(form: ApplicationForm) -> str:
    """When this form (this one-time key) was first shown, signed so it cannot be backdated:
    the posted value if it is sound, otherwise now."""
    posted = request.form.get("form_started", "")
    try:
        key = _started_serializer().loads(posted)
    except BadData:
        key = None
    if posted and key == form.submission_key.data:
        return posted
    return _started_serializer().dumps(form.submission_key.data)


def _filled_in_time(form: ApplicationForm) -> bool:
    """A person takes more than PUBLIC_FORM_MIN_FILL_SECONDS from seeing the form to sending it
    (SEC-29); a script posting at once, or without the signed start, does not."""
    minimum = float(current_app.config["PUBLIC_FORM_MIN_FILL_SECONDS"])
    if minimum <= 0:
        return True
    try:
        key, signed_at = _started_serializer().loads(request.form.get("form_started", ""),
                                                     return_timestamp=True)
    except BadData:
        key, signed_at = None, None
    if key != form.submission_key.data or signed_at is None:
        _security_event("form_start_missing", endpoint="public.submit")
        return False
    # The signature's own (wall) clock on both sides: the app's clock may be fixed in tests.
    elapsed = time.time() - signed_at.timestamp()
    if elapsed < minimum:
        # Whole milliseconds: stored events are canonical JSON, which takes no floats.
        _security_event("too_fast", endpoint="public.submit", milliseconds=int(elapsed * 1000))
        return False
    return True


def _application_page(form: ApplicationForm):  # type: ignore[no-untyped-def]
    errors = form.summary_errors()
    page = render_template("public/apply.html", form=form, errors=errors,
                           form_started=_form_started(form))
    return page, 400 if errors else 200


def _can_withdraw(case: Case) -> bool:
    if Status(case.status).is_terminal:
        return False
    machine = DisclosureWorkflow(case, policy=case_policy())
    return "withdraw" in [event.id for event in machine.enabled_events()]


def _status_page(case: Case, token: str, form: WithdrawForm):  # type: ignore[no-untyped-def]
    """Only what the applicant may see; the template never receives the case itself."""
    current = public_phase(case.status)
    keys = list(PUBLIC_PHASES)
    position = keys.index(current)
    completed = current == "completed"
    phases = []
    for index, key in enumerate(keys):
        if index == position:
            state = "current"
        elif index < position and not completed:
            state = "done"
        elif completed:
            state = "past"  # not said whether it happened: a closure can come at any point
        else:
            state = "to_do"
        phases.append({"label": PUBLIC_PHASES[key], "state": state})
    progress: dict[str, Any] = {
        "reference": case.reference,
        "received_at": case.received_at,
        "phase": PUBLIC_PHASES[current],
        "completed": completed,
        "phases": phases,
        "targets": [] if completed else [
            (TARGET_LABELS[d.clock], d.due_on)
            for d in deadlines(get_session(), case, case_policy(), now())
            if d.running and d.clock in TARGET_LABELS
        ],
        # Said the same way whatever the reason, so the page reveals nothing about why.
        "target_changed": any(step.event == "extend_deadline" for step in case.steps),
        "can_withdraw": _can_withdraw(case),
    }
    errors = form.errors if form.is_submitted() else {}
    page = render_template(
        "public/status.html", progress=progress, form=form, errors=errors,
        withdraw_url=url_for("public.withdraw", token=token),
    )
    return page, 400 if errors else 200
