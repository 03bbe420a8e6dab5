"""pytest fixtures for testing code against the EMMI reference server.

Installed as a ``pytest11`` plugin, so it loads in every pytest run of anyone who has
emmi-async: it imports nothing heavy until a fixture is used.

- ``emmi_server``: an in-process :class:`~emmi_async.testing.ReferenceServer` (a plain
  fixture, usable from sync and async tests).
- ``emmi_client``: an opened single-tenant :class:`~emmi_async.AsyncEmmi` on it; an
  async fixture, so the test must run under anyio (``pytest.mark.anyio``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emmi_async import AsyncEmmi
    from emmi_async.testing import ReferenceServer

__all__ = ["emmi_client", "emmi_server"]


@pytest.fixture
def emmi_server() -> Iterator[ReferenceServer]:
    """A fresh in-process reference server (seed 0, no faults)."""
    from emmi_async.testing import ReferenceServer

    with ReferenceServer() as server:
        yield server


@pytest.fixture
async def emmi_client(emmi_server: ReferenceServer) -> AsyncIterator[AsyncEmmi]:
    """A single-tenant client on ``emmi_server``, closed after the test."""
    async with emmi_server.client() as client:
        yield client
