"""Demo history for the breach forecast: closed cases "from the force's previous system",
generated deterministically and imported through ``clocks import-history`` like a real file.

Routes and milestone dates only (no people). Durations are log-normal in working days around
the unit's usual pace, with one case in six slowed by a partner agency, so that some breach the
whole-process target: enough for a forecast with real spread."""

from __future__ import annotations

import math
import random
from datetime import date

from workflows.working_calendar import WorkingCalendar

HEADER = "reference,route,received,checks_done,interviewed,assessed,closed"


def _days(rng: random.Random, median: float, sigma: float = 0.35) -> int:
    return max(1, round(median * math.exp(rng.gauss(0, sigma))))


def history_csv(calendar: WorkingCalendar, today: date, count: int = 160,
                seed: int = 2026) -> str:
    rng = random.Random(seed)  # noqa: S311  # nosec B311 (demo data, not security)
    lines = [HEADER]
    for n in range(count):
        route = "right_to_know" if rng.random() < 0.25 else "right_to_ask"
        received = calendar.roll_forward(date.fromordinal(
            today.toordinal() - 90 - rng.randrange(640)))
        slow = 1.6 if rng.random() < 1 / 6 else 1.0
        checks = calendar.add_working_days(received, 1 if rng.random() < 0.9 else 2)
        interviewed = (calendar.add_working_days(checks, _days(rng, 6))
                       if route == "right_to_ask" else None)
        assessed = calendar.add_working_days(interviewed or checks, _days(rng, 12 * slow))
        closed = calendar.add_working_days(assessed, _days(rng, 11 * slow, 0.45))
        if closed >= today:
            continue
        lines.append(",".join([f"LEGACY-{n + 1:05d}", route, received.isoformat(),
                               checks.isoformat(), interviewed.isoformat() if interviewed else "",
                               assessed.isoformat(), closed.isoformat()]))
    return "\n".join(lines) + "\n"
