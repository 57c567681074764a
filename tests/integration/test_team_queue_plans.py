"""The queue's views read through their indexes, on both engines (see test_query_plans for how
plans are read: on PostgreSQL with sequential and bitmap scans off for the statement, unless
the planner's own defaults are asked for on a full, analysed queue).

- "My cases": ``ix_cases_officer_due`` (assigned_officer_id, is_open, decision_due_at, id).
- "Unallocated in my teams": ``ix_cases_team_officer_due`` (team_id, assigned_officer_id, ...).
- "My teams", and one team's cases from the workload page: ``ix_cases_team_open_due``.
- One officer's cases from the workload page: ``ix_cases_officer_due``.

With one team (or no one covered) the index also gives the order: no sort. With several teams,
or cover, the rows of those few teams or officers are read through the index and then sorted:
a small set, never the table. PostgreSQL does not count ``assigned_officer_id IS NULL`` as
fixing that column for the order (it does for ``= x`` and for a boolean ``IS TRUE``), so for
the unallocated view it may instead read the team's open cases in order and drop the allocated
ones; either way an index, never the table, and the no-sort check is SQLite's alone there.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from disclosure_app.cases.queue import QueueFilter, QueueScope, QueueView, count_query, queue_query
from tests.databases import ENGINE, superuser
from tests.factories import make_user
from tests.integration.test_query_plans import (
    _HOURS_AFTER_NEW_YEAR,
    plan,
    reads_through_an_index_on,
    scans_the_whole,
    sorts,
)
from workflows.roles import Role
from workflows.status import Stage, Status, stage_of

TEAM = 3
OTHER_TEAM = 4
ABSENT_OFFICER = 999

# name -> (filter, scope, the index that serves it, whether the index gives the order too)
VIEWS = {
    "my cases": (QueueFilter(view=QueueView.mine), QueueScope((TEAM,)),
                 "ix_cases_officer_due", True),
    "my cases, by stage": (QueueFilter(view=QueueView.mine, stage=Stage.decision),
                           QueueScope((TEAM,)), "ix_cases_officer_due", True),
    "unallocated in my team": (QueueFilter(view=QueueView.unallocated), QueueScope((TEAM,)),
                               "ix_cases_team_officer_due", ENGINE == "sqlite"),
    "my team": (QueueFilter(view=QueueView.teams), QueueScope((TEAM,)),
                "ix_cases_team_open_due", True),
    "my team, overdue": (QueueFilter(view=QueueView.teams, overdue_only=True),
                         QueueScope((TEAM,)), "ix_cases_team_open_due", True),
    "one team (workload link)": (QueueFilter(team_id=TEAM), QueueScope(),
                                 "ix_cases_team_open_due", True),
    "one officer (workload link)": (QueueFilter(officer_id=ABSENT_OFFICER), QueueScope(),
                                    "ix_cases_officer_due", True),
}
# Several teams, or cover: an index finds the rows; they are then sorted (a small set).
SEVERAL = {
    "my cases while covering": (QueueFilter(view=QueueView.mine),
                                QueueScope((TEAM,), (ABSENT_OFFICER,))),
    "unallocated in two teams": (QueueFilter(view=QueueView.unallocated),
                                 QueueScope((TEAM, OTHER_TEAM))),
    "two teams": (QueueFilter(view=QueueView.teams), QueueScope((TEAM, OTHER_TEAM))),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_each_queue_view_reads_an_index_in_the_queues_order(session, name):
    """On an empty table the planner has no statistics to prefer one index over another (that
    is the full queue's test below); what must hold whatever it picks: no scan of the table,
    and no sort where an index can give the order."""
    filt, scope, _, ordered = VIEWS[name]
    officer = make_user(session, Role.case_officer)
    query = queue_query(officer, filt, datetime.now(UTC), scope)
    plan_text = plan(session, query.limit(26))
    assert not scans_the_whole("cases", plan_text), plan_text
    assert reads_through_an_index_on("cases", plan_text), plan_text
    if ordered:
        assert not sorts(plan_text), plan_text
    assert "OFFSET" not in str(query).upper()


@pytest.mark.parametrize("name", list(SEVERAL))
def test_several_teams_or_cover_still_read_through_an_index(session, name):
    filt, scope = SEVERAL[name]
    officer = make_user(session, Role.case_officer)
    plan_text = plan(session, queue_query(officer, filt, datetime.now(UTC), scope).limit(26))
    assert not scans_the_whole("cases", plan_text), plan_text
    assert reads_through_an_index_on("cases", plan_text), plan_text


@pytest.mark.parametrize("name", [*VIEWS, *SEVERAL])
def test_each_views_count_reads_an_index_not_the_table(session, name):
    filt, scope = (VIEWS.get(name) or SEVERAL[name])[:2]
    officer = make_user(session, Role.case_officer)
    plan_text = plan(session, count_query(queue_query(officer, filt, datetime.now(UTC), scope)))
    assert not scans_the_whole("cases", plan_text), plan_text


# --- A full queue, and the planner's own choice ------------------------------------------------

QUEUE_SIZE = 5000
TEAMS = 10
OFFICERS = 30
_MIX = [Status.received, Status.full_risk_assessment, Status.awaiting_decision,
        Status.disclosure_approved, Status.closed]


def _fill_the_queue(database, officer_id: int) -> None:
    """QUEUE_SIZE cases straight into the table, as a force's unit looks: ten teams, thirty
    more officers; one case in five closed, one in ten held by ``officer_id``, one in ten
    unallocated, the rest spread over the other officers; then the statistics the planner
    works from."""
    def by_mix(value) -> str:
        whens = " ".join(f"WHEN {n} THEN '{value(status)}'" for n, status in enumerate(_MIX))
        return f"CASE i % {len(_MIX)} {whens} END"

    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {})"
    due = _HOURS_AFTER_NEW_YEAR
    with superuser(database) as conn:
        conn.execute(text(numbers.format(OFFICERS) + """
            INSERT INTO users (email, full_name, role, password_hash, active, session_version,
                               created_at)
            SELECT 'plan-officer-' || i || '@test.example', 'Plan officer', 'case_officer', 'x',
                   TRUE, 1, CURRENT_TIMESTAMP FROM n"""))
        conn.execute(text(numbers.format(TEAMS) + """
            INSERT INTO teams (code, name, postcode_districts, is_default, active, created_at)
            SELECT 'PLAN-' || i, 'Plan team ' || i, '', FALSE, TRUE, CURRENT_TIMESTAMP
            FROM n"""))
        conn.execute(text(numbers.format(QUEUE_SIZE) + f"""
            INSERT INTO cases (reference, route, status, stage, is_open, version, created_at,
                updated_at, updated_by_label, assigned_officer_id, team_id, received_at,
                initial_checks_due_at, decision_due_at, concern, declared_truthful,
                declared_sharing, representations_recorded, child_sexual_offence_flag,
                urgent_safeguarding)
            SELECT 'TEAMPLAN-' || i, 'right_to_ask',
                   {by_mix(lambda s: s.name)}, {by_mix(lambda s: stage_of(s).name)},
                   i % {len(_MIX)} <> {_MIX.index(Status.closed)}, 1, {due}, {due}, 'plan test',
                   CASE i % 10 WHEN 0 THEN :officer WHEN 5 THEN NULL ELSE
                       (SELECT id FROM users
                        WHERE email = 'plan-officer-' || (1 + i % {OFFICERS}) || '@test.example')
                   END,
                   (SELECT id FROM teams WHERE code = 'PLAN-' || (1 + i % {TEAMS})),
                   {due}, {due}, {due}, '', TRUE, TRUE, FALSE, FALSE, FALSE
            FROM n"""), {"officer": officer_id})
        conn.execute(text("ANALYZE" if ENGINE == "sqlite" else "ANALYZE cases"))
        return conn.execute(text("SELECT MIN(id) FROM teams WHERE code LIKE 'PLAN-%'")).scalar()


@pytest.mark.parametrize("name", list(VIEWS))
def test_on_a_full_queue_the_planner_itself_reads_each_view_through_its_index(
    database, session, name
):
    """No planner switches: with thousands of cases and their statistics, each engine's own
    choice for a page of each view is a read of the view's own index, never the table. On
    SQLite it is in the queue's order. PostgreSQL, knowing a view holds a few dozen rows, may
    prefer a bitmap scan of that index and sort them: cheaper, and still never the table."""
    filt, scope, index, ordered = VIEWS[name]
    officer = make_user(session, Role.case_officer)
    team = _fill_the_queue(database, officer.id)
    # SQLite reads its statistics when a connection loads the schema: connections opened before
    # ANALYZE would plan without them. New connections, then, as a restarted app would have.
    session.close()
    session.get_bind().dispose()
    filt = replace(filt, team_id=team if filt.team_id is not None else None,
                   officer_id=officer.id if filt.officer_id is not None else None)
    scope = replace(scope, team_ids=(team,) if scope.team_ids else ())
    query = queue_query(officer, filt, datetime.now(UTC), scope)
    plan_text = plan(session, query.limit(26), planner_defaults=True)
    assert not scans_the_whole("cases", plan_text), plan_text
    assert index in plan_text, plan_text
    if ENGINE == "sqlite":
        assert reads_through_an_index_on("cases", plan_text), plan_text
        if ordered:
            assert not sorts(plan_text), plan_text
    else:
        assert re.search(rf"\b(Bitmap Index Scan|Index (Only )?Scan( Backward)?) (on|using) "
                         rf"{index}\b", plan_text), plan_text
