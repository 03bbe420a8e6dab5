"""A minimal, very fast HTTP/1.1 keep-alive server that answers EMMI batch POSTs.

It exists so that a benchmark measures the client, not the server: its ceiling on one
core must be at least four times the rate of the fastest Python client measured against
it (see benchmarks/README.md, "## Transports").

Every POST, to any path, is answered 200 with a canned EMMI ``{"results": [...]}`` body
holding one ~2 KB emissions-estimates result per entity in the request.  Entities are
counted cheaply, as occurrences of ``b'"entity_info"'`` in the body.  Every response has
``Content-Length`` and ``X-Request-ID``.  ``GET /__stats`` returns counters as JSON:
connections that carried at least one POST (``connections_opened``), connections
currently open, requests and entities.  ``GET`` of any other path answers
``{"status": "ok"}``.

Run: ``python benchmarks/_canned_server.py --port 8765`` (``--port 0`` picks a free
port).  It binds 127.0.0.1 only, prints ``READY <port>`` once listening, and stops by
itself after ``--max-seconds``.  Standard library only, so the payload helpers below can
be imported by the harness without side effects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

HOST = "127.0.0.1"
ENTITY_MARKER = b'"entity_info"'
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


# --------------------------------------------------------------------------- payloads


def request_entity(index: int = 0) -> dict[str, Any]:
    """Return one realistic emissions-estimates entity object (~1.1 KB as JSON)."""
    years = []
    for offset, year in enumerate((2021, 2022, 2023)):
        years.append(
            {
                "year": year,
                "emissions": {
                    "scope1": 18234.5 + 1000 * offset,
                    "scope2": 9321.25 + 500 * offset,
                    "scope3": 301234.75 + 8000 * offset,
                },
                "financials": {
                    "currency": "USD",
                    "revenue": 1_234_567_890.12 + 1e7 * offset,
                    "total_assets": 9_876_543_210.55 + 2e7 * offset,
                    "ebitda": 345_678_901.25 + 3e6 * offset,
                    "total_debt": 2_345_678_901.75 - 4e6 * offset,
                },
            }
        )
    return {
        "entity_info": {
            "identifier": f"PORTFOLIO-2024-Q4-LISTED-EQUITY-ISIN-US{index:010d}-NYSE",
            "name": (
                "Acme Renewable Infrastructure Holdings Incorporated, Class A Common Stock"
                " (NYSE: ACME)"
            ),
            "asset_type": "equity",
            "country": "United States",
            "industry_classification_system": "rbics",
            "industry": "Electric Utilities and Independent Power Producers (Renewables)",
            "sector": "Utilities and Power Generation",
        },
        "data": years,
    }


def request_body(entities: int) -> bytes:
    """Return a JSON array of ``entities`` entity objects, as the batch endpoints take."""
    return json.dumps([request_entity(i) for i in range(entities)], separators=(",", ":")).encode()


def result_object() -> dict[str, Any]:
    """Return one canned emissions-estimates result (~2 KB as JSON, 11 objects)."""
    data = []
    for offset, year in enumerate((2019, 2020, 2021, 2022, 2023)):
        data.append(
            {
                "year": year,
                "emissions": {
                    "scope1": 18234.512345 + 1000.25 * offset,
                    "scope2": 9321.2567891 + 500.125 * offset,
                    "scope3": 301234.7512345 + 8000.5 * offset,
                },
                "estimated": ["scope2", "scope3"] if offset % 2 else ["scope3"],
                "data_quality_score": 3 + offset % 2,
                "model_version": "emmi-ghg-estimator-2024.11.3+sector-regression-v7-calibrated",
                "methodology": "pcaf-financed-emissions-option-3b-sector-average",
                "unit": "tCO2e",
                "source": "estimated" if offset % 2 else "reported-and-estimated",
            }
        )
    return {
        "entity_info": {
            "name": "Acme Renewable Infrastructure Holdings Incorporated",
            "asset_type": "equity",
            "country": "United States",
            "industry_classification_system": "rbics",
            "industry": "Electric Utilities and Independent Power Producers",
            "sector": "Utilities",
        },
        "data": data,
    }


def results_body(entities: int) -> bytes:
    """Return ``{"results": [...]}`` with ``entities`` canned results."""
    one = json.dumps(result_object(), separators=(",", ":")).encode()
    return b'{"results":[' + b",".join([one] * entities) + b"]}"


# --------------------------------------------------------------------------- server


class Stats:
    """Counters shared by all connections of one server."""

    def __init__(self) -> None:
        self.connections_accepted = 0
        self.connections_opened = 0
        self.connections_open = 0
        self.requests = 0
        self.entities = 0

    def as_json(self) -> bytes:
        """Return the counters as a JSON object."""
        return json.dumps(
            {
                "connections_accepted": self.connections_accepted,
                "connections_opened": self.connections_opened,
                "connections_open": self.connections_open,
                "requests": self.requests,
                "entities": self.entities,
            }
        ).encode()


class CannedResponses:
    """Builds and caches full POST response bodies by entity count."""

    def __init__(self) -> None:
        self._bodies: dict[int, tuple[bytes, bytes]] = {}
        self._request_id = 0

    def post(self, entities: int) -> bytes:
        """Return the full HTTP response (head and body) for a POST of ``entities``."""
        cached = self._bodies.get(entities)
        if cached is None:
            body = results_body(entities)
            prefix = (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nX-Request-ID: " % len(body)
            )
            cached = (prefix, body)
            if len(self._bodies) < 1024:
                self._bodies[entities] = cached
        self._request_id += 1
        prefix, body = cached
        return b"%sreq-%010d\r\n\r\n%s" % (prefix, self._request_id, body)


def simple_response(status: bytes, body: bytes, close: bool = False) -> bytes:
    """Return a small JSON response with the given status line and body."""
    connection = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        status,
        len(body),
        connection,
        body,
    )


class CannedProtocol(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; supports pipelining, no chunked bodies."""

    def __init__(self, stats: Stats, responses: CannedResponses) -> None:
        self._stats = stats
        self._responses = responses
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Count the connection."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._stats.connections_accepted += 1
        self._stats.connections_open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        """Uncount the connection."""
        self._stats.connections_open -= 1
        self._transport = None

    def data_received(self, data: bytes) -> None:
        """Parse as many complete requests as the buffer holds and answer each."""
        buffer = self._buffer + data if self._buffer else data
        while buffer and self._transport is not None:
            consumed = self._handle_one(buffer)
            if consumed == 0:
                break
            buffer = buffer[consumed:]
        self._buffer = buffer

    def _handle_one(self, buffer: bytes) -> int:
        """Answer the first request in ``buffer``; return bytes consumed (0: incomplete)."""
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                self._fail(b"431 Request Header Fields Too Large")
            return 0
        head = buffer[:end].lower()
        length = _content_length(head)
        if length is None or length > MAX_BODY_BYTES:
            self._fail(b"411 Length Required")
            return 0
        total = end + 4 + length
        if len(buffer) < total:
            return 0
        if head.startswith(b"post "):
            self._answer_post(buffer[end + 4 : total])
        else:
            self._answer_get(head)
        if b"\r\nconnection: close" in head and self._transport is not None:
            self._transport.close()
        return total

    def _answer_post(self, body: bytes) -> None:
        """Answer a POST with one canned result per entity."""
        entities = body.count(ENTITY_MARKER)
        stats = self._stats
        stats.requests += 1
        stats.entities += entities
        if not self._counted:
            self._counted = True
            stats.connections_opened += 1
        assert self._transport is not None
        self._transport.write(self._responses.post(entities))

    def _answer_get(self, head: bytes) -> None:
        """Answer ``GET /__stats`` with the counters, any other GET with ok."""
        assert self._transport is not None
        if head.startswith(b"get /__stats "):
            self._transport.write(simple_response(b"200 OK", self._stats.as_json()))
        else:
            self._transport.write(simple_response(b"200 OK", b'{"status":"ok"}'))

    def _fail(self, status: bytes) -> None:
        """Answer an error and close the connection."""
        assert self._transport is not None
        self._transport.write(simple_response(status, b'{"error":{}}', close=True))
        self._transport.close()


def _content_length(head: bytes) -> int | None:
    """Return the Content-Length of a lower-cased request head (0 if absent on GET)."""
    start = head.find(b"\r\ncontent-length:")
    if start < 0:
        return 0 if not head.startswith(b"post ") else None
    stop = head.find(b"\r\n", start + 2)
    raw = head[start + 17 : stop if stop >= 0 else len(head)]
    try:
        return int(raw)
    except ValueError:
        return None


async def serve(port: int, max_seconds: float) -> None:
    """Serve on 127.0.0.1:``port`` until ``max_seconds`` have passed."""
    loop = asyncio.get_running_loop()
    stats = Stats()
    responses = CannedResponses()
    server = await loop.create_server(
        lambda: CannedProtocol(stats, responses), HOST, port, backlog=4096, reuse_address=True
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.serve_forever(), timeout=max_seconds)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--port", type=int, default=8765, help="TCP port on 127.0.0.1 (0: any)")
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop by itself after this long"
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.max_seconds))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
