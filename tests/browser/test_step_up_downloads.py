"""A document link followed when a fresh code is due, in a real browser (issue 11): the person
sees "Confirm it is you" (no `confirm-identity.html` saved as a file), and the code brings the
document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from disclosure_app.security import mfa
from tests.browser.test_journeys import pdf_text, sign_in
from tests.conftest import discard_database, fresh_database, make_app, serving
from tests.databases import TestDatabase
from tests.factories import make_case, totp_secret_for
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, migrated_template: TestDatabase
                ) -> Iterator[Any]:
    """This test moves the app's clock past the step-up time, which needs the app in this
    process: the shipped configuration (CSRF, rate limits, fill time on) on a real threaded
    server here, instead of the `flask run` process the other journeys use."""
    db = fresh_database(tmp_path_factory.mktemp("step-up"), migrated_template)
    app = make_app(db, WTF_CSRF_ENABLED=True, TESTING=False, SERVER_NAME=None)
    try:
        with serving(app) as server:
            def query(sql: str, **params: Any) -> list[tuple[Any, ...]]:
                with app.extensions["db_engine"].connect() as conn:
                    return [tuple(row) for row in conn.execute(text(sql), params)]

            server.query = query  # what tests.browser.authenticator reads, as on ShippedServer
            yield server
    finally:
        app.extensions["db_engine"].dispose()
        discard_database(db)


def test_with_a_code_due_the_letter_link_shows_the_confirm_page_and_the_code_brings_it(
        browser, live_server, people):
    server = live_server
    case, _ = make_case(server.app, Status.no_disclosure_decided, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])
    officer = sign_in(browser, server, people["officer"].email)
    later = datetime.now(UTC) + timedelta(minutes=6)  # past STEP_UP_MINUTES, within idle time
    server.app.config["CLOCK"] = lambda: later
    downloads: list[str] = []
    officer.on("download", lambda d: downloads.append(d.suggested_filename))
    try:
        officer.goto(f"{server.url}/staff/cases/{case.id}")
        officer.click('a[href$="/non-disclosure-letter.pdf"]')
        officer.wait_for_load_state()

        assert "/staff/confirm-identity" in officer.url
        assert officer.get_by_role("heading", name="Confirm it is you").is_visible()
        assert officer.get_by_test_id("file-follows").is_visible()
        assert downloads == []  # nothing was saved as a file

        code = mfa.code_for_step(totp_secret_for(people["officer"].email),
                                 mfa.step_at(later) + 1)
        officer.fill('[name="code"]', code)
        with officer.expect_download() as download_info:
            officer.get_by_role("button", name="Continue").click()
        letter = download_info.value
        assert letter.suggested_filename.endswith(".pdf")
        with open(letter.path(), "rb") as handle:
            assert case.reference in pdf_text(handle.read())

        officer.get_by_role("link", name="go back to the case").click()
        officer.wait_for_load_state()
        assert officer.url.endswith(f"/staff/cases/{case.id}")
    finally:
        server.app.config.pop("CLOCK", None)
        officer.context.close()
