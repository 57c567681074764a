"""Request-level input rules (SECURITY.md SEC-19), before any view or form sees the request.

- The public side accepts at most ``PUBLIC_MAX_CONTENT_LENGTH`` (64 KiB) per request; the rest
  of the app ``MAX_CONTENT_LENGTH``. Larger bodies get a 413 and nothing is read or stored.
- A NUL character in a parameter is refused (400): no text here can contain one, and
  PostgreSQL cannot store it. The public forms instead show it as a field error ("Remove
  control characters"), as they do every control character.
- A parameter sent more than once where the form expects one value (``decision=disclose&
  decision=no_disclosure``) is refused with a 400 rather than silently taking the first. Only
  the checkbox groups of the workflow's step forms and the GOV.UK date inputs (day, month and
  year under one name) may repeat. A name sent both in the address and in the form body is
  refused too (400): ``request.values`` would silently pick one.
- Text must be UTF-8: an invalid byte, raw or percent-encoded, in the query string or a form
  field is refused (400) instead of becoming U+FFFD or a literal ``%FF`` and being stored.
- At most ``MAX_FORM_PARTS`` fields in a query string or an urlencoded body (413): werkzeug caps
  only multipart bodies at that number.
- A state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` (or, without one, whose
  ``Referer``) is another site, or ``null``, is refused as a CSRF failure (400 "not sent from
  this service"; the CSRF handler writes the security event). Every current browser sends
  ``Origin`` on a POST, cross-site ones included (as ``null`` when it hides the page), so a
  request with neither header comes from a program, which cannot carry a signed-in person's
  cookie: it is let through to the CSRF token check, which still applies. Same-origin means the
  request's own (trusted) host, or any name in ``TRUSTED_HOSTS``; over https, or in production,
  an http origin is foreign. Pages send ``Referrer-Policy: same-origin`` (headers.py): under
  ``no-referrer`` browsers send ``Origin: null`` on every form post.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, abort, current_app, request
from flask_wtf.csrf import CSRFError
from werkzeug.sansio.utils import host_is_trusted
from wtforms import DateField, SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm

from disclosure_app.security.events import _security_event
from workflows.fields import Kind
from workflows.steps import STEPS

MULTI_VALUED = frozenset(
    f.name for spec in STEPS.values() for f in spec.fields if f.kind is Kind.multichoice)
# GOV.UK date inputs post day, month and year under one name (the form then checks them).
DATE_INPUTS = frozenset(
    {f.name for spec in STEPS.values() for f in spec.fields if f.kind is Kind.date}
    | {"signed_on", "date_of_birth", "closed_from", "closed_to"})


def _form_classes(base: type) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_form_classes(sub))
    return found


@cache
def _declared_multi_valued() -> frozenset[str]:
    """Every field, in every form class the app declares, that posts several values under one
    name by design: check boxes (SelectMultipleField) and the three boxes of a date."""
    names = set()
    for form in _form_classes(BaseForm):
        for name, value in vars(form).items():
            if isinstance(value, UnboundField) and issubclass(
                    value.field_class, SelectMultipleField | DateField):
                names.add(name)
    return frozenset(names)


def _may_repeat(key: str) -> bool:
    field = key.rsplit("-", 1)[-1]
    return key in MULTI_VALUED or field in DATE_INPUTS or field in _declared_multi_valued()


def _repeated(values: Any) -> list[str]:
    return [key for key, items in values.lists() if len(items) > 1 and not _may_repeat(key)]


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DEFAULT_PORTS = {"http": 80, "https": 443}


def init_app(app: Flask) -> None:
    @app.before_request
    def _input_rules() -> None:
        if request.blueprint == "public" and request.method == "POST":
            request.max_content_length = int(current_app.config["PUBLIC_MAX_CONTENT_LENGTH"])
        if request.method in UNSAFE_METHODS:
            foreign = _foreign_origin()
            if foreign:
                raise CSRFError(f"The {foreign} header names another site.")
        has_form = request.method in UNSAFE_METHODS and request.mimetype in FORM_TYPES
        encoding = _encoding_problem(has_form)
        if encoding == "too many fields":
            abort(413, description=encoding)  # the 413 handler writes the security event
        if encoding:
            _refuse(encoding, [])
        repeated = _repeated(request.args)
        both: list[str] = []
        if has_form:
            repeated += _repeated(request.form)
            both = sorted(set(request.args) & set(request.form))
        problem = ("repeated parameter" if repeated else None) or (
            "parameter in both the address and the form" if both else None) or (
            None if request.blueprint == "public" else _nul_problem())
        if problem:
            _refuse(problem, repeated + both)


def _refuse(problem: str, names: list[str]) -> None:
    _security_event("hostile_input", problem=problem, names=",".join(sorted(set(names))[:5]))
    abort(400, description=problem)


def _foreign_origin() -> str | None:
    """Which header (``Origin``, else ``Referer``) names another site; None when the request
    comes from this service or carries neither (see the module's docstring)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if _same_origin(origin) else "Origin"
    referer = request.headers.get("Referer")
    if referer:
        return None if _same_origin(referer) else "Referer"
    return None


def _same_origin(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal
        return False
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return False  # "null", file:, data:, a user name in front of the host
    if scheme != "https" and (request.is_secure or current_app.config.get("PRODUCTION")):
        return False
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal, as a Host header writes it
    other_port = port not in (None, DEFAULT_PORTS[scheme])
    theirs = f"{host}:{port}" if other_port else host
    ours = request.host.lower()  # already checked against TRUSTED_HOSTS
    if theirs == ours.removesuffix(f":{DEFAULT_PORTS[scheme]}"):
        return True
    # Another name this service answers to, on the scheme's own port (TRUSTED_HOSTS ignores
    # ports, and another port on the same host is another site).
    trusted = current_app.config.get("TRUSTED_HOSTS")
    return bool(trusted) and not other_port and host_is_trusted(theirs, trusted)


def _encoding_problem(has_form: bool) -> str | None:
    """Invalid UTF-8 or too many fields in the query string or the form body."""
    limit = int(current_app.config["MAX_FORM_PARTS"])
    problem = _urlencoded_problem(request.query_string, limit)
    if problem or not has_form:
        return problem
    if request.mimetype == "application/x-www-form-urlencoded":
        # Kept by werkzeug, which parses the form from this same copy (within the size limit).
        return _urlencoded_problem(request.get_data(cache=True), limit)
    # multipart/form-data: werkzeug caps the parts and decodes each field with "replace".
    for _key, items in request.form.lists():
        if any("\ufffd" in item for item in items):
            return "invalid UTF-8"
    return None


def _urlencoded_problem(raw: bytes, limit: int) -> str | None:
    try:
        parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict",
                  max_num_fields=limit)
    except UnicodeDecodeError:
        return "invalid UTF-8"
    except ValueError:  # more than ``limit`` fields
        return "too many fields"
    return None


def _nul_problem() -> str | None:
    sources = [request.args]
    if request.method in UNSAFE_METHODS and request.mimetype in FORM_TYPES:
        sources.append(request.form)
    for values in sources:
        for _key, items in values.lists():
            if any("\x00" in item for item in items):
                return "NUL character"
    return None
