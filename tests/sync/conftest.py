"""Fixtures of the blocking facade's tests: reference servers and ``Emmi`` clients on them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from emmi_async import Emmi
from emmi_async.testing import ReferenceServer

PORTAL_THREAD_PREFIX = "emmi-sync-portal-"


def entity(identifier: str = "ID-1", **financials: Any) -> dict[str, Any]:
    """An equity entity with one year of revenue (valid for estimates, climate risk...)."""
    return {
        "entity_info": {
            "identifier": identifier,
            "name": "Acme",
            "asset_type": "equity",
            "sector": "Energy",
        },
        "data": [
            {
                "year": 2023,
                "emissions": {"scope1": 1000},
                "financials": {"currency": "USD", "revenue": 1_000_000_000, **financials},
            }
        ],
    }


def portal_threads() -> list[threading.Thread]:
    """The live event-loop threads of blocking clients."""
    return [t for t in threading.enumerate() if t.name.startswith(PORTAL_THREAD_PREFIX)]


class ServerTap:
    """ASGI middleware on a reference app: counts connections, can hold requests.

    ``peers`` holds the (host, port) of every client connection that sent a request (on a
    loopback server, one per TCP connection). A request to a path in ``hold`` signals
    ``held`` and then waits until cancelled (the client gave up).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.peers: set[tuple[str, int]] = set()
        self.requests = 0
        self.hold: set[str] = set()
        self.held = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            client = scope.get("client")
            if client:
                self.peers.add((client[0], client[1]))
            if scope["path"].rpartition("/")[2] in self.hold:
                self.held.set()
                await anyio.sleep_forever()
        await self.app(scope, receive, send)


def tapped(server: ReferenceServer) -> ServerTap:
    """Put a :class:`ServerTap` in front of ``server``'s app (before it starts)."""
    tap = ServerTap(server.app)
    server.app = tap  # type: ignore[assignment]
    return tap


@pytest.fixture
def server() -> Iterator[ReferenceServer]:
    """An in-process reference server."""
    with ReferenceServer() as srv:
        yield srv


@pytest.fixture
def make_client(server: ReferenceServer) -> Iterator[Callable[..., Emmi]]:
    """``make_client(model="single", **kwargs)``: an ``Emmi`` on ``server``, closed after."""
    made: list[Emmi] = []

    def make(model: str = "single", **kwargs: Any) -> Emmi:
        client = Emmi.from_async(server.client(model, **kwargs))  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., Emmi]) -> Emmi:
    """An ``Emmi`` on the in-process server, single-tenant key."""
    return make_client()
