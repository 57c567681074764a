"""The records manager's pages (the records blueprint): the review queue, one record's retention
page, and its forms (review, set a hold, lift a hold).

Thin views: load, authorise (records managers only; an open case is a 404, like a missing one),
one service call, PRG. A form with a problem is shown again with a 400, nothing stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.records import rectification, reviews, subject_access
from disclosure_app.records.forms import HoldForm, LiftHoldForm, RectifyForm, ReviewForm
from disclosure_app.security.sessions import sends_a_file, step_up_required
from disclosure_app.web.access import allow
from disclosure_app.web.context import case_policy, letterhead, now
from disclosure_app.web.forms import add_errors, choice_list
from workflows.allocation import local_day
from workflows.retention import HOLD_LABELS, HoldKind
from workflows.roles import Role

bp = Blueprint("records", __name__, url_prefix="/records")


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _today() -> date:
    return local_day(now(), case_policy().local_tz)


def _after() -> tuple[date, int] | None:
    """The queue's keyset cursor (?after=YYYY-MM-DD.ID); anything malformed is the first page."""
    raw = request.args.get("after", "")
    day, _, ident = raw.partition(".")
    try:
        return (date.fromisoformat(day), int(ident)) if ident.isdecimal() and len(ident) < 19 \
            else None
    except ValueError:
        return None


@bp.get("/", endpoint="queue")
@allow(Role.records_manager)
def queue_page() -> Any:
    queue = reviews.review_queue(get_session(), _today(), after=_after())
    return render_template("records/queue.html", queue=queue, today=_today())


@bp.get("/cases/<id:case_id>", endpoint="case")
@allow(Role.records_manager)
def case_page(case_id: int) -> Any:
    return _case_page(case_id, ReviewForm(prefix="review"), HoldForm(prefix="hold"))


def _case_page(case_id: int, review_form: ReviewForm, hold_form: HoldForm,
               lift_form: LiftHoldForm | None = None) -> str:
    record = reviews.case_record(get_session(), case_id, case_policy())
    return render_template("records/case.html", record=record, review_form=review_form,
                           hold_form=hold_form, lift_form=lift_form or LiftHoldForm(prefix="lift"),
                           hold_labels={HoldKind(k): v for k, v in HOLD_LABELS.items()},
                           today=_today())


@bp.post("/cases/<id:case_id>/review")
@allow(Role.records_manager)
def review(case_id: int) -> Any:
    reviews.load_closed_case(get_session(), case_id)
    form = ReviewForm(prefix="review")
    if form.validate():
        try:
            done = reviews.record_review(
                get_session(), _user(), case_id,
                reviews.ReviewInput(str(form.decision.data or ""), form.reason.data or "",
                                    form.next_review_on.data),
                policy=case_policy(), today=_today(), now=now())
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            flash("Review recorded: the record is retained until its next review."
                  if done.decision == "retain" else
                  "Review recorded: the record will be disposed of at the next disposal run.",
                  "success")
            return redirect(url_for("records.case", case_id=case_id), code=303)
    return _case_page(case_id, form, HoldForm(prefix="hold")), 400


@bp.post("/cases/<id:case_id>/holds")
@allow(Role.records_manager)
def set_hold(case_id: int) -> Any:
    reviews.load_closed_case(get_session(), case_id)
    form = HoldForm(prefix="hold")
    if form.validate():
        try:
            reviews.set_hold(get_session(), _user(), case_id, str(form.hold_kind.data or ""),
                             form.hold_reason.data or "", now=now())
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            flash("Legal hold set: the record cannot be disposed of until it is lifted.",
                  "success")
            return redirect(url_for("records.case", case_id=case_id), code=303)
    return _case_page(case_id, ReviewForm(prefix="review"), form), 400


@bp.post("/cases/<id:case_id>/holds/<id:hold_id>/lift")
@allow(Role.records_manager)
def lift_hold(case_id: int, hold_id: int) -> Any:
    reviews.load_closed_case(get_session(), case_id)
    form = LiftHoldForm(prefix="lift")
    if form.validate():
        try:
            reviews.lift_hold(get_session(), _user(), case_id, hold_id,
                              form.lift_reason.data or "", now=now())
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            flash("Legal hold lifted.", "success")
            return redirect(url_for("records.case", case_id=case_id), code=303)
    return _case_page(case_id, ReviewForm(prefix="review"), HoldForm(prefix="hold"), form), 400


# --- Correcting a personal detail, and the applicant's subject access request (police) -----


@bp.route("/cases/<id:case_id>/rectify", methods=["GET", "POST"])
@allow(*rectification.MAY_RECTIFY)
def rectify(case_id: int) -> Any:
    session = get_session()
    case = load_case_in_scope(session, _user(), case_id)
    form = RectifyForm()
    form.target.choices = choice_list([("", "Choose the detail"),
                                       *rectification.choices(case)])
    if not form.is_submitted():
        return _rectify_page(case_id, form)
    if form.validate():
        try:
            rectification.rectify(session, _user(), case_id, rectification.Correction(
                str(form.target.data or ""), form.new_value.data or "", form.reason.data or ""),
                now=now())
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            flash("Detail corrected. The value it replaced is kept for the auditors.", "success")
            return redirect(url_for("staff.case", case_id=case_id), code=303)
    return _rectify_page(case_id, form), 400


def _rectify_page(case_id: int, form: RectifyForm) -> str:
    session = get_session()
    case = load_case_in_scope(session, _user(), case_id)
    return render_template("records/rectify.html", case=case, form=form,
                           history=rectification.history(session, case_id))


@bp.get("/cases/<id:case_id>/subject-access.pdf")
@sends_a_file
@allow(*subject_access.MAY_EXPORT)
@step_up_required()
def subject_access_export(case_id: int) -> Response:
    done = subject_access.export(get_session(), _user(), case_id,
                                 force_name=letterhead().force_name, now=now())
    response = Response(done.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{done.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
