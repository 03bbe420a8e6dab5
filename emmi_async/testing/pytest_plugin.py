"""pytest fixtures for testing code against the EMMI reference server.

Installed as a ``pytest11`` plugin, so it loads in every pytest run of anyone who has
emmi-async: it imports nothing but pytest until a fixture is used (``import emmi_async``
is lazy too).

- ``emmi_server``: an in-process :class:`~emmi_async.testing.ReferenceServer`.
- ``emmi_client``: a single-tenant :class:`~emmi_async.AsyncEmmi` on it, closed after the
  test. A plain (not async) fixture: the client binds to the event loop of its first
  request, so it works in tests run by anyio (``pytest.mark.anyio``, asyncio or trio)
  and by pytest-asyncio in strict (``pytest.mark.asyncio``) or auto mode alike.
- ``emmi_sync_client``: the blocking :class:`~emmi_async.Emmi` on it, for sync tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emmi_async import AsyncEmmi, Emmi
    from emmi_async.testing import ReferenceServer

__all__ = ["emmi_client", "emmi_server", "emmi_sync_client"]


@pytest.fixture
def emmi_server() -> Iterator[ReferenceServer]:
    """A fresh in-process reference server (seed 0, no faults)."""
    from emmi_async.testing import ReferenceServer

    with ReferenceServer() as server:
        yield server


@pytest.fixture
def emmi_client(emmi_server: ReferenceServer) -> Iterator[AsyncEmmi]:
    """A single-tenant ``AsyncEmmi`` on ``emmi_server``, closed after the test.

    Use it from an async test under anyio or pytest-asyncio (any mode).
    """
    import anyio

    client = emmi_server.client()
    try:
        yield client
    finally:
        # The in-process transport holds no sockets: closing needs no particular loop.
        anyio.run(client.aclose)


@pytest.fixture
def emmi_sync_client(emmi_server: ReferenceServer) -> Iterator[Emmi]:
    """A single-tenant blocking ``Emmi`` on ``emmi_server``, closed after the test."""
    from emmi_async import Emmi

    with Emmi.from_async(emmi_server.client()) as client:
        yield client
