"""OpenTelemetry spans and metrics of the SDK (the ``otel`` extra: ``opentelemetry-api``).

The only module that imports ``opentelemetry``; :mod:`emmi_async._telemetry` imports it
once the application has set a provider. What it records, with the application's own
providers (the SDK configures no provider, exporter or reader):

Per HTTP attempt (the HTTP client semantic conventions; a retry is a span of its own):
    a ``CLIENT`` span named ``"{method} {url.template}"`` with ``http.request.method``,
    ``server.address``, ``server.port``, ``url.full``, ``url.template``,
    ``http.request.resend_count`` (on the pipeline's retries), ``http.response.status_code``,
    ``network.protocol.version``, ``error.type`` (the status code for an error status,
    else the SDK's error class, e.g. ``APITimeoutError``), and ``emmi.request_id``,
    ``emmi.endpoint`` (``/emissions-estimates``, ``/customers/{id}``...) and
    ``emmi.entities`` (entities in an analysis request). The span is a child of the
    current span (a batch's span, the caller's) or a root; it is current while the
    request is sent, so lower-level instrumentation nests under it.
    The ``http.client.request.duration`` histogram (seconds) per attempt.
Per batch run:
    an ``INTERNAL`` span ``"emmi.batch {endpoint}"`` that parents the run's attempt spans
    and ends with the run's totals (``emmi.batch.entities``, ``.succeeded``, ``.failed``,
    ``.resumed``, ``.requests``, ``.retries``, ``.throttled``, ``.splits``); counters
    ``emmi.batch.entities`` (by ``emmi.entity.status``: ``succeeded`` / ``failed``),
    ``emmi.batch.retries``, ``emmi.batch.throttled`` (429 responses) and
    ``emmi.batch.splits``; the gauge ``emmi.batch.concurrency.limit`` (0 once a run ends).

Never recorded: the API key, the customer id (in ``/customers/{id}`` paths the id is
``REDACTED`` in ``url.full``), the end-user id, query values other than coordinates,
dates and page sizes (``REDACTED``), request or response bodies, error messages (they
may quote a path or the server's words) and exception events. No trace context is sent
to the API (no ``traceparent`` header): EMMI is a third party.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from timeit import default_timer
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_internal
from opentelemetry.trace import SpanKind, Status, StatusCode

from emmi_async._exceptions import EmmiError
from emmi_async._version import __version__

if TYPE_CHECKING:
    from emmi_async.batch._outcome import BatchEvent, BatchStats

__all__ = ["BatchTelemetry", "Telemetry", "providers"]

P = ParamSpec("P")
T = TypeVar("T")

SCOPE = "emmi_async"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
"""The boundaries the HTTP semantic conventions advise for request durations."""
REDACTED = "REDACTED"
PLAIN_PARAMS = frozenset({"latitude", "longitude", "start", "end", "limit"})
"""Query parameters whose values are recorded; any other value is ``REDACTED``."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


_ENV_PROVIDERS = any(
    name in os.environ for name in ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")
)


def providers() -> tuple[trace.TracerProvider | None, metrics.MeterProvider | None]:
    """The global providers, each ``None`` while it is OpenTelemetry's proxy or no-op one."""
    if (
        not _ENV_PROVIDERS
        # Fast path: the API's globals before any provider is set (a missing name, in
        # another version of the API, falls through to the public look-ups below).
        and getattr(trace, "_TRACER_PROVIDER", True) is None
        and getattr(_metrics_internal, "_METER_PROVIDER", True) is None
    ):
        return None, None
    tracer_provider: trace.TracerProvider | None = trace.get_tracer_provider()
    if isinstance(tracer_provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        tracer_provider = None
    meter_provider: metrics.MeterProvider | None = metrics.get_meter_provider()
    if isinstance(meter_provider, metrics.NoOpMeterProvider) or type(
        meter_provider
    ).__name__.startswith("_Proxy"):
        meter_provider = None
    return tracer_provider, meter_provider


class _Target:
    """What every attempt at one URL shares: names and attributes, computed once."""

    __slots__ = ("endpoint", "metric_attributes", "name", "span_attributes", "url_full")

    def __init__(self, method: str, url: httpx.URL, path: str) -> None:
        url_path = url.path
        endpoint = "/" + path
        if path.startswith("customers/"):  # the rest is a customer id: never recorded
            ident = path[len("customers/") :]
            endpoint = "/customers/{id}"
            template = url_path[: len(url_path) - len(ident)] + "{id}"
            url_path = url_path[: len(url_path) - len(ident)] + REDACTED
        else:
            template = url_path or "/"
        host = url.host
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 443)
        shown_port = "" if url.port is None else f":{url.port}"
        host_part = f"[{host}]" if ":" in host else host
        self.url_full = f"{url.scheme}://{host_part}{shown_port}{url_path}"  # no userinfo
        self.endpoint = endpoint
        self.name = f"{method} {template}"
        self.span_attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": host,
            "server.port": port,
            "url.full": self.url_full,
            "url.template": template,
            "emmi.endpoint": endpoint,
        }
        self.metric_attributes: dict[str, Any] = {
            "http.request.method": method,
            "server.address": host,
            "server.port": port,
            "emmi.endpoint": endpoint,
        }


def _query(params: Mapping[str, str | int]) -> str:
    shown = {name: value if name in PLAIN_PARAMS else REDACTED for name, value in params.items()}
    return f"?{httpx.QueryParams(shown)}" if shown else ""


class Telemetry:
    """The SDK's instruments on the application's providers (either may be ``None``)."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.tracer = (
            None
            if tracer_provider is None
            else tracer_provider.get_tracer(SCOPE, __version__, schema_url=SCHEMA_URL)
        )
        self.meter = (
            None
            if meter_provider is None
            else meter_provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL)
        )
        self._targets: dict[tuple[str, httpx.URL, str], _Target] = {}
        meter = self.meter
        if meter is None:
            return
        self.duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.entities = meter.create_counter(
            "emmi.batch.entities",
            unit="{entity}",
            description="Entities that got their outcome in a batch run, by status.",
        )
        self.retries = meter.create_counter(
            "emmi.batch.retries", unit="{retry}", description="Requests a batch run sent again."
        )
        self.throttled = meter.create_counter(
            "emmi.batch.throttled",
            unit="{response}",
            description="429 responses a batch run received.",
        )
        self.splits = meter.create_counter(
            "emmi.batch.splits",
            unit="{split}",
            description="Chunks a batch run split to isolate the entities the API refused.",
        )
        self.concurrency = meter.create_gauge(
            "emmi.batch.concurrency.limit",
            unit="{request}",
            description="The adaptive concurrency limit of a batch run (0 once it ends).",
        )

    def _target(self, method: str, url: httpx.URL, path: str) -> _Target:
        key = (method, url, path)
        target = self._targets.get(key)
        if target is None:
            target = _Target(method, url, path)
            if len(self._targets) < 256:  # fixed endpoints; customer ids stay uncached
                self._targets[key] = target
        return target

    async def send(
        self,
        sending: Awaitable[tuple[httpx.Response | None, object]],
        method: str,
        url: httpx.URL,
        path: str,
        params: Mapping[str, str | int] | None,
        attempt: int,
        entities: int | None,
    ) -> tuple[httpx.Response | None, Any]:
        """Await one attempt (``sending``: the pipeline's send) inside its span and timing.

        Returns what ``sending`` returns, and raises what it raises (cancellation too),
        after ending the span and recording the duration.
        """
        target = self._target(method, url, path)
        span: trace.Span | None = None
        if self.tracer is not None:
            attributes = dict(target.span_attributes)
            if params:
                attributes["url.full"] = target.url_full + _query(params)
            if attempt > 1:
                attributes["http.request.resend_count"] = attempt - 1
            if entities is not None:
                attributes["emmi.entities"] = entities
            span = self.tracer.start_span(target.name, kind=SpanKind.CLIENT, attributes=attributes)
        started = default_timer()
        try:
            if span is None:
                result = await sending
            else:
                with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                    result = await sending
        except BaseException as exc:
            self._finish(span, target, started, None, type(exc).__qualname__)
            raise
        response, outcome = result
        error_type = None
        if response is not None and response.status_code >= 400:
            error_type = str(response.status_code)
        elif isinstance(outcome, EmmiError):
            error_type = type(outcome).__qualname__
        self._finish(span, target, started, response, error_type)
        return result

    def _finish(
        self,
        span: trace.Span | None,
        target: _Target,
        started: float,
        response: httpx.Response | None,
        error_type: str | None,
    ) -> None:
        elapsed = default_timer() - started
        extra: dict[str, Any] = {}
        if response is not None:
            extra["http.response.status_code"] = response.status_code
            version = response.http_version
            if version.startswith("HTTP/"):
                extra["network.protocol.version"] = version[5:]
        if error_type is not None:
            extra["error.type"] = error_type
        if self.meter is not None:
            self.duration.record(elapsed, {**target.metric_attributes, **extra})
        if span is None:
            return
        if response is not None:
            request_id = response.headers.get("x-request-id")
            if request_id:
                extra["emmi.request_id"] = request_id
        span.set_attributes(extra)
        if error_type is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    def batch(self, endpoint: str, stats: BatchStats) -> BatchTelemetry:
        """The span and counters of one batch run, started now."""
        return BatchTelemetry(self, endpoint, stats)


_COUNTED = ("succeeded", "failed", "retries", "throttled", "splits")
_STOPPED = frozenset({"GeneratorExit", "CancelledError", "Cancelled"})
"""Ends of a run that are not errors: the consumer stopped, or the run was cancelled."""


class BatchTelemetry:
    """A batch run as seen by OpenTelemetry: an observer of its :class:`BatchEvent` s.

    Counters are kept equal to the run's :class:`BatchStats` by adding what changed since
    the last event (whatever the event's kind), so they agree with the report even if
    events are coalesced. :meth:`within` runs the run's tasks under its span.
    """

    def __init__(self, telemetry: Telemetry, endpoint: str, stats: BatchStats) -> None:
        self._telemetry = telemetry
        self._stats = stats
        self._seen = dict.fromkeys(_COUNTED, 0)
        self._attributes = {"emmi.endpoint": "/" + endpoint}
        self._ok = {**self._attributes, "emmi.entity.status": "succeeded"}
        self._failed = {**self._attributes, "emmi.entity.status": "failed"}
        self._span: trace.Span | None = None
        self._context: otel_context.Context | None = None
        if telemetry.tracer is not None:
            self._span = telemetry.tracer.start_span(
                f"emmi.batch /{endpoint}", kind=SpanKind.INTERNAL, attributes=self._attributes
            )
            self._context = trace.set_span_in_context(self._span)
        if telemetry.meter is not None:
            telemetry.concurrency.set(stats.concurrency, self._attributes)

    def __call__(self, event: BatchEvent) -> None:
        """Take one event: counters catch up with the stats; the gauge follows the limit."""
        telemetry = self._telemetry
        if telemetry.meter is None:
            return
        self._catch_up(event.stats)
        if event.kind == "concurrency":
            telemetry.concurrency.set(event.count, self._attributes)

    def _catch_up(self, stats: BatchStats) -> None:
        telemetry, seen = self._telemetry, self._seen
        for name in _COUNTED:
            value = getattr(stats, name)
            delta = value - seen[name]
            if delta <= 0:
                continue
            seen[name] = value
            if name == "succeeded":
                telemetry.entities.add(delta, self._ok)
            elif name == "failed":
                telemetry.entities.add(delta, self._failed)
            else:
                getattr(telemetry, name).add(delta, self._attributes)

    def within(
        self, func: Callable[P, Coroutine[Any, Any, T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        """``func`` run with the batch span as the current span (in its task and children)."""
        context = self._context
        if context is None:
            return func

        @functools.wraps(func)
        async def run_within(*args: P.args, **kwargs: P.kwargs) -> T:
            token = otel_context.attach(context)
            try:
                return await func(*args, **kwargs)
            finally:
                otel_context.detach(token)

        return run_within

    def finish(self, error: BaseException | None) -> None:
        """End the run: last counts, the gauge to 0, the span with the run's totals.

        ``error`` is what ended the run early, if anything: a consumer that stopped
        iterating (``GeneratorExit``) or a cancellation marks the span ``emmi.batch.stopped``;
        any other error sets the span's status to ``ERROR`` with its ``error.type``.
        """
        stats, telemetry = self._stats, self._telemetry
        if telemetry.meter is not None:
            self._catch_up(stats)
            telemetry.concurrency.set(0, self._attributes)
        span = self._span
        if span is None:
            return
        span.set_attributes(
            {
                "emmi.batch.entities": stats.entities,
                "emmi.batch.succeeded": stats.succeeded,
                "emmi.batch.failed": stats.failed,
                "emmi.batch.resumed": stats.resumed,
                "emmi.batch.requests": stats.requests,
                "emmi.batch.retries": stats.retries,
                "emmi.batch.throttled": stats.throttled,
                "emmi.batch.splits": stats.splits,
            }
        )
        if error is not None:
            if type(error).__name__ in _STOPPED:
                span.set_attribute("emmi.batch.stopped", True)
            else:
                span.set_attribute("error.type", type(error).__qualname__)
                span.set_status(Status(StatusCode.ERROR))
        span.end()
