"""Shared fixtures: an app on a freshly migrated database per test (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` is set: see tests/databases.py), and signed-in clients for every role
(signed in through the real sign-in form).

Every test has a database of its own, whatever it does: a copy of a template. What this worker
may share between tests is only ever a template, never a database a test runs on:

- ``migrated_template``: the schema, migrated once per worker.
- Snapshots (``snapshots``): the schema plus what many tests set up the same way (the six staff
  accounts; the same people signed in through the real sign-in form; a module's own world, see
  ``snapshot_copy``), made once and copied per test. A staff page a test merely reads still
  writes (the s.62 consultation log, the session's last-seen time, rate-limit counters), so a
  live database shared by tests would make each test see the others' writes; a copy keeps each
  test's writes its own. Nothing connects to a snapshot after it is made (it is a file copied on
  SQLite, a ``CREATE DATABASE … TEMPLATE`` source on PostgreSQL); that it was not written is
  checked when it is retired (``Snapshots.retire``). Sign-ins carry their time, so a snapshot
  is made again once older than ``SNAPSHOT_MAX_AGE_SECONDS``: a test starts with sign-ins well
  within the step-up (5 minutes) and idle (15 minutes) limits, as it would have signed in itself.
  Tests opt in with ``@pytest.mark.staff_snapshot`` (``staff`` and ``clients`` then come from a
  snapshot), or use ``snapshot_copy`` for a world of their own.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import column, func, inspect, select, table
from werkzeug.exceptions import SecurityError
from werkzeug.serving import make_server

from disclosure_app import create_app
from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.security import accounts as users
from tests.databases import (
    ENGINE,
    RUNTIME_ROLE,
    TestDatabase,
    checkpoint_sqlite,
    copy_sqlite,
    drop_pg_database,
    ensure_pg_roles,
    new_pg_database,
    sqlite_database,
    superuser,
)
from tests.factories import PASSWORD, TEST_SECRET_KEY, forget_used_code, make_user, totp_code
from workflows.roles import Rank, Role

# Tests use a cheap Argon2 profile; production keeps the library default.
users.configure_hasher(time_cost=1, memory_cost=1024, parallelism=1)

# What the in-process tests change from the shipped configuration, each a setting a deployment
# could change too (docs/testing.md lists them). CSRF protection, rate limits
# (counted in each test's own fresh database) and the public form's minimum fill time
# (tests.factories.form_started_long_ago) stay ON, as shipped. The browser journeys and
# tests/smoke run the shipped configuration itself on a real server.
# One key store and KEK ring per worker, shared by its test databases: a database copied from a
# template or snapshot keeps the keys its sealed values need (a deployment's key store is one
# place too). Tests about the key store's own placement set KEYSTORE_URL / KEK_DIR themselves.
# In memory (/dev/shm) when there is one, like the test databases: a new case's key is a commit.
KEYS_DIRECTORY = Path(tempfile.mkdtemp(
    prefix="disclosure-test-keys-",
    dir="/dev/shm" if Path("/dev/shm").is_dir() else None))  # nosec B108 # mkdtemp: private
atexit.register(shutil.rmtree, KEYS_DIRECTORY, True)

BASE_CONFIG = {
    "KEYSTORE_URL": f"sqlite:///{KEYS_DIRECTORY / 'keystore.sqlite'}",
    "KEK_DIR": str(KEYS_DIRECTORY / "kek"),
    "TESTING": True,
    "SECRET_KEY": TEST_SECRET_KEY,
    "SERVER_NAME": "localhost",
    # Tests are not production (which would force https-only cookies and refuse the test key).
    "PRODUCTION": False,
}


class TokenCarryingClient(FlaskClient):
    """A test client that sends, with every form it posts, the CSRF token the page it came
    from would have carried (as the ``X-CSRFToken`` header), so that the suite runs with CSRF
    protection on without loading every form first. A test that sends its own token (or a
    forged one) in the form is left alone; ``app.test_client(send_csrf=False)`` sends none."""

    def __init__(self, *args: Any, send_csrf: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_csrf = send_csrf

    def open(self, *args: Any, **kwargs: Any) -> Any:
        method = str(kwargs.get("method", "GET")).upper()
        data = kwargs.get("data")
        own_token = hasattr(data, "__contains__") and not isinstance(data, str | bytes) and (
            "csrf_token" in data)
        if self.send_csrf and method not in ("GET", "HEAD", "OPTIONS") and not own_token:
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("X-CSRFToken", self._csrf_token(kwargs.get("base_url")))
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def _csrf_token(self, base_url: str | None) -> str:
        # The session of the site the form is posted to (its cookie is kept per host name).
        where = {"base_url": base_url} if base_url else {}
        try:
            with self.session_transaction(**where) as browser_session:
                raw = browser_session.setdefault("csrf_token", secrets.token_hex(20))
        except SecurityError:
            return ""  # a host the app does not answer to: no page of it could carry a token
        app = self.application
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``engine("sqlite")`` or ``engine("postgresql")`` test one engine's own
    behaviour; the run on the other engine leaves them out (deselected, not skipped: `make
    test` runs the suite on both, so each runs once).

    Tests marked ``engine_independent`` never touch the test database (the PostgreSQL pass of
    `make test` leaves them out with ``-m "not engine_independent"``): a test so marked that
    uses the test database after all, or drives a browser (whose server runs on the test
    database), is an error here rather than a test quietly run on one engine only."""
    keep, other_engine = [], []
    for item in items:
        if item.get_closest_marker("engine_independent") is not None and (
                "migrated_template" in getattr(item, "fixturenames", ())
                or item.get_closest_marker("browser") is not None):
            raise pytest.UsageError(
                f"{item.nodeid} is marked engine_independent but uses the test database")
        marker = item.get_closest_marker("engine")
        (other_engine if marker is not None and marker.args[0] != ENGINE else keep).append(item)
    if other_engine:
        config.hook.pytest_deselected(items=other_engine)
        items[:] = keep


class CompiledTemplates(jinja2.BytecodeCache):
    """The compiled code of the templates, kept for every app this test process makes. Each
    test makes an app of its own, which would otherwise parse and compile again every template
    it renders (most of a second for a staff page); a server process compiles each once too.
    Jinja uses the code only while the template's source checksum still matches."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def make_app(db: TestDatabase | Path | str, **overrides: Any) -> Flask:
    """An app on ``db``: a TestDatabase, a SQLite file path, or a database URL. Its test client
    carries CSRF tokens like a browser (``TokenCarryingClient``) unless the test sets
    ``WTF_CSRF_ENABLED`` itself, to drive tokens by hand."""
    if isinstance(db, TestDatabase):
        config = {"DATABASE_URL": db.url}
        if db.engine == "postgresql":
            config |= {"MIGRATION_DATABASE_URL": db.owner_url,
                       "DATABASE_RUNTIME_ROLE": RUNTIME_ROLE}
    elif isinstance(db, Path):
        config = {"DATABASE_URL": f"sqlite:///{db}"}
    else:
        config = {"DATABASE_URL": db}
    app = create_app({**BASE_CONFIG, **config, **overrides})
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    if "WTF_CSRF_ENABLED" not in overrides:
        app.test_client_class = TokenCarryingClient
    return app


def migrate(db: TestDatabase) -> None:
    app = make_app(db)
    with app.app_context():
        from disclosure_app.cli import upgrade_database

        upgrade_database()
    app.extensions["db_engine"].dispose()


def _memory_directory() -> Path | None:
    """A new directory on /dev/shm when that is a tmpfs with room to spare, else None."""
    shm = Path("/dev/shm")  # nosec B108 # a private directory made by mkdtemp
    try:
        stats = os.statvfs(shm)
        if stats.f_bavail * stats.f_frsize < 2 << 30:
            return None
        return Path(tempfile.mkdtemp(prefix="disclosure-tests-", dir=shm))
    except OSError:
        return None


@pytest.fixture(scope="session")
def database_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this worker's SQLite test databases live: in memory (/dev/shm) when there is room,
    so that a commit does not wait for a disk that other work keeps busy; the app's own
    settings (WAL, synchronous=FULL) are unchanged, and each file is deleted after its test."""
    directory = _memory_directory() if ENGINE == "sqlite" else None
    if directory is None:
        yield tmp_path_factory.mktemp("databases")
        return
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(database_directory: Path) -> Iterator[TestDatabase]:
    """One database migrated with Alembic per test session (per xdist worker); each test gets a
    copy: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL."""
    if ENGINE == "sqlite":
        template = sqlite_database(database_directory / "template.sqlite")
        migrate(template)
        checkpoint_sqlite(template.path)
        yield template
        return
    ensure_pg_roles()
    template = new_pg_database()
    migrate(template)
    yield template
    drop_pg_database(template.name)


def fresh_database(directory: Path, template: TestDatabase) -> TestDatabase:
    """A copy of a template (``migrated_template`` or a snapshot); drop it with
    ``discard_database``."""
    if ENGINE == "sqlite":
        return copy_sqlite(template, directory / f"test-{uuid.uuid4().hex[:16]}.sqlite")
    return new_pg_database(template=template.name)


def discard_database(db: TestDatabase) -> None:
    if db.path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db.path}{suffix}").unlink(missing_ok=True)
    else:
        drop_pg_database(db.name)


# --- Snapshots: what many tests set up the same way, made once per worker, copied per test ----

# A snapshot's sign-ins are at most this old when a test starts on a copy of it (the app asks for
# a fresh code after 5 minutes, and signs a person out after 15 idle).
SNAPSHOT_MAX_AGE_SECONDS = 60.0

Build = Callable[[Flask], tuple[Any, dict[str, FlaskClient]]]


def fingerprint(db: TestDatabase) -> dict[str, int]:
    """Every table's row count and the audit log's last sequence number."""
    with superuser(db) as conn:
        names = sorted(inspect(conn).get_table_names())
        counts = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                  for name in names}
        if "audit_entries" in names:
            seq = table("audit_entries", column("seq")).c.seq
            counts["max(audit_entries.seq)"] = conn.execute(
                select(func.coalesce(func.max(seq), 0))).scalar_one()
    return counts


@dataclass
class Snapshot:
    database: TestDatabase
    made_at: float  # time.monotonic() when it was begun
    data: Any  # what its build returned: plain values (ids, emails), never live ORM objects
    cookies: dict[str, dict[tuple[str, str, str], Any]]  # each signed-in client's cookie jar
    fingerprint: dict[str, int]


class Snapshots:
    """This worker's snapshots, by name; one older than ``SNAPSHOT_MAX_AGE_SECONDS`` is retired
    and made again."""

    def __init__(self, directory: Path, template: TestDatabase) -> None:
        self.directory = directory
        self.template = template
        self.made: dict[str, Snapshot] = {}

    def get(self, name: str, build: Build) -> Snapshot:
        snapshot = self.made.get(name)
        if snapshot is not None and time.monotonic() - snapshot.made_at > SNAPSHOT_MAX_AGE_SECONDS:
            del self.made[name]
            self.retire(snapshot)
            snapshot = None
        if snapshot is None:
            snapshot = self.made[name] = self._make(build)
        return snapshot

    def _make(self, build: Build) -> Snapshot:
        made_at = time.monotonic()
        db = fresh_database(self.directory, self.template)
        try:
            app = make_app(db)
            try:
                data, clients = build(app)
                cookies = {name: dict(client._cookies or {}) for name, client in clients.items()}
            finally:
                app.extensions["db_engine"].dispose()
            if db.path is not None:
                checkpoint_sqlite(db.path)  # everything in the one file that is copied
            return Snapshot(db, made_at, data, cookies, fingerprint(db))
        except BaseException:
            discard_database(db)
            raise

    def retire(self, snapshot: Snapshot) -> None:
        """Drop a snapshot, after checking that nothing wrote to it since it was made."""
        try:
            assert fingerprint(snapshot.database) == snapshot.fingerprint, (
                "a shared snapshot was written to: tests must run on their own copy")
        finally:
            discard_database(snapshot.database)

    def close(self) -> None:
        made, self.made = self.made, {}
        for snapshot in made.values():
            self.retire(snapshot)


@pytest.fixture(scope="session")
def snapshots(database_directory: Path, migrated_template: TestDatabase) -> Iterator[Snapshots]:
    shelf = Snapshots(database_directory, migrated_template)
    yield shelf
    shelf.close()


def copy_client(app: Flask, cookies: dict[tuple[str, str, str], Any]) -> FlaskClient:
    """A client of ``app`` holding a snapshot client's cookies (its signed-in session)."""
    client = app.test_client()
    assert client._cookies is not None
    client._cookies.update(cookies)
    return client


@dataclass
class SnapshotCopy:
    app: Flask  # an app on this test's own copy of the snapshot
    database: TestDatabase
    data: Any
    clients: dict[str, FlaskClient]


@pytest.fixture
def snapshot_copy(database_directory: Path, snapshots: Snapshots
                  ) -> Iterator[Callable[[Build], SnapshotCopy]]:
    """``snapshot_copy(build)``: this test's own copy of the worker's snapshot made by
    ``build(app) -> (data, {name: signed-in client})`` (made on first use, and again when too
    old), an app on it, and clients holding the snapshot clients' sessions. ``data`` must be
    plain values: the test reads its own rows from its own copy."""
    copies: list[SnapshotCopy] = []

    def copy(build: Build) -> SnapshotCopy:
        snapshot = snapshots.get(f"{build.__module__}.{build.__qualname__}", build)
        db = fresh_database(database_directory, snapshot.database)
        app = make_app(db)
        copies.append(SnapshotCopy(app, db, snapshot.data, {}))
        copies[-1].clients.update(
            {name: copy_client(app, cookies) for name, cookies in snapshot.cookies.items()})
        return copies[-1]

    yield copy
    for made in copies:
        made.app.extensions["db_engine"].dispose()
        discard_database(made.database)


# What a test marked ``staff_snapshot`` found in its snapshot (read by ``staff`` and ``clients``).
STAFF_SNAPSHOT = pytest.StashKey[Snapshot]()


def _staff_snapshot(request: pytest.FixtureRequest) -> Snapshot | None:
    """For a test marked ``staff_snapshot`` that uses ``staff`` or ``clients``: the worker's
    snapshot with the staff accounts (signed in, if the test uses ``clients``)."""
    if request.node.get_closest_marker("staff_snapshot") is None:
        return None
    names = request.fixturenames
    if "clients" in names:
        build: Build = build_signed_in_staff
    elif "staff" in names:
        build = build_staff
    else:
        return None
    snapshot = request.getfixturevalue("snapshots").get(build.__name__, build)
    request.node.stash[STAFF_SNAPSHOT] = snapshot
    return snapshot


@pytest.fixture
def database(request: pytest.FixtureRequest, database_directory: Path,
             migrated_template: TestDatabase) -> Iterator[TestDatabase]:
    """This test's own database: a copy of the migrated template (or, for a test marked
    ``staff_snapshot``, of the snapshot its ``staff``/``clients`` come from)."""
    snapshot = _staff_snapshot(request)
    db = fresh_database(database_directory,
                        snapshot.database if snapshot is not None else migrated_template)
    yield db
    discard_database(db)


@pytest.fixture
def db_path(database: TestDatabase) -> TestDatabase:
    """Older name for ``database``, kept for the tests that say "make_app(db_path)"."""
    return database


@pytest.fixture
def app(database: TestDatabase) -> Iterator[Flask]:
    application = make_app(database)
    yield application
    application.extensions["db_engine"].dispose()
    application.extensions["disclosure_keys"].dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    with app.app_context():
        yield get_session()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def sign_in(app: Flask, user_email: str) -> FlaskClient:
    """A client signed in as this account through the real sign-in: password, then a code from
    the account's test authenticator (tests.factories.totp_code)."""
    client = app.test_client()
    response = client.post(
        "/staff/sign-in", data={"email": user_email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith("/staff/two-factor"), response.headers
    response = client.post("/staff/two-factor", data={"code": totp_code(app, user_email)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "/staff/two-factor" not in response.headers["Location"], response.headers
    forget_used_code(app, user_email)
    return client


def complete_second_factor(app: Flask, client: FlaskClient, user_email: str) -> None:
    """After the password step on ``client`` (CSRF on or off): enter a code from the account's
    test authenticator, as the person would."""
    page = client.get("/staff/two-factor").get_data(as_text=True)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
    data = {"code": totp_code(app, user_email)}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/staff/two-factor", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "/staff/two-factor" not in response.headers["Location"], response.headers


def make_staff(app: Flask) -> dict[str, Any]:
    """One account per staff role: {'case_officer': User, 'decision_maker': User, ...}."""
    with app.app_context():
        session = get_session()
        people = {
            "case_officer": make_user(session, Role.case_officer, name="Olive Officer"),
            "decision_maker": make_user(session, Role.decision_maker, name="Diane Decider",
                                        rank=Rank.inspector),
            "decision_maker_2": make_user(session, Role.decision_maker, name="Derek Second",
                                          rank=Rank.chief_inspector),
            "partner": make_user(session, Role.partner, name="Pat Partner"),
            "auditor": make_user(session, Role.auditor, name="Audrey Auditor"),
            "admin": make_user(session, Role.admin, name="Adam Admin"),
            "records_manager": make_user(session, Role.records_manager, name="Rhoda Records"),
        }
        session.expunge_all()
        return people


def sign_in_staff(app: Flask, staff: dict[str, Any]) -> dict[str, FlaskClient]:
    return {key: sign_in(app, user.email) for key, user in staff.items()}


def build_staff(app: Flask) -> tuple[dict[str, int], dict[str, FlaskClient]]:
    return {key: user.id for key, user in make_staff(app).items()}, {}


def build_signed_in_staff(app: Flask) -> tuple[dict[str, int], dict[str, FlaskClient]]:
    people = make_staff(app)
    return {key: user.id for key, user in people.items()}, sign_in_staff(app, people)


def people_in(app: Flask, ids: dict[str, int]) -> dict[str, Any]:
    """The accounts with these ids, read from ``app``'s database, as ``make_staff`` returns
    them (loaded, then detached)."""
    with app.app_context():
        session = get_session()
        people = {key: session.get(User, user_id) for key, user_id in ids.items()}
        session.expunge_all()
        return people


@pytest.fixture
def staff(request: pytest.FixtureRequest, app: Flask) -> dict[str, Any]:
    """One account per staff role: {'case_officer': User, 'decision_maker': User, ...}."""
    snapshot = request.node.stash.get(STAFF_SNAPSHOT, None)
    if snapshot is None:
        return make_staff(app)
    return people_in(app, snapshot.data)


@pytest.fixture
def clients(request: pytest.FixtureRequest, app: Flask, staff: dict[str, Any]
            ) -> dict[str, FlaskClient]:
    """A signed-in test client per staff role, plus 'anonymous'."""
    snapshot = request.node.stash.get(STAFF_SNAPSHOT, None)
    if snapshot is None:
        result = sign_in_staff(app, staff)
    else:
        result = {key: copy_client(app, snapshot.cookies[key]) for key in staff}
    result["anonymous"] = app.test_client()
    return result


@contextmanager
def serving(app: Flask) -> Iterator[Any]:
    """``app`` served by a real threaded HTTP server on 127.0.0.1 (a free port) until the block
    ends: ``server.url`` and ``server.app`` for the browser and load tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app
    server.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
