"""Rate limits (SECURITY.md SEC-05, SEC-29): Flask-Limiter, counting in storage that every
process shares.

The default storage is this app's own database (``rate_limit_counters``, fixed windows): every
gunicorn worker on a host, and every host on a shared PostgreSQL, sees the same counts, with
nothing else to run. A deployment that already runs Redis may set ``RATELIMIT_STORAGE_URI``
(e.g. ``redis://cache:6379/0``) instead; an in-process ``memory://`` store is never used, since
each worker would get its own allowance.

Limits are looked up in configuration on each request, per client address. The client address is
``request.remote_addr`` after ``ProxyFix`` has taken exactly ``PROXY_FIX_X_FOR`` hops from
``X-Forwarded-For`` (SEC-28), so a client cannot reset its count by sending its own header.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context, request
from flask_limiter import Limiter, RequestLimit
from limits.storage import Storage, storage_from_string
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from disclosure_app.db import release_read_transaction, writer
from disclosure_app.models.security import RateLimitCounter
from disclosure_app.security.events import _security_event

_counters = RateLimitCounter.__table__

# endpoint -> (config keys of the limits, HTTP methods counted, shared across every client?)
LIMITED: dict[str, list[tuple[str, tuple[str, ...], bool]]] = {
    "auth.login": [("RATELIMIT_SIGN_IN", ("POST",), False)],
    "auth.two_factor": [("RATELIMIT_SIGN_IN", ("POST",), False)],
    "auth.set_up_two_factor": [("RATELIMIT_SIGN_IN", ("POST",), False)],
    "auth.confirm_identity": [("RATELIMIT_SIGN_IN", ("POST",), False)],
    "public.submit": [("RATELIMIT_APPLY", ("POST",), False),
                      ("RATELIMIT_APPLY_GLOBAL", ("POST",), True)],
    "public.status": [("RATELIMIT_STATUS", ("GET",), False)],
    "public.withdraw": [("RATELIMIT_STATUS", ("POST",), False)],
}


class DatabaseStorage(Storage):
    """A `limits` storage in the app's database: one row per key, upserted atomically."""

    STORAGE_SCHEME = ["disclosure+db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 engine: Engine | None = None, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        if engine is None:
            raise ValueError("DatabaseStorage needs the app's engine")
        self.engine = engine  # reads: never the write lock
        self.writer = writer(engine)  # counter updates: a short write transaction each

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _insert(self) -> Any:
        dialect = self.engine.dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_counters)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if has_app_context():
            release_read_transaction()
        now = time.time()
        stmt = self._insert().values(key=key, count=amount, expires_at=now + expiry)
        expired = _counters.c.expires_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[_counters.c.key],
            set_={
                "count": case((expired, amount), else_=_counters.c.count + amount),
                "expires_at": case((expired, now + expiry), else_=_counters.c.expires_at),
            },
        ).returning(_counters.c.count)
        with self.writer.begin() as conn:
            count = int(conn.execute(stmt).scalar_one())
            if random.random() < 0.01:  # noqa: S311 # nosec B311 # housekeeping
                conn.execute(delete(_counters).where(_counters.c.expires_at < now - 3600))
        return count

    def _row(self, key: str) -> tuple[int, float] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(_counters.c.count, _counters.c.expires_at)
                               .where(_counters.c.key == key)).first()
        if row is None or row.expires_at <= time.time():
            return None
        return int(row.count), float(row.expires_at)

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        if has_app_context():
            release_read_transaction()
        with self.writer.begin() as conn:
            return conn.execute(delete(_counters)).rowcount

    def clear(self, key: str) -> None:
        if has_app_context():
            release_read_transaction()
        with self.writer.begin() as conn:
            conn.execute(delete(_counters).where(_counters.c.key == key))


def client_address() -> str:
    return request.remote_addr or "unknown"


def _on_breach(limit: RequestLimit) -> None:
    _security_event("rate_limited", limit=str(limit.limit))


def _limit_value(config_key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[config_key])


def init_app(app: Flask) -> None:
    """Bind a limiter to this app (one per app: its storage is this app's database) and wrap the
    limited endpoints. Call after every blueprint is registered."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "disclosure+db://"
    options = {"engine": app.extensions["db_engine"]} if uri.startswith("disclosure+db") else {}
    limiter = Limiter(client_address, storage_uri=uri, storage_options=options,
                      strategy="fixed-window", headers_enabled=True)
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter
    # The same kind of shared storage counts events for alerts, even with the limits switched
    # off (Flask-Limiter then makes no storage of its own).
    app.extensions["event_counter"] = storage_from_string(uri, **options)
    for endpoint, limits in LIMITED.items():
        view = app.view_functions[endpoint]
        for config_key, methods, shared in limits:
            view = limiter.limit(
                _limit_value(config_key), methods=list(methods), on_breach=_on_breach,
                key_func=(lambda: "everyone") if shared else None,
                scope=config_key.lower(),
            )(view)
        app.view_functions[endpoint] = view

