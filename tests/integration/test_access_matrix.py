"""Every endpoint, every method, every role: who gets what.

The expected answers are written out by hand in ``EXPECTED`` below, not read from the code under
test, so a change to an access rule has to be made in two places on purpose. A new endpoint
without a row fails ``test_the_matrix_covers_every_endpoint_and_method``.

The case used is a Right to Ask case at "full risk assessment", with one partner-agency member
invited (``partner_invited``) and another not (``partner``). The applicant is an anonymous
visitor holding the real status link; ``anonymous`` is a stranger without one (for the status
page they try a made-up token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import Case, CaseInvitation, CaseStep, StoredDocument, User
from tests.conftest import make_staff, sign_in, sign_in_staff
from tests.factories import make_case, make_user
from workflows.roles import Role
from workflows.status import Status

ROLES = ("anonymous", "applicant", "case_officer", "decision_maker", "partner",
         "partner_invited", "auditor", "admin", "records_manager")

# Redirects, as (status, path the Location header points to).
LOGIN = (302, "/staff/sign-in")
QUEUE = (302, "/staff/")
AUDIT = (302, "/audit/")
USERS = (302, "/admin/users")
RECORDS = (302, "/records/")
START = (302, "/")

Expected = int | tuple[int, str]


def row(anonymous: Expected, applicant: Expected, case_officer: Expected,
        decision_maker: Expected, partner: Expected, partner_invited: Expected,
        auditor: Expected, admin: Expected, records_manager: Expected) -> dict[str, Expected]:
    return dict(zip(ROLES, (anonymous, applicant, case_officer, decision_maker, partner,
                            partner_invited, auditor, admin, records_manager), strict=True))


def everyone(expected: Expected) -> dict[str, Expected]:
    return dict.fromkeys(ROLES, expected)


# (endpoint, method) -> what each role gets. POSTs send an empty form.
EXPECTED: dict[tuple[str, str], dict[str, Expected]] = {
    # Public pages: the same for everyone, signed in or not.
    ("public.start", "GET"): everyone(200),
    ("public.privacy", "GET"): everyone(200),
    ("public.accessibility", "GET"): everyone(200),
    ("public.apply", "GET"): everyone(200),
    ("public.apply", "POST"): everyone(400),
    ("public.submit", "GET"): everyone(405),
    ("public.submit", "POST"): everyone(400),
    ("public.confirmation", "GET"): everyone(START),  # nothing to confirm in this session
    #                              anon  appl  officer decider partner invited auditor admin records
    ("public.status", "GET"): row(404, 200, 200, 200, 200, 200, 200, 200, 200),
    ("public.withdraw", "GET"): everyone(405),
    ("public.withdraw", "POST"): row(404, 400, 400, 400, 400, 400, 400, 400, 400),
    # Sign-in and sign-out.
    ("auth.login", "GET"): row(200, 200, QUEUE, QUEUE, QUEUE, QUEUE, AUDIT, USERS, RECORDS),
    ("auth.login", "POST"): row(400, 400, QUEUE, QUEUE, QUEUE, QUEUE, AUDIT, USERS, RECORDS),
    ("auth.logout", "GET"): everyone(405),
    ("auth.logout", "POST"): row(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    # The later steps of signing in: without a sign-in in progress, back to the password.
    ("auth.two_factor", "GET"): everyone(LOGIN),
    ("auth.two_factor", "POST"): everyone(LOGIN),
    ("auth.set_up_two_factor", "GET"): everyone(LOGIN),
    ("auth.set_up_two_factor", "POST"): everyone(LOGIN),
    ("auth.two_factor_qr", "GET"): everyone(LOGIN),
    ("auth.new_password", "GET"): everyone(LOGIN),
    ("auth.new_password", "POST"): everyone(LOGIN),
    # Step-up and a staff member's own password: any signed-in staff member.
    ("auth.confirm_identity", "GET"): row(LOGIN, LOGIN, 200, 200, 200, 200, 200, 200, 200),
    ("auth.confirm_identity", "POST"): row(LOGIN, LOGIN, 400, 400, 400, 400, 400, 400, 400),
    ("auth.change_password", "GET"): row(LOGIN, LOGIN, 200, 200, 200, 200, 200, 200, 200),
    ("auth.change_password", "POST"): row(LOGIN, LOGIN, 400, 400, 400, 400, 400, 400, 400),
    # Staff case work.
    ("staff.queue", "GET"): row(LOGIN, LOGIN, 200, 200, 200, 200, 403, 403, 403),
    ("staff.case", "GET"): row(LOGIN, LOGIN, 200, 200, 404, 200, 200, 403, 403),
    ("staff.step", "GET"): row(LOGIN, LOGIN, 200, 200, 404, 200, 403, 403, 403),
    ("staff.step", "POST"): row(LOGIN, LOGIN, 400, 400, 404, 400, 403, 403, 403),
    ("staff.new_right_to_know", "GET"): row(LOGIN, LOGIN, 200, 403, 403, 403, 403, 403, 403),
    ("staff.new_right_to_know", "POST"): row(LOGIN, LOGIN, 400, 403, 403, 403, 403, 403, 403),
    # The risk check (issue 5): register data is police-only; auditors read the risk check view.
    ("risk.identity", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 403, 403, 403),
    ("risk.propose_identity", "GET"): everyone(405),
    ("risk.propose_identity", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    ("risk.review_identity", "GET"): everyone(405),
    ("risk.review_identity", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    ("risk.no_trace", "GET"): everyone(405),
    ("risk.no_trace", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    ("risk.check", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 403, 403, 403),
    ("risk.check", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    ("risk.risk_check_view", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 200, 403, 403),
    ("risk.link_case", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 403, 403, 403),
    ("risk.link_case", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    # The auditor's console.
    ("audit.index", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.case_trail", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.export_csv", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.integrity", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.consultations", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    # A search by name is POSTed (no name in a URL); an empty one is 400.
    ("audit.consultations", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 400, 403, 403),
    ("audit.staff_activity", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.disclosures", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.alerts", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.security_events", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    ("audit.report_export", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    # The reason asked before a case's sensitive sections: anyone who may read the case (an
    # uninvited partner gets the same 404 as for a missing case); an empty form is 400.
    ("sensitive.give_reason", "GET"): row(LOGIN, LOGIN, 200, 200, 404, 200, 200, 403, 403),
    ("sensitive.give_reason", "POST"): row(LOGIN, LOGIN, 400, 400, 404, 400, 400, 403, 403),
    # Documents: police and auditors only, never partners (even invited) or administrators.
    ("documents.case_record", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 200, 403, 403),
    # The undertaking and the applicant's letters: police only, and only at the right point in
    # the case (this one is at "full risk assessment", so it is too early for any of them).
    ("documents.undertaking", "GET"): row(LOGIN, LOGIN, 409, 409, 403, 403, 403, 403, 403),
    ("documents.non_disclosure_letter", "GET"): row(LOGIN, LOGIN, 409, 409, 403, 403, 403, 403,
                                                    403),
    ("documents.closure_letter", "GET"): row(LOGIN, LOGIN, 409, 409, 403, 403, 403, 403, 403),
    # The signed undertaking is recorded by the case officer (an empty form: 400, nothing kept).
    ("documents.signed_undertaking", "GET"): row(LOGIN, LOGIN, 409, 403, 403, 403, 403, 403, 403),
    ("documents.signed_undertaking", "POST"): row(LOGIN, LOGIN, 400, 403, 403, 403, 403, 403, 403),
    # Kept documents (this case has none: police and auditors get the 404 of a missing one).
    ("documents.stored_document", "GET"): row(LOGIN, LOGIN, 404, 404, 403, 403, 404, 403, 403),
    # The case bundle is for auditors reviewing a case.
    ("documents.case_bundle_zip", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 200, 403, 403),
    # Dip sampling: decision-makers draw and review, auditors read. This case is open, so nothing
    # has been drawn: the review page answers the 404 of a missing sample to those who may see it.
    ("dip_sampling.index", "GET"): row(LOGIN, LOGIN, 403, 200, 403, 403, 200, 403, 403),
    ("dip_sampling.draw", "GET"): everyone(405),
    ("dip_sampling.draw", "POST"): row(LOGIN, LOGIN, 403, 400, 403, 403, 403, 403, 403),
    ("dip_sampling.review", "GET"): row(LOGIN, LOGIN, 403, 404, 403, 403, 404, 403, 403),
    ("dip_sampling.record_review", "GET"): everyone(405),
    ("dip_sampling.record_review", "POST"): row(LOGIN, LOGIN, 403, 404, 403, 403, 403, 403, 403),
    # Account administration.
    ("admin.users", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 200, 403),
    ("admin.new_user", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 200, 403),
    ("admin.new_user", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 400, 403),
    ("admin.set_active", "GET"): everyone(405),
    ("admin.set_active", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 400, 403),
    # Authenticator resets: one administrator asks (an empty form: no reason, 400), another
    # approves (no such request here: 404).
    ("admin.request_mfa_reset", "GET"): everyone(405),
    ("admin.request_mfa_reset", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 400, 403),
    ("admin.approve_mfa_reset", "GET"): everyone(405),
    ("admin.approve_mfa_reset", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    # Notifications: each person's own, for those who are ever notified (auditors and
    # administrators act on no case). Marking one that does not exist is the 404 of a missing
    # one; "mark all as read" without the newest id the page showed is refused (400).
    ("notifications.index", "GET"): row(LOGIN, LOGIN, 200, 200, 200, 200, 403, 403, 403),
    ("notifications.mark_read", "GET"): everyone(405),
    ("notifications.mark_read", "POST"): row(LOGIN, LOGIN, 404, 404, 404, 404, 403, 403, 403),
    ("notifications.mark_all_read", "GET"): everyone(405),
    ("notifications.mark_all_read", "POST"): row(LOGIN, LOGIN, 400, 400, 400, 400, 403, 403, 403),
    # The development e-mail outbox (registered only outside production, as here): any
    # signed-in staff member; a message that is not there is a 404.
    ("dev_outbox.index", "GET"): row(LOGIN, LOGIN, 200, 200, 200, 200, 200, 200, 200),
    ("dev_outbox.message", "GET"): row(LOGIN, LOGIN, 404, 404, 404, 404, 404, 404, 404),
    # Allocation (issue 13). This case has no team, so nobody may claim it (the officer already
    # holds it; a decision-maker never may). Supervisors (the inspector here, not the constable)
    # assign, see the workload page, move caseloads and arrange cover; an empty form is 400.
    ("teams.claim", "GET"): everyone(405),
    ("teams.claim", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 403),
    ("teams.assign", "GET"): row(LOGIN, LOGIN, 403, 200, 403, 403, 403, 403, 403),
    ("teams.assign", "POST"): row(LOGIN, LOGIN, 403, 400, 403, 403, 403, 403, 403),
    ("teams.workload", "GET"): row(LOGIN, LOGIN, 403, 200, 403, 403, 403, 403, 403),
    ("teams.move_cases", "GET"): everyone(405),
    ("teams.move_cases", "POST"): row(LOGIN, LOGIN, 403, 400, 403, 403, 403, 403, 403),
    ("teams.arrange_cover", "GET"): everyone(405),
    ("teams.arrange_cover", "POST"): row(LOGIN, LOGIN, 403, 400, 403, 403, 403, 403, 403),
    # No such cover: the police get the 404 of a missing one.
    ("teams.end_cover", "GET"): everyone(405),
    ("teams.end_cover", "POST"): row(LOGIN, LOGIN, 404, 404, 403, 403, 403, 403, 403),
    # Teams and closure days: administrators only (no such team or day here: 404).
    ("admin.teams", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 200, 403),
    ("admin.new_team", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 200, 403),
    ("admin.new_team", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 400, 403),
    ("admin.edit_team", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    ("admin.edit_team", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    ("admin.add_member", "GET"): everyone(405),
    ("admin.add_member", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    ("admin.remove_member", "GET"): everyone(405),
    ("admin.remove_member", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    ("admin.closure_days", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 200, 403),
    ("admin.closure_days", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 400, 403),
    ("admin.remove_closure_day", "GET"): everyone(405),
    ("admin.remove_closure_day", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 404, 403),
    # Records management (issue 14): records managers only, and never an open case (this one is
    # open: the 404 of a missing case; a hold that does not exist likewise).
    ("records.queue", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 200),
    ("records.case", "GET"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 404),
    ("records.review", "GET"): everyone(405),
    ("records.review", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 404),
    ("records.set_hold", "GET"): everyone(405),
    ("records.set_hold", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 404),
    ("records.lift_hold", "GET"): everyone(405),
    ("records.lift_hold", "POST"): row(LOGIN, LOGIN, 403, 403, 403, 403, 403, 403, 404),
    # Correcting a personal detail and the applicant's subject access export: the police (an
    # empty correction form: 400).
    ("records.rectify", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 403, 403, 403),
    ("records.rectify", "POST"): row(LOGIN, LOGIN, 400, 400, 403, 403, 403, 403, 403),
    ("records.subject_access_export", "GET"): row(LOGIN, LOGIN, 200, 200, 403, 403, 403, 403,
                                                  403),
    # Health check for load balancers: no personal data, no sign-in.
    ("health.healthz", "GET"): everyone(200),
}

# The step each role would legitimately take on the case (at "full risk assessment"; completing
# the assessment waits for the checklist, so its form does not open yet).
STEP_EVENT = {
    "case_officer": "invite_representations",
    "decision_maker": "invite_representations",
    "partner": "record_agency_view",
    "partner_invited": "record_agency_view",
}
DEFAULT_EVENT = "complete_assessment"
UNKNOWN_TOKEN = "not-a-real-status-token-0123456789abcdef"
CASE_ONLY_RISK_ENDPOINTS = ("risk.identity", "risk.propose_identity", "risk.review_identity",
                            "risk.no_trace", "risk.risk_check_view", "risk.link_case")
MISSING_ID = 999_999
MISSING_OUTBOX_MESSAGE = "20000101T000000Z-00999999.eml"


@dataclass
class World:
    app: Flask
    clients: dict[str, FlaskClient]
    case_id: int
    token: str
    user_id: int  # an account the administrator could (de)activate
    emails: dict[str, str]

    def url(self, endpoint: str, role: str, *, case_id: int | None = None) -> str:
        values: dict[str, Any] = {}
        case_id = self.case_id if case_id is None else case_id
        if endpoint in ("staff.case", "audit.case_trail", "documents.case_record",
                        "documents.undertaking", "documents.non_disclosure_letter",
                        "documents.closure_letter", "documents.signed_undertaking",
                        "documents.case_bundle_zip", "sensitive.give_reason",
                        "teams.claim", "teams.assign", "records.case", "records.review",
                        "records.set_hold", "records.rectify", "records.subject_access_export",
                        *CASE_ONLY_RISK_ENDPOINTS):
            values["case_id"] = case_id
        elif endpoint == "records.lift_hold":
            values.update(case_id=case_id, hold_id=MISSING_ID)
        elif endpoint == "teams.end_cover":
            values["cover_id"] = MISSING_ID
        elif endpoint in ("admin.edit_team", "admin.add_member"):
            values["team_id"] = MISSING_ID
        elif endpoint == "admin.remove_member":
            values.update(team_id=MISSING_ID, user_id=self.user_id)
        elif endpoint == "admin.remove_closure_day":
            values["closure_day_id"] = MISSING_ID
        elif endpoint == "documents.stored_document":
            values.update(case_id=case_id, document_id=MISSING_ID)
        elif endpoint == "risk.check":
            values.update(case_id=case_id, source="pnc")
        elif endpoint == "audit.report_export":
            values.update(name="disclosures", fmt="csv")
        elif endpoint == "staff.step":
            values.update(case_id=case_id, event=STEP_EVENT.get(role, DEFAULT_EVENT))
        elif endpoint in ("public.status", "public.withdraw"):
            values["token"] = UNKNOWN_TOKEN if role == "anonymous" else self.token
        elif endpoint in ("dip_sampling.review", "dip_sampling.record_review"):
            values["sample_id"] = MISSING_ID
        elif endpoint in ("admin.set_active", "admin.request_mfa_reset"):
            values["user_id"] = self.user_id
        elif endpoint == "admin.approve_mfa_reset":
            values["request_id"] = MISSING_ID
        elif endpoint == "notifications.mark_read":
            values["notification_id"] = MISSING_ID
        elif endpoint == "dev_outbox.message":
            values["name"] = MISSING_OUTBOX_MESSAGE
        with self.app.test_request_context():
            return url_for(endpoint, **values)


def build_world(app: Flask) -> tuple[dict[str, Any], dict[str, FlaskClient]]:
    staff = make_staff(app)
    clients = sign_in_staff(app, staff)
    case, token = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"],
                            decider=staff["decision_maker"])
    assert token is not None
    with app.app_context():
        session = get_session()
        invited = make_user(session, Role.partner, name="Ivy Invited")
        version = session.get(Case, case.id).version
        now = datetime.now(UTC)
        take_step(session, StepRequest(
            case.id, "invite_partner", version,
            {"partner_user_id": str(invited.id),
             "information_requested": "Current risk assessment and supervision status."},
            "Probation manage the subject."), user=staff["case_officer"],
            policy=app.extensions["case_policy"], now=now)
        invited_email = invited.email
    all_clients = dict(clients)
    all_clients["partner_invited"] = sign_in(app, invited_email)
    # The decision record needs a reason given in the session (issue 6); the prompt itself has
    # its own rows, and its redirect is tested in test_documents.
    for role in ("case_officer", "decision_maker", "auditor"):
        response = all_clients[role].post(f"/staff/cases/{case.id}/reason", data={
            "reason": "case_work", "section": "decision_record", "next": ""})
        assert response.status_code == 303
    emails = {key: user.email for key, user in staff.items()}
    emails["partner_invited"] = invited_email
    return {"case_id": case.id, "token": token, "user_id": staff["partner"].id,
            "emails": emails}, all_clients


@pytest.fixture
def world(snapshot_copy: Callable[..., Any]) -> World:
    """This test's own copy of the worker's snapshot of the world (tests.conftest, Snapshots):
    the people signed in, the case, the invitation and the reasons given."""
    made = snapshot_copy(build_world)
    all_clients = dict(made.clients)
    all_clients["anonymous"] = made.app.test_client()
    all_clients["applicant"] = made.app.test_client()
    return World(made.app, all_clients, made.data["case_id"], made.data["token"],
                 made.data["user_id"], dict(made.data["emails"]))


def snapshot(app: Flask, case_id: int) -> dict[str, Any]:
    """Everything a POST might write."""
    with app.app_context():
        session = get_session()
        case = session.get(Case, case_id)

        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model))

        return {
            "cases": count(Case),
            "case_version": case.version,
            "case_status": case.status,
            "steps": count(CaseStep),
            "invitations": count(CaseInvitation),
            "stored_documents": count(StoredDocument),
            "users": count(User),
            "active_users": session.scalar(
                select(func.count()).select_from(User).where(User.active.is_(True))),
            "audit_chain": audit.chain_length(session),
        }


def client_for(world: World, role: str, method: str, endpoint: str) -> FlaskClient:
    if (endpoint, method) == ("auth.logout", "POST") and role not in ("anonymous", "applicant"):
        # Signing out ends every session of that person: use a session of its own.
        return sign_in(world.app, world.emails[role])
    return world.clients[role]


def fetch(client: FlaskClient, url: str, method: str) -> Any:
    """Send an empty form (for a POST) and read the whole body, as a server would. A streamed
    response left unread keeps its request's contexts pushed, and the next request in the thread
    would then run inside them (as whoever was signed in there)."""
    response = client.open(url, method=method, data={} if method == "POST" else None)
    response.get_data()
    response.close()
    return response


def check(response: Any, expected: Expected) -> str | None:
    if isinstance(expected, tuple):
        status, path = expected
        location = urlsplit(response.headers.get("Location", "")).path
        if response.status_code != status or location != path:
            return f"{response.status_code} -> {location!r}, expected {status} -> {path!r}"
        return None
    if response.status_code != expected:
        return f"{response.status_code}, expected {expected}"
    return None


@pytest.mark.parametrize(("endpoint", "method"), sorted(EXPECTED), ids=lambda v: v)
def test_each_role_gets_exactly_the_expected_answer(world: World, endpoint: str, method: str):
    problems = []
    for role in ROLES:
        expected = EXPECTED[(endpoint, method)][role]
        url = world.url(endpoint, role)
        client = client_for(world, role, method, endpoint)
        before = snapshot(world.app, world.case_id)
        response = fetch(client, url, method)
        assert response.status_code != 500, (endpoint, method, role)
        problem = check(response, expected)
        if problem:
            problems.append(f"{role} {method} {url}: {problem}")
        if method == "POST":
            after = snapshot(world.app, world.case_id)
            if after != before:
                problems.append(f"{role} {method} {url} wrote something: {before} -> {after}")
    assert problems == []


def test_the_matrix_covers_every_endpoint_and_method(app: Flask):
    served = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    endpoints = {endpoint for endpoint, _ in served}
    assert served - set(EXPECTED) == set(), "add these to EXPECTED"
    assert {endpoint for endpoint, _ in EXPECTED} == endpoints, "EXPECTED names a gone endpoint"
    # Every POST-only URL has a row saying that a GET is refused with 405.
    for endpoint in endpoints:
        if (endpoint, "GET") not in served:
            assert EXPECTED[(endpoint, "GET")] == everyone(405), endpoint
    assert all(set(expected) == set(ROLES) for expected in EXPECTED.values())


def test_every_post_only_url_answers_405_to_a_get_and_writes_nothing(world: World):
    post_only = sorted(
        rule.endpoint for rule in world.app.url_map.iter_rules()
        if "POST" in (rule.methods or set()) and "GET" not in (rule.methods or set())
    )
    assert post_only  # sign-out, at least
    before = snapshot(world.app, world.case_id)
    for endpoint in post_only:
        for role in ROLES:
            response = fetch(world.clients[role], world.url(endpoint, role), "GET")
            assert response.status_code == 405, (endpoint, role)
            assert "POST" in response.headers.get("Allow", ""), (endpoint, role)
    assert snapshot(world.app, world.case_id) == before


def test_uninvited_partner_gets_a_404_identical_to_a_missing_cases(world: World):
    partner = world.clients["partner"]
    for endpoint in ("staff.case", "staff.step"):
        real = fetch(partner, world.url(endpoint, "partner"), "GET")
        missing = fetch(partner, world.url(endpoint, "partner", case_id=MISSING_ID), "GET")
        assert real.status_code == missing.status_code == 404, endpoint
        assert real.get_data() == missing.get_data(), endpoint
    # The invited partner, with the same URL, reads the case.
    assert world.clients["partner_invited"].get(
        world.url("staff.case", "partner_invited")).status_code == 200


def test_refused_and_empty_posts_leave_the_case_exactly_as_it_was(world: World):
    """A belt-and-braces pass over every POST row: the case and its history are untouched."""
    before = snapshot(world.app, world.case_id)
    for (endpoint, method), _ in sorted(EXPECTED.items()):
        if method != "POST":
            continue
        for role in ROLES:
            client = client_for(world, role, method, endpoint)
            response = fetch(client, world.url(endpoint, role), "POST")
            assert response.status_code < 500, (endpoint, role)
    assert snapshot(world.app, world.case_id) == before
