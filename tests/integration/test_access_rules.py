"""Deny by default: every endpoint declares who may use it, and undeclared ones refuse everyone."""

from flask import Blueprint

from disclosure_app.web.access import access_rule
from workflows.roles import Role


def test_every_endpoint_declares_an_access_rule(app):
    missing = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and access_rule(view) is None
    ]
    assert missing == []


def test_an_endpoint_without_a_rule_is_refused_even_to_staff(db_path, staff):
    from tests.conftest import make_app, sign_in

    app = make_app(db_path)
    bp = Blueprint("undeclared", __name__)

    @bp.route("/undeclared")
    def undeclared():
        return "should never be served"

    app.register_blueprint(bp)
    assert app.test_client().get("/undeclared").status_code == 403
    officer = sign_in(app, staff["case_officer"].email)
    assert officer.get("/undeclared").status_code == 403


# The steps of signing in that come before anyone is signed in (each checks the pending
# sign-in in the session itself: see disclosure_app.security.views).
SIGN_IN_STEPS = ("auth.login", "auth.two_factor", "auth.set_up_two_factor",
                 "auth.two_factor_qr", "auth.new_password")


def test_public_endpoints_are_only_the_public_pages_and_sign_in(app):
    public = sorted(e for e, v in app.view_functions.items() if access_rule(v) == "public")
    assert all(e.startswith("public.") or e in SIGN_IN_STEPS or e == "health.healthz"
               for e in public), public


def test_auditors_have_no_way_to_change_anything(app):
    for rule in app.url_map.iter_rules():
        roles = access_rule(app.view_functions[rule.endpoint])
        if isinstance(roles, frozenset) and Role.auditor in roles:
            mutating = (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
            # Their own account only (signing out, a password, a step-up code), and giving a
            # reason before sensitive details (issue 6), which writes only to the log: see
            # test_an_auditors_reason_writes_only_to_the_log.
            assert not mutating or rule.endpoint in (
                "auth.logout", "auth.change_password", "auth.confirm_identity",
                # The "who consulted" search by name: a POST so the name is never in a URL
                # (SEC-26); it reads, and writes only its consultation to the log.
                "sensitive.give_reason", "audit.consultations"), rule
