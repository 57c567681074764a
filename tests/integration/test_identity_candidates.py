"""The identity page lists every candidate the register search found, a page at a time, with the
count; a record whose name uses look-alike letters is never dropped (issue 11, "Identity and
safety")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from disclosure_app.audit.chain import SystemActor
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry
from disclosure_app.risk.register.importer import CheckedFile, write_records
from disclosure_app.risk.register.records import parse_person
from tests.factories import (
    SUBJECT_PERSON_ID,
    ensure_test_register,
    make_case,
    register_people_for_tests,
)
from workflows.status import Status

NAMESAKES = 36
# "Zebedee" with a Cyrillic "е": to the eye the subject's own name, to the search a namesake
# whose forename only partly agrees, so it scores lowest of all and sorted off the old top 8.
LOOKALIKE_ID = "LOOK-000001"
PERSON = re.compile(r'data-person="([^"]+)"')


def crowded_register(app) -> list[str]:
    """The test register, plus 36 namesakes of the subject born in other years and one
    look-alike: more than a page of candidates. Returns the ids added."""
    base = register_people_for_tests()[-3]  # the namesake at another address
    people = [
        {**base, "person_id": f"NAME-{n:06d}", "date_of_birth": f"{1940 + n}-06-{1 + n % 27:02d}",
         "addresses": [{"line": f"{n} Faraway Road, Distantshire", "postcode": "DS9 1AA",
                        "from": "2000-01-01", "to": None}]}
        for n in range(1, NAMESAKES + 1)
    ]
    people.append({**base, "person_id": LOOKALIKE_ID, "forenames": "Z\u0435bedee",
                   "date_of_birth": "1961-11-30"})
    now = datetime.now(UTC)
    with app.app_context():
        session = get_session()
        ensure_test_register(session, now)
        records = [parse_person(p, now.date()) for p in people]
        write_records(session, CheckedFile(records, "1" * 64, len(records)),
                      file_name="namesakes.jsonl", now=now, actor=SystemActor(name="tests"))
    return [p["person_id"] for p in people]


def identity_page(client, case_id: int, page: int | None = None):
    url = f"/staff/cases/{case_id}/identity" + (f"?page={page}" if page else "")
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def shown(html: str) -> tuple[int, int, int]:
    match = re.search(r"Showing (\d+) to (\d+) of (\d+) candidates", html)
    assert match, "the page does not say how many candidates there are"
    first, last, total = (int(g) for g in match.groups())
    return first, last, total


def test_every_candidate_is_listed_a_page_at_a_time_with_the_count(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    added = crowded_register(app)
    officer = clients["case_officer"]

    first_page = identity_page(officer, case.id)
    first, last, total = shown(first_page)
    assert (first, last) == (1, 20)
    assert total > 40  # every namesake, the look-alike and the four test records
    assert "page 1 of 3" in first_page
    assert 'rel="next"' in first_page

    listed: list[str] = PERSON.findall(first_page)
    for number in (2, 3):
        html = identity_page(officer, case.id, number)
        start, end, same_total = shown(html)
        assert same_total == total and start == len(listed) + 1
        rows = PERSON.findall(html)
        assert end - start + 1 == len(rows)
        listed += rows
    assert len(listed) == total == len(set(listed))
    assert set(added) | {SUBJECT_PERSON_ID, "TEST-000002", "TEST-000003",
                         "TEST-000004"} <= set(listed)

    # A page past the end shows the last page; nonsense shows the first. Never an error.
    assert shown(identity_page(officer, case.id, 99))[:2] == shown(
        identity_page(officer, case.id, 3))[:2]
    assert shown(officer.get(f"/staff/cases/{case.id}/identity?page=x").get_data(
        as_text=True))[0] == 1

    with app.app_context():
        details = [e.payload for e in get_session().scalars(
            select(AuditEntry).where(AuditEntry.case_id == case.id,
                                     AuditEntry.action == "register_searched"))]
    assert details and all('"candidates_listed"' in d for d in details)


def test_a_look_alike_name_is_never_dropped_and_is_on_the_first_page(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"],
                        decider=staff["decision_maker"])
    crowded_register(app)
    html = identity_page(clients["case_officer"], case.id)
    assert f'data-person="{LOOKALIKE_ID}"' in html
    row = html[html.index(f'data-person="{LOOKALIKE_ID}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-testid="candidate-flag"' in row
    assert "look like Latin letters" in row
    assert 'data-testid="flagged-first"' in html
    # Flagged records come before the best match, so no page but the first can hide them.
    assert html.index(f'data-person="{LOOKALIKE_ID}"') < html.index(
        f'data-person="{SUBJECT_PERSON_ID}"')
