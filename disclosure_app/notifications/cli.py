"""``flask --app disclosure_app notifications send``: e-mail the notifications waiting for it (a
job every minute, say; safe to run from several hosts at once: see ``delivery``)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from disclosure_app.db import get_session
from disclosure_app.notifications import delivery, mail
from disclosure_app.web.context import now


def register_cli(app: Flask) -> None:
    group = AppGroup("notifications", help="Notifications to staff.")

    @group.command("send", epilog=(
        "Exit status: 0 everything claimed was sent (or e-mail is off); 1 a message failed "
        "(it is tried again by the next run, up to "
        f"{delivery.MAX_ATTEMPTS} tries) or the mail server could not be reached."))
    @click.option("--limit", type=click.IntRange(min=1, max=10_000), default=200,
                  show_default=True, help="At most this many e-mails in this run.")
    def send(limit: int) -> None:
        """Send the e-mails waiting, oldest first: by SMTP (MAIL_SERVER), or outside
        production into the outbox folder (MAIL_OUTBOX_DIR)."""
        mailer = mail.mailer_for(current_app)
        if mailer is None:
            click.echo("E-mail is off (production without MAIL_SERVER): nothing was sent. "
                       "Notifications are shown in the app only.")
            return
        try:
            report = delivery.deliver_pending(get_session(), mailer, now=now(), limit=limit)
        finally:
            mailer.close()
        click.echo(report.summary())
        if isinstance(mailer, mail.OutboxMailer) and report.sent:
            click.echo(f"Written to {mailer.directory} (read them at /dev/outbox).")
        sys.exit(0 if report.ok else 1)

    app.cli.add_command(group)
