"""Dip sampling pages: the samples awaiting review, the draws made, a form to draw, and one page
per drawn case for its second review.

Decision-makers draw and review; auditors read the same pages with no forms. Views stay thin:
validate the form, call one service, flash, redirect (303). A refused submission is shown again
with a GOV.UK error summary (400) and nothing is stored. Every form carries a one-time key, so a
double click draws once and records a review once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid
from disclosure_app.core.idempotency import AlreadySubmitted, Purpose
from disclosure_app.db import get_session
from disclosure_app.decisions import dip_sampling
from disclosure_app.decisions.dip_sampling import Result, previous_month
from disclosure_app.decisions.forms import DrawForm, ReviewForm
from disclosure_app.models import DipSample, User
from disclosure_app.web.access import allow
from disclosure_app.web.context import case_policy, now
from disclosure_app.web.form_keys import key_is_sound
from disclosure_app.web.forms import add_errors
from workflows.errors import DecisionMakerNotEligible
from workflows.roles import Role

bp = Blueprint("dip_sampling", __name__, url_prefix="/staff/dip-sampling")

READERS = (Role.decision_maker, Role.auditor)
PENDING_SHOWN = 200


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _share_default() -> int:
    return int(current_app.config.get("DIP_SAMPLE_PERCENT", 10))


# --- The overview and the draw ----------------------------------------------------------------


@bp.get("/")
@allow(*READERS)
def index() -> Any:
    form = None
    if current_user.role is Role.decision_maker:
        first, last = previous_month(now().date())
        form = DrawForm(formdata=None, share_percent=_share_default(), closed_from=first,
                        closed_to=last)
    return _index_page(form)


def _index_page(form: DrawForm | None) -> str:
    session = get_session()
    return render_template(
        "dip_sampling/index.html",
        form=form,
        pending=dip_sampling.pending(session, PENDING_SHOWN),
        pending_total=dip_sampling.pending_count(session),
        reviews=dip_sampling.recent_reviews(session),
        draws=dip_sampling.recent_draws(session),
        Result=Result,
    )


@bp.post("/draw")
@allow(Role.decision_maker)
def draw() -> Any:
    form = DrawForm()
    session = get_session()
    user = _user()
    if idempotency.earlier(session, form.submission_key.data, Purpose.dip_draw,
                           user_id=user.id) is not None:
        return _already_drawn()
    valid = form.validate_on_submit()
    if not (key_is_sound(form) and valid):
        return _index_page(form), 400
    try:
        made = dip_sampling.draw(
            session, user, share_percent=form.share_percent.data,
            closed_from=form.closed_from.data, closed_to=form.closed_to.data, now=now(),
            submission_key=form.submission_key.data)
    except AlreadySubmitted:  # the same form, sent at the same moment
        return _already_drawn()
    except InputInvalid as exc:
        add_errors(form, exc.errors)
        return _index_page(form), 400
    period = (f"{made.closed_from:%d %B %Y}" if made.closed_from == made.closed_to
              else f"{made.closed_from:%d %B %Y} to {made.closed_to:%d %B %Y}")
    if made.population:
        flash(f"Dip sample drawn: {made.selected} of {made.population} closed no-disclosure "
              f"cases ({made.share_percent}%) closed {period}.", "success")
    else:
        flash(f"No closed no-disclosure cases closed {period} were left to draw. The draw has "
              "been recorded.", "success")
    return redirect(url_for("dip_sampling.index"), code=303)


def _already_drawn() -> Any:
    flash("This draw was already made from this form, so nothing was drawn again.", "success")
    return redirect(url_for("dip_sampling.index"), code=303)


# --- One drawn case's review ------------------------------------------------------------------


@bp.get("/samples/<id:sample_id>")
@allow(*READERS)
def review(sample_id: int) -> Any:
    return _review_page(dip_sampling.sample_for(get_session(), sample_id), ReviewForm())


@bp.post("/samples/<id:sample_id>/review")
@allow(Role.decision_maker)  # auditors read, never record
def record_review(sample_id: int) -> Any:
    user = _user()
    session = get_session()
    sample = dip_sampling.sample_for(session, sample_id)
    form = ReviewForm()
    if idempotency.earlier(session, form.submission_key.data, Purpose.dip_review,
                           case_id=sample.case_id, user_id=user.id) is not None:
        return _already_reviewed(sample)
    # Who may not review, or a sample already reviewed, is refused before the form is read.
    dip_sampling.check_reviewable(session, user, sample, case_policy())
    valid = form.validate_on_submit()
    if not (key_is_sound(form) and valid):
        return _review_page(sample, form), 400
    try:
        dip_sampling.record_review(
            session, user, sample.id, result=form.result.data or "",
            findings=form.findings.data or "", follow_up=form.follow_up.data or "",
            policy=case_policy(), now=now(), submission_key=form.submission_key.data)
    except AlreadySubmitted:
        return _already_reviewed(sample)
    except InputInvalid as exc:
        add_errors(form, exc.errors)
        return _review_page(dip_sampling.sample_for(session, sample_id), form), 400
    flash(f"Review of {sample.case.reference} recorded: "
          f"{Result(form.result.data).label.lower()}.", "success")
    return redirect(url_for("dip_sampling.index"), code=303)


def _already_reviewed(sample: DipSample) -> Any:
    flash(f"The review of {sample.case.reference} was already recorded from this form, so "
          "nothing was saved again.", "success")
    return redirect(url_for("dip_sampling.review", sample_id=sample.id), code=303)


def _review_page(sample: DipSample, form: ReviewForm) -> str:
    """The form only for a decision-maker who may review this case and only until it is
    reviewed; otherwise the page says why there is none."""
    user = _user()
    refusal = None
    show_form = sample.reviewed_at is None and user.role is Role.decision_maker
    if show_form:
        try:
            dip_sampling.check_reviewer(get_session(), user, sample.case, case_policy())
        except DecisionMakerNotEligible as exc:
            refusal, show_form = exc.message, False
    return render_template(
        "dip_sampling/review.html",
        sample=sample,
        case=sample.case,
        form=form if show_form else None,
        refusal=refusal,
        result_label=Result(sample.result).label if sample.result else None,
        record_pdf_available="documents.case_record" in current_app.view_functions,
    )
