"""Breach forecasting from the force's own closed cases (issue 13).

A case passes milestones in this order; each clock ends at one of them:

| Milestone     | Ends the clock  | Prior: typical working days from receipt |
|---------------|-----------------|------------------------------------------|
| received      | (the start)     | 0                                        |
| checks_done   | initial_checks  | 1                                        |
| interviewed   | interview       | 7 (Right to Ask only)                    |
| assessed      | assessment      | 20                                       |
| closed        | overall         | 32                                       |

The model. For every route and every ordered pair of milestones (from, to) it keeps the
durations in working days between the two among the closed cases that reached both, sorted and
thinned to at most 200 evenly spaced quantiles: small enough to cache and to store as JSON.
The routes are kept apart because a Right to Ask case also waits for its interview.

The prior. Below ``min_sample`` (30) cases for a pair, the model is topped up to ``min_sample``
points with evenly spaced quantiles of a stated prior, so a new force gets a forecast at once
and its own cases take over one by one (29 cases: one prior point left; 30: none). The prior
for a pair is log-normal with sigma 0.35 and median the difference of the two milestones'
typical totals above (at least 1 working day), its quantiles rounded to whole working days.
Each typical total is 70% of the default target rounded up to a whole working day (24 hours,
10, 28 and 45 working days): a force that usually meets its targets with some room. With sigma
0.35 the middle half of a prior duration lies between 0.79 and 1.27 times its median, and one
in ten takes more than 1.57 times it. ``Prior.from_policy`` derives the same figures from a
force's own ClockPolicy.

A forecast conditions on the time already spent since the last milestone reached (survival):
a case whose interview has not happened 6 working days after its checks can only take longer
than 6 days, so only longer durations count. A snapshot is read at the end of its day, so a
milestone not reached by then takes strictly longer. When history has no duration that long, the
forecast is the next working day: nothing is known beyond the longest case seen.

Dates never reach this module: the app turns them into working-day offsets with its calendar.
Every call costs a few bisections, never a pass over the history.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from statistics import NormalDist

from workflows.clocks import ClockName, ClockPolicy
from workflows.status import Route

MAX_QUANTILES = 200
JSON_FORMAT = 1


class Milestone(StrEnum):
    received = "received"
    checks_done = "checks_done"
    interviewed = "interviewed"  # Right to Ask only
    assessed = "assessed"
    closed = "closed"


MILESTONES: tuple[Milestone, ...] = tuple(Milestone)
_ORDER = {milestone: index for index, milestone in enumerate(MILESTONES)}

ENDS_AT: dict[ClockName, Milestone] = {
    ClockName.initial_checks: Milestone.checks_done,
    ClockName.interview: Milestone.interviewed,
    ClockName.assessment: Milestone.assessed,
    ClockName.overall: Milestone.closed,
}


def milestones_of(route: Route | str) -> tuple[Milestone, ...]:
    """The milestones a case on ``route`` passes, in order (Right to Know has no interview)."""
    if Route(route) is Route.right_to_know:
        return tuple(m for m in MILESTONES if m is not Milestone.interviewed)
    return MILESTONES


def _pairs() -> list[tuple[Route, Milestone, Milestone]]:
    return [(route, start, end) for route in Route
            for i, start in enumerate(milestones_of(route))
            for end in milestones_of(route)[i + 1:]]


@dataclass(frozen=True)
class ClosedCase:
    """One closed case: working days from receipt to each milestone it reached (received: 0)."""

    route: str
    offsets: Mapping[Milestone, int]


@dataclass(frozen=True)
class Prior:
    """Typical working days from receipt to each milestone, and the log-normal spread."""

    checks_done: float = 1
    interviewed: float = 7
    assessed: float = 20
    closed: float = 32
    sigma: float = 0.35

    @classmethod
    def from_policy(cls, policy: ClockPolicy, share: float = 0.7, sigma: float = 0.35) -> Prior:
        """``share`` of each target rounded up to whole working days (24 hours of checks: a
        day). The targets are read as working days whatever the policy's ``target_days``."""
        checks = _whole_days_up(share * policy.initial_checks_hours / 24)
        return cls(checks, _whole_days_up(share * policy.interview_days),
                   _whole_days_up(share * policy.assessment_days),
                   _whole_days_up(share * policy.overall_days), sigma)

    def typical(self, milestone: Milestone) -> float:
        return 0 if milestone is Milestone.received else getattr(self, milestone.value)

    def quantiles(self, start: Milestone, end: Milestone, count: int) -> list[int]:
        """``count`` evenly spaced quantiles of the prior duration from ``start`` to ``end``."""
        median = max(1.0, self.typical(end) - self.typical(start))
        normal = NormalDist()
        return [round(median * math.exp(self.sigma * normal.inv_cdf((i + 0.5) / count)))
                for i in range(count)]


def _whole_days_up(days: float) -> int:
    # Rounded first: 0.7 * 45 is 31.499999999999996 in binary floating point, and means 31.5.
    return max(1, math.ceil(round(days, 9)))


@dataclass(frozen=True)
class Durations:
    """Equally weighted, sorted durations (working days) between two milestones."""

    quantiles: tuple[int, ...]
    sample_size: int  # real closed cases behind them
    prior_points: int  # how many of the quantiles come from the prior


@dataclass(frozen=True)
class Forecast:
    completion_offset: int  # median working days from receipt to closed
    breach_probability: dict[Milestone, float]
    sample_size: int  # closed cases behind the completion forecast
    used_prior: bool  # whether any distribution used was topped up by the prior


@dataclass(frozen=True)
class ForecastModel:
    durations: Mapping[tuple[Route, Milestone, Milestone], Durations]
    min_sample: int = 30
    prior: Prior = Prior()

    @classmethod
    def fit(cls, history: Iterable[ClosedCase], *, min_sample: int = 30,
            prior: Prior | None = None) -> ForecastModel:
        """The model of ``history``, topped up by ``prior`` (default: Prior()) where thin."""
        if not 1 <= min_sample <= MAX_QUANTILES:
            raise ValueError(f"min_sample must be between 1 and {MAX_QUANTILES}")
        prior = prior or Prior()
        samples: dict[tuple[Route, Milestone, Milestone], list[int]] = defaultdict(list)
        for case in history:
            route = Route(case.route)
            reached = [m for m in milestones_of(route) if m in case.offsets]
            for i, start in enumerate(reached):
                for end in reached[i + 1:]:
                    samples[route, start, end].append(case.offsets[end] - case.offsets[start])
        durations = {key: _durations(samples.get(key, []), prior, key[1], key[2], min_sample)
                     for key in _pairs()}
        return cls(durations, min_sample, prior)

    def between(self, route: Route | str, start: Milestone, end: Milestone) -> Durations:
        return self.durations[Route(route), Milestone(start), Milestone(end)]

    def to_json(self) -> str:
        pairs = [{"route": route.value, "from": start.value, "to": end.value,
                  "sample_size": d.sample_size, "prior_points": d.prior_points,
                  "quantiles": list(d.quantiles)}
                 for (route, start, end), d in self.durations.items()]
        return json.dumps({"format": JSON_FORMAT, "min_sample": self.min_sample,
                           "prior": asdict(self.prior), "durations": pairs},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ForecastModel:
        data = json.loads(text)
        if data.get("format") != JSON_FORMAT:
            raise ValueError(f"unknown forecast model format {data.get('format')!r}")
        durations = {
            (Route(p["route"]), Milestone(p["from"]), Milestone(p["to"])):
                Durations(tuple(p["quantiles"]), p["sample_size"], p["prior_points"])
            for p in data["durations"]}
        return cls(durations, data["min_sample"], Prior(**data["prior"]))


def _durations(values: list[int], prior: Prior, start: Milestone, end: Milestone,
               min_sample: int) -> Durations:
    values = sorted(values)
    count = len(values)
    if count >= min_sample:
        return Durations(_thin(values), count, 0)
    # Below min_sample every real case is kept (min_sample <= MAX_QUANTILES), so the real and
    # the prior points carry one weight each and can simply be merged.
    topped_up = prior.quantiles(start, end, min_sample - count)
    return Durations(tuple(sorted(values + topped_up)), count, len(topped_up))


def _thin(values: list[int]) -> tuple[int, ...]:
    """At most MAX_QUANTILES evenly spaced quantiles of sorted ``values`` (each the middle of
    its equal share, so the median and the tails survive thinning)."""
    count = len(values)
    if count <= MAX_QUANTILES:
        return tuple(values)
    return tuple(values[int((i + 0.5) * count / MAX_QUANTILES)] for i in range(MAX_QUANTILES))


# --- Forecasting one open case


def forecast(model: ForecastModel, route: Route | str, reached: Milestone,
             days_since_reached: int, days_since_received: int,
             due_offsets: Mapping[Milestone, int]) -> Forecast:
    """Completion and breach chances for an open case whose last milestone is ``reached``.

    ``due_offsets``: each remaining clock's due date as working days from receipt (after
    extensions); milestones already passed or not on the route are ignored.
    """
    route, reached = Route(route), Milestone(reached)
    if reached is Milestone.closed or reached not in milestones_of(route):
        raise ValueError(f"cannot forecast a {route.value} case from {reached.value}")
    if not 0 <= days_since_reached <= days_since_received:
        raise ValueError("need 0 <= days_since_reached <= days_since_received")
    reached_offset = days_since_received - days_since_reached
    completion = model.between(route, reached, Milestone.closed)
    used_prior = completion.prior_points > 0
    chances: dict[Milestone, float] = {}
    for milestone in milestones_of(route)[_position(route, reached) + 1:]:
        if milestone not in due_offsets:
            continue
        durations = model.between(route, reached, milestone)
        allowed = due_offsets[milestone] - reached_offset
        chances[milestone] = _chance_longer(durations.quantiles, days_since_reached, allowed)
        used_prior = used_prior or durations.prior_points > 0
    median = _median_longer(completion.quantiles, days_since_reached)
    return Forecast(reached_offset + median, chances, completion.sample_size, used_prior)


def likely_to_breach(forecast: Forecast, threshold: float = 0.5) -> list[Milestone]:
    """The milestones whose breach chance is ``threshold`` or more, in milestone order."""
    return sorted((m for m, p in forecast.breach_probability.items() if p >= threshold),
                  key=_ORDER.__getitem__)


def _position(route: Route, milestone: Milestone) -> int:
    return milestones_of(route).index(milestone)


def _median_longer(quantiles: tuple[int, ...], elapsed: int) -> int:
    """The median of the durations longer than ``elapsed`` (the lower of two middles)."""
    first = bisect_right(quantiles, elapsed)
    if first == len(quantiles):
        return elapsed + 1
    return quantiles[first + (len(quantiles) - 1 - first) // 2]


def _chance_longer(quantiles: tuple[int, ...], elapsed: int, allowed: int) -> float:
    """P(duration > allowed | duration > elapsed)."""
    first = bisect_right(quantiles, elapsed)
    survivors = len(quantiles) - first
    if survivors == 0:
        return 1.0 if elapsed + 1 > allowed else 0.0
    over = len(quantiles) - bisect_right(quantiles, max(allowed, elapsed))
    return over / survivors
