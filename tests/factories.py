"""Test data made through the real services, so every case has a genuine audit chain.

``make_case(app, Status.awaiting_decision)`` walks a new case through the workflow to that state
with the step data a real officer would enter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from disclosure_app import demo
from disclosure_app.db import get_session
from disclosure_app.models import Case, User
from disclosure_app.services import applications, users
from disclosure_app.services.applications import ApplicationInput, ReferralInput
from disclosure_app.services.audit import SystemActor
from disclosure_app.services.workflow import StepRequest, take_step
from workflows.roles import Agency, Rank, Role
from workflows.status import Route, Status

PASSWORD = "correct horse battery staple"

SUBJECT_NAME = "Zebedee Quartermain"
SUBJECT_DOB = "1977-04-23"
SUBJECT_ADDRESS = "99 Nonesuch Lane, Testborough"


def application_input(**overrides: Any) -> ApplicationInput:
    base = demo._application(1, "Alice Applicant", SUBJECT_NAME, "Charlie Child")
    subject = replace(
        base.subject,
        date_of_birth=datetime.fromisoformat(SUBJECT_DOB).date(),
        address=SUBJECT_ADDRESS,
    )
    return replace(base, subject=subject, **overrides)


def referral_input() -> ReferralInput:
    return demo._cases()[-2].referral  # the demo Right to Know referral


def make_user(
    session: Any,
    role: Role,
    *,
    email: str | None = None,
    name: str | None = None,
    rank: Rank | None = None,
    agency: Agency | None = None,
) -> User:
    if role in (Role.case_officer, Role.decision_maker) and rank is None:
        rank = Rank.constable if role is Role.case_officer else Rank.inspector
    if role is Role.partner and agency is None:
        agency = Agency.probation
    email = email or f"{role.value}.{_counter()}@test.example"
    return users.create_user(
        session,
        users.NewUser(email, name or f"Test {role.label}", role, rank, agency),
        PASSWORD,
        by=SystemActor(name="tests"),
        now=datetime.now(UTC),
    )


_n = 0


def _counter() -> int:
    global _n
    _n += 1
    return _n


# The steps that take a Right to Ask case to each state: (event, who, data).
_ASK_PATH: list[tuple[str, str, dict[str, Any], Status]] = [
    ("start_checks", "officer", {}, Status.initial_checks),
    ("accept_for_interview", "officer", demo.ACCEPT, Status.awaiting_interview),
    ("record_interview", "officer", {**demo.INTERVIEW, "interview_date": "D-0"},
     Status.interviewed),
    ("verify_applicant", "officer", {}, Status.full_risk_assessment),
    ("complete_assessment", "officer", demo.ASSESS, Status.awaiting_decision),
    ("approve_disclosure_to_applicant", "decider", demo.DISCLOSE, Status.disclosure_approved),
    ("record_disclosure_delivered", "officer", {**demo.DELIVERED, "meeting_date": "D-0"},
     Status.disclosure_delivered),
    ("close_case", "officer", {"referrals_complete": "yes", "review_date": "D+2000"},
     Status.closed),
]
_DETOURS: dict[Status, list[tuple[str, str, dict[str, Any], Status]]] = {
    Status.representations_pending: _ASK_PATH[:4] + [
        ("invite_representations", "officer", {"invitation_method": "letter", "deadline": "D+14",
         "safety_assessment": "No risk in asking."}, Status.representations_pending)],
    Status.no_disclosure_decided: _ASK_PATH[:5] + [
        ("decide_no_disclosure", "decider",
         {**demo.NO_DISCLOSURE, "reason_category": "not_necessary",
          "presumption_rebuttal": "The child has moved abroad with the other parent."},
         Status.no_disclosure_decided)],
    Status.disclosure_not_delivered: _ASK_PATH[:6] + [
        ("record_not_delivered", "officer", {"reason": "refused_undertaking",
         "details": "Would not sign."}, Status.disclosure_not_delivered)],
}


def path_to(status: Status) -> list[tuple[str, str, dict[str, Any], Status]]:
    if status in _DETOURS:
        return _DETOURS[status]
    if status is Status.outcome_communicated:
        return path_to(Status.no_disclosure_decided) + [
            ("communicate_outcome", "officer", {"method": "letter", "communicated_on": "D-0"},
             Status.outcome_communicated)]
    if status is Status.received:
        return []
    for i, step in enumerate(_ASK_PATH):
        if step[3] is status:
            return _ASK_PATH[: i + 1]
    raise ValueError(f"no test path to {status}")


def resolve(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if isinstance(value, str) and value[:2] in ("D-", "D+"):
            days = int(value[2:]) * (-1 if value[1] == "-" else 1)
            value = (now + timedelta(days=days)).date().isoformat()
        out[key] = value
    return out


def make_case(
    app: Any,
    status: Status = Status.received,
    *,
    route: Route = Route.right_to_ask,
    officer: User | None = None,
    decider: User | None = None,
) -> tuple[Case, str | None]:
    """A case in ``status``; returns (case, status token or None)."""
    with app.app_context():
        session = get_session()
        officer = officer or make_user(session, Role.case_officer)
        decider = decider or make_user(session, Role.decision_maker)
        people = {"officer": officer, "decider": decider}
        policy = app.extensions["case_policy"]
        timescales = app.extensions["timescales"]
        now = datetime.now(UTC)
        token = None
        if route is Route.right_to_know:
            case = applications.open_right_to_know(
                session, referral_input(), user=officer, policy=policy, timescales=timescales,
                now=now)
            steps: list[tuple[str, str, dict[str, Any], Status]] = []
            if status is not Status.referred:
                steps = [("start_checks", "officer", {}, Status.initial_checks),
                         ("accept_for_assessment", "officer", demo.ACCEPT,
                          Status.full_risk_assessment),
                         ("complete_assessment", "officer", demo.ASSESS,
                          Status.awaiting_decision)]
                steps = steps[: [s[3] for s in steps].index(status) + 1]
        else:
            done = applications.submit_application(
                session, application_input(), policy=policy, timescales=timescales, now=now)
            case, token = done.case, done.status_token
            steps = path_to(status)
        for event, who, data, _ in steps:
            version = session.get(Case, case.id).version
            take_step(session, StepRequest(case.id, event, version, resolve(data, now),
                                           f"Test rationale for {event}."),
                      user=people[who], policy=policy, now=now)
        case = session.get(Case, case.id)
        assert case.status is status, (case.status, status)
        session.expunge_all()
        return case, token


def give_reason(client: Any, case_id: int, *, section: str = "subject",
                reason: str = "case_work", note: str = "") -> Any:
    """Record why this signed-in client needs a case's sensitive sections (once per session)."""
    response = client.post(f"/staff/cases/{case_id}/reason",
                           data={"reason": reason, "note": note, "section": section, "next": ""})
    assert response.status_code == 303, response.status_code
    return response
