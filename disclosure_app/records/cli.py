"""``flask --app disclosure_app records dispose``: disposal of the records reviews approved,
then the purge of expired form keys and rate-limit counters. Run it daily (docs/operations.md,
"Records: review and disposal"); it connects as the owner role (``MIGRATION_DATABASE_URL``)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from disclosure_app.db import make_engine
from disclosure_app.privacy.keys import keystore
from disclosure_app.records.disposal import dispose_approved, purge_expired
from disclosure_app.web.context import now


def register_cli(app: Flask) -> None:
    group = AppGroup("records", help="Records management: disposal and purges.")

    @group.command("dispose")
    @click.option("--limit", type=int, default=None,
                  help="Dispose of at most this many records in this run.")
    def dispose_command(limit: int | None) -> None:
        """Dispose of every record a review approved for disposal (no legal hold), then purge
        expired form keys and rate-limit counters."""
        config = current_app.config
        url = config.get("MIGRATION_DATABASE_URL") or config["DATABASE_URL"]
        engine = make_engine(url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                at = now()
                report = dispose_approved(session, keystore(), now=at, limit=limit)
                purged = purge_expired(session, now=at,
                                       submission_key_days=int(config["SUBMISSION_KEY_DAYS"]))
        finally:
            engine.dispose()
        click.echo(f"Disposed of {len(report.disposed)} records "
                   f"({report.keys_destroyed} data keys destroyed).")
        for reference in report.disposed:
            click.echo(f"  disposed: {reference}")
        for reference in report.held:
            click.echo(f"  kept (legal hold): {reference}")
        click.echo("Purged {submission_keys} expired form keys and {rate_limit_counters} "
                   "rate-limit counters.".format(**purged))

    app.cli.add_command(group)
