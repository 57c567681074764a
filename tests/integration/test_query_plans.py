"""The staff queue and the auditor's console read through indexes, on both engines: no table
scans, no OFFSET, and (where an index can deliver the order) no sort.

SQLite: ``EXPLAIN QUERY PLAN`` must not ``SCAN`` the table nor ``USE TEMP B-TREE`` for the order.
PostgreSQL: the test tables are tiny and unanalysed, where a sequential scan (or a bitmap scan,
which never returns rows in index order, followed by a sort) is the cheapest plan whatever the
indexes. So ``EXPLAIN`` runs with sequential and bitmap scans switched off for the statement's
transaction: what is left is an index scan if a usable index exists, and a ``Sort`` node only if
no index delivers the rows in the order asked for. The plan must have no ``Seq Scan`` on the
table, and no ``Sort`` where SQLite has no temporary B-tree. And with a full queue and its
statistics, each engine's planner, left to its defaults, makes the same choice for a page of
the officers' queue.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Select, text
from sqlalchemy.orm import Session

from disclosure_app.audit.queries import AuditFilter, search_query
from disclosure_app.cases.queue import QueueFilter, queue_query
from disclosure_app.models import User
from tests.databases import ENGINE, superuser
from tests.factories import make_user
from workflows.roles import Role
from workflows.status import Route, Stage, Status, stage_of


def plan(session: Session, query: Select, *, planner_defaults: bool = False) -> str:
    """The query's plan as text, one line per plan node (or SQLite plan step). On PostgreSQL,
    unless ``planner_defaults``, with sequential and bitmap scans off (see above)."""
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if ENGINE == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(str(row[-1]) for row in rows)
    try:
        if not planner_defaults:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
        return "\n".join(session.execute(text(f"EXPLAIN {compiled}")).scalars())
    finally:
        session.rollback()  # SET LOCAL ends with the transaction


def scans_the_whole(table: str, plan_text: str) -> bool:
    if ENGINE == "sqlite":
        return re.search(rf"^SCAN {table}\b", plan_text, re.MULTILINE) is not None
    return re.search(rf"\bSeq Scan on {table}\b", plan_text) is not None


def sorts(plan_text: str) -> bool:
    if ENGINE == "sqlite":
        return "TEMP B-TREE" in plan_text
    return re.search(r"\b(Incremental )?Sort\b", plan_text) is not None


def reads_through_an_index_on(table: str, plan_text: str) -> bool:
    if ENGINE == "sqlite":
        return re.search(rf"^SEARCH {table} USING (COVERING )?INDEX ", plan_text,
                         re.MULTILINE) is not None
    return re.search(rf"\bIndex (Only )?Scan (Backward )?using \w+ on {table}\b",
                     plan_text) is not None


# --- The staff queue ---------------------------------------------------------------------------

FILTERS = {
    "default (open cases)": QueueFilter(),
    "by stage": QueueFilter(stage=Stage.decision),
    "by state": QueueFilter(status=Status.awaiting_decision),
    "overdue": QueueFilter(overdue_only=True),
    "by route": QueueFilter(route=Route.right_to_know),
    "closed": QueueFilter(stage=Stage.closed),
}


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("role", [Role.case_officer, Role.partner])
def test_queue_query_uses_an_index_and_needs_no_sort(session, name, role):
    user: User = make_user(session, role)
    query = queue_query(user, FILTERS[name], datetime.now(UTC))
    plan_text = plan(session, query.limit(26))
    assert not scans_the_whole("cases", plan_text), plan_text
    assert reads_through_an_index_on("cases", plan_text), plan_text
    if role is Role.case_officer:
        assert not sorts(plan_text), plan_text
    assert "OFFSET" not in str(query).upper()


def test_my_cases_view_uses_the_officer_index(session):
    user = make_user(session, Role.case_officer)
    plan_text = plan(session, queue_query(user, QueueFilter(mine_only=True),
                                          datetime.now(UTC)).limit(26))
    assert not scans_the_whole("cases", plan_text), plan_text
    assert reads_through_an_index_on("cases", plan_text), plan_text
    assert not sorts(plan_text), plan_text


QUEUE_SIZE = 5000
_HOURS_AFTER_NEW_YEAR = {
    "sqlite": "datetime('2026-01-01', '+' || i || ' hours')",
    "postgresql": "TIMESTAMP '2026-01-01' + i * INTERVAL '1 hour'",
}[ENGINE]
_MIX = [Status.received, Status.full_risk_assessment, Status.awaiting_decision,
        Status.disclosure_approved, Status.closed]


def _fill_the_queue(database, officer_id: int) -> None:
    """QUEUE_SIZE cases written straight into the table (their workflow does not matter to a
    plan): a fifth in each of five states, one in five closed, one in ten assigned to the officer;
    then the statistics the planner works from."""
    def by_mix(value) -> str:
        whens = " ".join(f"WHEN {n} THEN '{value(status)}'" for n, status in enumerate(_MIX))
        return f"CASE i % {len(_MIX)} {whens} END"

    due = _HOURS_AFTER_NEW_YEAR
    with superuser(database) as conn:
        conn.execute(text(f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :size)
            INSERT INTO cases (reference, route, status, stage, is_open, version, created_at,
                updated_at, updated_by_label, assigned_officer_id, received_at,
                initial_checks_due_at, decision_due_at, concern, declared_truthful,
                declared_sharing, representations_recorded, child_sexual_offence_flag,
                urgent_safeguarding)
            SELECT 'PLAN-' || i,
                   CASE i % 2 WHEN 0 THEN 'right_to_ask' ELSE 'right_to_know' END,
                   {by_mix(lambda s: s.name)}, {by_mix(lambda s: stage_of(s).name)},
                   i % {len(_MIX)} <> {_MIX.index(Status.closed)}, 1, {due}, {due}, 'plan test',
                   CASE WHEN i % 10 = 0 THEN :officer END, {due}, {due}, {due}, '',
                   TRUE, TRUE, FALSE, FALSE, FALSE
            FROM n"""), {"size": QUEUE_SIZE, "officer": officer_id})
        conn.execute(text("ANALYZE cases" if ENGINE == "postgresql" else "ANALYZE"))


@pytest.mark.parametrize("name", [*FILTERS, "my cases"])
def test_on_a_full_queue_the_planner_itself_reads_the_officer_queue_in_index_order(
    database, session, name
):
    """No planner switches here: with thousands of cases and their statistics, each engine's own
    choice for a page of the queue is an index read in the queue's order, no sort, no scan."""
    officer = make_user(session, Role.case_officer)
    _fill_the_queue(database, officer.id)
    filt = QueueFilter(mine_only=True) if name == "my cases" else FILTERS[name]
    plan_text = plan(session, queue_query(officer, filt, datetime.now(UTC)).limit(26),
                     planner_defaults=True)
    assert not scans_the_whole("cases", plan_text), plan_text
    assert reads_through_an_index_on("cases", plan_text), plan_text
    assert not sorts(plan_text), plan_text


# --- The auditor's console ---------------------------------------------------------------------

PRIMARY_KEY = {"sqlite": "INTEGER PRIMARY KEY", "postgresql": "pk_audit_entries"}[ENGINE]

# name -> (filter, the index that serves it, whether that index also gives the order)
AUDIT_SEARCHES = {
    "by case": (AuditFilter(case_id=3), "ix_audit_entries_case", True),
    "by staff member": (AuditFilter(actor_id=2), "ix_audit_entries_actor", True),
    "by action": (AuditFilter(action="close_case"), "ix_audit_entries_action", True),
    "by category": (AuditFilter(category="disclosure"), "ix_audit_entries_category", True),
    # (created_at, seq) finds the days; the entries of those days are then put newest first.
    "by date range": (AuditFilter(date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)),
                      "ix_audit_entries_created", False),
    "by case and category": (AuditFilter(case_id=3, category="disclosure"),
                             "ix_audit_entries_case", True),
}


@pytest.mark.parametrize("before", [None, 500], ids=["first page", "older page (before=)"])
@pytest.mark.parametrize("name", list(AUDIT_SEARCHES))
def test_audit_searches_read_through_their_index_without_offset(session, name, before):
    filt, index, ordered_by_index = AUDIT_SEARCHES[name]
    query = search_query(filt, before=before).limit(51)
    plan_text = plan(session, query)
    assert index in plan_text, plan_text
    assert not scans_the_whole("audit_entries", plan_text), plan_text
    if ordered_by_index:
        assert not sorts(plan_text), plan_text
    assert "OFFSET" not in str(query).upper()


def test_an_older_page_of_everything_reads_the_primary_key_from_the_cursor(session):
    query = search_query(AuditFilter(), before=500).limit(51)
    plan_text = plan(session, query)
    assert PRIMARY_KEY in plan_text, plan_text
    assert not scans_the_whole("audit_entries", plan_text), plan_text
    assert not sorts(plan_text), plan_text
    assert "OFFSET" not in str(query).upper()


def test_the_first_page_of_everything_reads_newest_first_without_sorting(session):
    plan_text = plan(session, search_query(AuditFilter()).limit(51))
    assert not sorts(plan_text), plan_text
    if ENGINE == "postgresql":
        # SQLite walks the table itself backwards (it is stored in seq order: "SCAN" with no
        # sort); PostgreSQL's heap has no order, so it must walk the primary key backwards.
        assert "Index Scan Backward using pk_audit_entries" in plan_text, plan_text
