"""The table path: the same batch span, attempt spans, counters and progress events."""

from __future__ import annotations

import polars as pl
import pytest

from emmi_async.batch import BatchEvent
from emmi_async.testing import FaultConfig, ReferenceServer
from tests.frames._support import portfolio_rows

from .conftest import Telemetry

pytestmark = pytest.mark.anyio


async def test_run_frame_is_observed_like_run(otel: Telemetry) -> None:
    done: list[int] = []
    closed: list[bool] = []

    class Display:
        def __call__(self, event: BatchEvent) -> None:
            done.append(event.stats.done)

        def close(self) -> None:
            closed.append(True)

    frame = pl.DataFrame(portfolio_rows(60))
    faults = FaultConfig(status_rates={500: 0.2}, seed=5)
    async with ReferenceServer(faults=faults) as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10)
        table = await runner.run_frame(frame, progress=lambda total, description: Display())
        stats = runner.stats
    assert stats is not None
    assert table.height == frame.height
    assert closed == [True]
    assert done[-1] == stats.done == 60
    (batch,) = otel.batch_spans()
    assert batch.attributes is not None
    assert batch.attributes["emmi.batch.requests"] == stats.requests
    attempts = otel.client_spans()
    assert len(attempts) == stats.requests
    assert all(span.parent and span.parent.span_id == batch.context.span_id for span in attempts)
    assert (
        sum(
            (span.attributes or {})["emmi.entities"]
            for span in attempts
            if (span.attributes or {}).get("http.response.status_code") == 200
        )
        == stats.succeeded
    )
    assert otel.total("emmi.batch.retries") == stats.retries > 0
