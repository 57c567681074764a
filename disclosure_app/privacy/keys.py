"""Where the app finds its key store: configuration, defaults, and the accessor the column type
and the services use."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy.engine import make_url

from disclosure_app.privacy.keystore import DEFAULT_CACHE_SECONDS, KeyStore, KeyStoreError

EXTENSION = "disclosure_keys"


def default_keystore_url(database_url: str, instance_path: str) -> str:
    """Beside a SQLite database file (``x.sqlite`` → ``x.keys.sqlite``); otherwise a file in
    the instance folder. Never inside the main database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return f"sqlite:///{path.with_name(path.stem + '.keys.sqlite')}"
    return f"sqlite:///{Path(instance_path) / 'keystore.sqlite'}"


def init_app(app: Flask) -> None:
    database_url = app.config["DATABASE_URL"]  # set by db.init_app, which runs first
    url = app.config.get("KEYSTORE_URL") or default_keystore_url(database_url, app.instance_path)
    kek_dir = Path(app.config.get("KEK_DIR") or Path(app.instance_path) / "kek")
    app.config["KEYSTORE_URL"] = url
    app.config["KEK_DIR"] = str(kek_dir)
    app.extensions[EXTENSION] = KeyStore(
        url, kek_dir, cache_seconds=float(app.config.get("KEY_CACHE_SECONDS")
                                          or DEFAULT_CACHE_SECONDS))


def keystore() -> KeyStore:
    if not has_app_context():
        raise KeyStoreError("personal data is sealed per case: reading or writing it needs the "
                            "app (its key store), so run inside an app context")
    return current_app.extensions[EXTENSION]
