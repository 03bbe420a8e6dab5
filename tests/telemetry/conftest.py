"""OpenTelemetry's SDK with in-memory exporters, set as the global providers for one test.

OpenTelemetry's global providers can be set only once per process; the fixture puts the
API's globals back as they were afterwards (what ``opentelemetry-test-utils`` does), so
the rest of the suite runs with no provider, as most users do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from emmi_async import _telemetry


class Telemetry:
    """The test's view of what the SDK recorded."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def client_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans if span.kind is trace.SpanKind.CLIENT]

    def batch_spans(self) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name.startswith("emmi.batch")]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points (each with ``attributes`` and a value)."""
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def total(self, name: str, **attributes: Any) -> float:
        """The sum of a counter's points (histograms: their counts) matching ``attributes``."""
        total = 0.0
        for point in self.metrics().get(name, []):
            if all(point.attributes.get(key) == value for key, value in attributes.items()):
                total += point.count if hasattr(point, "count") else point.value
        return total


def _reset_globals() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    _telemetry.reset()


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    """In-memory span exporter and metric reader behind the global providers."""
    recorded = Telemetry()
    _reset_globals()
    trace.set_tracer_provider(recorded.tracer_provider)
    metrics_internal.set_meter_provider(recorded.meter_provider)
    try:
        yield recorded
    finally:
        _reset_globals()
        recorded.tracer_provider.shutdown()
        recorded.meter_provider.shutdown()
