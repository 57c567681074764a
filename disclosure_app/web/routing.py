"""URL converters. ``<id:case_id>`` matches only ids a database integer can hold, so an absurd
id in a URL is a 404 rather than an overflow deep in the database driver."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # INTEGER primary keys on PostgreSQL are 32-bit


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: A002
        super().__init__(map, min=1, max=MAX_ID)


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
