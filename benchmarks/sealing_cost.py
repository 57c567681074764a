"""The case page and the staff queue with personal data sealed, against the same pages before it,
in the same run (goal: at most 1.3×).

    .venv/bin/python benchmarks/sealing_cost.py [--cases 100] [--rounds 5] [--queue-repeats 20]
        [--plain-database-url URL --sealed-database-url URL]
        # default: two new SQLite files in a temporary directory

"Before" is stood for by a plain mode: ``privacy.sealed.Sealed`` stores and reads the same encoded
bytes (``_encode`` / ``_decode``) without encrypting them, so the two databases differ only in
AES-256-GCM and the key look-ups (the per-case data keys, unwrapped once and then cached for
``KEY_CACHE_SECONDS``, as on a running host). The flush hook that tags values with their case's
key still runs in both modes (it only matters to writes, and the pages write none).

Seeds two databases with the same ``--cases`` cases awaiting a decision (made through the real
services: ``tests.factories.make_case``), one written in plain mode and one sealed. In each a case
officer signs in through the real sign-in (password and TOTP) and gives the reason for the
subject section of every case, so that each case page shows the sealed subject and children
details. Then, ``--rounds`` times, alternating which mode goes first, with the plain mode switched
on together with its database: ``GET /staff/cases/<id>`` for every case (each writes its s.62
consultation entry to the audit chain, in both modes alike) and ``GET /staff/`` (the queue,
its first page) ``--queue-repeats`` times. A warm-up round (templates, caches, key unwrapping) is
not counted.

It reports the median per request of each page in each mode and the ratios sealed/plain, the
plain pages being the floor measured in the same run (goal: at most 1.3×).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from disclosure_app.audit.reasons import REMEMBERED  # noqa: E402
from disclosure_app.cli import upgrade_database  # noqa: E402
from disclosure_app.db import get_session  # noqa: E402
from disclosure_app.privacy import envelope, sealed  # noqa: E402
from disclosure_app.privacy.keys import keystore  # noqa: E402
from disclosure_app.privacy.sealed import DISPOSED, Sealed  # noqa: E402
from tests.conftest import make_app, make_staff, sign_in  # noqa: E402
from tests.factories import SUBJECT_NAME, give_reason, make_case  # noqa: E402
from workflows.status import Status  # noqa: E402

GOAL = 1.3
STATUS = Status.awaiting_decision

# --- Plain mode: the same bytes, not encrypted ----------------------------------------------------
# SQLAlchemy keeps the bound ``process_bind_param`` / ``process_result_value`` it finds when it
# first builds a type's processors (per engine), so patching them in and out would not reach an
# engine that has already run a query. Instead both are replaced once, before any engine exists,
# by dispatchers that read the current mode on every value (the same extra call in both modes).

_REAL_BIND = Sealed.process_bind_param
_REAL_RESULT = Sealed.process_result_value
_MODE = {"plain": False}


def _plain_bind(self: Sealed, value: Any, dialect: Any) -> bytes | None:
    if value is None:
        return None
    if getattr(value, "seal_key", None) is None and value in ("", b""):
        return b""
    return sealed._encode(self.kind, value)


def _plain_result(self: Sealed, value: Any, dialect: Any) -> Any:
    if value is None:
        return None
    raw = bytes(value)
    if not raw:
        return DISPOSED[self.kind] if self.kind in ("text", "bytes") else None
    return sealed._decode(self.kind, raw)


def _bind(self: Sealed, value: Any, dialect: Any) -> bytes | None:
    return (_plain_bind if _MODE["plain"] else _REAL_BIND)(self, value, dialect)


def _result(self: Sealed, value: Any, dialect: Any) -> Any:
    return (_plain_result if _MODE["plain"] else _REAL_RESULT)(self, value, dialect)


def install_switch() -> None:
    Sealed.process_bind_param = _bind  # type: ignore[method-assign]
    Sealed.process_result_value = _result  # type: ignore[method-assign]


@contextmanager
def mode(plain: bool) -> Iterator[None]:
    """Plain (before sealing) or sealed (as shipped) for what runs inside."""
    previous = _MODE["plain"]
    _MODE["plain"] = plain
    try:
        yield
    finally:
        _MODE["plain"] = previous


# --- The two worlds ---------------------------------------------------------------------------


@dataclass
class World:
    name: str
    plain: bool
    app: Flask
    client: FlaskClient
    case_ids: list[int]


def build(name: str, plain: bool, url: str, work: Path, cases: int) -> World:
    with mode(plain):
        app = make_app(url, KEYSTORE_URL=f"sqlite:///{work / f'{name}.keys.sqlite'}",
                       KEK_DIR=str(work / f"{name}-kek"))
        with app.app_context():
            upgrade_database()
        staff = make_staff(app)
        started = time.perf_counter()
        ids = [make_case(app, STATUS, officer=staff["case_officer"],
                         decider=staff["decision_maker"],
                         approver=staff["decision_maker_2"])[0].id for _ in range(cases)]
        made = time.perf_counter() - started
        client = sign_in(app, staff["case_officer"].email)
        for case_id in ids:
            give_reason(client, case_id, section="subject")
        stored = stored_subject_name(app, ids[0])
        with app.app_context():
            keystore().forget_cached()  # the warm-up round unwraps each case's key once
        print(f"{name}: {cases} cases made in {made:.0f} s; a subject's name as stored: "
              f"{'sealed envelope' if envelope.is_sealed(stored) else repr(stored)} "
              f"({len(stored)} bytes)")
        world = World(name, plain, app, client, ids)
        page = get(world, f"/staff/cases/{ids[0]}")
        if SUBJECT_NAME not in page:
            raise SystemExit(f"{name}: the case page does not show the subject's details")
        return world


def stored_subject_name(app: Flask, case_id: int) -> bytes:
    with app.app_context():
        session = get_session()
        raw = session.execute(text("SELECT full_name FROM subjects WHERE case_id = :c"),
                              {"c": case_id}).scalar_one()
        session.rollback()
        return bytes(raw)


def get(world: World, path: str) -> str:
    response = world.client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{world.name}: GET {path} answered {response.status_code}")
    return response.get_data(as_text=True)


def timed_get(world: World, path: str) -> float:
    started = time.perf_counter()
    get(world, path)
    return (time.perf_counter() - started) * 1000


def one_round(world: World, queue_repeats: int) -> tuple[list[float], list[float]]:
    with mode(world.plain):
        pages = [timed_get(world, f"/staff/cases/{case_id}") for case_id in world.case_ids]
        queues = [timed_get(world, "/staff/") for _ in range(queue_repeats)]
    return pages, queues


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queue-repeats", type=int, default=20,
                        help="queue requests per mode per round")
    parser.add_argument("--plain-database-url", default=None)
    parser.add_argument("--sealed-database-url", default=None)
    args = parser.parse_args()
    if not 0 < args.cases <= REMEMBERED:
        parser.error(f"--cases must be 1 to {REMEMBERED}: a session remembers that many reasons")
    install_switch()
    work = Path(tempfile.mkdtemp(prefix="sealing-bench-"))
    worlds: list[World] = []
    try:
        for name, plain, url in (("plain", True, args.plain_database_url),
                                 ("sealed", False, args.sealed_database_url)):
            worlds.append(build(name, plain, url or f"sqlite:///{work / f'{name}.sqlite'}",
                                work, args.cases))
        for world in worlds:  # warm-up, not counted
            one_round(world, 2)
        times: dict[str, dict[str, list[float]]] = {w.name: {"case": [], "queue": []}
                                                     for w in worlds}
        for n in range(args.rounds):
            for world in worlds if n % 2 == 0 else worlds[::-1]:
                pages, queues = one_round(world, args.queue_repeats)
                times[world.name]["case"] += pages
                times[world.name]["queue"] += queues
        engine = worlds[0].app.extensions["db_engine"].dialect.name
        print(f"Engine: {engine}; {args.cases} cases in each database; {args.rounds} rounds, "
              f"alternated; medians per request")
        print(f"{'Page':<30}{'plain ms':>10}{'sealed ms':>11}{'sealed/plain':>14}")
        met = True
        for page, label in (("case", "case page /staff/cases/<id>"), ("queue", "queue /staff/")):
            plain = statistics.median(times["plain"][page])
            sealed_ms = statistics.median(times["sealed"][page])
            ratio = sealed_ms / plain
            met = met and ratio <= GOAL
            print(f"{label:<30}{plain:>10.2f}{sealed_ms:>11.2f}{ratio:>13.2f}×")
        print(f"Goal ≤ {GOAL}×: {'met' if met else 'NOT met'}")
    finally:
        for world in worlds:
            with world.app.app_context():
                keystore().engine.dispose()
            world.app.extensions["db_engine"].dispose()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
