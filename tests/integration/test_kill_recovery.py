"""Crash safety with a real server (SECURITY.md R-4, R-5): gunicorn on 127.0.0.1, configured by
the project's own ``gunicorn.conf.py``, its whole process group killed with SIGKILL, restarted.

* R-5: 1,000 public applications from 4 client threads; the server is killed at a random moment
  and restarted. Every application that was acknowledged (303 with its reference) is in the
  database, nothing is there twice, and the decision log verifies.
* R-4: the server is killed while a submission sits between its audit insert and its commit. After
  restart the case is not there, nor its audit entry; the database passes its integrity check and
  the chain verifies.

Every wait is bounded in time and every loop in count.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select, text

from disclosure_app import create_app
from disclosure_app.audit.chain import verify_chain
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from tests.conftest import BASE_CONFIG, make_app
from tests.databases import TestDatabase, superuser
from tests.factories import form_started_long_ago
from tests.integration.test_public_journey import valid_answers

pytestmark = pytest.mark.xdist_group("real_server")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = 1000
CLIENT_THREADS = 4
LOAD_DEADLINE_SECONDS = 150  # the whole R-5 run, kill and restart included
START_TIMEOUT_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 20
SECRET_KEY = "kill-test-secret-key"


# --- The server under test ----------------------------------------------------------------


# This client posts as a browser would (its session and CSRF token made up front) and sends a
# thousand applications from one address in a minute, so the public limits are raised: a
# setting a load test would change too (the limits have their own tests, and run as shipped in
# tests/smoke and tests/browser).
CRASH_TEST_SETTINGS = {"RATELIMIT_APPLY": "100000 per hour",
                       "RATELIMIT_APPLY_GLOBAL": "100000 per hour"}


def server_app() -> Flask:
    """gunicorn's app factory for these tests: the real app, configured from the environment.
    With ``KILL_TEST_STALL_MARKER`` set, a submission stops after its audit insert, before its
    commit, writes the marker file and waits to be killed."""
    config = json.loads(os.environ["KILL_TEST_CONFIG"])
    app = create_app({**BASE_CONFIG, "TESTING": False, "SECRET_KEY": SECRET_KEY,
                      "CHAIN_HEAD_RECORD": "", **CRASH_TEST_SETTINGS, **config})
    marker = os.environ.get("KILL_TEST_STALL_MARKER")
    if marker:
        _stall_after_audit_insert(Path(marker))
    return app


def _stall_after_audit_insert(marker: Path) -> None:
    from disclosure_app.audit import chain as audit

    real_append = audit.append

    def append_then_stall(session: Any, **kwargs: Any) -> Any:
        entry = real_append(session, **kwargs)  # inserted and flushed, not committed
        if kwargs.get("action") == "submit_application":
            # Written whole, then renamed: the test polls for the marker and must never read
            # it half-written (it once read an empty file on a busy machine).
            partial = marker.with_suffix(".partial")
            partial.write_text(str(entry.seq))
            partial.replace(marker)
            time.sleep(60)  # longer than the test waits: it is killed in here
        return entry

    audit.append = append_then_stall


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group, so one SIGKILL takes the arbiter and every worker."""

    def __init__(self, workdir: Path, database: TestDatabase, *, workers: int,
                 stall_marker: Path | None = None) -> None:
        self.port = _free_port()
        self.log = workdir / "gunicorn.log"
        self.env = {
            **os.environ,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_LOG_LEVEL": "warning",
            "KILL_TEST_CONFIG": json.dumps({"DATABASE_URL": database.url}),
        }
        if stall_marker is not None:
            self.env["KILL_TEST_STALL_MARKER"] = str(stall_marker)
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> float:
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                 "--pythonpath", str(PROJECT_ROOT),
                 "tests.integration.test_kill_recovery:server_app()"],
                cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=log,
                start_new_session=True)
        self.starts += 1
        deadline = started + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited at start:\n{self.log_tail()}")
            if self._healthy():
                return time.monotonic() - started
            time.sleep(0.1)
        pytest.fail(f"gunicorn not ready within {START_TIMEOUT_SECONDS} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            status, _, _ = request(self.port, "GET", "/healthz", timeout=2)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200

    def kill(self) -> None:
        """SIGKILL the whole process group: no worker gets to finish anything."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def request(port: int, method: str, path: str, body: str | None = None, *,
            timeout: float = REQUEST_TIMEOUT_SECONDS) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Host": "localhost"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers |= browser_session_headers()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


_cookie_reader = Flask(__name__)
_cookie_reader.secret_key = SECRET_KEY
_serializer = SecureCookieSessionInterface().get_signing_serializer(_cookie_reader)


def browser_session_headers() -> dict[str, str]:
    """The session cookie and CSRF token a browser holds once it has loaded one of the app's
    forms (CSRF protection is on for these servers, as shipped). Made here, signed with the
    servers' key, so a post needs no page load first and the load test measures only posts."""
    raw = secrets.token_hex(20)
    token = URLSafeTimedSerializer(SECRET_KEY, salt="wtf-csrf-token").dumps(raw)
    return {"Cookie": f"session={_serializer.dumps({'csrf_token': raw})}", "X-CSRFToken": token}


def acknowledged_reference(headers: Any) -> str:
    """The reference the 303 acknowledges, from the signed session cookie it sets."""
    cookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookie.load(value)
    return _serializer.loads(cookie["session"].value)["confirmation"]["reference"]


def submit_application(port: int) -> str:
    """One public application, posted as the browser posts it (with its session's CSRF token;
    the one-time form key is fresh each time). Returns the acknowledged reference."""
    answers = valid_answers()
    # Opened ten minutes ago, as far as this server's key says (the minimum fill time is on).
    answers["form_started"] = form_started_long_ago(answers["submission_key"], SECRET_KEY)
    status, headers, body = request(port, "POST", "/apply/submit",
                                    urlencode(answers, doseq=True))
    if status != 303:
        raise AssertionError(f"submission answered {status}: {body[:300]!r}")
    return acknowledged_reference(headers)


# --- What must hold afterwards -----------------------------------------------------------------


def assert_database_sound(database: TestDatabase) -> None:
    """Integrity check of the storage itself: SQLite's, or amcheck on every B-tree index."""
    with superuser(database) as conn:
        if database.engine == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            return
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = conn.execute(text(
            "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = 'public'")).scalars().all()
        assert indexes
        for oid in indexes:
            conn.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})


def stored_state(database: TestDatabase) -> tuple[list[str], int, Any]:
    """(references of every case, submit entries in the log, full chain verification)."""
    app = make_app(database)
    try:
        with app.app_context():
            session = get_session()
            references = session.scalars(select(Case.reference)).all()
            submitted = session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "submit_application"))
            return list(references), submitted, verify_chain(session)
    finally:
        app.extensions["db_engine"].dispose()


# --- R-5 ---------------------------------------------------------------------------------------


class Load:
    """Client threads sharing a budget of SUBMISSIONS attempts; the server may vanish meanwhile."""

    def __init__(self, port: int, deadline: float) -> None:
        self.port = port
        self.deadline = deadline
        self.lock = threading.Lock()
        self.up = threading.Event()
        self.up.set()
        self.attempts = 0
        self.acknowledged: list[str] = []
        self.failed_while_down = 0
        self.unexpected: list[str] = []

    def _next_attempt(self) -> bool:
        with self.lock:
            if self.attempts >= SUBMISSIONS or time.monotonic() > self.deadline:
                return False
            self.attempts += 1
            return True

    def worker(self) -> None:
        while self._next_attempt():
            try:
                reference = submit_application(self.port)
            except (OSError, http.client.HTTPException):
                # Killed mid-request or refused while down: not acknowledged. Wait for restart.
                with self.lock:
                    self.failed_while_down += 1
                self.up.wait(timeout=START_TIMEOUT_SECONDS)
                continue
            except AssertionError as exc:
                with self.lock:
                    self.unexpected.append(str(exc))
                continue
            with self.lock:
                self.acknowledged.append(reference)

    def acknowledged_count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def test_every_acknowledged_submission_survives_a_sigkill_of_the_server(database, tmp_path):
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    kill_at = rng.randint(SUBMISSIONS // 10, SUBMISSIONS * 8 // 10)  # acknowledged so far
    server = Server(tmp_path, database, workers=int(os.environ.get("KILL_TEST_WORKERS", 2)))
    started = time.monotonic()
    server.start()
    load = Load(server.port, started + LOAD_DEADLINE_SECONDS)
    threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(CLIENT_THREADS)]
    try:
        for thread in threads:
            thread.start()
        while load.acknowledged_count() < kill_at and time.monotonic() < load.deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))  # land anywhere inside a request
        load.up.clear()
        server.kill()
        acknowledged_at_kill = load.acknowledged_count()
        restart_seconds = server.start()
        load.up.set()
        for thread in threads:
            thread.join(timeout=max(1.0, load.deadline - time.monotonic() + 30))
    finally:
        load.up.set()
        server.stop()
    elapsed = time.monotonic() - started

    assert not any(thread.is_alive() for thread in threads), "client threads did not finish"
    assert not load.unexpected, load.unexpected[:3]
    assert load.attempts == SUBMISSIONS, (
        f"only {load.attempts} of {SUBMISSIONS} attempts within {LOAD_DEADLINE_SECONDS} s "
        f"(seed {seed})")
    assert server.starts == 2
    assert acknowledged_at_kill >= kill_at
    references, submitted, chain = stored_state(database)
    acknowledged = set(load.acknowledged)
    assert len(acknowledged) == len(load.acknowledged), "a reference was acknowledged twice"
    missing = acknowledged - set(references)
    assert not missing, f"{len(missing)} acknowledged submissions lost (seed {seed})"
    # Only requests in flight at the kill may have committed without being acknowledged.
    assert len(acknowledged) <= len(references) <= load.attempts
    assert len(references) - len(acknowledged) <= load.failed_while_down
    assert len(set(references)) == len(references)
    assert submitted == len(references)  # one audit entry per stored application, no orphans
    assert chain.ok, chain.summary()
    assert_database_sound(database)
    print(f"\nR-5 on {database.engine}: {SUBMISSIONS} attempts, {len(acknowledged)} acknowledged, "
          f"{len(references)} stored, killed after {acknowledged_at_kill} acknowledged, "
          f"{load.failed_while_down} refused or cut off, restart {restart_seconds:.1f} s, "
          f"total {elapsed:.1f} s, seed {seed}")


# --- R-4 ---------------------------------------------------------------------------------------


def test_a_kill_between_audit_insert_and_commit_leaves_no_trace(database, tmp_path):
    marker = tmp_path / "stalled"
    server = Server(tmp_path, database, workers=1, stall_marker=marker)
    server.start()
    before_refs, before_submitted, before_chain = stored_state(database)
    outcome: list[Any] = []

    def post() -> None:
        try:
            outcome.append(submit_application(server.port))
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    client = threading.Thread(target=post, daemon=True)
    try:
        client.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), f"the submission never reached its audit insert:\n" \
                                f"{server.log_tail()}"
        stalled_seq = int(marker.read_text())
        server.kill()
        client.join(timeout=REQUEST_TIMEOUT_SECONDS + 5)
        assert len(outcome) == 1 and isinstance(outcome[0], Exception)  # never acknowledged

        server.env.pop("KILL_TEST_STALL_MARKER")
        server.start()
        after_refs, after_submitted, after_chain = stored_state(database)
        assert after_refs == before_refs
        assert after_submitted == before_submitted
        assert after_chain.ok and after_chain.entries_checked == before_chain.entries_checked
        assert after_chain.entries_checked == stalled_seq - 1  # the stalled entry is gone
        assert_database_sound(database)

        # The restarted server works, and the next entry takes the lost one's number.
        reference = submit_application(server.port)
    finally:
        server.stop()
    refs, submitted, chain = stored_state(database)
    assert reference in refs and submitted == before_submitted + 1
    assert chain.ok and chain.entries_checked == stalled_seq
