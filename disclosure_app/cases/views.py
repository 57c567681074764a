"""Staff pages: the case queue, the case page, one form per workflow step, and opening a Right
to Know case.

Views stay thin: validate a form, call one service, flash, redirect (PRG). A step form's POST is
one call, ``step_requests.send``, whose outcome the view turns into a response; the workflow
machine has the last word on every step (a POST that saves always goes to ``take_step``,
whatever the page showed).

Every form carries a one-time key (``services.idempotency``): sent twice, it is saved once, and
the repeat lands on the case, told so. Sent after someone else changed the case, it is refused
with who changed it and when (409), and what was typed is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from disclosure_app.audit import reasons as sensitive
from disclosure_app.cases import applications, step_requests, workflow
from disclosure_app.cases import queue as cases
from disclosure_app.cases.deadlines import deadlines, deadlines_on, overdue_labels
from disclosure_app.cases.forms import RIGHT_TO_KNOW_SPEC, QueueFilterForm, RightToKnowForm
from disclosure_app.cases.step_forms import (
    LIMB_NAMES,
    LIMBS_HEADING,
    LIMBS_INTRO,
    fit_to_case,
    form_class_for,
    form_data_to_step,
    layout,
    shown_values,
)
from disclosure_app.clocks import forecasting
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.core import idempotency
from disclosure_app.core.errors import InputInvalid
from disclosure_app.core.idempotency import AlreadySubmitted, Purpose
from disclosure_app.db import get_session
from disclosure_app.documents.case_page import case_documents
from disclosure_app.models import Case, CaseStep, User
from disclosure_app.risk import risk_check
from disclosure_app.security import accounts as users
from disclosure_app.security import mfa, sessions, sign_in
from disclosure_app.security.events import _security_event
from disclosure_app.security.sessions import lockout_policy
from disclosure_app.security.sign_in import Outcome
from disclosure_app.teams.case_page import allocation_panel
from disclosure_app.teams.forms import assign_form_for
from disclosure_app.web.access import CASE_READERS, allow
from disclosure_app.web.context import allocation_policy, case_policy, now
from disclosure_app.web.errors import stale_edit_refused
from disclosure_app.web.form_keys import key_is_sound
from disclosure_app.web.forms import add_errors
from workflows import MAY_SEND
from workflows.errors import (
    RationaleRequired,
)
from workflows.fields import Kind, StepSpec
from workflows.policy import APPROVAL_EVENTS
from workflows.roles import Role
from workflows.status import Status
from workflows.steps import DECISION_STEP_EVENTS, STEPS, step_for

bp = Blueprint("staff", __name__, url_prefix="/staff")
log = logging.getLogger(__name__)

QUEUE_ROLES = (Role.case_officer, Role.decision_maker, Role.partner)
STEP_ROLES = (Role.case_officer, Role.decision_maker, Role.partner)
# Steps that create a case: they have their own pages, never a step form on an existing case.
ENTRY_EVENTS = frozenset({"submit_application", "open_right_to_know"})
# Steps with a page of their own (the signed undertaking is a file upload).
OWN_PAGES = {"record_undertaking": "documents.signed_undertaking"}
CONTACT_READERS = frozenset({Role.case_officer, Role.decision_maker})
# Steps whose page shows the risk check panel (identity, checklist, linked cases).
RISK_PANEL_EVENTS = frozenset({"complete_assessment", "decide_no_disclosure",
                               "record_disclosure_delivered", *DECISION_STEP_EVENTS})
PRESUMPTION_WARNING = (
    "Presumption to disclose: the subject has a child sexual offence conviction and was assessed "
    "as a risk. A decision not to disclose needs a recorded reason why the presumption is "
    "rebutted."
)


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


# --- The queue --------------------------------------------------------------------------------


@bp.get("/")
@allow(*QUEUE_ROLES)
def queue() -> Any:
    form = QueueFilterForm(request.args)
    if not form.validate():
        return _queue_page(form, page=None), 400
    try:
        page = cases.queue_page(
            get_session(),
            _user(),
            form.to_filter(),
            after=request.args.get("after") or None,
            page_size=current_app.config["QUEUE_PAGE_SIZE"],
            now=now(),
            tz=case_policy().local_tz,
        )
    except InputInvalid as exc:
        return _queue_page(form, page=None, errors=exc.errors), 400
    return _queue_page(form, page=page)


def _queue_page(
    form: QueueFilterForm, *, page: cases.QueuePage | None, errors: dict[str, str] | None = None
) -> str:
    at, policy, session = now(), case_policy(), get_session()
    calendar = load_calendar(session, policy, at.date())
    model = forecasting.current_model(session, policy.clocks, _forecast_min_sample())
    rows = []
    for case in page.cases if page else []:
        clocks = deadlines_on(case, calendar, policy, at)
        outlook = forecasting.case_forecast(case, model, calendar, at, _forecast_threshold())
        rows.append({"case": case, "overdue": overdue_labels(clocks), "clocks": clocks,
                     "likely": _likely_labels(clocks, outlook)})
    next_url = None
    if page and page.next_cursor:
        next_url = url_for("staff.queue", **form.query_args(), after=page.next_cursor)
    tabs = [{"view": view, "count": page.counts.get(view, 0),
             "href": url_for("staff.queue", **form.tab_args(view)),
             "current": view is page.view} for view in (page.views if page else ())]
    return render_template(
        "staff/queue.html",
        form=form,
        errors=errors or {},
        rows=rows,
        page=page,
        tabs=tabs,
        next_url=next_url,
        paged=bool(request.args.get("after")),
        first_url=url_for("staff.queue", **form.query_args()),
        can_open_right_to_know=current_user.role is Role.case_officer,
    )


def _forecast_min_sample() -> int:
    return int(current_app.config["FORECAST_MIN_SAMPLE"])


def _forecast_threshold() -> float:
    return float(current_app.config["FORECAST_ALERT_PROBABILITY"])


def _likely_labels(clocks: list[Any], outlook: forecasting.CaseForecast | None) -> list[str]:
    """The running targets not yet breached that the forecast says are likely to be."""
    if outlook is None:
        return []
    running = {d.clock: d for d in clocks if d.running and not d.overdue}
    return [running[c].label for c in outlook.likely_breaches if c in running]


def _case_outlook(case: Any) -> forecasting.CaseForecast | None:
    session, policy, at = get_session(), case_policy(), now()
    model = forecasting.current_model(session, policy.clocks, _forecast_min_sample())
    return forecasting.case_forecast(case, model, load_calendar(session, policy, at.date()), at,
                                      _forecast_threshold())


# --- The case page ----------------------------------------------------------------------------


@bp.get("/cases/<id:case_id>")
@allow(*CASE_READERS)
def case(case_id: int) -> Any:
    user = _user()
    # The subject's and children's details only after a reason (issue 6: once per case per
    # session); the consultation entry names the reason's entry and the sections shown.
    reason_seq = sensitive.reason_given(case_id)
    shown = {"sections": ["subject", "children"], "reason_seq": reason_seq} if reason_seq else {}
    the_case = cases.view_case(
        get_session(), user, case_id, purpose="Case page opened", now=now(), justification=shown
    )
    partner_names = {inv.user_id: inv.user.display_name for inv in the_case.invitations}
    allocation = allocation_panel(get_session(), the_case, user, allocation_policy())
    return render_template(
        "staff/case.html",
        allocation=allocation,
        assign_form=assign_form_for(allocation),
        case=the_case,
        status=Status(the_case.status),
        deadlines=deadlines(get_session(), the_case, case_policy(), now()),
        outlook=_case_outlook(the_case) if user.role is not Role.partner else None,
        actions=workflow.step_offers(the_case, user, case_policy()),
        timeline=[_timeline_entry(step, partner_names) for step in the_case.steps
                  if _shown_to(user, step)],
        show_applicant_details=user.role in CONTACT_READERS,
        show_decision=user.role is not Role.partner,
        case_documents=case_documents(the_case, user),
        risk=_risk_panel(the_case, user),
        sensitive_open=reason_seq is not None,
        reason_form=None if reason_seq else sensitive.reason_form(case_id, "subject"),
    )


def _shown_to(user: User, step: CaseStep) -> bool:
    """Partner agencies see what they need for their part and no more: their own invitation
    (what was asked of them) and their own agency's views, never the police's internal steps,
    the interview or the decision."""
    if user.role is not Role.partner:
        return True
    if step.event == "invite_partner":
        return str((step.data or {}).get("partner_user_id")) == str(user.id)
    return step.event == "record_agency_view" and step.actor_id == user.id


def _risk_panel(case: Case, user: User) -> risk_check.CasePanel | None:
    """The risk check summary, linked cases and prompts: police and auditors, never partners."""
    if user.role is Role.partner:
        return None
    return risk_check.case_panel(get_session(), case, case_policy())


def _timeline_entry(step: CaseStep, partner_names: dict[int, str]) -> dict[str, Any]:
    # A step recorded under an event the code no longer has still reads sensibly.
    spec = STEPS.get(step.event) or StepSpec(step.event, step.event.replace("_", " ").capitalize())
    values = shown_values(spec, step.data or {}, partner_names)
    limbs = [v for v in values if spec.is_decision and v.name in LIMB_NAMES]
    return {
        "step": step,
        "title": spec.title,
        "role": None if step.actor_role is Role.applicant else Role(step.actor_role).label,
        "from_label": None if step.from_status is Status.draft else step.from_status.label,
        "to_label": step.to_status.label,
        "values": [v for v in values if v not in limbs],
        "limbs": limbs,
        "rationale_label": spec.rationale_label,
    }


# --- Step forms -------------------------------------------------------------------------------


def _spec_or_404(event: str) -> StepSpec:
    if event not in STEPS or event in ENTRY_EVENTS:
        abort(404)
    return step_for(event)


def _partner_choices(case: Case, spec: StepSpec) -> list[tuple[str, str]]:
    """Active partner-agency members not already invited to this case."""
    if not any(f.kind is Kind.partner for f in spec.fields):
        return []
    invited = {inv.user_id for inv in case.invitations}
    return [
        (str(p.id), p.display_name)
        for p in users.partner_users(get_session())
        if p.id not in invited
    ]


def _refuse_unless_available(case: Case, spec: StepSpec, user: User) -> None:
    """Before the form is filled in: the machine's own reasons this step cannot be taken now
    (the POST asks the machine again, whatever the page showed)."""
    refusal = workflow.refusal_before_form(case, user.as_actor(), spec.event, case_policy())
    if refusal is not None:
        raise refusal


@bp.route("/cases/<id:case_id>/steps/<event>", methods=["GET", "POST"])
@allow(*STEP_ROLES)
def step(case_id: int, event: str) -> Any:
    spec = _spec_or_404(event)
    user = _user()
    if user.role not in MAY_SEND[event]:
        abort(403)
    the_case = workflow.load_case_in_scope(get_session(), user, case_id)
    if event in OWN_PAGES:
        return redirect(url_for(OWN_PAGES[event], case_id=case_id), code=303)
    form = form_class_for(spec, _partner_choices(the_case, spec))()
    if request.method == "GET":
        return _form_page(the_case, spec, form, user)
    outcome = step_requests.send(get_session(), user, the_case, _sent(spec, form),
                                 confirm_step_up=lambda: _stepped_up(user),
                                 policy=case_policy(), now=now())
    match outcome:
        case step_requests.Saved():
            flash(f"{spec.title}: saved", "success")
            return redirect(url_for("staff.case", case_id=case_id), code=303)
        case step_requests.Replayed():
            return _already_saved(spec, case_id)
        case step_requests.StepUpNeeded():
            return _step_page(the_case, spec, form, step_up_needed=True), 401
        case step_requests.ReasonsChecked(findings=findings):
            return _step_page(the_case, spec, form, quality=findings), (400 if form.errors else 200)
        case step_requests.FieldErrors(case=shown, errors=errors, findings=findings):
            key_is_sound(form)  # a key that cannot be ours: say so, and give a fresh one
            add_errors(form, errors)
            return _step_page(shown, spec, form, quality=findings), 400
        case step_requests.Refused(case=shown, message=message):
            # Keep what was typed and say what is missing.
            form.form_errors = [*form.form_errors, message]
            return _step_page(shown, spec, form), 409
        case step_requests.Stale():
            return _stale_step_page(outcome, spec, form)


def _sent(spec: StepSpec, form: Any) -> step_requests.SentStep:
    """The form as plain values. Its own checks run here, before its data is read."""
    valid = form.validate_on_submit()
    return step_requests.SentStep(
        event=spec.event,
        expected_version=form.expected_version.data,
        data=form_data_to_step(spec, form),
        rationale=form.rationale.data or "",
        submission_key=form.submission_key.data,
        form_valid=valid,
        check_reasons="check_reasons" in request.form,
    )


def _stale_step_page(outcome: step_requests.Stale, spec: StepSpec, form: Any) -> Any:
    """Two people on one case: the other got there first. Everything typed is kept, against
    the case as it is now, to be reviewed and sent again."""
    stale_edit_refused(outcome.case.id)
    form.expected_version.data = outcome.case.version
    form.expected_version.raw_data = [str(outcome.case.version)]
    return _step_page(outcome.case, spec, form, stale=outcome.message), 409


def _form_page(case: Case, spec: StepSpec, form: Any, user: User) -> Any:
    _refuse_unless_available(case, spec, user)
    form.expected_version.data = case.version
    # A decision or its approval: with no fresh code, go and confirm first (SEC-13).
    if step_requests.needs_step_up(spec) and not sessions.step_up_is_fresh():
        return redirect(sessions.confirm_url())
    return _step_page(case, spec, form)


def _stepped_up(user: User) -> bool:
    """Step-up is fresh, or the form carries a good code from the person's authenticator. On
    the POST (the confirmation ran out while the decision was being written), nothing is saved
    without one, everything typed stays, and a code field appears (401)."""
    if sessions.step_up_is_fresh():
        return True
    code = request.form.get("step_up_code", "")
    if not code:
        _security_event("step_up_required", user_id=user.id)
        return False
    outcome = sign_in.confirm_identity(get_session(), user.id, code, now=now(),
                                       cipher=mfa.cipher(), policy=lockout_policy())
    if outcome is not Outcome.ok:
        _security_event("sign_in_failed", factor="totp", user_id=user.id, reason="step_up")
        return False
    sessions.stepped_up()
    _security_event("step_up", user_id=user.id)
    return True


def _already_saved(spec: StepSpec, case_id: int) -> Any:
    flash(f"{spec.title}: already saved from this form, so nothing was saved again. To record "
          "something new, open the step again from this page.", "success")
    return redirect(url_for("staff.case", case_id=case_id), code=303)


def _step_page(
    case: Case,
    spec: StepSpec,
    form: Any,
    *,
    stale: str | None = None,
    quality: step_requests.Findings | None = None,
    step_up_needed: bool = False,
) -> str:
    fit_to_case(form, spec, case)
    return render_template(
        "staff/step.html",
        step_up_needed=step_up_needed,
        case=case,
        status=Status(case.status),
        spec=spec,
        form=form,
        quality=quality,
        pending_decision=_pending_decision(case) if spec.event in APPROVAL_EVENTS else None,
        groups=layout(spec),
        limbs_heading=LIMBS_HEADING,
        limbs_intro=LIMBS_INTRO,
        stale=stale,
        presumption_warning=(
            PRESUMPTION_WARNING
            if spec.event == "decide_no_disclosure" and case.child_sexual_offence_flag
            else None
        ),
        no_partners_left=any(
            f.kind is Kind.partner and len(form[f.name].choices) <= 1 for f in spec.fields
        ),
        risk=_risk_panel(case, _user()) if spec.event in RISK_PANEL_EVENTS else None,
    )


def _pending_decision(case: Case) -> dict[str, Any] | None:
    """The decision awaiting approval, as the approver must read it: every field, the limbs,
    the rationale and what the quality checks flagged."""
    decisions = [s for s in case.steps if step_for(s.event).is_decision] if case.steps else []
    if not decisions:
        return None
    partner_names = {inv.user_id: inv.user.display_name for inv in case.invitations}
    entry = _timeline_entry(decisions[-1], partner_names)
    entry["quality"] = decisions[-1].quality or {}
    return entry


# --- Right to Know ----------------------------------------------------------------------------


@bp.route("/right-to-know/new", methods=["GET", "POST"])
@allow(Role.case_officer)
def new_right_to_know() -> Any:
    form = RightToKnowForm()
    if form.is_submitted():
        earlier = idempotency.earlier(get_session(), form.submission_key.data,
                                      Purpose.right_to_know, user_id=_user().id)
        if earlier is not None:
            return _right_to_know_opened(earlier.case_id, earlier.reference, again=True)
        valid = form.validate()
        if key_is_sound(form) and valid:
            try:
                new_case = applications.open_right_to_know(
                    get_session(),
                    form.referral(),
                    user=_user(),
                    policy=case_policy(),
                    now=now(),
                    submission_key=form.submission_key.data,
                )
            except InputInvalid as exc:
                add_errors(form, exc.errors)
            except RationaleRequired as exc:
                add_errors(form, {"rationale": exc.message})
            except AlreadySubmitted as exc:  # the same form, sent at the same moment
                return _right_to_know_opened(exc.case_id, exc.reference, again=True)
            else:
                return _right_to_know_opened(new_case.id, new_case.reference)
    page = render_template(
        "staff/new_right_to_know.html",
        form=form,
        spec=RIGHT_TO_KNOW_SPEC,
    )
    return page, (400 if form.errors else 200)


def _right_to_know_opened(case_id: int | None, reference: str, *, again: bool = False) -> Any:
    if again:
        flash(f"Right to Know case {reference} was already opened from this form, so no second "
              "case was opened.", "success")
    else:
        flash(f"Right to Know case {reference} opened", "success")
    return redirect(url_for("staff.case", case_id=case_id), code=303)
