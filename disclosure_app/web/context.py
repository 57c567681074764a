"""Per-app settings that views hand to services, and what every template can read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from disclosure_app.cases.applications import Timescales
from disclosure_app.clocks.calendar import check_nation
from disclosure_app.core.clock import now  # noqa: F401  (views take it from here)
from disclosure_app.db import get_session
from disclosure_app.documents.case_documents import Letterhead
from disclosure_app.notifications import inbox
from workflows.allocation import AllocationPolicy, Person, is_supervisor
from workflows.checks import DEFAULT_CHECK_SOURCES
from workflows.clocks import ClockPolicy
from workflows.policy import CasePolicy
from workflows.retention import schedule_from_config
from workflows.roles import Rank, Role
from workflows.status import STAGE_LABELS, Stage, Status, stage_of


def case_policy() -> CasePolicy:
    return current_app.extensions["case_policy"]


def allocation_policy() -> AllocationPolicy:
    return current_app.extensions["allocation_policy"]


def letterhead() -> Letterhead:
    """The force's details printed on generated documents."""
    config = current_app.config
    return Letterhead(config["FORCE_NAME"], str(config["FORCE_PHONE_NON_EMERGENCY"]))


def timescales() -> Timescales:
    return current_app.extensions["timescales"]


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


def _check_sources(app: Flask) -> tuple[tuple[str, str], ...]:
    configured = app.config.get("CHECK_SOURCES")
    if not configured:
        return DEFAULT_CHECK_SOURCES
    sources = tuple((str(code), str(label)) for code, label in configured)
    codes = [code for code, _ in sources]
    if len(set(codes)) != len(codes) or not all(c.isidentifier() for c in codes):
        raise ValueError("CHECK_SOURCES needs unique codes made of letters, digits and _")
    return sources


def clock_policy(config: Mapping[str, Any]) -> ClockPolicy:
    near_days = config["NEAR_BREACH_WORKING_DAYS"]
    return ClockPolicy(
        initial_checks_hours=int(config["INITIAL_CHECKS_HOURS"]),
        interview_days=int(config["INTERVIEW_DAYS"]),
        assessment_days=int(config["ASSESSMENT_DAYS"]),
        overall_days=int(config["OVERALL_DAYS"]),
        target_days=str(config["TARGET_DAYS"]),
        near_breach_working_days=None if near_days is None else int(near_days),
        near_breach_share=float(config["NEAR_BREACH_SHARE"]),
    )


def init_app(app: Flask) -> None:
    rank = Rank.parse(app.config["MIN_DECISION_RANK"]) or Rank.inspector
    clocks = clock_policy(app.config)
    app.extensions["case_policy"] = CasePolicy(
        min_decision_rank=rank,
        rationale_min_chars=int(app.config["RATIONALE_MIN_CHARS"]),
        boilerplate_overlap=float(app.config["BOILERPLATE_OVERLAP"]),
        check_sources=_check_sources(app),
        min_extension_rank=Rank.parse(app.config["MIN_EXTENSION_RANK"]) or Rank.sergeant,
        extension_max_days=int(app.config["EXTENSION_MAX_DAYS"]),
        local_tz=str(app.config["LOCAL_TIMEZONE"]),
        clocks=clocks,
        bank_holiday_nation=check_nation(str(app.config["BANK_HOLIDAY_NATION"])),
        retention=schedule_from_config(app.config.get("RETENTION_SCHEDULE")),
    )
    app.extensions["allocation_policy"] = AllocationPolicy(
        supervisor_min_rank=Rank.parse(app.config["SUPERVISOR_MIN_RANK"]) or Rank.sergeant,
        local_tz=app.extensions["case_policy"].local_tz,
    )
    app.extensions["timescales"] = Timescales(
        initial_checks_hours=clocks.initial_checks_hours,
        interview_days=clocks.interview_days,
        overall_days=clocks.overall_days,
        working_days=clocks.target_days == "working",
    )
    app.jinja_env.filters["datetime"] = _format_datetime
    zone = ZoneInfo(str(app.config["LOCAL_TIMEZONE"]))
    app.jinja_env.filters["local_datetime"] = lambda value: (
        "" if value is None else value.astimezone(zone).strftime("%d %b %Y %H:%M"))
    # The last day of a target that ends at local midnight (the instant is the next day's start).
    app.jinja_env.filters["local_date"] = lambda value: (
        "" if value is None else (value - timedelta(microseconds=1)).astimezone(zone)
        .strftime("%d %B %Y"))
    app.jinja_env.filters["date"] = _format_date

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "nav_items": staff_navigation(),
            "Status": Status,
            "Stage": Stage,
            "STAGE_LABELS": STAGE_LABELS,
            "stage_of": stage_of,
            "unread_notifications": unread_notifications,
        }


# Staff navigation by role: (label, endpoint, roles).
_NAV = [
    ("Case queue", "staff.queue", {Role.case_officer, Role.decision_maker, Role.partner}),
    ("Open a Right to Know case", "staff.new_right_to_know", {Role.case_officer}),
    ("Notifications", "notifications.index", set(inbox.RECIPIENT_ROLES)),
    ("Workload", "teams.workload", {Role.case_officer, Role.decision_maker}),
    ("Dip sampling", "dip_sampling.index", {Role.decision_maker, Role.auditor}),
    ("Audit log", "audit.index", {Role.auditor}),
    ("Integrity", "audit.integrity", {Role.auditor}),
    ("Consultations", "audit.consultations", {Role.auditor}),
    ("Staff activity", "audit.staff_activity", {Role.auditor}),
    ("Disclosures", "audit.disclosures", {Role.auditor}),
    ("Alerts", "audit.alerts", {Role.auditor}),
    ("Security events", "audit.security_events", {Role.auditor}),
    ("Record reviews", "records.queue", {Role.records_manager}),
    ("Staff accounts", "admin.users", {Role.admin}),
    ("Teams", "admin.teams", {Role.admin}),
    ("Closure days", "admin.closure_days", {Role.admin}),
]


def unread_notifications() -> int | None:
    """The header's unread count, for people who get notifications (None for the others, and
    for no one signed in). Called by base.html on staff pages only, so public and signed-out
    pages never run the query."""
    if not current_user or not current_user.is_authenticated:
        return None
    if current_user.role not in inbox.RECIPIENT_ROLES:
        return None
    return inbox.unread_count(get_session(), current_user.id)
def _supervises() -> bool:
    user = current_user
    return is_supervisor(Person(user.id, user.role, user.rank, user.active), allocation_policy())


# Entries shown only to some of their roles: the workload page is for supervisors.
_NAV_ONLY_IF = {"teams.workload": _supervises}


def staff_navigation() -> list[dict[str, Any]]:
    if not current_user or not current_user.is_authenticated:
        return []
    items = []
    for label, endpoint, roles in _NAV:
        shown = _NAV_ONLY_IF.get(endpoint, lambda: True)
        if current_user.role in roles and endpoint in current_app.view_functions and shown():
            href = url_for(endpoint)
            items.append({"text": label, "href": href, "active": request.path == href})
    return items
