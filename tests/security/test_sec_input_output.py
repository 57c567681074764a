"""SECURITY.md §1.4 Input handling and output encoding (SEC-19 … SEC-23)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from pypdf import PdfReader
from werkzeug.datastructures import MultiDict

from disclosure_app import PROJECT_ROOT
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import get_session
from disclosure_app.documents.csv_export import csv_lines, neutralise
from tests.factories import give_reason, make_case
from tests.integration.test_public_journey import hidden_fields, valid_answers
from tests.integration.test_staff_steps import form_payload
from tests.security.helpers import written
from workflows.status import Status

# --- SEC-19 -------------------------------------------------------------------------------


def test_sec19_an_oversized_public_post_is_413_and_stores_nothing(app, client):
    before = written(app)
    body = valid_answers(concern="x" * (1024 * 1024))
    response = client.post("/apply/submit", data=body)
    assert response.status_code == 413
    assert written(app) == before


def test_sec19_a_name_with_a_direction_override_is_a_field_error_and_stores_nothing(app, client):
    before = written(app)
    response = client.post("/apply", data=valid_answers(**{
        "subject-full_name": "Zebedee \u202eniamretrauQ"}))
    assert response.status_code == 400
    assert "subject-full_name" in response.get_data(as_text=True)
    direct = client.post("/apply/submit", data=valid_answers(**{
        "subject-full_name": "Zebedee\u200bQuartermain"}))
    assert direct.status_code == 400
    assert written(app) == before


def test_sec19_one_answer_sent_twice_is_refused(app, staff, clients):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    before = written(app)
    payload = MultiDict(form_payload("decide_no_disclosure", {}, case.version))
    payload.add("reason_category", "not_necessary")
    payload.add("reason_category", "no_information")
    response = clients["decision_maker"].post(
        f"/staff/cases/{case.id}/steps/decide_no_disclosure", data=payload)
    assert response.status_code == 400
    twice = clients["case_officer"].post(
        f"/staff/cases/{case.id}/steps/raise_urgent_safeguarding",
        data=MultiDict([("rationale", "a"), ("rationale", "b"),
                        ("expected_version", str(case.version))]))
    assert twice.status_code == 400
    assert written(app) == before


def test_sec19_text_is_normalised_to_nfc_before_it_is_checked(app, client):
    decomposed = "Zoe\u0308 Quartermain"  # e + combining diaeresis
    page = client.post("/apply", data=valid_answers(**{"subject-full_name": decomposed}))
    assert page.status_code == 200
    assert "Zo\u00eb Quartermain" in page.get_data(as_text=True)


# --- SEC-20 -------------------------------------------------------------------------------

SQL = ["'; DROP TABLE cases;--", "' OR '1'='1", "Robert'); DELETE FROM users; --"]


def test_sec20_sql_metacharacters_round_trip_verbatim(app, client, clients, staff):
    answers = valid_answers(**{"applicant-contact_notes": SQL[0],
                               "subject-aliases": SQL[1],
                               "concern": SQL[2] + " and he is alone with my son."})
    check = client.post("/apply", data=answers)
    assert check.status_code == 200
    sent = client.post("/apply/submit", data=MultiDict(hidden_fields(
        check.get_data(as_text=True), "/apply/submit")))
    assert sent.status_code == 303
    with app.app_context():
        from sqlalchemy import select

        from disclosure_app.models import Case
        case = get_session().scalars(select(Case)).one()
        assert case.applicant.contact_notes == SQL[0]
        assert case.subject.aliases == SQL[1]
        assert case.concern.startswith(SQL[2])
        case_id = case.id
    page = clients["case_officer"].get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "&#39;; DROP TABLE cases;--" in page


def test_sec20_no_like_search_and_no_string_built_sql(app, clients):
    for probe in ("%25", "_", "CSD-%25", "' OR '1'='1"):
        search = clients["auditor"].get("/audit/", query_string={"reference": probe})
        assert search.status_code == 400, probe  # refused: never a wildcard match
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert re.search(r'select = \[[^\]]*"S"', pyproject)  # ruff's S608 runs in `make test`
    for path in (PROJECT_ROOT / "disclosure_app").rglob("*.py"):
        text = path.read_text()
        assert ".like(" not in text and ".ilike(" not in text, path


# --- SEC-21 -------------------------------------------------------------------------------

MARKUP = ["<script>alert(1)</script>", '"><svg onload=alert(1)>', "{{7*7}}"]


def test_sec21_markup_and_template_syntax_are_shown_as_text_everywhere(app, client, clients):
    answers = valid_answers(**{"applicant-contact_notes": MARKUP[0], "subject-aliases": MARKUP[1],
                               "concern": MARKUP[2] + " is what he wrote on the wall."})
    check = client.post("/apply", data=answers)
    assert check.status_code == 200
    assert client.post("/apply/submit", data=MultiDict(hidden_fields(
        check.get_data(as_text=True), "/apply/submit"))).status_code == 303
    pages = [clients["case_officer"].get("/staff/cases/1").get_data(as_text=True),
             clients["case_officer"].get("/staff/").get_data(as_text=True),
             clients["auditor"].get("/audit/cases/1").get_data(as_text=True)]
    for page in pages:
        assert "<script>alert(1)" not in page and "<svg onload" not in page
        assert ">49<" not in page and " 49 is what" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert "{{7*7}} is what he wrote" in pages[0]


def test_sec21_no_template_marks_data_safe_and_autoescape_is_on(app):
    allowed: set[str] = set()
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        for line in path.read_text().splitlines():
            if "|safe" in line.replace(" ", "") and path.name not in allowed:
                raise AssertionError(f"{path}: {line.strip()}")
    for path in (PROJECT_ROOT / "disclosure_app").rglob("*.py"):
        text = path.read_text()
        assert "render_template_string" not in text, path
        assert "Markup(" not in text, path
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ value }}")
        assert template.render(value="<b>") == "&lt;b&gt;"
    assert app.jinja_env.autoescape("x.html")


# --- SEC-22 -------------------------------------------------------------------------------

HOSTILE_PDF_TEXT = ('Unclosed <b> bold, <img src="/etc/passwd"> and <a href="javascript:alert(1)">'
                    'link</a> and <font color="red">colour</font> and <link href="file:///x">')


def test_sec22_hostile_text_in_a_pdf_is_literal_and_makes_no_links_or_actions(
        app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    with app.app_context():
        session = get_session()
        from disclosure_app.models import Case
        take_step(session, StepRequest(case.id, "raise_urgent_safeguarding",
                                       session.get(Case, case.id).version,
                                       {"risk_identified": HOSTILE_PDF_TEXT,
                                        "action_taken": "csc_referral",
                                        "who_was_informed": "<i>Duty</i> social worker"},
                                       HOSTILE_PDF_TEXT),
                  user=staff["case_officer"], policy=app.extensions["case_policy"],
                  now=datetime.now(UTC))
    give_reason(clients["case_officer"], case.id, section="decision_record")
    response = clients["case_officer"].get(f"/documents/cases/{case.id}/decision-record.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    for action in (b"/URI", b"/JavaScript", b"/Launch", b"/JS"):
        assert action not in body, action
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    squashed = " ".join(text.split())
    assert "Unclosed <b> bold" in squashed and 'href="javascript:alert(1)"' in squashed


# --- SEC-23 -------------------------------------------------------------------------------


def test_sec23_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    for cell in ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"):
        assert neutralise(cell) == "'" + cell
    assert neutralise("Plain text") == "Plain text"
    [header, row] = list(csv_lines(["name", "note"], [['=HYPERLINK("http://x","y")', 'a "q"']]))
    assert row.startswith("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"")
    assert '"a ""q"""' in row and row.endswith("\r\n")


def test_sec23_the_auditors_export_neutralises_staff_names(app, clients, staff):
    from disclosure_app.security import accounts as users
    from tests.factories import make_user
    from workflows.roles import Role

    with app.app_context():
        session = get_session()
        hostile = make_user(session, Role.admin, name='=HYPERLINK("http://x","y")')
        users.create_user(session, users.NewUser("new.person@test.example", "New Person",
                                                 Role.auditor),
                          "a long enough passphrase here", by=hostile.as_actor(),
                          now=datetime.now(UTC))
    export = clients["auditor"].get("/audit/export.csv")
    assert export.headers["Content-Disposition"].startswith("attachment")
    text = export.get_data(as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text
