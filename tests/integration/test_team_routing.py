"""Routing a new case to a team (disclosure_app.cases.routing.route_case): the active team whose
postcode districts include the postcode's outward district, else the default team, else none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from disclosure_app.cases.routing import route_case, team_for_postcode
from disclosure_app.db import transaction
from disclosure_app.models import Case
from disclosure_app.teams import registry
from tests.factories import make_case, make_team, make_user
from workflows.roles import Role
from workflows.status import Status


@pytest.fixture
def teams(session):
    admin = make_user(session, Role.admin)
    north = make_team(session, code="NORTH", districts="NS1 NS2", default=True, by=admin)
    east = make_team(session, code="EAST", districts="NX14 EC1A", default=False, by=admin)
    return {"north": north.id, "east": east.id, "admin": admin}


@pytest.mark.parametrize(("postcode", "team"), [
    ("NS1 4AB", "north"), ("ns2 9zz", "north"), ("NX144AB", "east"), (" ec1a  1bb ", "east"),
    ("NS14AB", "north"),
])
def test_a_case_goes_to_the_team_that_has_its_district(session, teams, postcode, team):
    assert team_for_postcode(session, postcode).id == teams[team]


@pytest.mark.parametrize("postcode", ["ZZ9 9ZZ", "", None, "not a postcode", "NS12 3AB"])
def test_a_case_no_district_matches_goes_to_the_default_team(session, teams, postcode):
    # NS12 is not NS1: a district matches whole, never as a prefix.
    assert team_for_postcode(session, postcode).id == teams["north"]


def test_an_inactive_team_receives_no_cases(session, teams):
    registry.update_team(session, teams["admin"], teams["east"], registry.TeamInput(
        "EAST", "Team east", "NX14 EC1A", is_default=False, active=False),
        now=datetime.now(UTC))
    assert team_for_postcode(session, "NX14 2AB").id == teams["north"]


def test_with_no_team_at_all_a_case_has_no_team(session):
    assert team_for_postcode(session, "NS1 4AB") is None


def test_route_case_sets_the_cases_team_and_leaves_it_unallocated(app, session, teams):
    made, _ = make_case(app, Status.received)
    case = session.get(Case, made.id)
    with transaction(session):
        team = route_case(session, case, "NX14 2AB")
    stored = session.get(Case, made.id)
    assert team.id == teams["east"]
    assert stored.team_id == teams["east"]
    assert stored.assigned_officer_id is None


def test_route_case_with_no_teams_leaves_the_case_without_one(app, session):
    made, _ = make_case(app, Status.received)
    case = session.get(Case, made.id)
    with transaction(session):
        assert route_case(session, case, "NS1 4AB") is None
    assert session.get(Case, made.id).team_id is None
