"""Shared pieces of the SECURITY.md §1 tests: what a request may have written, sign-in steps
done by hand (the tests of sign-in itself never use tests.conftest.sign_in), and reading the
security-event log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_session
from disclosure_app.models import (
    Case,
    CaseInvitation,
    CaseStep,
    StoredDocument,
    SubmissionKey,
    User,
)
from disclosure_app.security import mfa
from tests.factories import PASSWORD, totp_secret_for

TOKEN_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def written(app: Flask) -> dict[str, Any]:
    """Everything a request might store: the case tables, every case's version, the accounts,
    the one-time keys and the length of the decision log."""
    with app.app_context():
        session = get_session()

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        result = {
            "cases": count(Case), "steps": count(CaseStep), "invitations": count(CaseInvitation),
            "documents": count(StoredDocument), "users": count(User),
            "submission_keys": count(SubmissionKey),
            "versions": int(session.scalar(select(func.coalesce(func.sum(Case.version), 0)))),
            "chain": audit.chain_length(session),
        }
        session.rollback()
        return result


def code_now(email: str, offset: int = 0) -> str:
    secret = totp_secret_for(email)
    return mfa.code_for_step(secret, mfa.step_at(datetime.now(UTC)) + offset)


def password_step(client: FlaskClient, email: str, password: str = PASSWORD,
                  **extra: Any) -> Any:
    return client.post("/staff/sign-in", data={"email": email, "password": password, **extra})


def code_step(client: FlaskClient, code: str) -> Any:
    return client.post("/staff/two-factor", data={"code": code})


def csrf_token(client: FlaskClient, url: str, **kwargs: Any) -> str:
    match = TOKEN_RE.search(client.get(url, **kwargs).get_data(as_text=True))
    assert match, url
    return match.group(1)


def events(caplog: Any, kind: str | None = None) -> list[dict[str, Any]]:
    """The security events logged so far (all, or those of one kind)."""
    found = []
    for record in caplog.records:
        if record.name != "disclosure_app.security":
            continue
        event = json.loads(record.getMessage().removeprefix("security "))
        if kind is None or event["event"] == kind:
            found.append(event)
    return found


def session_cookie(client: FlaskClient, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None
    return cookie.value


def client_with_cookie(app: Flask, value: str, name: str = "session") -> FlaskClient:
    other = app.test_client()
    other.set_cookie(name, value)
    return other
