"""A document link followed when a fresh code is due, in a real browser (issue 11): the person
sees "Confirm it is you" (no `confirm-identity.html` saved as a file), and the code brings the
document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from disclosure_app import mfa
from tests.browser.test_journeys import pdf_text, sign_in
from tests.factories import make_case, totp_secret_for
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


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
