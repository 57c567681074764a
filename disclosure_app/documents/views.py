"""Documents that leave the system, and the signed undertaking that comes back.

Each download is an s.62 disclosure (to the downloader, or through them to the applicant or the
recipient) and is logged, with the SHA-256 of the exact bytes served, before it is sent. Every
file goes out as an attachment that must not be cached or sniffed as another type.

The signed-undertaking page is the one form that takes a file. Its request-size limit has to be
raised before anything reads the body, and CSRFProtect reads the form in an app-wide
``before_request`` that runs ahead of every blueprint hook: so the limit is set by an app-wide
hook registered in front of it (``_raise_upload_limit``), for this endpoint's POST only.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from disclosure_app.audit.reasons import justification, requires_reason
from disclosure_app.cases import step_requests, workflow
from disclosure_app.cases.queue import record_download
from disclosure_app.cases.step_display import people_names
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import StepNotAllowed
from disclosure_app.db import get_session
from disclosure_app.documents import case_bundle
from disclosure_app.documents import case_documents as documents
from disclosure_app.documents.case_documents import DocumentAltered
from disclosure_app.documents.case_page import RECORD_READERS, UPLOAD_ENDPOINT
from disclosure_app.documents.forms import SignedUndertakingForm
from disclosure_app.documents.pdf import records
from disclosure_app.documents.pdf.records import DocumentTooLong, build_case_record
from disclosure_app.models import Case, User
from disclosure_app.security.sessions import sends_a_file, step_up_required
from disclosure_app.web.access import allow
from disclosure_app.web.context import case_policy, letterhead, now
from disclosure_app.web.errors import stale_edit_refused
from disclosure_app.web.form_keys import key_is_sound
from disclosure_app.web.forms import add_errors
from workflows.roles import Role
from workflows.status import Status

bp = Blueprint("documents", __name__, url_prefix="/documents")
log = logging.getLogger(__name__)

POLICE = (Role.case_officer, Role.decision_maker)


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    response = Response(content, mimetype=media_type)
    # Server-made names only ([A-Za-z0-9._-]), so the quoted form is safe as it is.
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- The decision record ----------------------------------------------------------------------


@bp.get("/cases/<id:case_id>/decision-record.pdf")
@sends_a_file
@allow(*RECORD_READERS)
@step_up_required()
@requires_reason("decision_record")  # it holds the subject's and children's details
def case_record(case_id: int) -> Response:
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
    return _attachment(pdf, "application/pdf", f"decision-record-{case.reference}.pdf")


# --- Documents for the recipient and the applicant --------------------------------------------


def _generated(case_id: int, kind: str) -> Response:
    document = documents.generate(get_session(), _user(), case_id, kind, now=now(),
                                  letterhead=letterhead())
    return _attachment(document.content, document.media_type, document.filename)


@bp.get("/cases/<id:case_id>/undertaking.pdf")
@sends_a_file
@allow(*POLICE)
@step_up_required()
def undertaking(case_id: int) -> Response:
    return _generated(case_id, documents.UNDERTAKING)


@bp.get("/cases/<id:case_id>/non-disclosure-letter.pdf")
@sends_a_file
@allow(*POLICE)
@step_up_required()
def non_disclosure_letter(case_id: int) -> Response:
    return _generated(case_id, documents.NON_DISCLOSURE_LETTER)


@bp.get("/cases/<id:case_id>/closure-letter.pdf")
@sends_a_file
@allow(*POLICE)
@step_up_required()
def closure_letter(case_id: int) -> Response:
    return _generated(case_id, documents.CLOSURE_LETTER)


# --- The signed undertaking -------------------------------------------------------------------


def _max_upload() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", documents.DEFAULT_MAX_UPLOAD_BYTES))


def _raise_upload_limit() -> None:
    if request.endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = _max_upload() + int(
            current_app.config.get("MAX_FORM_MEMORY_SIZE") or 0)


@bp.record_once
def _install_upload_limit(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


def _refuse_unless_available(case: Case, user: User) -> None:
    available = {s.event for s in workflow.available_steps(case, user, case_policy())}
    if documents.UNDERTAKING_EVENT not in available:
        raise StepNotAllowed(
            "A signed undertaking can only be recorded while an approved disclosure is waiting "
            f"to be delivered. This case is at '{Status(case.status).label}'. The case has not "
            "been changed.")


def _upload_page(case: Case, form: SignedUndertakingForm, *, stale: str | None = None) -> str:
    return render_template("documents/signed_undertaking.html", case=case,
                           status=Status(case.status), form=form, stale=stale,
                           max_upload=documents.size_words(_max_upload()))


def _already_saved(case_id: int) -> Response:
    flash("The signed undertaking was already saved from this form, so nothing was saved "
          "again.", "success")
    return redirect(url_for("staff.case", case_id=case_id), code=303)


def _read_upload(form: SignedUndertakingForm) -> tuple[str, bytes]:
    upload = form.document.data
    # One byte over the limit is enough to say it is too large.
    return str(upload.filename or ""), upload.stream.read(_max_upload() + 1)


@bp.route("/cases/<id:case_id>/signed-undertaking", methods=["GET", "POST"])
@allow(Role.case_officer)
def signed_undertaking(case_id: int) -> Any:
    session = get_session()
    user = _user()
    case = load_case_in_scope(session, user, case_id)
    form = SignedUndertakingForm()
    if request.method == "GET":
        _refuse_unless_available(case, user)
        form.expected_version.data = case.version
        return _upload_page(case, form)
    outcome = documents.send_signed_undertaking(
        session, user, case, _sent(case_id, form), policy=case_policy(), now=now(),
        max_bytes=_max_upload())
    match outcome:
        case step_requests.Saved():
            flash("Signed confidentiality undertaking: saved", "success")
            return redirect(url_for("staff.case", case_id=case_id), code=303)
        case step_requests.Replayed():
            return _already_saved(case_id)
        case step_requests.FieldErrors(case=shown, errors=errors):
            key_is_sound(form)  # a key that cannot be ours: say so, and give a fresh one
            add_errors(form, errors)
            return _upload_page(shown, form), 400
        case step_requests.Stale(case=fresh, message=message):
            stale_edit_refused(case_id)
            form.expected_version.data = fresh.version
            form.expected_version.raw_data = [str(fresh.version)]
            return _upload_page(fresh, form, stale=message), 409


def _sent(case_id: int, form: SignedUndertakingForm) -> documents.SentUpload:
    """The form as plain values. Its own checks run first; the file is read only from a form
    that passed them (it holds one then)."""
    valid = form.validate_on_submit()
    filename, content = _read_upload(form) if valid else ("", b"")
    upload = documents.SignedUndertaking(
        case_id=case_id, expected_version=form.expected_version.data or 0,
        filename=filename, content=content, signed_on=form.signed_on.data,
        signed_by=form.signed_by.data or "", rationale=form.rationale.data or "",
        submission_key=form.submission_key.data)
    return documents.SentUpload(upload, form_valid=valid)


# --- Kept documents and the case bundle --------------------------------------------------------


@bp.get("/cases/<id:case_id>/stored/<id:document_id>")
@sends_a_file
@allow(Role.case_officer, Role.decision_maker, Role.auditor)
def stored_document(case_id: int, document_id: int) -> Response:
    stored = documents.open_stored(get_session(), _user(), case_id, document_id, now=now())
    return _attachment(stored.content, stored.media_type, stored.filename)


@bp.get("/cases/<id:case_id>/bundle.zip")
@sends_a_file
@allow(Role.auditor)
@step_up_required()
@requires_reason("decision_record")  # the decision record inside holds the subject's details
def case_bundle_zip(case_id: int) -> Response:
    filename, content = case_bundle.export_case_bundle(get_session(), _user(), case_id,
                                                       now=now(), letterhead=letterhead())
    return _attachment(content, "application/zip", filename)


# --- Errors -----------------------------------------------------------------------------------


@bp.errorhandler(DocumentTooLong)
def _too_long(exc: DocumentTooLong):  # type: ignore[no-untyped-def]
    message = (f"The document would be longer than {records.MAX_PAGES} pages, so it was not "
               "produced and nothing was downloaded. Ask the service team for an extract.")
    return render_template("errors/error.html", status=422, title="This document is too long",
                           message=message), 422


@bp.errorhandler(DocumentAltered)
def _altered(exc: DocumentAltered):  # type: ignore[no-untyped-def]
    log.error("stored document on %s does not match its recorded SHA-256", request.path)
    return render_template("errors/error.html", status=409,
                           title="This document cannot be opened", message=exc.message), 409


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
    # Raised while the body is read, before sign-in and access are checked: the page names no
    # case data, only the limit.
    message = (f"The file must be smaller than {documents.size_words(_max_upload())}. Nothing "
               "was saved. Go back and choose a smaller scan or photo.")
    return render_template("errors/error.html", status=413, title="The file is too large",
                           message=message), 413
