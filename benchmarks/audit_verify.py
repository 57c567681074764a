"""How fast the offline verifier is, against raw SHA-256 over the same bytes, and what an audit
append costs.

    .venv/bin/python benchmarks/audit_verify.py [--entries 1000000] [--appends 2000]

1. Generates ``--entries`` chained entries (realistic ~300-byte canonical payloads) straight into
   an export bundle, with a signed checkpoint every 1,000 entries, in a temporary directory.
2. Times, on the same file and best of ``--repeat`` runs each, the runs taken in turns (one of
   each, then again) so that all of them see the same machine, whose load moves by the second:
   * raw SHA-256 of every entry line (the same bytes, read the same way, one hash per entry: the
     least any per-entry check must do) — the baseline the verifier is measured against;
   * SHA-256 of the whole file as one stream (pure hashing throughput, for reference);
   * the full offline verification (``disclosure_app/audit/verify.py``): the chain, every
     payload's sequence number, every checkpoint's signature and its RFC 6962 root — as it runs
     by default (one process per available CPU, up to four) and in one process (``--jobs 1``);
   * the same without the Merkle roots (``--no-merkle``), for reference.
3. Times ``services.audit.append`` on a migrated SQLite database: in one transaction (the cost
   an append adds to the change it records), and one transaction per append (with commits).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from disclosure_app.audit import checkpoints, verify  # noqa: E402
from disclosure_app.audit.canonical import canonical_json, chain_hash, sha256_hex  # noqa: E402


def _payload(seq: int, at: datetime) -> str:
    return canonical_json({
        "v": 1, "seq": seq, "at": at,
        "actor": {"id": 1000 + seq % 37, "role": "case_officer", "name": "PC 4411 Officer"},
        "action": "case_viewed", "category": "consultation", "case_id": 1 + seq % 5000,
        "from": None, "to": None,
        "details": {"reference": "CSD-7K2M-9QXD", "purpose": "case_page",
                    "reason_code": "case_work", "note_sha256": sha256_hex(str(seq))},
    })


def generate(bundle: Path, count: int, every: int) -> None:
    signer = checkpoints.generate_key("bench.example/audit")
    (bundle / verify.CHECKPOINTS_DIR).mkdir(parents=True)
    (bundle / verify.PUBLIC_KEY_FILE).write_text(signer.verifier_key + "\n")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = verify.GENESIS_HASH
    hashes: list[bytes] = []
    builder = verify.MerkleBuilder()
    with (bundle / verify.ENTRIES_FILE).open("wb") as out:
        for seq in range(1, count + 1):
            payload = _payload(seq, start + timedelta(milliseconds=seq))
            entry = chain_hash(prev, payload)
            out.write(verify.entry_line(prev, entry, payload))
            hashes.append(bytes.fromhex(entry))
            prev = entry
            if len(hashes) == verify.CHUNK or seq == count:
                base = builder.size
                sizes = [s for s in range(base + 1, base + len(hashes) + 1)
                         if s % every == 0 or s == count]
                for size, root in builder.add_chunk(hashes, sizes).items():
                    note = signer.sign(verify.checkpoint_body("bench.example/audit", size, root))
                    (bundle / verify.CHECKPOINTS_DIR / f"checkpoint-{size:012d}.txt").write_text(
                        note)
                hashes = []


def time_best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def time_in_turns(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best of ``repeat`` for each run, taking them in turns: on a shared machine timing one
    run's repeats and then the next's compares different moments of the load."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, fn in runs.items():
            best[name] = min(best[name], time_best(fn, 1))
    return best


def raw_per_entry(path: Path) -> None:
    sha, digest = hashlib.sha256, type(hashlib.sha256()).digest
    with path.open("rb") as handle:
        while lines := list(islice(handle, verify.CHUNK)):
            list(map(digest, map(sha, lines)))


def raw_stream(path: Path) -> None:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            h.update(block)
    h.digest()


def bench_verify(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp)
        started = time.perf_counter()
        generate(bundle, count, every=1000)
        made = time.perf_counter() - started
        entries = bundle / verify.ENTRIES_FILE
        size = entries.stat().st_size
        print(f"generated {count:,} entries ({size / 1e6:.0f} MB, {size / count:.0f} bytes a "
              f"line) with {count // 1000:,} signed checkpoints in {made:.1f} s")
        key = verify.load_key(bundle, None)

        def full(merkle: bool = True, jobs: int | None = None) -> None:
            result = verify.verify_bundle(bundle, key, merkle=merkle, jobs=jobs)
            assert result.ok, result.summary()

        jobs = (min(verify._cpus(), verify.MAX_JOBS) if size >= verify.PARALLEL_MIN_BYTES
                else 1)  # what verify.py does by default with this file
        t = time_in_turns({
            "raw": lambda: raw_per_entry(entries),
            "stream": lambda: raw_stream(entries),
            "complete": full,
            "one process": lambda: full(jobs=1),
            "no merkle": lambda: full(merkle=False),
        }, repeat)
        raw = t["raw"]

        def line(label: str, seconds: float) -> None:
            print(f"{label:<58}: {seconds:6.2f} s  ({count / seconds:,.0f} entries/s) = "
                  f"{raw / seconds:.2f}x raw per-entry")

        print(f"{'raw SHA-256, one per entry line (the baseline)':<58}: {raw:6.2f} s  "
              f"({count / raw:,.0f} entries/s)")
        print(f"{'raw SHA-256, whole file stream':<58}: {t['stream']:6.2f} s  "
              f"({size / t['stream'] / 1e6:,.0f} MB/s)")
        line(f"verify.py --no-merkle ({jobs} process(es))", t["no merkle"])
        line("verify.py complete, --jobs 1 (one process)", t["one process"])
        line(f"verify.py complete, as run by default ({jobs} process(es))", t["complete"])
        print("(complete = chain, sequence numbers, signatures, sizes and the RFC 6962 root at "
              "every checkpoint; target >= 0.5x raw per-entry)")


def bench_append(appends: int) -> None:
    from sqlalchemy import select

    from disclosure_app import create_app
    from disclosure_app.audit import chain as audit
    from disclosure_app.audit.chain import Category, SystemActor
    from disclosure_app.cli import upgrade_database
    from disclosure_app.db import get_session, transaction
    from disclosure_app.models import ChainHead

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": True,
                          "STARTUP_VERIFY_ENTRIES": 0})
        with app.app_context():
            upgrade_database()
            session = get_session()
            actor = SystemActor(name="benchmark")
            now = datetime.now(UTC)

            def one(i: int) -> None:
                audit.append(session, now=now, actor=actor, action="case_viewed",
                             category=Category.consultation, case_id=i,
                             details={"purpose": "case_page", "reason_code": "case_work"})

            started = time.perf_counter()
            with transaction(session):
                for i in range(appends):
                    one(i)
            in_one = (time.perf_counter() - started) / appends
            started = time.perf_counter()
            for i in range(appends // 4):
                with transaction(session):
                    one(i)
            each = (time.perf_counter() - started) / (appends // 4)
            started = time.perf_counter()
            for _ in range(appends // 4):
                with transaction(session):
                    session.execute(select(ChainHead).with_for_update()).first()
            bare = (time.perf_counter() - started) / (appends // 4)
        print(f"append inside a transaction     : {in_one * 1000:6.3f} ms per entry")
        print(f"append in its own transaction   : {each * 1000:6.3f} ms per entry "
              f"(an empty write transaction alone: {bare * 1000:.3f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    bench_verify(args.entries, args.repeat)
    if args.appends:
        bench_append(args.appends)


if __name__ == "__main__":
    main()
