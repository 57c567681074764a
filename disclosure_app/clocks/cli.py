"""``flask --app disclosure_app clocks …``: the scheduled tick, rebuilding clocks after an
upgrade, and refitting the breach forecast. Schedules: docs/operations.md."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from disclosure_app.audit.chain import SystemActor
from disclosure_app.clocks import forecasting, history
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.clocks.service import sync_clocks
from disclosure_app.clocks.tick import tick
from disclosure_app.db import get_session, transaction
from disclosure_app.models import Case
from disclosure_app.notifications import mail
from disclosure_app.web.context import case_policy, now
from workflows.roles import Rank

REBUILD_BATCH = 500


def register_cli(app: Flask) -> None:
    group = AppGroup("clocks", help="Working-day clocks: escalation and the breach forecast.")

    @group.command("tick")
    def tick_command() -> None:
        """Escalate clocks whose near-breach or breach point has passed (run every 5 minutes
        on every host: one works at a time) and refit the forecast when it is stale. The
        e-mails it queues go out with `notifications send`."""
        session, policy, at = get_session(), case_policy(), now()
        config = current_app.config
        report = tick(session, now=at,
                      supervisor_rank=Rank.parse(config["SUPERVISOR_MIN_RANK"]) or Rank.sergeant,
                      email=mail.enabled(config))
        if not report.ran:
            click.echo("Another host is running the tick: nothing to do here.")
            return
        click.echo(f"Near breach: {report.near_breach}; breached: {report.breached}; "
                   f"notifications: {report.notifications}.")
        calendar = load_calendar(session, policy, at.date())
        fit = forecasting.refit_if_stale(
            session, calendar, policy.clocks, now=at,
            min_sample=int(config["FORECAST_MIN_SAMPLE"]),
            limit=int(config["FORECAST_HISTORY_CASES"]),
            max_age_hours=float(config["FORECAST_REFIT_HOURS"]),
            threshold=float(config["FORECAST_ALERT_PROBABILITY"]))
        if fit is not None:
            click.echo(f"Forecast refitted from {fit.sample_size} closed cases.")

    @group.command("rebuild")
    def rebuild_command() -> None:
        """Rebuild every open case's clocks from its dates (after an upgrade, or after closure
        days were added), in batches."""
        click.echo(f"Rebuilt the clocks of {rebuild(get_session())} open cases.")

    @group.command("import-history")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--source", default=None, help="Where the file came from (default: its name).")
    def import_history_command(file: Path, source: str | None) -> None:
        """Import closed cases from the force's previous system (CSV: see
        docs/operations.md) so that the breach forecast starts from the force's own record."""
        try:
            count = history.import_history(
                get_session(), file.read_text(encoding="utf-8-sig"),
                source=source or file.name, now=now(),
                actor=SystemActor(name="clocks import-history"))
        except history.HistoryRefused as refused:
            for error in refused.errors:
                click.echo(error, err=True)
            raise click.ClickException("Nothing was imported.") from None
        click.echo(f"Imported {count} closed cases.")

    @group.command("forecast")
    def forecast_command() -> None:
        """Refit the breach forecast from the closed cases now."""
        session, policy, at = get_session(), case_policy(), now()
        config = current_app.config
        fit = forecasting.refit(session, load_calendar(session, policy, at.date()),
                                policy.clocks, now=at,
                                min_sample=int(config["FORECAST_MIN_SAMPLE"]),
                                limit=int(config["FORECAST_HISTORY_CASES"]),
                                threshold=float(config["FORECAST_ALERT_PROBABILITY"]))
        click.echo(f"Forecast fitted from {fit.sample_size} closed cases.")

    app.cli.add_command(group)


def rebuild(session) -> int:  # type: ignore[no-untyped-def]
    policy, at = case_policy(), now()
    done, after = 0, 0
    while True:
        with transaction(session):
            calendar = load_calendar(session, policy, at.date())
            cases = list(session.scalars(
                select(Case).where(Case.is_open.is_(True), Case.id > after)
                .order_by(Case.id).limit(REBUILD_BATCH)))
            for case in cases:
                sync_clocks(session, case, calendar, policy.clocks, at)
        if not cases:
            return done
        done += len(cases)
        after = cases[-1].id

