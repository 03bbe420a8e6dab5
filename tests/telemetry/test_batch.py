"""A batch run under faults: its span, its attempt spans and its metrics agree with its stats."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from emmi_async.batch import BatchEvent
from emmi_async.testing import FaultConfig, ReferenceServer
from tests.batch._support import CLIMATE_RISK, client_bad, risk_entity, server_bad

from .conftest import Telemetry

pytestmark = pytest.mark.anyio

FAULTS = FaultConfig(
    status_rates={500: 0.08, 503: 0.04, 429: 0.03},
    retry_after=1,
    paths=frozenset({CLIMATE_RISK}),
    seed=21,
)


def portfolio(count: int) -> list[dict[str, Any]]:
    """Mostly valid entities; every 37th is refused by the SDK, every 23rd by the server."""
    items = []
    for index in range(count):
        if index % 37 == 5:
            items.append(client_bad(index))
        elif index % 23 == 7:
            items.append(server_bad(index))
        else:
            items.append(risk_entity(index))
    return items


async def test_a_batch_run_with_faults_agrees_with_its_report(otel: Telemetry) -> None:
    events: collections.Counter[str] = collections.Counter()

    def on_progress(event: BatchEvent) -> None:
        events[event.kind] += 1

    async with ReferenceServer(faults=FAULTS) as server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=10, max_concurrency=8, on_progress=on_progress
        )
        with trace.get_tracer("app").start_as_current_span("nightly") as nightly:
            report = await runner.run(portfolio(400))
    stats = report.stats
    assert stats.retries > 0
    assert stats.throttled > 0
    assert stats.splits > 0
    assert stats.failed > 0
    assert events["done"] > 0  # the user's on_progress still gets every event

    (batch,) = otel.batch_spans()
    assert batch.name == "emmi.batch /climate-risk"
    assert batch.kind is SpanKind.INTERNAL
    assert batch.parent is not None
    assert batch.parent.span_id == nightly.get_span_context().span_id
    assert batch.status.status_code is StatusCode.UNSET
    assert dict(batch.attributes or {}) == {
        "emmi.endpoint": "/climate-risk",
        "emmi.batch.entities": 400,
        "emmi.batch.succeeded": stats.succeeded,
        "emmi.batch.failed": stats.failed,
        "emmi.batch.resumed": 0,
        "emmi.batch.requests": stats.requests,
        "emmi.batch.retries": stats.retries,
        "emmi.batch.throttled": stats.throttled,
        "emmi.batch.splits": stats.splits,
    }

    attempts = otel.client_spans()
    assert len(attempts) == stats.requests
    assert all(
        span.parent is not None and span.parent.span_id == batch.context.span_id
        for span in attempts
    )
    statuses = collections.Counter(
        (span.attributes or {}).get("http.response.status_code") for span in attempts
    )
    assert statuses[429] == stats.throttled
    assert statuses[422] > 0
    assert (
        sum(
            (span.attributes or {})["emmi.entities"]
            for span in attempts
            if (span.attributes or {}).get("http.response.status_code") == 200
        )
        == stats.succeeded
    )

    assert otel.total("emmi.batch.entities", **{"emmi.entity.status": "succeeded"}) == (
        stats.succeeded
    )
    assert otel.total("emmi.batch.entities", **{"emmi.entity.status": "failed"}) == stats.failed
    assert otel.total("emmi.batch.retries") == stats.retries
    assert otel.total("emmi.batch.throttled") == stats.throttled
    assert otel.total("emmi.batch.splits") == stats.splits
    assert otel.total("http.client.request.duration") == stats.requests
    assert otel.total("http.client.request.duration", **{"http.response.status_code": 429}) == (
        stats.throttled
    )
    (gauge,) = otel.metrics()["emmi.batch.concurrency.limit"]
    assert gauge.value == 0  # the run ended
    assert dict(gauge.attributes) == {"emmi.endpoint": "/climate-risk"}


async def test_the_gauge_follows_the_adaptive_limit(otel: Telemetry) -> None:
    limits: list[int] = []
    seen: list[int] = []

    def on_progress(event: BatchEvent) -> None:
        if event.kind == "concurrency":
            limits.append(event.count)
            (point,) = otel.metrics()["emmi.batch.concurrency.limit"]
            seen.append(point.value)

    faults = FaultConfig(status_rates={503: 0.3}, paths=frozenset({CLIMATE_RISK}), seed=3)
    async with ReferenceServer(faults=faults) as server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=5, max_concurrency=16, on_progress=on_progress
        )
        await runner.run([risk_entity(index) for index in range(200)])
    assert limits
    assert seen == limits


async def test_a_consumer_that_stops_early_ends_the_span_as_stopped(otel: Telemetry) -> None:
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.climate_risk.assess, chunk_size=5, max_concurrency=2)
        async with runner.stream([risk_entity(index) for index in range(100)]) as outcomes:
            async for _ in outcomes:
                break
    (batch,) = otel.batch_spans()
    assert batch.attributes is not None
    assert batch.attributes["emmi.batch.stopped"] is True
    assert batch.status.status_code is StatusCode.UNSET
    assert batch.end_time is not None


async def test_a_run_that_raises_ends_the_span_with_an_error(otel: Telemetry) -> None:
    def on_progress(event: BatchEvent) -> None:
        raise KeyError("boom")

    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.climate_risk.assess, on_progress=on_progress)
        with pytest.raises(KeyError):
            await runner.run([risk_entity(1)])
    (batch,) = otel.batch_spans()
    assert batch.status.status_code is StatusCode.ERROR
    assert batch.attributes is not None
    assert batch.attributes["error.type"] == "KeyError"
