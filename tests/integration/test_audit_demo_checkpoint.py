"""`make run` signs the demo log with a demo key made outside the web process, so the auditor's
offline check can be tried out of the box; the key is marked demo and refused in production
(issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from disclosure_app.audit import checkpoints
from disclosure_app.db import get_session
from tests.conftest import make_app
from tests.factories import make_case
from tests.integration.test_audit_trust_holes import add_entries, run
from tests.integration.test_audit_verifier import run_verifier
from workflows.status import Status


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def demo_app(app, demo_dir, staff):  # type: ignore[no-untyped-def]
    app.config["DEMO_AUDIT_KEY_DIR"] = str(demo_dir)
    make_case(app, Status.closed, officer=staff["case_officer"], decider=staff["decision_maker"])
    return app


def newest_size(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return checkpoints.newest(get_session()).tree_size


def chain_length(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return checkpoints.chain_length(get_session())


def test_the_demo_command_makes_a_marked_key_pair_and_signs_the_demo_log(demo_app, demo_dir):
    result = run(demo_app, "audit", "demo-checkpoint")
    assert result.exit_code == 0, result.output
    private = demo_dir / "demo-audit-signing-key.txt"
    public = demo_dir / "demo-audit-public-key.txt"
    assert private.stat().st_mode & 0o077 == 0  # the owner's alone
    assert "DEMO KEY" in private.read_text() and "Never use it in production" in \
        private.read_text()
    assert checkpoints.Signer.from_file(private).demo
    assert newest_size(demo_app) == chain_length(demo_app)
    assert "DEMO: signed a checkpoint" in result.output and str(public) in result.output


def test_a_second_make_run_changes_nothing_and_a_later_one_signs_the_new_entries(
        demo_app, demo_dir):
    assert run(demo_app, "audit", "demo-checkpoint").exit_code == 0
    keys = {p.name: p.read_bytes() for p in demo_dir.iterdir()}
    size = newest_size(demo_app)
    again = run(demo_app, "audit", "demo-checkpoint")
    assert again.exit_code == 0, again.output
    assert "already covers all" in again.output
    assert {p.name: p.read_bytes() for p in demo_dir.iterdir()} == keys
    assert newest_size(demo_app) == size
    add_entries(demo_app, 2)
    later = run(demo_app, "audit", "demo-checkpoint")
    assert later.exit_code == 0, later.output
    assert newest_size(demo_app) == size + 2
    assert {p.name: p.read_bytes() for p in demo_dir.iterdir()} == keys  # the same key


def test_the_demo_app_reads_the_demo_public_key_and_the_offline_check_passes(
        demo_app, demo_dir, database, tmp_path):
    assert run(demo_app, "audit", "demo-checkpoint").exit_code == 0
    public = demo_dir / "demo-audit-public-key.txt"
    # The app as `make run` starts it (not production, not a test run) picks the key up.
    local = make_app(database, TESTING=False, DEMO_AUDIT_KEY_DIR=str(demo_dir))
    try:
        assert local.config["AUDIT_PUBLIC_KEY"] == public.read_text().strip()
        assert local.config["AUDIT_PUBLIC_KEY_IS_DEMO"] is True
        bundle = tmp_path / "bundle"
        exported = run(local, "audit", "export", bundle)
        assert exported.exit_code == 0, exported.output
    finally:
        local.extensions["db_engine"].dispose()
    checked = run_verifier(bundle / "verify.py", bundle, "--key", public)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 checkpoint(s) signed by" in checked.stdout
    # Under test (or in production) the demo key is never picked up.
    under_test = make_app(database, DEMO_AUDIT_KEY_DIR=str(demo_dir))
    assert not under_test.config.get("AUDIT_PUBLIC_KEY")
    under_test.extensions["db_engine"].dispose()


def test_the_demo_key_is_refused_in_production(demo_app, demo_dir):
    assert run(demo_app, "audit", "demo-checkpoint").exit_code == 0
    add_entries(demo_app, 1)
    demo_app.config["PRODUCTION"] = True
    refused = run(demo_app, "audit", "demo-checkpoint")
    assert refused.exit_code != 0 and "production" in refused.output
    private = demo_dir / "demo-audit-signing-key.txt"
    signing = run(demo_app, "audit", "checkpoint", "--key-file", private, "--force")
    assert signing.exit_code != 0
    assert "DEMO key: refused in production" in signing.output
    assert newest_size(demo_app) == chain_length(demo_app) - 1  # nothing signed
    checkpoints.use_demo_public_key(demo_app)
    assert not demo_app.config.get("AUDIT_PUBLIC_KEY_FILE")


def test_in_production_no_demo_key_is_ever_made(app, demo_dir):
    app.config.update(DEMO_AUDIT_KEY_DIR=str(demo_dir), PRODUCTION=True)
    result = run(app, "audit", "demo-checkpoint")
    assert result.exit_code != 0
    assert not demo_dir.exists()
