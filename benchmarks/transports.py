"""Transport survey: what should sit under httpx.AsyncClient for batch fan-out.

Compares, in one process with interleaved blocks after a warm-up, against the canned
server pinned to core 0 (client on core 1):

- a raw asyncio keep-alive protocol (the floor for Python, for reference);
- aiohttp + orjson with plain dicts (the expert baseline);
- httpx.AsyncClient over its default transport (httpcore);
- httpx.AsyncClient over ``httpx_aiohttp.AiohttpTransport``, and variants of it that trim
  httpx's per-request cost (prebuilt ``httpx.Request`` + ``client.send``, an
  ``httpx.Auth`` subclass, event hooks, a no-op cookie jar, ``json=``);
- httpx's default transport under trio.

It also measures the naive pattern (``asyncio.gather`` with the whole batch handed to the
pool), checks the server's ceiling with ``wrk``, and can profile one stack.

Run: ``python benchmarks/transports.py [--quick] [--json PATH]``;
``python benchmarks/transports.py --profile send`` profiles one httpx-aiohttp variant.
Results and the recommendation: benchmarks/README.md, "## Transports".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.cookiejar
import io
import json
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _canned_server import request_entity

PATH = "/api/v1/emissions-estimates"
API_KEY = "emmi_sk_" + "k" * 64
CUSTOMER_ID = "6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
AUTH_HEADERS = {"X-API-Key": API_KEY, "X-Customer-ID": CUSTOMER_ID}
JSON_HEADERS = {"Content-Type": "application/json"}
ALL_HEADERS = {**JSON_HEADERS, **AUTH_HEADERS}
TIMEOUT = httpx.Timeout(30.0, pool=5.0)
KEEPALIVE = 60.0


class UnexpectedStatusError(Exception):
    """The server answered something other than 200."""


class ResultCountError(Exception):
    """The response did not hold one result per entity."""


def decode_results(body: bytes, expected: int) -> int:
    """Decode a ``{"results": [...]}`` body with orjson; return the result count."""
    results = orjson.loads(body)["results"]
    if len(results) != expected:
        raise ResultCountError(f"{len(results)} results for {expected} entities")
    return len(results)


def make_payload(entities: int) -> list[dict[str, Any]]:
    """The list of entity dicts sent (and re-encoded) on every request."""
    return [request_entity(i) for i in range(entities)]


class HeaderAuth(httpx.Auth):
    """Adds the account + customer headers, like the SDK's auth strategies."""

    def __init__(self, api_key: str, customer_id: str) -> None:
        self._api_key = api_key
        self._customer_id = customer_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the two headers and send the request once."""
        request.headers["X-API-Key"] = self._api_key
        request.headers["X-Customer-ID"] = self._customer_id
        yield request


class NullCookieJar(http.cookiejar.CookieJar):
    """A cookie jar that stores nothing (the API sets no cookies)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore Set-Cookie."""

    def add_cookie_header(self, request: Any) -> None:
        """Add nothing."""


class LeanAiohttpTransport(httpx.AsyncBaseTransport):
    """An aiohttp transport that reads the body in one go and returns a read Response.

    ``httpx.Response(content=...)`` is already read, so ``client.send`` skips httpx's
    async byte-stream layers; ``ClientTimeout`` objects are cached per timeout dict.
    Error mapping is reduced to the cases the benchmark can meet.
    """

    def __init__(self, limit: int, keepalive: float = KEEPALIVE) -> None:
        self._limit = limit
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _client_timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout", {})
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send with aiohttp, read the whole body, return a complete httpx.Response."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive)
            jar = aiohttp.DummyCookieJar()
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=jar)
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                data=request.content or None,
                headers=request.headers.multi_items(),
                allow_redirects=False,
                auto_decompress=False,
                timeout=self._client_timeout(request),
            ) as response:
                body = await response.read()
        except aiohttp.ServerTimeoutError as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close the aiohttp session."""
        if self._session is not None:
            await self._session.close()


# --------------------------------------------------------------------------- stacks


@dataclass
class Config:
    """What every stack needs: where to send, how much, how wide."""

    base_url: str
    concurrency: int
    entities: int = 1
    backend: str = "asyncio"


class _RawConnection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 connection that reads Content-Length framed responses."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending round trip."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("connection lost"))

    def data_received(self, data: bytes) -> None:
        """Resolve the waiter once a whole response has arrived."""
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self._buffer[:end]
        match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        if len(self._buffer) < end + 4 + length:
            return
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        if self._waiter is not None and not self._waiter.done():
            if head.startswith(b"HTTP/1.1 200 "):
                self._waiter.set_result(body)
            else:
                self._waiter.set_exception(UnexpectedStatusError(head[:12].decode()))

    async def roundtrip(self, data: bytes) -> bytes:
        """Write one request, wait for its response body."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter


class RawStack:
    """The floor for Python: a raw asyncio protocol, one connection per worker."""

    def __init__(self, cfg: Config) -> None:
        self.name = "raw asyncio protocol (floor)"
        self.backend = "asyncio"
        self.concurrency = cfg.concurrency
        self.entities = cfg.entities
        self._url = httpx.URL(cfg.base_url)
        self._payload = make_payload(cfg.entities)
        self._idle: list[_RawConnection] = []
        self._all: list[_RawConnection] = []
        headers = "".join(f"{k}: {v}\r\n" for k, v in ALL_HEADERS.items())
        self._head = f"POST {PATH} HTTP/1.1\r\nHost: {self._url.netloc.decode()}\r\n{headers}"

    async def open(self) -> None:
        """Nothing to open up front: connections are made on demand."""

    async def _connection(self) -> _RawConnection:
        if self._idle:
            return self._idle.pop()
        loop = asyncio.get_running_loop()
        port = self._url.port or 80
        _, conn = await loop.create_connection(_RawConnection, self._url.host, port)
        self._all.append(conn)
        return conn

    async def request(self) -> int:
        """One POST over an idle (or new) connection."""
        body = orjson.dumps(self._payload)
        data = f"{self._head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        conn = await self._connection()
        response = await conn.roundtrip(data)
        self._idle.append(conn)
        return decode_results(response, self.entities)

    async def aclose(self) -> None:
        """Close every connection."""
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()


class AiohttpStack:
    """aiohttp + orjson with plain dicts: the expert baseline."""

    def __init__(self, cfg: Config) -> None:
        self.name = "aiohttp + orjson (baseline)"
        self.backend = "asyncio"
        self.concurrency = cfg.concurrency
        self.entities = cfg.entities
        self._url = cfg.base_url + PATH
        self._payload = make_payload(cfg.entities)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the session with a connector limited to C connections."""
        connector = aiohttp.TCPConnector(limit=self.concurrency, keepalive_timeout=KEEPALIVE)
        timeout = aiohttp.ClientTimeout(total=30.0)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def request(self) -> int:
        """One POST; body read in full and decoded."""
        assert self._session is not None
        body = orjson.dumps(self._payload)
        async with self._session.post(self._url, data=body, headers=ALL_HEADERS) as response:
            data = await response.read()
            if response.status != 200:
                raise UnexpectedStatusError(str(response.status))
        return decode_results(data, self.entities)

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()


# How each httpx variant sends one request; see HttpxStack.request.
HTTPX_MODES = {
    "post": "client.post(path, content=orjson.dumps(...)), client-level headers",
    "post-json": "client.post(path, json=...) + response.json() (stdlib json)",
    "post-auth": "client.post(...) with an httpx.Auth subclass adding the 2 headers",
    "send": "httpx.Request(prebuilt URL, prebuilt Headers, extensions) + client.send()",
    "send-auth": "send, with the 2 headers added by the httpx.Auth subclass",
    "send-hooks": "send, with one request and one response event hook (no-ops)",
    "send-nojar": "send, with a no-op cookie jar",
}


class HttpxStack:
    """httpx.AsyncClient over its default transport or AiohttpTransport, in one mode."""

    def __init__(self, cfg: Config, transport: str, mode: str = "post", shards: int = 1) -> None:
        self.name = f"httpx {transport}" if transport == "default" else f"httpx {transport} {mode}"
        if shards > 1:
            self.name += f", {shards} clients of {cfg.concurrency // shards} connections"
        if cfg.backend == "trio":
            self.name = f"trio: {self.name}"
        self.backend = cfg.backend
        self.concurrency = cfg.concurrency
        self.entities = cfg.entities
        self._cfg = cfg
        self._transport_kind = transport
        self._mode = mode
        self._payload = make_payload(cfg.entities)
        self._shards = shards
        self._clients: list[httpx.AsyncClient] = []
        self._next = 0
        self._url = httpx.URL(cfg.base_url + PATH)
        auth_in_headers = not mode.endswith("-auth")
        self._headers = httpx.Headers(ALL_HEADERS if auth_in_headers else JSON_HEADERS)
        self._extensions = {"timeout": TIMEOUT.as_dict()}

    def _transport(self) -> httpx.AsyncBaseTransport:
        size = self.concurrency // self._shards
        limits = httpx.Limits(
            max_connections=size, max_keepalive_connections=size, keepalive_expiry=KEEPALIVE
        )
        if self._transport_kind == "aiohttp":
            return AiohttpTransport(limits=limits)
        if self._transport_kind == "lean-aiohttp":
            return LeanAiohttpTransport(limit=size)
        return httpx.AsyncHTTPTransport(limits=limits)

    async def open(self) -> None:
        """Create the client(s) for this mode."""
        self._clients = [self._make_client() for _ in range(self._shards)]

    def _make_client(self) -> httpx.AsyncClient:
        kwargs: dict[str, Any] = {
            "base_url": self._cfg.base_url,
            "transport": self._transport(),
            "timeout": TIMEOUT,
            "headers": self._headers,
        }
        if self._mode.endswith("-auth"):
            kwargs["auth"] = HeaderAuth(API_KEY, CUSTOMER_ID)
        if self._mode == "send-hooks":
            kwargs["event_hooks"] = {"request": [_request_hook], "response": [_response_hook]}
        if self._mode == "send-nojar":
            kwargs["cookies"] = NullCookieJar()
        return httpx.AsyncClient(**kwargs)

    async def request(self) -> int:
        """One request the way this mode does it; body read in full and decoded."""
        client = self._clients[self._next % self._shards]
        self._next += 1
        if self._mode == "post-json":
            response = await client.post(PATH, json=self._payload)
            _check_status(response)
            results = response.json()["results"]
            return len(results)
        if self._mode.startswith("post"):
            response = await client.post(PATH, content=orjson.dumps(self._payload))
        else:
            request = httpx.Request(
                "POST",
                self._url,
                content=orjson.dumps(self._payload),
                headers=self._headers,
                extensions=self._extensions,
            )
            response = await client.send(request)
        _check_status(response)
        return decode_results(response.content, self.entities)

    async def aclose(self) -> None:
        """Close the client(s) and transport(s)."""
        for client in self._clients:
            await client.aclose()


async def _request_hook(request: httpx.Request) -> None:
    """A no-op request hook."""


async def _response_hook(response: httpx.Response) -> None:
    """A no-op response hook."""


def _check_status(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise UnexpectedStatusError(str(response.status_code))


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    """A set of stacks compared in one process, and how much load to send."""

    title: str
    build: Callable[[str, bool], list[h.Stack]]
    plan: h.Plan
    in_quick: bool = True


QUICK_PLAN = h.Plan(warmup=300, blocks=3, warmup_seconds=0.5, block_seconds=0.3)


def _single(concurrency: int, modes: Sequence[str]) -> Callable[[str, bool], list[h.Stack]]:
    def build(base_url: str, quick: bool) -> list[h.Stack]:
        cfg = Config(base_url, concurrency)
        stacks: list[h.Stack] = [AiohttpStack(cfg), RawStack(cfg), HttpxStack(cfg, "default")]
        stacks += [HttpxStack(cfg, "aiohttp", m) for m in (FEW_MODES if quick else modes)]
        stacks.append(HttpxStack(cfg, "lean-aiohttp", "send"))
        if concurrency > 16:
            stacks.append(HttpxStack(cfg, "default", shards=concurrency // 16))
        return stacks

    return build


def _batch(base_url: str, quick: bool) -> list[h.Stack]:
    cfg = Config(base_url, 64, entities=100)
    stacks: list[h.Stack] = [AiohttpStack(cfg), RawStack(cfg), HttpxStack(cfg, "default")]
    stacks.append(HttpxStack(cfg, "aiohttp", "post"))
    stacks.append(HttpxStack(cfg, "aiohttp", "send"))
    stacks.append(HttpxStack(cfg, "lean-aiohttp", "send"))
    return stacks


def _trio(base_url: str, quick: bool) -> list[h.Stack]:
    stacks: list[h.Stack] = [AiohttpStack(Config(base_url, 64))]
    stacks.append(HttpxStack(Config(base_url, 64), "default"))
    for concurrency in (16,) if quick else (16, 64, 256):
        stacks.append(HttpxStack(Config(base_url, concurrency, backend="trio"), "default"))
    for concurrency in (64,) if quick else (64, 256):
        cfg = Config(base_url, concurrency, backend="trio")
        stacks.append(HttpxStack(cfg, "default", shards=concurrency // 16))
    return stacks


FEW_MODES = ("post", "send")
ALL_MODES = tuple(HTTPX_MODES)

SCENARIOS: dict[str, Scenario] = {
    "single-c16": Scenario(
        "1 entity per POST, C = 16", _single(16, FEW_MODES), h.Plan(), in_quick=False
    ),
    "single-c64": Scenario("1 entity per POST, C = 64", _single(64, ALL_MODES), h.Plan()),
    "single-c256": Scenario(
        "1 entity per POST, C = 256",
        _single(256, FEW_MODES),
        h.Plan(block_size=1024),
        in_quick=False,
    ),
    "batch100-c64": Scenario(
        "100 entities per POST, C = 64", _batch, h.Plan(warmup=500, block_size=200)
    ),
    "trio": Scenario(
        "trio: httpx default transport (asyncio rows for reference), 1 entity per POST",
        _trio,
        h.Plan(block_size=1024),
    ),
}


def run_scenario(name: str, port: int, quick: bool) -> dict[str, Any]:
    """Run one scenario in this process (pinned to the client core)."""
    h.pin_to_core()
    scenario = SCENARIOS[name]
    plan = QUICK_PLAN if quick else scenario.plan
    stalled, started = h.cpu_pressure_total(), time.perf_counter()
    summaries = h.compare(scenario.build(f"http://127.0.0.1:{port}", quick), port, plan)
    stalled, elapsed = h.cpu_pressure_total() - stalled, time.perf_counter() - started
    return {
        "cpu_pressure": stalled / elapsed,
        "scenario": name,
        "title": scenario.title,
        "plan": vars(plan),
        "peak_rss_mib": h.peak_rss_mib(),
        "stacks": [vars(s) for s in summaries],
    }


# --------------------------------------------------------------------------- naive gather


async def _naive(kind: str, transport: str, port: int, count: int) -> dict[str, Any]:
    """Send ``count`` POSTs at C = 64: all handed to the pool, or behind 64 workers."""
    cfg = Config(f"http://127.0.0.1:{port}", 64)
    stack = HttpxStack(cfg, transport)
    await stack.open()
    rss_before = h.peak_rss_mib()
    errors: Counter[str] = Counter()
    cpu, wall = time.process_time(), time.perf_counter()
    if kind == "gather":
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(stack.request() for _ in range(count)), return_exceptions=True),
            timeout=120,
        )
        errors.update(type(o).__name__ for o in outcomes if isinstance(o, BaseException))
        ok = count - sum(errors.values())
    else:
        block = await h.run_block(stack.request, count, 64, 120.0)
        errors.update(block.errors)
        ok = block.ok
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await stack.aclose()
    return {
        "pattern": f"{kind} over httpx {transport}",
        "ok": ok,
        "errors": dict(errors),
        "rate": ok / wall,
        "cpu_ms_per_request": 1000 * cpu / count,
        "peak_rss_growth_mib": h.peak_rss_mib() - rss_before,
    }


def run_naive(kind: str, transport: str, port: int, count: int) -> dict[str, Any]:
    """Run one naive-vs-gated case in this process and add server-side connections."""
    h.pin_to_core()
    before = h.server_stats(port)["connections_opened"]
    result = asyncio.run(_naive(kind, transport, port, count))
    result["connections"] = h.server_stats(port)["connections_opened"] - before
    return result


# --------------------------------------------------------------------------- server ceiling


def wrk_ceiling(port: int, seconds: int) -> list[dict[str, Any]]:
    """Measure the canned server's ceiling with wrk (pinned to the client core)."""
    if shutil.which("wrk") is None:
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entities, concurrency in ((1, 16), (1, 64), (1, 256), (100, 64)):
            script = Path(tmp) / f"post{entities}.lua"
            body = orjson.dumps(make_payload(entities)).decode()
            script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(body)}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            argv = ["taskset", "-c", str(h.CLIENT_CORE), "wrk", "-t1", f"-c{concurrency}"]
            argv += [f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}{PATH}"]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
            match = re.search(r"Requests/sec:\s+([\d.]+)", out)
            rate = float(match.group(1)) if match else float("nan")
            rows.append({"entities": entities, "concurrency": concurrency, "rate": rate})
    return rows


# --------------------------------------------------------------------------- profile


def profile(mode: str, port: int, count: int, transport: str = "aiohttp") -> str:
    """Profile one httpx variant at C = 64 with cProfile; return the top functions."""
    h.pin_to_core()
    stack = HttpxStack(Config(f"http://127.0.0.1:{port}", 64), transport, mode)

    async def main() -> None:
        await stack.open()
        await h.run_block(stack.request, 1000, 64, 60.0)
        profiler.enable()
        await h.run_block(stack.request, count, 64, 120.0)
        profiler.disable()
        await stack.aclose()

    profiler = cProfile.Profile()
    asyncio.run(main())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(60)
    return out.getvalue()


# --------------------------------------------------------------------------- main


def _child_argv(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _print_ceiling(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        print("\nServer ceiling: wrk not installed (apt-get install wrk); skipped.")
        return
    print("\n## Server ceiling (wrk -t1, pinned to core 1; server on core 0)\n")
    print("| entities/POST | C | req/s |\n|---|---|---|")
    for row in rows:
        print(f"| {row['entities']} | {row['concurrency']} | {row['rate']:,.0f} |")


def _print_naive(rows: Sequence[dict[str, Any]], count: int) -> None:
    print(f"\n## Whole batch handed to the pool vs 64 workers ({count} POSTs, limits 64)\n")
    print("| pattern | ok | req/s | CPU ms/attempt | RSS growth MiB | conns | errors |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "0"
        print(
            f"| {r['pattern']} | {r['ok']} | {r['rate']:,.0f} | {r['cpu_ms_per_request']:.2f} "
            f"| {r['peak_rss_growth_mib']:.1f} | {r['connections']} | {errors} |"
        )


def survey(quick: bool, json_path: str | None, only: Sequence[str]) -> None:
    """Start the server, check its ceiling, run every scenario in its own child."""
    flag = ["--quick"] if quick else []
    report: dict[str, Any] = {"quick": quick, "scenarios": [], "naive": []}
    with h.ServerProcess() as server:
        report["ceiling"] = wrk_ceiling(server.port, 2 if quick else 4)
        _print_ceiling(report["ceiling"])
        names = only or [n for n, sc in SCENARIOS.items() if sc.in_quick or not quick]
        for name in names:
            argv = _child_argv("--scenario", name, "--port", str(server.port), *flag)
            result = h.run_child(argv)
            report["scenarios"].append(result)
            print(
                f"\n## {result['title']} (peak RSS {result['peak_rss_mib']:.0f} MiB, "
                f"CPU pressure {result['cpu_pressure']:.0%})\n"
            )
            print(h.format_table(result["stacks"]), flush=True)
        count = 500 if quick else 2000
        for kind in ("gather", "workers"):
            for transport in ("default", "aiohttp"):
                argv = _child_argv("--naive", kind, transport, str(count))
                report["naive"].append(h.run_child([*argv, "--port", str(server.port)]))
        _print_naive(report["naive"], count)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1))


def main(argv: list[str] | None = None) -> int:
    """Entry point: the whole survey, or one child job."""
    parser = argparse.ArgumentParser(description="httpx transport survey for batch fan-out")
    parser.add_argument("--quick", action="store_true", help="small counts (under a minute)")
    parser.add_argument("--json", help="also write all figures to this JSON file")
    parser.add_argument("--only", nargs="*", default=[], choices=list(SCENARIOS))
    parser.add_argument("--profile", choices=list(HTTPX_MODES), help="profile one variant")
    parser.add_argument(
        "--profile-transport", default="aiohttp", choices=["aiohttp", "lean-aiohttp", "default"]
    )
    parser.add_argument("--scenario", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--naive", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.port, args.quick)))
    elif args.naive:
        kind, transport, count = args.naive
        print(json.dumps(run_naive(kind, transport, args.port, int(count))))
    elif args.profile:
        with h.ServerProcess() as server:
            print(profile(args.profile, server.port, 5000, args.profile_transport))
    else:
        survey(args.quick, args.json, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
