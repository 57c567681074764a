"""Allocation pages (the teams blueprint): claiming a case, assigning or reassigning it, the
supervisors' workload page, moving an officer's cases and arranging cover.

Views stay thin: load what the address names, check the form, one service call, flash,
redirect (PRG). Who may do what is the service's answer (``workflows.allocation``): a person
who may never do it gets a 403, a case or cover that does not allow it now a 409, and a form
with a problem is shown again with its messages and a 400, nothing stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.models import Case, User
from disclosure_app.teams import allocation, cover, workload
from disclosure_app.teams.case_page import allocation_panel
from disclosure_app.teams.forms import (
    AssignForm,
    ClaimForm,
    CoverForm,
    EndCoverForm,
    MoveCasesForm,
    put_errors,
)
from disclosure_app.web.access import POLICE, allow
from disclosure_app.web.context import allocation_policy, now
from workflows.roles import Role

bp = Blueprint("teams", __name__, url_prefix="/teams")


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _token_checked(form: Any) -> None:
    """A button's form carries only its CSRF token (checked before any view runs, and again
    here): nothing else of what was sent is read."""
    if not form.validate_on_submit():
        raise InputInvalid({"form": "Send this from its page in the service"})


# --- One case ---------------------------------------------------------------------------------


@bp.post("/cases/<id:case_id>/claim")
@allow(Role.case_officer)
def claim(case_id: int) -> Any:
    _token_checked(ClaimForm())
    done = allocation.claim(get_session(), _user(), case_id, now=now())
    flash(f"You now hold case {done.case.reference}.", "success")
    return redirect(url_for("staff.case", case_id=case_id), code=303)


@bp.route("/cases/<id:case_id>/assign", methods=["GET", "POST"])
@allow(*POLICE)
def assign(case_id: int) -> Any:
    session = get_session()
    case = load_case_in_scope(session, _user(), case_id)
    allocation.check_may_assign(session, _user(), case, allocation_policy())
    form = AssignForm(prefix="assign")
    if not form.is_submitted():
        return _assign_page(case, form)
    if form.validate():
        try:
            done = allocation.assign(session, _user(), case_id, form.to_user_id.id_value,
                                     form.reason.data or "", policy=allocation_policy(),
                                     now=now())
        except InputInvalid as exc:
            put_errors(form, exc.errors)
        else:
            flash(f"Case {done.case.reference} is now held by {done.to_user.display_name}.",
                  "success")
            return redirect(url_for("staff.case", case_id=case_id), code=303)
    return _assign_page(case, form), 400


def _assign_page(case: Case, form: AssignForm) -> str:
    panel = allocation_panel(get_session(), case, _user(), allocation_policy())
    assert panel is not None  # partners are refused before this
    form.to_user_id.set_people(panel.officers)
    return render_template("teams/assign.html", case=case, panel=panel, form=form)


# --- The workload page ------------------------------------------------------------------------


@bp.get("/workload", endpoint="workload")
@allow(*POLICE)
def workload_page() -> Any:
    return _workload(MoveCasesForm(prefix="move"), CoverForm(prefix="cover"))


def _workload(move_form: MoveCasesForm, cover_form: CoverForm) -> str:
    page = workload.workload_page(get_session(), _user(), policy=allocation_policy(), now=now())
    move_form.from_user_id.set_people(page.holders)
    move_form.to_user_id.set_people(page.takers)
    cover_form.absent_user_id.set_people(page.takers)
    cover_form.cover_user_id.set_people(page.takers)
    return render_template("teams/workload.html", page=page, move_form=move_form,
                           cover_form=cover_form, end_form=EndCoverForm(),
                           stages=workload.OPEN_STAGES, clock_states=workload.CLOCK_STATES,
                           clock_labels=workload.CLOCK_LABELS)


@bp.post("/workload/move")
@allow(*POLICE)
def move_cases() -> Any:
    form = MoveCasesForm(prefix="move")
    if form.validate():
        try:
            moved = allocation.bulk_reassign(
                get_session(), _user(), form.from_user_id.id_value, form.to_user_id.id_value,
                form.reason.data or "", policy=allocation_policy(), now=now())
        except InputInvalid as exc:
            put_errors(form, exc.errors)
        else:
            flash(f"{len(moved)} open {'case' if len(moved) == 1 else 'cases'} moved to "
                  f"{moved[0].to_user.display_name}.", "success")
            return redirect(url_for("teams.workload"), code=303)
    return _workload(form, CoverForm(prefix="cover")), 400


@bp.post("/covers")
@allow(*POLICE)
def arrange_cover() -> Any:
    form = CoverForm(prefix="cover")
    if form.validate():
        try:
            made = cover.arrange_cover(get_session(), _user(), cover.CoverInput(
                form.absent_user_id.id_value, form.cover_user_id.id_value, form.starts_on.data,
                form.ends_on.data, form.reason.data or ""), policy=allocation_policy(), now=now())
        except InputInvalid as exc:
            put_errors(form, exc.errors)
        else:
            flash(f"{made.cover_user.display_name} covers for {made.absent_user.display_name} "
                  f"from {made.starts_on:%d %B %Y} to {made.ends_on:%d %B %Y}.", "success")
            return redirect(url_for("teams.workload"), code=303)
    return _workload(MoveCasesForm(prefix="move"), form), 400


@bp.post("/covers/<id:cover_id>/end")
@allow(*POLICE)
def end_cover(cover_id: int) -> Any:
    _token_checked(EndCoverForm())
    ended = cover.end_cover(get_session(), _user(), cover_id, policy=allocation_policy(),
                            now=now())
    flash(f"The cover of {ended.absent_user.display_name} by {ended.cover_user.display_name} "
          "has ended.", "success")
    return redirect(url_for("teams.workload"), code=303)
