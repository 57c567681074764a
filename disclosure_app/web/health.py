"""``GET /healthz`` for load balancers and monitoring (SECURITY.md R-11). No personal data: only
whether the database answers, the chain head's sequence number, whether the newest entries
verify, whether the service is read-only and whether staff e-mail is on (``"email"``: "smtp",
"outbox" outside production, or "off"; e-mail is optional, so "off" is not "degraded").

200 while the database answers, with ``"status": "degraded"`` when the log's tail does not verify
or writes are paused for reconciliation (every host shares the database, so taking hosts out of
the pool would not help); 503 when the database cannot be reached.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from disclosure_app.audit import integrity
from disclosure_app.db import get_engine
from disclosure_app.notifications import mail
from disclosure_app.web.access import public

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@public
def healthz() -> Any:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body: dict[str, Any] = {"status": "ok", "database": "ok", "chain_head_seq": None,
                            "chain_tail": "unknown", "read_only": False,
                            # "smtp", "outbox" (development) or "off": optional, never degraded.
                            "email": mail.mode(app.config)}
    try:
        # Its own short-lived connection: the request's session may hold a broken one.
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            body["chain_head_seq"], _ = integrity.chain_head(conn)
            tail = integrity.check_tail(
                app, conn, max_age=float(app.config.get("HEALTH_TAIL_TTL_SECONDS", 30)))
            body["chain_tail"] = "ok" if tail.ok else "broken"
            state = integrity.reconciliation(conn, integrity.record_path(app))
            body["read_only"] = state.needed
            conn.rollback()
    except SQLAlchemyError as exc:
        log.error("health check: database unreachable (%s)", type(exc).__name__)
        body.update(status="unavailable", database="unreachable")
        return jsonify(body), 503
    if body["chain_tail"] != "ok" or body["read_only"]:
        body["status"] = "degraded"
    return jsonify(body), 200
