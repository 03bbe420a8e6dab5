"""Non-analysis payloads: hazards, customers, usage, service info and health."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from emmi_async.models._common import extra_field

__all__ = [
    "Customer",
    "CustomerCreate",
    "CustomerPage",
    "EndpointUsage",
    "Hazard",
    "HazardRisk",
    "Health",
    "Location",
    "ServiceInfo",
    "Usage",
    "UsageBreakdown",
    "UsagePeriod",
]


@attrs.frozen(kw_only=True)
class Location:
    """A point in WGS 84 degrees."""

    latitude: float
    longitude: float
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Hazard:
    """One hazard under one warming scenario and year (hazard and scenario are open strings)."""

    hazard: str
    """Known values in :class:`HazardType`."""
    scenario: str | None = None
    """Known values in :class:`HazardScenario`."""
    year: int | None = None
    intensity: float | None = None
    probability: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class HazardRisk:
    """``GET /hazard-risk``: acute physical hazards at a location."""

    location: Location | None = None
    hazards: Sequence[Hazard] = ()
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CustomerCreate:
    """``POST /customers`` body: your own identifier and an optional display name."""

    external_id: str
    name: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Customer:
    """A registered customer; ``id`` is the UUID to send as ``X-Customer-ID``."""

    id: uuid.UUID
    external_id: str | None = None
    name: str | None = None
    created_at: dt.datetime | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CustomerPage:
    """One page of ``GET /customers``; pass ``next_cursor`` as ``after`` for the next."""

    data: Sequence[Customer]
    has_more: bool = False
    next_cursor: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class UsagePeriod:
    """The inclusive date range a usage report covers."""

    start: dt.date
    end: dt.date
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EndpointUsage:
    """Requests and entities counted for one endpoint path."""

    requests: int = 0
    entities: int = 0
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class UsageBreakdown:
    """Usage of one customer (account model) or one end user (multi tenant).

    The item shape is not documented: every field is optional.
    """

    customer_id: uuid.UUID | None = None
    external_id: str | None = None
    end_user_id: str | None = None
    requests: int | None = None
    entities: int | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Usage:
    """``GET /usage``: totals for a period, by endpoint path and by customer or end user."""

    period: UsagePeriod
    requests: int
    entities: int
    by_endpoint: Mapping[str, EndpointUsage] = attrs.field(factory=dict, hash=False)
    by_customer: Sequence[UsageBreakdown] | None = None
    by_end_user: Sequence[UsageBreakdown] | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ServiceInfo:
    """``GET /api/v1/``: service information (shape undocumented; the rest is in ``extra``)."""

    name: str | None = None
    version: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Health:
    """``GET /health``: shape undocumented, so every key is kept in ``extra``."""

    extra: Mapping[str, Any] = extra_field()

    @property
    def status(self) -> str | None:
        """``extra["status"]`` when it is a string (e.g. ``"ok"``), else ``None``."""
        value = self.extra.get("status")
        return value if isinstance(value, str) else None
