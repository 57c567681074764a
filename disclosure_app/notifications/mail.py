"""E-mail to staff about their notifications: whether it is on, what a message says, and the
two ways it leaves (SMTP, or a development outbox of .eml files).

**Whether e-mail is on** is decided in one place, ``enabled(config)``: when ``MAIL_SERVER`` is
set (SMTP), or outside production (the outbox). In production without ``MAIL_SERVER`` there is
no e-mail: notifications are queued with ``email_state = "none"``, start-up logs a warning and
``/healthz`` says ``"email": "off"``. SMTP is never required.

**What an e-mail says** is the notification's own fixed text (the case reference and what needs
attention), a link to the case (or to the notifications page) on ``STAFF_BASE_URL``, and a fixed
footer: never a name, an address, a decision or an outcome, because e-mail leaves the force's
systems and sits in mailboxes beyond the app's retention and access controls.

Only the standard library is used (``smtplib``, ``email.message``): the protocol is simple and a
dependency would add nothing.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context

from disclosure_app.core.errors import NotFound

log = logging.getLogger(__name__)

# Where `make run` serves the app: the links in development e-mails when STAFF_BASE_URL is unset.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def enabled(config: Mapping[str, Any]) -> bool:
    """Whether staff notifications are queued for e-mail: SMTP configured, or the development
    outbox (anything but production)."""
    return bool(config.get("MAIL_SERVER")) or not config.get("PRODUCTION", True)


def mode(config: Mapping[str, Any]) -> str:
    """"smtp", "outbox" or "off": what /healthz and the send command report."""
    if config.get("MAIL_SERVER"):
        return "smtp"
    return "off" if config.get("PRODUCTION", True) else "outbox"


def enabled_for_current_app() -> bool:
    """``enabled`` for the app in context (False outside one): what ``notify`` uses when its
    caller does not say, so that services raising notifications need not know about e-mail."""
    return has_app_context() and enabled(current_app.config)


def init_app(app: Flask) -> None:
    if mode(app.config) == "off":
        log.warning("E-mail to staff is off: MAIL_SERVER is not set. Notifications are shown "
                    "in the app only.")


# --- What a message says ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingMail:
    """One notification to e-mail: only what the message may carry."""

    notification_id: int
    to: str
    text: str  # Notification.message: fixed wording with the case reference
    case_id: int | None
    sent_at: datetime


@dataclass(frozen=True)
class MailSettings:
    sender: str
    base_url: str  # no trailing slash
    service_name: str
    force_name: str
    case_path: Callable[[int], str]
    list_path: str


def settings_for(app: Flask) -> MailSettings:
    """The sender, the base of every link and the paths of the pages linked to, read from the
    app's own routes (the command line has no request to build URLs from)."""
    config = app.config
    base = config.get("STAFF_BASE_URL") or DEVELOPMENT_BASE_URL
    adapter = app.url_map.bind("localhost")
    return MailSettings(
        sender=str(config["MAIL_FROM"]),
        base_url=str(base).rstrip("/"),
        service_name=str(config["SERVICE_NAME"]),
        force_name=str(config["FORCE_NAME"]),
        case_path=lambda case_id: adapter.build("staff.case", {"case_id": case_id}),
        list_path=adapter.build("notifications.index"),
    )


def compose(settings: MailSettings, mail: OutgoingMail) -> EmailMessage:
    """The e-mail for one notification. The subject and body hold the fixed text, links and
    footer only; header values are checked by the email package (no CR or LF can get in)."""
    link = settings.base_url + (
        settings.case_path(mail.case_id) if mail.case_id else settings.list_path)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to
    message["Subject"] = mail.text
    message["Date"] = format_datetime(mail.sent_at.astimezone(UTC))
    message["Message-ID"] = make_msgid(idstring=f"notification-{mail.notification_id}",
                                       domain=settings.sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(
        f"{mail.text}\n\n"
        f"Open it in the service (you may be asked to sign in):\n{link}\n\n"
        f"All your notifications: {settings.base_url}{settings.list_path}\n\n"
        f"This message was sent automatically by the {settings.service_name} service of "
        f"{settings.force_name}. It holds no case details: read them in the service. Do not "
        "reply to it.\n"
    )
    return message


# --- How it leaves ---------------------------------------------------------------------------


class MailerUnavailable(Exception):
    """The mail server could not be reached or refused the connection (or the sign-in): nothing
    is wrong with any one message, so the run stops and every message waits for the next."""


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Send one message; ``MailerUnavailable`` if the server cannot take any, any other
        exception if this message failed."""

    def close(self) -> None: ...


class SmtpMailer:
    """One SMTP connection per run, opened at the first message. STARTTLS is required when
    ``use_tls`` (a server that does not offer it is "unavailable", never a fallback to clear
    text), with the system's certificate checks."""

    def __init__(self, settings: MailSettings, *, host: str, port: int, use_tls: bool,
                 username: str | None, password: str | None, timeout: float) -> None:
        self.settings = settings
        self.host, self.port, self.use_tls = host, port, use_tls
        self.username, self.password, self.timeout = username, password, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = None
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            # The class name only: an SMTP error's text can quote the server's reply.
            raise MailerUnavailable(f"{self.host}:{self.port}: {type(exc).__name__}") from exc
        return smtp

    def send(self, mail: OutgoingMail) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(compose(self.settings, mail))
        except smtplib.SMTPServerDisconnected as exc:
            self._smtp = None
            raise MailerUnavailable(f"{self.host}:{self.port}: {type(exc).__name__}") from exc
        except smtplib.SMTPException:
            raise  # this message (a refused address, say): the connection is still good
        except OSError as exc:  # (SMTPException is an OSError too, hence the order)
            # The connection is gone, not this message: the rest wait for the next run.
            self._smtp = None
            raise MailerUnavailable(f"{self.host}:{self.port}: {type(exc).__name__}") from exc

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


# Outbox files are named by the time they were written and the notification's id, so that the
# names sort oldest to newest and nothing else can be asked for by name.
OUTBOX_NAME = re.compile(r"\A\d{8}T\d{6}Z-\d{8,12}\.eml\Z")


class OutboxMailer:
    """Development only: each message is written to ``directory`` as an .eml file (read at
    /dev/outbox, or opened in any mail program)."""

    def __init__(self, settings: MailSettings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory

    def send(self, mail: OutgoingMail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = mail.sent_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.directory / f"{stamp}-{mail.notification_id:08d}.eml"
        data = compose(self.settings, mail).as_bytes(policy=email_policy.SMTP)
        # Written whole, then renamed: the outbox page never reads half a message.
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, target)

    def close(self) -> None:
        pass


def outbox_dir(app: Flask) -> Path:
    configured = app.config.get("MAIL_OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def mailer_for(app: Flask) -> Mailer | None:
    """SMTP when configured, the outbox outside production, otherwise None (no e-mail)."""
    config = app.config
    settings = settings_for(app)
    if config.get("MAIL_SERVER"):
        return SmtpMailer(settings, host=str(config["MAIL_SERVER"]), port=int(config["MAIL_PORT"]),
                          use_tls=bool(config["MAIL_USE_TLS"]),
                          username=config.get("MAIL_USERNAME"),
                          password=config.get("MAIL_PASSWORD"),
                          timeout=float(config["MAIL_TIMEOUT_SECONDS"]))
    if not config.get("PRODUCTION", True):
        return OutboxMailer(settings, outbox_dir(app))
    return None


# --- Reading the development outbox ----------------------------------------------------------

OUTBOX_SHOWN = 200


@dataclass(frozen=True)
class OutboxMessage:
    name: str
    to: str
    subject: str
    date: str
    body: str = ""


def _read(path: Path, *, with_body: bool) -> OutboxMessage:
    parsed = BytesParser(policy=email_policy.default).parsebytes(path.read_bytes())
    body = ""
    if with_body:
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""  # type: ignore[attr-defined]
    return OutboxMessage(path.name, str(parsed["To"] or ""), str(parsed["Subject"] or ""),
                         str(parsed["Date"] or ""), body)


def outbox_messages(directory: Path, limit: int = OUTBOX_SHOWN) -> list[OutboxMessage]:
    """The newest ``limit`` messages in the outbox, newest first."""
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if OUTBOX_NAME.match(p.name)),
                   reverse=True)[:limit]
    return [_read(directory / name, with_body=False) for name in names]


def outbox_message(directory: Path, name: str) -> OutboxMessage:
    """One message by its file name; any other name (a path, a dot file) is a 404."""
    if not OUTBOX_NAME.match(name) or not (directory / name).is_file():
        raise NotFound()
    return _read(directory / name, with_body=True)
