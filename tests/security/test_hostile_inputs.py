"""The hostile-input suite (SECURITY.md §2): markup, template syntax, SQL metacharacters,
Unicode tricks, oversized values, other people's ids, guessed tokens, CSRF-less and replayed
posts and hostile text for documents, sent to every public and staff form and endpoint.

Every request gets a clear refusal or an escaped, literal round trip; never a 500; and a
refused request stores nothing (the case tables, every case's version, the accounts, the
one-time keys and the length of the decision log are compared before and after)."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import Case, CaseStep, User
from tests.conftest import make_app
from tests.factories import give_reason, make_case
from tests.integration.test_public_journey import hidden_fields, valid_answers
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import csrf_token, written
from workflows.status import Status

PAYLOADS = [
    # markup
    "<script>alert(1)</script>", '"><svg onload=alert(1)>', "<img src=x onerror=alert(1)>",
    "</textarea><b>bold</b>", '<a href="javascript:alert(1)">x</a>', "<!-- comment",
    "<![CDATA[x]]>", "<b>unclosed", '<font color="red">x</font>', '<link href="file:///x">',
    # template syntax
    "{{7*7}}", "{% for x in range(9) %}x{% endfor %}", "${7*7}", "#{7*7}", "<%= 7*7 %>",
    "{{config.SECRET_KEY}}",
    # SQL metacharacters
    "'; DROP TABLE cases;--", "' OR '1'='1", '" OR ""="', "1; SELECT pg_sleep(5)--",
    "%' AND 1=1 --", "\\'; --", "_%_",
    # Unicode tricks
    "Zoe\u0308 Quartermain", "\u0396ebedee", "evil\u202eeliF", "a\u200bb", "a\u2066b\u2069",
    "\ufeffBOM", "a\x00b", "bell\x07", "\U0001f600 smile", "\uff21\uff22\uff23", "\u01c5ungla",
    "\ud7ff\ue000", "line\u2028sep",
    # spreadsheet and path tricks
    '=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "../../etc/passwd",
    "%00", "\r\nInjected: header",
    # length
    "x" * 101, "y" * 5001,
]


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


class Probe:
    """Sends one hostile request and checks the answer and what it stored."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent = 0

    def send(self, call: Any, *, stored_ok: bool = True) -> Any:
        before = written(self.app)
        response = call()
        response.get_data()
        response.close()
        self.sent += 1
        assert response.status_code < 500, response.status_code
        if response.status_code >= 400 or not stored_ok:
            assert written(self.app) == before
        return response


@pytest.fixture
def app(database: Any) -> Any:
    """The shipped configuration but for the per-address limits: these probes send hundreds of
    requests from one address in a minute (RATELIMIT_* are deployment settings; the limits
    themselves are tested in test_sec_browser_and_limits.py and tests/smoke)."""
    application = make_app(database, RATELIMIT_APPLY="1000 per minute",
                           RATELIMIT_STATUS="1000 per minute", RATELIMIT_SIGN_IN="1000 per minute")
    yield application
    application.extensions["db_engine"].dispose()


def test_there_are_at_least_150_hostile_requests():
    targets = 8
    assert len(PAYLOADS) * targets >= 150 and len(PAYLOADS) >= 45


@pytest.mark.parametrize("field", ["applicant-full_name", "subject-aliases", "concern"])
def test_hostile_public_answers_are_refused_or_stored_verbatim(app, field):
    probe = Probe(app)
    client = app.test_client()
    for payload in PAYLOADS:
        check = probe.send(lambda p=payload: client.post("/apply", data=valid_answers(
            **{field: p})), stored_ok=False)
        if check.status_code != 200:
            continue
        page = client.post("/apply", data=valid_answers(**{field: payload})).get_data(
            as_text=True)
        assert "<script>alert" not in page and "<svg onload" not in page
        sent = probe.send(lambda page=page: client.post("/apply/submit", data=MultiDict(
            hidden_fields(page, "/apply/submit"))))
        assert sent.status_code in (303, 400), payload
        if sent.status_code == 303:
            client.get("/apply/confirmation")
            with app.app_context():
                case = get_session().scalars(select(Case).order_by(Case.id.desc())).first()
                stored = {"applicant-full_name": case.applicant.full_name,
                          "subject-aliases": case.subject.aliases, "concern": case.concern}[field]
            assert stored == _nfc(payload), (payload, stored)
    assert probe.sent >= len(PAYLOADS)


def test_hostile_step_text_is_refused_or_kept_literally_and_shown_escaped(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    probe = Probe(app)
    officer = clients["case_officer"]
    url = f"/staff/cases/{case.id}/steps/raise_urgent_safeguarding"
    for payload in PAYLOADS:
        with app.app_context():
            version = get_session().get(Case, case.id).version
        data = form_payload("raise_urgent_safeguarding", {
            "risk_identified": payload, "action_taken": "csc_referral",
            "who_was_informed": "Duty social worker"}, version, rationale=payload)
        response = probe.send(lambda d=data: officer.post(url, data=d))
        assert response.status_code in (303, 400), (payload, response.status_code)
        if response.status_code == 303:
            with app.app_context():
                step = get_session().scalars(select(CaseStep).order_by(CaseStep.id.desc())).first()
                assert step.rationale == _nfc(payload.replace("\r\n", "\n"))
    page = officer.get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<svg onload" not in page and ">49<" not in page
    give_reason(officer, case.id, section="decision_record")  # the record holds the subject
    pdf = officer.get(f"/documents/cases/{case.id}/decision-record.pdf")
    assert pdf.status_code in (200, 413)
    if pdf.status_code == 200:
        body = pdf.get_data()
        assert b"/URI" not in body and b"/JavaScript" not in body and b"/Launch" not in body
        assert PdfReader(io.BytesIO(body)).pages
    export = clients["auditor"].get("/audit/export.csv").get_data(as_text=True)
    assert "\n=HYPERLINK" not in export and ",=HYPERLINK" not in export
    assert probe.sent >= len(PAYLOADS)


def test_hostile_sign_in_and_account_forms_never_fail_or_store(app, staff, clients):
    probe = Probe(app)
    for payload in PAYLOADS:
        probe.send(lambda p=payload: app.test_client().post(
            "/staff/sign-in", data={"email": p, "password": p}), stored_ok=False)
        created = probe.send(lambda p=payload: clients["admin"].post("/admin/users/new", data={
            "email": f"{abs(hash(p))}@test.example", "full_name": p, "role": "auditor"}))
        if created.status_code == 200:
            with app.app_context():
                newest = get_session().scalars(select(User).order_by(User.id.desc())).first()
                assert newest.full_name == payload.strip()
        probe.send(lambda p=payload: clients["case_officer"].post(
            "/staff/confirm-identity", data={"code": p}), stored_ok=True)
    assert probe.sent >= 3 * len(PAYLOADS)


def test_hostile_queries_tokens_and_ids_get_a_plain_answer(app, staff, clients):
    case, token = make_case(app, Status.received, officer=staff["case_officer"])
    probe = Probe(app)
    for payload in PAYLOADS:
        quoted = quote(payload, safe="")
        probe.send(lambda q=quoted: clients["auditor"].get(f"/audit/?reference={q}&action={q}"),
                   stored_ok=False)
        probe.send(lambda q=quoted: clients["case_officer"].get(f"/staff/?status={q}&stage={q}"),
                   stored_ok=False)
        answer = probe.send(lambda q=quoted: app.test_client().get(f"/status/{q}"),
                            stored_ok=False)
        assert answer.status_code in (404, 400), payload
        probe.send(lambda q=quoted: clients["case_officer"].get(f"/staff/cases/{q}"),
                   stored_ok=False)
    # Other people's cases: a partner not invited, an id that does not exist.
    for case_id in (case.id, 999_999, 0, -1, 2**63):
        response = probe.send(lambda c=case_id: clients["partner"].get(f"/staff/cases/{c}"),
                              stored_ok=False)
        assert response.status_code == 404
        probe.send(lambda c=case_id: clients["partner"].post(
            f"/staff/cases/{c}/steps/record_agency_view", data={"rationale": "x"}),
            stored_ok=False)
    # One character changed (never to itself: a token may already end in "A").
    altered = token[:-1] + ("B" if token.endswith("A") else "A")
    assert token and app.test_client().get(f"/status/{altered}").status_code == 404


def test_csrf_less_and_replayed_posts_store_nothing_more(database, staff):
    from tests.security.helpers import code_now

    app = make_app(database, WTF_CSRF_ENABLED=True)
    try:
        case, _ = make_case(app, Status.received, officer=staff["case_officer"])
        probe = Probe(app)
        client = app.test_client()
        email = staff["case_officer"].email
        client.post("/staff/sign-in", data={"email": email,
                                            "password": "correct horse battery staple",
                                            "csrf_token": csrf_token(client, "/staff/sign-in")})
        client.post("/staff/two-factor", data={"code": code_now(email),
                                               "csrf_token": csrf_token(client,
                                                                        "/staff/two-factor")})
        url = f"/staff/cases/{case.id}/steps/start_checks"
        payload = form_payload("start_checks", {}, case.version)
        for bad in (None, "", "not-a-token", csrf_token(app.test_client(), "/apply")):
            data = dict(payload)
            if bad is not None:
                data["csrf_token"] = bad
            assert probe.send(lambda d=data: client.post(url, data=d)).status_code == 400
        token = csrf_token(client, url)
        first = probe.send(lambda: client.post(url, data={**payload, "csrf_token": token}))
        assert first.status_code == 303
        after_first = written(app)
        for _ in range(3):  # the same form again: the one-time key stores it once
            again = client.post(url, data={**payload, "csrf_token": token})
            assert again.status_code == 303
        assert written(app) == after_first
        public = app.test_client()
        for payload_text in PAYLOADS[:10]:
            probe.send(lambda p=payload_text: public.post("/apply/submit", data=valid_answers(
                concern=p, submission_key=new_key())), stored_ok=False)
    finally:
        app.extensions["db_engine"].dispose()
    assert datetime.now(UTC)


def test_oversized_bodies_are_refused_everywhere(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    probe = Probe(app)
    huge = "z" * (300 * 1024)
    for client, url in ((app.test_client(), "/apply"), (app.test_client(), "/apply/submit"),
                        (app.test_client(), "/staff/sign-in"),
                        (clients["case_officer"],
                         f"/staff/cases/{case.id}/steps/raise_urgent_safeguarding"),
                        (clients["case_officer"], "/staff/right-to-know/new"),
                        (clients["admin"], "/admin/users/new")):
        response = probe.send(lambda c=client, u=url: c.post(u, data={"rationale": huge,
                                                                     "concern": huge}))
        assert response.status_code == 413, url
