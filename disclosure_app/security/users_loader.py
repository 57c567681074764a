"""Flask-Login wiring: load the signed-in user (whose id carries the session version)."""

from __future__ import annotations

from flask import Flask

from disclosure_app.db import get_session
from disclosure_app.extensions import login_manager
from disclosure_app.models import User
from disclosure_app.security.accounts import load_session_user


def init_app(app: Flask) -> None:
    @login_manager.user_loader
    def _load(session_id: str) -> User | None:
        return load_session_user(get_session(), session_id)
