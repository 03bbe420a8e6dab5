"""An ASGI front that answers the first requests with chosen error statuses."""

from __future__ import annotations

import collections
from typing import Any

import orjson

from emmi_async.testing import ReferenceServer


class Scripted:
    """Answers each request with the next status of ``statuses`` (``Retry-After: 0``), then
    lets requests through to the reference app."""

    def __init__(self, app: Any, statuses: list[int]) -> None:
        self.app = app
        self.statuses = collections.deque(statuses)
        self.answered = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.statuses:
            await self.app(scope, receive, send)
            return
        status = self.statuses.popleft()
        self.answered += 1
        request_id = f"req_scripted_{self.answered}"
        body = orjson.dumps(
            {"error": {"type": "scripted", "message": "scripted", "request_id": request_id}}
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", request_id.encode()),
            (b"retry-after", b"0"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def scripted(server: ReferenceServer, statuses: list[int]) -> Scripted:
    """Put a :class:`Scripted` front on ``server`` (before its clients are made)."""
    front = Scripted(server.app, statuses)
    server.app = front  # type: ignore[assignment]
    return front
