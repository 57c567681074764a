"""The auditor's reports (issue 6): integrity, who consulted a case or subject and why, one
person's activity, disclosures with recipients, misuse alerts and security events; each as a
page and as CSV or PDF. Auditors read and change nothing. The only writes are log entries: an
export (a disclosure to the auditor, logged before a byte is sent) and a search by a subject's
name (a consultation, logged by hash).

A subject's name is personal data, so it never travels in a URL (SECURITY.md SEC-26): the
"who consulted" search and its exports are POSTed (CSRF-protected), and a link that carries a
name is refused without searching."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from disclosure_app.audit import chain as audit
from disclosure_app.audit import checkpoints, monitoring
from disclosure_app.audit import queries as audit_queries
from disclosure_app.audit import reports as audit_reports
from disclosure_app.audit.blueprint import bp
from disclosure_app.audit.forms import _date_field
from disclosure_app.audit.reports import Report
from disclosure_app.cases.queue import record_download
from disclosure_app.db import get_session
from disclosure_app.documents import csv_export
from disclosure_app.documents.pdf.reports import build_report
from disclosure_app.security import accounts as users
from disclosure_app.security import event_log as security_log
from disclosure_app.web.access import allow
from disclosure_app.web.context import now
from workflows.roles import Role


class ReportForm(FlaskForm):
    class Meta:
        csrf = False  # GET reports forge nothing; a POSTed search is checked by CSRFProtect

    reference = StringField("Case reference", widget=GovTextInput(),
                            filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
                            validators=[Optional(), Length(max=20)])
    subject = StringField("Subject's full name", widget=GovTextInput(),
                          description="Exactly as recorded; your search is logged.",
                          validators=[Optional(), Length(max=100)])
    actor = SelectField("Staff member", widget=GovSelect(), validators=[Optional()],
                        invalid_choice_message="Select a staff member from the list")
    kind = SelectField("Event", widget=GovSelect(), validators=[Optional()],
                       invalid_choice_message="Select an event from the list")
    date_from = _date_field("From date")
    date_to = _date_field("To date")
    submit = SubmitField("Show", widget=GovSubmitInput())

    def __init__(self, *args: Any, staff: list[Any] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.actor.choices = [SelectChoice("", "Choose someone")] + [
            SelectChoice(str(u.id), f"{u.display_name} ({u.role.label})") for u in staff]
        self.kind.choices = [SelectChoice("", "Any event")] + [
            SelectChoice(str(k), label) for k, label in security_log.LABELS.items()]

    def validate_date_to(self, field: Any) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The 'to' date must be the same as or after the 'from' date")

    def query_args(self) -> dict[str, str]:
        """The filters for a link: never the subject's name (personal data stays out of URLs;
        a search by name is exported through ``post_args`` instead)."""
        return {name: self[name].raw_data[0] for name in
                ("reference", "actor", "kind", "date_from", "date_to")
                if self[name].raw_data and self[name].raw_data[0]}

    def post_args(self) -> dict[str, str]:
        """Every filter, for the hidden fields of a POSTed export."""
        args = self.query_args()
        if self.subject.raw_data and self.subject.raw_data[0]:
            args["subject"] = self.subject.raw_data[0]
        return args


# name -> (page title, the fields its form shows, description for the PDF)
REPORTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "consultations": ("Who consulted a case or subject, and why",
                      ("reference", "subject", "date_from", "date_to"),
                      "Every consultation of the case(s), with the reason given before the "
                      "sensitive sections were opened."),
    "staff": ("What a staff member did", ("actor", "date_from", "date_to"),
              "Every decision-log entry and security event of one person in the period."),
    "disclosures": ("Disclosures and their recipients", ("date_from", "date_to"),
                    "Every disclosure (DPA 2018 s.62(3)): who disclosed, what, to whom, why."),
    "alerts": ("Misuse alerts", ("date_from", "date_to"),
               "Consultations by people not involved in a case, bulk consultation and repeated "
               "authorisation denials."),
    "security": ("Security events", ("kind", "date_from", "date_to"),
                 "Sign-ins, failed sign-ins, sign-outs, authorisation denials and form (CSRF) "
                 "rejections."),
}
ENDPOINTS = {"consultations": "audit.consultations", "staff": "audit.staff_activity",
             "disclosures": "audit.disclosures", "alerts": "audit.alerts",
             "security": "audit.security_events"}


NAME_IN_LINK = ("Search by name with the form on this page: a name is never sent in a link "
                "(it would be kept in browser history and server logs)")


def _form() -> ReportForm:
    formdata = request.form if request.method == "POST" else request.args
    return ReportForm(formdata=formdata, staff=users.list_users(get_session()))


def _name_in_link() -> bool:
    return request.method == "GET" and bool(request.args.get("subject"))


def _refuse_name_in_link(name: str) -> Any:
    """A GET carrying a subject's name: nothing is searched or logged, the name is not shown
    back, and the form asks for it again."""
    form = ReportForm(formdata=None, staff=users.list_users(get_session()))
    form.subject.errors = [NAME_IN_LINK]
    title, fields, description = REPORTS[name]
    return render_template(
        "audit/report.html", name=name, title=title, fields=fields, description=description,
        form=form, report=None, endpoint=ENDPOINTS[name], csv_url=None, pdf_url=None,
        post_args={}), 400


def _bounds(form: ReportForm) -> tuple[Any, Any]:
    return audit_reports.day_bounds(
        form.date_from.data, form.date_to.data,
        default_days=current_app.config["ALERT_LOOKBACK_DAYS"], today=now().date())


def _consultations(form: ReportForm, *, log_search: bool) -> Report | None:
    session = get_session()
    case_ids: list[int] = []
    if form.reference.data:
        case_id = audit_queries.case_id_for_reference(session, form.reference.data)
        if case_id is None:
            form.reference.errors = ["No case has this reference"]
            return None
        case_ids.append(case_id)
    if form.subject.data:
        found = audit_reports.cases_for_subject(session, form.subject.data)
        if log_search:
            audit_reports.record_subject_search(session, current_user, form.subject.data, found,
                                                now=now())
        if not found:
            form.subject.errors = ["No case has a subject of this name"]
            return None
        case_ids += found
    if not case_ids:
        form.reference.errors = ["Enter a case reference or a subject's name"]
        return None
    since, until = _bounds(form)
    return audit_reports.consultations(session, sorted(set(case_ids)), since=since, until=until)


def _staff(form: ReportForm, **_: Any) -> Report | None:
    if not form.actor.data:
        form.actor.errors = ["Choose the staff member"]
        return None
    since, until = _bounds(form)
    return audit_reports.staff_activity(get_session(), int(form.actor.data), since=since,
                                        until=until)


def _disclosures(form: ReportForm, **_: Any) -> Report | None:
    since, until = _bounds(form)
    return audit_reports.disclosures(get_session(), since=since, until=until)


def _alerts(form: ReportForm, **_: Any) -> Report | None:
    since, until = _bounds(form)
    return audit_reports.alerts(get_session(), monitoring.settings(current_app.config),
                                since=since, until=until)


def _security(form: ReportForm, **_: Any) -> Report | None:
    since, until = _bounds(form)
    return audit_reports.security_events(get_session(), since=since, until=until,
                                         kind=form.kind.data or None)


BUILDERS: dict[str, Callable[..., Report | None]] = {
    "consultations": _consultations, "staff": _staff, "disclosures": _disclosures,
    "alerts": _alerts, "security": _security}


def _page(name: str) -> Any:
    if _name_in_link():
        return _refuse_name_in_link(name)
    form = _form()
    title, fields, description = REPORTS[name]
    asked = request.method == "POST" or bool(request.args)
    report = None
    if asked and form.validate():
        report = BUILDERS[name](form, log_search=True)
    elif not asked and name not in ("consultations", "staff"):
        report = BUILDERS[name](form, log_search=False)  # the last days, straight away
    status = 400 if form.errors else 200
    args = form.query_args()
    return render_template(
        "audit/report.html", name=name, title=title, fields=fields, description=description,
        form=form, report=report, endpoint=ENDPOINTS[name],
        csv_url=url_for("audit.report_export", name=name, fmt="csv", **args),
        pdf_url=url_for("audit.report_export", name=name, fmt="pdf", **args),
        post_args=form.post_args()), status


@bp.route("/consultations", methods=["GET", "POST"])
@allow(Role.auditor)
def consultations() -> Any:
    """The search by name is POSTed, and so are its exports (``export=csv|pdf``): a name never
    travels in a URL."""
    fmt = request.form.get("export") if request.method == "POST" else None
    if fmt in ("csv", "pdf"):
        return _export("consultations", fmt)
    return _page("consultations")


@bp.get("/staff")
@allow(Role.auditor)
def staff_activity() -> Any:
    return _page("staff")


@bp.get("/disclosures")
@allow(Role.auditor)
def disclosures() -> Any:
    return _page("disclosures")


@bp.get("/alerts")
@allow(Role.auditor)
def alerts() -> Any:
    return _page("alerts")


@bp.get("/security-events")
@allow(Role.auditor)
def security_events() -> Any:
    return _page("security")


@bp.get("/reports/<name>.<fmt>")
@allow(Role.auditor)
def report_export(name: str, fmt: str) -> Any:
    if name not in REPORTS and name != "integrity" or fmt not in ("csv", "pdf"):
        abort(404)
    if _name_in_link():
        return _refuse_name_in_link(name if name in REPORTS else "consultations")
    return _export(name, fmt)


def _export(name: str, fmt: str) -> Any:
    form = _form()
    if name == "integrity":
        report = _integrity_report(_integrity_facts(record=False))
    elif not form.validate() or (report := BUILDERS[name](form, log_search=True)) is None:
        title, fields, description = REPORTS[name]
        return render_template(
            "audit/report.html", name=name, title=title, fields=fields,
            description=description, form=form, report=None, endpoint=ENDPOINTS[name],
            csv_url=None, pdf_url=None, post_args={}), 400
    started = now()
    if fmt == "csv":
        body = "".join(csv_export.csv_lines(report.columns, report.rows)).encode("utf-8")
        mimetype = "text/csv"
    else:
        description = REPORTS[name][2] if name in REPORTS else "The decision log's integrity."
        body = build_report(report, force_name=current_app.config["FORCE_NAME"],
                            generated_at=started, description=description,
                            generated_by=f"{current_user.display_name} (Auditor)")
        mimetype = "application/pdf"
    # Logged before a byte leaves: if logging fails, nothing is sent.
    record_download(get_session(), current_user, None, action="audit_report_exported",
                    details={"report": name, "format": fmt, "rows": len(report.rows),
                             "filters": report.filters,
                             "sha256": hashlib.sha256(body).hexdigest()}, now=started)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="audit-{name}-{started:%Y%m%dT%H%M%SZ}.{fmt}"')
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Integrity: the chain, the checkpoints, the last verifications ------------------------------


def _integrity_facts(*, record: bool) -> dict[str, Any]:
    session = get_session()
    verification = audit.verify_chain(
        session, public_key=current_app.config.get("AUDIT_PUBLIC_KEY"),
        copy_dirs=current_app.config["AUDIT_CHECKPOINT_COPY_DIRS"])
    at = now()
    session.rollback()
    if record:
        checkpoints.record_verification(session, verification, scope="full",
                                        by=f"{current_user.display_name} (console)", now=at)
    return {
        "verification": verification, "verified_at": at,
        "checkpoint": checkpoints.status(session, current_app.config.get("AUDIT_PUBLIC_KEY")),
        "runs": checkpoints.last_verifications(session),
        "public_key": current_app.config.get("AUDIT_PUBLIC_KEY"),
        "every_entries": current_app.config["AUDIT_CHECKPOINT_EVERY_ENTRIES"],
        "every_minutes": current_app.config["AUDIT_CHECKPOINT_EVERY_MINUTES"],
    }


def _integrity_report(facts: dict[str, Any]) -> Report:
    v, cp = facts["verification"], facts["checkpoint"]
    newest = cp.newest
    rows = [
        ("Hash chain", v.summary()),
        ("Verified at", f"{facts['verified_at']:%Y-%m-%d %H:%M:%S} UTC"),
        ("Signed checkpoints", str(cp.count)),
        ("Newest checkpoint", f"{newest.tree_size} entries, root {newest.root_hash}, signed "
                              f"{newest.created_at:%Y-%m-%d %H:%M} UTC" if newest else "none"),
        ("Checkpoint signature", {True: "verifies with the configured public key",
                                  False: f"DOES NOT VERIFY: {cp.problem}",
                                  None: cp.problem or "no checkpoint yet"}[cp.signature_ok]),
        ("Entries since the newest checkpoint", str(cp.entries_since)),
        ("Public key", facts["public_key"] or "not configured"),
    ]
    return Report("integrity", "Integrity of the decision log", ("Check", "Result"), rows,
                  {"head_seq": v.entries_checked})


@bp.get("/integrity")
@allow(Role.auditor)
def integrity() -> Any:
    facts = _integrity_facts(record=True)
    return render_template("audit/integrity.html", **facts,
                           csv_url=url_for("audit.report_export", name="integrity", fmt="csv"),
                           pdf_url=url_for("audit.report_export", name="integrity", fmt="pdf"),
                           today=date.today)
