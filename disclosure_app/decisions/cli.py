"""``flask --app disclosure_app dip-sample draw``: a draw from the command line (a monthly
scheduled job, say). It is recorded like a draw from the web page, by "dip-sample command"."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from disclosure_app.core.errors import InputInvalid, StepNotAllowed
from disclosure_app.db import get_session
from disclosure_app.decisions import dip_sampling
from disclosure_app.web.context import now


def register_cli(app: Flask) -> None:
    group = AppGroup("dip-sample", help="Dip sampling of closed no-disclosure cases.")

    @group.command("draw")
    @click.option("--share", type=int, default=None,
                  help="Per cent of the eligible cases to draw (default: DIP_SAMPLE_PERCENT).")
    @click.option("--from", "closed_from", type=click.DateTime(formats=["%Y-%m-%d"]),
                  default=None, help="First closing date, YYYY-MM-DD (default: the first day of "
                  "the previous calendar month).")
    @click.option("--to", "closed_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Last closing date, YYYY-MM-DD, inclusive (default: the last day of the "
                  "previous calendar month).")
    def draw(share: int | None, closed_from: datetime | None,
             closed_to: datetime | None) -> None:
        """Draw a share of closed no-disclosure cases at random for a second review, and print
        the references drawn."""
        _draw(share, closed_from.date() if closed_from else None,
              closed_to.date() if closed_to else None)

    app.cli.add_command(group)


def _draw(share: int | None, closed_from: date | None, closed_to: date | None) -> None:
    moment = now()
    first, last = dip_sampling.previous_month(moment.date())
    share = int(current_app.config.get("DIP_SAMPLE_PERCENT", 10)) if share is None else share
    session = get_session()
    try:
        made = dip_sampling.draw(session, None, share_percent=share,
                                 closed_from=closed_from or first, closed_to=closed_to or last,
                                 now=moment)
    except InputInvalid as exc:
        raise click.ClickException("; ".join(exc.errors.values())) from exc
    except StepNotAllowed as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Draw {made.id} (audit entry {made.audit_seq}): {made.selected} of "
               f"{made.population} closed no-disclosure cases drawn ({made.share_percent}%), "
               f"closed {made.closed_from.isoformat()} to {made.closed_to.isoformat()}.")
    references = dip_sampling.references(session, made.samples)
    for sample in made.samples:
        click.echo(references[sample.case_id])
