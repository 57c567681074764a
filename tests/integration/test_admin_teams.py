"""Administrators keep the teams (code, name, postcode districts, the one default team, members)
and the force's closure days. Every change is logged with ids and codes; every refused form
stores nothing; nothing here shows case data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, ClosureDay, Team, TeamMember, User
from tests.factories import make_case, make_team, make_user
from workflows.roles import Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


def team_form(code: str, name: str, districts: str = "", *, default: bool = False,
              active: bool = True) -> dict[str, str]:
    data = {"code": code, "name": name, "districts": districts}
    if default:
        data["is_default"] = "y"
    if active:
        data["active"] = "y"
    return data


def state(app) -> dict[str, Any]:
    with app.app_context():
        session = get_session()
        return {
            "teams": [(t.code, t.name, t.postcode_districts, t.is_default, t.active)
                      for t in session.scalars(select(Team).order_by(Team.id))],
            "members": [(m.team_id, m.user_id, m.removed_at is None)
                        for m in session.scalars(select(TeamMember).order_by(TeamMember.id))],
            "closure_days": [(d.day, d.reason, d.removed_at is None)
                             for d in session.scalars(select(ClosureDay).order_by(ClosureDay.id))],
            "audit": audit.chain_length(session),
        }


def last_entry(app, action: str) -> dict[str, Any]:
    with app.app_context():
        found = get_session().scalars(select(AuditEntry).where(AuditEntry.action == action)
                                      .order_by(AuditEntry.seq.desc())).first()
        return json.loads(found.payload)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def team_id(app, code: str) -> int:
    with app.app_context():
        return get_session().scalars(select(Team.id).where(Team.code == code)).one()


# --- Teams -----------------------------------------------------------------------------------


def test_an_administrator_creates_the_first_team_as_the_default(app, clients):
    response = clients["admin"].post("/admin/teams/new", data=team_form(
        "NORTH", "North unit", "ns1, NS2 ns1", default=True))
    assert response.status_code == 303
    assert state(app)["teams"] == [("NORTH", "North unit", "NS1 NS2", True, True)]
    details = last_entry(app, "team_created")["details"]
    assert details == {"team_id": team_id(app, "NORTH"), "code": "NORTH",
                       "districts": ["NS1", "NS2"], "is_default": True, "active": True,
                       "default_taken_from_team_ids": []}
    listing = text(clients["admin"].get("/admin/teams"))
    assert "North unit" in listing and "NS1 NS2" in listing


def test_the_first_team_must_be_the_default_and_nothing_is_stored_otherwise(app, clients):
    before = state(app)
    response = clients["admin"].post("/admin/teams/new", data=team_form("NORTH", "North unit"))
    assert response.status_code == 400
    assert "One active team must be the default team" in text(response)
    assert state(app) == before


def test_making_a_team_the_default_takes_the_flag_from_the_old_default(app, clients):
    admin = clients["admin"]
    admin.post("/admin/teams/new", data=team_form("NORTH", "North unit", default=True))
    response = admin.post("/admin/teams/new", data=team_form("SOUTH", "South unit", "SS1",
                                                             default=True))
    assert response.status_code == 303
    assert [(code, default) for code, _, _, default, _ in state(app)["teams"]] == [
        ("NORTH", False), ("SOUTH", True)]
    assert last_entry(app, "team_created")["details"]["default_taken_from_team_ids"] == [
        team_id(app, "NORTH")]


@pytest.mark.parametrize(("form", "message"), [
    (team_form("", "No code", default=True), "Enter a code for the team"),
    (team_form("has space", "Bad code", default=True), "letters, numbers, hyphens"),
    (team_form("X" * 33, "Long code", default=True), "32 characters or fewer"),
    (team_form("OK", "", default=True), "Enter the team's name"),
    (team_form("OK", "N" * 101, default=True), "100 characters or fewer"),
    (team_form("OK", "Odd", "NS1 99 ABC", default=True),
     "These are not postcode districts: 99, ABC"),
    (team_form("north", "Another name", default=True), "Another team already has this code"),
    (team_form("OTHER", "north unit", default=True), "Another team already has this name"),
    (team_form("OTHER", "Other unit", "NS2 NX1", default=True),
     "These districts already belong to another active team: NS2 (team NORTH)"),
    (team_form("OTHER", "Other unit", default=True, active=False),
     "An inactive team cannot be the default team"),
])
def test_a_bad_team_is_refused_with_a_clear_message_and_nothing_stored(app, clients, form,
                                                                         message):
    clients["admin"].post("/admin/teams/new", data=team_form("NORTH", "North unit", "NS1 NS2",
                                                             default=True))
    before = state(app)
    response = clients["admin"].post("/admin/teams/new", data=form)
    assert response.status_code == 400
    assert message in text(response)
    assert "govuk-error-summary" in text(response)
    assert state(app) == before


def test_an_administrator_changes_a_team(app, clients):
    admin = clients["admin"]
    admin.post("/admin/teams/new", data=team_form("NORTH", "North unit", "NS1", default=True))
    north = team_id(app, "NORTH")
    page = text(admin.get(f"/admin/teams/{north}"))
    assert 'value="NORTH"' in page and "NS1" in page
    response = admin.post(f"/admin/teams/{north}", data=team_form(
        "NORTH", "Northern unit", "NS1 NS3", default=True))
    assert response.status_code == 303
    assert state(app)["teams"] == [("NORTH", "Northern unit", "NS1 NS3", True, True)]
    assert last_entry(app, "team_changed")["details"]["districts"] == ["NS1", "NS3"]


def test_the_default_team_cannot_be_deactivated_while_another_team_is_active(app, clients):
    admin = clients["admin"]
    admin.post("/admin/teams/new", data=team_form("NORTH", "North unit", default=True))
    admin.post("/admin/teams/new", data=team_form("SOUTH", "South unit"))
    before = state(app)
    response = admin.post(f"/admin/teams/{team_id(app, 'NORTH')}", data=team_form(
        "NORTH", "North unit", active=False))
    assert response.status_code == 400
    assert "make another active team the default before deactivating this one" in text(response)
    assert state(app) == before


def test_a_team_that_does_not_exist_is_not_found(clients):
    assert clients["admin"].get("/admin/teams/999999").status_code == 404
    assert clients["admin"].post("/admin/teams/999999", data=team_form(
        "X", "Y", default=True)).status_code == 404


# --- Members ---------------------------------------------------------------------------------


def test_members_are_added_and_removed_softly(app, staff, clients):
    admin = clients["admin"]
    admin.post("/admin/teams/new", data=team_form("NORTH", "North unit", default=True))
    north = team_id(app, "NORTH")
    officer = staff["case_officer"].id

    response = admin.post(f"/admin/teams/{north}/members", data={"user_id": str(officer)})
    assert response.status_code == 303
    assert state(app)["members"] == [(north, officer, True)]
    assert last_entry(app, "team_member_added")["details"] == {"team_id": north,
                                                               "user_id": officer}
    assert staff["case_officer"].display_name in text(admin.get(f"/admin/teams/{north}"))

    response = admin.post(f"/admin/teams/{north}/members/{officer}/remove")
    assert response.status_code == 303
    assert state(app)["members"] == [(north, officer, False)]  # kept, marked removed
    assert last_entry(app, "team_member_removed")["details"] == {"team_id": north,
                                                                 "user_id": officer}

    # Back again: the same row, in force again; the log has all three events.
    assert admin.post(f"/admin/teams/{north}/members",
                      data={"user_id": str(officer)}).status_code == 303
    assert state(app)["members"] == [(north, officer, True)]


@pytest.mark.parametrize("who", ["partner", "auditor", "admin", "nobody", "member"])
def test_only_active_officers_and_decision_makers_join_a_team(app, staff, clients, who):
    admin = clients["admin"]
    admin.post("/admin/teams/new", data=team_form("NORTH", "North unit", default=True))
    north = team_id(app, "NORTH")
    admin.post(f"/admin/teams/{north}/members", data={"user_id": str(staff["case_officer"].id)})
    target = {"nobody": "999999", "member": str(staff["case_officer"].id)}.get(who) or str(
        staff[who].id)
    before = state(app)
    response = admin.post(f"/admin/teams/{north}/members", data={"user_id": target})
    assert response.status_code == 400
    expected = ("That person is already in this team" if who == "member"
                else "Select an active case officer or decision-maker")
    assert expected in text(response)
    assert state(app) == before


def test_removing_someone_who_is_not_a_member_is_not_found(app, staff, clients):
    clients["admin"].post("/admin/teams/new", data=team_form("NORTH", "North unit",
                                                             default=True))
    north = team_id(app, "NORTH")
    before = state(app)
    response = clients["admin"].post(
        f"/admin/teams/{north}/members/{staff['case_officer'].id}/remove")
    assert response.status_code == 404
    assert state(app) == before


def test_team_pages_show_no_case_data(app, staff, clients):
    case, _ = make_case(app, Status.initial_checks, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        session = get_session()
        team = make_team(session, code="NORTH",
                         members=[session.get(User, staff["case_officer"].id)])
        north = team.id
    for url in ("/admin/teams", f"/admin/teams/{north}"):
        page = text(clients["admin"].get(url))
        assert case.reference not in page


# --- Closure days ----------------------------------------------------------------------------


def day_form(day: date, reason: str = "Christmas closure") -> dict[str, Any]:
    return {"day": [str(day.day), str(day.month), str(day.year)], "reason": reason}


def test_an_administrator_adds_and_removes_a_closure_day(app, staff, clients):
    admin = clients["admin"]
    day = datetime.now(UTC).date() + timedelta(days=30)
    response = admin.post("/admin/closure-days", data=day_form(day))
    assert response.status_code == 303
    assert state(app)["closure_days"] == [(day, "Christmas closure", True)]
    added = last_entry(app, "closure_day_added")
    assert added["details"]["day"] == day.isoformat()
    assert "Christmas" not in json.dumps(added)  # the reason only as its hash
    assert day.strftime("%d %B %Y") in text(admin.get("/admin/closure-days"))

    with app.app_context():
        row = get_session().scalars(select(ClosureDay)).one()
        row_id = row.id
    response = admin.post(f"/admin/closure-days/{row_id}/remove")
    assert response.status_code == 303
    with app.app_context():
        row = get_session().get(ClosureDay, row_id)
        assert row.removed_at is not None and row.removed_by_id == staff["admin"].id
    assert last_entry(app, "closure_day_removed")["details"] == {"closure_day_id": row_id,
                                                                 "day": day.isoformat()}
    # Removed twice is not found; added again, the same row is back in force.
    assert admin.post(f"/admin/closure-days/{row_id}/remove").status_code == 404
    assert admin.post("/admin/closure-days", data=day_form(day, "Back on")).status_code == 303
    assert state(app)["closure_days"] == [(day, "Back on", True)]


@pytest.mark.parametrize(("days_ahead", "reason", "message"), [
    (-1, "Too late", "The date must be today or later"),
    (5, "", "Enter why the unit is closed"),
    (5, "x" * 201, "The reason must be 200 characters or fewer"),
    (None, "No date", "Enter the date the unit is closed"),
    (7, "Twice", "That day is already a closure day"),
])
def test_a_bad_closure_day_is_refused_and_nothing_stored(app, clients, days_ahead, reason,
                                                         message):
    today = datetime.now(UTC).date()
    clients["admin"].post("/admin/closure-days", data=day_form(today + timedelta(days=7)))
    before = state(app)
    data = day_form(today + timedelta(days=days_ahead), reason) if days_ahead is not None else {
        "day": ["", "", ""], "reason": reason}
    response = clients["admin"].post("/admin/closure-days", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert state(app) == before


def test_a_past_closure_day_cannot_be_removed(app, staff, clients):
    with app.app_context():
        session = get_session()
        session.add(ClosureDay(day=datetime.now(UTC).date() - timedelta(days=3), reason="Past",
                               added_by_id=staff["admin"].id, added_at=datetime.now(UTC)))
        session.commit()
        row_id = session.scalar(select(func.max(ClosureDay.id)))
    before = state(app)
    response = clients["admin"].post(f"/admin/closure-days/{row_id}/remove")
    assert response.status_code == 409
    assert "A past closure day cannot be removed" in text(response)
    assert state(app) == before


def test_teams_and_closure_days_are_in_the_administrators_menu_only(clients):
    page = clients["admin"].get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/teams"' in page and 'href="/admin/closure-days"' in page
    officer_page = clients["case_officer"].get("/staff/").get_data(as_text=True)
    assert 'href="/admin/teams"' not in officer_page


def test_a_team_made_by_the_factory_is_the_default_when_none_is(app):
    # Guards the helper the other tests rely on.
    with app.app_context():
        session = get_session()
        first = make_team(session)
        second = make_team(session, members=[make_user(session, Role.case_officer)])
        assert (first.is_default, second.is_default) == (True, False)
        assert len(session.scalars(select(TeamMember).where(
            TeamMember.team_id == second.id)).all()) == 1
