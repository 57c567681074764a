"""The auditor's console: chain status, searching the log, keyset paging, the per-case decision
trail, the CSV export, and who may use any of it (auditors only, and only to read). That its
searches read through indexes is checked with the queue's in test_query_plans.py."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category, SystemActor
from disclosure_app.audit.queries import AuditFilter
from disclosure_app.db import get_session, transaction
from disclosure_app.models import AuditEntry, Case, CaseStep
from disclosure_app.privacy.sealed import tag
from tests.conftest import make_app, sign_in
from tests.databases import superuser
from tests.factories import make_case
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

ROW = re.compile(r'<tr class="govuk-table__row" data-seq="(\d+)">')
HOSTILE = '=HYPERLINK("http://x","y")'


@pytest.fixture
def closed_case(app, staff):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    return case


def _seqs(response) -> list[int]:
    return [int(s) for s in ROW.findall(response.get_data(as_text=True))]


def _entries(app, *where) -> list[AuditEntry]:
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.seq)))
        session.expunge_all()
        return rows


def _append(app, *, at: datetime, name: str = "Backfill", action: str = "case_viewed",
            category: Category = Category.consultation) -> int:
    with app.app_context():
        session = get_session()
        with transaction(session):
            entry = audit.append(session, now=at, actor=SystemActor(name=name), action=action,
                                 category=category)
        return entry.seq


# --- Chain status ------------------------------------------------------------------------------


def test_auditor_sees_the_chain_is_intact_after_a_full_journey(app, closed_case, clients):
    response = clients["auditor"].get("/audit/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="chain-state">Intact<' in page
    assert f"All {len(_entries(app))} entries verified" in page
    assert "BROKEN" not in page


def test_the_newest_entries_are_listed_first_with_readable_labels(app, closed_case, clients):
    response = clients["auditor"].get("/audit/")
    seqs = _seqs(response)
    all_seqs = [e.seq for e in _entries(app)]
    assert seqs == sorted(all_seqs, reverse=True)[: len(seqs)]
    page = response.get_data(as_text=True)
    assert "Close the case" in page  # the step title, not the event id
    assert "Disclosure delivered → Closed" in page
    assert closed_case.reference in page
    assert f'href="/audit/cases/{closed_case.id}"' in page


# --- Search ------------------------------------------------------------------------------------


def test_search_by_date_range_returns_only_entries_from_those_days(app, staff, clients):
    jan = _append(app, at=datetime(2025, 1, 10, 23, 59, tzinfo=UTC))
    feb = _append(app, at=datetime(2025, 2, 10, 0, 0, tzinfo=UTC))
    mar = _append(app, at=datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    auditor = clients["auditor"]
    assert _seqs(auditor.get("/audit/?date_from=2025-01-10&date_to=2025-02-10")) == [feb, jan]
    assert _seqs(auditor.get("/audit/?date_from=2025-02-11&date_to=2025-03-10")) == [mar]
    assert _seqs(auditor.get("/audit/?date_to=2025-01-09")) == []
    assert jan not in _seqs(auditor.get("/audit/?date_from=2025-01-11"))


def test_search_by_staff_member_returns_only_their_entries(app, staff, closed_case, clients):
    decider = staff["decision_maker"]
    expected = [e.seq for e in _entries(app, AuditEntry.actor_id == decider.id)]
    assert expected  # the decision
    response = clients["auditor"].get(f"/audit/?actor={decider.id}")
    assert _seqs(response) == sorted(expected, reverse=True)


@pytest.mark.parametrize("action", ["close_case", "approve_disclosure_to_applicant",
                                    "user_created"])
def test_search_by_action_returns_only_that_action(app, closed_case, clients, action):
    expected = [e.seq for e in _entries(app, AuditEntry.action == action)]
    assert expected
    assert _seqs(clients["auditor"].get(f"/audit/?action={action}")) == expected[::-1]


@pytest.mark.parametrize("category", list(Category))
def test_search_by_category_returns_only_that_category(app, closed_case, clients, category):
    expected = [e.seq for e in _entries(app, AuditEntry.category == category.value)]
    assert _seqs(clients["auditor"].get(f"/audit/?category={category}")) == expected[::-1]


def test_search_by_case_reference_returns_only_that_case(app, staff, closed_case, clients):
    other, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"])
    expected = [e.seq for e in _entries(app, AuditEntry.case_id == closed_case.id)]
    found = _seqs(clients["auditor"].get(f"/audit/?reference={closed_case.reference.lower()}"))
    assert found == expected[::-1]
    assert not set(found) & {e.seq for e in _entries(app, AuditEntry.case_id == other.id)}


def test_filters_combine(app, staff, closed_case, clients):
    officer = staff["case_officer"]
    expected = [e.seq for e in _entries(app, AuditEntry.actor_id == officer.id,
                                        AuditEntry.category == "disclosure")]
    assert len(expected) == 1  # recording the face-to-face disclosure
    found = _seqs(clients["auditor"].get(
        f"/audit/?actor={officer.id}&category=disclosure&reference={closed_case.reference}"))
    assert found == expected


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-13-01",
        "date_from=yesterday",
        "date_from=2026-03-10&date_to=2026-03-01",
        "date_to=9999-12-31",
        "actor=abc",
        "actor=999999",
        "action=drop_table",
        "category=gossip",
        "reference=%3Cscript%3E",
        "reference=CSD-0000-0000",
        "reference=" + "A" * 21,
        "before=abc",
        "before=0",
        "before=-5",
        "before=99999999999999999999999",
    ],
)
def test_an_invalid_filter_gets_a_400_page_with_the_problem(closed_case, clients, query):
    response = clients["auditor"].get(f"/audit/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert "<title>Error: Audit log" in page
    assert "Not a valid" not in page  # every message is written for people
    assert "<script>" not in page
    assert 'data-testid="audit-results"' not in page


def test_keyset_pagination_walks_every_entry_once_newest_first(db_path, staff, closed_case):
    app = make_app(db_path, AUDIT_PAGE_SIZE=5)
    auditor = sign_in(app, staff["auditor"].email)
    seen: list[int] = []
    url = "/audit/"
    for _ in range(100):
        response = auditor.get(url)
        assert response.status_code == 200
        page_seqs = _seqs(response)
        assert 0 < len(page_seqs) <= 5
        seen += page_seqs
        match = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
        assert f"before={page_seqs[-1]}" in url
    assert seen == sorted({e.seq for e in _entries(app)}, reverse=True)
    app.extensions["db_engine"].dispose()


def test_paging_keeps_the_filters(db_path, staff, closed_case):
    app = make_app(db_path, AUDIT_PAGE_SIZE=2)
    auditor = sign_in(app, staff["auditor"].email)
    response = auditor.get(f"/audit/?reference={closed_case.reference}")
    older = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True)).group(1)
    older = older.replace("&amp;", "&")
    assert f"reference={closed_case.reference}" in older
    second = _seqs(auditor.get(older))
    case_seqs = {e.seq for e in _entries(app, AuditEntry.case_id == closed_case.id)}
    assert second and set(second) <= case_seqs
    assert max(second) < min(_seqs(response))
    app.extensions["db_engine"].dispose()


def test_the_before_cursor_returns_entries_older_than_it(app, closed_case, clients):
    assert _seqs(clients["auditor"].get("/audit/?before=4")) == [3, 2, 1]


# --- The per-case decision trail ---------------------------------------------------------------


def test_case_trail_shows_every_rationale_limb_and_matching_hash(app, closed_case, clients):
    from disclosure_app.operations import demo

    response = clients["auditor"].get(f"/audit/cases/{closed_case.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    steps = _entries(app, AuditEntry.case_id == closed_case.id, AuditEntry.to_status.isnot(None))
    for entry in steps:
        if entry.action != "submit_application":
            assert f"Test rationale for {entry.action}." in page
    for label in ("Lawful basis", "Necessity (pressing need)", "Proportionality"):
        assert f'<dt class="govuk-summary-list__key">{label}</dt>' in page
    for limb in ("lawful_basis", "necessity", "proportionality"):
        first_line = demo.DISCLOSE[limb].split("\n")[0]
        assert str(first_line).replace("'", "&#39;")[:60] in page
    checks = re.findall(r'data-testid="step-check">([^<]+)<', page)
    assert len(checks) == len(steps)
    assert set(checks) == {"matches"}
    assert f"/documents/cases/{closed_case.id}/decision-record.pdf" in page


def test_viewing_a_case_trail_is_logged_as_a_consultation(app, staff, closed_case, clients):
    clients["auditor"].get(f"/audit/cases/{closed_case.id}")
    viewed = _entries(app, AuditEntry.action == "case_viewed")
    assert len(viewed) == 1
    entry = viewed[0]
    assert entry.actor_id == staff["auditor"].id
    assert entry.case_id == closed_case.id and entry.category == "consultation"
    assert json.loads(entry.payload)["details"]["purpose"] == "Audit review of the decision trail"


def test_a_step_record_resealed_behind_the_apps_back_does_not_match(
    app, db_path, closed_case, clients
):
    """An insider who holds the case's key writes a new rationale, sealed properly: the hash in
    the audit entry still gives it away."""
    with app.app_context():
        key_id = get_session().get(Case, closed_case.id).data_key_id
    with app.app_context(), superuser(db_path) as conn:
        changed = conn.execute(
            update(CaseStep).where(CaseStep.event == "approve_disclosure_to_applicant")
            .values(rationale=tag("Rewritten later.", key_id))).rowcount
        assert changed == 1
    page = clients["auditor"].get(f"/audit/cases/{closed_case.id}").get_data(as_text=True)
    checks = re.findall(r'data-testid="step-check">([^<]+)<', page)
    assert checks.count("DOES NOT MATCH") == 1
    assert "the rationale differs" in page


def test_a_step_record_overwritten_in_clear_does_not_match_and_the_trail_still_opens(
    app, db_path, closed_case, clients
):
    """Someone without the key writes plain text over a sealed rationale: it no longer opens,
    and the trail says so instead of failing."""
    with superuser(db_path) as conn:
        changed = conn.execute(text(
            "UPDATE case_steps SET rationale = :rationale WHERE event = :event"),
            {"rationale": b"Rewritten later.", "event": "approve_disclosure_to_applicant"},
        ).rowcount
        assert changed == 1
    response = clients["auditor"].get(f"/audit/cases/{closed_case.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    checks = re.findall(r'data-testid="step-check">([^<]+)<', page)
    assert checks.count("DOES NOT MATCH") == 1
    assert "no longer opens under its case" in page


def test_case_trail_for_an_unknown_case_is_404(closed_case, clients):
    assert clients["auditor"].get("/audit/cases/999999").status_code == 404


# --- CSV export --------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))


def test_csv_export_neutralises_formula_injection(app, closed_case, clients):
    seq = _append(app, at=datetime.now(UTC), name=HOSTILE)
    response = clients["auditor"].get("/audit/export.csv")
    assert response.status_code == 200
    rows = _csv(response)
    by_seq = {row[0]: row for row in rows[1:]}
    assert by_seq[str(seq)][2] == "'" + HOSTILE
    assert "'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")" in response.get_data(as_text=True)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_csv_export_has_the_columns_and_every_matching_entry(app, closed_case, clients):
    response = clients["auditor"].get(f"/audit/export.csv?reference={closed_case.reference}")
    rows = _csv(response)
    assert rows[0] == ["seq", "time_utc", "actor_name", "actor_role", "action", "category",
                       "case_reference", "from_status", "to_status", "entry_hash"]
    expected = _entries(app, AuditEntry.case_id == closed_case.id,
                        AuditEntry.action != "audit_csv_exported")
    assert [int(r[0]) for r in rows[1:]] == [e.seq for e in expected]
    assert {r[6] for r in rows[1:]} == {closed_case.reference}
    assert [r[9] for r in rows[1:]] == [e.entry_hash for e in expected]
    assert response.get_data().count(b"\r\n") == len(rows)


def test_csv_export_is_an_uncached_attachment(closed_case, clients):
    response = clients["auditor"].get("/audit/export.csv")
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="audit-log-\d{8}T\d{6}Z\.csv"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"


def test_csv_export_is_recorded_in_the_log_with_its_row_count(app, staff, closed_case, clients):
    response = clients["auditor"].get("/audit/export.csv?category=disclosure")
    data_rows = len(_csv(response)) - 1
    exports = _entries(app, AuditEntry.action == "audit_csv_exported")
    assert len(exports) == 1
    entry = exports[0]
    assert entry.actor_id == staff["auditor"].id and entry.category == "disclosure"
    details = json.loads(entry.payload)["details"]
    assert details["rows"] == data_rows
    assert details["filters"] == {"category": "disclosure"}
    assert details["recipient_user_id"] == staff["auditor"].id
    with app.app_context():
        assert audit.verify_chain(get_session()).ok


def test_an_invalid_export_filter_is_refused_and_not_logged(app, closed_case, clients):
    response = clients["auditor"].get("/audit/export.csv?date_from=not-a-date")
    assert response.status_code == 400
    assert _entries(app, AuditEntry.action == "audit_csv_exported") == []


def test_export_batches_cover_every_matching_entry_once_in_order(app, closed_case):
    from disclosure_app.audit.queries import count_matching, export_batches

    with app.app_context():
        session = get_session()
        up_to = audit.chain_length(session)
        filt = AuditFilter(case_id=closed_case.id)
        batches = list(export_batches(session, filt, up_to_seq=up_to, batch=3))
        assert not session.in_transaction()  # a slow download holds no lock
        seqs = [row.seq for rows, _ in batches for row in rows]
        assert len(batches) > 2 and all(len(rows) <= 3 for rows, _ in batches)
        assert seqs == sorted(seqs) and len(seqs) == count_matching(session, filt, up_to_seq=up_to)
        assert all(refs == {closed_case.id: closed_case.reference} for _, refs in batches)


def test_an_export_by_date_holds_only_those_days(app, staff, clients):
    old = _append(app, at=datetime(2024, 6, 1, 9, 0, tzinfo=UTC))
    _append(app, at=datetime(2024, 7, 1, 9, 0, tzinfo=UTC))
    rows = _csv(clients["auditor"].get("/audit/export.csv?date_from=2024-06-01&date_to=2024-06-30"))
    assert [int(r[0]) for r in rows[1:]] == [old]


# --- Who may use the console -------------------------------------------------------------------

AUDIT_URLS = ["/audit/", "/audit/cases/{case}", "/audit/export.csv"]


@pytest.mark.parametrize("url", AUDIT_URLS)
@pytest.mark.parametrize("role", ["case_officer", "decision_maker", "partner", "admin"])
def test_non_auditors_are_refused_the_audit_console(app, closed_case, clients, url, role):
    response = clients[role].get(url.format(case=closed_case.id))
    assert response.status_code == 403
    assert _entries(app, AuditEntry.action.in_(["case_viewed", "audit_csv_exported"])) == []


@pytest.mark.parametrize("url", AUDIT_URLS)
def test_anonymous_visitors_are_sent_to_sign_in(closed_case, clients, url):
    response = clients["anonymous"].get(url.format(case=closed_case.id))
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_there_are_no_post_routes_under_audit_but_the_search_by_name(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/audit")]
    assert {r.endpoint for r in rules} == {
        "audit.index", "audit.case_trail", "audit.export_csv", "audit.integrity",
        "audit.consultations", "audit.staff_activity", "audit.disclosures", "audit.alerts",
        "audit.security_events", "audit.report_export"}
    for rule in rules:
        # The one exception: a subject's name is POSTed (CSRF-checked) so that it never enters
        # a URL (SEC-26); like every search it writes nothing but its own log entry.
        extra = {"POST"} if rule.endpoint == "audit.consultations" else set()
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"} | extra, rule


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_auditors_cannot_send_a_mutating_request_to_the_console(closed_case, clients, method):
    response = getattr(clients["auditor"], method)("/audit/")
    assert response.status_code == 405


@pytest.mark.parametrize(("url", "title"), [("/audit/", "Audit log"),
                                            ("/audit/cases/{case}", "Decision trail")])
def test_console_pages_have_a_title_and_unique_ids(closed_case, clients, url, title):
    page = clients["auditor"].get(url.format(case=closed_case.id)).get_data(as_text=True)
    assert f"<title>{title}" in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for form in re.findall(r"<form [^>]*>", page):
        assert 'action="' in form
