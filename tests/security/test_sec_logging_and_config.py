"""SECURITY.md §1.7 Logging, audit and data protection (SEC-31 … SEC-39), and the traceability
of every SEC item to a test named after it."""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from disclosure_app import PROJECT_ROOT, create_app
from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.db import get_engine, get_session
from disclosure_app.models import AuditEntry, Case, User
from disclosure_app.security.production import ProductionRefused
from tests.conftest import BASE_CONFIG, make_app, sign_in
from tests.databases import ENGINE, without_audit_guards
from tests.factories import PASSWORD, give_reason, make_case, totp_secret_for
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import code_now, events, password_step, session_cookie
from workflows.status import Status

# --- SEC-31 -------------------------------------------------------------------------------


def _categories(app) -> dict[str, int]:
    with app.app_context():
        rows = get_session().execute(select(AuditEntry.category, func.count())
                                     .group_by(AuditEntry.category)).all()
        return {category: count for category, count in rows}


def test_sec31_each_kind_of_processing_writes_one_complete_log_entry(app, staff, clients):
    case, _ = make_case(app, Status.closed, officer=staff["case_officer"])
    cases = {
        "collection": lambda: make_case(app, Status.received, officer=staff["case_officer"]),
        "consultation": lambda: clients["case_officer"].get(f"/staff/cases/{case.id}"),
        "disclosure": lambda: (
            give_reason(clients["case_officer"], case.id, section="decision_record"),
            clients["case_officer"].get(
                f"/documents/cases/{case.id}/decision-record.pdf").get_data()),
        "alteration": lambda: make_case(app, Status.initial_checks,
                                        officer=staff["case_officer"]),
    }
    for category, action in cases.items():
        before = _categories(app)
        action()
        after = _categories(app)
        assert after.get(category, 0) - before.get(category, 0) >= 1, category
    with app.app_context():
        for entry in get_session().scalars(select(AuditEntry)):
            assert entry.created_at and entry.action and entry.category and entry.actor_role
            assert entry.actor_name and entry.entry_hash


def test_sec31_erasure_entries_hold_no_content(app):
    from disclosure_app.audit.chain import Category

    assert {c.value for c in Category} == {"collection", "alteration", "consultation",
                                           "disclosure", "combination", "erasure"}


# --- SEC-32 -------------------------------------------------------------------------------


def test_sec32_each_security_event_is_one_record_and_no_secret_is_ever_logged(
        app, staff, clients, caplog):
    caplog.set_level(logging.DEBUG)
    email = staff["case_officer"].email
    password_step(app.test_client(), email, "wrong password entirely")
    client = app.test_client()
    password_step(client, email)
    client.post("/staff/two-factor", data={"code": "000000" if code_now(email) != "000000"
                                           else "111111"})
    client.post("/staff/two-factor", data={"code": code_now(email)})
    cookie = session_cookie(client)
    clients["partner"].get("/admin/users")
    client.post("/staff/sign-out")
    for kind in ("sign_in_failed", "sign_in", "sign_out", "authz_denied", "password_accepted"):
        assert events(caplog, kind), kind
    assert len([e for e in events(caplog, "sign_in_failed") if e.get("factor") == "totp"]) == 1
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (PASSWORD, totp_secret_for(email), cookie):
        assert secret not in everything


def test_sec32_a_crlf_in_a_typed_email_stays_one_escaped_record(app, caplog):
    typed = "a\r\nFAKE LOG LINE security {\"event\": \"sign_in\"}"
    password_step(app.test_client(), typed)
    failed = [r for r in caplog.records if r.name == "disclosure_app.security"
              and "sign_in_failed" in r.getMessage()]
    assert len(failed) == 1
    message = failed[0].getMessage()
    # What was typed is kept only as its hash (it may be a password in the wrong box), so no
    # line break or forged text can reach the record at all.
    assert "\r" not in message and "\n" not in message and "FAKE LOG LINE" not in message
    assert sha256_hex(typed.strip().lower()) in message
    assert events(caplog, "sign_in") == []


# --- SEC-32a ------------------------------------------------------------------------------


def test_sec32a_repeated_denials_by_one_person_raise_one_alert(app, staff, clients, caplog):
    officer = clients["case_officer"]
    for _ in range(21):
        assert officer.get("/admin/users").status_code == 403
    alerts = events(caplog, "misuse_alert")
    assert len(alerts) == 1 and alerts[0]["user_id"] == staff["case_officer"].id
    assert any(r.levelno == logging.CRITICAL for r in caplog.records
               if "misuse_alert" in r.getMessage())
    for _ in range(5):
        officer.get("/admin/users")
    assert len(events(caplog, "misuse_alert")) == 1


# --- SEC-33 -------------------------------------------------------------------------------


def test_sec33_the_apps_own_connection_cannot_alter_or_remove_log_entries(app, staff):
    make_case(app, Status.received, officer=staff["case_officer"])
    with app.app_context():
        for statement in ("UPDATE audit_entries SET action = 'forged'",
                          "DELETE FROM audit_entries"):
            with get_engine().begin() as conn, pytest.raises(DBAPIError):
                conn.execute(text(statement))
        session = get_session()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) > 0
        assert "forged" not in {e.action for e in session.scalars(select(AuditEntry))}


# --- SEC-34 -------------------------------------------------------------------------------


def test_sec34_changing_one_entry_is_reported_at_that_entry(app, database, staff):
    make_case(app, Status.initial_checks, officer=staff["case_officer"])
    with app.app_context():
        assert audit.verify_chain(get_session()).ok
    with without_audit_guards(database) as conn:
        conn.execute(text("UPDATE audit_entries SET actor_name = 'Someone else' WHERE seq = 2"))
    with app.app_context():
        result = audit.verify_chain(get_session())
    assert not result.ok and result.first_bad_seq == 2


# --- SEC-35 -------------------------------------------------------------------------------


def test_sec35_an_unexpected_error_shows_only_a_correlation_id_that_is_in_the_log(
        database, caplog):
    app = make_app(database)

    @app.get("/explode")
    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals: SELECT * FROM users")

    explode._access_public = True  # type: ignore[attr-defined]
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = app.test_client().get("/explode")
    finally:
        app.extensions["db_engine"].dispose()
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in page and "Traceback" not in page and "SELECT" not in page
    correlation = re.search(r"quote ([0-9a-f]{12})", page).group(1)
    logged = [r for r in caplog.records if correlation in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_sec35_production_refuses_debug_and_a_broken_access_check_refuses(app, staff,
                                                                         monkeypatch):
    with pytest.raises(ProductionRefused, match="DEBUG"):
        create_app({**_production_config(), "DEBUG": True})
    from disclosure_app.web import access

    def broken(view):  # type: ignore[no-untyped-def]
        raise RuntimeError("policy store unavailable")

    officer = sign_in(app, staff["case_officer"].email)
    monkeypatch.setattr(access, "access_rule", broken)
    assert officer.get("/staff/").status_code == 403


# --- SEC-36 -------------------------------------------------------------------------------


def test_sec36_no_disclosure_without_a_named_officers_identity_check(app, staff, clients):
    case, _ = make_case(app, Status.disclosure_approved, officer=staff["case_officer"])
    with app.app_context():
        steps = get_session().get(Case, case.id).steps
        verified = [s for s in steps if s.event == "verify_applicant"]
        assert len(verified) == 1 and verified[0].actor_name
        assert verified[0].actor_id == staff["case_officer"].id
    unverified, _ = make_case(app, Status.interviewed, officer=staff["case_officer"])
    response = clients["case_officer"].post(
        f"/staff/cases/{unverified.id}/steps/complete_assessment",
        data=form_payload("complete_assessment", {}, unverified.version))
    assert response.status_code in (400, 409)
    with app.app_context():
        assert get_session().get(Case, unverified.id).status is Status.interviewed


# --- SEC-37 -------------------------------------------------------------------------------


def _production_config(**overrides):
    return {**BASE_CONFIG, "PRODUCTION": True, "TESTING": False, "WTF_CSRF_ENABLED": True,
            "SECRET_KEY": Fernet.generate_key().decode(),
            "TOTP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "TRUSTED_HOSTS": ["localhost"], "DATABASE_URL": "sqlite:///:memory:", **overrides}


@pytest.mark.parametrize("key", ["dev", "test-secret-key-not-for-production", "short-key",
                                 "a" * 40])
def test_sec37_production_refuses_a_known_or_short_secret_key(key):
    with pytest.raises(ProductionRefused, match="SECRET_KEY"):
        create_app(_production_config(SECRET_KEY=key))


def test_sec37_the_command_line_exits_non_zero_with_a_dev_key(tmp_path):
    env = {**os.environ, "DISCLOSURE_SECRET_KEY": "dev", "DISCLOSURE_PRODUCTION": "true",
           "DISCLOSURE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "disclosure_app", "routes"],
                            env=env, capture_output=True, text=True, timeout=120,
                            cwd=PROJECT_ROOT, check=False)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr


def test_sec37_totp_secrets_need_a_key_outside_the_database(app, staff):
    with pytest.raises(ProductionRefused, match="TOTP_ENCRYPTION_KEY"):
        create_app(_production_config(TOTP_ENCRYPTION_KEY=None))
    with app.app_context():
        stored = get_session().get(User, staff["auditor"].id).totp_secret_encrypted
    assert totp_secret_for(staff["auditor"].email) not in stored


def test_sec37_the_runtime_connection_cannot_change_the_schema(app):
    with app.app_context(), get_engine().connect() as conn:
        if ENGINE == "postgresql":
            with pytest.raises(DBAPIError):
                conn.execute(text("CREATE TABLE intruder (id integer)"))
        else:
            # SQLite has no roles: the file's permissions are the boundary, and the app never
            # issues DDL outside migrations (the migration test compares schemas).
            assert conn.execute(text("PRAGMA query_only")).scalar() in (0, 1)
            assert get_engine().url.drivername.startswith("sqlite")


# --- SEC-38 -------------------------------------------------------------------------------


def test_sec38_production_refuses_a_network_database_without_verified_tls():
    with pytest.raises(ProductionRefused, match="sslmode=verify-full"):
        create_app(_production_config(
            DATABASE_URL="postgresql+psycopg://app:pw@db.example/disclosure"))
    with pytest.raises(ProductionRefused, match="sslmode=verify-full"):
        create_app(_production_config(
            DATABASE_URL="postgresql+psycopg://app:pw@db.example/disclosure?sslmode=require"))
    from disclosure_app.security.production import _database_problems

    assert _database_problems(
        "postgresql+psycopg://app:pw@db.example/disclosure?sslmode=verify-full") == []
    assert _database_problems("postgresql+psycopg://app@/disclosure?host=/run/pg") == []


def test_sec38_health_over_plain_http_answers_without_redirecting(app):
    response = app.test_client().get("/healthz", base_url="http://localhost")
    assert response.status_code in (200, 503) and response.is_json
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


# --- SEC-39 -------------------------------------------------------------------------------


def test_sec39_every_dependency_is_pinned_and_reportlab_is_past_the_cve():
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, line
            pins[name.lower().replace("_", "-")] = version
    for needed in ("flask", "reportlab", "pyotp", "flask-limiter", "argon2-cffi", "bandit",
                   "pip-audit", "cryptography", "sqlalchemy"):
        assert needed in pins, needed
    assert tuple(int(p) for p in pins["reportlab"].split(".")[:3]) >= (3, 6, 13)
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in makefile and "bandit" in makefile and "audit-deps" in makefile


@pytest.mark.parametrize(("stub_output", "stub_status", "expected_status", "says"), [
    ("Found 1 known vulnerability in 1 package\nreportlab 3.6.12 GHSA-9q9m-c65c-37pq 3.6.13",
     1, 1, "GHSA-9q9m-c65c-37pq"),
    ("requests.exceptions.ConnectionError: Max retries exceeded", 1, 0, "SKIPPED"),
    ("No known vulnerabilities found", 0, 0, "no known vulnerabilities"),
])
def test_sec39_the_audit_fails_on_a_known_vulnerability_and_says_when_it_could_not_run(
        tmp_path, stub_output, stub_status, expected_status, says):
    stub = tmp_path / "pip-audit"
    stub.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stub_output}\nEOF\nexit {stub_status}\n")
    stub.chmod(0o755)
    lock = tmp_path / "lock.txt"
    lock.write_text("reportlab==3.6.12\n")
    result = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "audit_deps.sh"), str(lock)],
                            env={**os.environ, "PIP_AUDIT": str(stub)}, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == expected_status, result.stdout + result.stderr
    assert says in result.stdout


# --- Traceability -------------------------------------------------------------------------

SECURITY_MD = PROJECT_ROOT.parent / "shared" / "SECURITY.md"
SEC_ID = re.compile(r"^\| (SEC-\d+a?) \|", re.M)


def _test_names() -> set[str]:
    names = set()
    for path in (PROJECT_ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


SEC_ITEMS = Path(__file__).with_name("sec_items.txt")


def _ids_in_security_md() -> list[str]:
    """The SEC ids, from the copy kept with the tests (the shared SECURITY.md is outside the
    repository, so a clean checkout may not have it); when SECURITY.md is beside the
    repository, the copy must match it exactly."""
    kept = [line for line in SEC_ITEMS.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    if SECURITY_MD.exists():
        text_ = SECURITY_MD.read_text(encoding="utf-8")
        section = text_.split("## 1. Security requirements", 1)[1].split("\n## 2.", 1)[0]
        assert SEC_ID.findall(section) == kept, f"update {SEC_ITEMS.name} from SECURITY.md"
    return kept


def test_every_sec_item_in_security_md_has_a_test_named_after_it():
    ids = _ids_in_security_md()
    assert len(ids) == 40 and "SEC-32a" in ids
    names = _test_names()
    missing = [sec for sec in ids
               if not any(n.startswith(f"test_{sec.lower().replace('-', '')}_") for n in names)]
    assert missing == []


def test_the_security_doc_traceability_table_names_real_tests_for_every_item():
    doc = (PROJECT_ROOT / "docs" / "security.md").read_text()
    table = doc.split("\n## Security requirements and their tests\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (SEC-\d+a?) \| [^|]* \| ([^|]+) \|", table, re.M))
    assert set(rows) == set(_ids_in_security_md())
    names = _test_names()
    for sec, cell in rows.items():
        listed = re.findall(r"`(test_\w+)`", cell)
        assert listed and all(n in names for n in listed), (sec, listed)


def test_security_events_use_one_function():
    sources = [p for p in (PROJECT_ROOT / "disclosure_app").rglob("*.py")
               if "log.log(" in p.read_text() and "security" in p.read_text()]
    assert [p.relative_to(PROJECT_ROOT).as_posix() for p in sources] == [
        "disclosure_app/security/events.py"]
    assert datetime.now(UTC)
    assert Path(__file__).exists()
