"""Documents that leave the system: each download is an s.62 disclosure to the downloader and is
logged (with the SHA-256 of the exact bytes served) before it is sent."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, render_template
from flask_login import current_user

from disclosure_app.access import allow
from disclosure_app.context import now
from disclosure_app.db import get_session
from disclosure_app.pdf import records
from disclosure_app.pdf.records import DocumentTooLong, build_case_record
from disclosure_app.sensitive import justification, requires_reason
from disclosure_app.services.cases import record_download
from disclosure_app.services.step_display import people_names
from disclosure_app.services.workflow import load_case_in_scope
from workflows.roles import Role

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.get("/cases/<id:case_id>/decision-record.pdf")
@allow(Role.case_officer, Role.decision_maker, Role.auditor)
@requires_reason("decision_record")  # it holds the subject's and children's details
def case_record(case_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    case = load_case_in_scope(session, current_user, case_id)
    steps = list(case.steps)
    generated_at = now()
    pdf = build_case_record(
        case,
        steps,
        force_name=current_app.config["FORCE_NAME"],
        generated_at=generated_at,
        generated_by=f"{current_user.display_name} ({current_user.role.label})",
        people=people_names(session, steps),
    )
    record_download(
        session,
        current_user,
        case_id,
        action="document_downloaded",
        details={
            "document": "decision_record",
            "reference": case.reference,
            "sha256": hashlib.sha256(pdf).hexdigest(),
            **justification(case_id),
        },
        now=generated_at,
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="decision-record-{case.reference}.pdf"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(DocumentTooLong)
def _too_long(exc: DocumentTooLong):  # type: ignore[no-untyped-def]
    message = (f"The document would be longer than {records.MAX_PAGES} pages, so it was not "
               "produced and nothing was downloaded. Ask the service team for an extract.")
    return render_template("errors/error.html", status=422, title="This document is too long",
                           message=message), 422
