"""One shipped server per module: a throwaway instance folder set up by the same commands as
``make run`` (see ``tests.smoke.shipped``)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest

from tests.smoke.shipped import ShippedServer, Visitor, shipped_server

_addresses = count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "smoke: runs the application as `make run` ships it, in a real server "
                   "(a few seconds per module to start; each send waits the minimum fill time)")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedServer]:
    with shipped_server(tmp_path_factory.mktemp("instance")) as server:
        yield server


@pytest.fixture
def visitor(shipped: ShippedServer) -> Visitor:
    """A person at an address of their own (127.0.0.2, .3, ...): the per-address limits count
    them alone, as they would a different household."""
    return new_visitor(shipped)


def new_visitor(server: ShippedServer) -> Visitor:
    server.restart_if_hung()
    n = next(_addresses)
    return Visitor(server, f"127.0.{n // 250}.{n % 250 + 2}")
