"""The breach forecast's flags: fitted from closed cases (and imported history), every open
case's running clocks are marked likely to breach or not, the workload page counts them, and
the queue and the case page show them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from disclosure_app.clocks import forecasting
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.db import get_session
from disclosure_app.models import CaseClock, ForecastFit
from tests.conftest import sign_in
from tests.factories import make_case, make_user
from workflows.forecast import ClosedCase, ForecastModel, Milestone
from workflows.roles import Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot


def history(days_to_close: int) -> list[ClosedCase]:
    """Forty closed cases that each took ``days_to_close`` working days."""
    offsets = {Milestone.received: 0, Milestone.checks_done: 1, Milestone.interviewed: 3,
               Milestone.assessed: max(4, days_to_close - 2), Milestone.closed: days_to_close}
    return [ClosedCase("right_to_ask", offsets) for _ in range(40)]


def flag(app, days_to_close: int) -> int:
    with app.app_context():
        session = get_session()
        policy = app.extensions["case_policy"]
        model = ForecastModel.fit(history(days_to_close), min_sample=30)
        now = datetime.now(UTC)
        return forecasting.flag_open_cases(session, model, load_calendar(
            session, policy, now.date()), now, 0.5)


def flagged(app, case_id: int) -> set[str]:
    with app.app_context():
        return set(get_session().scalars(select(CaseClock.clock).where(
            CaseClock.case_id == case_id, CaseClock.likely_breach.is_(True))))


def test_a_force_whose_cases_take_months_has_its_open_cases_flagged(app, staff):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    assert flag(app, 200) >= 1
    assert flagged(app, case.id) == {"assessment", "overall"}


def test_a_force_that_finishes_quickly_has_nothing_flagged_and_old_flags_are_cleared(app, staff):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    flag(app, 200)
    assert flagged(app, case.id)
    assert flag(app, 6) == 0
    assert flagged(app, case.id) == set()


def test_stopped_clocks_are_never_flagged(app, staff):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    flag(app, 200)
    assert "assessment" not in flagged(app, case.id)  # the assessment is done


def test_the_workload_page_counts_the_cases_likely_to_breach(app, staff):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    make_case(app, Status.closed, officer=staff["case_officer"])
    with app.app_context():
        sergeant = make_user(get_session(), Role.case_officer, rank=Rank.sergeant)
    flag(app, 200)
    page = sign_in(app, sergeant.email).get("/teams/workload").get_data(as_text=True)
    row = page.split(f'data-officer-id="{staff["case_officer"].id}"')[1].split("</tr>")[0]
    assert 'data-count="likely"><strong class="govuk-tag govuk-tag--orange">1<' in row


def test_the_queue_and_the_case_page_show_the_forecast(app, staff, clients):
    case, _ = make_case(app, Status.full_risk_assessment, officer=staff["case_officer"])
    with app.app_context():
        session = get_session()
        # A fitted model stored as the tick stores it: every case takes 200 working days.
        model = ForecastModel.fit(history(200), min_sample=30)
        session.add(ForecastFit(fitted_at=datetime.now(UTC), sample_size=40,
                                model_json=model.to_json()))
        session.commit()
    queue = clients["case_officer"].get("/staff/").get_data(as_text=True)
    assert "likely to breach" in queue
    page = clients["case_officer"].get(f"/staff/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="likely-to-breach"' in page and "Likely to finish by" in page
