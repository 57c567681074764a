"""The public journey: start page, apply, check answers, submit, confirmation, the private status
page and withdrawal. Nobody here has an account."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from disclosure_app.core.errors import InputInvalid
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import Base, get_session
from disclosure_app.models import Applicant, AuditEntry, Case, Child, Subject
from tests.conftest import make_app
from tests.factories import SUBJECT_NAME, form_started_long_ago, make_case
from workflows.status import STAGE_LABELS, STATUS_LABELS, Status

APPLICANT = "Alice Applicant"
CHILD = "Charlie Child"
SECOND_CHILD = "Daisy Child"
SUBJECT = "Zebedee Quartermain"
FIXED_NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

# Everything the applicant's status page must never say (names, internal states and stages).
_FORBIDDEN_ON_STATUS = (
    [SUBJECT_NAME, SUBJECT, CHILD, APPLICANT, "Quartermain", "Charlie"]
    + [label for status, label in STATUS_LABELS.items()
       if status not in (Status.received, Status.initial_checks, Status.closed)]
    + list(STAGE_LABELS.values())[1:4]
    + [s.value for s in Status if s not in (Status.received, Status.closed)]
    + ["Risk check", "risk check", "decision", "face-to-face", "Face-to-face"]
)


def valid_answers(**overrides: Any) -> dict[str, Any]:
    """A complete, valid application as the browser posts it; ``None`` drops a field."""
    data: dict[str, Any] = {
        "applicant-full_name": APPLICANT,
        "applicant-other_names": "Alice Smith",
        "applicant-date_of_birth": ["14", "3", "1985"],
        "applicant-address": "12 Demo Terrace\nNorthshire",
        "applicant-postcode": "ns1 4dm",
        "applicant-phone": "01632 960001",
        "applicant-email": "alice@example.com",
        "applicant-contact_method": "phone",
        "applicant-safe_contact_times": "Weekdays 9am to 2pm",
        "applicant-messages_ok": "no",
        "applicant-contact_notes": "My partner reads my post.",
        "applicant-relationship_to_subject": "My ex-partner's new boyfriend",
        "child1-full_name": CHILD,
        "child1-date_of_birth": ["", "", ""],
        "child1-age": "7",
        "child1-gender": "Boy",
        "child1-lives_with": "His mother and her partner",
        "child1-applicant_relationship": "parent",
        "child1-subject_contact": "Lives in the same house and looks after him after school.",
        "child2-full_name": SECOND_CHILD,
        "child2-date_of_birth": ["5", "6", "2019"],
        "child2-age": "",
        "child2-applicant_relationship": "parent",
        "child2-subject_contact": "Same house.",
        "child3-full_name": "",
        "child3-date_of_birth": ["", "", ""],
        "subject-full_name": SUBJECT,
        "subject-aliases": "Zeb",
        "subject-date_of_birth": ["23", "4", "1977"],
        "subject-approximate_age": "",
        "subject-address": "99 Nonesuch Lane, Testborough",
        "subject-postcode": "NS2 7EX",
        "subject-relationship_to_child": "Mother's partner",
        "subject-relationship_to_applicant": "My ex-partner's boyfriend",
        "concern": "He talked about a previous conviction and is often alone with my son.",
        "declared_truthful": "y",
        "declared_sharing": "y",
        "submission_key": new_key(),
    }
    data.update(overrides)
    if "form_started" not in overrides and data.get("submission_key"):
        # Sent as a person would, well after the form was first shown (the fill-time check).
        data["form_started"] = form_started_long_ago(data["submission_key"])
    return {key: value for key, value in data.items() if value is not None}


def squash(page: str) -> str:
    """The page with runs of whitespace collapsed, so phrases can be found across line breaks."""
    return " ".join(page.split())


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def submit(client: Any, answers: dict[str, Any] | None = None) -> str:
    """Apply through the real pages; returns the status link shown on the confirmation page."""
    check = client.post("/apply", data=answers or valid_answers())
    assert check.status_code == 200, check.get_data(as_text=True)[:2000]
    hidden = hidden_fields(check.get_data(as_text=True), "/apply/submit")
    sent = client.post("/apply/submit", data=MultiDict(hidden))
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    return status_link(page)


def hidden_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The hidden inputs of the form on ``page`` that posts to ``action``."""
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    return [(n, _unescape(v)) for n, v in pairs] + ([("csrf_token", token[1])] if token else [])


def as_multidict(pairs: list[tuple[str, str]]) -> MultiDict:
    return MultiDict(pairs)


def _unescape(value: str) -> str:
    return (value.replace("&#10;", "\n").replace("&#39;", "'").replace("&#34;", '"')
            .replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
            .replace("&amp;", "&"))


def status_link(page: str) -> str:
    match = re.search(r'href="([^"]+)" data-testid="status-link"', page)
    assert match, page[:2000]
    return match[1]


def token_of(link: str) -> str:
    return link.rsplit("/status/", 1)[1]


# --- Start and information pages -------------------------------------------------------------


def test_start_page_explains_the_scheme_with_the_configured_timescales(client):
    page = squash(client.get("/").get_data(as_text=True))
    assert "Child Sex Offender Disclosure Scheme" in page
    assert "within 24 hours" in page
    # Working days by default (TARGET_DAYS): the public are told the same unit the clocks use.
    assert "within 10 working days" in page
    assert "within 45 working days" in page
    assert "If a child is in immediate danger, call 999." in page
    assert "app-emergency-banner" in page
    assert "not the way to report a crime" in page
    assert "person best placed to protect the child" in page
    assert "not normally told" in page
    assert re.search(r'href="/apply"[^>]*>\s*Start now', page)


def test_start_page_follows_a_change_to_the_configured_timescales(db_path):
    app = make_app(db_path, OVERALL_DAYS=30, INTERVIEW_DAYS=7, INITIAL_CHECKS_HOURS=12,
                   TARGET_DAYS="calendar")
    page = squash(app.test_client().get("/").get_data(as_text=True))
    assert "within 30 days" in page and "within 45" not in page
    assert "within 7 days" in page and "within 10" not in page
    assert "within 12 hours" in page and "within 24 hours" not in page
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize(("url", "facts"), [
    ("/privacy", ["Northshire Police", "Part 3 of the Data Protection Act 2018",
                  "children's social care", "Management of Police Information", "Your rights"]),
    ("/accessibility", ["Accessibility statement", "(WCAG) 2.2", "keyboard",
                        "Reporting accessibility problems"]),
])
def test_privacy_notice_and_accessibility_statement_have_real_content(client, url, facts):
    response = client.get(url)
    assert response.status_code == 200
    page = squash(response.get_data(as_text=True))
    for fact in facts:
        assert fact in page


def test_application_form_shows_every_section_and_the_emergency_notice(client):
    page = client.get("/apply").get_data(as_text=True)
    for heading in ("About you", "The child or children", "The person you are worried about",
                    "What worries you", "Declarations"):
        assert f'<h2 class="govuk-fieldset__heading">{heading}</h2>' in page
    assert "If a child is in immediate danger, call 999." in page
    assert "<title>Apply" in page


# --- The happy path --------------------------------------------------------------------------


def test_a_complete_application_is_stored_once_and_its_status_link_works(app, client):
    app.config["CLOCK"] = lambda: FIXED_NOW
    assert client.get("/").status_code == 200
    assert client.get("/apply").status_code == 200

    check = client.post("/apply", data=valid_answers())
    assert check.status_code == 200
    page = check.get_data(as_text=True)
    assert "Check your answers" in page
    for answer in (APPLICANT, CHILD, SECOND_CHILD, SUBJECT, "NS1 4DM", "By phone", "Parent",
                   "14 March 1985", "Mother&#39;s partner", "He talked about a previous"):
        assert answer in page
    assert count(app, Case) == 0  # nothing is stored before the applicant accepts

    sent = client.post("/apply/submit", data=as_multidict(hidden_fields(page, "/apply/submit")))
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/apply/confirmation")

    confirmation = client.get("/apply/confirmation")
    assert confirmation.status_code == 200
    page = squash(confirmation.get_data(as_text=True))
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        reference, token_hash = case.reference, case.status_token_hash
    assert reference in page
    link = status_link(page)
    assert link.startswith("http://localhost/status/")
    assert "Keep this link private" in page
    assert "Anyone who has it can see the progress" in page
    assert "within 24 hours" in page and "within 45 working days" in page
    assert "call 999" in page

    token = token_of(link)
    assert hashlib.sha256(token.encode()).hexdigest() == token_hash

    status = client.get(link)
    assert status.status_code == 200
    page = status.get_data(as_text=True)
    assert reference in page
    assert "Application received" in page
    assert "02 March 2026" in page  # received
    assert "03 March 2026" in page  # initial checks: 24 hours
    assert "16 March 2026" in page  # interview: 10 working days
    # Whole process: 45 working days, less Good Friday, Easter Monday and the May bank holiday.
    assert "07 May 2026" in page

    assert count(app, Case) == 1
    assert count(app, Applicant) == 1
    assert count(app, Subject) == 1
    assert count(app, Child) == 2
    assert count(app, AuditEntry) == 1
    assert count(app, AuditEntry, AuditEntry.action == "submit_application") == 1
    with app.app_context():
        session = get_session()
        case = session.scalars(select(Case)).one()
        assert case.status is Status.received
        assert case.applicant.postcode == "NS1 4DM"
        assert [c.full_name for c in case.children] == [CHILD, SECOND_CHILD]
        assert case.children[0].age == 7
        assert case.children[1].date_of_birth.isoformat() == "2019-06-05"
        assert case.subject.full_name == SUBJECT
        # The raw token is stored nowhere: only its hash.
        for table in Base.metadata.sorted_tables:
            for row in session.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                assert token not in repr(tuple(row)), table.name


def test_the_confirmation_page_cannot_be_shown_twice(client):
    submit(client)
    again = client.get("/apply/confirmation")
    assert again.status_code == 302
    assert again.headers["Location"].endswith("/")


def test_confirmation_without_an_application_redirects_to_the_start_page(client):
    response = client.get("/apply/confirmation")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")


def test_the_journey_works_with_csrf_protection_on(db_path):
    app = make_app(db_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    form = client.get("/apply").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    check = client.post("/apply", data={**valid_answers(), "csrf_token": token})
    assert check.status_code == 200
    page = check.get_data(as_text=True)
    change = client.post("/apply", data=as_multidict(hidden_fields(page, "/apply")))
    assert change.status_code == 200  # the change form carries its own token
    sent = client.post("/apply/submit", data=as_multidict(hidden_fields(page, "/apply/submit")))
    assert sent.status_code == 303
    assert count(app, Case) == 1
    app.extensions["db_engine"].dispose()


def test_change_your_answers_brings_back_every_value(client):
    answers = valid_answers()
    check = client.post("/apply", data=answers).get_data(as_text=True)
    hidden = hidden_fields(check, "/apply")
    assert ("action", "change") in hidden
    form = client.post("/apply", data=as_multidict(hidden))
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "Check your answers" not in page
    assert f'value="{APPLICANT}"' in page
    assert 'value="NS1 4DM"' in page
    assert 'value="Alice Smith"' in page
    assert "My partner reads my post." in page
    assert 'value="14"' in page and 'value="1985"' in page
    assert re.search(r'name="applicant-contact_method" type="radio" value="phone" checked', page)
    assert re.search(r'name="child1-applicant_relationship" type="radio" value="parent" checked',
                     page)
    assert re.search(r'name="declared_truthful" type="checkbox" value="y" checked', page)
    assert f'value="{SECOND_CHILD}"' in page
    # Sent on again without "action", the same answers come back to be checked.
    again = client.post("/apply", data=as_multidict([p for p in hidden if p[0] != "action"]))
    assert again.status_code == 200
    # The same answers; the CSRF token is signed afresh for each page.
    def answers_only(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [field for field in fields if field[0] != "csrf_token"]

    assert answers_only(hidden_fields(again.get_data(as_text=True), "/apply")) == (
        answers_only(hidden))


def test_markup_in_the_concern_is_shown_escaped_on_check_answers(client, app):
    response = client.post("/apply", data=valid_answers(concern="<script>alert(1)</script>"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert count(app, Case) == 0


def test_a_business_rule_refusal_from_the_service_is_shown_on_the_form(app, client, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise InputInvalid({"subject-full_name": "We could not accept this name"})

    monkeypatch.setattr("disclosure_app.cases.applications.submit_application", refuse)
    response = client.post("/apply/submit", data=valid_answers())
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    # Led by whose answer it is: the applicant and the children have a full name too.
    assert ('<a href="#subject-full_name">The person you are worried about: We could not '
            'accept this name</a>') in page
    assert count(app, Case) == 0


# --- The status page -------------------------------------------------------------------------


@pytest.mark.parametrize("token", [
    "unknown", "A" * 43, "x" * 101, "%00", "..%2F..%2Fetc", "%3Cscript%3E", "%E2%80%AE",
])
def test_status_page_for_an_unknown_or_garbage_token_is_a_plain_404(app, client, token):
    case, _ = make_case(app, Status.received)
    response = client.get(f"/status/{token}")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert case.reference not in page
    assert "Withdraw" not in page
    assert "Application received" not in page


@pytest.mark.parametrize(("status", "phase"), [
    (Status.received, "Application received"),
    (Status.awaiting_interview, "Initial checks and interview"),
    (Status.full_risk_assessment, "Checks and assessment in progress"),
    (Status.awaiting_decision, "Checks and assessment in progress"),
    (Status.disclosure_approved, "Checks and assessment in progress"),
    (Status.no_disclosure_decided, "Checks and assessment in progress"),
    (Status.outcome_communicated, "Completed"),
    (Status.closed, "Completed"),
])
def test_status_page_shows_only_the_public_phase_never_names_or_internal_stages(
    app, client, status, phase
):
    case, token = make_case(app, status)
    response = client.get(f"/status/{token}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert case.reference in page
    assert f'data-testid="phase"><strong class="govuk-tag">{phase}</strong>' in page
    visible = re.sub(r"<[^>]+>", " ", page)
    for forbidden in _FORBIDDEN_ON_STATUS:
        assert forbidden not in visible, forbidden
    assert "Zebedee" not in page and "Charlie" not in page


def test_viewing_the_status_page_writes_nothing(app, client):
    _, token = make_case(app, Status.awaiting_interview)
    before = count(app, AuditEntry)
    with app.app_context():
        version = get_session().scalars(select(Case.version)).one()
    for _ in range(2):
        assert client.get(f"/status/{token}").status_code == 200
    assert count(app, AuditEntry) == before
    with app.app_context():
        assert get_session().scalars(select(Case.version)).one() == version


def test_a_completed_application_shows_no_target_dates_and_no_withdraw_form(app, client):
    _, token = make_case(app, Status.closed)
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Completed" in page
    assert 'data-testid="targets"' not in page
    assert "Withdraw application" not in page


# --- Withdrawal ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.received, Status.awaiting_interview,
                                    Status.awaiting_decision])
def test_the_applicant_can_withdraw_before_a_decision(app, client, status):
    case, token = make_case(app, status)
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Withdraw application" in page
    before = count(app, AuditEntry)

    response = client.post(f"/status/{token}/withdraw",
                           data={"reason": "We have moved away.", "confirm": "y",
                                 "submission_key": new_key()})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/status/{token}")
    assert token not in repr(response.headers.get("Set-Cookie", ""))

    page = squash(client.get(f"/status/{token}").get_data(as_text=True))
    assert "Your application has been withdrawn." in page
    assert "call 101, or 999 in an emergency" in page
    assert "Completed" in page
    assert "Withdraw application" not in page
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.withdrawn
    assert count(app, AuditEntry) == before + 1
    assert count(app, AuditEntry, AuditEntry.action == "withdraw",
                 AuditEntry.case_id == case.id) == 1


def test_withdrawing_needs_the_confirmation_box_ticked(app, client):
    case, token = make_case(app, Status.received)
    before = count(app, AuditEntry)
    response = client.post(f"/status/{token}/withdraw", data={"reason": "Changed my mind",
                                                              "submission_key": new_key()})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page
    assert '<a href="#confirm">Confirm that you want to withdraw your application</a>' in page
    assert "Changed my mind" in page  # kept
    assert count(app, AuditEntry) == before
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.received


@pytest.mark.parametrize("reason", ["x" * 1001, "Because\u202e of reasons", "bell\x07"])
def test_a_withdrawal_reason_that_is_too_long_or_hides_characters_is_refused(app, client, reason):
    case, token = make_case(app, Status.received)
    response = client.post(f"/status/{token}/withdraw", data={"reason": reason, "confirm": "y",
                                                              "submission_key": new_key()})
    assert response.status_code == 400
    assert '<a href="#reason">' in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.received


def test_withdraw_is_not_offered_after_a_decision_and_is_refused_with_409(app, client):
    case, token = make_case(app, Status.disclosure_approved)
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Withdraw application" not in page
    assert "/withdraw" not in page
    before = count(app, AuditEntry)

    response = client.post(f"/status/{token}/withdraw", data={"confirm": "y"})
    assert response.status_code == 409
    refused = squash(response.get_data(as_text=True))
    assert "can no longer be withdrawn online" in refused
    assert "Disclosure approved" not in refused  # the internal state is never revealed
    assert count(app, AuditEntry) == before
    with app.app_context():
        assert get_session().get(Case, case.id).status is Status.disclosure_approved


def test_withdraw_with_an_unknown_token_is_a_404(app, client):
    make_case(app, Status.received)
    response = client.post("/status/not-a-token/withdraw", data={"confirm": "y"})
    assert response.status_code == 404
    assert count(app, Case, Case.status == Status.withdrawn) == 0


@pytest.mark.parametrize("url", ["/apply/submit", "/status/some-token/withdraw"])
def test_post_only_urls_refuse_get_with_405(client, url):
    assert client.get(url).status_code == 405
