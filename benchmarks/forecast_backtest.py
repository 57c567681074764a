"""Backtest of the breach forecast (workflows.forecast) on a synthetic three-year force history.

    .venv/bin/python benchmarks/forecast_backtest.py [--unit-aware] [--json] [--seed 13]
        [--cases 6000]

Standard library and workflows/ only; single-threaded, a few seconds.

The history (fixed seed): closed cases received on working days from January 2023 to December
2025 in three units, East about 40% slower than North and South; a quarter Right to Know (no
interview). Each stage takes a log-normal number of working days, scaled by the unit's pace and
by the case's own difficulty (shared by its stages, so a slow start predicts a slow finish);
some stages wait two to four times longer (a partner agency, a subject who cannot be found), and
some cases close early, before any assessment (withdrawn, out of scope). About a fifth of the
cases miss the 45-working-day overall target. Dates are real: receipt and closing dates are
counted with WorkingCalendar over the English bank holidays of 2023–2026.

The test: fit on the cases closed before 2025 (the first two years: nothing the force would not
have known; long cases received late in 2024 are missing from it, as they would be), then
replay every case received in 2025 at snapshots every 5 working days from receipt while it is
open, forecasting from what was known at that snapshot. A case is flagged when its chance of
missing the overall target is 0.5 or more.

Reported: the mean absolute error of the forecast completion (working days from receipt), at all
snapshots and at receipt, beside a baseline (history's median total, or the next working day
once past it); the share of actual overall breaches flagged at a snapshot at least 5 working
days before their due date; and the false-alarm share, among the cases flagged that early, of
those that met the target. ``--unit-aware`` fits one model per unit instead of one for the
whole force (the app fits one per force).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows.forecast import (  # noqa: E402
    ClosedCase,
    ForecastModel,
    Milestone,
    forecast,
    likely_to_breach,
    milestones_of,
)
from workflows.status import Route  # noqa: E402
from workflows.working_calendar import WorkingCalendar  # noqa: E402

# England and Wales bank holidays, 2023–2026 (gov.uk/bank-holidays), written out: stdlib only.
BANK_HOLIDAYS = frozenset(date.fromisoformat(d) for d in (
    "2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29",
    "2023-08-28", "2023-12-25", "2023-12-26",
    "2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26",
    "2024-12-25", "2024-12-26",
    "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
    "2025-12-25", "2025-12-26",
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
    "2026-12-25", "2026-12-28",
))
CALENDAR = WorkingCalendar(BANK_HOLIDAYS)
FIRST_DAY, TRAIN_UNTIL, LAST_DAY = date(2023, 1, 1), date(2025, 1, 1), date(2025, 12, 31)

UNITS = {"North": 1.0, "South": 1.0, "East": 1.4}  # relative pace: East about 40% slower
RIGHT_TO_KNOW_SHARE = 0.25
EARLY_CLOSURE_SHARE = 0.10  # withdrawn or out of scope before any assessment
OUTLIER_SHARE = 0.04  # per stage: a long wait for someone outside the team
# Median working days per stage for an average case in a unit of pace 1.0.
STAGE_MEDIAN = {"checks": 0.6, "interview": 4.5, "assessment_ask": 11.0,
                "assessment_know": 14.0, "closing": 8.0, "early_closing": 3.0}

# Due offsets in working days from receipt (ClockPolicy defaults; 24 hours read as 1 day).
DUE = {Milestone.checks_done: 1, Milestone.interviewed: 10, Milestone.assessed: 28,
       Milestone.closed: 45}
SNAPSHOT_EVERY = 5
EARLY_WARNING = 5  # a flag counts when raised at least this many working days before due
THRESHOLD = 0.5


@dataclass(frozen=True)
class Synthetic:
    unit: str
    received_on: date
    closed_on: date
    case: ClosedCase

    @property
    def total(self) -> int:
        return self.case.offsets[Milestone.closed]

    @property
    def breached(self) -> bool:
        return self.total > DUE[Milestone.closed]


# --- The history


def generate(count: int, seed: int) -> list[Synthetic]:
    rng = random.Random(seed)
    days = CALENDAR.working_days_between(FIRST_DAY, LAST_DAY)
    cases = []
    for _ in range(count):
        received_on = CALENDAR.add_working_days(FIRST_DAY, rng.randrange(days) + 1)
        unit = rng.choice(list(UNITS))
        route = (Route.right_to_know if rng.random() < RIGHT_TO_KNOW_SHARE
                 else Route.right_to_ask)
        offsets = _offsets(rng, route, UNITS[unit])
        closed_on = CALENDAR.add_working_days(received_on, offsets[Milestone.closed])
        cases.append(Synthetic(unit, received_on, closed_on, ClosedCase(route, offsets)))
    return cases


def _offsets(rng: random.Random, route: Route, pace: float) -> dict[Milestone, int]:
    difficulty = pace * rng.lognormvariate(0, 0.3)  # shared by the case's stages

    def stage(name: str, sigma: float = 0.5) -> int:
        days = STAGE_MEDIAN[name] * difficulty * rng.lognormvariate(0, sigma)
        if rng.random() < OUTLIER_SHARE:
            days *= rng.uniform(2, 4)
        return round(days)

    day = stage("checks", sigma=0.6)
    offsets = {Milestone.received: 0, Milestone.checks_done: day}
    if route is Route.right_to_ask:
        day += stage("interview")
        offsets[Milestone.interviewed] = day
    if rng.random() < EARLY_CLOSURE_SHARE:
        offsets[Milestone.closed] = day + stage("early_closing")
        return offsets
    day += stage("assessment_ask" if route is Route.right_to_ask else "assessment_know")
    offsets[Milestone.assessed] = day
    offsets[Milestone.closed] = day + stage("closing")
    return offsets


def fit(history: list[Synthetic], unit_aware: bool) -> dict[str | None, ForecastModel]:
    """One model for the force (key None), or one per unit."""
    if not unit_aware:
        return {None: ForecastModel.fit(c.case for c in history)}
    return {unit: ForecastModel.fit(c.case for c in history if c.unit == unit) for unit in UNITS}


# --- Replaying the third year


@dataclass
class Replay:
    errors: list[int]  # |forecast - actual| completion, per snapshot
    baseline_errors: list[int]
    first_flag: int | None  # the first snapshot (working days from receipt) that flagged it

    @property
    def flagged_early(self) -> bool:
        return self.first_flag is not None and (
            self.first_flag <= DUE[Milestone.closed] - EARLY_WARNING)


def replay(item: Synthetic, model: ForecastModel, history_median: int) -> Replay:
    offsets, route = item.case.offsets, Route(item.case.route)
    path = [m for m in milestones_of(route) if m in offsets and m is not Milestone.closed]
    errors, baseline, first_flag = [], [], None
    for day in range(0, item.total, SNAPSHOT_EVERY):
        reached = [m for m in path if offsets[m] <= day][-1]
        result = forecast(model, route, reached, day - offsets[reached], day, DUE)
        errors.append(abs(result.completion_offset - item.total))
        baseline.append(abs(max(history_median, day + 1) - item.total))
        if first_flag is None and Milestone.closed in likely_to_breach(result, THRESHOLD):
            first_flag = day
    return Replay(errors, baseline, first_flag)


def evaluate(cases: list[Synthetic], unit_aware: bool) -> dict[str, object]:
    history = [c for c in cases if c.closed_on < TRAIN_UNTIL]
    test = [c for c in cases if c.received_on >= TRAIN_UNTIL]
    models = fit(history, unit_aware)
    history_median = round(median(c.total for c in history))
    replays = [(c, replay(c, models[c.unit if unit_aware else None], history_median))
               for c in test]
    return {
        "model": "one per unit" if unit_aware else "one for the force (pooled)",
        "history_cases": len(history),
        "history_breach_share": _share(sum(c.breached for c in history), len(history)),
        "test_cases": len(test),
        "snapshots": sum(len(r.errors) for _, r in replays),
        **_accuracy(replays),
        "by_unit": {unit: _flags([(c, r) for c, r in replays if c.unit == unit])
                    for unit in UNITS},
        **_flags(replays),
    }


def _accuracy(replays: list[tuple[Synthetic, Replay]]) -> dict[str, float]:
    every = [e for _, r in replays for e in r.errors]
    at_receipt = [r.errors[0] for _, r in replays]
    baseline = [e for _, r in replays for e in r.baseline_errors]
    return {
        "mae_all_snapshots": round(sum(every) / len(every), 2),
        "mae_at_receipt": round(sum(at_receipt) / len(at_receipt), 2),
        "baseline_mae_all_snapshots": round(sum(baseline) / len(baseline), 2),
        "baseline_mae_at_receipt": round(
            sum(r.baseline_errors[0] for _, r in replays) / len(replays), 2),
    }


def _flags(replays: list[tuple[Synthetic, Replay]]) -> dict[str, object]:
    breaches = [r for c, r in replays if c.breached]
    flagged = [c for c, r in replays if r.flagged_early]
    caught = sum(r.flagged_early for r in breaches)
    false_alarms = sum(not c.breached for c in flagged)
    leads = [DUE[Milestone.closed] - r.first_flag for r in breaches if r.flagged_early]
    return {
        "breaches": len(breaches),
        "breach_share": _share(len(breaches), len(replays)),
        "breaches_flagged_early": caught,
        "flagged_early_share": _share(caught, len(breaches)),
        "median_lead_working_days": median(leads) if leads else None,
        "flagged": len(flagged),
        "false_alarm_share": _share(false_alarms, len(flagged)),
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


# --- Output


def table(results: dict[str, object], seconds: float) -> str:
    lines = [
        f"Model: {results['model']}",
        f"History (closed before {TRAIN_UNTIL}): {results['history_cases']} cases, "
        f"{results['history_breach_share']:.1%} over 45 working days",
        f"Replayed (received in {TRAIN_UNTIL.year}): {results['test_cases']} cases, "
        f"{results['snapshots']} snapshots every {SNAPSHOT_EVERY} working days",
        "",
        f"{'Completion forecast, MAE (working days)':<44}{'forecast':>10}{'baseline':>10}",
        f"{'  at every snapshot':<44}{results['mae_all_snapshots']:>10.2f}"
        f"{results['baseline_mae_all_snapshots']:>10.2f}",
        f"{'  at receipt':<44}{results['mae_at_receipt']:>10.2f}"
        f"{results['baseline_mae_at_receipt']:>10.2f}",
        "",
        f"Overall target (45 working days), flagged at P >= {THRESHOLD} at least "
        f"{EARLY_WARNING} working days before due:",
        f"{'Unit':<10}{'breaches':>10}{'flagged':>10}{'caught':>10}{'false alarms':>14}"
        f"{'median lead':>13}",
    ]
    rows = [*results["by_unit"].items(), ("All", results)]
    for name, row in rows:
        lines.append(f"{name:<10}{row['breaches']:>10}{row['flagged']:>10}"
                     f"{row['flagged_early_share']:>10.1%}{row['false_alarm_share']:>14.1%}"
                     f"{_days(row['median_lead_working_days']):>13}")
    lines.append("(caught: breaches flagged in time; median lead: working days before due of the"
                 " first flag)")
    lines.append(f"\n({seconds:.1f} s)")
    return "\n".join(lines)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--unit-aware", action="store_true",
                        help="fit one model per unit instead of one for the force")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = evaluate(generate(args.cases, args.seed), args.unit_aware)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({**results, "seconds": round(seconds, 2)}, indent=2))
    else:
        print(table(results, seconds))


if __name__ == "__main__":
    main()
