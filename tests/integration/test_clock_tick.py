"""``clocks tick``: near breach and breach are escalated once, to the case's holder and its
team's supervisors; a repeat or a second process at the same moment adds nothing; the work is
found through the index on ``case_clocks.next_at``, on both engines."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from disclosure_app.clocks.tick import LEASE_NAME, acquire_lease, tick, tick_statements
from disclosure_app.db import get_session, transaction
from disclosure_app.models import Case, CaseClock, Notification, Team, TeamMember
from tests.conftest import make_app
from tests.factories import make_case, make_user
from tests.integration.test_query_plans import plan, reads_through_an_index_on, scans_the_whole
from workflows.clocks import ClockName, ClockState
from workflows.roles import Rank, Role
from workflows.status import Status


def in_team(app, case_id: int, officer_ranks: list[Rank]) -> dict[str, int]:
    """Put the case in a team with members of the given ranks; returns their ids by rank."""
    with app.app_context():
        session = get_session()
        ids = {rank.name: make_user(session, Role.case_officer, rank=rank).id
               for rank in officer_ranks}
        with transaction(session):
            now = datetime.now(UTC)
            team = Team(code=f"t{case_id}", name=f"Unit {case_id}", created_at=now)
            session.add(team)
            session.flush()
            for member_id in ids.values():
                session.add(TeamMember(team_id=team.id, user_id=member_id, added_at=now))
            session.get(Case, case_id).team_id = team.id
        return ids


def notifications(app) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = get_session().execute(select(
            Notification.user_id, Notification.kind, Notification.message)
            .order_by(Notification.id)).all()
        return [tuple(row) for row in rows]


def clock(app, case_id: int, name: ClockName) -> CaseClock:
    with app.app_context():
        return get_session().scalars(select(CaseClock).where(
            CaseClock.case_id == case_id, CaseClock.clock == name.value)).one()


def run_tick(app, at: datetime, holder: str = "test-host") -> Any:
    with app.app_context():
        return tick(get_session(), now=at, supervisor_rank=Rank.sergeant, email=False,
                    holder=holder)


@pytest.fixture
def assessing(app):
    """A case in the full risk assessment, its holder, and a team with a sergeant and a PC."""
    case, _ = make_case(app, Status.full_risk_assessment)
    members = in_team(app, case.id, [Rank.sergeant, Rank.constable])
    return case, members


def test_a_case_whose_near_breach_point_passes_is_escalated_to_holder_and_supervisors(
        app, assessing):
    case, members = assessing
    near = clock(app, case.id, ClockName.assessment).near_at

    report = run_tick(app, near + timedelta(minutes=1))

    assert report.ran and report.near_breach >= 1 and report.breached == 0
    sent = notifications(app)
    recipients = {user for user, _, _ in sent}
    assert recipients == {case.assigned_officer_id, members["sergeant"]}  # not the constable
    # The holder is told about the case; the supervisor gets the team's digest.
    assert (case.assigned_officer_id, "clock_near_breach",
            f"Case {case.reference}: the full risk assessment target is close.") in sent
    assert (members["sergeant"], "team_near_breach", f"1 case(s) in Unit {case.id} reached a "
            "target's near-breach point: see the workload page.") in sent
    assert len(sent) == 2
    row = clock(app, case.id, ClockName.assessment)
    assert row.state == ClockState.near_breach and row.next_at == row.due_at


def test_the_same_tick_twice_notifies_once(app, assessing):
    case, _ = assessing
    at = clock(app, case.id, ClockName.assessment).near_at + timedelta(minutes=1)
    run_tick(app, at)
    first = notifications(app)
    again = run_tick(app, at)
    assert again.ran and again.notifications == 0
    assert notifications(app) == first


def test_breach_is_escalated_after_near_breach_and_then_nothing_more(app, assessing):
    case, _ = assessing
    due = clock(app, case.id, ClockName.assessment).due_at
    run_tick(app, due - timedelta(hours=1))
    run_tick(app, due + timedelta(minutes=1))
    kinds = [kind for _, kind, _ in notifications(app)]
    # Near: the holder, and the supervisor's digest; breached: the holder and the supervisor.
    assert kinds.count("clock_near_breach") == 1 and kinds.count("team_near_breach") == 1
    assert kinds.count("clock_breached") == 2
    row = clock(app, case.id, ClockName.assessment)
    assert row.state == ClockState.breached and row.next_at is None
    before = notifications(app)
    run_tick(app, due + timedelta(days=3))
    assert [n for n in notifications(app) if "full risk assessment" in n[2]] == [
        n for n in before if "full risk assessment" in n[2]]


def test_a_stopped_clock_is_never_escalated(app):
    case, _ = make_case(app, Status.awaiting_decision)  # the assessment is complete
    row = clock(app, case.id, ClockName.assessment)
    assert row.state == ClockState.met and row.next_at is None
    run_tick(app, row.due_at + timedelta(days=30))
    assert not [n for n in notifications(app) if "full risk assessment" in n[2]]


def test_an_unallocated_case_goes_to_the_supervisors_alone(app):
    case, _ = make_case(app, Status.received)
    members = in_team(app, case.id, [Rank.inspector])
    with app.app_context():
        session = get_session()
        with transaction(session):
            session.get(Case, case.id).assigned_officer_id = None
    run_tick(app, clock(app, case.id, ClockName.initial_checks).due_at + timedelta(hours=1))
    assert {user for user, _, _ in notifications(app)} == {members["inspector"]}


def test_a_held_lease_keeps_a_second_host_out(app, assessing):
    case, _ = assessing
    at = clock(app, case.id, ClockName.assessment).near_at + timedelta(minutes=1)
    with app.app_context():
        assert acquire_lease(get_session(), LEASE_NAME, "host-a", at)
    assert run_tick(app, at, holder="host-b").ran is False
    assert notifications(app) == []
    # An expired lease (a crashed host) is taken over.
    assert run_tick(app, at + timedelta(minutes=5), holder="host-b").ran is True


# --- Two processes at the same moment ------------------------------------------------------


def _tick_in_another_process(database_url: str, extra: dict[str, Any], at: str, holder: str,
                             start_at: float, use_lease: bool, results: Any) -> None:
    """A second app process (its own engine and connections) ticking at ``start_at``."""
    from disclosure_app.clocks.tick import escalate

    app = make_app(database_url, **extra)
    with app.app_context():
        session = get_session()
        session.connection()  # connect before the start line, as a running host would be
        time.sleep(max(0.0, start_at - time.time()))
        moment = datetime.fromisoformat(at)
        if use_lease:
            report = tick(session, now=moment, supervisor_rank=Rank.sergeant, email=False,
                          holder=holder)
        else:  # both do the work: only the dedupe keys stand between them
            with transaction(session):
                report = escalate(session, now=moment, supervisor_rank=Rank.sergeant,
                                  email=False)
        results.put((holder, report.ran, report.notifications))


@pytest.mark.parametrize("use_lease", [True, False], ids=["with the lease", "without it"])
def test_two_processes_ticking_at_once_make_one_set_of_notifications(app, database, assessing,
                                                                     use_lease):
    case, members = assessing
    at = clock(app, case.id, ClockName.assessment).due_at + timedelta(minutes=1)
    extra = {}
    if database.engine == "postgresql":
        extra = {"MIGRATION_DATABASE_URL": database.owner_url,
                 "DATABASE_RUNTIME_ROLE": app.config["DATABASE_RUNTIME_ROLE"]}
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 8  # both spawned and connected by then, even on a busy machine
    processes = [context.Process(target=_tick_in_another_process, args=(
        database.url, extra, at.isoformat(), f"host-{i}", start_at, use_lease, results))
        for i in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    reports = [results.get(timeout=5) for _ in processes]

    sent = notifications(app)
    assert len(sent) == len(set(sent))  # no duplicates
    breached = {(user, kind) for user, kind, message in sent
                if "full risk assessment" in message}
    assert breached == {(case.assigned_officer_id, "clock_breached"),
                        (members["sergeant"], "clock_breached")}
    if use_lease:
        assert sorted(ran for _, ran, _ in reports) in ([False, True], [True, True])
    assert sum(count for _, _, count in reports) == len(sent)


# --- Query plans (both engines) ----------------------------------------------------------------


def test_the_tick_finds_its_work_through_the_next_at_index(app, assessing):
    with app.app_context():
        session = get_session()
        statements = tick_statements(session, datetime.now(UTC), Rank.sergeant, False)
        notify, *updates = statements
        for statement in (notify.select, *updates):
            text = plan(session, statement)
            assert not scans_the_whole("case_clocks", text), text
            assert not scans_the_whole("cases", text), text
            assert reads_through_an_index_on("case_clocks", text), text


def test_the_tick_touches_no_more_rows_than_are_due(app):
    """Open cases none of whose thresholds has passed: nothing is escalated, no one told."""
    for _ in range(3):
        make_case(app, Status.full_risk_assessment)
    with app.app_context():
        total = get_session().scalar(select(func.count()).select_from(CaseClock))
    report = run_tick(app, datetime.now(UTC))
    assert total > 0 and report.ran and (report.near_breach, report.breached) == (0, 0)
    assert notifications(app) == []

