"""Records management in a real browser (issue 14, "Done when"): the records manager reviews one
closed record to retain it and another to dispose of it; the daily disposal command runs; the
disposed record's pages say its personal data was disposed of, and the retained one keeps its
next review date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from disclosure_app.db import get_session, transaction
from disclosure_app.models import Case
from tests.browser.test_journeys import fill, sign_in
from tests.factories import make_case, make_user
from workflows.retention import add_years
from workflows.roles import Role
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def overdue(app: Any, case_ids: list[int]) -> None:
    """As if both had closed years ago: their first review has come round."""
    with app.app_context():
        session = get_session()
        with transaction(session):
            for case_id in case_ids:
                session.get(Case, case_id).review_due_on = (
                    datetime.now(UTC) - timedelta(days=2)).date()


def review(page: Any, server: Any, case_id: int, data: dict[str, Any]) -> None:
    page.goto(f"{server.url}/records/cases/{case_id}")
    fill(page, data)
    page.get_by_role("button", name="Record the review").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/records/cases/{case_id}"), page.content()[:2000]
    assert "Review recorded" in page.content()


def test_a_records_manager_retains_one_record_and_disposes_of_another(browser, live_server,
                                                                      people):
    server, app = live_server, live_server.app
    kept, _ = make_case(app, Status.closed, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])
    gone, _ = make_case(app, Status.closed, officer=people["officer"],
                        decider=people["inspector"], approver=people["chief"])
    overdue(app, [kept.id, gone.id])
    with app.app_context():
        make_user(get_session(), Role.records_manager, name="Rhona Records",
                  email="records@browser.test")

    manager = sign_in(browser, server, "records@browser.test")
    assert manager.url.endswith("/records/"), manager.url  # a records manager's home
    queue = manager.get_by_test_id("review-queue").inner_text()
    assert kept.reference in queue and gone.reference in queue
    assert "Overdue" in queue

    next_review = add_years(datetime.now(UTC).date(), 3)
    review(manager, server, kept.id, {
        "review-decision": "retain",
        "review-reason": "A later enquiry concerns the same subject: still needed.",
        "review-next_review_on": (str(next_review.day), str(next_review.month),
                                  str(next_review.year))})
    assert manager.get_by_test_id("review-due").inner_text() == next_review.strftime("%d %B %Y")

    review(manager, server, gone.id, {
        "review-decision": "dispose",
        "review-reason": "No further policing purpose and no linked enquiry since closure."})
    assert manager.get_by_test_id("disposal-approved").is_visible()

    # The daily run, as the operator schedules it.
    output = server.flask("records", "dispose")
    assert f"disposed: {gone.reference}" in output

    manager.goto(f"{server.url}/records/cases/{gone.id}")
    assert "Personal data disposed of on" in manager.get_by_test_id("disposed-banner").inner_text()
    manager.goto(f"{server.url}/records/")
    remaining = manager.content()
    assert gone.reference not in remaining and kept.reference not in remaining  # both reviewed

    # The case officer's own page of the disposed case says so too; the kept one is untouched.
    officer = sign_in(browser, server, people["officer"].email)
    officer.goto(f"{server.url}/staff/cases/{gone.id}")
    assert "Personal data disposed of on" in officer.get_by_test_id("disposed-banner").inner_text()
    officer.goto(f"{server.url}/staff/cases/{kept.id}")
    assert officer.get_by_test_id("disposed-banner").count() == 0
