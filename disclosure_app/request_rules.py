"""Request-level input rules (SECURITY.md SEC-19), before any view or form sees the request.

- The public side accepts at most ``PUBLIC_MAX_CONTENT_LENGTH`` (64 KiB) per request; the rest
  of the app ``MAX_CONTENT_LENGTH``. Larger bodies get a 413 and nothing is read or stored.
- A NUL character in a parameter is refused (400): no text here can contain one, and
  PostgreSQL cannot store it. The public forms instead show it as a field error ("Remove
  control characters"), as they do every control character.
- A parameter sent more than once where the form expects one value (``decision=disclose&
  decision=no_disclosure``) is refused with a 400 rather than silently taking the first. Only
  the checkbox groups of the workflow's step forms and the GOV.UK date inputs (day, month and
  year under one name) may repeat.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask, abort, current_app, request
from wtforms import DateField, SelectMultipleField
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm

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


def init_app(app: Flask) -> None:
    @app.before_request
    def _input_rules() -> None:
        if request.blueprint == "public" and request.method == "POST":
            request.max_content_length = int(current_app.config["PUBLIC_MAX_CONTENT_LENGTH"])
        repeated = _repeated(request.args)
        if request.method == "POST" and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            repeated += _repeated(request.form)
        problem = "repeated parameter" if repeated else (
            None if request.blueprint == "public" else _nul_problem())
        if problem:
            from disclosure_app.security_log import _security_event

            _security_event("hostile_input", problem=problem,
                            names=",".join(sorted(set(repeated))[:5]))
            abort(400, description=problem)


def _nul_problem() -> str | None:
    sources = [request.args]
    if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for values in sources:
        for _key, items in values.lists():
            if any("\x00" in item for item in items):
                return "NUL character"
    return None
