"""Teams and allocation (issue 13), through the pages: claiming a case, assigning and
reassigning it, moving everything an officer holds, cover for an absent officer, the queue's
views and the supervisors' workload page. Every change leaves an allocation record, an audit
entry (ids and codes, never names or the reason's words) and, when someone else handed the
case over, a notification to the new holder; every refusal stores nothing at all."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.cases import queue
from disclosure_app.cases.queue import QueueFilter, QueueView
from disclosure_app.cases.routing import route_case
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session, transaction
from disclosure_app.models import (
    AuditEntry,
    Case,
    CaseAllocation,
    Notification,
    OfficerCover,
    User,
)
from disclosure_app.security import accounts
from disclosure_app.teams import cover
from tests.conftest import make_app, sign_in
from tests.factories import make_case, make_team, make_user
from workflows.allocation import AllocationPolicy
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py


@dataclass
class Unit:
    """Two teams. North (NS1, the default): Olive (the suite's case officer), Ben and Sergeant
    Sam. South (SS1): Sue. Signed-in clients for Ben, Sam and Sue too."""

    app: Flask
    north: int
    south: int
    olive: User
    ben: User
    sam: User
    sue: User
    clients: dict[str, FlaskClient]


@pytest.fixture
def unit(app, staff, clients) -> Unit:
    with app.app_context():
        session = get_session()
        ben = make_user(session, Role.case_officer, name="Ben Second")
        sam = make_user(session, Role.case_officer, name="Sam Sergeant", rank=Rank.sergeant)
        sue = make_user(session, Role.case_officer, name="Sue South")
        north = make_team(session, code="NORTH", districts="NS1",
                          members=[staff["case_officer"], ben, sam])
        south = make_team(session, code="SOUTH", districts="SS1", members=[sue])
        north_id, south_id = north.id, south.id
        session.expunge_all()
    more = {name: sign_in(app, user.email) for name, user in
            (("ben", ben), ("sam", sam), ("sue", sue))}
    return Unit(app, north_id, south_id, staff["case_officer"], ben, sam, sue,
                {**clients, **more})


def new_case(app, staff, *, postcode: str | None = "NS1 4AB", status=Status.received,
             officer: User | None = None) -> Case:
    """A case routed to its team by ``postcode``; at "received" nobody holds it yet."""
    case, _ = make_case(app, status, officer=officer or staff["case_officer"],
                        decider=staff["decision_maker"])
    with app.app_context():
        session = get_session()
        with transaction(session):
            route_case(session, session.get(Case, case.id), postcode)
        found = session.get(Case, case.id)
        session.expunge_all()
        return found


def case_now(app, case_id: int) -> Case:
    with app.app_context():
        session = get_session()
        found = session.get(Case, case_id)
        session.expunge_all()
        return found


def counts(app) -> dict[str, Any]:
    """Everything an allocation change writes."""
    with app.app_context():
        session = get_session()

        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model))

        return {
            "allocations": count(CaseAllocation),
            "notifications": count(Notification),
            "covers": count(OfficerCover),
            "audit": audit.chain_length(session),
            "holders": dict(session.execute(select(Case.id, Case.assigned_officer_id)).all()),
            "versions": dict(session.execute(select(Case.id, Case.version)).all()),
        }


def allocations(app, case_id: int) -> list[CaseAllocation]:
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(CaseAllocation).where(
            CaseAllocation.case_id == case_id).order_by(CaseAllocation.id)))
        session.expunge_all()
        return rows


def entry(app, seq: int) -> dict[str, Any]:
    with app.app_context():
        found = get_session().scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        return {"action": found.action, "category": found.category, "case_id": found.case_id,
                "actor_id": found.actor_id, "payload": json.loads(found.payload)}


def notifications_for(app, user_id: int) -> list[Notification]:
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(Notification).where(Notification.user_id == user_id)
                                    .order_by(Notification.id)))
        session.expunge_all()
        return rows


def case_ids(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-case-id="(\d+)"', response.get_data(as_text=True))]


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def assign(client: FlaskClient, case_id: int, to: int | str, reason: str = "") -> Any:
    return client.post(f"/teams/cases/{case_id}/assign",
                       data={"assign-to_user_id": str(to), "assign-reason": reason})


# --- Claiming --------------------------------------------------------------------------------


def test_a_team_member_claims_an_unallocated_case_of_their_team(unit, staff):
    case = new_case(unit.app, staff)
    response = unit.clients["ben"].post(f"/teams/cases/{case.id}/claim")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/cases/{case.id}")

    assert case_now(unit.app, case.id).assigned_officer_id == unit.ben.id
    [row] = allocations(unit.app, case.id)
    assert (row.action, row.from_user_id, row.to_user_id, row.by_user_id) == (
        "claim", None, unit.ben.id, unit.ben.id)
    assert (row.from_team_id, row.to_team_id) == (unit.north, unit.north)
    logged = entry(unit.app, row.audit_seq)
    assert (logged["action"], logged["category"], logged["case_id"], logged["actor_id"]) == (
        "case_claimed", "alteration", case.id, unit.ben.id)
    assert logged["payload"]["details"] == {
        "reference": case.reference, "from_user_id": None, "to_user_id": unit.ben.id,
        "team_id": unit.north, "reason_sha256": None}
    # Nobody is told about a case they took themselves.
    assert notifications_for(unit.app, unit.ben.id) == []


def test_claiming_moves_the_case_version_on_so_an_open_step_form_is_stale(unit, staff):
    case = new_case(unit.app, staff)
    unit.clients["ben"].post(f"/teams/cases/{case.id}/claim")
    changed = case_now(unit.app, case.id)
    assert changed.version == case.version + 1
    assert changed.updated_by_id == unit.ben.id


def test_an_officer_outside_the_team_cannot_claim_and_nothing_is_stored(unit, staff):
    case = new_case(unit.app, staff)
    before = counts(unit.app)
    response = unit.clients["sue"].post(f"/teams/cases/{case.id}/claim")
    assert response.status_code == 403
    assert "team you belong to" in text(response)
    assert counts(unit.app) == before


def test_a_case_someone_holds_cannot_be_claimed(unit, staff):
    case = new_case(unit.app, staff)
    unit.clients["ben"].post(f"/teams/cases/{case.id}/claim")
    before = counts(unit.app)
    response = unit.clients["sam"].post(f"/teams/cases/{case.id}/claim")
    assert response.status_code == 409
    assert "Another officer already holds this case" in text(response)
    assert counts(unit.app) == before


@pytest.mark.parametrize(("url", "data"), [
    ("/teams/cases/{case}/claim", {}),
    ("/teams/cases/{case}/assign", {"assign-to_user_id": "{ben}", "assign-reason": "Why"}),
    ("/teams/workload/move", {"move-from_user_id": "{olive}", "move-to_user_id": "{ben}",
                              "move-reason": "Leave"}),
])
def test_a_form_without_its_csrf_token_changes_nothing(unit, staff, url, data):
    case = new_case(unit.app, staff, status=Status.initial_checks)
    ids = {"case": case.id, "ben": unit.ben.id, "olive": unit.olive.id}
    client = unit.clients["sam"]
    client.send_csrf = False
    before = counts(unit.app)
    response = client.post(url.format(**ids), data={k: v.format(**ids) for k, v in data.items()})
    assert response.status_code == 400
    assert counts(unit.app) == before


@pytest.mark.parametrize("who", ["decision_maker", "auditor", "partner", "admin"])
def test_only_case_officers_may_claim(unit, staff, who):
    case = new_case(unit.app, staff)
    before = counts(unit.app)
    assert unit.clients[who].post(f"/teams/cases/{case.id}/claim").status_code == 403
    assert counts(unit.app) == before


def test_the_case_page_offers_claim_only_to_those_who_may_claim(unit, staff):
    case = new_case(unit.app, staff)
    page = text(unit.clients["ben"].get(f"/staff/cases/{case.id}"))
    assert 'data-testid="claim-form"' in page
    assert "Claim this case" in page
    for who in ("sue", "decision_maker"):
        assert "Claim this case" not in text(unit.clients[who].get(f"/staff/cases/{case.id}"))


# --- Assigning and reassigning ---------------------------------------------------------------


def test_a_supervisor_assigns_an_unallocated_case_and_the_officer_is_told(unit, staff):
    case = new_case(unit.app, staff)
    response = assign(unit.clients["sam"], case.id, unit.ben.id)
    assert response.status_code == 303
    assert case_now(unit.app, case.id).assigned_officer_id == unit.ben.id
    [row] = allocations(unit.app, case.id)
    assert (row.action, row.by_user_id, row.reason) == ("assign", unit.sam.id, "")
    assert entry(unit.app, row.audit_seq)["action"] == "case_assigned"
    [note] = notifications_for(unit.app, unit.ben.id)
    assert (note.kind, note.case_id, note.message) == (
        "case_assigned", case.id, f"Case {case.reference} is now yours.")
    assert note.dedupe_key.endswith(f":{row.audit_seq}:{unit.ben.id}")


def test_a_supervisor_reassigns_with_a_reason_kept_out_of_the_log(unit, staff):
    case = new_case(unit.app, staff)
    assign(unit.clients["sam"], case.id, unit.ben.id)
    reason = "Ben is on a course for Olive Officer's fortnight"
    response = assign(unit.clients["decision_maker"], case.id, unit.olive.id, reason)
    assert response.status_code == 303
    assert case_now(unit.app, case.id).assigned_officer_id == unit.olive.id

    first, second = allocations(unit.app, case.id)
    assert (second.action, second.from_user_id, second.to_user_id, second.reason) == (
        "reassign", unit.ben.id, unit.olive.id, reason)
    logged = entry(unit.app, second.audit_seq)
    assert logged["action"] == "case_reassigned"
    details = logged["payload"]["details"]
    assert details["from_user_id"] == unit.ben.id and details["to_user_id"] == unit.olive.id
    assert len(details["reason_sha256"]) == 64
    raw = json.dumps(logged["payload"])
    for words in ("course", "Olive", "Ben Second"):
        assert words not in raw
    assert [n.case_id for n in notifications_for(unit.app, unit.olive.id)] == [case.id]


def test_the_case_page_shows_the_holder_team_and_allocation_history(unit, staff):
    case = new_case(unit.app, staff)
    assign(unit.clients["sam"], case.id, unit.ben.id)
    assign(unit.clients["sam"], case.id, unit.olive.id, "Ben moves to the south")
    page = text(unit.clients["decision_maker"].get(f"/staff/cases/{case.id}"))
    history = page.split('data-testid="allocation-history"')[1].split("</table>")[0]
    assert "Assigned" in history and "Reassigned" in history
    assert "Ben moves to the south" in history
    assert unit.sam.display_name in history
    assert re.search(r'data-testid="case-team">\s*Team \d+', page)
    assert unit.olive.display_name in page.split('data-testid="case-holder"')[1][:200]
    # A supervisor gets the reassign form; a constable does not.
    assert 'data-testid="assign-form"' in page
    assert 'data-testid="assign-form"' not in text(
        unit.clients["ben"].get(f"/staff/cases/{case.id}"))


def test_an_invited_partner_sees_no_allocation_section(unit, staff):
    case = new_case(unit.app, staff, status=Status.full_risk_assessment)
    with unit.app.app_context():
        session = get_session()
        take_step(session, StepRequest(
            case.id, "invite_partner", session.get(Case, case.id).version,
            {"partner_user_id": str(staff["partner"].id),
             "information_requested": "Supervision status."}, "Probation manage the subject."),
            user=staff["case_officer"], policy=unit.app.extensions["case_policy"],
            now=datetime.now(UTC))
    page = text(unit.clients["partner"].get(f"/staff/cases/{case.id}"))
    assert 'data-testid="allocation"' not in page
    assert "Allocation history" not in page


def test_reassigning_needs_a_reason_and_nothing_is_stored_without_one(unit, staff):
    case = new_case(unit.app, staff)
    assign(unit.clients["sam"], case.id, unit.ben.id)
    before = counts(unit.app)
    response = assign(unit.clients["sam"], case.id, unit.olive.id, "   ")
    assert response.status_code == 400
    assert "Enter the reason" in text(response)
    assert "govuk-error-summary" in text(response)
    assert counts(unit.app) == before


@pytest.mark.parametrize(("who", "message"), [
    ("partner", "A partner agency member cannot hold a case"),
    ("auditor", "An auditor cannot hold a case"),
    ("admin", "An administrator cannot hold a case"),
    ("decision_maker", "A decision-maker cannot hold a case"),
    ("inactive", "That account is deactivated"),
    ("unknown", "Select a case officer from the list"),
    ("nonsense", "Select a case officer from the list"),
])
def test_a_case_can_only_go_to_an_active_case_officer(unit, staff, who, message):
    case = new_case(unit.app, staff)
    assign(unit.clients["sam"], case.id, unit.ben.id)
    if who == "inactive":
        with unit.app.app_context():
            session = get_session()
            gone = make_user(session, Role.case_officer, name="Gone Away")
            accounts.set_active(session, gone.id, False, by=session.get(User, staff["admin"].id),
                                now=datetime.now(UTC))
            target: Any = gone.id
    else:
        target = {"unknown": 999_999, "nonsense": "abc"}.get(who) or staff[who].id
    before = counts(unit.app)
    response = assign(unit.clients["sam"], case.id, target, "Workload")
    assert response.status_code == 400
    assert message in text(response)
    assert counts(unit.app) == before


def test_reassigning_to_the_current_holder_is_refused(unit, staff):
    case = new_case(unit.app, staff)
    assign(unit.clients["sam"], case.id, unit.ben.id)
    before = counts(unit.app)
    response = assign(unit.clients["sam"], case.id, unit.ben.id, "Again")
    assert response.status_code == 400
    assert "already holds this case" in text(response)
    assert counts(unit.app) == before


def test_a_closed_case_cannot_be_reassigned(unit, staff):
    case = new_case(unit.app, staff, status=Status.closed)
    before = counts(unit.app)
    response = assign(unit.clients["sam"], case.id, unit.ben.id, "Tidying up")
    assert response.status_code == 409
    assert "This case is closed, so it cannot be assigned or reassigned." in text(response)
    assert counts(unit.app) == before
    # Nor is the form offered.
    assert unit.clients["sam"].get(f"/teams/cases/{case.id}/assign").status_code == 409
    assert 'data-testid="assign-form"' not in text(
        unit.clients["sam"].get(f"/staff/cases/{case.id}"))


@pytest.mark.parametrize("who", ["case_officer", "ben"])
def test_a_constable_cannot_assign(unit, staff, who):
    case = new_case(unit.app, staff)
    before = counts(unit.app)
    response = assign(unit.clients[who], case.id, unit.ben.id, "Please")
    assert response.status_code == 403
    assert "at least Sergeant rank" in text(response)
    assert counts(unit.app) == before


def test_the_supervisor_rank_comes_from_configuration(database):
    configured = make_app(database, SUPERVISOR_MIN_RANK="inspector")
    try:
        assert configured.extensions["allocation_policy"] == AllocationPolicy(
            supervisor_min_rank=Rank.inspector)
    finally:
        configured.extensions["db_engine"].dispose()


def test_with_inspector_as_the_minimum_a_sergeant_no_longer_assigns(unit, staff):
    unit.app.extensions["allocation_policy"] = AllocationPolicy(
        supervisor_min_rank=Rank.inspector)
    case = new_case(unit.app, staff)
    assert assign(unit.clients["sam"], case.id, unit.ben.id).status_code == 403
    assert assign(unit.clients["decision_maker"], case.id, unit.ben.id).status_code == 303


def test_the_assign_page_shows_the_form_to_a_supervisor(unit, staff):
    case = new_case(unit.app, staff)
    response = unit.clients["sam"].get(f"/teams/cases/{case.id}/assign")
    page = text(response)
    assert response.status_code == 200
    assert "Assign this case" in page
    options = re.findall(r'<option value="(\d+)"', page)
    assert str(unit.ben.id) in options and str(staff["decision_maker"].id) not in options


# --- Moving everything one officer holds -----------------------------------------------------


def test_bulk_reassignment_moves_every_open_case_and_only_open_ones(unit, staff):
    held = [new_case(unit.app, staff, status=s, officer=unit.ben)
            for s in (Status.initial_checks, Status.full_risk_assessment)]
    closed = new_case(unit.app, staff, status=Status.closed, officer=unit.ben)
    others = new_case(unit.app, staff, status=Status.initial_checks)  # Olive's
    before = counts(unit.app)

    response = unit.clients["sam"].post("/teams/workload/move", data={
        "move-from_user_id": str(unit.ben.id), "move-to_user_id": str(unit.sue.id),
        "move-reason": "Long-term sick leave"})

    assert response.status_code == 303
    after = counts(unit.app)
    for case in held:
        assert after["holders"][case.id] == unit.sue.id
        [row] = [r for r in allocations(unit.app, case.id) if r.action == "bulk_reassign"]
        assert (row.from_user_id, row.to_user_id, row.by_user_id) == (
            unit.ben.id, unit.sue.id, unit.sam.id)
        assert entry(unit.app, row.audit_seq)["action"] == "case_bulk_reassigned"
    assert after["holders"][closed.id] == unit.ben.id
    assert after["holders"][others.id] == unit.olive.id
    assert after["allocations"] - before["allocations"] == 2
    assert after["audit"] - before["audit"] == 2
    assert sorted(n.case_id for n in notifications_for(unit.app, unit.sue.id)) == sorted(
        c.id for c in held)


@pytest.mark.parametrize(("data", "message"), [
    ({"move-to_user_id": "SUE", "move-reason": "Leave"},
     "Select the officer whose cases are to move"),
    ({"move-from_user_id": "BEN", "move-to_user_id": "SUE", "move-reason": ""},
     "Enter the reason"),
    ({"move-from_user_id": "BEN", "move-to_user_id": "BEN", "move-reason": "Leave"},
     "Select a different officer to take the cases"),
    ({"move-from_user_id": "BEN", "move-to_user_id": "PARTNER", "move-reason": "Leave"},
     "A partner agency member cannot hold a case"),
    ({"move-from_user_id": "SUE", "move-to_user_id": "BEN", "move-reason": "Leave"},
     "That officer holds no open cases"),
])
def test_a_bad_bulk_reassignment_is_refused_and_moves_nothing(unit, staff, data, message):
    new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    ids = {"BEN": unit.ben.id, "SUE": unit.sue.id, "PARTNER": staff["partner"].id}
    before = counts(unit.app)
    response = unit.clients["sam"].post("/teams/workload/move", data={
        k: str(ids.get(v, v)) for k, v in data.items()})
    assert response.status_code == 400
    assert message in text(response)
    assert counts(unit.app) == before


def test_only_a_supervisor_moves_an_officers_cases(unit, staff):
    new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    before = counts(unit.app)
    response = unit.clients["case_officer"].post("/teams/workload/move", data={
        "move-from_user_id": str(unit.ben.id), "move-to_user_id": str(unit.sue.id),
        "move-reason": "Leave"})
    assert response.status_code == 403
    assert counts(unit.app) == before


# --- Cover -----------------------------------------------------------------------------------


def arrange(client: FlaskClient, absent: int, by: int, starts: date, ends: date,
            reason: str = "Annual leave") -> Any:
    return client.post("/teams/covers", data={
        "cover-absent_user_id": str(absent), "cover-cover_user_id": str(by),
        "cover-starts_on": [str(starts.day), str(starts.month), str(starts.year)],
        "cover-ends_on": [str(ends.day), str(ends.month), str(ends.year)],
        "cover-reason": reason})


def mine(app, user: User, when: datetime) -> list[int]:
    """The ids on the first page of ``user``'s "my cases" at ``when``."""
    with app.app_context():
        session = get_session()
        page = queue.queue_page(session, session.get(User, user.id),
                                QueueFilter(view=QueueView.mine), after=None, page_size=50,
                                now=when)
        return [c.id for c in page.cases]


def test_cover_shows_the_absent_officers_open_cases_under_my_cases(unit, staff):
    absent_open = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    new_case(unit.app, staff, status=Status.closed, officer=unit.ben)
    own = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.sue)
    sue = unit.clients["sue"]
    assert case_ids(sue.get("/staff/?view=mine")) == [own.id]

    today = datetime.now(UTC).date()
    response = arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today,
                       today + timedelta(days=7))
    assert response.status_code == 303

    page = sue.get("/staff/?view=mine")
    assert sorted(case_ids(page)) == sorted([own.id, absent_open.id])
    assert re.search(r'data-count="mine">2<', page.get_data(as_text=True))
    # The absent officer still holds the case: cover changes what a queue shows, nothing else.
    assert case_now(unit.app, absent_open.id).assigned_officer_id == unit.ben.id


def test_cover_is_in_force_only_between_its_first_and_last_days(unit, staff):
    absent_open = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    start = datetime.now(UTC) + timedelta(days=3)
    first, last = start.date(), start.date() + timedelta(days=2)
    assert arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, first, last).status_code == 303

    # Noon UTC is the same calendar day in London, summer or winter.
    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

    assert mine(unit.app, unit.sue, at(first - timedelta(days=1))) == []
    assert mine(unit.app, unit.sue, at(first)) == [absent_open.id]
    assert mine(unit.app, unit.sue, at(last)) == [absent_open.id]
    assert mine(unit.app, unit.sue, at(last + timedelta(days=1))) == []


def test_ending_cover_early_takes_the_cases_out_of_my_cases(unit, staff):
    absent_open = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    today = datetime.now(UTC).date()
    arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today, today + timedelta(days=7))
    assert absent_open.id in case_ids(unit.clients["sue"].get("/staff/?view=mine"))
    with unit.app.app_context():
        cover_id = get_session().scalar(select(OfficerCover.id))

    response = unit.clients["sam"].post(f"/teams/covers/{cover_id}/end")

    assert response.status_code == 303
    assert case_ids(unit.clients["sue"].get("/staff/?view=mine")) == []
    with unit.app.app_context():
        logged = get_session().scalars(select(AuditEntry).where(
            AuditEntry.action == "cover_ended_early")).one()
        assert json.loads(logged.payload)["details"] == {
            "cover_id": cover_id, "absent_user_id": unit.ben.id, "cover_user_id": unit.sue.id}
    # Ended is ended.
    assert unit.clients["sam"].post(f"/teams/covers/{cover_id}/end").status_code == 409


def test_arranging_cover_is_logged_with_ids_and_dates(unit, staff):
    today = datetime.now(UTC).date()
    arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today, today + timedelta(days=2),
            "Ben's operation")
    with unit.app.app_context():
        logged = get_session().scalars(select(AuditEntry).where(
            AuditEntry.action == "cover_arranged")).one()
        details = json.loads(logged.payload)["details"]
    assert details["absent_user_id"] == unit.ben.id
    assert details["cover_user_id"] == unit.sue.id
    assert details["starts_on"] == today.isoformat()
    assert "operation" not in logged.payload


# (first day, last day) as days from today, who covers, the reason; and what is said.
@pytest.mark.parametrize(("days", "by", "reason", "message"), [
    ((3, 2), "SUE", "Leave", "The last day of cover must be the same as or after the first day"),
    ((-5, -1), "SUE", "Leave", "The last day of cover must be today or later"),
    ((0, 2), "SUE", "", "Enter the reason"),
    ((0, 2), "BEN", "Leave", "An officer cannot cover for themselves"),
    ((0, 2), "DECIDER", "Leave", "A decision-maker cannot hold a case"),
])
def test_bad_cover_is_refused_and_nothing_is_stored(unit, staff, days, by, reason, message):
    today = datetime.now(UTC).date()
    starts, ends = (today + timedelta(days=n) for n in days)
    cover_by = {"SUE": unit.sue.id, "BEN": unit.ben.id, "DECIDER": staff["decision_maker"].id}
    before = counts(unit.app)
    response = arrange(unit.clients["sam"], unit.ben.id, cover_by[by], starts, ends, reason)
    assert response.status_code == 400
    assert message in text(response)
    assert counts(unit.app) == before


def test_the_same_cover_sent_twice_is_stored_once(unit, staff):
    today = datetime.now(UTC).date()
    first = arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today, today)
    again = arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today, today)
    assert (first.status_code, again.status_code) == (303, 400)
    assert "already covers this absence" in text(again)
    assert counts(unit.app)["covers"] == 1


def test_only_a_supervisor_arranges_cover(unit, staff):
    today = datetime.now(UTC).date()
    before = counts(unit.app)
    response = arrange(unit.clients["ben"], unit.sue.id, unit.ben.id, today, today)
    assert response.status_code == 403
    assert counts(unit.app) == before


def test_the_workload_page_lists_current_and_future_cover_only(unit, staff):
    today = datetime.now(UTC).date()
    arrange(unit.clients["sam"], unit.ben.id, unit.sue.id, today, today + timedelta(days=1))
    with unit.app.app_context():
        session = get_session()
        session.add(OfficerCover(absent_user_id=unit.sue.id, cover_user_id=unit.ben.id,
                                 starts_on=today - timedelta(days=9),
                                 ends_on=today - timedelta(days=2), reason="Past",
                                 created_by_id=unit.sam.id, created_at=datetime.now(UTC)))
        session.commit()
        current = cover.current_and_future(session, today)
        assert [(c.absent_user_id, c.cover_user_id) for c in current] == [
            (unit.ben.id, unit.sue.id)]
    page = text(unit.clients["sam"].get("/teams/workload"))
    covers = page.split('data-testid="covers"')[1].split("</table>")[0]
    assert covers.count("data-cover-id") == 1
    assert "End early" in covers


# --- The queue's views -----------------------------------------------------------------------


def test_the_queue_views_each_show_their_cases_with_counts(unit, staff):
    mine_case = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    unallocated = new_case(unit.app, staff)  # North, nobody holds it
    team_mates = new_case(unit.app, staff, status=Status.initial_checks)  # Olive's, North
    south = new_case(unit.app, staff, postcode="SS1 2CD")  # South, unallocated
    ben = unit.clients["ben"]

    assert case_ids(ben.get("/staff/?view=mine")) == [mine_case.id]
    assert case_ids(ben.get("/staff/?view=unallocated")) == [unallocated.id]
    assert sorted(case_ids(ben.get("/staff/?view=teams"))) == sorted(
        [mine_case.id, unallocated.id, team_mates.id])
    everything = ben.get("/staff/")
    assert {mine_case.id, unallocated.id, team_mates.id, south.id} <= set(case_ids(everything))
    page = everything.get_data(as_text=True)
    for view, count in (("mine", 1), ("unallocated", 1), ("teams", 3)):
        assert re.search(rf'data-count="{view}">{count}<', page), view
    assert 'data-view="everything" aria-current="page"' in page


def test_the_queue_shows_team_holder_and_clock_columns(unit, staff):
    case = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    page = unit.clients["ben"].get("/staff/?view=mine").get_data(as_text=True)
    row = page.split(f'data-case-id="{case.id}"')[1].split("</tr>")[0]
    assert re.search(r'data-testid="team">Team \d+<', row)
    assert unit.ben.display_name in row
    assert 'data-clock="on_track">On track<' in row


def test_a_decision_maker_has_no_my_cases_view_and_a_partner_no_views_at_all(unit, staff):
    dm_page = unit.clients["decision_maker"].get("/staff/").get_data(as_text=True)
    assert 'data-view="mine"' not in dm_page and 'data-view="teams"' in dm_page
    partner = unit.clients["partner"]
    assert 'data-testid="queue-tabs"' not in partner.get("/staff/").get_data(as_text=True)
    response = partner.get("/staff/?view=teams")
    assert response.status_code == 400
    assert "Choose one of the queues shown" in text(response)


def test_the_queue_can_show_one_team_or_one_officer(unit, staff):
    bens = new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    south = new_case(unit.app, staff, postcode="SS1 2CD")
    sam = unit.clients["sam"]
    assert case_ids(sam.get(f"/staff/?officer={unit.ben.id}")) == [bens.id]
    assert case_ids(sam.get(f"/staff/?team={unit.south}")) == [south.id]
    page = text(sam.get(f"/staff/?team={unit.south}"))
    assert "Cases of the team" in page


@pytest.mark.parametrize(("query", "message"), [
    ("team=999999", "There is no such team"),
    ("officer=999999", "There is no such case officer"),
    ("team=abc", "The team filter must be a team from the workload page"),
    ("view=everyone", "Choose one of the queues shown"),
])
def test_a_bad_queue_address_is_a_400_with_a_clear_message(unit, query, message):
    response = unit.clients["ben"].get(f"/staff/?{query}")
    assert response.status_code == 400
    assert message in text(response)


# --- The workload page -----------------------------------------------------------------------


def test_the_workload_page_counts_open_cases_by_officer_team_stage_and_clock(unit, staff):
    new_case(unit.app, staff, status=Status.initial_checks, officer=unit.ben)
    new_case(unit.app, staff, status=Status.full_risk_assessment, officer=unit.ben)
    new_case(unit.app, staff, status=Status.closed, officer=unit.ben)
    new_case(unit.app, staff)  # North, unallocated
    with unit.app.app_context():  # as `clocks tick` leaves a clock it has escalated
        session = get_session()
        for case in session.scalars(select(Case).where(Case.assigned_officer_id == unit.ben.id,
                                                       Case.stage == "risk_check")):
            for clock in case.clocks:
                if clock.clock == "assessment":
                    clock.state = "near_breach"
        session.commit()

    response = unit.clients["sam"].get("/teams/workload")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    row = page.split(f'data-officer-id="{unit.ben.id}"')[1].split("</tr>")[0]
    assert f'href="/staff/?officer={unit.ben.id}"' in row
    for key, value in (("total", 2), ("intake", 1), ("risk_check", 1), ("decision", 0),
                       ("on_track", 1), ("near_breach", 1), ("breached", 0)):
        assert f'data-count="{key}">{value}<' in row, key
    north = page.split(f'data-team-id="{unit.north}"')[1].split("</tr>")[0]
    assert f'href="/staff/?team={unit.north}"' in north
    assert 'data-count="unallocated">1<' in north
    assert 'data-count="total">3<' in north


@pytest.mark.parametrize(("who", "status"), [
    ("case_officer", 403), ("ben", 403), ("sam", 200), ("decision_maker", 200),
    ("partner", 403), ("auditor", 403), ("admin", 403)])
def test_the_workload_page_is_for_supervisors(unit, who, status):
    assert unit.clients[who].get("/teams/workload").status_code == status


def test_only_supervisors_see_workload_in_the_menu(unit):
    assert 'href="/teams/workload"' in unit.clients["sam"].get("/staff/").get_data(as_text=True)
    assert 'href="/teams/workload"' not in unit.clients["ben"].get("/staff/").get_data(
        as_text=True)


def test_each_view_pages_by_keyset_and_keeps_its_view(unit, staff):
    unit.app.config["QUEUE_PAGE_SIZE"] = 2
    made = {new_case(unit.app, staff).id for _ in range(3)}  # North, unallocated
    new_case(unit.app, staff, postcode="SS1 2CD")  # South: not in Ben's views
    seen: list[int] = []
    url: str | None = "/staff/?view=unallocated"
    while url:
        response = unit.clients["ben"].get(url)
        assert response.status_code == 200
        seen += case_ids(response)
        match = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
        url = unescape(match.group(1)) if match else None
        if url:
            assert "view=unallocated" in url and "after=" in url and "offset" not in url
    assert sorted(seen) == sorted(made)
