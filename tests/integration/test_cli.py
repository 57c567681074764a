"""The command-line tools an administrator uses."""

import json

from sqlalchemy import select

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, User
from tests.conftest import sign_in
from workflows.roles import Rank, Role


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_user_prints_a_one_time_password_that_signs_in(app):
    result = _run(app, "create-user", "--email", "DI.New@Force.Example", "--name", "Dee New",
                  "--role", "decision_maker", "--rank", "inspector")
    assert result.exit_code == 0, result.output
    password = result.output.strip().rsplit(" ", 1)[-1]
    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.email == "di.new@force.example")).one()
        assert user.role is Role.decision_maker and user.rank is Rank.inspector
        assert password not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        created = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user_created")).all()
        assert len(created) == 1
        assert json.loads(created[0].payload)["details"]["user_id"] == user.id
        assert created[0].actor_name == "create-user command"
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"email": "di.new@force.example",
                                                   "password": password})
    assert response.status_code == 302


def test_create_user_refuses_an_officer_without_a_rank(app):
    result = _run(app, "create-user", "--email", "x@force.example", "--name", "X",
                  "--role", "case_officer")
    assert result.exit_code != 0
    assert "rank" in result.output.lower()
    with app.app_context():
        assert get_session().scalars(select(User)).first() is None


def test_create_user_refuses_a_duplicate_email(app, staff):
    result = _run(app, "create-user", "--email", staff["auditor"].email, "--name", "Again",
                  "--role", "auditor")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_db_current_reports_the_head_revision(app):
    result = _run(app, "db", "current")
    assert result.exit_code == 0


def test_signed_in_staff_reach_their_home_page(app, staff):
    client = sign_in(app, staff["auditor"].email)
    assert client.get("/staff/sign-in").headers["Location"].endswith("/audit/")
