"""Signed checkpoints, the export bundle and the stand-alone verifier (issue 6, SECURITY.md R-8,
SEC-34): every tampering class is caught on an exported bundle with the first bad sequence
number, checkpoints verify with the public key and fail with another, the verifier runs without
the app, and the web process cannot sign."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from disclosure_app import create_app
from disclosure_app.audit import checkpoints, verify
from disclosure_app.audit.canonical import chain_hash
from disclosure_app.db import get_session
from disclosure_app.models import AuditCheckpoint, AuditEntry
from tests.factories import make_case
from workflows.status import Status

ISOLATED_RUNNER = """
import runpy, sys
# Anything the app needs is made unimportable: the verifier must not reach for it.
for name in ("flask", "sqlalchemy", "disclosure_app", "workflows", "wtforms", "alembic"):
    sys.modules[name] = None
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_verifier(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """verify.py in a fresh interpreter: isolated mode (no PYTHONPATH, no user site, not the
    project directory) and the app's own packages blocked."""
    return subprocess.run(
        [sys.executable, "-I", "-c", ISOLATED_RUNNER, *map(str, args)],
        capture_output=True, text=True, timeout=120, cwd="/", check=False)


@pytest.fixture
def keys(tmp_path: Path, app: Flask) -> tuple[Path, Path]:
    private, public = tmp_path / "signing.key", tmp_path / "public.key"
    result = app.test_cli_runner().invoke(
        args=["audit", "keygen", "--private", str(private), "--public", str(public)])
    assert result.exit_code == 0, result.output
    return private, public


@pytest.fixture
def signed_app(app: Flask, keys: tuple[Path, Path], staff) -> Flask:  # type: ignore[no-untyped-def]
    """Two closed cases (a few dozen entries), checkpoints after each, the public key set."""
    app.config["AUDIT_PUBLIC_KEY"] = keys[1].read_text().strip()
    runner = app.test_cli_runner()
    for _ in range(2):
        make_case(app, Status.closed, officer=staff["case_officer"],
                  decider=staff["decision_maker"])
        result = runner.invoke(args=["audit", "checkpoint", "--key-file", str(keys[0]),
                                     "--force"])
        assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def bundle(signed_app: Flask, tmp_path: Path) -> Path:
    directory = tmp_path / "bundle"
    result = signed_app.test_cli_runner().invoke(args=["audit", "export", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def lines_of(bundle: Path) -> list[bytes]:
    return (bundle / verify.ENTRIES_FILE).read_bytes().splitlines(keepends=True)


def write_lines(bundle: Path, lines: list[bytes]) -> None:
    (bundle / verify.ENTRIES_FILE).write_bytes(b"".join(lines))


def sizes(bundle: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in (bundle / "checkpoints").glob("*.txt"))


def test_an_untouched_export_verifies_offline_without_the_app(bundle, keys):
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: ")
    assert "2 checkpoint(s) signed by northshire.police.example/disclosure-audit" in result.stdout


def test_the_bundle_holds_entries_checkpoints_key_verifier_and_manifest(bundle, signed_app):
    assert sorted(p.name for p in bundle.iterdir()) == [
        "README.txt", "checkpoints", "entries.jsonl", "manifest.json", "public-key.txt",
        "verify.py"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    with signed_app.app_context():
        assert manifest["entries"] == checkpoints.chain_length(get_session())
    for line in lines_of(bundle):  # JSON Lines, payload as the object that was hashed
        record = json.loads(line)
        assert set(record) == {"prev_hash", "entry_hash", "payload"}
        assert isinstance(record["payload"], dict)


def _change_one_byte(lines: list[bytes], seq: int) -> None:
    # One character of the payload's own sequence number field name: every entry has it,
    # whoever wrote the entry and whatever it records.
    line = lines[seq - 1]
    at = line.index(b'"seq":', line.index(b'"payload":'))
    lines[seq - 1] = line[:at + 1] + b"S" + line[at + 2:]
    assert lines[seq - 1] != line


def _change_prev_hash(lines: list[bytes], seq: int) -> None:
    line = lines[seq - 1]
    lines[seq - 1] = line[:14] + (b"f" if line[14:15] != b"f" else b"e") + line[15:]


def _delete(lines: list[bytes], seq: int) -> None:
    del lines[seq - 1]


def _insert_forged(lines: list[bytes], seq: int) -> None:
    # A forged entry claiming number ``seq``, correctly linked to the entry before it.
    before = json.loads(lines[seq - 2])
    payload = json.dumps({"action": "case_viewed", "seq": seq, "v": 1},
                         separators=(",", ":"), sort_keys=True)
    entry = chain_hash(before["entry_hash"], payload)
    lines.insert(seq - 1, verify.entry_line(before["entry_hash"], entry, payload))


def _swap(lines: list[bytes], seq: int) -> None:
    lines[seq - 1], lines[seq] = lines[seq], lines[seq - 1]


def _capitalise_hash(lines: list[bytes], seq: int) -> None:
    # The same hash value in capitals, in the entry and in the next entry's link: the bytes
    # changed though every hash still "matches" once decoded, so it must be caught.
    line, after = lines[seq - 1], lines[seq]
    lines[seq - 1] = line[:94] + line[94:158].upper() + line[158:]
    lines[seq] = after[:14] + after[14:78].upper() + after[78:]


def _change_a_framing_byte(lines: list[bytes], seq: int) -> None:
    # Outside every hashed field: the fixed text between the entry hash and the payload.
    line = lines[seq - 1]
    at = line.index(b'","payload":') + 3
    lines[seq - 1] = line[:at] + b"P" + line[at + 1:]
    assert lines[seq - 1] != line


TAMPERING = {
    "a changed byte": _change_one_byte,
    "a changed byte between the fields": _change_a_framing_byte,
    "a changed previous hash": _change_prev_hash,
    "a deleted entry": _delete,
    "an inserted entry": _insert_forged,
    "two entries swapped": _swap,
    "a hash re-written in capitals": _capitalise_hash,
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_each_tampering_class_is_named_with_the_first_bad_entry(bundle, keys, tamper):
    lines = lines_of(bundle)
    seq = len(lines) // 2
    untouched = list(lines)
    tamper(lines, seq)
    assert lines != untouched
    write_lines(bundle, lines)
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(f"TAMPERED OR INCONSISTENT: entry {seq}: "), result.stdout


def _rehash_from(lines: list[bytes], seq: int) -> list[bytes]:
    """Entry ``seq`` rewritten and every entry re-hashed: the chain is consistent again."""
    prev = verify.GENESIS_HASH
    rewritten = []
    for number, line in enumerate(lines, start=1):
        payload = json.loads(line)["payload"]
        if number == seq:
            payload["actor"]["name"] = "Someone Else"
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        entry = chain_hash(prev, text)
        rewritten.append(verify.entry_line(prev, entry, text))
        prev = entry
    return rewritten


def test_tail_truncation_below_a_checkpoint_is_named(bundle, keys):
    lines = lines_of(bundle)
    newest = sizes(bundle)[-1]
    assert newest == len(lines)
    write_lines(bundle, lines[:-3])
    (bundle / "manifest.json").unlink()  # a careful forger fixes the manifest too
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1
    assert f"entry {newest - 2}: the log ends at entry {newest - 3}" in result.stdout
    assert "tail truncation" in result.stdout


def test_a_rehashed_history_is_caught_by_the_signed_checkpoint(bundle, keys):
    """Someone with the database but not the key rewrites entry 3 and re-hashes everything
    after it: the chain is consistent again, but the signed roots no longer match."""
    write_lines(bundle, _rehash_from(lines_of(bundle), 3))
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1
    first = sizes(bundle)[0]
    assert f"entry 1: entries 1-{first} do not match the signed checkpoint of size {first}" \
        in result.stdout


def test_two_checkpoints_of_one_size_with_different_roots_are_a_fork(bundle, keys):
    signer = checkpoints.Signer.from_file(keys[0])
    size = sizes(bundle)[0]
    forged = signer.sign(verify.checkpoint_body(signer.name, size, b"\x07" * 32))
    (bundle / "checkpoints" / "forked.txt").write_text(forged)
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1
    assert f"two signed checkpoints of size {size} have different roots" in result.stdout


def test_a_checkpoint_the_auditor_kept_from_before_exposes_a_fork(bundle, keys, tmp_path):
    signer = checkpoints.Signer.from_file(keys[0])
    kept = tmp_path / "kept.txt"
    kept.write_text(signer.sign(verify.checkpoint_body(signer.name, sizes(bundle)[-1],
                                                       b"\x01" * 32)))
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1], "--checkpoint", kept)
    assert result.returncode == 1
    assert "the log has been forked" in result.stdout


def test_checkpoints_fail_with_another_key(bundle, tmp_path):
    other = checkpoints.generate_key("northshire.police.example/disclosure-audit")
    key_file = tmp_path / "other.pub"
    key_file.write_text(other.verifier_key)
    result = run_verifier(bundle / "verify.py", bundle, "--key", key_file)
    assert result.returncode == 1
    assert "carries no signature by" in result.stdout or "does not verify" in result.stdout


def test_a_checkpoint_whose_signature_was_altered_is_refused(bundle, keys):
    path = sorted((bundle / "checkpoints").glob("*.txt"))[0]
    note = path.read_text()
    text, _, signature = note.rpartition("\n\n")
    name, blob = signature.rstrip("\n").rsplit(" ", 1)
    flipped = blob[:-4] + ("AAAA" if blob[-4:] != "AAAA" else "BBBB")
    path.write_text(f"{text}\n\n{name} {flipped}\n")
    result = run_verifier(bundle / "verify.py", bundle, "--key", keys[1])
    assert result.returncode == 1
    assert "does not verify" in result.stdout


def test_an_unreadable_bundle_exits_2(tmp_path, keys):
    result = run_verifier(verify.__file__, tmp_path, "--key", keys[1])
    assert result.returncode == 2
    assert "CANNOT VERIFY" in result.stderr


def test_one_decision_is_proved_in_a_checkpoint_without_the_rest_of_the_log(signed_app, keys,
                                                                         tmp_path):
    with signed_app.app_context():
        session = get_session()
        decision = session.query(AuditEntry).filter(
            AuditEntry.action == "approve_disclosure_to_applicant").first()
        seq = decision.seq
    result = signed_app.test_cli_runner().invoke(args=["audit", "prove", str(seq)])
    assert result.exit_code == 0, result.output
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(result.output)
    checked = run_verifier(verify.__file__, "--check-proof", proof_file, "--key", keys[1])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"entry {seq} is included in the log's signed checkpoint" in checked.stdout

    proof = json.loads(result.output)
    proof["entry"]["payload"] = proof["entry"]["payload"].replace("approve", "reject")
    proof_file.write_text(json.dumps(proof))
    assert run_verifier(verify.__file__, "--check-proof", proof_file,
                        "--key", keys[1]).returncode == 1


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100])
def test_inclusion_proofs_match_rfc_6962_for_every_leaf(size):
    hashes = [bytes([i % 256]) * 32 for i in range(size)]
    root = verify.merkle_root(hashes)
    for index in range(size):
        path = verify.inclusion_proof(hashes, index)
        assert verify.verify_inclusion(verify.leaf_hash(hashes[index]), index, size, path, root)
        assert not verify.verify_inclusion(verify.leaf_hash(b"\xff" * 32), index, size, path,
                                           root)


def test_the_merkle_root_follows_rfc_6962():
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))
    la, lb, lc = (verify.leaf_hash(x) for x in (a, b, c))
    assert verify.merkle_root([]) == verify.EMPTY_ROOT
    assert verify.merkle_root([a]) == la
    assert verify.merkle_root([a, b, c]) == verify.node_hash(verify.node_hash(la, lb), lc)


def test_roots_at_any_size_agree_across_chunk_boundaries():
    hashes = [i.to_bytes(32, "big") for i in range(verify.CHUNK * 2 + 5)]
    builder = verify.MerkleBuilder()
    wanted = [1, verify.CHUNK - 1, verify.CHUNK, verify.CHUNK + 3, 2 * verify.CHUNK + 5]
    roots = {}
    for start in range(0, len(hashes), verify.CHUNK):
        chunk = hashes[start:start + verify.CHUNK]
        roots.update(builder.add_chunk(chunk, [s for s in wanted
                                               if start < s <= start + len(chunk)]))
    for size in wanted:
        assert roots[size] == verify.merkle_root(hashes[:size]), size


# --- The work split across processes ------------------------------------------------------

# Four chunks: the log is cut into ranges at each chunk boundary.
LONG_LOG = 3 * verify.CHUNK + 500
CUTS = (verify.CHUNK, 2 * verify.CHUNK, 3 * verify.CHUNK)


@pytest.fixture(scope="module")
def long_log(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A generated bundle of LONG_LOG entries (no app: it is only the file format) with a
    signed checkpoint every 1,000 entries and at the end; and the public key."""
    directory = tmp_path_factory.mktemp("long") / "bundle"
    (directory / verify.CHECKPOINTS_DIR).mkdir(parents=True)
    signer = checkpoints.generate_key("long.example/audit")
    public = directory.parent / "public.key"
    public.write_text(signer.verifier_key)
    prev, lines, hashes = verify.GENESIS_HASH, [], []
    for seq in range(1, LONG_LOG + 1):
        payload = json.dumps({"action": "case_viewed",
                              "actor": {"name": "PC 1", "role": "case_officer"},
                              "case_id": seq % 97, "seq": seq, "to": None, "v": 1},
                             separators=(",", ":"), sort_keys=True)
        entry = chain_hash(prev, payload)
        lines.append(verify.entry_line(prev, entry, payload))
        hashes.append(bytes.fromhex(entry))
        prev = entry
    write_lines(directory, lines)
    for size in [*range(1000, LONG_LOG, 1000), LONG_LOG]:
        note = signer.sign(verify.checkpoint_body(signer.name, size,
                                                  verify.merkle_root(hashes[:size])))
        (directory / verify.CHECKPOINTS_DIR / f"checkpoint-{size:012d}.txt").write_text(note)
    return directory, public


@pytest.fixture
def long_bundle(long_log: tuple[Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(long_log[0], tmp_path / "bundle"))


def results_by_jobs(bundle: Path, key_file: Path) -> list[dict]:
    key = verify.load_key(None, key_file)
    results = []
    for jobs in (1, 2, 3):
        result = dataclasses.asdict(verify.verify_bundle(bundle, key, jobs=jobs))
        del result["checkpoints"]
        results.append(result)
    return results


def test_the_log_is_really_verified_in_several_ranges(long_log):
    bundle, key_file = long_log
    path = bundle / verify.ENTRIES_FILE
    signed, failure = verify.read_checkpoints(
        sorted((bundle / verify.CHECKPOINTS_DIR).glob("*.txt")), verify.load_key(None, key_file))
    assert failure is None
    assert [index for _, index in verify._cut_points(path, 8)] == list(CUTS)
    done = verify._verify_in_parallel(path, sorted(c.size for c in signed), 2)
    assert done is not None  # not a silent fall-back to one process
    count, roots = done
    assert count == LONG_LOG
    assert roots == {c.size: c.root for c in signed}
    assert results_by_jobs(bundle, key_file) == [
        {"ok": True, "entries": LONG_LOG, "first_bad_seq": None, "problem": "",
         "key_name": "long.example/audit"}] * 3


@pytest.mark.parametrize("seq", [5, CUTS[1], CUTS[1] + 1, CUTS[2] + 1, LONG_LOG - 1])
@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_any_number_of_processes_names_the_same_first_bad_entry(long_log, long_bundle, tamper,
                                                                seq):
    lines = lines_of(long_bundle)
    untouched = list(lines)
    tamper(lines, seq)
    assert lines != untouched
    write_lines(long_bundle, lines)
    one, two, three = results_by_jobs(long_bundle, long_log[1])
    assert (one["ok"], one["first_bad_seq"]) == (False, seq), one
    assert two == one
    assert three == one


@pytest.mark.parametrize("seq", [3, CUTS[1] + 500])
def test_any_number_of_processes_names_the_same_rehashed_range(long_log, long_bundle, seq):
    write_lines(long_bundle, _rehash_from(lines_of(long_bundle), seq))
    one, two, three = results_by_jobs(long_bundle, long_log[1])
    first = seq // 1000 * 1000 + 1
    assert one["first_bad_seq"] == first
    assert one["problem"].startswith(f"entries {first}-{first + 999} do not match the signed")
    assert two == one
    assert three == one


@pytest.mark.parametrize("keep", [CUTS[1], CUTS[2] + 7, LONG_LOG - 1])
def test_any_number_of_processes_names_the_same_truncation(long_log, long_bundle, keep):
    write_lines(long_bundle, lines_of(long_bundle)[:keep])
    one, two, three = results_by_jobs(long_bundle, long_log[1])
    assert one["first_bad_seq"] == keep + 1
    assert "tail truncation" in one["problem"]
    assert two == one
    assert three == one


def test_the_verifier_splits_the_work_without_the_app(long_log, long_bundle):
    assert run_verifier(verify.__file__, long_bundle, "--key", long_log[1], "--jobs", "2"
                        ).stdout.startswith(f"OK: {LONG_LOG} entries")
    lines = lines_of(long_bundle)
    _change_one_byte(lines, CUTS[1] + 2)
    write_lines(long_bundle, lines)
    result = run_verifier(verify.__file__, long_bundle, "--key", long_log[1], "--jobs", "2")
    assert result.returncode == 1
    assert result.stdout.startswith(f"TAMPERED OR INCONSISTENT: entry {CUTS[1] + 2}: ")


def test_the_web_app_refuses_to_start_with_the_signing_key(app, keys):
    with pytest.raises(RuntimeError, match="must not hold the audit signing key"):
        create_app({**app.config, "AUDIT_PUBLIC_KEY": keys[0].read_text()})
    with pytest.raises(RuntimeError, match="must not hold the audit signing key"):
        create_app({**app.config, "AUDIT_SIGNING_KEY_FILE": str(keys[0])})


def test_the_web_process_cannot_sign_a_checkpoint(app, keys):
    """It holds the public key only: no configuration value is a private key, no URL signs,
    and the public key cannot be made into a signer."""
    app.config["AUDIT_PUBLIC_KEY"] = keys[1].read_text().strip()
    assert not any(checkpoints.is_private_key(v) for v in app.config.values())
    assert not [r for r in app.url_map.iter_rules() if "checkpoint" in r.rule]
    with pytest.raises(checkpoints.SigningKeyInvalid):
        checkpoints.Signer.parse(app.config["AUDIT_PUBLIC_KEY"])
    assert keys[0].stat().st_mode & 0o077 == 0  # the private key file is its owner's alone


def test_checkpoints_are_due_every_n_entries_or_t_minutes(signed_app, keys, staff):
    from datetime import timedelta

    with signed_app.app_context():
        session = get_session()
        newest = checkpoints.newest(session)
        at = newest.created_at
        assert not checkpoints.is_due(session, at, every_entries=5, every_minutes=60)
    make_case(signed_app, Status.initial_checks, officer=staff["case_officer"])
    with signed_app.app_context():
        session = get_session()
        pending = checkpoints.chain_length(session) - newest.tree_size
        assert checkpoints.is_due(session, at, every_entries=pending, every_minutes=60)
        assert not checkpoints.is_due(session, at, every_entries=pending + 1, every_minutes=60)
        assert checkpoints.is_due(session, at + timedelta(minutes=60),
                                  every_entries=pending + 1, every_minutes=60)


def test_the_checkpoint_command_signs_only_when_due_and_copies_out(signed_app, keys, staff,
                                                                   tmp_path):
    runner = signed_app.test_cli_runner()
    outbox = tmp_path / "dpo-outbox"
    result = runner.invoke(args=["audit", "checkpoint", "--key-file", str(keys[0])])
    assert result.exit_code == 0 and "No" in result.output
    make_case(signed_app, Status.initial_checks, officer=staff["case_officer"])
    signed_app.config["AUDIT_CHECKPOINT_EVERY_ENTRIES"] = 1
    result = runner.invoke(args=["audit", "checkpoint", "--key-file", str(keys[0]),
                                 "--copy-to", str(outbox)])
    assert result.exit_code == 0, result.output
    with signed_app.app_context():
        session = get_session()
        newest = checkpoints.newest(session)
        assert newest.tree_size == checkpoints.chain_length(session)
        assert session.query(AuditCheckpoint).count() == 3
    copied = outbox / checkpoints.checkpoint_filename(newest.tree_size)
    key = verify.VerifierKey.parse(keys[1].read_text())
    assert verify.open_checkpoint(copied.read_text(), key).size == newest.tree_size


def test_the_console_reports_a_checkpoint_signed_with_another_key(signed_app, clients):
    page = clients["auditor"].get("/audit/integrity").get_data(as_text=True)
    assert "Verifies" in page
    signed_app.config["AUDIT_PUBLIC_KEY"] = checkpoints.generate_key(
        "northshire.police.example/disclosure-audit").verifier_key
    page = clients["auditor"].get("/audit/integrity").get_data(as_text=True)
    assert "Does not verify" in page
