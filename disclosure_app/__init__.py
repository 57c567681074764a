"""disclosure_app: the Child Sex Offender Disclosure Scheme for a police force.

``create_app`` builds the app from layered configuration: defaults, then ``instance/config.py``,
then ``DISCLOSURE_*`` environment variables (and ``DATABASE_URL``), then the mapping passed in.
The instance folder is ``instance/`` in the project unless ``DISCLOSURE_INSTANCE_PATH`` names
another (a deployment's own folder; the smoke tests' throwaway one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from disclosure_app import db
from disclosure_app.config import DefaultConfig
from disclosure_app.extensions import csrf, login_manager
from disclosure_app.privacy import keys as privacy_keys
from disclosure_app.security import headers, mfa, production, rate_limits, request_rules, sessions
from disclosure_app.web import access, errors, routing

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("DISCLOSURE_INSTANCE_PATH") or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("DISCLOSURE")
    if os.environ.get("DATABASE_URL") and not os.environ.get("DISCLOSURE_DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set: put it in instance/config.py or DISCLOSURE_SECRET_KEY "
            "(`make run` creates one for local use)."
        )
    production.enforce(app)  # refuses unsafe settings; forces the __Host- Secure cookie
    if int(app.config.get("PROXY_FIX_X_FOR") or 0) or int(app.config.get("PROXY_FIX_X_PROTO")
                                                           or 0):
        # Exactly as many hops as there are proxies: anything a client adds beyond is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app,  # type: ignore[method-assign]
                                x_for=int(app.config["PROXY_FIX_X_FOR"]),
                                x_proto=int(app.config["PROXY_FIX_X_PROTO"]))

    _refuse_signing_key(app)
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(PROJECT_ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    routing.init_app(app)
    db.init_app(app)
    privacy_keys.init_app(app)  # the key store personal data is sealed under (after the db)
    mfa.init_app(app)
    login_manager.init_app(app)
    request_rules.init_app(app)  # before CSRF, which reads the body: size limits apply first
    csrf.init_app(app)
    sessions.init_app(app)  # timeouts and revocation first: access control sees the result
    access.init_app(app)
    errors.init_app(app)
    headers.init_app(app)

    from disclosure_app.security import users_loader
    from disclosure_app.web import context

    context.init_app(app)
    users_loader.init_app(app)
    _register_blueprints(app)
    rate_limits.init_app(app)  # wraps the limited endpoints, so after the blueprints

    from disclosure_app.cli import register_cli

    register_cli(app)
    from disclosure_app.audit import integrity

    integrity.init_app(app)  # write guard for reconciliation mode; start-up self-check
    from disclosure_app.security import events as security_events

    security_events.init_app(app)  # authorisation denials into the security event log
    from disclosure_app.notifications import mail

    mail.init_app(app)  # says so at start-up when production has no e-mail
    return app


def _refuse_signing_key(app: Flask) -> None:
    """The web process must not be able to sign checkpoints (SEC-34): only the public key may
    be configured. A private key anywhere in the configuration stops the app from starting."""
    from disclosure_app.audit.checkpoints import is_private_key, use_demo_public_key

    for name, value in app.config.items():
        if is_private_key(value) or name in ("AUDIT_SIGNING_KEY", "AUDIT_SIGNING_KEY_FILE"):
            raise RuntimeError(
                f"{name}: the web app must not hold the audit signing key. Configure only "
                "AUDIT_PUBLIC_KEY; `flask audit checkpoint --key-file` reads the private key.")
    use_demo_public_key(app)  # `make run`'s demo key: never in production or under test
    key_file = app.config.get("AUDIT_PUBLIC_KEY_FILE")
    if key_file and not app.config.get("AUDIT_PUBLIC_KEY"):
        text = Path(key_file).read_text(encoding="ascii").strip()
        if is_private_key(text):
            raise RuntimeError("AUDIT_PUBLIC_KEY_FILE holds a private key")
        app.config["AUDIT_PUBLIC_KEY"] = text


def _register_blueprints(app: Flask) -> None:
    from disclosure_app.admin.views import bp as admin_bp
    from disclosure_app.audit import console, views  # noqa: F401  (their routes hang on audit_bp)
    from disclosure_app.audit.blueprint import bp as audit_bp
    from disclosure_app.audit.sensitive import bp as sensitive_bp
    from disclosure_app.cases.views import bp as staff_bp
    from disclosure_app.decisions.views import bp as dip_sampling_bp
    from disclosure_app.documents.views import bp as documents_bp
    from disclosure_app.public.views import bp as public_bp
    from disclosure_app.records.views import bp as records_bp
    from disclosure_app.risk.views import bp as risk_bp
    from disclosure_app.security.views import bp as auth_bp
    from disclosure_app.teams.views import bp as teams_bp
    from disclosure_app.web.health import bp as health_bp

    for bp in (public_bp, auth_bp, staff_bp, risk_bp, audit_bp, documents_bp, dip_sampling_bp,
               admin_bp, health_bp, sensitive_bp, teams_bp, records_bp):
        app.register_blueprint(bp)
    from disclosure_app.notifications import views as notifications

    notifications.register(app)  # the development outbox only outside production
