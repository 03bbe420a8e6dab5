"""Fixtures for the reference server's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from emmi_async.testing import ReferenceServer
from tests.testing._helpers import connect


@pytest.fixture
def server() -> Iterator[ReferenceServer]:
    """An in-process server, seed 0."""
    with ReferenceServer() as srv:
        yield srv


@pytest.fixture(params=["in-process", "loopback"])
def any_server(request: pytest.FixtureRequest) -> Iterator[ReferenceServer]:
    """The same server in-process and on a loopback port (stopped after the test)."""
    port = None if request.param == "in-process" else 0
    with ReferenceServer(port=port) as srv:
        yield srv


@pytest.fixture
async def api(server: ReferenceServer) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on ``server`` carrying its single-tenant key."""
    async with connect(server, **{"X-API-Key": server.keys.single}) as client:
        yield client
