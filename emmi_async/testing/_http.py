"""Raw ASGI plumbing: reading bodies, building JSON and error responses, delivering them.

:func:`deliver` is where delivery faults happen. Over uvicorn a dropped connection or a
truncated body is a real close of the TCP transport: uvicorn hands the app its
``RequestResponseCycle.send`` bound method, whose ``__self__.transport`` is the asyncio
transport, so :func:`_close_transport` closes it directly (raising instead would make
uvicorn answer 500). In-process (``httpx.ASGITransport``), or under a server that does not
expose its transport, the fault is raised as :class:`ConnectionDropped` or
:class:`BodyTruncated`; the in-process transport turns those into the
``httpx.RemoteProtocolError`` a real socket would give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import anyio.lowlevel
import orjson

from emmi_async.testing._faults import FaultKind, FaultPlan

__all__ = [
    "ERROR_TYPES",
    "BodyTruncated",
    "ConnectionDropped",
    "Headers",
    "Receive",
    "Send",
    "deliver",
    "error_body",
    "read_body",
]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "payload_too_large_error",
    422: "validation_error",
    429: "rate_limit_error",
}

_SLOW_CHUNKS = 5


class ConnectionDropped(Exception):
    """The server closed the connection without a response (in-process signal)."""


class BodyTruncated(Exception):
    """The server closed the connection mid-body (in-process signal)."""

    def __init__(self, received: int, expected: int) -> None:
        super().__init__(f"received {received} bytes, expected {expected}")
        self.received = received
        self.expected = expected


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def error_body(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> bytes:
    """The JSON error envelope ``{"error": {type, code, message, request_id, details?}}``."""
    error: dict[str, Any] = {
        "type": ERROR_TYPES.get(status, "api_error"),
        "code": code,
        "message": message,
        "request_id": request_id,
    }
    if details is not None:
        error["details"] = details
    error.update(extra)
    return orjson.dumps({"error": error})


async def _close_transport(send: Send) -> bool:
    """Close the TCP connection under ``send`` when the server exposes it (uvicorn)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    # Let the loop run connection_lost, so that uvicorn sees the disconnect and neither
    # answers 500 nor logs an incomplete response.
    for _ in range(3):
        await anyio.lowlevel.checkpoint()
    return True


async def deliver(send: Send, status: int, body: bytes, headers: Headers, plan: FaultPlan) -> None:
    """Send one response, mangled as ``plan`` says (``DROP``, ``TRUNCATE``, ...)."""
    kind = plan.kind
    if kind is FaultKind.DROP:
        if await _close_transport(send):
            return
        raise ConnectionDropped
    if kind is FaultKind.MALFORMED:
        body = body[: len(body) // 2] or b"{"
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if kind is FaultKind.TRUNCATE:
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        if await _close_transport(send):
            return
        raise BodyTruncated(len(half), len(body))
    if kind is FaultKind.SLOW_BODY:
        step = -(-len(body) // _SLOW_CHUNKS) or 1
        pause = plan.slow_body_s / _SLOW_CHUNKS
        for offset in range(0, len(body), step):
            await send(
                {
                    "type": "http.response.body",
                    "body": body[offset : offset + step],
                    "more_body": True,
                }
            )
            await anyio.sleep(pause)
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.body", "body": body})
