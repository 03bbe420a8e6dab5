"""``AsyncEmmi``: the pipeline of :mod:`emmi_async._base_client` with the API's resources."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from emmi_async._base_client import BaseClient
from emmi_async.batch import BatchEvent, BatchRunner, Gate
from emmi_async.models import HazardRisk
from emmi_async.resources import (
    ClimateRiskResource,
    CustomersResource,
    EmissionsResource,
    HazardsResource,
    RankingsResource,
    ServiceResource,
    TemperatureAlignmentResource,
    UsageResource,
)

__all__ = ["AsyncEmmi"]

ResultT = TypeVar("ResultT")


class AsyncEmmi(BaseClient):
    """The EMMI client: one connection pool, every endpoint, and the batch runner.

    Use it as an async context manager (or call :meth:`aclose`). A client never closed
    has its connections closed when it is garbage collected (with one
    ``ResourceWarning`` per process, in our words). :meth:`for_customer`,
    :meth:`for_end_user` and :meth:`with_options` return views that share the pool.

    Args:
        auth: an auth strategy (:class:`~emmi_async.SingleTenantAuth`,
            :class:`~emmi_async.MultiTenantAuth`, :class:`~emmi_async.AccountCustomerAuth`);
            not together with ``api_key``, ``customer_id`` or ``end_user_id``.
        api_key: the key, whose format picks the strategy; default ``EMMI_API_KEY``.
            Without any key only the keyless endpoints (``client.service``) work; the
            others raise :class:`~emmi_async.MissingAPIKeyError`.
        customer_id: the customer (UUID) of an account key; default
            ``EMMI_CUSTOMER_ID``.
        end_user_id: the end user of a multi-tenant key; default ``EMMI_END_USER_ID``.
        base_url: the API root including ``/api/v1``; default ``EMMI_BASE_URL``, else
            ``https://app.emmi.io/api/v1``.
        customers_url: where the customers endpoints live, when not under ``base_url``
            (``{base_url}/customers`` by default).
        timeout: seconds per request (a number, an ``httpx.Timeout``, or ``None`` for
            none); default 60 s to read, 5 s to connect.
        max_retries: retries of a transient failure (connection errors, timeouts, 408,
            429, 5xx) per call, with backoff and ``Retry-After`` honoured; default 2.
        max_connections: the pool's size, and the most requests in flight (default 64).
        http2: use HTTP/2 (needs the ``http2`` extra); implies httpx's own pool.
        transport: an ``httpx.AsyncBaseTransport`` to send through instead of the pool
            (e.g. ``httpx.MockTransport``); not with ``http_client``.
        http_client: your own ``httpx.AsyncClient``, used as given: its transport,
            headers, cookies, event hooks and proxies apply (the SDK's own headers win
            on a clash); you close it. Respx, pytest-httpx and OpenTelemetry see it.
        default_headers: headers sent with every request (not the auth headers).
        http_backend: ``"auto"`` (default: aiohttp under asyncio, httpx's own pool under
            trio), ``"httpx"`` (httpx's own pool everywhere: what respx, pytest-httpx
            and OpenTelemetry's httpx instrumentation see) or ``"aiohttp"``; default
            ``EMMI_HTTP_BACKEND``.

    ``EMMI_LOG`` (``debug``, ``info``, ``warning``, ``error``) switches logging on for
    ``emmi_async`` and ``httpx``.
    """

    @property
    def emissions(self) -> EmissionsResource:
        """Emission estimates and projections."""
        return EmissionsResource(self)

    @property
    def climate_risk(self) -> ClimateRiskResource:
        """Climate risk, per scenario, of reported or projected emissions."""
        return ClimateRiskResource(self)

    @property
    def temperature_alignment(self) -> TemperatureAlignmentResource:
        """Implied temperature alignment."""
        return TemperatureAlignmentResource(self)

    @property
    def rankings(self) -> RankingsResource:
        """Company rankings by emissions intensity."""
        return RankingsResource(self)

    @property
    def hazards(self) -> HazardsResource:
        """Physical hazards by location."""
        return HazardsResource(self)

    @property
    def customers(self) -> CustomersResource:
        """Customers of an account key."""
        return CustomersResource(self)

    @property
    def usage(self) -> UsageResource:
        """Usage monitoring."""
        return UsageResource(self)

    @property
    def service(self) -> ServiceResource:
        """Service information and health."""
        return ServiceResource(self)

    @overload
    def batch(
        self,
        operation: Callable[..., Awaitable[list[ResultT]]],
        *,
        chunk_size: int | None = None,
        max_concurrency: int | None = None,
        min_concurrency: int = 1,
        adaptive: bool = True,
        max_attempts: int = 6,
        retry_budget: float = 0.2,
        max_retry_after: float = 600.0,
        deadline: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        attribute: Callable[[Any], Any] | str | None = None,
        on_progress: Callable[[BatchEvent], object] | None = None,
        gate: Gate | None = None,
    ) -> BatchRunner[ResultT]: ...

    @overload
    def batch(
        self,
        operation: Callable[..., Awaitable[HazardRisk]],
        *,
        chunk_size: int | None = None,
        max_concurrency: int | None = None,
        min_concurrency: int = 1,
        adaptive: bool = True,
        max_attempts: int = 6,
        retry_budget: float = 0.2,
        max_retry_after: float = 600.0,
        deadline: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        attribute: Callable[[Any], Any] | str | None = None,
        on_progress: Callable[[BatchEvent], object] | None = None,
        gate: Gate | None = None,
    ) -> BatchRunner[HazardRisk]: ...

    def batch(
        self,
        operation: Callable[..., Awaitable[Any]],
        *,
        chunk_size: int | None = None,
        max_concurrency: int | None = None,
        min_concurrency: int = 1,
        adaptive: bool = True,
        max_attempts: int = 6,
        retry_budget: float = 0.2,
        max_retry_after: float = 600.0,
        deadline: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        attribute: Callable[[Any], Any] | str | None = None,
        on_progress: Callable[[BatchEvent], object] | None = None,
        gate: Gate | None = None,
    ) -> BatchRunner[Any]:
        """A :class:`~emmi_async.BatchRunner` of ``operation`` over this client's pool.

        Args:
            operation: what to run per chunk: an analysis method of this client
                (``client.emissions.estimate``, ``client.rankings.rank``...), or
                ``client.hazards.get`` for one hazard look-up per location item.
            chunk_size: entities per request; default and maximum: the operation's API
                limit (100 for analyses; 1 for hazard look-ups).
            max_concurrency: most requests in flight at once; default: the client's
                ``max_connections``.
            min_concurrency: the adaptive limit never drops below this (default 1).
            adaptive: when true (default), the limit halves on 429, 503, timeouts and
                climbing latency and creeps back up on success; when false it stays at
                ``max_concurrency``.
            max_attempts: requests that may carry one chunk before its entities fail
                (default 6; a chunk split to isolate a refused entity starts afresh).
            retry_budget: retries allowed per request sent, over the whole run, on top of
                ten free ones (default 0.2); once spent, transient failures fail at once
                and a server that keeps failing ends the run with
                :class:`~emmi_async.BatchAbortedError` outcomes instead of a retry storm.
            max_retry_after: the longest ``Retry-After`` or rate-limit reset (seconds) the
                runner pauses for (default 600); a longer wait fails the chunk.
            deadline: seconds from the start of the run; entities without an answer by
                then get :class:`~emmi_async.BatchDeadlineError` outcomes.
            journal: a file that records each finished entity; running again with the same
                journal and input resumes where the last run stopped (even after
                ``kill -9``).
            attribute: which customer (account key) or end user (multi-tenant key) an
                item belongs to: a function of the item, or a dotted field path of a dict
                item (the field is taken out before sending). Items are grouped per value.
            on_progress: called with a :class:`~emmi_async.BatchEvent` as the run goes
                (in the event loop: it must be quick and must not block).
            gate: a budget shared with other runs, maybe in other processes (see
                :class:`emmi_async.batch.Gate`; ``emmi_async.dask`` passes one):
                each request also holds one of its leases, and a 429 pause is published
                to it. Default ``None``: this run's limits only.
        """
        return BatchRunner(
            self,
            operation,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            min_concurrency=min_concurrency,
            adaptive=adaptive,
            max_attempts=max_attempts,
            retry_budget=retry_budget,
            max_retry_after=max_retry_after,
            deadline=deadline,
            journal=journal,
            attribute=attribute,
            on_progress=on_progress,
            gate=gate,
        )
