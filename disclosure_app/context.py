"""Per-app settings that views hand to services, and what every template can read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app

from disclosure_app.db import utcnow
from disclosure_app.services.applications import Timescales
from workflows.policy import CasePolicy
from workflows.roles import Rank
from workflows.status import STAGE_LABELS, Stage, Status, stage_of


def case_policy() -> CasePolicy:
    return current_app.extensions["case_policy"]


def timescales() -> Timescales:
    return current_app.extensions["timescales"]


def now() -> datetime:
    """The current UTC time; tests may install a fixed clock as ``app.config['CLOCK']``."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def _format_datetime(value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    return "" if value is None else value.strftime(fmt)


def _format_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%d %B %Y")


def init_app(app: Flask) -> None:
    rank = Rank.parse(app.config["MIN_DECISION_RANK"]) or Rank.inspector
    app.extensions["case_policy"] = CasePolicy(min_decision_rank=rank)
    app.extensions["timescales"] = Timescales(
        initial_checks_hours=int(app.config["INITIAL_CHECKS_HOURS"]),
        interview_days=int(app.config["INTERVIEW_DAYS"]),
        overall_days=int(app.config["OVERALL_DAYS"]),
    )
    app.jinja_env.filters["datetime"] = _format_datetime
    app.jinja_env.filters["date"] = _format_date

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "Status": Status,
            "Stage": Stage,
            "STAGE_LABELS": STAGE_LABELS,
            "stage_of": stage_of,
        }
