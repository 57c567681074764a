"""Server-side validation of the public application: every rule refuses with a 400, a GOV.UK
error summary that links to the field, the answers kept, and nothing stored. The check-your-answers
hidden fields get exactly the same checks when they come back to /apply/submit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from tests.integration.test_public_journey import (
    as_multidict,
    count,
    hidden_fields,
    squash,
    valid_answers,
)

TOMORROW = date.today() + timedelta(days=2)
NINETEEN_YEARS_AGO = date.today().replace(year=date.today().year - 19)


def _date(d: date) -> list[str]:
    return [str(d.day), str(d.month), str(d.year)]


# (case id, overrides, field id the error summary must link to, message fragment)
RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("postcode-shape", {"applicant-postcode": "12345"}, "applicant-postcode",
     "Enter a real postcode"),
    ("postcode-words", {"applicant-postcode": "NOT A POSTCODE"}, "applicant-postcode",
     "Enter a real postcode"),
    ("subject-postcode", {"subject-postcode": "SW1A"}, "subject-postcode",
     "Enter a real postcode"),
    ("dob-in-future", {"applicant-date_of_birth": _date(TOMORROW)},
     "applicant-date_of_birth-day", "Date of birth must be in the past"),
    ("dob-not-real", {"applicant-date_of_birth": ["31", "2", "1990"]},
     "applicant-date_of_birth-day", "Date of birth must be a real date"),
    ("dob-incomplete", {"applicant-date_of_birth": ["", "3", "1990"]},
     "applicant-date_of_birth-day", "must include a day, month and year"),
    ("dob-letters", {"subject-date_of_birth": ["1", "May", "1980"]},
     "subject-date_of_birth-day", "must be a real date"),
    ("dob-extra-parts", {"applicant-date_of_birth": ["1", "2", "1990", "4"]},
     "applicant-date_of_birth-day", "as a day, month and year"),
    ("child-age-18", {"child1-age": "18"}, "child1-age", "from 0 to 17"),
    ("child-age-negative", {"child1-age": "-1"}, "child1-age", "from 0 to 17"),
    ("child-age-words", {"child1-age": "seven"}, "child1-age", "from 0 to 17"),
    ("child-dob-adult", {"child1-age": "", "child1-date_of_birth": _date(NINETEEN_YEARS_AGO)},
     "child1-date_of_birth-day", "must be under 18"),
    ("child-no-dob-or-age", {"child1-age": ""}, "child1-date_of_birth-day",
     "date of birth or their age"),
    ("subject-age", {"subject-approximate_age": "500"}, "subject-approximate_age",
     "from 10 to 120"),
    ("bidi-override-applicant", {"applicant-full_name": "Alice \u202eecilA"},
     "applicant-full_name", "hidden formatting characters"),
    ("bidi-isolate-subject", {"subject-full_name": "Zebedee \u2066Q\u2069"},
     "subject-full_name", "hidden formatting characters"),
    ("zero-width-subject", {"subject-full_name": "Zebe\u200bdee Quartermain"},
     "subject-full_name", "hidden formatting characters"),
    ("zero-width-joiner-child", {"child1-full_name": "Char\u200dlie"}, "child1-full_name",
     "hidden formatting characters"),
    ("byte-order-mark-alias", {"subject-aliases": "\ufeffZeb"}, "subject-aliases",
     "hidden formatting characters"),
    ("word-joiner-child-2", {"child2-full_name": "Dai\u2060sy"}, "child2-full_name",
     "hidden formatting characters"),
    ("control-char-name", {"applicant-full_name": "Alice\x07Applicant"}, "applicant-full_name",
     "Remove control characters"),
    ("newline-in-name", {"subject-full_name": "Zebedee\nQuartermain"}, "subject-full_name",
     "Remove control characters"),
    ("nul-in-concern", {"concern": "He\x00 is"}, "concern", "Remove control characters"),
    ("long-applicant-name", {"applicant-full_name": "A" * 101}, "applicant-full_name",
     "100 characters or fewer"),
    ("long-subject-name", {"subject-full_name": "Z" * 101}, "subject-full_name",
     "100 characters or fewer"),
    ("long-address", {"applicant-address": "x" * 501}, "applicant-address",
     "500 characters or fewer"),
    ("long-safe-times", {"applicant-safe_contact_times": "x" * 501},
     "applicant-safe_contact_times", "500 characters or fewer"),
    ("long-contact-notes", {"applicant-contact_notes": "x" * 1001}, "applicant-contact_notes",
     "1000 characters or fewer"),
    ("long-relationship", {"applicant-relationship_to_subject": "x" * 201},
     "applicant-relationship_to_subject", "200 characters or fewer"),
    ("long-child-contact", {"child1-subject_contact": "x" * 1001}, "child1-subject_contact",
     "1000 characters or fewer"),
    ("long-concern", {"concern": "x" * 5001}, "concern", "5000 characters or fewer"),
    ("long-phone", {"applicant-phone": "0" * 31}, "applicant-phone", "30 characters or fewer"),
    ("email-format", {"applicant-contact_method": "email", "applicant-email": "not-an-email"},
     "applicant-email", "correct format"),
    ("email-no-domain-dot", {"applicant-email": "alice@localhost"}, "applicant-email",
     "correct format"),
    ("phone-letters", {"applicant-phone": "call me maybe"}, "applicant-phone",
     "Enter a telephone number"),
    ("phone-method-without-phone", {"applicant-contact_method": "phone", "applicant-phone": ""},
     "applicant-phone", "Enter a phone number"),
    ("email-method-without-email", {"applicant-contact_method": "email", "applicant-email": ""},
     "applicant-email", "Enter an email address"),
    ("tampered-radio", {"applicant-contact_method": "carrier_pigeon"},
     "applicant-contact_method", "Select how we should contact you"),
    ("tampered-child-relationship", {"child1-applicant_relationship": "owner"},
     "child1-applicant_relationship", "Select your relationship to the child"),
    ("missing-truth-declaration", {"declared_truthful": None}, "declared_truthful",
     "Confirm that the information you have given is true"),
    ("missing-sharing-declaration", {"declared_sharing": None}, "declared_sharing",
     "Confirm that you understand the police may share"),
    ("child-2-details-without-name", {"child2-full_name": ""}, "child2-full_name",
     "Child 2: Enter the child&#39;s full name"),
    ("child-3-only-partly-given", {"child3-age": "4"}, "child3-full_name",
     "Child 3: Enter the child&#39;s full name"),
]


@pytest.mark.parametrize("endpoint", ["/apply", "/apply/submit"])
@pytest.mark.parametrize(("overrides", "target", "message"),
                         [rule[1:] for rule in RULES], ids=[rule[0] for rule in RULES])
def test_each_rule_refuses_the_answers_and_stores_nothing(
    app, client, endpoint, overrides, target, message
):
    response = client.post(endpoint, data=valid_answers(**overrides))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>Error: " in page
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.search(rf'<a href="#{re.escape(target)}">[^<]*{re.escape(message)}', summary), summary
    assert f'id="{target}"' in page  # the link lands on an input on the page
    assert "Check your answers" not in page
    assert count(app, Case) == 0
    assert count(app, AuditEntry) == 0


def test_an_empty_application_lists_every_required_field(app, client):
    response = client.post("/apply", data={})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    links = re.findall(r'<li><a href="#([^"]+)">', page)
    assert links == [
        "applicant-full_name", "applicant-address", "applicant-postcode",
        "applicant-contact_method", "applicant-safe_contact_times", "applicant-messages_ok",
        "applicant-relationship_to_subject",
        "child1-full_name", "child1-date_of_birth-day", "child1-applicant_relationship",
        "child1-subject_contact",
        "subject-full_name", "subject-relationship_to_child",
        "concern", "declared_truthful", "declared_sharing",
    ]
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    assert set(links) <= ids
    assert count(app, Case) == 0


def test_submitting_empty_hidden_fields_stores_nothing(app, client):
    response = client.post("/apply/submit", data={})
    assert response.status_code == 400
    assert count(app, Case) == 0


def test_answers_are_kept_when_the_form_is_refused(client):
    response = client.post("/apply", data=valid_answers(**{"applicant-postcode": "12345"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Alice Applicant"' in page
    assert 'value="12345"' in page
    assert "He talked about a previous conviction" in page
    assert re.search(r'name="applicant-messages_ok" type="radio" value="no" checked', page)
    assert 'value="1985"' in page
    assert re.search(r'name="declared_sharing" type="checkbox" value="y" checked', page)
    assert "govuk-error-message" in page


def test_optional_children_left_blank_are_not_checked_or_stored(app, client):
    answers = valid_answers(**{"child2-full_name": "", "child2-date_of_birth": ["", "", ""],
                               "child2-applicant_relationship": None,
                               "child2-subject_contact": ""})
    response = client.post("/apply/submit", data=answers)
    assert response.status_code == 303
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert [child.full_name for child in case.children] == ["Charlie Child"]


def test_text_is_stored_nfc_normalised_trimmed_and_the_postcode_upper_case(app, client):
    answers = valid_answers(**{
        "applicant-full_name": "  Zoe\u0301 Applicant  ",  # e + combining acute
        "applicant-postcode": " ns1   4dm ",
        "subject-postcode": "ns27ex",
        "concern": "Line one\r\nLine two",
        "applicant-email": "  zoe@example.com ",
    })
    response = client.post("/apply/submit", data=answers)
    assert response.status_code == 303
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert case.applicant.full_name == "Zo\u00e9 Applicant"
        assert case.applicant.postcode == "NS1 4DM"
        assert case.subject.postcode == "NS2 7EX"
        assert case.applicant.email == "zoe@example.com"
        assert case.concern == "Line one\nLine two"


def test_a_name_of_exactly_the_limit_is_accepted(app, client):
    response = client.post("/apply/submit",
                           data=valid_answers(**{"applicant-full_name": "A" * 100}))
    assert response.status_code == 303
    assert count(app, Case) == 1


def test_unknown_and_tampered_extra_fields_are_ignored(app, client):
    answers = valid_answers(**{
        "status": "closed", "reference": "CSD-HACK-0000", "applicant-id": "999",
        "child5-full_name": "Extra Child", "subject-case_id": "1",
        "status_token_hash": "0" * 64,
    })
    response = client.post("/apply/submit", data=answers)
    assert response.status_code == 303
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert case.status.value == "received"
        assert case.reference != "CSD-HACK-0000"
        assert case.status_token_hash != "0" * 64
        assert [child.full_name for child in case.children] == ["Charlie Child", "Daisy Child"]


def test_a_tampered_overlong_name_in_the_hidden_fields_is_refused_on_submit(app, client):
    check = client.post("/apply", data=valid_answers())
    assert check.status_code == 200
    hidden = hidden_fields(check.get_data(as_text=True), "/apply/submit")
    tampered = [(n, "Z" * 5000 if n == "subject-full_name" else v) for n, v in hidden]
    response = client.post("/apply/submit", data=as_multidict(tampered))
    assert response.status_code == 400
    assert "100 characters or fewer" in squash(response.get_data(as_text=True))
    assert count(app, Case) == 0
