"""MoPI review, legal holds and disposal by crypto-shredding (issue 14).

Closing a case gives it a retention group and a first review date; a records manager reviews it
(retain with a reason and a next date, or dispose); ``flask records dispose`` destroys the key of
each record approved for disposal and deletes its personal rows, unless a legal hold is in place.
Afterwards the audit chain, its signed checkpoints and an offline export still verify, the
management counts are unchanged, and a backup taken before disposal, restored, reveals nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from disclosure_app.audit.chain import verify_chain
from disclosure_app.cases import applications
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import (
    Applicant,
    AuditEntry,
    Case,
    CaseLinkKey,
    CaseStep,
    Child,
    LegalHold,
    RateLimitCounter,
    RetentionReview,
    StoredDocument,
    Subject,
    SubmissionKey,
)
from disclosure_app.privacy.keys import keystore
from tests.conftest import make_app, sign_in
from tests.databases import superuser
from tests.factories import application_input, make_case, make_user
from tests.integration.test_audit_verifier import run_verifier
from tests.integration.test_personal_data_at_rest import _raw_bytes, _unique_application
from workflows.retention import add_years
from workflows.roles import Role
from workflows.status import Status

TODAY = datetime.now(UTC).date()
REASON = "No further policing purpose: no other enquiry about these people since closure."


@pytest.fixture
def records_manager(app: Flask) -> Any:
    with app.app_context():
        person = make_user(get_session(), Role.records_manager, name="Rhona Records")
        email = person.email
    return sign_in(app, email)


def _closed(app: Flask, **kwargs: Any) -> Case:
    """A Right to Ask case taken to "closed" after a disclosure (the factory's usual path)."""
    case, _ = make_case(app, Status.closed, **kwargs)
    return case


def _review(client: Any, case_id: int, decision: str, *, reason: str = REASON,
            next_review: date | None = None) -> Any:
    form = {"review-decision": decision, "review-reason": reason}
    if next_review is not None:
        form |= {"review-next_review_on": [str(next_review.day), str(next_review.month),
                                           str(next_review.year)]}
    return client.post(f"/records/cases/{case_id}/review", data=form)


def _dispose(app: Flask) -> Any:
    result = app.test_cli_runner().invoke(args=["records", "dispose"])
    assert result.exit_code == 0, result.output
    return result


def _skeleton_counts(app: Flask) -> dict[str, Any]:
    """What management information counts: cases by route, state, outcome and group."""
    with app.app_context():
        session = get_session()
        rows = session.execute(
            select(Case.route, Case.status, Case.decision_outcome, Case.retention_group,
                   func.count()).group_by(Case.route, Case.status, Case.decision_outcome,
                                          Case.retention_group)).all()
        steps = session.scalar(select(func.count()).select_from(CaseStep))
        return {"by_kind": sorted(map(tuple, rows), key=repr), "steps": steps}


# --- Closing gives a retention group and a first review --------------------------------------


def test_closing_after_a_disclosure_gives_the_public_protection_group_and_an_earlier_date_is_kept(
        app):
    case = _closed(app)
    assert case.retention_group == "disclosure"
    # The factory's officer brought the review forward to 2,000 days; the schedule says 10 years.
    assert case.review_due_on == min(add_years(TODAY, 10), TODAY + timedelta(days=2000))


def test_closing_without_an_earlier_date_uses_the_schedule_for_a_no_disclosure_outcome(app):
    case, _ = make_case(app, Status.outcome_communicated)
    with app.app_context():
        session = get_session()
        officer = session.get(Case, case.id).assigned_officer
        take_step(session, StepRequest(case.id, "close_case", case.version,
                                       {"referrals_complete": "yes"}, "All actions complete."),
                  user=officer, policy=app.extensions["case_policy"], now=datetime.now(UTC))
        closed = session.get(Case, case.id)
        assert closed.retention_group == "no_disclosure"
        assert closed.review_due_on == add_years(TODAY, 6)


def test_a_withdrawn_application_is_kept_as_not_progressed(app):
    with app.app_context():
        session = get_session()
        done = applications.submit_application(session, application_input(),
                                               policy=app.extensions["case_policy"],
                                               now=datetime.now(UTC))
        applications.withdraw_by_applicant(session, done.status_token, "Changed my mind.",
                                           policy=app.extensions["case_policy"],
                                           now=datetime.now(UTC))
        case = session.get(Case, done.case.id)
        assert case.status is Status.withdrawn
        assert (case.retention_group, case.review_due_on) == ("not_progressed",
                                                              add_years(TODAY, 6))


# --- Reviews ------------------------------------------------------------------------------------


def test_a_retain_review_sets_the_next_date_and_is_a_log_entry(app, records_manager):
    case = _closed(app)
    next_review = add_years(TODAY, 5)
    response = _review(records_manager, case.id, "retain",
                       reason="Subject is the subject of a later enquiry: still needed.",
                       next_review=next_review)
    assert response.status_code == 303
    with app.app_context():
        session = get_session()
        assert session.get(Case, case.id).review_due_on == next_review
        review = session.scalars(select(RetentionReview)).one()
        assert (review.decision, review.next_review_on) == ("retain", next_review)
        entry = session.get(AuditEntry, review.audit_seq)
        assert entry.action == "retention_reviewed" and entry.category == "alteration"
        assert "later enquiry" not in entry.payload  # only the reason's hash
    page = records_manager.get(f"/records/cases/{case.id}").get_data(as_text=True)
    assert "later enquiry" in page and "Retain" in page


@pytest.mark.parametrize(("decision", "reason", "years", "field"), [
    ("", REASON, 5, "Choose whether to retain or dispose"),
    ("retain", "too short", 5, "at least 20 characters"),
    ("retain", REASON, None, "Enter the next review date"),
    ("retain", REASON, 11, "within 10 years"),
    ("burn", REASON, None, "Choose whether to retain or dispose"),
])
def test_a_review_with_a_problem_is_refused_with_its_message_and_stores_nothing(
        app, records_manager, decision, reason, years, field):
    case = _closed(app)
    next_review = add_years(TODAY, years) if years else None
    response = _review(records_manager, case.id, decision, reason=reason,
                       next_review=next_review)
    assert response.status_code == 400
    assert field in response.get_data(as_text=True)
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(RetentionReview)) == 0
        assert session.get(Case, case.id).disposal_approved_at is None


def test_a_records_manager_cannot_open_an_open_case(app, records_manager):
    case, _ = make_case(app, Status.received)
    assert records_manager.get(f"/records/cases/{case.id}").status_code == 404
    assert _review(records_manager, case.id, "dispose").status_code == 404
    assert records_manager.get(f"/staff/cases/{case.id}").status_code == 403


# --- Disposal -----------------------------------------------------------------------------------


def test_disposal_shreds_the_key_deletes_personal_rows_and_keeps_the_skeleton_and_the_chain(
        app, records_manager, tmp_path):
    gone, kept = _closed(app), _closed(app)
    private, public = tmp_path / "signing.key", tmp_path / "public.key"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "keygen", "--private", str(private), "--public",
                               str(public)]).exit_code == 0
    assert runner.invoke(args=["audit", "checkpoint", "--key-file", str(private),
                               "--force"]).exit_code == 0
    before = _skeleton_counts(app)
    with app.app_context():
        key_id = get_session().get(Case, gone.id).data_key_id

    assert _review(records_manager, gone.id, "dispose").status_code == 303
    assert "approved" in records_manager.get(f"/records/cases/{gone.id}").get_data(
        as_text=True).lower()
    result = _dispose(app)

    assert f"disposed: {gone.reference}" in result.output
    assert keystore_state(app, key_id).destroyed_at is not None
    with app.app_context():
        session = get_session()
        case = session.get(Case, gone.id)
        assert case.personal_data_disposed_at is not None
        assert (case.reference, case.status, case.decision_outcome) == (
            gone.reference, Status.closed, "disclosure")
        for model in (Applicant, Child, Subject, StoredDocument, CaseLinkKey):
            assert session.scalar(select(func.count()).select_from(model)
                                  .where(model.case_id == gone.id)) == 0, model
            assert session.scalar(select(func.count()).select_from(model)
                                  .where(model.case_id == kept.id)) > 0 or model in (
                StoredDocument, CaseLinkKey), model
        assert all(s.rationale == "" and s.data == {} for s in case.steps)
        assert session.get(Case, kept.id).applicant.full_name
        erasure = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "personal_data_disposed")).one()
        assert (erasure.category, erasure.case_id) == ("erasure", gone.id)
        assert verify_chain(session).ok
    assert _skeleton_counts(app) == before

    # Signed checkpoints and an offline export still verify.
    assert runner.invoke(args=["audit", "checkpoint", "--key-file", str(private),
                               "--force"]).exit_code == 0
    app.config["AUDIT_PUBLIC_KEY"] = public.read_text().strip()
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    bundle = tmp_path / "bundle"
    assert runner.invoke(args=["audit", "export", str(bundle)]).exit_code == 0
    offline = run_verifier(bundle / "verify.py", bundle, "--key", public)
    assert offline.returncode == 0, offline.stdout + offline.stderr

    # The auditor's trail lists every step, each as disposed of (not as altered).
    from disclosure_app.audit.queries import case_trail

    with app.app_context():
        session = get_session()
        trail = case_trail(session, session.get(Case, gone.id))
        assert trail.steps and all(t.check.disposed and t.check.matches for t in trail.steps)

    # Every page says so, and a second review is refused.
    for client, url in ((records_manager, f"/records/cases/{gone.id}"),):
        assert "Personal data disposed of on" in client.get(url).get_data(as_text=True)
    assert _review(records_manager, gone.id, "retain",
                   next_review=add_years(TODAY, 2)).status_code == 409


def keystore_state(app: Flask, key_id: str) -> Any:
    with app.app_context():
        return keystore().state(key_id)


def test_the_staff_case_page_trail_and_decision_record_say_the_personal_data_was_disposed_of(
        app, records_manager, staff, clients):
    case = _closed(app, officer=staff["case_officer"], decider=staff["decision_maker"])
    assert _review(records_manager, case.id, "dispose").status_code == 303
    _dispose(app)
    officer = clients["case_officer"]
    page = officer.get(f"/staff/cases/{case.id}")
    assert page.status_code == 200
    assert "Personal data disposed of on" in page.get_data(as_text=True)
    trail = clients["auditor"].get(f"/audit/cases/{case.id}").get_data(as_text=True)
    assert "Personal data disposed of on" in trail and "disposed of</strong>" in trail
    officer.post(f"/staff/cases/{case.id}/reason", data={
        "reason": "case_work", "section": "decision_record", "next": ""})
    record = officer.get(f"/documents/cases/{case.id}/decision-record.pdf")
    assert record.status_code == 200
    from io import BytesIO

    from pypdf import PdfReader

    words = "".join(p.extract_text() for p in PdfReader(BytesIO(record.data)).pages)
    assert "Disposed of on" in words


def test_a_legal_hold_blocks_a_dispose_review_and_a_disposal_already_approved(
        app, records_manager):
    case = _closed(app)
    held = records_manager.post(f"/records/cases/{case.id}/holds", data={
        "hold-hold_kind": "iopc", "hold-hold_reason": "IOPC referral 2026/0042 about this case."})
    assert held.status_code == 303
    refused = _review(records_manager, case.id, "dispose")
    assert refused.status_code == 400
    assert "legal hold" in refused.get_data(as_text=True)

    with app.app_context():
        hold_id = get_session().scalars(select(LegalHold.id)).one()
    lifted = records_manager.post(f"/records/cases/{case.id}/holds/{hold_id}/lift",
                                  data={"lift-lift_reason": "IOPC closed the referral, no case."})
    assert lifted.status_code == 303
    assert _review(records_manager, case.id, "dispose").status_code == 303
    # A new hold after the approval: the disposal run keeps the record.
    assert records_manager.post(f"/records/cases/{case.id}/holds", data={
        "hold-hold_kind": "court",
        "hold-hold_reason": "Civil claim issued; preserve the record."}).status_code == 303
    result = _dispose(app)
    assert f"kept (legal hold): {case.reference}" in result.output
    with app.app_context():
        kept = get_session().get(Case, case.id)
        assert kept.personal_data_disposed_at is None and kept.applicant.full_name
    # Lifting a hold twice is refused.
    assert records_manager.post(f"/records/cases/{case.id}/holds/{hold_id}/lift",
                                data={"lift-lift_reason": "Again, for no reason at all."}
                                ).status_code == 409


@pytest.mark.engine("sqlite")
def test_a_backup_taken_before_disposal_and_restored_after_it_reveals_nothing(
        app, records_manager, database, tmp_path):
    data, values = _unique_application()
    with app.app_context():
        done = applications.submit_application(get_session(), data,
                                               policy=app.extensions["case_policy"],
                                               now=datetime.now(UTC))
        case_id = done.case.id
        applications.withdraw_by_applicant(get_session(), done.status_token,
                                           "No longer needed.",
                                           policy=app.extensions["case_policy"],
                                           now=datetime.now(UTC))
    runner = app.test_cli_runner()
    backup = runner.invoke(args=["backup", str(tmp_path / "before")])
    assert backup.exit_code == 0, backup.output

    assert _review(records_manager, case_id, "dispose").status_code == 303
    _dispose(app)

    target = tmp_path / "restored" / "disclosure.sqlite"
    restored = runner.invoke(args=["restore", str(tmp_path / "before"), "--into", str(target)])
    assert restored.exit_code == 0, restored.output
    on_restored = make_app(target)
    raw = target.read_bytes()
    try:
        with on_restored.app_context():
            session = get_session()
            case = session.get(Case, case_id)
            # The restored rows are all there, but sealed under a key that no longer exists.
            assert case.applicant is not None
            assert case.applicant.full_name == "" and case.concern == ""
            assert case.subject.date_of_birth is None
    finally:
        on_restored.extensions["db_engine"].dispose()
    assert [v for v in values if v.encode() in raw] == []


@pytest.mark.engine("postgresql")
def test_a_pg_dump_backup_restored_after_disposal_reveals_nothing(
        app, records_manager, database, tmp_path):
    from tests.databases import create_pg_database, drop_pg_database, pg_database

    data, values = _unique_application()
    with app.app_context():
        done = applications.submit_application(get_session(), data,
                                               policy=app.extensions["case_policy"],
                                               now=datetime.now(UTC))
        case_id = done.case.id
        applications.withdraw_by_applicant(get_session(), done.status_token, "No longer.",
                                           policy=app.extensions["case_policy"],
                                           now=datetime.now(UTC))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "before")]).exit_code == 0
    assert _review(records_manager, case_id, "dispose").status_code == 303
    _dispose(app)
    name = f"r_{uuid.uuid4().hex[:16]}"
    create_pg_database(name)
    target = pg_database(name)
    try:
        restored = runner.invoke(args=["restore", str(tmp_path / "before"), "--into",
                                       target.owner_url])
        assert restored.exit_code == 0, restored.output
        on_restored = make_app(target)
        try:
            with on_restored.app_context():
                case = get_session().get(Case, case_id)
                assert case.applicant.full_name == "" and case.concern == ""
        finally:
            on_restored.extensions["db_engine"].dispose()
        assert [v for v in values if v.encode() in _raw_bytes(target)] == []
    finally:
        drop_pg_database(name)


@pytest.mark.engine("postgresql")
def test_the_runtime_role_cannot_delete_personal_rows_only_the_disposal_command_can(
        app, records_manager):
    case = _closed(app)
    with app.app_context():
        session = get_session()
        with pytest.raises(DBAPIError, match="permission denied"):
            session.execute(text("DELETE FROM applicants WHERE case_id = :c"), {"c": case.id})
        session.rollback()
    assert _review(records_manager, case.id, "dispose").status_code == 303
    assert f"disposed: {case.reference}" in _dispose(app).output


def test_the_disposal_run_purges_expired_form_keys_and_rate_limit_counters(app, database):
    now = datetime.now(UTC).replace(tzinfo=None)
    with superuser(database) as conn:
        conn.execute(text("INSERT INTO submission_keys (key, purpose, created_at) VALUES "
                          "('old-key', 'apply', :old), ('new-key', 'apply', :new)"),
                     {"old": now - timedelta(days=45), "new": now - timedelta(days=1)})
        conn.execute(text("INSERT INTO rate_limit_counters (key, count, expires_at) "
                          "VALUES ('LIMITS:old', 3, 1.0), ('LIMITS:new', 1, 9999999999.0)"))
    result = _dispose(app)
    assert "Purged 1 expired form keys and 1 rate-limit counters." in result.output
    with app.app_context():
        session = get_session()
        assert session.scalars(select(SubmissionKey.key)).all() == ["new-key"]
        assert session.scalars(select(RateLimitCounter.key)).all() == ["LIMITS:new"]


def test_the_review_queue_lists_overdue_records_first_with_counts(app, records_manager,
                                                                   database):
    first, second = _closed(app), _closed(app)
    with superuser(database) as conn:
        conn.execute(text("UPDATE cases SET review_due_on = :d WHERE id = :i"),
                     {"d": TODAY - timedelta(days=3), "i": second.id})
        conn.execute(text("UPDATE cases SET review_due_on = :d WHERE id = :i"),
                     {"d": TODAY + timedelta(days=10), "i": first.id})
    page = records_manager.get("/records/").get_data(as_text=True)
    assert page.index(second.reference) < page.index(first.reference)
    assert 'data-testid="overdue-count">1<' in page
    assert 'data-testid="due-soon-count">1<' in page
