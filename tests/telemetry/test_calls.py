"""One client span per attempt, following the HTTP semantic conventions, nested or root."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from emmi_async import RateLimitError
from emmi_async.testing import ReferenceServer
from tests.batch._support import entity

from ._faults import scripted
from .conftest import Telemetry

pytestmark = pytest.mark.anyio


async def test_a_plain_call_is_one_client_span_under_the_callers_span(otel: Telemetry) -> None:
    async with ReferenceServer() as server, server.client() as client:
        with trace.get_tracer("app").start_as_current_span("portfolio job") as parent:
            results = await client.emissions.estimate([entity(1), entity(2)])
    assert len(results) == 2
    (span,) = otel.client_spans()
    assert span.name == "POST /api/v1/emissions-estimates"
    assert span.kind is SpanKind.CLIENT
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "emmi.reference.test",
        "server.port": 80,
        "url.full": "http://emmi.reference.test/api/v1/emissions-estimates",
        "url.template": "/api/v1/emissions-estimates",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
        "emmi.endpoint": "/emissions-estimates",
        "emmi.entities": 2,
        "emmi.request_id": "req_0000000000000001",
    }
    assert span.status.status_code is StatusCode.UNSET
    (point,) = otel.metrics()["http.client.request.duration"]
    assert point.count == 1
    assert dict(point.attributes) == {
        "http.request.method": "POST",
        "server.address": "emmi.reference.test",
        "server.port": 80,
        "emmi.endpoint": "/emissions-estimates",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert 0 < point.sum < 10


async def test_without_a_current_span_the_client_span_is_a_root(otel: Telemetry) -> None:
    async with ReferenceServer() as server, server.client() as client:
        await client.service.health()
        await client.hazards.get(latitude=51.5, longitude=-0.12)
    health, hazard = otel.client_spans()
    assert health.parent is None
    assert health.name == "GET /api/v1/health"
    assert hazard.parent is None
    assert hazard.context.trace_id != health.context.trace_id
    assert hazard.attributes is not None
    assert hazard.attributes["url.full"] == (
        "http://emmi.reference.test/api/v1/hazard-risk?latitude=51.5&longitude=-0.12"
    )
    assert "emmi.entities" not in hazard.attributes  # a location, not an entity


async def test_a_retried_call_is_one_span_per_attempt(otel: Telemetry) -> None:
    server = ReferenceServer()
    front = scripted(server, [503, 500])
    async with server, server.client(max_retries=2) as client:
        with trace.get_tracer("app").start_as_current_span("job") as parent:
            await client.emissions.estimate(entity(1))
    assert front.answered == 2
    spans = otel.client_spans()
    assert len(spans) == 3
    first, second, third = (dict(span.attributes or {}) for span in spans)
    assert [first["http.response.status_code"], second["http.response.status_code"]] == [503, 500]
    assert [first["error.type"], second["error.type"]] == ["503", "500"]
    assert [first["emmi.request_id"], second["emmi.request_id"]] == [
        "req_scripted_1",
        "req_scripted_2",
    ]
    assert "http.request.resend_count" not in first
    assert second["http.request.resend_count"] == 1
    assert third["http.request.resend_count"] == 2
    assert third["http.response.status_code"] == 200
    assert "error.type" not in third
    assert [span.status.status_code for span in spans] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert {span.parent.span_id for span in spans if span.parent} == {
        parent.get_span_context().span_id
    }
    assert otel.total("http.client.request.duration") == 3
    assert otel.total("http.client.request.duration", **{"error.type": "503"}) == 1


async def test_a_429_is_a_span_with_its_status_and_error_type(otel: Telemetry) -> None:
    server = ReferenceServer()
    scripted(server, [429])
    async with server, server.client(max_retries=0) as client:
        with pytest.raises(RateLimitError) as raised:
            await client.emissions.estimate(entity(1))
    assert raised.value.attempts == 1
    (span,) = otel.client_spans()
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 429
    assert span.attributes["error.type"] == "429"
    assert span.attributes["emmi.request_id"] == "req_scripted_1"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None  # no message: it could quote the server
    assert not span.events  # no exception event either
    assert otel.total("http.client.request.duration", **{"http.response.status_code": 429}) == 1


async def test_a_connection_failure_records_the_error_class(otel: Telemetry) -> None:
    from emmi_async import APIConnectionError, AsyncEmmi, SingleTenantAuth
    from tests.batch._support import closed_port

    auth = SingleTenantAuth(ReferenceServer().keys.single)
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    async with AsyncEmmi(auth=auth, base_url=base_url, max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.service.health()
    (span,) = otel.client_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "APIConnectionError"
    assert "http.response.status_code" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR


async def test_no_provider_records_nothing_and_costs_no_span() -> None:
    from emmi_async import _telemetry

    assert _telemetry.current() is None
    async with ReferenceServer() as server, server.client() as client:
        await client.service.health()
    assert _telemetry.current() is None


def test_without_opentelemetry_imported_the_sdk_never_imports_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys, anyio\n"
        "from emmi_async.testing import ReferenceServer\n"
        "async def main():\n"
        "    async with ReferenceServer() as s, s.client() as c:\n"
        "        await c.service.health()\n"
        "anyio.run(main)\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
        "assert 'emmi_async._otel' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
