"""The auditor's console: the state of the hash chain, a search of the decision log, each case's
decision trail and a CSV export. Every view is GET only: auditors read and change nothing (the
only writes are the s.62 log entries recording that they looked and what they took away).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Response,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from disclosure_app.audit import chain as audit
from disclosure_app.audit import queries as audit_queries
from disclosure_app.audit.blueprint import bp
from disclosure_app.audit.forms import AuditSearchForm
from disclosure_app.audit.queries import AuditFilter
from disclosure_app.cases.queue import record_download, view_case
from disclosure_app.cases.step_display import role_label
from disclosure_app.db import get_session
from disclosure_app.documents import csv_export
from disclosure_app.security import accounts as users
from disclosure_app.security.sessions import step_up_required
from disclosure_app.web.access import allow
from disclosure_app.web.context import now
from workflows.roles import Role

TRAIL_PURPOSE = "Audit review of the decision trail"


def _search_form() -> tuple[AuditSearchForm, AuditFilter | None]:
    """The search form read from the query string, and its filter (None when it is invalid)."""
    session = get_session()
    form = AuditSearchForm(formdata=request.args, staff=users.list_users(session))
    if not form.validate():
        return form, None
    case_id = None
    reference = form.reference.data or None
    if reference:
        case_id = audit_queries.case_id_for_reference(session, reference)
        if case_id is None:
            form.reference.errors = ["No case has this reference"]
            return form, None
    return form, AuditFilter(
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        actor_id=int(form.actor.data) if form.actor.data else None,
        action=form.action.data or None,
        category=form.category.data or None,
        case_id=case_id,
        case_reference=reference,
    )


@bp.get("/")
@allow(Role.auditor)
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    verification = audit.verify_chain(
        session, public_key=current_app.config.get("AUDIT_PUBLIC_KEY"),
        copy_dirs=current_app.config["AUDIT_CHECKPOINT_COPY_DIRS"])
    verified_at = now()
    form, filt = _search_form()
    context: dict[str, Any] = {
        "form": form,
        "verification": verification,
        "verified_at": verified_at,
        "entries": [],
        "references": {},
        "next_url": None,
        "searched": filt is not None,
    }
    if filt is None:
        return render_template("audit/index.html", **context), 400
    before = form.before_seq
    page = audit_queries.search(
        session, filt, before=before, page_size=current_app.config["AUDIT_PAGE_SIZE"]
    )
    args = form.query_args()
    context.update(
        entries=page.entries,
        references=audit_queries.case_references(session, page.entries),
        next_url=url_for("audit.index", **args, before=page.next_before)
        if page.next_before else None,
        newest_url=url_for("audit.index", **args) if before else None,
        export_url=url_for("audit.export_csv", **args),
        action_label=audit_queries.action_label,
        entry_states=audit_queries.entry_states,
        role_label=role_label,
    )
    return render_template("audit/index.html", **context)


@bp.get("/cases/<id:case_id>")
@allow(Role.auditor)
def case_trail(case_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    case = view_case(session, current_user, case_id, purpose=TRAIL_PURPOSE, now=now())
    trail = audit_queries.case_trail(session, case)
    return render_template(
        "audit/case_trail.html",
        case=case,
        trail=trail,
        action_label=audit_queries.action_label,
        entry_states=audit_queries.entry_states,
        role_label=role_label,
    )


@bp.get("/export.csv")
@allow(Role.auditor)
@step_up_required()
def export_csv():  # type: ignore[no-untyped-def]
    session = get_session()
    form, filt = _search_form()
    if filt is None:
        return render_template(
            "audit/index.html", form=form, verification=None, entries=[], references={},
            searched=False,
        ), 400
    up_to = audit_queries.export_bound(session)
    rows = audit_queries.count_matching(session, filt, up_to_seq=up_to)
    started = now()
    # The export is logged before a byte leaves: if logging fails, nothing is sent.
    record_download(
        session,
        current_user,
        None,
        action="audit_csv_exported",
        details={"rows": rows, "up_to_seq": up_to, "filters": filt.describe()},
        now=started,
    )
    body = stream_with_context(_csv_body(filt, up_to))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-log-{_stamp(started)}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_body(filt: AuditFilter, up_to: int):  # type: ignore[no-untyped-def]
    session = get_session()

    def rows():  # type: ignore[no-untyped-def]
        for batch, references in audit_queries.export_batches(session, filt, up_to_seq=up_to):
            for entry in batch:
                yield csv_export.audit_row(entry, references)

    yield from csv_export.csv_lines(csv_export.AUDIT_COLUMNS, rows())


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")
