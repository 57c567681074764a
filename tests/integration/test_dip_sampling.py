"""Dip sampling: a share of closed no-disclosure cases drawn at random for a second review by a
decision-maker who took no part in the decision, with the result recorded (issue 4).

Cases are made through the real workflow (decision by one decision-maker, approval by a second,
outcome communicated, case closed). Where a test needs a case closed on another day, it moves the
case's closing time directly: the workflow always closes a case "now".
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select, update

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.core.errors import InputInvalid, StepNotAllowed
from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.decisions import dip_sampling
from disclosure_app.decisions.cli import register_cli as register_dip_cli
from disclosure_app.decisions.dip_sampling import population_query, previous_month
from disclosure_app.decisions.views import bp as dip_bp
from disclosure_app.models import AuditEntry, Case, DipSample, DipSampleDraw, User
from tests.conftest import sign_in
from tests.factories import COUNTERSIGN_CONTRADICTION, NO_DISCLOSURE, make_case, make_user
from tests.integration.test_query_plans import plan, reads_through_an_index_on, scans_the_whole
from workflows.errors import DecisionMakerNotEligible
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

TODAY = datetime.now(UTC).date()
CLOSE = {"referrals_complete": "yes", "review_date": (TODAY + timedelta(days=2000)).isoformat()}
FINDINGS = "The checks were complete and each limb engages with this child's circumstances."
FOLLOW_UP = "New linked case opened by DI Third to reconsider disclosure to the mother."


@pytest.fixture
def app(app: Flask) -> Flask:
    """The app with dip sampling registered (until create_app registers it itself)."""
    if "dip_sampling.index" not in app.view_functions:
        app.register_blueprint(dip_bp)
        register_dip_cli(app)
    return app


# --- Making cases ------------------------------------------------------------------------------


def _step(app: Flask, case_id: int, event: str, user: User, data: dict[str, Any]) -> None:
    with app.app_context():
        session = get_session()
        version = session.get(Case, case_id).version
        take_step(session,
                  StepRequest(case_id, event, version, data, f"Test rationale for {event}."),
                  user=user, policy=app.extensions["case_policy"], now=datetime.now(UTC))
        session.expunge_all()


def closed_no_disclosure(app: Flask, staff: dict[str, Any]) -> Case:
    """A Right to Ask case: decided (decision_maker), approved (decision_maker_2), outcome
    communicated and closed by the case officer."""
    case, _ = make_case(app, Status.outcome_communicated, officer=staff["case_officer"],
                        decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    _step(app, case.id, "close_case", staff["case_officer"], CLOSE)
    with app.app_context():
        closed = get_session().get(Case, case.id)
        assert closed.status is Status.closed and closed.decision_outcome == "no_disclosure"
        get_session().expunge_all()
        return closed


def closed_on(app: Flask, case_id: int, day: date) -> None:
    with app.app_context():
        session = get_session()
        session.execute(update(Case).where(Case.id == case_id).values(
            closed_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC)))
        session.commit()


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        session = get_session()
        return {
            "draws": session.scalar(select(func.count()).select_from(DipSampleDraw)),
            "samples": session.scalar(select(func.count()).select_from(DipSample)),
            "reviewed": session.scalar(select(func.count()).select_from(DipSample)
                                       .where(DipSample.reviewed_at.is_not(None))),
            "audit": audit.chain_length(session),
        }


def draw(app: Flask, share: int = 100, *, closed_from: date = TODAY, closed_to: date = TODAY,
         seed: int | None = None, user: User | None = None) -> DipSampleDraw:
    with app.app_context():
        made = dip_sampling.draw(
            get_session(), user, share_percent=share, closed_from=closed_from,
            closed_to=closed_to, now=datetime.now(UTC),
            rng=random.Random(seed) if seed is not None else None)
        get_session().expunge_all()
        return made


def drawn_case_ids(app: Flask) -> list[int]:
    with app.app_context():
        return sorted(get_session().scalars(select(DipSample.case_id)))


def entries(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.seq))
        return [json.loads(row.payload) for row in rows]


def only_sample(app: Flask) -> DipSample:
    with app.app_context():
        sample = get_session().scalars(select(DipSample)).one()
        get_session().expunge_all()
        return sample


# --- The share, the population, the record of the draw ----------------------------------------


@pytest.mark.parametrize(("population", "share", "expected"), [
    (0, 10, 0), (1, 10, 1), (10, 10, 1), (11, 10, 2), (7, 25, 2), (3, 50, 2), (200, 1, 2),
    (201, 1, 3), (5, 100, 5), (99, 99, 99),
])
def test_the_number_drawn_is_the_share_rounded_up(population, share, expected):
    assert dip_sampling.sample_size(population, share) == expected


@pytest.mark.parametrize(("today", "first", "last"), [
    (date(2026, 3, 15), date(2026, 2, 1), date(2026, 2, 28)),
    (date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
    (date(2024, 3, 31), date(2024, 2, 1), date(2024, 2, 29)),
])
def test_the_default_range_is_the_previous_calendar_month(today, first, last):
    assert previous_month(today) == (first, last)


def test_a_draw_applies_the_share_exactly_and_records_population_selection_and_audit(app, staff):
    cases = [closed_no_disclosure(app, staff) for _ in range(3)]
    made = draw(app, 50, seed=1)
    assert (made.population, made.selected, made.share_percent) == (3, 2, 50)
    drawn = drawn_case_ids(app)
    assert len(drawn) == 2 and set(drawn) <= {c.id for c in cases}
    [entry] = entries(app, dip_sampling.DRAWN)
    assert entry["category"] == Category.consultation
    assert entry["actor"] == {"id": None, "role": "system", "name": dip_sampling.CLI_LABEL}
    assert entry["details"] == {
        "draw_id": made.id, "share_percent": 50, "closed_from": TODAY.isoformat(),
        "closed_to": TODAY.isoformat(), "population": 3, "selected": 2, "case_ids": drawn}
    with app.app_context():
        stored = get_session().get(DipSampleDraw, made.id)
        assert stored.audit_seq is not None and stored.drawn_by_id is None
        assert all(s.reviewed_at is None and s.result is None for s in stored.samples)
        assert audit.verify_chain(get_session()).ok


def test_only_closed_no_disclosure_cases_closed_in_the_range_are_eligible(app, staff):
    in_range = [closed_no_disclosure(app, staff) for _ in range(2)]
    earlier = closed_no_disclosure(app, staff)
    closed_on(app, earlier.id, TODAY - timedelta(days=40))
    disclosed, _ = make_case(app, Status.closed, officer=staff["case_officer"],
                             decider=staff["decision_maker"], approver=staff["decision_maker_2"])
    still_open, _ = make_case(app, Status.outcome_communicated, officer=staff["case_officer"],
                              decider=staff["decision_maker"],
                              approver=staff["decision_maker_2"])
    pending_approval, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    _step(app, pending_approval.id, "decide_no_disclosure", staff["decision_maker"],
          NO_DISCLOSURE)

    made = draw(app, 100)
    assert (made.population, made.selected) == (2, 2)
    assert drawn_case_ids(app) == sorted(c.id for c in in_range)
    # The earlier case is drawn only by a range that includes its closing day.
    older = draw(app, 100, closed_from=TODAY - timedelta(days=40),
                 closed_to=TODAY - timedelta(days=40))
    assert (older.population, older.selected) == (1, 1)
    assert set(drawn_case_ids(app)) == {c.id for c in in_range} | {earlier.id}
    never = {disclosed.id, still_open.id, pending_approval.id}
    assert never.isdisjoint(drawn_case_ids(app))


def test_no_case_is_ever_drawn_twice(app, staff):
    cases = [closed_no_disclosure(app, staff) for _ in range(3)]
    first = draw(app, 50, seed=7)
    second = draw(app, 50, seed=7)
    third = draw(app, 100)
    assert (first.population, first.selected) == (3, 2)
    assert (second.population, second.selected) == (1, 1)
    assert (third.population, third.selected) == (0, 0)
    assert drawn_case_ids(app) == sorted(c.id for c in cases)  # each exactly once


def test_a_draw_with_nothing_to_draw_is_still_recorded(app):
    made = draw(app, 10, closed_from=TODAY - timedelta(days=30))
    assert (made.population, made.selected) == (0, 0)
    assert counts(app)["draws"] == 1 and counts(app)["samples"] == 0
    [entry] = entries(app, dip_sampling.DRAWN)
    assert entry["details"]["population"] == 0 and entry["details"]["case_ids"] == []


def test_the_draw_is_random(app, staff):
    """Different randomness draws different cases from the same population."""
    for _ in range(4):
        closed_no_disclosure(app, staff)
    with app.app_context():
        eligible = list(get_session().scalars(population_query(TODAY, TODAY)))
    picks = {tuple(sorted(random.Random(seed).sample(eligible, 2))) for seed in range(40)}
    assert len(picks) > 1
    made = draw(app, 50, seed=3)
    assert tuple(drawn_case_ids(app)) == tuple(sorted(random.Random(3).sample(eligible, 2)))
    assert made.selected == 2


@pytest.mark.parametrize(("share", "closed_from", "closed_to", "field"), [
    (0, TODAY, TODAY, "share_percent"),
    (101, TODAY, TODAY, "share_percent"),
    (-5, TODAY, TODAY, "share_percent"),
    (10, TODAY, TODAY - timedelta(days=1), "closed_to"),
    (10, TODAY, TODAY + timedelta(days=1), "closed_to"),
    (10, TODAY + timedelta(days=1), TODAY + timedelta(days=2), "closed_from"),
    (10, date(1999, 12, 31), TODAY, "closed_from"),
])
def test_a_bad_draw_is_refused_with_the_field_named_and_nothing_stored(
        app, staff, share, closed_from, closed_to, field):
    closed_no_disclosure(app, staff)
    before = counts(app)
    with pytest.raises(InputInvalid) as refused:
        draw(app, share, closed_from=closed_from, closed_to=closed_to)
    assert field in refused.value.errors
    assert counts(app) == before


def test_only_a_decision_maker_may_draw(app, staff):
    with app.app_context():
        officer = get_session().get(User, staff["case_officer"].id)
        with pytest.raises(Exception, match="Only a decision-maker"):
            dip_sampling.draw(get_session(), officer, share_percent=10, closed_from=TODAY,
                              closed_to=TODAY, now=datetime.now(UTC))
    assert counts(app)["draws"] == 0


# --- Who may review ---------------------------------------------------------------------------


@pytest.fixture
def drawn(app: Flask, staff: dict[str, Any]) -> DipSample:
    closed_no_disclosure(app, staff)
    draw(app, 100)
    return only_sample(app)


@pytest.fixture
def reviewer(app: Flask) -> User:
    with app.app_context():
        person = make_user(get_session(), Role.decision_maker, name="Rhea Reviewer",
                           rank=Rank.inspector)
        get_session().expunge_all()
        return person


def review(app: Flask, user: User, sample_id: int, result: str = "upheld",
           findings: str = FINDINGS, follow_up: str = "") -> DipSample:
    with app.app_context():
        session = get_session()
        done = dip_sampling.record_review(
            session, session.get(User, user.id), sample_id, result=result, findings=findings,
            follow_up=follow_up, policy=app.extensions["case_policy"], now=datetime.now(UTC))
        session.expunge_all()
        return done


@pytest.mark.parametrize(("who", "reason"), [
    ("decision_maker", "took part in this case's decision"),
    ("decision_maker_2", "took part in this case's decision"),
])
def test_the_decisions_author_and_approver_may_not_review_it(app, staff, drawn, who, reason):
    before = counts(app)
    with pytest.raises(DecisionMakerNotEligible, match=reason):
        review(app, staff[who], drawn.id)
    assert counts(app) == before


def test_a_decision_maker_below_the_minimum_rank_may_not_review(app, drawn):
    with app.app_context():
        sergeant = make_user(get_session(), Role.decision_maker, rank=Rank.sergeant)
        get_session().expunge_all()
    with pytest.raises(DecisionMakerNotEligible, match="at least Inspector rank"):
        review(app, sergeant, drawn.id)
    assert counts(app)["reviewed"] == 0


def test_the_case_officer_may_not_review_the_decision(app, staff, reviewer):
    case = SimpleNamespace(id=0, assigned_officer_id=reviewer.id, decision_author_id=None,
                           decision_approver_id=None)
    with app.app_context(), pytest.raises(DecisionMakerNotEligible, match="case officer"):
        dip_sampling.check_reviewer(get_session(), reviewer, case,
                                    app.extensions["case_policy"])


def test_a_decision_maker_who_sent_an_earlier_decision_back_may_not_review(app, staff, reviewer):
    """Taking part includes an earlier round: sending a decision back is part of it."""
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    _step(app, case.id, "decide_no_disclosure", staff["decision_maker"], NO_DISCLOSURE)
    _step(app, case.id, "return_decision", reviewer,
          {"what_needs_changing": "The proportionality limb needs the family's circumstances."})
    _step(app, case.id, "decide_no_disclosure", staff["decision_maker"], NO_DISCLOSURE)
    _step(app, case.id, "countersign_decision", staff["decision_maker_2"],
          COUNTERSIGN_CONTRADICTION)
    _step(app, case.id, "communicate_outcome", staff["case_officer"],
          {"method": "phone", "communicated_on": TODAY.isoformat()})
    _step(app, case.id, "close_case", staff["case_officer"], CLOSE)
    draw(app, 100)
    with pytest.raises(DecisionMakerNotEligible, match="took part"):
        review(app, reviewer, only_sample(app).id)


# --- Recording the review ---------------------------------------------------------------------


def test_a_review_is_recorded_once_with_its_audit_entry(app, drawn, reviewer):
    done = review(app, reviewer, drawn.id, "upheld_with_learning",
                  findings=FINDINGS, follow_up="Shared at the decision-makers' meeting.")
    assert (done.result, done.reviewer_id, done.findings) == (
        "upheld_with_learning", reviewer.id, FINDINGS)
    [entry] = entries(app, dip_sampling.REVIEWED)
    assert entry["case_id"] == drawn.case_id and entry["category"] == Category.alteration
    assert entry["details"]["result"] == "upheld_with_learning"
    assert entry["details"]["findings_sha256"] == hashlib.sha256(FINDINGS.encode()).hexdigest()
    assert FINDINGS not in json.dumps(entry) and "meeting" not in json.dumps(entry)
    with app.app_context():
        assert get_session().get(DipSample, drawn.id).audit_seq == entry["seq"]
    before = counts(app)
    with pytest.raises(StepNotAllowed, match="already reviewed"):
        review(app, reviewer, drawn.id, "not_upheld", follow_up=FOLLOW_UP)
    assert counts(app) == before
    with app.app_context():
        assert get_session().get(DipSample, drawn.id).result == "upheld_with_learning"


@pytest.mark.parametrize(("result", "findings", "follow_up", "field"), [
    ("not_upheld", FINDINGS, "", "follow_up"),
    ("not_upheld", FINDINGS, "   ", "follow_up"),
    ("upheld", "", "", "findings"),
    ("upheld", "  \n ", "", "findings"),
    ("maybe", FINDINGS, "", "result"),
    ("", FINDINGS, "", "result"),
    ("upheld", "x" * 5001, "", "findings"),
    ("upheld", "Fine\u202e", "", "findings"),
    ("not_upheld", FINDINGS, "Open a case\x07", "follow_up"),
])
def test_a_bad_review_is_refused_and_nothing_stored(app, drawn, reviewer, result, findings,
                                                     follow_up, field):
    before = counts(app)
    with pytest.raises(InputInvalid) as refused:
        review(app, reviewer, drawn.id, result, findings, follow_up)
    assert field in refused.value.errors
    assert counts(app) == before


def test_a_not_upheld_review_with_its_follow_up_is_recorded(app, drawn, reviewer):
    done = review(app, reviewer, drawn.id, "not_upheld", follow_up=FOLLOW_UP)
    assert (done.result, done.follow_up) == ("not_upheld", FOLLOW_UP)
    with app.app_context():
        case = get_session().get(Case, drawn.case_id)
        assert case.status is Status.closed  # never reopened: the follow-up says what happens


# --- The pages --------------------------------------------------------------------------------


def _date(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


def draw_form(share: str = "100", closed_from: date = TODAY, closed_to: date = TODAY,
              key: str | None = None) -> dict[str, Any]:
    return {"share_percent": share, "closed_from": _date(closed_from),
            "closed_to": _date(closed_to), "submission_key": key or new_key()}


def review_form(result: str = "upheld", findings: str = FINDINGS, follow_up: str = "",
                key: str | None = None) -> dict[str, Any]:
    return {"result": result, "findings": findings, "follow_up": follow_up,
            "submission_key": key or new_key()}


def test_a_no_disclosure_case_is_drawn_and_reviewed_through_the_pages(app, staff, clients):
    case = closed_no_disclosure(app, staff)
    decider = clients["decision_maker"]
    page = decider.get("/staff/dip-sampling/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    first, last = previous_month(TODAY)
    assert 'name="share_percent" type="text" value="10"' in body
    assert f'name="closed_from" type="text" value="{first:%d}"' in body
    assert f'name="closed_to" type="text" value="{last:%d}"' in body
    assert "No drawn case is awaiting review." in body

    drawn = decider.post("/staff/dip-sampling/draw", data=draw_form())
    assert drawn.status_code == 303 and drawn.headers["Location"].endswith("/staff/dip-sampling/")
    listing = decider.get("/staff/dip-sampling/").get_data(as_text=True)
    assert "Dip sample drawn: 1 of 1 closed no-disclosure cases (100%)" in listing
    assert case.reference in listing
    sample = only_sample(app)
    with app.app_context():
        assert get_session().get(DipSampleDraw, sample.draw_id).drawn_by_id == \
            staff["decision_maker"].id

    # The author of the decision sees the page, told why they cannot review it.
    own = decider.get(f"/staff/dip-sampling/samples/{sample.id}").get_data(as_text=True)
    assert "took part in this case&#39;s decision" in own and 'data-testid="review-form"' not in own

    with app.app_context():
        third = make_user(get_session(), Role.decision_maker, name="Tess Third",
                          rank=Rank.superintendent)
        get_session().expunge_all()
    other = sign_in(app, third.email)
    page = other.get(f"/staff/dip-sampling/samples/{sample.id}").get_data(as_text=True)
    assert f'href="/staff/cases/{case.id}"' in page
    assert f'href="/documents/cases/{case.id}/decision-record.pdf"' in page
    assert 'data-testid="review-form"' in page
    done = other.post(f"/staff/dip-sampling/samples/{sample.id}/review",
                      data=review_form("not_upheld", follow_up=FOLLOW_UP))
    assert done.status_code == 303
    listing = other.get("/staff/dip-sampling/").get_data(as_text=True)
    assert f"Review of {case.reference} recorded" in listing
    assert "Not upheld: the decision should be revisited" in listing
    again = other.post(f"/staff/dip-sampling/samples/{sample.id}/review", data=review_form())
    assert again.status_code == 409
    assert "already reviewed" in again.get_data(as_text=True)
    assert only_sample(app).result == "not_upheld"


@pytest.mark.parametrize(("form", "message"), [
    (draw_form(share=""), "Enter the share to draw"),
    (draw_form(share="ten"), "The share must be a whole number from 1 to 100"),
    (draw_form(share="12.5"), "The share must be a whole number from 1 to 100"),
    (draw_form(share="0"), "The share must be a whole number from 1 to 100"),
    (draw_form(share="101"), "The share must be a whole number from 1 to 100"),
    (draw_form(closed_from=TODAY, closed_to=TODAY - timedelta(days=1)),
     "The last closing date must be the same as or after the first"),
    (draw_form(closed_to=TODAY + timedelta(days=1)), "must be today or in the past"),
    ({**draw_form(), "closed_from": ["31", "2", "2026"]}, "Cases closed from must be a real date"),
    ({**draw_form(), "closed_to": ["", "", ""]}, "Enter the last closing date"),
    ({**draw_form(), "submission_key": "short"}, "Nothing was saved"),
])
def test_a_bad_draw_form_is_a_400_with_an_error_summary_and_nothing_stored(
        app, staff, clients, form, message):
    closed_no_disclosure(app, staff)
    before = counts(app)
    response = clients["decision_maker"].post("/staff/dip-sampling/draw", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in body and message in body
    assert counts(app) == before


def test_a_draw_form_sent_twice_draws_once(app, staff, clients):
    closed_no_disclosure(app, staff)
    closed_no_disclosure(app, staff)
    form = draw_form(share="50")
    first = clients["decision_maker"].post("/staff/dip-sampling/draw", data=form)
    second = clients["decision_maker"].post("/staff/dip-sampling/draw", data=form)
    assert first.status_code == second.status_code == 303
    assert counts(app)["draws"] == 1 and counts(app)["samples"] == 1
    page = clients["decision_maker"].get("/staff/dip-sampling/").get_data(as_text=True)
    assert "already made from this form, so nothing was drawn again" in page


@pytest.mark.parametrize(("form", "message"), [
    (review_form(result=""), "Select the result of the review"),
    (review_form(result="maybe"), "Select the result of the review"),
    (review_form(findings="   "), "Enter your findings"),
    (review_form(result="not_upheld"), "Say what will be done"),
    (review_form(findings="x" * 5001), "Keep this to 5,000 characters or fewer"),
    (review_form(findings="Hidden\u200b mark"), "Remove hidden formatting characters"),
])
def test_a_bad_review_form_is_a_400_with_an_error_summary_and_nothing_stored(
        app, drawn, reviewer, form, message):
    client = sign_in(app, reviewer.email)
    before = counts(app)
    response = client.post(f"/staff/dip-sampling/samples/{drawn.id}/review", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in body and message in body
    assert 'data-testid="review-form"' in body  # what was typed is shown again
    assert counts(app) == before


def test_a_review_form_sent_twice_is_recorded_once(app, drawn, reviewer):
    client = sign_in(app, reviewer.email)
    form = review_form()
    url = f"/staff/dip-sampling/samples/{drawn.id}"
    assert client.post(f"{url}/review", data=form).status_code == 303
    repeat = client.post(f"{url}/review", data=form)
    assert repeat.status_code == 303 and repeat.headers["Location"].endswith(url)
    assert len(entries(app, dip_sampling.REVIEWED)) == 1
    assert "already recorded from this form" in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("who", ["decision_maker", "decision_maker_2"])
def test_the_author_or_approver_posting_a_review_is_refused_with_a_403(app, clients, drawn, who):
    before = counts(app)
    response = clients[who].post(f"/staff/dip-sampling/samples/{drawn.id}/review",
                                 data=review_form())
    assert response.status_code == 403
    assert "took part in this case&#39;s decision" in response.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize("who", ["case_officer", "partner", "admin"])
def test_other_staff_roles_are_refused_every_dip_sampling_page(app, clients, drawn, who):
    client = clients[who]
    url = f"/staff/dip-sampling/samples/{drawn.id}"
    before = counts(app)
    assert client.get("/staff/dip-sampling/").status_code == 403
    assert client.post("/staff/dip-sampling/draw", data=draw_form()).status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/review", data=review_form()).status_code == 403
    assert counts(app) == before


def test_a_visitor_is_sent_to_sign_in(app, clients, drawn):
    for method, url in (("GET", "/staff/dip-sampling/"), ("POST", "/staff/dip-sampling/draw"),
                        ("GET", f"/staff/dip-sampling/samples/{drawn.id}"),
                        ("POST", f"/staff/dip-sampling/samples/{drawn.id}/review")):
        response = clients["anonymous"].open(url, method=method, data=draw_form())
        assert response.status_code == 302
        assert "/staff/sign-in" in response.headers["Location"]
    assert counts(app)["draws"] == 1 and counts(app)["reviewed"] == 0


def test_an_auditor_reads_the_pages_without_any_form(app, clients, drawn, reviewer):
    auditor = clients["auditor"]
    index = auditor.get("/staff/dip-sampling/").get_data(as_text=True)
    assert 'data-testid="draw-form"' not in index and "<form method=\"post\"" not in index
    assert 'data-testid="population">1<' in index and 'data-testid="selected">1<' in index
    url = f"/staff/dip-sampling/samples/{drawn.id}"
    page = auditor.get(url)
    assert page.status_code == 200
    assert 'data-testid="review-form"' not in page.get_data(as_text=True)
    before = counts(app)
    assert auditor.post(f"{url}/review", data=review_form()).status_code == 403
    assert auditor.post("/staff/dip-sampling/draw", data=draw_form()).status_code == 403
    assert counts(app) == before
    review(app, reviewer, drawn.id)
    reviewed = auditor.get(url).get_data(as_text=True)
    assert "Upheld: the no-disclosure decision stands" in reviewed
    assert str(escape(FINDINGS)) in reviewed


def test_a_missing_sample_is_a_404(clients):
    assert clients["decision_maker"].get("/staff/dip-sampling/samples/999999").status_code == 404
    assert clients["auditor"].get("/staff/dip-sampling/samples/999999").status_code == 404


# --- The command line -------------------------------------------------------------------------


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["dip-sample", "draw", *args])


def test_the_cli_draws_and_prints_the_references(app, staff):
    cases = [closed_no_disclosure(app, staff) for _ in range(2)]
    result = _run(app, "--share", "100", "--from", TODAY.isoformat(), "--to", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    assert "2 of 2 closed no-disclosure cases drawn (100%)" in result.output
    assert {c.reference for c in cases} <= set(result.output.split())
    assert drawn_case_ids(app) == sorted(c.id for c in cases)
    [entry] = entries(app, dip_sampling.DRAWN)
    assert entry["actor"]["name"] == dip_sampling.CLI_LABEL


def test_the_cli_defaults_to_the_configured_share_and_the_previous_month(app, staff):
    closed_no_disclosure(app, staff)  # closed today: outside last month
    result = _run(app)
    assert result.exit_code == 0, result.output
    first, last = previous_month(TODAY)
    assert f"0 of 0 closed no-disclosure cases drawn (10%), closed {first} to {last}" \
        in result.output
    with app.app_context():
        made = get_session().scalars(select(DipSampleDraw)).one()
        assert (made.share_percent, made.closed_from, made.closed_to) == (10, first, last)


@pytest.mark.parametrize(("args", "message"), [
    (("--share", "0"), "The share must be a whole number from 1 to 100"),
    (("--from", TODAY.isoformat(), "--to", (TODAY - timedelta(days=1)).isoformat()),
     "The last closing date must be the same as or after the first"),
    (("--from", "2026-02-30"), "Invalid value for '--from'"),
])
def test_the_cli_refuses_bad_input_and_draws_nothing(app, args, message):
    result = _run(app, *args)
    assert result.exit_code != 0 and message in result.output
    assert counts(app)["draws"] == 0


# --- Reads through indexes --------------------------------------------------------------------


def test_the_population_is_read_through_the_outcome_and_closing_date_index(session):
    text = plan(session, population_query(TODAY - timedelta(days=31), TODAY))
    assert not scans_the_whole("cases", text), text
    assert reads_through_an_index_on("cases", text), text
    assert not scans_the_whole("dip_samples", text), text


def test_the_pending_reviews_are_read_through_their_index(session):
    pending = (select(DipSample).where(DipSample.reviewed_at.is_(None))
               .order_by(DipSample.reviewed_at, DipSample.id).limit(200))
    text = plan(session, pending)
    assert not scans_the_whole("dip_samples", text), text
    assert reads_through_an_index_on("dip_samples", text), text


def test_the_auditor_finds_draws_and_reviews_in_the_decision_log(app, clients, drawn, reviewer):
    review(app, reviewer, drawn.id)
    auditor = clients["auditor"]
    for action, label in (("dip_sample_drawn", "Dip sample drawn"),
                          ("dip_sample_reviewed", "Dip-sample review recorded")):
        found = auditor.get(f"/audit/?action={action}")
        assert found.status_code == 200 and label in found.get_data(as_text=True)
    trail = auditor.get(f"/audit/cases/{drawn.case_id}").get_data(as_text=True)
    assert "Dip-sample review recorded" in trail


# --- At the same moment -------------------------------------------------------------------------


def _at_once(count: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; each result or exception."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_simultaneous_draws_never_pick_the_same_case(app, staff):
    cases = [closed_no_disclosure(app, staff) for _ in range(3)]
    results = _at_once(4, lambda i: draw(app, 100))
    assert all(isinstance(r, DipSampleDraw) for r in results), results
    assert sorted(r.selected for r in results) == [0, 0, 0, 3]
    assert sorted(r.population for r in results) == [0, 0, 0, 3]
    assert drawn_case_ids(app) == sorted(c.id for c in cases)
    with app.app_context():
        assert audit.verify_chain(get_session()).ok


def test_simultaneous_reviews_of_one_sample_record_exactly_one(app, drawn, reviewer):
    with app.app_context():
        second = make_user(get_session(), Role.decision_maker, rank=Rank.chief_inspector)
        get_session().expunge_all()
    people = [reviewer, second]
    results = _at_once(2, lambda i: review(app, people[i], drawn.id))
    assert sorted(type(r).__name__ for r in results) == ["DipSample", "StepNotAllowed"]
    assert len(entries(app, dip_sampling.REVIEWED)) == 1


def test_every_problem_with_a_draw_form_is_shown_at_once(app, clients):
    form = draw_form(share="ten", closed_from=TODAY, closed_to=TODAY - timedelta(days=1))
    response = clients["decision_maker"].post("/staff/dip-sampling/draw", data=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#share_percent">The share must be a whole number' in body
    assert '<a href="#closed_to-day">The last closing date must be the same as or after' in body
    assert counts(app)["draws"] == 0
