"""Security headers on every response, including error pages."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def init_app(app: Flask) -> None:
    app.after_request(secure)


def secure(response: Response) -> Response:
    """The headers every response carries. Error pages call this themselves too, so that a
    failing after-request hook (which stops the hooks after it) cannot leave them bare."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: nothing goes to other sites either way, but under
    # no-referrer browsers send "Origin: null" on our own form posts, and the Origin check
    # (request_rules) could not tell them from a forged post (SEC-24, SEC-25).
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # Always sent: browsers ignore it over plain http (the local demo) and obey it over
    # https, so a deployment cannot forget it (SEC-25, SEC-38).
    response.headers.setdefault(
        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
    )
    if request.endpoint != "static" and not _is_public_page():
        # Case data must never sit in a browser or proxy cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _is_public_page() -> bool:
    return (request.endpoint or "") in {"public.start", "public.privacy", "public.accessibility"}
