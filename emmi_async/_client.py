"""``AsyncEmmi``: the pipeline of :mod:`emmi_async._base_client` with the API's resources."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from emmi_async._base_client import BaseClient
from emmi_async.batch import BatchEvent, BatchRunner
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
    """The async EMMI client: one connection pool, every endpoint, and the batch runner.

    Use it as an async context manager (or call :meth:`aclose`). Unset settings come
    from ``EMMI_API_KEY``, ``EMMI_CUSTOMER_ID``, ``EMMI_END_USER_ID``, ``EMMI_BASE_URL``
    and ``EMMI_LOG``. :meth:`for_customer`, :meth:`for_end_user` and :meth:`with_options`
    return views that share the pool.
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
    ) -> BatchRunner[Any]:
        """A :class:`~emmi_async.BatchRunner` of ``operation`` over this client's pool.

        ``operation`` is an analysis method (``client.emissions.estimate``...) or
        ``client.hazards.get``. Chunks default to the API's maximum (100 entities),
        concurrency to the pool's size; see :class:`~emmi_async.BatchRunner`.
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
        )
