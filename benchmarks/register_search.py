"""Candidate search on a 100,000-person offender register: p50 and p95.

    .venv/bin/python benchmarks/register_search.py [--people 100000] [--searches 400]
        [--database-url URL]   # default: a new SQLite file in a temporary directory

Generates a synthetic register (``disclosure_app.risk.register.sample``, the same generator as the
shipped sample), imports it through the real importer into a freshly migrated database, then
times the whole identity search for a subject (every indexed lookup, loading the candidates and
scoring them): exact details, a misspelt surname, an approximate age instead of a date of
birth, and a common name. A floor is measured in the same run (a primary-key read of one person)
and every figure is also given as a multiple of it, so runs on busy and quiet machines compare.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from disclosure_app import create_app  # noqa: E402
from disclosure_app.audit.chain import SystemActor  # noqa: E402
from disclosure_app.cli import upgrade_database  # noqa: E402
from disclosure_app.db import get_session  # noqa: E402
from disclosure_app.models import RegisterPerson  # noqa: E402
from disclosure_app.risk.register.importer import import_file  # noqa: E402
from disclosure_app.risk.register.sample import write  # noqa: E402
from disclosure_app.risk.register.source import (
    LocalRegister,
    candidate_record,  # noqa: E402
)
from workflows.identity import (  # noqa: E402
    Address,
    PersonName,
    SubjectDescription,
    rank,
)

TODAY = date(2026, 6, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def subjects(session, rng: random.Random, count: int) -> dict[str, list[SubjectDescription]]:
    ids = session.scalars(select(RegisterPerson.id)).all()
    kinds: dict[str, list[SubjectDescription]] = {"exact": [], "misspelt surname": [],
                                                  "approximate age only": []}
    for pk in rng.sample(ids, count):
        person = session.get(RegisterPerson, pk)
        c = candidate_record(person)
        name = c.names[0]
        addresses = [Address(a.line, a.postcode) for a in c.addresses[:1]]
        kinds["exact"].append(SubjectDescription([name], c.date_of_birth, None, addresses))
        typo = name.surname[:-2] + name.surname[-1:] if len(name.surname) > 3 else name.surname
        kinds["misspelt surname"].append(SubjectDescription(
            [PersonName(name.forenames, typo)], c.date_of_birth, None, addresses))
        age = TODAY.year - c.date_of_birth.year
        kinds["approximate age only"].append(SubjectDescription([name], None, age, []))
    return kinds


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="register-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "benchmark", "TESTING": True,
                      "PRODUCTION": False})
    rng = random.Random(7)  # noqa: S311 - benchmark data
    with app.app_context():
        upgrade_database()
        session = get_session()
        file = work / "register.jsonl"
        started = time.perf_counter()
        write(file, args.people)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        result = import_file(session, file, now=datetime.now(UTC),
                             actor=SystemActor(name="benchmark"))
        imported = time.perf_counter() - started
        print(f"Engine: {session.get_bind().dialect.name}; {result.created:,} people "
              f"({file.stat().st_size / 1e6:.1f} MB) generated in {generated:.1f} s, "
              f"checked and imported in {imported:.1f} s")
        per_kind = max(1, args.searches // 3)
        kinds = subjects(session, rng, per_kind)
        session.commit()
        register = LocalRegister(session, TODAY)
        ids = session.scalars(select(RegisterPerson.id)).all()
        for subject in kinds["exact"][:20]:  # warm the caches
            rank(subject, register.candidates(subject).candidates, TODAY)
        floor = [timed(lambda pk=pk: session.scalars(
            select(RegisterPerson.id).where(RegisterPerson.id == pk)).one())
            for pk in rng.sample(ids, 400)]
        floor_p50 = statistics.median(floor)
        print(f"Floor (one person by primary key): p50 {floor_p50:.3f} ms, "
              f"p95 {percentile(floor, 0.95):.3f} ms")
        print(f"{'Search':<24}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'p50/floor':>11}"
              f"{'p95/floor':>11}{'candidates':>12}")
        everything: list[float] = []
        for kind, group in kinds.items():
            times, found = [], []
            for subject in group:
                shown: list = []
                times.append(timed(lambda s=subject, out=shown: out.extend(
                    rank(s, register.candidates(s).candidates, TODAY))))
                found.append(len(shown))
            everything += times
            p50, p95 = statistics.median(times), percentile(times, 0.95)
            print(f"{kind:<24}{len(times):>5}{p50:>10.2f}{p95:>10.2f}{p50 / floor_p50:>11.0f}"
                  f"{p95 / floor_p50:>11.0f}{statistics.mean(found):>12.1f}")
        p50, p95 = statistics.median(everything), percentile(everything, 0.95)
        print(f"{'all searches':<24}{len(everything):>5}{p50:>10.2f}{p95:>10.2f}"
              f"{p50 / floor_p50:>11.0f}{p95 / floor_p50:>11.0f}")
        session.rollback()
    app.extensions["db_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
