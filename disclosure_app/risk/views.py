"""Staff pages of the risk check: who the subject is (register search, propose, confirm, no
trace), the checks checklist, the risk check view and manual case links.

The ``risk`` blueprint shares the staff pages' /staff prefix, so the addresses are those of the
case they belong to. Views stay thin: validate a form, call one service, flash,
redirect (PRG); a refused form is shown again with a GOV.UK error summary and a 400, storing
nothing. Register data is police-only: partners never see it, auditors read the risk check view.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from disclosure_app.cases import links, workflow
from disclosure_app.core.errors import InputInvalid
from disclosure_app.core.idempotency import AlreadySubmitted
from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.risk import risk_check
from disclosure_app.risk.forms import (
    CheckForm,
    LinkCaseForm,
    NoTraceForm,
    ProposeMatchForm,
    ReviewMatchForm,
    RiskCheckPurposeForm,
)
from disclosure_app.web.access import POLICE, allow
from disclosure_app.web.context import case_policy, now
from disclosure_app.web.form_keys import key_is_sound
from disclosure_app.web.forms import add_errors, choice_list
from workflows.identity import Identifier
from workflows.roles import Role
from workflows.status import Status

bp = Blueprint("risk", __name__, url_prefix="/staff")


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _to_case(case_id: int, message: str) -> Any:
    flash(message, "success")
    return redirect(url_for("staff.case", case_id=case_id), code=303)


def _already(case_id: int) -> Any:
    return _to_case(case_id, "Already saved from this form, so nothing was saved again.")


# --- Identity ----------------------------------------------------------------------------------


def _identity_page(case_id: int, *, log: bool = True, propose: ProposeMatchForm | None = None,
                   review: ReviewMatchForm | None = None, no_trace: NoTraceForm | None = None
                   ) -> str:
    page = risk_check.identity_page(get_session(), _user(), case_id, now=now(), log=log,
                                    page=request.args.get("page", 1, type=int) or 1)
    propose = propose or ProposeMatchForm(formdata=None)
    propose.set_candidates([(a.candidate.person_id, _candidate_label(a))
                            for a in page.assessments])
    review = review or ReviewMatchForm(formdata=None)
    if page.pending is not None and review.decision_id.data is None:
        review.decision_id.data = page.pending.id
    return render_template(
        "staff/identity.html",
        page=page,
        case=page.case,
        status=Status(page.case.status),
        propose=propose,
        review=review,
        no_trace=no_trace or NoTraceForm(formdata=None),
        identifiers=list(Identifier),
        can_change=Status(page.case.status) in risk_check.WORKING_STATUSES,
        errors={**(propose.errors if propose else {}), **(review.errors if review else {}),
                **(no_trace.errors if no_trace else {})},
    )


def _candidate_label(assessment: Any) -> str:
    c = assessment.candidate
    name = c.names[0].full if c.names else "?"
    born = c.date_of_birth.strftime("%d %B %Y") if c.date_of_birth else "unknown"
    return f"{c.person_id}: {name}, born {born}"


@bp.get("/cases/<id:case_id>/identity")
@allow(*POLICE)
def identity(case_id: int) -> Any:
    return _identity_page(case_id)


@bp.post("/cases/<id:case_id>/identity/propose")
@allow(*POLICE)
def propose_identity(case_id: int) -> Any:
    form = ProposeMatchForm()
    # The candidates are re-checked by the service; any well-formed id may be posted here.
    posted = form.person_id.data
    form.person_id.choices = choice_list([(posted, posted)]) if isinstance(
        posted, str) and posted else []
    valid = form.validate_on_submit()
    if valid and key_is_sound(form):
        proposal = risk_check.Proposal(
            person_id=form.person_id.data,
            identifiers=list(form.identifiers.data or []),
            references={"register_id": form.register_id_reference.data or "",
                        "photograph": form.photograph_reference.data or ""},
            note=form.note.data or "",
            flags_checked=bool(form.flags_checked.data),
        )
        try:
            risk_check.propose_match(get_session(), _user(), case_id, proposal, now=now(),
                                     submission_key=form.submission_key.data)
        except AlreadySubmitted:
            return _already(case_id)
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            return _to_case(case_id, "Match proposed: a colleague must now confirm it.")
    return _identity_page(case_id, log=False, propose=form), 400


@bp.post("/cases/<id:case_id>/identity/review")
@allow(*POLICE)
def review_identity(case_id: int) -> Any:
    form = ReviewMatchForm()
    if form.validate_on_submit() and key_is_sound(form):
        confirm = form.decision.data == "confirm"
        try:
            risk_check.review_match(get_session(), _user(), case_id,
                                    decision_id=form.decision_id.data, confirm=confirm,
                                    note=form.review_note.data or "", now=now(),
                                    submission_key=form.submission_key.data)
        except AlreadySubmitted:
            return _already(case_id)
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            return _to_case(case_id, "Subject identity confirmed." if confirm
                            else "Match rejected: the subject's identity is not resolved.")
    return _identity_page(case_id, log=False, review=form), 400


@bp.post("/cases/<id:case_id>/identity/no-trace")
@allow(*POLICE)
def no_trace(case_id: int) -> Any:
    form = NoTraceForm()
    if form.validate_on_submit() and key_is_sound(form):
        try:
            risk_check.record_no_trace(get_session(), _user(), case_id,
                                       note=form.no_trace_note.data or "", now=now(),
                                       submission_key=form.submission_key.data)
        except AlreadySubmitted:
            return _already(case_id)
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            return _to_case(case_id, "No trace recorded: only a no-disclosure outcome is "
                            "possible unless a match is confirmed later.")
    return _identity_page(case_id, log=False, no_trace=form), 400


# --- The checks checklist ----------------------------------------------------------------------


@bp.route("/cases/<id:case_id>/checks/<source>", methods=["GET", "POST"])
@allow(*POLICE)
def check(case_id: int, source: str) -> Any:
    labels = dict(case_policy().check_sources)
    if source not in labels:
        abort(404)
    user = _user()
    the_case = workflow.load_case_in_scope(get_session(), user, case_id)
    form = CheckForm()
    if form.validate_on_submit() and key_is_sound(form):
        data = risk_check.CheckInput(
            source=source, outcome=form.outcome.data or "", checked_on=form.checked_on.data,
            checked_by=form.checked_by.data or "", result_summary=form.result_summary.data or "",
            reference=form.reference.data or "", reason=form.reason.data or "")
        try:
            risk_check.record_check(get_session(), user, case_id, data, policy=case_policy(),
                                    now=now(), submission_key=form.submission_key.data)
        except AlreadySubmitted:
            return _already(case_id)
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            return _to_case(case_id, f"{labels[source]}: check recorded")
    page = render_template("staff/check.html", case=the_case, status=Status(the_case.status),
                           form=form, label=labels[source], source=source)
    return page, (400 if request.method == "POST" else 200)


# --- The risk check view -----------------------------------------------------------------------


@bp.get("/cases/<id:case_id>/risk-check")
@allow(*POLICE, Role.auditor)
def risk_check_view(case_id: int) -> Any:
    form = RiskCheckPurposeForm(request.args)
    user = _user()
    if "purpose" not in request.args or not form.validate():
        the_case = workflow.load_case_in_scope(get_session(), user, case_id)
        page = render_template("staff/risk_check_purpose.html", case=the_case, form=form,
                               status=Status(the_case.status))
        return page, (400 if "purpose" in request.args else 200)
    view = risk_check.open_risk_check(get_session(), user, case_id, purpose=form.purpose.data,
                                      now=now())
    return render_template(
        "staff/risk_check.html",
        view=view,
        case=view.case,
        status=Status(view.case.status),
        today=now().date(),
        purpose=dict(risk_check.PURPOSES)[form.purpose.data],
        checklist=risk_check.checklist(view.case, case_policy()),
    )


# --- Manual case links -------------------------------------------------------------------------


@bp.route("/cases/<id:case_id>/links/new", methods=["GET", "POST"])
@allow(*POLICE)
def link_case(case_id: int) -> Any:
    user = _user()
    the_case = workflow.load_case_in_scope(get_session(), user, case_id)
    form = LinkCaseForm()
    if form.validate_on_submit() and key_is_sound(form):
        try:
            links.link_by_hand(get_session(), user, case_id, reference=form.reference.data or "",
                               reason=form.reason.data or "", now=now(),
                               submission_key=form.submission_key.data)
        except AlreadySubmitted:
            return _already(case_id)
        except InputInvalid as exc:
            add_errors(form, exc.errors)
        else:
            return _to_case(case_id, "Cases linked")
    page = render_template("staff/link_case.html", case=the_case, form=form,
                           status=Status(the_case.status))
    return page, (400 if request.method == "POST" else 200)
