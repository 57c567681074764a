"""With CSRF protection on (as in production), a POST without a valid token changes nothing."""

import pytest
from sqlalchemy import func, select

from disclosure_app.core.idempotency import new_key
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, Case
from tests.conftest import make_app
from tests.factories import PASSWORD, make_case, make_user
from workflows.roles import Role
from workflows.status import Status


@pytest.fixture
def csrf_app(db_path):
    app = make_app(db_path, WTF_CSRF_ENABLED=True)
    yield app
    app.extensions["db_engine"].dispose()


def _counts(app):
    with app.app_context():
        session = get_session()
        return (session.scalar(select(func.count()).select_from(Case)),
                session.scalar(select(func.count()).select_from(AuditEntry)))


def test_sign_in_without_a_csrf_token_is_refused(csrf_app):
    with csrf_app.app_context():
        user = make_user(get_session(), Role.case_officer)
        email = user.email
    response = csrf_app.test_client().post(
        "/staff/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "expired or was not sent from this service" in response.get_data(as_text=True)


def test_step_without_a_csrf_token_stores_nothing(csrf_app):
    case, _ = make_case(csrf_app, Status.received)
    client = csrf_app.test_client()
    # Sign in properly (with the token from the form), then post a step without one.
    page = client.get("/staff/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    with csrf_app.app_context():
        officer = make_user(get_session(), Role.case_officer)
        email = officer.email
    signed_in = client.post("/staff/sign-in", data={
        "email": email, "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    before = _counts(csrf_app)  # after creating the officer (which writes its own audit entry)
    response = client.post(f"/staff/cases/{case.id}/steps/start_checks",
                           data={"rationale": "Start", "expected_version": case.version,
                                 "submission_key": new_key()})
    assert response.status_code == 400
    assert _counts(csrf_app) == before
    with csrf_app.app_context():
        assert get_session().get(Case, case.id).status is Status.received
