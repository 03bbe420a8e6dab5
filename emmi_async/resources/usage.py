"""``client.usage``: requests and entities used, attributed by the auth model in use."""

from __future__ import annotations

import datetime as dt
import uuid

from emmi_async._response import RawResponse, raw_response
from emmi_async.models import Usage, decode, structure
from emmi_async.resources._base import RawResponseResource, Resource

__all__ = ["UsageResource", "UsageResourceWithRawResponse"]


def _as_date(name: str, value: object) -> dt.date:
    """``value`` as a date, through the models' date hook; the error names the parameter."""
    try:
        return structure(value, dt.date)
    except ValueError:
        raise ValueError(f"{name} must be a date or 'YYYY-MM-DD', got {value!r}") from None


class UsageResource(Resource):
    """Usage monitoring."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> UsageResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return UsageResourceWithRawResponse(self)

    async def get(
        self,
        *,
        start: dt.date | str,
        end: dt.date | str,
        customer_id: str | uuid.UUID | None = None,
    ) -> Usage:
        """``GET /usage``: usage between ``start`` and ``end`` (inclusive dates)."""
        first, last = _as_date("start", start), _as_date("end", end)
        if last < first:
            raise ValueError(f"end ({last}) is before start ({first})")
        params = {"start": first.isoformat(), "end": last.isoformat()}
        if customer_id is not None:
            params["customer_id"] = str(uuid.UUID(str(customer_id)))
        response = await self._client.request("GET", "usage", scope="account", params=params)
        return decode(response.data, Usage)


class UsageResourceWithRawResponse(RawResponseResource[UsageResource]):
    """``client.usage.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def get(
        self,
        *,
        start: dt.date | str,
        end: dt.date | str,
        customer_id: str | uuid.UUID | None = None,
    ) -> RawResponse[Usage]:
        """:meth:`UsageResource.get`, with its response."""
        return await raw_response(self._resource.get, start=start, end=end, customer_id=customer_id)
