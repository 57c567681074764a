"""The app's clock: every "now" a service is handed or a session check reads comes from here."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from disclosure_app.db import utcnow


def now() -> datetime:
    """The current UTC time; tests may install a fixed clock as ``app.config['CLOCK']``."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()
