"""The in-process httpx transport: ``httpx.ASGITransport`` plus real-looking network faults.

A dropped connection or a truncated body, signalled by the app as an exception, becomes
the ``httpx.RemoteProtocolError`` that httpx raises for the same event on a real socket,
so client code sees one kind of error in-process and over loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from emmi_async.testing._http import BodyTruncated, ConnectionDropped

if TYPE_CHECKING:
    from emmi_async.testing._app import ReferenceApp

__all__ = ["ReferenceTransport"]


class ReferenceTransport(httpx.AsyncBaseTransport):
    """Sends requests straight into a :class:`ReferenceApp` (asyncio or trio)."""

    def __init__(self, app: ReferenceApp) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            message = "Server disconnected without sending a response."
            raise httpx.RemoteProtocolError(message, request=request) from None
        except BodyTruncated as exc:
            message = (
                "peer closed connection without sending complete message body "
                f"(received {exc.received} bytes, expected {exc.expected})"
            )
            raise httpx.RemoteProtocolError(message, request=request) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
