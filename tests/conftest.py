"""Shared fixtures: an app on a freshly migrated database per test (SQLite, or PostgreSQL when
``TEST_DATABASE_URL`` is set: see tests/databases.py), and signed-in clients for every role
(signed in through the real sign-in form)."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import SecurityError
from werkzeug.serving import make_server

from disclosure_app import create_app
from disclosure_app.db import get_session
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
BASE_CONFIG = {
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
    test` runs the suite on both, so each runs once)."""
    keep, other_engine = [], []
    for item in items:
        marker = item.get_closest_marker("engine")
        (other_engine if marker is not None and marker.args[0] != ENGINE else keep).append(item)
    if other_engine:
        config.hook.pytest_deselected(items=other_engine)
        items[:] = keep


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
    if "WTF_CSRF_ENABLED" not in overrides:
        app.test_client_class = TokenCarryingClient
    return app


def migrate(db: TestDatabase) -> None:
    app = make_app(db)
    with app.app_context():
        from disclosure_app.cli import upgrade_database

        upgrade_database()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """One database migrated with Alembic per test session (per xdist worker); each test gets a
    copy: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL."""
    if ENGINE == "sqlite":
        template = sqlite_database(tmp_path_factory.mktemp("template") / "template.sqlite")
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
    """A copy of the migrated template (drop it with ``discard_database``)."""
    if ENGINE == "sqlite":
        return copy_sqlite(template, directory / "test.sqlite")
    return new_pg_database(template=template.name)


def discard_database(db: TestDatabase) -> None:
    if db.engine == "postgresql":
        drop_pg_database(db.name)


@pytest.fixture
def database(tmp_path: Path, migrated_template: TestDatabase) -> Iterator[TestDatabase]:
    """This test's own freshly migrated database."""
    db = fresh_database(tmp_path, migrated_template)
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


@pytest.fixture
def staff(app: Flask) -> dict[str, Any]:
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
        }
        session.expunge_all()
        return people


@pytest.fixture
def clients(app: Flask, staff: dict[str, Any]) -> dict[str, FlaskClient]:
    """A signed-in test client per staff role, plus 'anonymous'."""
    result = {key: sign_in(app, user.email) for key, user in staff.items()}
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
