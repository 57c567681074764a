"""The notifications pages (the ``notifications`` blueprint) and, outside production only, the
development outbox (the ``dev_outbox`` blueprint).

Views stay thin: read the request, call one service, redirect (303). Marking read is a POST
with the CSRF token; marking again is harmless, so no one-time key is needed.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from disclosure_app.db import get_session
from disclosure_app.models import User
from disclosure_app.notifications import inbox, mail
from disclosure_app.web.access import STAFF, allow
from disclosure_app.web.context import now
from disclosure_app.web.routing import MAX_ID

bp = Blueprint("notifications", __name__)


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _id_or_none(value: str | None) -> int | None:
    """A page or form id: a whole number a database id could be, else None."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


@bp.get("/notifications")
@allow(*inbox.RECIPIENT_ROLES)
def index() -> Any:
    before = _id_or_none(request.args.get("before"))
    shown = inbox.page(get_session(), _user(), before=before,
                       size=int(current_app.config["NOTIFICATIONS_PAGE_SIZE"]))
    return render_template("notifications/index.html", page=shown, first_page=before is None)


@bp.post("/notifications/<id:notification_id>/read")
@allow(*inbox.RECIPIENT_ROLES)
def mark_read(notification_id: int) -> Any:
    inbox.mark_read(get_session(), _user(), notification_id, now=now())
    flash("Notification marked as read.", "success")
    return redirect(url_for("notifications.index"), code=303)


@bp.post("/notifications/read")
@allow(*inbox.RECIPIENT_ROLES)
def mark_all_read() -> Any:
    # The newest notification the page showed: one that arrived since stays unread.
    up_to = _id_or_none(request.form.get("up_to"))
    if up_to is None:
        abort(400)
    marked = inbox.mark_all_read(get_session(), _user(), up_to=up_to, now=now())
    flash(f"{marked} {'notification' if marked == 1 else 'notifications'} marked as read.",
          "success")
    return redirect(url_for("notifications.index"), code=303)


# --- Development only: the e-mails written instead of sent --------------------------------------

dev_outbox_bp = Blueprint("dev_outbox", __name__, url_prefix="/dev/outbox")


@dev_outbox_bp.get("", endpoint="index")
@allow(*STAFF)
def outbox_index() -> Any:
    messages = mail.outbox_messages(mail.outbox_dir(current_app))
    return render_template("notifications/outbox.html", messages=messages,
                           directory=mail.outbox_dir(current_app))


@dev_outbox_bp.get("/<name>")
@allow(*STAFF)
def message(name: str) -> Any:
    return render_template("notifications/outbox_message.html",
                           message=mail.outbox_message(mail.outbox_dir(current_app), name))


def register(app: Flask) -> None:
    """The notifications pages always; the outbox only outside production (a 404 there)."""
    app.register_blueprint(bp)
    if not app.config.get("PRODUCTION", True):
        app.register_blueprint(dev_outbox_bp)
