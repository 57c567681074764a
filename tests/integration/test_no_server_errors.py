"""Never a 500, whoever asks and whatever they put in the URL; and every page is well formed.

The app runs with CSRF protection on, as in production. Every staff role (and an anonymous
visitor) GETs every GET endpoint with real ids, missing ids and absurd values. Each response must
be below 500 and carry the security headers; each HTML page must have a title and unique element
ids, and each POST form an action and a CSRF token. The forms found are then sent back with only
the token, and the pages that come back are checked in the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.models import Case, CaseStep, User
from tests.conftest import complete_second_factor, make_app
from tests.factories import PASSWORD, make_case, resolve
from workflows.status import Route, Status
from workflows.steps import STEPS

ROLES = ("anonymous", "case_officer", "decision_maker", "partner", "auditor", "admin")
PUBLIC_INFO_PAGES = ("/", "/privacy", "/accessibility")  # the only pages a cache may keep
PRIVATE_PREFIXES = ("/staff", "/audit", "/admin", "/documents", "/status", "/apply",
                    "/notifications", "/dev")
MISSING_ID = "999999"
ABSURD = [
    "abc", "0", "-1", "1.5", "1e3", str(2**63 - 1), str(2**63), str(2**64), "9" * 40,
    "x" * 300, "ü", "événement", "💥", "%00", "..%2F..%2Fetc%2Fpasswd", "%20", "a%2Fb",
    "<script>", "'; DROP TABLE cases; --",
]
ABSURD_QUERIES = {
    "/staff/": [
        "after=abc", "after=" + "A" * 500, "after=MjAyNi0wMS0wMVQwMDowMDowMHw5OTk5OTk5OTk5OTk5",
        "stage=nowhere", "status=%00", "route=ü", "overdue=maybe", "mine=💥",
        "stage=intake&stage=closed", "status=" + "x" * 300,
        "view=nowhere", "view=mine&mine=yes", "team=abc", "team=" + "9" * 40, "officer=-1",
        "officer=999999", "team=1&view=unallocated",
    ],
    "/audit/": [
        "before=abc", "before=0", "before=" + "9" * 30, "date_from=9999-99-99",
        "date_from=0001-01-01", "date_to=2026-02-30", "actor=abc", "actor=" + "9" * 30,
        "action=%00", "category=ü", "reference=ü", "reference=" + "Z" * 300,
        "date_from=2026-05-01&date_to=2026-01-01",
    ],
    "/audit/consultations": [
        "subject=%00", "subject=" + "x" * 300, "reference=ü", "reference=CSD-0000-0000",
        "subject=Nobody&date_from=2026-02-30", "date_to=0001-01-01",
    ],
    "/audit/staff": ["actor=abc", "actor=" + "9" * 30, "actor=1&date_from=9999-99-99"],
    "/audit/security-events": ["kind=nonsense", "kind=%00",
                               "date_from=2026-05-01&date_to=2026-01-01"],
    "/audit/alerts": ["date_from=0001-01-01", "date_to=" + "9" * 40],
}
ABSURD_QUERIES["/audit/export.csv"] = ABSURD_QUERIES["/audit/"]
ABSURD_QUERIES["/notifications"] = ["before=abc", "before=0", "before=-1", "before=" + "9" * 40,
                                    "before=%00", "before=ü", "before=1&before=2"]


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.in_title = False
        self.ids: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self.form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id") is not None:
            self.ids.append(attributes["id"] or "")
        if tag == "title":
            self.in_title = True
        elif tag == "form":
            self.form = {"method": (attributes.get("method") or "get").lower(),
                         "action": attributes.get("action"), "inputs": {}}
            self.forms.append(self.form)
        elif tag in ("input", "textarea", "select", "button") and self.form is not None:
            name = attributes.get("name")
            if name:
                self.form["inputs"].setdefault(name, attributes.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "form":
            self.form = None

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)


def page_problems(html: str) -> tuple[list[str], PageParser]:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    problems = []
    if not "".join(parser.title).strip():
        problems.append("no <title>")
    duplicates = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate ids {duplicates}")
    if "" in parser.ids:
        problems.append("an empty id")
    for form in parser.forms:
        if form["method"] != "post":
            continue
        if not form["action"]:
            problems.append("a POST form without an action")
        if not form["inputs"].get("csrf_token"):
            problems.append(f"a POST form to {form['action']} without a CSRF token")
    return problems, parser


@dataclass
class Site:
    app: Flask
    clients: dict[str, FlaskClient]
    case_ids: list[int]
    token: str
    user_ids: list[int]
    problems: list[str] = field(default_factory=list)
    post_forms: dict[str, dict[str, str]] = field(default_factory=dict)

    def check(self, client: FlaskClient, url: str, method: str = "GET",
              data: dict[str, str] | None = None) -> Any:
        response = client.open(url, method=method, data=data)
        body = response.get_data()  # read it all (a streamed body keeps its contexts pushed)
        response.close()
        where = f"{method} {url[:120]}"
        if response.status_code >= 500:
            self.problems.append(f"{where}: {response.status_code}")
            return response
        headers = response.headers
        path = urlsplit(url).path
        if response.mimetype == "text/html":
            csp = headers.get("Content-Security-Policy", "")
            if not csp or "unsafe-inline" in csp:
                self.problems.append(f"{where}: Content-Security-Policy {csp!r}")
            if headers.get("X-Content-Type-Options") != "nosniff":
                self.problems.append(f"{where}: no X-Content-Type-Options nosniff")
            if not headers.get("Referrer-Policy"):
                self.problems.append(f"{where}: no Referrer-Policy")
            if response.status_code < 300:
                problems, parser = page_problems(body.decode())
                self.problems += [f"{where}: {problem}" for problem in problems]
                for form in parser.forms:
                    if form["method"] == "post" and form["action"]:
                        self.post_forms.setdefault(form["action"], form["inputs"])
        if path.startswith(PRIVATE_PREFIXES) and "no-store" not in headers.get(
                "Cache-Control", ""):
            self.problems.append(f"{where}: Cache-Control {headers.get('Cache-Control')!r}")
        return response


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in_with_csrf(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    token = csrf_token(client, "/staff/sign-in")
    response = client.post("/staff/sign-in",
                           data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    complete_second_factor(app, client, email)
    return client


@pytest.fixture
def site(app: Flask, db_path: Any, staff: dict[str, Any]) -> Iterator[Site]:
    people = {"officer": staff["case_officer"], "decider": staff["decision_maker"]}
    cases = [make_case(app, status, officer=people["officer"], decider=people["decider"])
             for status in (Status.received, Status.awaiting_decision, Status.disclosure_approved,
                            Status.outcome_communicated, Status.closed)]
    rtk, _ = make_case(app, Status.awaiting_decision, route=Route.right_to_know,
                       officer=people["officer"], decider=people["decider"])
    # The partner is invited to one open case, so their case pages have something to show.
    invited = cases[1][0]
    with app.app_context():
        session = get_session()
        take_step(session, StepRequest(invited.id, "invite_partner", invited.version, resolve(
            {"partner_user_id": str(staff["partner"].id),
             "information_requested": "Current risk assessment."}, datetime.now(UTC)),
            "Probation manage the subject."), user=people["officer"],
            policy=app.extensions["case_policy"], now=datetime.now(UTC))
    csrf_app = make_app(db_path, WTF_CSRF_ENABLED=True)
    clients = {role: sign_in_with_csrf(csrf_app, staff[role].email)
               for role in ROLES if role != "anonymous"}
    clients["anonymous"] = csrf_app.test_client()
    token = cases[0][1]
    assert token is not None
    yield Site(csrf_app, clients, [case.id for case, _ in cases] + [rtk.id], token,
               [user.id for user in staff.values()])
    csrf_app.extensions["db_engine"].dispose()


def fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def urls_for(site: Site) -> Iterator[str]:
    """Every GET URL to try: plain ones, then each parametrised one with real, missing and absurd
    values (absurd values are URL-quoted unless they already are)."""
    valid = {
        "case_id": [str(i) for i in site.case_ids],
        "event": sorted(STEPS),
        "token": [site.token],
        "user_id": [str(i) for i in site.user_ids],
        "document_id": ["1"],
        "sample_id": ["1"],
        "source": ["pnc", "previous_forces"],
        "name": ["consultations", "staff", "disclosures", "alerts", "security", "integrity"],
        "fmt": ["csv", "pdf"],
        "request_id": ["1"],
        "notification_id": ["1"],
        "team_id": ["1"],
        "cover_id": ["1"],
        "closure_day_id": ["1"],
        "hold_id": ["1"],
    }
    missing = {"case_id": [MISSING_ID], "event": ["no_such_step"],
               "token": ["A" * 43], "user_id": [MISSING_ID], "document_id": [MISSING_ID],
               "sample_id": [MISSING_ID], "source": ["no_such_source"], "name": ["everything"],
               "fmt": ["xlsx"], "request_id": [MISSING_ID], "notification_id": [MISSING_ID],
               "team_id": [MISSING_ID], "cover_id": [MISSING_ID], "closure_day_id": [MISSING_ID],
               "hold_id": [MISSING_ID]}
    absurd = [value if "%" in value else quote(value, safe="") for value in ABSURD]
    for rule in site.app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        names = sorted(rule.arguments)
        unknown = set(names) - set(valid)
        assert not unknown, f"{rule.rule}: say which values to try for {unknown}"
        if not names:
            yield rule.rule
            yield from (f"{rule.rule}?{query}" for query in ABSURD_QUERIES.get(rule.rule, []))
            continue
        first = {name: valid[name][0] for name in names}
        for name in names:
            for value in valid[name] + missing[name] + absurd:
                yield fill(rule.rule, {**first, name: value})
        if names == ["case_id", "event"]:  # every step on every case
            for case_id in valid["case_id"]:
                for event in valid["event"]:
                    yield fill(rule.rule, {"case_id": case_id, "event": event})


@pytest.mark.parametrize("role", ROLES)
def test_no_url_gives_a_server_error_and_every_page_is_well_formed(site: Site, role: str):
    client = site.clients[role]
    tried = set()
    for url in urls_for(site):
        if url not in tried:
            tried.add(url)
            site.check(client, url)
    assert len(tried) > 300
    # Each form found, sent back with only its CSRF token: an error page or the form again with
    # its errors, never a server error (sign-out and marking a notification read are meant to
    # work like that, so are left out).
    forms = {action: inputs for action, inputs in site.post_forms.items()
             if urlsplit(action).path != "/staff/sign-out"
             and not re.fullmatch(r"/notifications/\d+/read", urlsplit(action).path)}
    if role != "anonymous":
        assert forms, "a signed-in person sees at least one form besides sign-out"
    for action, inputs in sorted(forms.items()):
        response = site.check(client, action, "POST", {"csrf_token": inputs["csrf_token"]})
        assert response.status_code in (400, 403, 404, 409), (action, response.status_code)
    assert not site.problems, "\n".join(site.problems)


# What a POST to each parametrised URL carries besides the token: enough to reach the service.
POST_DATA = {
    "public.withdraw": {"confirm": "y", "reason": "Probe."},
    "staff.step": {"expected_version": "1", "rationale": "Probe."},
    "admin.set_active": {"active": "0"},
    "admin.request_mfa_reset": {"reason": "Probe."},
    "admin.approve_mfa_reset": {},
    "dip_sampling.record_review": {"result": "upheld", "findings": "Probe."},
    "documents.signed_undertaking": {"expected_version": "1", "rationale": "Probe.",
                                     "signed_by": "Probe"},
    # The risk check's forms, complete, so that only the URL can refuse them.
    "risk.propose_identity": {"person_id": "SAMPLE-000001", "note": "Probe.",
                               "identifiers": ["date_of_birth", "address_history"],
                               "submission_key": "k" * 43},
    "risk.review_identity": {"decision_id": "1", "decision": "confirm",
                              "review_note": "Probe.", "submission_key": "k" * 43},
    "risk.no_trace": {"no_trace_note": "Probe.", "submission_key": "k" * 43},
    "risk.check": {"outcome": "not_applicable", "reason": "Probe.",
                    "submission_key": "k" * 43},
    "risk.link_case": {"reference": "CSD-0000-0000", "reason": "Probe.",
                        "submission_key": "k" * 43},
    "sensitive.give_reason": {"reason": "case_work", "section": "subject", "next": ""},
    "notifications.mark_read": {},
    # Allocation and teams (issue 13): complete forms, so that only the URL can refuse them.
    "teams.claim": {},
    "teams.assign": {"assign-to_user_id": "1", "assign-reason": "Probe."},
    "teams.end_cover": {},
    "admin.edit_team": {"code": "PROBE", "name": "Probe", "districts": "NS1",
                        "is_default": "y", "active": "y"},
    "admin.add_member": {"user_id": "1"},
    "admin.remove_member": {},
    "admin.remove_closure_day": {},
    # Records management (issue 14): complete forms, so that only the URL can refuse them.
    "records.review": {"review-decision": "retain", "review-reason": "Probe of the review form.",
                       "review-next_review_on": ["1", "1", "2030"]},
    "records.set_hold": {"hold-hold_kind": "court", "hold-hold_reason": "Probe of the hold form."},
    "records.lift_hold": {"lift-lift_reason": "Probe of the lift form, long enough."},
    "records.rectify": {"target": "applicant.phone", "new_value": "01632 960000",
                        "reason": "Probe of the correction form."},
}


def written(app: Flask) -> tuple[int, ...]:
    with app.app_context():
        session = get_session()
        return (*(session.scalar(select(func.count()).select_from(model))
                  for model in (Case, CaseStep, User)),
                session.scalar(select(func.count()).select_from(User).where(User.active)),
                audit.chain_length(session))


@pytest.mark.parametrize("role", ROLES)
def test_posts_to_missing_or_absurd_ids_are_refused_without_a_server_error(site: Site, role: str):
    client = site.clients[role]
    token = csrf_token(client, "/apply")  # any form's token is good for the whole session
    absurd = [value if "%" in value else quote(value, safe="") for value in ABSURD]
    valid = {"case_id": str(site.case_ids[0]), "event": "start_checks", "token": site.token,
             "user_id": str(site.user_ids[0]), "document_id": "1", "sample_id": "1",
             "source": "pnc", "request_id": "1", "notification_id": "1", "team_id": "1",
             "cover_id": "1", "closure_day_id": "1", "hold_id": "1"}
    before = written(site.app)
    tried = 0
    for rule in site.app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or not rule.arguments:
            continue
        for name in sorted(rule.arguments):
            for value in [MISSING_ID, "no_such_step", "A" * 43, *absurd]:
                url = fill(rule.rule, {**valid, name: value})
                data = {"csrf_token": token, **POST_DATA[rule.endpoint]}
                response = site.check(client, url, "POST", data)
                assert response.status_code in (302, 403, 404), (url, response.status_code)
                tried += 1
    assert tried > 50
    assert written(site.app) == before
    assert not site.problems, "\n".join(site.problems)


def test_every_html_response_carries_the_security_headers(site: Site):
    """Error pages too: a 404, a 405 and a CSRF failure."""
    client = site.clients["case_officer"]
    responses = [client.get("/staff/cases/999999"), client.get("/staff/sign-out"),
                 client.post("/staff/right-to-know/new", data={}), client.get("/no-such-page")]
    assert [r.status_code for r in responses] == [404, 405, 400, 404]
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
        assert "no-store" in response.headers["Cache-Control"]
