"""`clocks tick` over a million cases with 1% due, against a bare indexed UPDATE of the same rows.

    .venv/bin/python benchmarks/clocks_tick.py [--cases 1000000] [--due-share 0.01]
        [--database-url URL]   # default: a new SQLite file in a temporary directory

Loads ``--cases`` open cases (two teams, 40 officers, 6 supervisors) with one running clock
each into a freshly migrated database, 1% of them past their near-breach or breach point. Then,
in the same run and alternating, three times each, inside a transaction that is rolled back
so that every repetition starts from the same rows:

* the floor: ``UPDATE case_clocks SET state = …, next_at = … WHERE next_at <= now`` — the least
  any tick must do (find the due rows through the index and write them);
* the tick: ``disclosure_app.clocks.tick.escalate`` — insert the notifications for the holders
  (and, for breaches, the team's supervisors) and the supervisors' digests, deduplicated, and
  move the clocks on.

It reports each median and the ratio (goal: at most 3×), and the staff queue's first page at
this size as a multiple of a primary-key read (the floor of issue 4's queue benchmarks): the
default queue, "my cases", "my team" and "unallocated in my teams".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, update  # noqa: E402

from disclosure_app import create_app  # noqa: E402
from disclosure_app.cases.queue import (  # noqa: E402
    QueueFilter,
    QueueScope,
    QueueView,
    count_query,
    queue_query,
)
from disclosure_app.cli import upgrade_database  # noqa: E402
from disclosure_app.clocks.tick import escalate  # noqa: E402
from disclosure_app.db import get_session  # noqa: E402
from disclosure_app.models import Case, CaseClock, Notification, Team, TeamMember, User  # noqa: E402
from workflows.roles import Rank, Role  # noqa: E402
from workflows.status import Route, Stage, Status  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHUNK = 20_000


def load(session, cases: int, due_share: float) -> tuple[list[int], list[int]]:
    """Teams, officers and ``cases`` open cases with one clock each; returns (officer ids,
    team ids)."""
    teams = [Team(code=f"t{i}", name=f"Unit {i}", created_at=NOW, is_default=i == 0)
             for i in range(2)]
    session.add_all(teams)
    session.flush()
    officers, supervisors = [], []
    for i in range(46):
        rank = Rank.sergeant if i < 6 else Rank.constable
        user = User(email=f"officer{i}@bench.example", full_name=f"Officer {i}",
                    role=Role.case_officer, rank=rank, password_hash="x", created_at=NOW)
        session.add(user)
        session.flush()
        session.add(TeamMember(team_id=teams[i % 2].id, user_id=user.id, added_at=NOW))
        (supervisors if i < 6 else officers).append(user.id)
    session.commit()
    due_every = max(1, round(1 / due_share))
    started = time.perf_counter()
    for first in range(0, cases, CHUNK):
        rows, clocks = [], []
        for n in range(first, min(cases, first + CHUNK)):
            received = NOW - timedelta(days=10 + n % 50, minutes=n % 997)
            due = received + timedelta(days=63)
            due_now = n % due_every == 0
            near = NOW - timedelta(hours=1) if due_now else NOW + timedelta(days=1 + n % 40)
            rows.append({
                "id": n + 1, "reference": f"B{n + 1:09d}", "route": Route.right_to_ask,
                "status": Status.full_risk_assessment, "stage": Stage.risk_check,
                "is_open": True, "version": 1, "created_at": received, "updated_at": received,
                "updated_by_label": "benchmark", "received_at": received,
                "initial_checks_due_at": received + timedelta(hours=24),
                "decision_due_at": due, "assessment_due_at": due - timedelta(days=20),
                "team_id": teams[n % 2].id,
                # One case in ten unallocated, independently of which are due.
                "assigned_officer_id": None if n % 10 == 3 else officers[n % len(officers)],
            })
            clocks.append({"case_id": n + 1, "clock": "overall", "due_at": due,
                           "near_at": near, "state": "on_track", "next_at": near})
        session.execute(insert(Case), rows)
        session.execute(insert(CaseClock), clocks)
        session.commit()
    print(f"Loaded {cases:,} cases and clocks in {time.perf_counter() - started:.0f} s")
    return officers, [t.id for t in teams]


def timed_rollback(session, work) -> float:
    session.rollback()
    started = time.perf_counter()
    work()
    session.flush()
    elapsed = time.perf_counter() - started
    session.rollback()
    return elapsed


def bare_update(session) -> None:
    session.execute(update(CaseClock).where(CaseClock.next_at <= NOW).values(
        state="breached", next_at=None), execution_options={"synchronize_session": False})


def the_tick(session) -> None:
    escalate(session, now=NOW, supervisor_rank=Rank.sergeant, email=False)


def page_ms(session, query, repeats: int = 30) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.execute(query.limit(26)).all()
        times.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return statistics.median(times)


def queues(session, officers: list[int], teams: list[int]) -> None:
    """Each view's first page through the queue's own query (``cases.queue.queue_query``), and
    the count its tab shows (``count_query``), against a primary-key read."""
    floor = page_ms(session, select(Case.id).where(Case.id == 12345), 200)
    officer = session.get(User, officers[0])
    scope = QueueScope(team_ids=(teams[0],))
    print(f"Queue first page (25 cases) and tab count at this size; floor (a case by primary "
          f"key) {floor:.3f} ms")
    for view in QueueView:
        query = queue_query(officer, QueueFilter(view=view), NOW, scope)
        ms = page_ms(session, query)
        counted = page_ms(session, count_query(query), 5)
        print(f"  {view.label:<28}{ms:>9.2f} ms {ms / floor:>7.0f}× floor   count "
              f"{counted:>8.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--existing", action="store_true",
                        help="measure a database this script loaded before (--database-url)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tick-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "benchmark", "TESTING": True,
                      "PRODUCTION": False})
    with app.app_context():
        upgrade_database()
        session = get_session()
        if args.existing:
            officers = list(session.scalars(select(User.id).where(User.rank == Rank.constable)))
            teams = list(session.scalars(select(Team.id).order_by(Team.id)))
        else:
            officers, teams = load(session, args.cases, args.due_share)
        due = session.scalar(select(func.count()).select_from(CaseClock)
                             .where(CaseClock.next_at <= NOW))
        print(f"Engine: {session.get_bind().dialect.name}; clocks due: {due:,}")
        floors, ticks = [], []
        for _ in range(args.repeats):
            floors.append(timed_rollback(session, lambda: bare_update(session)))
            ticks.append(timed_rollback(session, lambda: the_tick(session)))
        the_tick(session)
        sent = session.scalar(select(func.count()).select_from(Notification))
        session.rollback()
        floor, tick = statistics.median(floors), statistics.median(ticks)
        print(f"Bare indexed UPDATE of the due rows: {floor * 1000:.0f} ms (median of "
              f"{args.repeats}); clocks tick: {tick * 1000:.0f} ms; ratio {tick / floor:.2f}× "
              f"(goal ≤ 3×); notifications per tick: {sent:,}")
        queues(session, officers, teams)
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
