"""Staff account administration: creating accounts (the password is shown once), deactivating
them (which signs the holder out everywhere), and keeping everyone else out."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, User
from tests.factories import SUBJECT_NAME, make_case
from workflows.roles import Agency, Rank, Role
from workflows.status import Status

pytestmark = pytest.mark.staff_snapshot  # staff and clients: see tests/conftest.py

PASSWORD_RE = re.compile(r'data-testid="one-time-password">([^<]+)<')

NEW_OFFICER = {"email": "New.Officer@Northshire.example", "full_name": "Nia Newcomer",
               "role": "decision_maker", "rank": "chief_inspector", "agency": ""}


def _user(app, email: str) -> User | None:
    with app.app_context():
        session = get_session()
        user = session.scalars(select(User).where(User.email == email)).first()
        session.expunge_all()
        return user


def _actions(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
        return rows


def _user_count(app) -> int:
    with app.app_context():
        return len(get_session().scalars(select(User.id)).all())


def test_admin_creates_an_account_and_sees_the_password_once(app, staff, clients):
    admin = clients["admin"]
    response = admin.post("/admin/users/new", data=NEW_OFFICER)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = PASSWORD_RE.search(page).group(1)
    assert len(password) >= 12

    user = _user(app, "new.officer@northshire.example")
    assert user.role is Role.decision_maker and user.rank is Rank.chief_inspector
    assert user.agency is None and user.active
    assert password not in user.password_hash

    with admin.session_transaction() as cookie_session:
        assert password not in json.dumps(dict(cookie_session), default=str)
    assert password not in admin.get("/admin/users").get_data(as_text=True)

    [entry] = [e for e in _actions(app, "user_created") if json.loads(e.payload)["details"]
               ["user_id"] == user.id]
    assert entry.actor_id == staff["admin"].id
    assert password not in entry.payload


def test_the_one_time_password_works_for_sign_in(app, clients):
    page = clients["admin"].post("/admin/users/new", data=NEW_OFFICER).get_data(as_text=True)
    password = PASSWORD_RE.search(page).group(1)
    newcomer = app.test_client()
    response = newcomer.post("/staff/sign-in", data={"email": NEW_OFFICER["email"],
                                                     "password": password})
    assert response.status_code == 302
    assert "/staff/sign-in" not in response.headers["Location"]
    wrong = app.test_client().post("/staff/sign-in", data={"email": NEW_OFFICER["email"],
                                                           "password": password + "x"})
    assert wrong.status_code == 400


def test_a_partner_account_gets_its_agency_and_no_rank(app, clients):
    data = {"email": "pat@health.example", "full_name": "Pat Health", "role": "partner",
            "rank": "", "agency": "health"}
    assert clients["admin"].post("/admin/users/new", data=data).status_code == 200
    user = _user(app, "pat@health.example")
    assert user.agency is Agency.health and user.rank is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": ""}, "Enter an email address"),
        ({"email": "not-an-email"}, "Enter an email address in the correct format"),
        ({"full_name": ""}, "Enter the person&#39;s full name"),
        ({"full_name": "x" * 101}, "Full name must be 100 characters or fewer"),
        ({"role": ""}, "Select a role"),
        ({"role": "applicant"}, "Select a role"),
        ({"role": "superuser"}, "Select a role"),
        ({"rank": ""}, "Select the officer&#39;s rank"),
        ({"rank": "field_marshal"}, "Select a rank from the list"),
        ({"role": "partner", "agency": "mi5"}, "Select an agency from the list"),
        ({"role": "partner", "rank": ""}, "Select the partner&#39;s agency"),
    ],
)
def test_invalid_account_details_are_refused_with_a_400_and_nothing_is_created(
    app, staff, clients, change, message
):
    before = _user_count(app)
    response = clients["admin"].post("/admin/users/new", data={**NEW_OFFICER, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in page and message in page
    assert 'data-testid="one-time-password"' not in page
    assert _user_count(app) == before


def test_a_duplicate_email_is_refused(app, staff, clients):
    data = {**NEW_OFFICER, "email": staff["auditor"].email.upper()}
    response = clients["admin"].post("/admin/users/new", data=data)
    assert response.status_code == 400
    assert "An account with this email address already exists" in response.get_data(as_text=True)


def test_the_account_list_shows_accounts_but_no_case_data(app, staff, clients):
    case, _ = make_case(app, Status.awaiting_decision, officer=staff["case_officer"])
    page = clients["admin"].get("/admin/users").get_data(as_text=True)
    for user in staff.values():
        assert user.email in page and user.full_name in page
    assert "Inspector" in page and "Probation" in page
    assert case.reference not in page and SUBJECT_NAME not in page


def test_deactivating_a_user_signs_them_out_on_their_next_request(app, staff, clients):
    auditor = clients["auditor"]
    assert auditor.get("/audit/").status_code == 200
    response = clients["admin"].post(f"/admin/users/{staff['auditor'].id}/active",
                                     data={"active": "0"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users")

    after = auditor.get("/audit/")
    assert after.status_code == 302
    assert "/staff/sign-in" in after.headers["Location"]
    assert not _user(app, staff["auditor"].email).active
    [entry] = _actions(app, "user_deactivated")
    assert json.loads(entry.payload)["details"]["user_id"] == staff["auditor"].id


def test_a_deactivated_user_cannot_sign_in_until_reactivated(app, staff, clients):
    from tests.factories import PASSWORD

    email = staff["auditor"].email
    clients["admin"].post(f"/admin/users/{staff['auditor'].id}/active", data={"active": "0"})
    refused = app.test_client().post("/staff/sign-in", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400
    clients["admin"].post(f"/admin/users/{staff['auditor'].id}/active", data={"active": "1"})
    assert _user(app, email).active
    allowed = app.test_client().post("/staff/sign-in", data={"email": email, "password": PASSWORD})
    assert allowed.status_code == 302
    assert len(_actions(app, "user_activated")) == 1


def test_an_admin_cannot_deactivate_their_own_account(app, staff, clients):
    response = clients["admin"].post(f"/admin/users/{staff['admin'].id}/active",
                                     data={"active": "0"})
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)
    assert _user(app, staff["admin"].email).active
    assert clients["admin"].get("/admin/users").status_code == 200


@pytest.mark.parametrize("value", ["", "2", "yes", "-1"])
def test_a_bad_active_value_is_refused(app, staff, clients, value):
    response = clients["admin"].post(f"/admin/users/{staff['auditor'].id}/active",
                                     data={"active": value})
    assert response.status_code == 400
    assert _user(app, staff["auditor"].email).active


def test_changing_an_unknown_account_is_404(clients):
    assert clients["admin"].post("/admin/users/999999/active",
                                 data={"active": "0"}).status_code == 404


def test_set_active_is_post_only(staff, clients):
    assert clients["admin"].get(f"/admin/users/{staff['auditor'].id}/active").status_code == 405


ADMIN_REQUESTS = [
    ("get", "/admin/users", None),
    ("get", "/admin/users/new", None),
    ("post", "/admin/users/new", NEW_OFFICER),
    ("post", "/admin/users/{auditor}/active", {"active": "0"}),
]


@pytest.mark.parametrize(("method", "url", "data"), ADMIN_REQUESTS)
@pytest.mark.parametrize("role", ["case_officer", "decision_maker", "partner", "auditor"])
def test_non_admins_are_refused_every_admin_page(app, staff, clients, role, method, url, data):
    before = _user_count(app)
    response = getattr(clients[role], method)(url.format(auditor=staff["auditor"].id), data=data)
    assert response.status_code == 403
    assert _user_count(app) == before
    assert _user(app, staff["auditor"].email).active


@pytest.mark.parametrize(("method", "url", "data"), ADMIN_REQUESTS)
def test_anonymous_visitors_are_sent_to_sign_in(staff, clients, method, url, data):
    response = getattr(clients["anonymous"], method)(url.format(auditor=staff["auditor"].id),
                                                     data=data)
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


# --- Forms and pages ----------------------------------------------------------------------------

TOKEN_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def test_with_csrf_on_admin_posts_need_the_forms_token(db_path, staff):
    from tests.conftest import complete_second_factor, make_app
    from tests.factories import PASSWORD

    app = make_app(db_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = TOKEN_RE.search(client.get("/staff/sign-in").get_data(as_text=True)).group(1)
    assert client.post("/staff/sign-in", data={"email": staff["admin"].email,
                                               "password": PASSWORD,
                                               "csrf_token": token}).status_code == 302
    complete_second_factor(app, client, staff["admin"].email)
    before = _user_count(app)
    assert client.post("/admin/users/new", data=NEW_OFFICER).status_code == 400
    assert client.post(f"/admin/users/{staff['auditor'].id}/active",
                       data={"active": "0"}).status_code == 400
    assert _user_count(app) == before and _user(app, staff["auditor"].email).active

    form_page = client.get("/admin/users/new").get_data(as_text=True)
    token = TOKEN_RE.search(form_page).group(1)
    created = client.post("/admin/users/new", data={**NEW_OFFICER, "csrf_token": token})
    assert created.status_code == 200 and PASSWORD_RE.search(created.get_data(as_text=True))

    users_page = client.get("/admin/users").get_data(as_text=True)
    forms = re.findall(r'<form method="post".*?</form>', users_page, flags=re.S)
    assert forms and all(TOKEN_RE.search(form) for form in forms)
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize(("url", "title"), [("/admin/users", "Staff accounts"),
                                            ("/admin/users/new", "Create a staff account")])
def test_admin_pages_have_a_title_and_unique_ids(clients, url, title):
    page = clients["admin"].get(url).get_data(as_text=True)
    assert f"<title>{title} –" in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for form in re.findall(r"<form [^>]*>", page):
        assert 'action="' in form
