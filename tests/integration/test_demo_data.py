"""`flask seed-demo` gives a working demo: a login per role that really signs in, the applicant's
status link, and cases in every stage made through the real workflow, so that `flask audit
verify` passes on them and catches a change made behind the application's back."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from sqlalchemy import func, select, text

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_session
from disclosure_app.models import (
    AuditEntry,
    Case,
    CaseStep,
    ForecastFit,
    Notification,
    Team,
    User,
)
from tests.databases import audit_triggers, guard_trigger_names, superuser, without_audit_guards
from workflows.status import Route, Stage, Status

ROLE_LABELS = ("Case officer", "Decision-maker", "Partner agency", "Auditor", "Administrator",
               "Records manager")
HOMES = {"Case officer": "/staff/", "Decision-maker": "/staff/", "Partner agency": "/staff/",
         "Auditor": "/audit/", "Administrator": "/admin/users", "Records manager": "/records/"}
LOGIN_LINE = re.compile(
    r"^\s+(?P<role>" + "|".join(ROLE_LABELS) + r")\s.*?(?P<email>\S+@\S+)\s+(?P<password>\S+)"
    r"\s+(?P<totp>[A-Z2-7]{32})$"
)
STATUS_LINK = re.compile(r"(/status/[A-Za-z0-9_-]{20,})")
TAMPERED_SEQ = 10


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        session = get_session()
        return {
            "users": session.scalar(select(func.count()).select_from(User)),
            "cases": session.scalar(select(func.count()).select_from(Case)),
            "steps": session.scalar(select(func.count()).select_from(CaseStep)),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "chain": audit.chain_length(session),
        }


@pytest.fixture
def seeded(app: Flask) -> str:
    """The output of `flask seed-demo` on a freshly migrated, empty database."""
    assert counts(app)["users"] == 0
    result = run(app, "seed-demo")
    assert result.exit_code == 0, result.output
    return result.output


def logins(output: str) -> list[dict[str, str]]:
    return [m.groupdict() for line in output.splitlines() if (m := LOGIN_LINE.match(line))]


def test_seed_demo_prints_a_login_for_every_role_and_the_status_link(seeded):
    printed = logins(seeded)
    assert {login["role"] for login in printed} == set(ROLE_LABELS)
    assert all(len(login["password"]) >= 12 for login in printed)
    assert len({login["password"] for login in printed}) == len(printed)
    assert len(STATUS_LINK.findall(seeded)) == 1


def test_every_printed_password_signs_in_to_that_roles_home(app, seeded):
    printed = logins(seeded)
    assert printed
    for login in printed:
        client = app.test_client()
        response = client.post("/staff/sign-in", data={"email": login["email"],
                                                       "password": login["password"]})
        assert response.status_code == 302, login["email"]
        assert urlsplit(response.headers["Location"]).path == "/staff/two-factor"
        # The printed secret is the demo account's authenticator: its current code signs in.
        code = pyotp.TOTP(login["totp"]).now()
        response = client.post("/staff/two-factor", data={"code": code})
        assert response.status_code == 302, login["email"]
        assert urlsplit(response.headers["Location"]).path == HOMES[login["role"]]
        assert client.get(HOMES[login["role"]]).status_code == 200, login["email"]
    wrong = app.test_client().post("/staff/sign-in", data={
        "email": printed[0]["email"], "password": printed[1]["password"]})
    assert wrong.status_code == 400


def test_the_printed_status_link_shows_the_applicant_their_application(app, seeded):
    link = STATUS_LINK.search(seeded)
    assert link is not None
    page = app.test_client().get(link.group(1))
    assert page.status_code == 200
    with app.app_context():
        newest = get_session().scalars(select(Case).order_by(Case.received_at.desc())).first()
        assert newest.status is Status.received
        assert newest.reference in page.get_data(as_text=True)


def test_the_demo_has_cases_in_every_stage_and_every_kind_of_outcome(app, seeded):
    with app.app_context():
        session = get_session()
        cases = session.scalars(select(Case)).all()
        stages = {Stage(case.stage) for case in cases}
        events = {case.id: [step.event for step in case.steps] for case in cases}
        by_id = {case.id: case for case in cases}
        rtk = [case for case in cases if case.route is Route.right_to_know]

    assert stages == {Stage.intake, Stage.risk_check, Stage.decision, Stage.disclosure,
                      Stage.closed}
    completed = [cid for cid, evs in events.items() if "record_disclosure_delivered" in evs
                 and by_id[cid].status is Status.closed]
    assert completed, "a disclosure delivered and then closed"
    assert events[completed[0]][-2:] == ["record_disclosure_delivered", "close_case"]
    assert any("decide_no_disclosure" in evs for evs in events.values())
    assert rtk and all(by_id[case.id].status is not Status.draft for case in rtk)
    assert any(case.status is Status.received for case in by_id.values())  # a new application


def test_a_second_seed_demo_refuses_politely_and_creates_nothing(app, seeded):
    before = counts(app)
    again = run(app, "seed-demo")
    assert again.exit_code == 0
    assert "already present" in again.output
    assert logins(again.output) == []
    assert "Traceback" not in again.output
    assert counts(app) == before


def test_audit_verify_passes_on_the_demo_and_prints_the_count(app, seeded):
    total = counts(app)
    assert total["audit"] == total["chain"] > 0
    result = run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert re.search(rf"\b{total['audit']} entries verified", result.output), result.output


def test_audit_verify_names_the_entry_changed_behind_the_apps_back(app, database, seeded):
    app.extensions["db_engine"].dispose()
    select_payload = text("SELECT payload FROM audit_entries WHERE seq = :seq")
    with without_audit_guards(database) as conn:
        original = conn.execute(select_payload, {"seq": TAMPERED_SEQ}).scalar_one()
        changed = conn.execute(
            text("UPDATE audit_entries SET payload = replace(payload, ':', ': ') "
                 "WHERE seq = :seq"),
            {"seq": TAMPERED_SEQ},
        )
        assert changed.rowcount == 1
    with superuser(database) as conn:
        tampered = conn.execute(select_payload, {"seq": TAMPERED_SEQ}).scalar_one()
    assert tampered != original
    # The guards are back exactly as the migration left them, and nothing else was added.
    assert audit_triggers(database) == dict.fromkeys(guard_trigger_names(), "always")

    result = run(app, "audit", "verify")
    assert result.exit_code != 0
    assert re.search(rf"\bentry {TAMPERED_SEQ}\b", result.output), result.output
    assert "BROKEN" in result.output


def test_the_demo_runs_a_unit_day_to_day(app, seeded):
    """Issue 13: a case near breach (escalated), a breached case closed with its reason, an
    extension, an unallocated case, and enough closed history for the forecast."""
    with app.app_context():
        session = get_session()
        cases = session.scalars(select(Case)).all()
        events = {case.id: [step.event for step in case.steps] for case in cases}
        near = [case for case in cases
                if any(clock.state == "near_breach" for clock in case.clocks)]
        fit = session.scalars(select(ForecastFit).order_by(ForecastFit.id.desc())).first()
        told = session.scalars(select(Notification.kind)).all()
        late = [case for case in cases if case.overall_breach_reason]

    assert near, "a case near breach"
    assert "clock_near_breach" in told  # and it has been escalated
    assert late and late[0].status is Status.closed
    assert late[0].closed_at > late[0].decision_due_at
    assert any({"request_extension", "extend_deadline"} <= set(evs) for evs in events.values())
    assert any(case.assigned_officer_id is None and case.is_open for case in cases)
    assert fit is not None and fit.sample_size >= 100
    with app.app_context():
        session = get_session()
        teams = {team.name: team.id for team in session.scalars(select(Team))}
        team_of = {case.id: case.team_id for case in session.scalars(select(Case))}
    assert set(teams) == {"North unit", "South unit"}
    assert set(team_of.values()) == set(teams.values())  # both teams hold cases


def test_the_demo_gives_the_records_manager_reviews_due_one_of_them_overdue(app, seeded):
    login = next(x for x in logins(seeded) if x["role"] == "Records manager")
    client = app.test_client()
    client.post("/staff/sign-in", data={"email": login["email"], "password": login["password"]})
    client.post("/staff/two-factor", data={"code": pyotp.TOTP(login["totp"]).now()})
    page = client.get("/records/").get_data(as_text=True)
    assert 'data-testid="overdue-count">1<' in page
    assert 'data-testid="due-soon-count">1<' in page
