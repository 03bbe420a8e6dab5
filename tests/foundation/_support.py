"""Helpers for the foundation tests: keys, a recording mock handler and a loopback server."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from emmi_async._client import AsyncEmmi

SINGLE_KEY = "sk_live_single_4n8jKmPqRs9uVw_8f1c"
SINGLE_TEST_KEY = "sk_test_single_Q2w3E4r5T6y7U8i9_0a1b"
MULTI_KEY = "sk_live_multi_Zx9Yw8Vu7Ts6Rq5P_4e2d"
MULTI_TEST_KEY = "sk_test_multi_Mn4Bv5Cx6Zl7Kj8H_9g0f"
ACCOUNT_KEY = "emmi_sk_" + "A1b2C3d4-e5F6g7_H" * 3 + "x9Y8z7W6v5U4t"
assert len(ACCOUNT_KEY) == 8 + 64
ALL_KEYS = (SINGLE_KEY, SINGLE_TEST_KEY, MULTI_KEY, MULTI_TEST_KEY, ACCOUNT_KEY)
CUSTOMER = "0b7c1a57-5bb2-4b7b-9a9e-2f2d0b0c1f11"
OTHER_CUSTOMER = "6f1d3c2e-8a9b-4c7d-9e0f-1a2b3c4d5e6f"
END_USER = "acme_1"
BASE_URL = "https://emmi.test/api/v1"
AUTH_HEADERS = ("x-api-key", "x-customer-id", "x-end-user-id")


def secret_part(key: str) -> str:
    """The part of ``key`` that no output may ever show: all but prefix and last four."""
    for prefix in ("emmi_sk_", "sk_live_single_", "sk_test_single_", "sk_live_multi_"):
        if key.startswith(prefix):
            return key[len(prefix) : -4]
    if key.startswith("sk_test_multi_"):
        return key[len("sk_test_multi_") : -4]
    return key


def assert_no_key(text: str, key: str) -> None:
    assert key not in text
    secret = secret_part(key)
    if len(secret) >= 8:  # shorter fragments could turn up in any text by chance
        assert secret not in text


@dataclass
class Seen:
    """A request as the mock transport saw it (copied before the pipeline redacts it)."""

    method: str
    url: httpx.URL
    headers: list[tuple[str, str]]
    content: bytes
    extensions: dict[str, Any]

    @property
    def path(self) -> str:
        return self.url.path

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]

    def auth_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers if k in AUTH_HEADERS}


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response | Exception]


@dataclass
class Recorder:
    """An ``httpx.MockTransport`` handler that records requests and plays a script.

    Each request takes the next reply of ``script`` (the last one repeats); a reply is a
    response, an exception to raise, or a callable of the request returning either.
    """

    script: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(
                method=request.method,
                url=request.url,
                headers=[(k.decode().lower(), v.decode()) for k, v in request.headers.raw],
                content=request.content,
                extensions=dict(request.extensions),
            )
        )
        if not self.script:
            return ok()
        reply = self.script[min(len(self.seen), len(self.script)) - 1]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(request)
            if isinstance(reply, Exception):
                raise reply
        return reply

    @property
    def count(self) -> int:
        return len(self.seen)

    @property
    def last(self) -> Seen:
        return self.seen[-1]


def ok(
    data: Any = None, *, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status,
        json={"ok": True} if data is None else data,
        headers={"X-Request-ID": "req_ok", **(headers or {})},
    )


def error(
    status: int,
    *,
    message: str = "nope",
    headers: dict[str, str] | None = None,
    details: list[Any] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "type": "test_error",
        "code": f"code_{status}",
        "message": message,
        "request_id": f"req_{status}",
    }
    if details is not None:
        body["details"] = details
    return httpx.Response(
        status, json={"error": body}, headers={"X-Request-ID": f"req_{status}", **(headers or {})}
    )


def mock_client(recorder: Recorder | None = None, **kwargs: Any) -> tuple[AsyncEmmi, Recorder]:
    recorder = recorder if recorder is not None else Recorder()
    kwargs.setdefault("base_url", BASE_URL)
    if "auth" not in kwargs:
        kwargs.setdefault("api_key", SINGLE_KEY)
    return AsyncEmmi(transport=httpx.MockTransport(recorder), **kwargs), recorder


# -- a loopback HTTP/1.1 server ---------------------------------------------------------


@dataclass
class ServerRequest:
    connection: int
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


#: What the server does with a request: (status, headers, body), "drop" (close the
#: connection without answering) or "hang" (answer nothing until the server stops).
Action = tuple[int, dict[str, str], bytes] | str
Behaviour = Callable[[ServerRequest, int], Action]


def answer_ok(request: ServerRequest, index_on_connection: int) -> Action:
    body = json.dumps({"ok": True, "path": request.target}).encode()
    return 200, {"X-Request-ID": f"req_{request.connection}_{index_on_connection}"}, body


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        connection = owner._new_connection()
        index = 0
        while not owner.stopping.is_set():
            line = self.rfile.readline(65537)
            if not line.strip():
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: list[tuple[str, str]] = []
            while True:
                raw = self.rfile.readline(65537)
                if raw in (b"\r\n", b"\n", b""):
                    break
                name, _, value = raw.decode("latin-1").partition(":")
                headers.append((name.strip().lower(), value.strip()))
            length = int(dict(headers).get("content-length", "0"))
            request = ServerRequest(connection, method, target, headers, self.rfile.read(length))
            with owner.lock:
                owner.requests.append(request)
            action = owner.behaviour(request, index)
            index += 1
            if action == "drop":
                return
            if action == "hang":
                owner.stopping.wait()
                return
            assert not isinstance(action, str)
            status, extra, body = action
            head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
            head += ["Content-Type: application/json", *(f"{k}: {v}" for k, v in extra.items())]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: LoopbackServer


class LoopbackServer:
    """A tiny threaded HTTP/1.1 keep-alive server on 127.0.0.1 that counts connections."""

    def __init__(self, behaviour: Behaviour = answer_ok) -> None:
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[ServerRequest] = []
        self.connections = 0
        self._server = _TCPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/v1"

    def _new_connection(self) -> int:
        with self.lock:
            self.connections += 1
            return self.connections

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def connections_of(self, requests: Iterable[ServerRequest]) -> list[int]:
        return [request.connection for request in requests]
