"""Running the unit day to day, in a real browser (issue 13, "Done when"): a supervisor moves an
absent officer's cases to a colleague, who finds them under "My cases" with a notification; a
case goes near breach and is escalated; an extension is asked for by the officer, authorised by
a second person, and the applicant's status page shows the new date with a neutral sentence."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from disclosure_app.clocks.tick import tick
from disclosure_app.db import get_session, transaction
from disclosure_app.models import Case, CaseClock, Team, TeamMember
from tests.browser.test_journeys import sign_in, take_step
from tests.factories import make_case, make_user
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def a_team(app: Any, members: list[int], cases: list[int]) -> None:
    with app.app_context():
        session = get_session()
        with transaction(session):
            from datetime import UTC, datetime
            now = datetime.now(UTC)
            team = Team(code="east", name="East unit", created_at=now, postcode_districts="NS1")
            session.add(team)
            session.flush()
            for user_id in members:
                session.add(TeamMember(team_id=team.id, user_id=user_id, added_at=now))
            for case_id in cases:
                session.get(Case, case_id).team_id = team.id


def unread(page: Any) -> int:
    text = page.get_by_test_id("header-notifications").inner_text()
    found = re.search(r"(\d+)", text)
    return int(found[1]) if found else 0


def test_bulk_reassignment_escalation_and_an_authorised_extension(browser, live_server, people):
    server, app = live_server, live_server.app
    with app.app_context():
        session = get_session()
        absent = make_user(session, Role.case_officer, name="Alex Absent",
                           email="absent@browser.test")
        taker = make_user(session, Role.case_officer, name="Nina Newholder",
                          email="taker@browser.test")
        sergeant = make_user(session, Role.case_officer, name="Sid Sergeant",
                             rank=Rank.sergeant, email="sergeant@browser.test")
    held = [make_case(app, status, officer=absent, decider=people["inspector"],
                      approver=people["chief"]) for status in
            (Status.full_risk_assessment, Status.awaiting_interview)]
    (first, token), (second, _) = held
    a_team(app, [absent.id, taker.id, sergeant.id], [first.id, second.id])

    # --- The supervisor moves everything the absent officer holds to a colleague.
    supervisor = sign_in(browser, server, sergeant.email)
    supervisor.goto(f"{server.url}/teams/workload")
    assert "Alex Absent" in supervisor.get_by_test_id("officers").inner_text()
    form = supervisor.get_by_test_id("move-form")
    form.locator('select[name="move-from_user_id"]').select_option(str(absent.id))
    form.locator('select[name="move-to_user_id"]').select_option(str(taker.id))
    form.locator('[name="move-reason"]').fill("Alex is on long-term sick leave from today.")
    form.get_by_role("button", name="Move the cases").click()
    supervisor.wait_for_load_state()
    assert "2" in supervisor.content() and "Nina Newholder" in supervisor.content()

    # --- The new holder finds both under "My cases", and a notification for each.
    holder = sign_in(browser, server, taker.email)
    holder.goto(f"{server.url}/staff/?view=mine")
    mine = holder.content()
    assert first.reference in mine and second.reference in mine
    assert unread(holder) >= 2
    holder.get_by_test_id("header-notifications").click()
    holder.wait_for_load_state()
    listed = holder.get_by_test_id("notifications").inner_text()
    assert f"Case {first.reference} is now yours." in listed
    assert f"Case {second.reference} is now yours." in listed
    assert "Alex" not in listed and "Charlie" not in listed  # no names in notifications

    # --- The full risk assessment nears its target: the five-minute tick escalates it.
    with app.app_context():
        session = get_session()
        near_at = session.scalars(select(CaseClock.near_at).where(
            CaseClock.case_id == first.id, CaseClock.clock == "assessment")).one()
        report = tick(session, now=near_at + timedelta(minutes=1),
                      supervisor_rank=Rank.sergeant, email=False)
    assert report.ran and report.near_breach >= 1
    holder.reload()
    assert f"Case {first.reference}: the full risk assessment target is close." in (
        holder.get_by_test_id("notifications").inner_text())
    supervisor.goto(f"{server.url}/notifications")  # the team's digest
    assert re.search(r"\d+ case\(s\) in East unit reached a target's near-breach point",
                     supervisor.get_by_test_id("notifications").inner_text())

    # --- The holder asks for an extension of the whole process; the sergeant authorises it.
    with app.app_context():
        case = get_session().get(Case, first.id)
        old_day = (case.decision_due_at - timedelta(microseconds=1)).date()
    new_day = old_day + timedelta(days=10)
    take_step(holder, server, first.id, "request_extension", {
        "clock": "overall", "new_date": (str(new_day.day), str(new_day.month),
                                         str(new_day.year)),
        "reason_code": "partner_information_awaited"},
        "Probation's risk assessment will not arrive before the current target.")
    # The person who asked is not offered the authorisation.
    holder.goto(f"{server.url}/staff/cases/{first.id}")
    assert holder.locator('a[href$="/steps/extend_deadline"]').count() == 0
    take_step(supervisor, server, first.id, "extend_deadline",
              {"exceptional_confirmed": "yes"},
              "Waiting for probation is outside the unit's control; the child is safe meanwhile.")
    supervisor.goto(f"{server.url}/staff/cases/{first.id}")
    assert new_day.strftime("%d %B %Y") in supervisor.get_by_test_id("deadlines").inner_text()

    # --- The applicant's status page: the new date, and a sentence that says nothing of why.
    applicant = browser.new_context().new_page()
    applicant.goto(f"{server.url}/status/{token}")
    targets = applicant.get_by_test_id("targets").inner_text()
    assert new_day.strftime("%d %B %Y") in targets
    assert old_day.strftime("%d %B %Y") not in targets
    changed = applicant.get_by_test_id("target-changed").inner_text()
    assert "does not tell you anything about" in changed
    assert "probation" not in applicant.content().lower()
    applicant.context.close()
