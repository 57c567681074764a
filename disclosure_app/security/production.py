"""What production refuses and what it forces (SECURITY.md SEC-12, SEC-35, SEC-37, SEC-38).

``PRODUCTION`` defaults to True, so a deployment that forgets to say what it is gets every check.
The app will not start in production with a missing, known or short ``SECRET_KEY``, with debug
or testing on, with CSRF protection off, without its own ``TOTP_ENCRYPTION_KEY``, without
``TRUSTED_HOSTS``, or with a PostgreSQL URL that does not verify the server's certificate
(``sslmode=verify-full``; a Unix socket or a loopback address, e.g. a local PgBouncer or TLS
tunnel, crosses no network). E-mail is optional, but with ``MAIL_SERVER`` set it needs an
https ``STAFF_BASE_URL``, a ``MAIL_FROM`` address and STARTTLS to any server not on this host.
It forces the session cookie to ``__Host-session``, Secure, HttpOnly, Path=/, no Domain,
SameSite=Strict.

Outside production (``make run``, the tests) an unset ``TRUSTED_HOSTS`` means the loopback
names only, so the local demo never builds a link (the applicant's status link) from whatever
Host header a request carries, even with an ``instance/config.py`` written before it listed them.
A non-production server reached under another name must list that name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

MIN_SECRET_KEY_LENGTH = 32
KNOWN_DEV_KEYS = frozenset({
    "dev", "development", "secret", "secret-key", "secret_key", "changeme", "change-me",
    "test", "testing", "test-secret-key-not-for-production", "not-a-secret", "default",
})


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_DEMO_HOSTS = ("127.0.0.1", "localhost")


class ProductionRefused(RuntimeError):
    pass


def problems(app: Flask) -> list[str]:
    config = app.config
    found = []
    key = str(config.get("SECRET_KEY") or "")
    if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in KNOWN_DEV_KEYS or len(set(key)) < 8:
        found.append(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters "
                     "from the environment or instance config")
    if app.debug or config.get("DEBUG"):
        found.append("DEBUG must be off (the Werkzeug debugger runs code for anyone)")
    if config.get("TESTING"):
        found.append("TESTING must be off")
    if not config.get("WTF_CSRF_ENABLED", True):
        found.append("WTF_CSRF_ENABLED must be on")
    if not config.get("TOTP_ENCRYPTION_KEY"):
        found.append("TOTP_ENCRYPTION_KEY must be set (a Fernet key held outside the database)")
    if not config.get("TRUSTED_HOSTS"):
        found.append("TRUSTED_HOSTS must list the host names the service answers to")
    found.extend(_database_problems(str(config.get("DATABASE_URL") or "")))
    found.extend(_keystore_problems(config))
    found.extend(_mail_problems(config))
    return found


def _mail_problems(config: Mapping[str, Any]) -> list[str]:
    """E-mail is optional; when it is configured, its links must point at the real service and
    it must not cross a network in clear (a relay on this host may take plain SMTP)."""
    if not config.get("MAIL_SERVER"):
        return []
    found = []
    if not str(config.get("STAFF_BASE_URL") or "").startswith("https://"):
        found.append("STAFF_BASE_URL must be the staff service's https:// address when "
                     "MAIL_SERVER is set (e-mails link to it)")
    if "@" not in str(config.get("MAIL_FROM") or ""):
        found.append("MAIL_FROM must be an e-mail address when MAIL_SERVER is set")
    if not config.get("MAIL_USE_TLS") and str(config["MAIL_SERVER"]) not in LOOPBACK:
        found.append("MAIL_USE_TLS must be on for a mail server reached over the network")
    return found


def _database_problems(url: str) -> list[str]:
    if not url.startswith("postgresql"):
        return []
    parsed = make_url(url)
    socket_dir = str(parsed.query.get("host") or "")
    if not parsed.host and (not socket_dir or socket_dir.startswith("/")):
        return []  # a Unix-domain socket on this host: nothing crosses a network
    if parsed.host in LOOPBACK:
        return []  # this host (a local PgBouncer or TLS tunnel): nothing crosses a network
    if parsed.query.get("sslmode") != "verify-full":
        return ["DATABASE_URL must use sslmode=verify-full (TLS with the server's certificate "
                "checked) for a database reached over the network"]
    return []


def _keystore_problems(config: Mapping[str, Any]) -> list[str]:
    """Crypto-shredding needs the data keys out of the main database and its backups."""
    keystore_url = str(config.get("KEYSTORE_URL") or "")
    database_url = str(config.get("DATABASE_URL") or "")
    if keystore_url and keystore_url == database_url:
        return ["KEYSTORE_URL must not be the main database: a key kept beside the data it "
                "opens is in every backup of it, and disposal could never destroy it"]
    if database_url.startswith("postgresql") and not keystore_url:
        return ["KEYSTORE_URL must name the key store's own database when DATABASE_URL is "
                "PostgreSQL (every app host must reach the same data keys)"]
    found = _database_problems(keystore_url)
    return [problem.replace("DATABASE_URL", "KEYSTORE_URL") for problem in found]


def enforce(app: Flask) -> None:
    if not app.config.get("PRODUCTION"):
        if not app.config.get("TRUSTED_HOSTS"):
            app.config["TRUSTED_HOSTS"] = list(LOCAL_DEMO_HOSTS)
        return
    found = problems(app)
    if found:
        raise ProductionRefused("Refusing to start in production: " + "; ".join(found) + ".")
    app.config.update(
        SESSION_COOKIE_NAME="__Host-session",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        PREFERRED_URL_SCHEME="https",
        WTF_CSRF_SSL_STRICT=True,
    )
