"""The public side, without an account: the start page, the Right to Ask application (form ->
check your answers -> submit -> confirmation) and the applicant's private status page, from which
they may withdraw until a decision is made.

The status token in ``/status/<token>`` is a secret: nothing here logs it, and the status page
shows only the reference, dates and the public phase (``workflows.status.PUBLIC_PHASES``).
"""

from __future__ import annotations

from typing import Any

import flask
from flask import Blueprint, flash, redirect, render_template, request, url_for

from disclosure_app.access import public
from disclosure_app.context import case_policy, now, timescales
from disclosure_app.db import get_session
from disclosure_app.models import Case
from disclosure_app.public.forms import ApplicationForm, WithdrawForm, application_input
from disclosure_app.services import applications
from disclosure_app.services.deadlines import deadlines
from disclosure_app.services.errors import InputInvalid, StepNotAllowed
from workflows import DisclosureWorkflow
from workflows.status import PUBLIC_PHASES, Status, public_phase

bp = Blueprint("public", __name__)

WITHDRAWN_MESSAGE = ("Your application has been withdrawn. If you are still worried about a child, "
                     "call 101, or 999 in an emergency.")
# The service's own refusal names the case's internal state, which the applicant must not see.
CANNOT_WITHDRAW = ("This application can no longer be withdrawn online. If you want to stop it, "
                   "call 101 and give your reference number.")
# What the applicant may call each target date (never the internal stage names).
TARGET_LABELS = {
    "Initial checks": "Initial checks",
    "Interview": "Meeting with you",
    "Overall": "Whole process",
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
    if request.method == "POST" and request.form.get("action") == "change":
        return _application_page(form)  # back from check your answers, values as posted
    if form.validate_on_submit():
        return render_template("public/check_answers.html", form=form)
    return _application_page(form)


@bp.post("/apply/submit")
@public
def submit():  # type: ignore[no-untyped-def]
    """Store the application. The answers come back as hidden fields: validate them again."""
    form = ApplicationForm()
    if not form.validate():
        return _application_page(form)
    try:
        done = applications.submit_application(
            get_session(), application_input(form),
            policy=case_policy(), timescales=timescales(), now=now(),
        )
    except InputInvalid as exc:
        form.add_service_errors(exc.errors)
        return _application_page(form)
    flask.session["confirmation"] = {"reference": done.case.reference, "token": done.status_token}
    return redirect(url_for("public.confirmation"), code=303)


@bp.get("/apply/confirmation")
@public
def confirmation():  # type: ignore[no-untyped-def]
    """Shown once: the status link exists nowhere else (only its hash is stored)."""
    details = flask.session.pop("confirmation", None)
    if not isinstance(details, dict) or not details.get("token"):
        return redirect(url_for("public.start"))
    return render_template(
        "public/confirmation.html",
        reference=details.get("reference", ""),
        status_url=url_for("public.status", token=details["token"], _external=True),
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
    if not _can_withdraw(case):
        raise StepNotAllowed(CANNOT_WITHDRAW)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _status_page(case, token, form)
    try:
        applications.withdraw_by_applicant(
            get_session(), token, form.reason.data, policy=case_policy(), now=now()
        )
    except StepNotAllowed:
        raise StepNotAllowed(CANNOT_WITHDRAW) from None  # a decision was made meanwhile
    flash(WITHDRAWN_MESSAGE, "success")
    return redirect(url_for("public.status", token=token), code=303)


# --- Helpers -------------------------------------------------------------------------------


def _application_page(form: ApplicationForm):  # type: ignore[no-untyped-def]
    errors = form.summary_errors()
    page = render_template("public/apply.html", form=form, errors=errors)
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
            (TARGET_LABELS[d.label], d.due_at) for d in deadlines(case, now())
        ],
        "can_withdraw": _can_withdraw(case),
    }
    errors = form.errors if form.is_submitted() else {}
    page = render_template(
        "public/status.html", progress=progress, form=form, errors=errors,
        withdraw_url=url_for("public.withdraw", token=token),
    )
    return page, 400 if errors else 200
