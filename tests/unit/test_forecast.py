"""Breach forecasting (workflows.forecast): the arithmetic on small hand-made histories, the
conditioning on time already spent, the stated prior and how it fades out, and the JSON form."""

from __future__ import annotations

import json

import pytest

from workflows.clocks import ClockName, ClockPolicy
from workflows.forecast import (
    ENDS_AT,
    MAX_QUANTILES,
    ClosedCase,
    Forecast,
    ForecastModel,
    Milestone,
    Prior,
    forecast,
    likely_to_breach,
    milestones_of,
)

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

RECEIVED, CHECKS, INTERVIEWED, ASSESSED, CLOSED = Milestone
DUE = {CHECKS: 1, INTERVIEWED: 10, ASSESSED: 28, CLOSED: 45}


def ask(*offsets: int) -> ClosedCase:
    """A Right to Ask case that reached every milestone, at these working-day offsets."""
    return ClosedCase("right_to_ask", dict(zip(Milestone, offsets, strict=True)))


# received→closed 20, 30, 40, 50; received→assessed 15, 20, 25, 30; assessed→closed 5 … 20.
FOUR = [ask(0, 1, 5, 15, 20), ask(0, 1, 6, 20, 30), ask(0, 2, 8, 25, 40), ask(0, 1, 9, 30, 50)]
SMALL = ForecastModel.fit(FOUR, min_sample=4)


# --- Milestones and clocks


def test_each_clock_ends_at_its_milestone_and_right_to_know_has_no_interview():
    assert ENDS_AT == {ClockName.initial_checks: CHECKS, ClockName.interview: INTERVIEWED,
                       ClockName.assessment: ASSESSED, ClockName.overall: CLOSED}
    assert milestones_of("right_to_ask") == (RECEIVED, CHECKS, INTERVIEWED, ASSESSED, CLOSED)
    assert milestones_of("right_to_know") == (RECEIVED, CHECKS, ASSESSED, CLOSED)


# --- Fitting


def test_the_model_keeps_the_sorted_durations_between_every_pair_of_milestones():
    assert SMALL.between("right_to_ask", RECEIVED, CLOSED).quantiles == (20, 30, 40, 50)
    assert SMALL.between("right_to_ask", ASSESSED, CLOSED).quantiles == (5, 10, 15, 20)
    assert SMALL.between("right_to_ask", INTERVIEWED, ASSESSED).quantiles == (10, 14, 17, 21)
    durations = SMALL.between("right_to_ask", RECEIVED, CLOSED)
    assert (durations.sample_size, durations.prior_points) == (4, 0)


def test_a_case_counts_only_for_the_milestones_it_reached():
    withdrawn = ClosedCase("right_to_ask", {RECEIVED: 0, CHECKS: 1, CLOSED: 3})
    model = ForecastModel.fit([*FOUR, withdrawn], min_sample=4)
    assert model.between("right_to_ask", CHECKS, CLOSED).quantiles == (2, 19, 29, 38, 49)
    assert model.between("right_to_ask", CHECKS, ASSESSED).sample_size == 4


def test_the_routes_are_kept_apart():
    know = ClosedCase("right_to_know", {"received": 0, "checks_done": 1, "assessed": 9,
                                        "closed": 12})  # string keys, as from stored JSON
    model = ForecastModel.fit([*FOUR, know], min_sample=1)
    assert model.between("right_to_know", RECEIVED, CLOSED).quantiles == (12,)
    assert model.between("right_to_ask", RECEIVED, CLOSED).quantiles == (20, 30, 40, 50)


def test_a_long_history_is_thinned_to_evenly_spaced_quantiles():
    history = [ClosedCase("right_to_know", {RECEIVED: 0, CLOSED: d}) for d in range(1000)]
    durations = ForecastModel.fit(history).between("right_to_know", RECEIVED, CLOSED)
    assert len(durations.quantiles) == MAX_QUANTILES
    assert durations.sample_size == 1000 and durations.prior_points == 0
    assert durations.quantiles[:3] == (2, 7, 12) and durations.quantiles[-1] == 997


def test_fit_refuses_an_impossible_minimum_or_route():
    with pytest.raises(ValueError, match="min_sample"):
        ForecastModel.fit([], min_sample=0)
    with pytest.raises(ValueError, match="min_sample"):
        ForecastModel.fit([], min_sample=MAX_QUANTILES + 1)
    with pytest.raises(ValueError, match="right_to_wonder"):
        ForecastModel.fit([ClosedCase("right_to_wonder", {RECEIVED: 0, CLOSED: 3})])


# --- Forecasting: known quantiles give known chances


def test_from_receipt_the_chances_are_the_shares_of_history_beyond_each_target():
    result = forecast(SMALL, "right_to_ask", RECEIVED, 0, 0, DUE)
    # Checks took 1, 1, 2, 1 days; interviews 5 to 9; assessments 15 to 30; closing 20 to 50.
    assert result.breach_probability == {CHECKS: 0.25, INTERVIEWED: 0.0, ASSESSED: 0.25,
                                         CLOSED: 0.25}
    assert result.completion_offset == 30  # the lower middle of 20, 30, 40, 50
    assert (result.sample_size, result.used_prior) == (4, False)


def test_the_chances_count_from_when_the_last_milestone_was_reached():
    # Assessed on day 20, 3 days ago: closing takes 5, 10, 15 or 20 more, within 45 every time.
    early = forecast(SMALL, "right_to_ask", ASSESSED, 3, 23, DUE)
    assert early.breach_probability == {CLOSED: 0.0}
    assert early.completion_offset == 30
    tighter = forecast(SMALL, "right_to_ask", ASSESSED, 3, 23, {CLOSED: 32})
    assert tighter.breach_probability == {CLOSED: 0.5}  # 15 and 20 end after day 32


def test_time_already_spent_rules_out_the_shorter_durations():
    # Still not closed 12 working days after its assessment: only 15 and 20 remain possible.
    late = forecast(SMALL, "right_to_ask", ASSESSED, 12, 32, {CLOSED: 38})
    assert late.breach_probability == {CLOSED: 0.5}
    assert late.completion_offset == 35
    waiting = forecast(SMALL, "right_to_ask", RECEIVED, 25, 25, DUE)  # nothing done in 25 days
    assert waiting.breach_probability[ASSESSED] == 1.0  # only 30 is left
    assert waiting.breach_probability[CLOSED] == pytest.approx(1 / 3)  # 30, 40 or 50: two late
    assert waiting.completion_offset == 40


def test_beyond_the_longest_case_seen_the_forecast_is_the_next_working_day():
    stuck = forecast(SMALL, "right_to_ask", RECEIVED, 60, 60, DUE)
    assert stuck.completion_offset == 61
    assert stuck.breach_probability[CLOSED] == 1.0
    generous = forecast(SMALL, "right_to_ask", RECEIVED, 60, 60, {CLOSED: 61})
    assert generous.breach_probability == {CLOSED: 0.0}


def test_only_remaining_milestones_on_the_route_with_a_due_date_are_forecast():
    result = forecast(SMALL, "right_to_ask", INTERVIEWED, 0, 6, {CHECKS: 1, CLOSED: 45})
    assert set(result.breach_probability) == {CLOSED}
    know = forecast(ForecastModel.fit([]), "right_to_know", CHECKS, 0, 1, DUE)
    assert set(know.breach_probability) == {ASSESSED, CLOSED}


@pytest.mark.parametrize(("route", "reached", "since_reached", "since_received", "message"), [
    ("right_to_ask", CLOSED, 0, 40, "cannot forecast"),
    ("right_to_know", INTERVIEWED, 0, 5, "cannot forecast"),
    ("right_to_ask", RECEIVED, 5, 4, "days_since_reached"),
    ("right_to_ask", RECEIVED, -1, 0, "days_since_reached"),
], ids=["closed", "no-interview-on-right-to-know", "reached-before-received", "negative"])
def test_forecast_refuses_impossible_cases(route, reached, since_reached, since_received,
                                           message):
    with pytest.raises(ValueError, match=message):
        forecast(SMALL, route, reached, since_reached, since_received, DUE)


# --- The prior


def test_the_prior_defaults_are_seventy_percent_of_the_default_targets():
    prior = Prior()
    assert [prior.typical(m) for m in Milestone] == [0, 1, 7, 20, 32]
    assert prior.sigma == 0.35
    assert Prior.from_policy(ClockPolicy()) == prior
    assert Prior.from_policy(ClockPolicy(overall_days=30)).closed == 21


def test_the_prior_median_is_the_difference_of_the_typical_totals_at_least_a_day():
    prior = Prior()
    assert prior.quantiles(RECEIVED, CLOSED, 1) == [32]
    assert prior.quantiles(ASSESSED, CLOSED, 1) == [12]
    assert Prior(checks_done=5, interviewed=5).quantiles(CHECKS, INTERVIEWED, 1) == [1]
    spread = prior.quantiles(RECEIVED, CLOSED, 30)
    assert spread == sorted(spread) and spread[0] < 32 < spread[-1]


def test_an_empty_history_gives_the_prior_forecast():
    result = forecast(ForecastModel.fit([]), "right_to_ask", RECEIVED, 0, 0, DUE)
    assert result.completion_offset == 32
    assert (result.sample_size, result.used_prior) == (0, True)
    assert 0 < result.breach_probability[CLOSED] < 0.5  # 45 is well above the prior's 32


def test_the_prior_fades_out_as_the_force_s_own_cases_accumulate():
    slow = ClosedCase("right_to_know", {RECEIVED: 0, CHECKS: 2, ASSESSED: 40, CLOSED: 60})
    chances, priors = [], []
    for count in (0, 10, 20, 29, 30):
        model = ForecastModel.fit([slow] * count, min_sample=30)
        durations = model.between("right_to_know", RECEIVED, CLOSED)
        assert (durations.sample_size, durations.prior_points) == (count, 30 - count)
        result = forecast(model, "right_to_know", RECEIVED, 0, 0, DUE)
        chances.append(result.breach_probability[CLOSED])
        priors.append(result.used_prior)
        assert result.sample_size == count
    assert chances == sorted(chances) and len(set(chances)) == 5
    assert chances[-1] == 1.0 and result.completion_offset == 60
    assert priors == [True, True, True, True, False]


def test_a_forecast_says_it_used_the_prior_when_any_milestone_needed_it():
    # Plenty of closures, but the interview pair comes from only 4 cases.
    closures = [ClosedCase("right_to_ask", {RECEIVED: 0, CLOSED: 30})] * 40
    model = ForecastModel.fit([*FOUR, *closures], min_sample=30)
    result = forecast(model, "right_to_ask", RECEIVED, 0, 0, {CLOSED: 45})
    assert (result.used_prior, result.sample_size) == (False, 44)
    assert forecast(model, "right_to_ask", RECEIVED, 0, 0, DUE).used_prior


# --- Storing the model


def test_the_model_round_trips_through_json():
    history = [*FOUR, ClosedCase("right_to_know", {RECEIVED: 0, CHECKS: 0, CLOSED: 9})]
    model = ForecastModel.fit(history, min_sample=12, prior=Prior(closed=40, sigma=0.5))
    text = model.to_json()
    again = ForecastModel.from_json(text)
    assert again == model
    assert forecast(again, "right_to_ask", CHECKS, 2, 3, DUE) == forecast(
        model, "right_to_ask", CHECKS, 2, 3, DUE)
    assert json.loads(text)["prior"]["closed"] == 40


def test_a_fitted_model_stays_small():
    history = [ask(0, d % 3, 5 + d % 7, 15 + d % 23, 20 + d % 41) for d in range(5000)]
    assert len(ForecastModel.fit(history).to_json()) < 40_000


def test_an_unknown_json_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        ForecastModel.from_json('{"format": 99, "durations": []}')


# --- Likely to breach


def test_likely_to_breach_lists_milestones_at_or_above_the_threshold_in_order():
    result = Forecast(50, {CLOSED: 0.5, ASSESSED: 0.7, INTERVIEWED: 0.49}, 100, False)
    assert likely_to_breach(result) == [ASSESSED, CLOSED]
    assert likely_to_breach(result, threshold=0.7) == [ASSESSED]
    assert likely_to_breach(result, threshold=0.4) == [INTERVIEWED, ASSESSED, CLOSED]
    assert likely_to_breach(result, threshold=0.8) == []
