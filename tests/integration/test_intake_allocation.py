"""A new case lands in its team, unallocated, with its clocks; the officer who starts its
checks takes it, and that is recorded like a claim."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from disclosure_app.cases import applications
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case, CaseAllocation, CaseClock
from disclosure_app.teams import registry
from tests.factories import application_input

pytestmark = pytest.mark.staff_snapshot


def test_a_new_application_lands_in_its_team_unallocated_and_starting_checks_takes_it(app,
                                                                                       staff):
    with app.app_context():
        session = get_session()
        now = datetime.now(UTC)
        registry.create_team(session, staff["admin"], registry.TeamInput(
            "rest", "Everywhere else", "", is_default=True), now=now)
        north = registry.create_team(session, staff["admin"], registry.TeamInput(
            "north", "North", "NS1", is_default=False), now=now)
        data = application_input()
        assert data.applicant.postcode.startswith("NS1")
        case = applications.submit_application(
            session, data, policy=app.extensions["case_policy"], now=now).case
        assert (case.team_id, case.assigned_officer_id) == (north.id, None)
        clocks = set(session.scalars(select(CaseClock.clock).where(
            CaseClock.case_id == case.id)))
        assert clocks == {"initial_checks", "interview", "assessment", "overall"}

        step = take_step(session, StepRequest(case.id, "start_checks", case.version, {},
                                              "Checks started."),
                         user=staff["case_officer"], policy=app.extensions["case_policy"],
                         now=now)
        stored = session.get(Case, case.id)
        assert stored.assigned_officer_id == staff["case_officer"].id
        claim = session.scalars(select(CaseAllocation).where(
            CaseAllocation.case_id == case.id)).one()
        assert (claim.action, claim.to_user_id, claim.audit_seq) == (
            "claim", staff["case_officer"].id, step.audit_seq)
        assert session.get(AuditEntry, step.audit_seq).action == "start_checks"
