"""Disposal of 10,000 closed cases by crypto-shredding, against the bare deletes of the same rows.

    .venv/bin/python benchmarks/disposal_run.py [--records 10000] [--repeats 3]
        [--database-url URL]   # default: a new SQLite file in a temporary directory
        [--keystore-url URL]   # default: a new SQLite key store in the same temporary directory

Loads ``--records`` closed "no disclosure" cases, each approved for disposal, into a freshly
migrated database in bulk: one data key per case (``KeyStore.create_data_keys``), and for each
case its row (the concern sealed), an applicant, a subject and one child, every personal value
sealed under the case's key (``privacy.sealed.tag``, as a bulk load that skips the ORM's flush
hook must). Then, in the same run:

* the floor, ``--repeats`` times inside a transaction that is rolled back (so each repetition
  starts from the same rows): the least any disposal must do to the database, namely the same
  ``DELETE``s of the personal rows (``records.disposal.PERSONAL_ROWS``: applicants, children,
  subjects, stored documents, link keys, rationale fingerprints) and the same ``UPDATE`` of the
  case rows (``personal_data_disposed_at`` set, the sealed concern emptied), by batches of the
  same size, with no key destroyed, no audit entry and no commit;
* the real run, once (it cannot be repeated: it destroys the keys):
  ``records.disposal.dispose_approved`` (key destruction in the key store and its WAL scrub,
  the same deletes and update, one hash-chained "erasure" audit entry per case, one commit per
  batch).

It reports the seconds of each (the floor's median), milliseconds per record, the ratio of the
real run to the floor, and the keys destroyed; then checks that the audit chain still verifies
(``audit.chain.verify_chain``), that every case is marked disposed of, that no personal row and
no live data key is left, and that a sealed value copied before the run (as a backup holds it)
no longer opens.

On PostgreSQL (``--database-url``) the run needs the owner role: the runtime role has no DELETE.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert, select, text, update  # noqa: E402

from disclosure_app import create_app  # noqa: E402
from disclosure_app.audit.chain import verify_chain  # noqa: E402
from disclosure_app.cli import upgrade_database  # noqa: E402
from disclosure_app.db import get_session  # noqa: E402
from disclosure_app.models import Applicant, Case, Child, Subject  # noqa: E402
from disclosure_app.privacy.blind_index import subject_name_digest  # noqa: E402
from disclosure_app.privacy.keys import keystore  # noqa: E402
from disclosure_app.privacy.sealed import tag  # noqa: E402
from disclosure_app.records.disposal import BATCH, PERSONAL_ROWS, dispose_approved  # noqa: E402
from workflows.status import Route, Status, stage_of  # noqa: E402

CHUNK = 2_000
FORENAMES = ("Alice", "Brian", "Carys", "Dev", "Efua", "Fergus", "Gwen", "Hamza", "Ines", "Joel")
SURNAMES = ("Ashworth", "Bello", "Campbell", "Duffy", "Evans", "Fraser", "Gill", "Hughes")


def _name(n: int, salt: int) -> str:
    return f"{FORENAMES[(n + salt) % len(FORENAMES)]} {SURNAMES[(n * 7 + salt) % len(SURNAMES)]}"


def case_row(n: int, key: str, now: datetime) -> dict:
    received = now - timedelta(days=2600 + n % 400, minutes=n % 997)
    closed = received + timedelta(days=50)
    return {
        "id": n + 1, "reference": f"D{n + 1:09d}", "route": Route.right_to_ask,
        "status": Status.closed, "stage": stage_of(Status.closed), "is_open": False,
        "version": 1, "created_at": received, "updated_at": closed,
        "updated_by_label": "benchmark", "received_at": received,
        "initial_checks_due_at": received + timedelta(hours=24),
        "decision_due_at": received + timedelta(days=63),
        "assessment_due_at": received + timedelta(days=43), "closed_at": closed,
        "decision_outcome": "no_disclosure", "data_key_id": key,
        "retention_group": "no_disclosure", "review_due_on": (closed + timedelta(days=2190)).date(),
        "disposal_approved_at": now - timedelta(days=1), "personal_data_disposed_at": None,
        "concern": tag(f"My neighbour's new partner spends time alone with my daughter ({n}).",
                       key),
        "declared_truthful": True, "declared_sharing": True, "representations_recorded": False,
        "child_sexual_offence_flag": False, "urgent_safeguarding": False,
        "subject_identity": "unresolved", "register_child_sexual_offence": False,
        "decision_needs_countersign": False, "undertaking_recorded": False,
    }


def people_rows(n: int, key: str) -> tuple[dict, dict, dict]:
    case_id = n + 1
    applicant = {
        "case_id": case_id, "full_name": tag(_name(n, 0), key), "other_names": tag("", key),
        "date_of_birth": tag(date(1980 + n % 20, 1 + n % 12, 1 + n % 28), key),
        "address": tag(f"{1 + n % 200} Station Road, Testborough", key),
        "postcode": tag(f"TB{1 + n % 9} {n % 10}AB", key),
        "phone": tag(f"07700 9{n % 100000:05d}", key),
        "email": tag(f"applicant{n}@example.org", key), "contact_method": "email",
        "safe_contact_times": tag("Weekdays after 6pm", key), "messages_ok": True,
        "contact_notes": tag("", key), "relationship_to_subject": tag("Neighbour", key),
    }
    subject_name = _name(n, 3)
    subject = {
        "case_id": case_id, "full_name": tag(subject_name, key), "aliases": tag("", key),
        "date_of_birth": tag(date(1960 + n % 30, 1 + n % 12, 1 + n % 28), key),
        "approximate_age": None, "address": tag(f"{2 + n % 200} Mill Lane, Testborough", key),
        "postcode": tag(f"TB{1 + n % 9} {n % 10}CD", key),
        "relationship_to_child": tag("Mother's new partner", key),
        "relationship_to_applicant": tag("Neighbour", key),
        "name_index": subject_name_digest(subject_name),
    }
    child = {
        "case_id": case_id, "position": 1, "full_name": tag(_name(n, 5), key),
        "date_of_birth": tag(date(2015 + n % 8, 1 + n % 12, 1 + n % 28), key),
        "age": tag(4 + n % 10, key), "gender": tag("girl", key),
        "lives_with": tag("The applicant", key), "applicant_relationship": tag("Daughter", key),
        "subject_contact": tag("Sees her at weekends", key),
    }
    return applicant, subject, child


def load(session, records: int, now: datetime) -> None:
    started = time.perf_counter()
    keys = keystore().create_data_keys(records)
    made_keys = time.perf_counter() - started
    for first in range(0, records, CHUNK):
        cases, applicants, subjects, children = [], [], [], []
        for n in range(first, min(records, first + CHUNK)):
            cases.append(case_row(n, keys[n], now))
            applicant, subject, child = people_rows(n, keys[n])
            applicants.append(applicant)
            subjects.append(subject)
            children.append(child)
        session.execute(insert(Case), cases)
        session.execute(insert(Applicant), applicants)
        session.execute(insert(Subject), subjects)
        session.execute(insert(Child), children)
        session.commit()
    print(f"Loaded {records:,} closed cases approved for disposal (keys {made_keys:.1f} s; "
          f"all sealed and inserted in {time.perf_counter() - started:.1f} s)")


def floor(session, now: datetime) -> float:
    """The same deletes and case update as the real run, batch by batch, rolled back."""
    session.rollback()
    started = time.perf_counter()
    ids = list(session.scalars(select(Case.id).where(
        Case.disposal_approved_at.is_not(None), Case.personal_data_disposed_at.is_(None))
        .order_by(Case.id)))
    for first in range(0, len(ids), BATCH):
        chunk = ids[first:first + BATCH]
        for model in PERSONAL_ROWS:
            session.execute(delete(model).where(model.case_id.in_(chunk)))
        session.execute(update(Case).where(Case.id.in_(chunk)).values(
            personal_data_disposed_at=now, concern=b"", status_token_hash=None,
            extension_request=None, version=Case.version + 1)
            .execution_options(synchronize_session=False))
    session.flush()
    elapsed = time.perf_counter() - started
    session.rollback()
    return elapsed


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def backup_copy(session) -> bytes:
    """Case 1's sealed concern as stored (as a backup taken before disposal would hold it)."""
    raw = session.execute(text("SELECT concern FROM cases WHERE id = 1")).scalar_one()
    session.rollback()
    return bytes(raw)


def opened(session, raw: bytes) -> object:
    return Case.__table__.c.concern.type.process_result_value(raw, session.get_bind().dialect)


def check(session, records: int, backup: bytes) -> bool:
    """After the real run: the chain verifies, every case is disposed of, nothing is left, and
    the copy taken before no longer opens."""
    session.rollback()
    chain = verify_chain(session)
    undisposed = count(session, Case, Case.personal_data_disposed_at.is_(None))
    personal_left = sum(count(session, model) for model in PERSONAL_ROWS)
    live_keys = keystore().live_key_count()
    keystore().forget_cached()
    from_backup = opened(session, backup)
    session.rollback()
    print(f"Audit chain: {chain.summary()}")
    print(f"Cases without personal_data_disposed_at: {undisposed:,} of {records:,}; personal "
          f"rows left: {personal_left:,}; live data keys left: {live_keys:,}; case 1's concern "
          f"as copied before the run now opens as {from_backup!r}")
    return (chain.ok and undisposed == 0 and personal_left == 0 and live_keys == 0
            and from_backup == "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3, help="floor repetitions (median)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keystore-url", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="disposal-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite'}"
    app = create_app({
        "DATABASE_URL": url, "SECRET_KEY": "benchmark", "TESTING": True, "PRODUCTION": False,
        "KEYSTORE_URL": args.keystore_url or f"sqlite:///{work / 'bench.keys.sqlite'}",
        "KEK_DIR": str(work / "kek"),
    })
    now = datetime.now(UTC)
    try:
        with app.app_context():
            upgrade_database()
            session = get_session()
            load(session, args.records, now)
            print(f"Engine: {session.get_bind().dialect.name}; batch {BATCH}")
            backup = backup_copy(session)
            print(f"Case 1's concern, copied before the run, opens as "
                  f"{opened(session, backup)!r}")
            floors = [floor(session, now) for _ in range(args.repeats)]
            session.rollback()
            started = time.perf_counter()
            report = dispose_approved(session, keystore(), now=now)
            real = time.perf_counter() - started
            base = statistics.median(floors)
            n = max(1, len(report.disposed))
            print(f"Records disposed of: {len(report.disposed):,} (held: {len(report.held)}); "
                  f"keys destroyed: {report.keys_destroyed:,}")
            print(f"Floor (bare deletes and update, rolled back; median of {args.repeats}): "
                  f"{base:.2f} s, {base * 1000 / n:.3f} ms per record")
            print(f"Disposal run (keys destroyed, rows deleted, one audit entry each): "
                  f"{real:.2f} s, {real * 1000 / n:.3f} ms per record")
            print(f"Ratio disposal / floor: {real / base:.1f}×")
            ok = check(session, args.records, backup)
            print("Checks: " + ("all passed" if ok else "FAILED"))
            keystore().engine.dispose()
        app.extensions["db_engine"].dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the SQLite files, the key store, the KEK
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
