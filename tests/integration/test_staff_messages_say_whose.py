"""The Right to Know form asks the same things about the subject and up to three children: each
error message says whose field it is (issue 11), in the error summary and by the field."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import func, select

from disclosure_app.db import get_session
from disclosure_app.models import Case
from tests.integration.test_staff_steps import right_to_know_payload


def summary_messages(page: str) -> list[str]:
    summary = page.split('govuk-error-summary__list"')[1].split("</ul>")[0]
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r"<li>(.*?)</li>", summary, flags=re.S)]


def test_each_date_of_birth_message_says_whose_it_is(app, staff, clients):
    payload = right_to_know_payload(**{
        "subject-date_of_birth": ["31", "2", "1969"],
        "children-0-date_of_birth": ["40", "1", "2015"], "children-0-age": "",
        "children-1-full_name": "Ben Carter", "children-1-date_of_birth": ["1", "1", "2999"],
        "children-1-subject_contact": "Babysits at weekends",
        "children-2-full_name": "Cleo Carter", "children-2-age": "seven",
        "children-2-subject_contact": "Babysits at weekends",
    })

    response = clients["case_officer"].post("/staff/right-to-know/new", data=payload)

    assert response.status_code == 400
    found = summary_messages(response.get_data(as_text=True))
    assert "The subject's date of birth must be a real date" in found
    assert "Child 1's date of birth must be a real date" in found
    assert "Child 2's date of birth must be in the past" in found
    assert "Child 3's age must be a whole number, like 9" in found
    assert "Date of birth must be a real date" not in found
    assert len(found) == len(set(found))
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Case)) == 0


def test_every_message_on_the_right_to_know_form_says_whose_field(app, staff, clients):
    payload = right_to_know_payload(**{
        "subject-full_name": "K" * 101, "subject-aliases": "Bell\x07",
        "subject-approximate_age": "200", "subject-postcode": "N" * 11,
        "children-0-full_name": "A" * 101, "children-0-age": "30",
        "children-1-full_name": "Ben\u200bCarter", "children-1-age": "7",
        "children-1-subject_contact": "x" * 1001,
    })

    response = clients["case_officer"].post("/staff/right-to-know/new", data=payload)

    assert response.status_code == 400
    found = summary_messages(response.get_data(as_text=True))
    assert set(found) == {
        "The subject's full name must be 100 characters or fewer",
        "Remove control characters from the subject's other names or aliases",
        "The subject's approximate age must be between 10 and 120",
        "The subject's postcode must be 10 characters or fewer",
        "Child 1's full name must be 100 characters or fewer",
        "Child 1's age must be between 0 and 17",
        "Remove hidden formatting characters (such as direction or zero-width marks) from "
        "child 2's full name",
        "How the person has contact with child 2 must be 1000 characters or fewer",
    }
