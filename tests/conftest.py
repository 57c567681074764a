"""Shared fixtures: an app on a freshly migrated SQLite database per test, and signed-in clients
for every role (signed in through the real sign-in form)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from disclosure_app import create_app
from disclosure_app.db import get_session
from disclosure_app.services import users
from tests.factories import PASSWORD, make_user
from workflows.roles import Rank, Role

# Tests use a cheap Argon2 profile; production keeps the library default.
users.configure_hasher(time_cost=1, memory_cost=1024, parallelism=1)

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "SERVER_NAME": "localhost",
}


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated with Alembic per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    app = create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        from disclosure_app.cli import upgrade_database

        upgrade_database()
    app.extensions["db_engine"].dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


def make_app(db_path: Path, **overrides: Any) -> Flask:
    return create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{db_path}", **overrides})


@pytest.fixture
def db_path(tmp_path: Path, migrated_template: Path) -> Path:
    path = tmp_path / "test.sqlite"
    shutil.copy(migrated_template, path)
    return path


@pytest.fixture
def app(db_path: Path) -> Iterator[Flask]:
    application = make_app(db_path)
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
    client = app.test_client()
    response = client.post(
        "/staff/sign-in", data={"email": user_email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


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
