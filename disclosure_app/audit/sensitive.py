"""The page that asks why someone needs a case's sensitive sections (once per case per sign-in
session). What a view uses to ask for it (``requires_reason``, ``reason_given``, ``reason_form``)
is in ``audit.reasons``: other blueprints import that, never this module.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from disclosure_app.audit import consultation, reasons
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid
from disclosure_app.db import get_session
from disclosure_app.web.access import CASE_READERS, allow
from disclosure_app.web.context import now

bp = Blueprint("sensitive", __name__, url_prefix="/staff/cases")


def _safe_next(target: str | None, case_id: int) -> str:
    fallback = url_for("staff.case", case_id=case_id)
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return fallback if urlsplit(target).netloc else target


@bp.route("/<id:case_id>/reason", methods=["GET", "POST"])
@allow(*CASE_READERS)
def give_reason(case_id: int) -> Any:
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    db = get_session()
    case = load_case_in_scope(db, user, case_id)  # out of scope: the same 404 as missing
    form = reasons.ReasonForm()
    if request.method == "GET":
        section = request.args.get("section", "subject")
        if section not in consultation.SECTIONS:
            abort(404)
        form = reasons.reason_form(case_id, section, request.args.get("next"))
        return render_template("sensitive/reason.html", case=case, form=form,
                               section_label=consultation.SECTIONS[section])
    section = form.section.data or ""
    if form.validate_on_submit():
        try:
            entry = consultation.give_reason(db, user, case_id, reason_code=form.reason.data,
                                             note=form.note.data or "", section=section, now=now())
        except InputInvalid as exc:
            for name, message in exc.errors.items():
                field = getattr(form, name, None)
                target = field if field is not None and name != "section" else form.reason
                target.errors = [*target.errors, message]
        else:
            reasons.remember(case_id, entry.seq)
            return redirect(_safe_next(form.next.data, case_id), code=303)
    return render_template("sensitive/reason.html", case=load_case_in_scope(db, user, case_id),
                           form=form,
                           section_label=consultation.SECTIONS.get(section, "these details")), 400
