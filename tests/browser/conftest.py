"""The application as `make run` ships it, and a headless Debian Chromium driven by Playwright.

Each module gets its own server set up by the same commands as `make run` (a new instance folder
with a random SECRET_KEY, `flask db upgrade`, `flask run` on 127.0.0.1 with
DISCLOSURE_PRODUCTION=false: see tests.smoke.shipped): rate limits, CSRF and the minimum fill
time are on, and the database is the SQLite file in the instance folder. ``live_server.app`` is
the same app in the test process, for test data made through the services.
Chromium is Debian's (/usr/bin/chromium): a test tool cannot download a browser here.
In CI the browser tests must run, so a missing Chromium fails rather than skips there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from disclosure_app.db import get_session
from tests.databases import (
    ENGINE,
    RUNTIME_ROLE,
    drop_pg_database,
    ensure_pg_roles,
    new_pg_database,
)
from tests.factories import make_user
from tests.smoke.shipped import shipped_server
from workflows.roles import Agency, Rank, Role

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """No demo data: each journey makes the people and cases it needs. On the PostgreSQL pass
    of `make test`, a new PostgreSQL database set as a deployment sets it (the database URLs
    and runtime role in DISCLOSURE_* variables), migrated by `flask db upgrade`."""
    settings: dict[str, str] = {}
    database = None
    if ENGINE == "postgresql":
        ensure_pg_roles()
        database = new_pg_database()
        settings = {"DISCLOSURE_DATABASE_URL": database.url,
                    "DISCLOSURE_MIGRATION_DATABASE_URL": database.owner_url,
                    "DISCLOSURE_DATABASE_RUNTIME_ROLE": RUNTIME_ROLE}
    try:
        with shipped_server(tmp_path_factory.mktemp("browser-instance"), seed=False,
                            settings=settings) as server:
            config = server.app.config
            assert config["RATELIMIT_ENABLED"] and config["WTF_CSRF_ENABLED"]
            assert config["PUBLIC_FORM_MIN_FILL_SECONDS"] > 0 and not config["TESTING"]
            yield server
    finally:
        if database is not None:
            drop_pg_database(database.name)


@pytest.fixture(scope="module")
def people(live_server: Any) -> dict[str, Any]:
    with live_server.app.app_context():
        session = get_session()
        result = {
            "officer": make_user(session, Role.case_officer, name="Bea Officer",
                                 email="officer@browser.test"),
            "inspector": make_user(session, Role.decision_maker, name="Ivan Inspector",
                                   rank=Rank.inspector, email="inspector@browser.test"),
            # Four eyes: the decision's approver, and a third who took no part, for dip sampling.
            "chief": make_user(session, Role.decision_maker, name="Chloe Chief",
                               rank=Rank.chief_inspector, email="chief@browser.test"),
            "superintendent": make_user(session, Role.decision_maker, name="Sam Super",
                                        rank=Rank.superintendent,
                                        email="superintendent@browser.test"),
            "partner": make_user(session, Role.partner, name="Paula Probation",
                                 email="partner@browser.test"),
            "social_care": make_user(session, Role.partner, name="Carol Carewell",
                                     agency=Agency.childrens_social_care,
                                     email="socialcare@browser.test"),
            "auditor": make_user(session, Role.auditor, name="Ada Auditor",
                                 email="auditor@browser.test"),
        }
        session.expunge_all()
        return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: `make test` installs it")
        pytest.skip("Chromium is not installed (run `make test`, which installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
