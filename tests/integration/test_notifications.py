"""Notifications to staff (issue 13): the unread count in the header, the list and marking read
(one's own only), who each workflow step notifies, and e-mail: to the development outbox or by
SMTP, claimed so that two runs never send one twice, retried and given up, never carrying a
name, an address or an outcome."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import event, select, text, update

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_engine, get_session, transaction
from disclosure_app.models import (
    Applicant,
    Case,
    CaseStep,
    Child,
    Notification,
    Subject,
    User,
)
from disclosure_app.models.case import PROPOSED_OUTCOME_LABELS
from disclosure_app.notifications import delivery, mail
from disclosure_app.notifications.delivery import MAX_ATTEMPTS, deliver_pending
from disclosure_app.notifications.service import CASE_KINDS, Kind, notify
from disclosure_app.notifications.steps import notify_for_step
from disclosure_app.privacy.sealed import tag
from disclosure_app.security.production import ProductionRefused
from tests.conftest import make_app
from tests.factories import (
    DISCLOSE,
    NO_DISCLOSURE,
    SUBJECT_ADDRESS,
    SUBJECT_NAME,
    make_case,
    make_user,
    resolve,
)
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
INVITE = {"information_requested": "Current risk assessment and supervision status."}
AGENCY_VIEW = {"information_held": "On licence until 2027.", "agency_view": "supports_disclosure"}


# --- Helpers ----------------------------------------------------------------------------------


def raise_for(app: Flask, user_id: int, count: int = 1, *, case_id: int | None = None,
              kind: Kind = Kind.case_assigned, email: bool | None = None) -> list[int]:
    """``count`` notifications for one person, each a new occasion; their ids, oldest first."""
    with app.app_context():
        session = get_session()
        with transaction(session):
            case = session.get(Case, case_id) if case_id else None
            for n in range(count):
                notify(session, user_ids=[user_id], kind=kind, case=case,
                       occasion=f"test-{uuid.uuid4().hex}", now=NOW + timedelta(minutes=n),
                       email=email)
        return list(session.scalars(select(Notification.id).where(
            Notification.user_id == user_id).order_by(Notification.id)))[-count:]


def rows(app: Flask, **where: Any) -> list[Notification]:
    with app.app_context():
        session = get_session()
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def recipients(app: Flask, kind: Kind | None = None) -> set[int]:
    return {n.user_id for n in rows(app) if kind is None or n.kind == kind}


def person(app: Flask, role: Role, *, rank: Rank | None = None, active: bool = True) -> int:
    with app.app_context():
        session = get_session()
        user_id = make_user(session, role, rank=rank).id
        if not active:
            session.execute(update(User).where(User.id == user_id).values(active=False))
            session.commit()
        return user_id


def take(app: Flask, case_id: int, event: str, user_id: int, data: dict[str, Any]) -> int:
    """Take a step through the real service; the step record's id."""
    with app.app_context():
        session = get_session()
        version = session.get(Case, case_id).version
        step = take_step(session, StepRequest(case_id, event, version, resolve(data, NOW),
                                              f"Test rationale for {event}."),
                         user=session.get(User, user_id),
                         policy=app.extensions["case_policy"], now=datetime.now(UTC))
        return step.id


def case_at(app: Flask, staff: dict[str, Any], status: Status) -> Case:
    case, _ = make_case(app, status, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    return case


def header_count(page: str) -> str | None:
    found = re.search(r'data-testid="header-notifications">(.*?)</a>', page, re.S)
    if found is None:
        return None
    count = re.search(r'app-header__count">(\d+)<', found.group(1))
    return count.group(1) if count else "0"


def with_outbox(app: Flask, tmp_path: Path) -> Path:
    outbox = tmp_path / "outbox"
    app.config["MAIL_OUTBOX_DIR"] = str(outbox)
    return outbox


def deliver(app: Flask, mailer: Any, **kwargs: Any) -> delivery.DeliveryReport:
    with app.app_context():
        return deliver_pending(get_session(), mailer, now=kwargs.pop("now", NOW), **kwargs)


class RecordingMailer:
    """Sends nothing: records what it was given, and refuses the ids in ``refuse``."""

    def __init__(self, refuse: set[int] | None = None) -> None:
        self.sent: list[int] = []
        self.refuse = refuse or set()

    def send(self, outgoing: mail.OutgoingMail) -> None:
        if outgoing.notification_id in self.refuse:
            raise smtplib.SMTPRecipientsRefused({outgoing.to: (550, b"No such mailbox")})
        self.sent.append(outgoing.notification_id)

    def close(self) -> None:
        pass


# --- The header and the list ------------------------------------------------------------------


def test_the_staff_header_shows_each_persons_own_unread_count(app, staff, clients):
    raise_for(app, staff["case_officer"].id, 3)
    raise_for(app, staff["decision_maker"].id, 1)

    assert header_count(clients["case_officer"].get("/staff/").get_data(as_text=True)) == "3"
    assert header_count(clients["decision_maker"].get("/staff/").get_data(as_text=True)) == "1"
    assert header_count(clients["partner"].get("/staff/").get_data(as_text=True)) == "0"
    # Auditors and administrators are never notified: no count at all.
    assert header_count(clients["auditor"].get("/audit/").get_data(as_text=True)) is None
    assert header_count(clients["admin"].get("/admin/users").get_data(as_text=True)) is None


def _statements_on_notifications(app: Flask, fetch: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "notifications" in statement:
            seen.append((statement, parameters))

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        fetch()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_header_count_is_one_count_and_public_pages_run_none(app, staff, clients):
    raise_for(app, staff["case_officer"].id, 2)
    officer, anonymous = clients["case_officer"], clients["anonymous"]

    staff_page = _statements_on_notifications(app, lambda: officer.get("/staff/"))
    assert len(staff_page) == 1
    assert re.search(r"SELECT count\(\*\)", staff_page[0][0], re.I)
    for fetch in (lambda: officer.get("/"), lambda: anonymous.get("/staff/sign-in"),
                  lambda: anonymous.get("/")):
        assert _statements_on_notifications(app, fetch) == []


@pytest.mark.engine("sqlite")
def test_the_header_count_is_served_by_the_user_index(app, staff, clients):
    raise_for(app, staff["case_officer"].id, 2)
    (statement, parameters), = _statements_on_notifications(
        app, lambda: clients["case_officer"].get("/staff/"))
    with app.app_context(), get_engine().connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_notifications_user" in plan
    assert "SCAN notifications" not in plan


def test_the_list_shows_only_ones_own_newest_first_with_case_links(app, staff, clients):
    case = case_at(app, staff, Status.received)
    own = raise_for(app, staff["case_officer"].id, 3, case_id=case.id)
    raise_for(app, staff["decision_maker"].id, 1, kind=Kind.approval_needed, case_id=case.id)

    page = clients["case_officer"].get("/notifications")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'data-notification-id="(\d+)"', body)]
    assert shown == list(reversed(own))
    assert f'href="/staff/cases/{case.id}"' in body
    assert case.reference in body
    assert "waiting for a second decision-maker" not in body  # someone else's


def test_a_partner_gets_a_case_link_only_for_a_case_they_are_invited_to(app, staff, clients):
    invited = case_at(app, staff, Status.full_risk_assessment)
    other = case_at(app, staff, Status.received)
    partner = staff["partner"].id
    take(app, invited.id, "invite_partner", staff["case_officer"].id,
         {"partner_user_id": str(partner), **INVITE})
    raise_for(app, partner, 1, case_id=other.id)

    body = clients["partner"].get("/notifications").get_data(as_text=True)

    assert f'href="/staff/cases/{invited.id}"' in body
    assert f'href="/staff/cases/{other.id}"' not in body
    assert other.reference in body  # named, but not offered as a link


def test_the_list_pages_by_id_newest_first(app, staff, clients):
    app.config["NOTIFICATIONS_PAGE_SIZE"] = 2
    ids = raise_for(app, staff["case_officer"].id, 5)
    officer = clients["case_officer"]
    seen, url = [], "/notifications"
    for _ in range(3):
        body = officer.get(url).get_data(as_text=True)
        seen.append([int(i) for i in re.findall(r'data-notification-id="(\d+)"', body)])
        older = re.search(r'href="(/notifications\?before=\d+)" rel="next"', body)
        url = older.group(1) if older else ""
    assert seen == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert url == ""  # the last page offers no older one


def test_marking_one_read_changes_only_that_one(app, staff, clients):
    first, second = raise_for(app, staff["case_officer"].id, 2)

    response = clients["case_officer"].post(f"/notifications/{first}/read")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/notifications")
    read = {n.id: n.read_at is not None for n in rows(app)}
    assert read == {first: True, second: False}
    page = clients["case_officer"].get("/staff/").get_data(as_text=True)
    assert header_count(page) == "1"


def test_someone_elses_notification_is_a_404_and_is_left_unread(app, staff, clients):
    (theirs,) = raise_for(app, staff["decision_maker"].id, 1)

    for client in (clients["case_officer"], clients["partner"], clients["decision_maker_2"]):
        assert client.post(f"/notifications/{theirs}/read").status_code == 404
    assert clients["case_officer"].post("/notifications/999999/read").status_code == 404
    (row,) = rows(app)
    assert row.read_at is None


def test_mark_all_read_marks_ones_own_up_to_the_newest_the_page_showed(app, staff, clients):
    officer = staff["case_officer"].id
    shown = raise_for(app, officer, 3)
    theirs = raise_for(app, staff["decision_maker"].id, 2)
    body = clients["case_officer"].get("/notifications").get_data(as_text=True)
    up_to = re.search(r'name="up_to" value="(\d+)"', body).group(1)
    (arrived_since,) = raise_for(app, officer, 1)

    response = clients["case_officer"].post("/notifications/read", data={"up_to": up_to})

    assert response.status_code == 303
    read = {n.id: n.read_at is not None for n in rows(app)}
    assert all(read[i] for i in shown)
    assert not read[arrived_since]
    assert not any(read[i] for i in theirs)


def test_mark_all_read_without_the_newest_id_is_refused_and_changes_nothing(app, staff, clients):
    raise_for(app, staff["case_officer"].id, 2)
    for data in ({}, {"up_to": "many"}, {"up_to": "0"}, {"up_to": "99999999999999"}):
        assert clients["case_officer"].post("/notifications/read", data=data).status_code == 400
    assert all(n.read_at is None for n in rows(app))


# --- Who each step notifies --------------------------------------------------------------------

DECISIONS = {
    "approve_disclosure_to_applicant": DISCLOSE,
    "approve_disclosure_to_other": DISCLOSE,
    "approve_other_information": {**DISCLOSE, "recipient": "other_person"},
    "decide_no_disclosure": NO_DISCLOSURE,
}


@pytest.mark.parametrize("event", sorted(DECISIONS))
def test_a_decision_awaiting_approval_notifies_every_eligible_decision_maker_only(
        app, staff, event):
    case = case_at(app, staff, Status.awaiting_decision)
    inspector = person(app, Role.decision_maker, rank=Rank.inspector)
    person(app, Role.decision_maker, rank=Rank.sergeant)  # below the decision rank
    person(app, Role.decision_maker, rank=Rank.inspector, active=False)
    person(app, Role.case_officer, rank=Rank.inspector)  # a rank, but no decision-maker
    # The case's officer may not approve: made a superintendent decision-maker to prove it.
    assigned = person(app, Role.decision_maker, rank=Rank.superintendent)
    with app.app_context():
        session = get_session()
        session.execute(update(Case).where(Case.id == case.id)
                        .values(assigned_officer_id=assigned))
        session.commit()

    take(app, case.id, event, staff["decision_maker"].id, DECISIONS[event])

    assert recipients(app) == {staff["decision_maker_2"].id, inspector}
    for row in rows(app):
        assert row.kind == Kind.approval_needed
        assert row.case_id == case.id and row.case_reference == case.reference
        assert row.message == (f"Case {case.reference}: a decision is waiting for a second "
                               "decision-maker.")
        assert row.email_state == "pending"  # development: e-mail goes to the outbox


def test_approving_a_decision_or_any_unhooked_step_notifies_no_one(app, staff):
    case = case_at(app, staff, Status.decision_pending_approval)
    before = [n.id for n in rows(app)]
    assert len(before) == 1  # the decision itself asked for an approver

    take(app, case.id, "countersign_decision", staff["decision_maker_2"].id,
         {"record_reviewed": "yes", "agrees_with_decision": "yes"})

    assert [n.id for n in rows(app)] == before


def test_an_extension_request_notifies_every_supervisor_but_the_one_who_asked(app, staff):
    case = case_at(app, staff, Status.full_risk_assessment)
    asker = person(app, Role.case_officer, rank=Rank.sergeant)
    sergeant = person(app, Role.case_officer, rank=Rank.sergeant)
    person(app, Role.case_officer, rank=Rank.constable)  # below the extension rank
    person(app, Role.case_officer, rank=Rank.inspector, active=False)
    new_date = (case.decision_due_at + timedelta(days=5)).date().isoformat()

    take(app, case.id, "request_extension", asker,
         {"clock": "overall", "new_date": new_date, "reason_code": "partner_information_awaited"})

    assert recipients(app) == {sergeant, staff["decision_maker"].id,
                               staff["decision_maker_2"].id}
    assert {n.kind for n in rows(app)} == {Kind.extension_requested}


def test_inviting_a_partner_notifies_that_partner_only(app, staff):
    case = case_at(app, staff, Status.full_risk_assessment)
    other_partner = person(app, Role.partner)

    take(app, case.id, "invite_partner", staff["case_officer"].id,
         {"partner_user_id": str(staff["partner"].id), **INVITE})

    assert recipients(app) == {staff["partner"].id}
    assert other_partner not in recipients(app)
    (row,) = rows(app)
    assert row.message == f"Case {case.reference}: you are invited to give your agency's view."


def test_a_partners_view_notifies_the_case_officer_only(app, staff):
    case = case_at(app, staff, Status.full_risk_assessment)
    take(app, case.id, "invite_partner", staff["case_officer"].id,
         {"partner_user_id": str(staff["partner"].id), **INVITE})

    take(app, case.id, "record_agency_view", staff["partner"].id, AGENCY_VIEW)

    assert recipients(app, Kind.partner_view_recorded) == {staff["case_officer"].id}
    assert recipients(app) == {staff["case_officer"].id, staff["partner"].id}


def test_the_same_step_raised_again_stores_one_notification_per_person(app, staff):
    case = case_at(app, staff, Status.awaiting_decision)
    step_id = take(app, case.id, "decide_no_disclosure", staff["decision_maker"].id,
                   NO_DISCLOSURE)
    first = rows(app)
    assert len(first) == 1

    with app.app_context():
        session = get_session()
        with transaction(session):
            step = session.get(CaseStep, step_id)
            notify_for_step(session, session.get(Case, case.id), step,
                            app.extensions["case_policy"], NOW + timedelta(hours=1))

    assert [(n.id, n.user_id, n.created_at) for n in rows(app)] == [
        (n.id, n.user_id, n.created_at) for n in first]


# --- E-mail -----------------------------------------------------------------------------------


def personal_details(app: Flask, case_id: int) -> list[str]:
    """Every name, address, contact detail, date of birth, free-text answer and decision text
    the case holds, and the outcome labels."""
    with app.app_context():
        session = get_session()
        key_id = session.get(Case, case_id).data_key_id
        session.execute(update(Applicant).where(Applicant.case_id == case_id).values(
            email=tag("alice.private@home.example", key_id),
            other_names=tag("Alicia Appleby", key_id),
            contact_notes=tag("Call the mobile, never the landline.", key_id)))
        session.commit()
        found: list[str] = []
        people = [*session.scalars(select(Applicant).where(Applicant.case_id == case_id)),
                  *session.scalars(select(Subject).where(Subject.case_id == case_id)),
                  *session.scalars(select(Child).where(Child.case_id == case_id))]
        for who in people:
            for column in who.__table__.columns:
                value = getattr(who, column.key)
                if column.key.endswith("date_of_birth") and value is not None:
                    found += [value.isoformat(), value.strftime("%d %B %Y")]
                elif isinstance(value, str) and len(value) >= 5 and column.key not in (
                        "contact_method", "gender"):
                    found.append(value)
        case = session.get(Case, case_id)
        found.append(case.concern)
        for step in case.steps:
            found.append(step.rationale)
            found += [v for v in (step.data or {}).values()
                      if isinstance(v, str) and " " in v and len(v) >= 8]
        found += [SUBJECT_NAME, SUBJECT_ADDRESS, "Olive Officer", "Diane Decider",
                  "Derek Second", *PROPOSED_OUTCOME_LABELS.values(), "disclosure approved"]
        return sorted(set(found))


def test_every_kind_of_email_goes_to_the_outbox_without_personal_details(app, staff, tmp_path):
    outbox = with_outbox(app, tmp_path)
    case = case_at(app, staff, Status.decision_pending_approval)  # the approver is notified
    officer = staff["case_officer"].id
    for kind in CASE_KINDS:
        raise_for(app, officer, 1, case_id=case.id, kind=kind)
    secrets = personal_details(app, case.id)
    assert "Alice Applicant" in secrets and "Charlie Child" in secrets

    with app.app_context():
        report = deliver_pending(get_session(), mail.mailer_for(app), now=NOW)

    files = sorted(outbox.glob("*.eml"))
    assert report.sent == len(files) == len(CASE_KINDS) + 1
    for file in files:
        raw = file.read_bytes()
        message = BytesParser(policy=email_policy.default).parsebytes(raw)
        readable = "\n".join([raw.decode("ascii"), str(message["Subject"]),
                              message.get_body(("plain",)).get_content()]).lower()
        for secret in secrets:
            assert secret.lower() not in readable, (file.name, secret)
        assert case.reference in message["Subject"]
        assert f"http://127.0.0.1:5000/staff/cases/{case.id}" in readable
    assert {n.email_state for n in rows(app)} == {"sent"}


def test_the_send_command_writes_the_outbox_and_the_dev_page_shows_it(app, staff, clients,
                                                                      tmp_path):
    outbox = with_outbox(app, tmp_path)
    case = case_at(app, staff, Status.received)
    (notification,) = raise_for(app, staff["case_officer"].id, 1, case_id=case.id)

    result = app.test_cli_runner().invoke(args=["notifications", "send"])

    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    (file,) = outbox.glob("*.eml")
    assert file.name.endswith(f"-{notification:08d}.eml")
    listing = clients["auditor"].get("/dev/outbox")  # any signed-in staff member
    assert listing.status_code == 200
    listing_text = listing.get_data(as_text=True)
    assert f"Case {case.reference} is now yours." in listing_text
    assert "Development only" in listing_text
    shown = clients["case_officer"].get(f"/dev/outbox/{file.name}").get_data(as_text=True)
    assert f"/staff/cases/{case.id}" in shown
    assert clients["anonymous"].get("/dev/outbox").status_code == 302  # sign in first
    for name in ("..%2Fconfig.py", "config.py", "20990101T000000Z-00000001.eml"):
        assert clients["case_officer"].get(f"/dev/outbox/{name}").status_code == 404


def test_the_send_command_exits_1_when_a_message_fails(app, staff, tmp_path, monkeypatch):
    with_outbox(app, tmp_path)
    raise_for(app, staff["case_officer"].id, 1)

    def refuse(self: Any, outgoing: mail.OutgoingMail) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(mail.OutboxMailer, "send", refuse)
    result = app.test_cli_runner().invoke(args=["notifications", "send"])

    assert result.exit_code == 1
    assert "0 sent, 1 failed" in result.output
    assert [n.email_state for n in rows(app)] == ["retry1"]


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type:
    class FakeSMTP:
        """Stands in for smtplib.SMTP: records the conversation."""

        instances: list[FakeSMTP] = []
        refuse: set[str] = set()
        unreachable = False

        def __init__(self, host: str, port: int, timeout: float) -> None:
            if FakeSMTP.unreachable:
                raise ConnectionRefusedError(111, "Connection refused")
            self.calls: list[Any] = [("connect", host, port, timeout)]
            self.sent: list[Any] = []
            FakeSMTP.instances.append(self)

        def starttls(self, context: ssl.SSLContext) -> None:
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
            self.calls.append("starttls")

        def login(self, user: str, password: str) -> None:
            self.calls.append(("login", user, password))

        def send_message(self, message: Any) -> None:
            if message["To"] in FakeSMTP.refuse:
                raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"No such user")})
            self.calls.append("send")
            self.sent.append(message)

        def quit(self) -> None:
            self.calls.append("quit")

        def close(self) -> None:
            self.calls.append("close")

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def smtp_configured(app: Flask) -> None:
    app.config.update(MAIL_SERVER="smtp.northshire.police.example", MAIL_USERNAME="disclosure",
                      MAIL_PASSWORD="relay-password",
                      STAFF_BASE_URL="https://disclosure.northshire.police.example/")


def test_smtp_sends_each_message_over_starttls_after_signing_in(app, staff, fake_smtp):
    smtp_configured(app)
    case = case_at(app, staff, Status.received)
    ids = raise_for(app, staff["case_officer"].id, 2, case_id=case.id)
    ids += raise_for(app, staff["partner"].id, 1)

    mailer = mail.mailer_for(app)
    try:
        report = deliver(app, mailer)
    finally:
        mailer.close()

    assert report.sent == 3 and report.ok
    (smtp,) = fake_smtp.instances  # one connection for the run
    assert smtp.calls == [("connect", "smtp.northshire.police.example", 587, 10.0), "starttls",
                          ("login", "disclosure", "relay-password"), "send", "send", "send",
                          "quit"]
    to_officer = smtp.sent[0]
    assert to_officer["To"] == staff["case_officer"].email
    assert to_officer["From"] == "disclosure-scheme@northshire.police.example"
    assert to_officer["Subject"] == f"Case {case.reference} is now yours."
    body = to_officer.get_body(("plain",)).get_content()
    assert f"https://disclosure.northshire.police.example/staff/cases/{case.id}" in body
    # No case: the link is to the person's notifications.
    assert ("https://disclosure.northshire.police.example/notifications"
            in smtp.sent[2].get_body(("plain",)).get_content())
    assert {n.id: n.email_state for n in rows(app)} == dict.fromkeys(ids, "sent")
    assert all(n.emailed_at == NOW for n in rows(app))


def test_a_refused_message_is_marked_and_the_others_still_go(app, staff, fake_smtp):
    smtp_configured(app)
    (refused,) = raise_for(app, staff["partner"].id, 1)
    others = raise_for(app, staff["case_officer"].id, 2)
    fake_smtp.refuse = {staff["partner"].email}

    report = deliver(app, mail.mailer_for(app))

    assert (report.sent, report.failed, report.ok) == (2, 1, False)
    states = {n.id: n.email_state for n in rows(app)}
    assert states == {refused: "retry1", **dict.fromkeys(others, "sent")}


def test_a_failing_message_is_tried_three_times_then_given_up(app, staff):
    (failing,) = raise_for(app, staff["partner"].id, 1, email=True)
    mailer = RecordingMailer(refuse={failing})
    states = []
    for run in range(MAX_ATTEMPTS + 1):
        report = deliver(app, mailer, now=NOW + timedelta(minutes=run))
        states.append(rows(app)[0].email_state)
    assert states == ["retry1", "retry2", "failed", "failed"]
    assert report.failed == 0 and mailer.sent == []  # a given-up message is not claimed again
    (row,) = rows(app)
    assert row.read_at is None  # still shown in the app


def test_an_unreachable_server_stops_the_run_and_counts_no_try(app, staff, fake_smtp):
    smtp_configured(app)
    ids = raise_for(app, staff["case_officer"].id, 3)
    fake_smtp.unreachable = True

    report = deliver(app, mail.mailer_for(app))

    assert report.sent == report.failed == 0
    assert "ConnectionRefusedError" in (report.unavailable or "")
    assert [(n.id, n.email_state, n.emailed_at) for n in rows(app)] == [
        (i, "pending", None) for i in ids]


def test_a_deactivated_accounts_email_is_not_sent(app, staff):
    gone = person(app, Role.case_officer)
    (skipped,) = raise_for(app, gone, 1, email=True)
    (kept,) = raise_for(app, staff["case_officer"].id, 1, email=True)
    with app.app_context():
        session = get_session()
        session.execute(update(User).where(User.id == gone).values(active=False))
        session.commit()
    mailer = RecordingMailer()

    report = deliver(app, mailer)

    assert (report.sent, report.skipped, mailer.sent) == (1, 1, [kept])
    assert {n.id: n.email_state for n in rows(app)} == {skipped: "none", kept: "sent"}


def test_two_runs_at_once_send_each_message_once(app, staff, monkeypatch):
    ids = raise_for(app, staff["case_officer"].id, 4, email=True)
    monkeypatch.setattr(delivery, "BATCH_SIZE", 2)
    second: dict[str, Any] = {}

    class HostA(RecordingMailer):
        def send(self, outgoing: mail.OutgoingMail) -> None:
            if not second:
                # Host B runs while host A is sending its first batch: its own session.
                second["mailer"] = RecordingMailer()
                with app.app_context():
                    second["report"] = deliver_pending(get_session(), second["mailer"],
                                                       now=NOW)
            super().send(outgoing)

    host_a = HostA()
    first = deliver(app, host_a)

    assert sorted(host_a.sent + second["mailer"].sent) == ids  # every message exactly once
    assert host_a.sent == ids[:2] and second["mailer"].sent == ids[2:]
    assert first.sent + second["report"].sent == 4
    assert {n.email_state for n in rows(app)} == {"sent"}


def test_rows_claimed_by_one_run_are_not_claimed_by_another(app, staff):
    ids = raise_for(app, staff["case_officer"].id, 3, email=True)
    with app.app_context():
        session = get_session()
        # Both runs chose the same rows before either claimed them: only the first gets them.
        with transaction(session):
            first = delivery.claim_rows(session, ids, NOW)
        with transaction(session):
            second = delivery.claim_rows(session, ids, NOW)
    assert first == dict.fromkeys(ids, 1)
    assert second == {}


def test_two_claims_racing_on_the_same_rows_give_each_row_to_one(app, staff):
    ids = raise_for(app, staff["case_officer"].id, 3, email=True)
    claimed: dict[str, dict[int, int]] = {}
    started = threading.Event()

    def host_b() -> None:
        with app.app_context():
            session = get_session()
            started.set()
            with transaction(session):
                claimed["b"] = delivery.claim_rows(session, ids, NOW)

    with app.app_context():
        session = get_session()
        with transaction(session):
            claimed["a"] = delivery.claim_rows(session, ids, NOW)
            other = threading.Thread(target=host_b)
            other.start()
            started.wait(5)
            # Host B now waits for A's row locks (PostgreSQL) or its turn to write (SQLite);
            # either way it sees A's claim once A commits.
            time.sleep(0.3)
        other.join(10)
    assert claimed == {"a": dict.fromkeys(ids, 1), "b": {}}


def test_a_claim_left_by_a_run_that_died_is_tried_again_later(app, staff):
    stale, fresh = raise_for(app, staff["case_officer"].id, 2, email=True)
    with app.app_context():
        session = get_session()
        for notification_id, claimed_at in ((stale, NOW - timedelta(minutes=20)),
                                            (fresh, NOW - timedelta(minutes=1))):
            session.execute(update(Notification).where(Notification.id == notification_id)
                            .values(email_state="sending1", emailed_at=claimed_at))
        session.commit()
    mailer = RecordingMailer()

    report = deliver(app, mailer)

    assert (report.recovered, mailer.sent) == (1, [stale])
    assert {n.id: n.email_state for n in rows(app)} == {stale: "sent", fresh: "sending1"}


# --- Production -------------------------------------------------------------------------------


def production_app(database: Any, **overrides: Any) -> Flask:
    return make_app(database, PRODUCTION=True, TESTING=False, WTF_CSRF_ENABLED=True,
                    SECRET_KEY="k" + Fernet.generate_key().decode(),
                    TOTP_ENCRYPTION_KEY=Fernet.generate_key().decode(),
                    TRUSTED_HOSTS=["localhost"], **overrides)


def test_production_without_smtp_sends_no_email_and_says_so(database, staff, caplog):
    with caplog.at_level(logging.WARNING, logger="disclosure_app.notifications.mail"):
        app = production_app(database)
    try:
        assert "E-mail to staff is off" in caplog.text
        assert not mail.enabled(app.config) and mail.mailer_for(app) is None
        raise_for(app, staff["case_officer"].id, 1)
        assert [n.email_state for n in rows(app)] == ["none"]
        client = app.test_client()
        health = client.get("/healthz", base_url="https://localhost").get_json()
        assert (health["status"], health["email"]) == ("ok", "off")
        result = app.test_cli_runner().invoke(args=["notifications", "send"])
        assert result.exit_code == 0 and "E-mail is off" in result.output
    finally:
        app.extensions["db_engine"].dispose()


def test_there_is_no_outbox_page_in_production(database, staff):
    app = production_app(database)
    try:
        assert not any(e.startswith("dev_outbox.") for e in app.view_functions)
        client = app.test_client()
        for path in ("/dev/outbox", "/dev/outbox/20260302T093000Z-00000001.eml"):
            assert client.get(path, base_url="https://localhost").status_code == 404
    finally:
        app.extensions["db_engine"].dispose()


def test_production_with_smtp_needs_https_links_and_tls_beyond_this_host(database):
    smtp = {"MAIL_SERVER": "smtp.northshire.police.example",
            "STAFF_BASE_URL": "https://disclosure.northshire.police.example"}
    with pytest.raises(ProductionRefused, match="STAFF_BASE_URL"):
        production_app(database, **{**smtp, "STAFF_BASE_URL": "http://disclosure.example"})
    with pytest.raises(ProductionRefused, match="MAIL_USE_TLS"):
        production_app(database, **smtp, MAIL_USE_TLS=False)
    # A relay on this host may take plain SMTP; e-mail is then on, and queued.
    app = production_app(database, **{**smtp, "MAIL_SERVER": "localhost"}, MAIL_USE_TLS=False)
    try:
        assert mail.enabled(app.config) and mail.mode(app.config) == "smtp"
        assert isinstance(mail.mailer_for(app), mail.SmtpMailer)
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.engine("sqlite")
def test_the_mailers_queue_is_read_through_its_index(app):
    with app.app_context(), get_engine().connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM notifications WHERE email_state IN "
            "('pending', 'retry1', 'retry2') ORDER BY id LIMIT 50")))
    assert "ix_notifications_email" in plan

