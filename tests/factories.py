"""Test data made through the real services, so every case has a genuine audit chain.

``make_case(app, Status.awaiting_decision)`` walks a new case through the workflow to that state
with the step data a real officer would enter.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from disclosure_app.audit.chain import SystemActor
from disclosure_app.cases import applications
from disclosure_app.cases.applications import ApplicationInput, ReferralInput
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.documents import case_documents as documents
from disclosure_app.models import Case, RegisterPerson, Team, User
from disclosure_app.operations import demo
from disclosure_app.risk import risk_check
from disclosure_app.risk.register.importer import CheckedFile, write_records
from disclosure_app.risk.register.records import parse_person
from disclosure_app.risk.register.sample import conviction, scenarios
from disclosure_app.security import accounts as users
from disclosure_app.teams import registry
from workflows.roles import Agency, Rank, Role
from workflows.status import Route, Status

PASSWORD = "correct horse battery staple"
# The suite's apps sign with this key (tests.conftest.BASE_CONFIG).
TEST_SECRET_KEY = "test-secret-key-not-for-production"


class _TenMinutesAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 600


def form_started_long_ago(submission_key: str, secret_key: str = TEST_SECRET_KEY) -> str:
    """The signed "form first shown" stamp (public.views._form_started) of a form a person
    opened ten minutes ago: the suite keeps the shipped minimum fill time (SEC-29) on without
    waiting it out in every test. Only someone holding the app's SECRET_KEY can make one."""
    return URLSafeTimedSerializer(secret_key, salt="public-form-started",
                                  signer=_TenMinutesAgo).dumps(submission_key)

SUBJECT_NAME = "Zebedee Quartermain"
SUBJECT_DOB = "1977-04-23"
SUBJECT_ADDRESS = "99 Nonesuch Lane, Testborough"


# --- The offender register the tests search -----------------------------------------------------

SUBJECT_PERSON_ID = "TEST-000001"  # the test subject's own record
RTK_PERSON_ID = "SAMPLE-000015"  # Keith Marlow, the subject of the demo Right to Know referral


def register_people_for_tests() -> list[dict[str, Any]]:
    """The sample register's scenarios, plus the test subject, a namesake with the same name and
    date of birth at another address (a near miss), a spelling variant with a date of birth one
    part off (a near miss) and a namesake born years later."""
    from workflows.notification import Disposal, OffenceCategory

    dob = datetime.fromisoformat(SUBJECT_DOB).date()
    on = datetime(2011, 5, 9).date()
    subject = {
        "person_id": SUBJECT_PERSON_ID, "surname": "Quartermain", "forenames": "Zebedee",
        "aliases": [{"surname": "Quatermain", "forenames": "Zeb"}], "date_of_birth": SUBJECT_DOB,
        "gender": "male",
        "addresses": [{"line": SUBJECT_ADDRESS, "postcode": "NS2 7EX", "from": "2015-01-01",
                       "to": None}],
        "convictions": [conviction(dob, on, OffenceCategory.child_sexual, Disposal.imprisonment,
                                   custody=40)],
        "civil_orders": [{"type": "SHPO", "from": "2014-01-01", "to": None}],
        "mappa_category": 1, "mappa_level": 2, "risk_level": "high", "management": "active",
        "source": "Test register",
    }
    namesake = {**subject, "person_id": "TEST-000002", "aliases": [], "addresses": [
        {"line": "3 Elsewhere Street, Otherton", "postcode": "OT4 1AA", "from": "2010-01-01",
         "to": None}], "convictions": [], "civil_orders": [], "mappa_category": None,
        "mappa_level": None, "risk_level": None, "management": None}
    variant = {**namesake, "person_id": "TEST-000003", "surname": "Quatermaine",
               "date_of_birth": "1979-04-23"}
    older = {**namesake, "person_id": "TEST-000004", "date_of_birth": "1990-01-01"}
    return [*scenarios(), subject, namesake, variant, older]


def ensure_test_register(session: Any, now: datetime | None = None) -> None:
    """Import the test register once (through the real importer)."""
    from sqlalchemy import select

    if session.scalar(select(RegisterPerson.id).where(
            RegisterPerson.person_id == SUBJECT_PERSON_ID)) is not None:
        return
    now = now or datetime.now(UTC)
    records = [parse_person(p, now.date()) for p in register_people_for_tests()]
    write_records(session, CheckedFile(records, "0" * 64, len(records)), file_name="tests.jsonl",
                  now=now, actor=SystemActor(name="tests"))


def resolve_risk_check(app: Any, session: Any, case: Case, officer: User, confirmer: User,
                       now: datetime, *, route: Route = Route.right_to_ask) -> None:
    """Every check recorded, and the subject's record proposed by ``officer`` and confirmed by
    ``confirmer``: what a case needs before its assessment can complete with information found."""
    ensure_test_register(session, now)
    policy = app.extensions["case_policy"]
    risk_check.record_every_check(session, officer, case.id, policy=policy, now=now)
    if route is Route.right_to_know:  # the referral gives no address: DOB + a quoted id
        risk_check.confirm_identity(
            session, officer, confirmer, case.id, person_id=RTK_PERSON_ID,
            identifiers=["date_of_birth", "register_id"],
            references={"register_id": "Quoted by the MAPPA coordinator"}, now=now)
    else:
        risk_check.confirm_identity(
            session, officer, confirmer, case.id, person_id=SUBJECT_PERSON_ID,
            identifiers=["date_of_birth", "address_history"], references={}, now=now)


def application_input(**overrides: Any) -> ApplicationInput:
    base = demo._application(1, "Alice Applicant", SUBJECT_NAME, "Charlie Child")
    subject = replace(
        base.subject,
        date_of_birth=datetime.fromisoformat(SUBJECT_DOB).date(),
        address=SUBJECT_ADDRESS,
    )
    return replace(base, subject=subject, **overrides)


def referral_input() -> ReferralInput:
    referral = next(c.referral for c in demo._cases() if c.label == "right to know")
    assert referral is not None
    return referral


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
    user = users.create_user(
        session,
        users.NewUser(email, name or f"Test {role.label}", role, rank, agency),
        PASSWORD,
        by=SystemActor(name="tests"),
        now=datetime.now(UTC),
        must_change_password=False,
    )
    # Every test account has an authenticator already set up, with a secret the tests can
    # work out from the address (``totp_secret_for``); enrolment itself is tested on its own.
    users.provision_mfa(session, user.id, totp_secret_for(user.email),
                        cipher=current_app.extensions["totp_cipher"],
                        by=SystemActor(name="tests"), now=datetime.now(UTC))
    return session.get(User, user.id)


def totp_secret_for(email: str) -> str:
    """The test authenticator secret of the account with this address (base32, 160 bits)."""
    digest = hashlib.sha256(f"test totp {email.strip().lower()}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def totp_code(app: Any, email: str) -> str:
    """A code the app will accept now for this account, whichever 30-second step the request
    lands in: the code of the NEXT step, which the allowed drift accepts for the rest of this
    step and the whole of the next (at least 30 s, however busy the machine). If that step has
    been used already (one person signed in twice in a row), the account's last-used step is
    set back, standing in for the wait (sign-in tests of reuse never come through here)."""
    from disclosure_app.security import mfa

    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.email == email.strip().lower())).one()
        clock = app.config.get("CLOCK")  # the app's own time, if a test moved it
        step = mfa.step_at(clock() if clock else datetime.now(UTC)) + mfa.DRIFT_STEPS
        if user.totp_last_step is not None and user.totp_last_step >= step:
            session.execute(update(User).where(User.id == user.id)
                            .values(totp_last_step=step - 1))
            session.commit()
        return mfa.code_for_step(totp_secret_for(email), step)


def forget_used_code(app: Any, email: str) -> None:
    """After a helper sign-in: the account's last-used step is set back, standing in for the
    minute a person would take before their next code, so a test's own codes of this step and
    the next (tests.security.helpers.code_now) are still fresh."""
    from disclosure_app.security import mfa

    with app.app_context():
        session = get_session()
        clock = app.config.get("CLOCK")
        step = mfa.step_at(clock() if clock else datetime.now(UTC))
        session.execute(update(User).where(User.email == email.strip().lower())
                        .values(totp_last_step=step - mfa.DRIFT_STEPS - 1))
        session.commit()


_n = 0


def _counter() -> int:
    global _n
    _n += 1
    return _n


# Test cases share their decision wording on purpose; the rationale checks would flag the second
# case in a database as boilerplate, so the factory acknowledges it (as an author would have to).
SHARED_WORDING = {"boilerplate_acknowledgement": "Test data: every test case uses the same "
                  "decision wording on purpose."}
DISCLOSE = {**demo.DISCLOSE, **SHARED_WORDING}
# The usual test case was assessed high risk; deciding not to disclose is then a contradiction
# the author explains and the approver countersigns.
NO_DISCLOSURE = {
    **demo.NO_DISCLOSURE, **SHARED_WORDING, "reason_category": "not_necessary",
    "presumption_rebuttal": "The child has moved abroad with the other parent.",
    "contradiction_explanation": "The risk was assessed as high, but the child has moved abroad "
    "with the other parent and the subject has no contact with the child now.",
}
COUNTERSIGN_CONTRADICTION = {**demo.COUNTERSIGN, "contradiction_countersigned": "yes"}

# The steps that take a Right to Ask case to each state: (event, who, data).
_ASK_PATH: list[tuple[str, str, dict[str, Any], Status]] = [
    ("start_checks", "officer", {}, Status.initial_checks),
    ("accept_for_interview", "officer", demo.ACCEPT, Status.awaiting_interview),
    ("record_interview", "officer", {**demo.INTERVIEW, "interview_date": "D-0"},
     Status.interviewed),
    ("verify_applicant", "officer", {}, Status.full_risk_assessment),
    ("complete_assessment", "officer", demo.ASSESS, Status.awaiting_decision),
    ("approve_disclosure_to_applicant", "decider", DISCLOSE, Status.decision_pending_approval),
    ("countersign_decision", "approver", demo.COUNTERSIGN, Status.disclosure_approved),
    ("record_undertaking", "officer", {**demo.UNDERTAKING, "signed_on": "D-0"},
     Status.disclosure_approved),
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
        ("decide_no_disclosure", "decider", NO_DISCLOSURE, Status.decision_pending_approval),
        ("countersign_decision", "approver", COUNTERSIGN_CONTRADICTION,
         Status.no_disclosure_decided)],
    Status.disclosure_not_delivered: _ASK_PATH[:7] + [
        ("record_not_delivered", "officer", {"reason": "refused_undertaking",
         "details": "Would not sign."}, Status.disclosure_not_delivered)],
}


def path_to(status: Status) -> list[tuple[str, str, dict[str, Any], Status]]:
    if status in _DETOURS:
        return _DETOURS[status]
    if status is Status.outcome_communicated:
        return path_to(Status.no_disclosure_decided) + [
            ("communicate_outcome", "officer", {"method": "phone", "communicated_on": "D-0"},
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


# A stand-in for the scanned, signed undertaking: the upload check wants a real PDF signature.
SIGNED_COPY = b"%PDF-1.4\n% signed confidentiality undertaking (test scan)\n%%EOF\n"


def record_undertaking(session: Any, case_id: int, officer: User, *, policy: Any,
                       now: datetime) -> None:
    """Upload a signed copy of the undertaking, as the officer would (services.documents)."""
    version = session.get(Case, case_id).version
    documents.record_signed_undertaking(
        session, officer,
        documents.SignedUndertaking(case_id, version, "signed-undertaking.pdf", SIGNED_COPY,
                                    signed_on=now.date(), signed_by="Laura Bennett",
                                    rationale="Test rationale for record_undertaking."),
        policy=policy, now=now,
    )


def make_case(
    app: Any,
    status: Status = Status.received,
    *,
    route: Route = Route.right_to_ask,
    officer: User | None = None,
    decider: User | None = None,
    approver: User | None = None,
) -> tuple[Case, str | None]:
    """A case in ``status``; returns (case, status token or None)."""
    with app.app_context():
        session = get_session()
        officer = officer or make_user(session, Role.case_officer)
        decider = decider or make_user(session, Role.decision_maker)
        approver = approver or make_user(session, Role.decision_maker, rank=Rank.chief_inspector)
        people = {"officer": officer, "decider": decider, "approver": approver}
        policy = app.extensions["case_policy"]
        now = datetime.now(UTC)
        token = None
        if route is Route.right_to_know:
            case = applications.open_right_to_know(
                session, referral_input(), user=officer, policy=policy,
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
                session, application_input(), policy=policy, now=now)
            case, token = done.case, done.status_token
            steps = path_to(status)
        for event, who, data, _ in steps:
            if event == "complete_assessment":
                resolve_risk_check(app, session, case, officer, decider, now, route=route)
            version = session.get(Case, case.id).version
            if event == "record_undertaking":
                record_undertaking(session, case.id, people[who], policy=policy, now=now)
                continue
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


def make_team(
    session: Any,
    *,
    code: str | None = None,
    districts: str = "",
    default: bool | None = None,
    members: tuple[User, ...] | list[User] = (),
    by: User | None = None,
) -> Team:
    """A team made through the administrators' service, with these members. It is the default
    team if ``default`` says so, or (``None``) if no active team is the default yet."""
    by = by or make_user(session, Role.admin)
    if default is None:
        default = session.scalar(select(Team.id).where(
            Team.is_default.is_(True), Team.active.is_(True))) is None
    n = _counter()
    now = datetime.now(UTC)
    team = registry.create_team(session, by, registry.TeamInput(
        code or f"TEAM-{n}", f"Team {n}", districts, is_default=default), now=now)
    for member in members:
        registry.add_member(session, by, team.id, member.id, now=now)
    return session.get(Team, team.id)
