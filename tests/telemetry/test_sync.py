"""The blocking facade: its calls and runs nest under the calling thread's current span."""

from __future__ import annotations

from opentelemetry import trace

from emmi_async import Emmi
from emmi_async.testing import FaultConfig, ReferenceServer
from tests.batch._support import entity

from .conftest import Telemetry


def test_blocking_calls_and_runs_nest_under_the_callers_span(otel: Telemetry) -> None:
    faults = FaultConfig(status_rates={500: 0.2}, seed=8)
    with ReferenceServer(faults=faults) as server:
        client = Emmi.from_async(server.client())
        try:
            with trace.get_tracer("app").start_as_current_span("script") as script:
                client.emissions.estimate(entity(1))
                report = client.batch(client.emissions.estimate, chunk_size=5).run(
                    [entity(i) for i in range(30)]
                )
                streamed = list(
                    client.batch(client.emissions.estimate, chunk_size=5).stream(
                        [entity(i) for i in range(10)]
                    )
                )
            client.service.health()  # outside the span: a root
        finally:
            client.close()
    assert report.ok
    assert len(streamed) == 10
    script_id = script.get_span_context().span_id
    run_batch, stream_batch = otel.batch_spans()
    assert run_batch.parent is not None
    assert run_batch.parent.span_id == script_id
    assert stream_batch.parent is not None
    assert stream_batch.parent.span_id == script_id
    batch_ids = {run_batch.context.span_id, stream_batch.context.span_id}
    calls = otel.client_spans()
    by_parent = [span.parent.span_id if span.parent else None for span in calls]
    assert by_parent.count(None) == 1  # health, after the span ended
    direct = [span for span in calls if span.parent and span.parent.span_id == script_id]
    assert direct  # the single call (one span per attempt)
    assert len(direct) + by_parent.count(None) + sum(
        1 for parent in by_parent if parent in batch_ids
    ) == len(calls)
    assert run_batch.attributes is not None
    assert run_batch.attributes["emmi.batch.requests"] == report.stats.requests
    assert otel.total("emmi.batch.entities", **{"emmi.entity.status": "succeeded"}) == 40
