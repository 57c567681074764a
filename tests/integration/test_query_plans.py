"""The queue's default views read through indexes: no table scans, no sorts, no OFFSET."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from disclosure_app.models import User
from disclosure_app.services.cases import QueueFilter, queue_query
from tests.factories import make_user
from workflows.roles import Role
from workflows.status import Route, Stage, Status

FILTERS = {
    "default (open cases)": QueueFilter(),
    "by stage": QueueFilter(stage=Stage.decision),
    "by state": QueueFilter(status=Status.awaiting_decision),
    "overdue": QueueFilter(overdue_only=True),
    "by route": QueueFilter(route=Route.right_to_know),
    "closed": QueueFilter(stage=Stage.closed),
}


def _plan(session, query) -> str:
    compiled = query.limit(26).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("role", [Role.case_officer, Role.partner])
def test_queue_query_uses_an_index_and_needs_no_sort(session, name, role):
    user: User = make_user(session, role)
    plan = _plan(session, queue_query(user, FILTERS[name], datetime.now(UTC)))
    assert "SCAN cases" not in plan, plan
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    if role is Role.case_officer:
        assert "TEMP B-TREE" not in plan, plan
    assert "OFFSET" not in str(queue_query(user, FILTERS[name], datetime.now(UTC)))


def test_my_cases_view_uses_the_officer_index(session):
    user = make_user(session, Role.case_officer)
    plan = _plan(session, queue_query(user, QueueFilter(mine_only=True), datetime.now(UTC)))
    assert "SCAN cases" not in plan, plan
