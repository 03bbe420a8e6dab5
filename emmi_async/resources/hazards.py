"""``client.hazards``: acute physical hazards at a location."""

from __future__ import annotations

import math

from emmi_async._response import RawResponse, raw_response
from emmi_async.models import HazardRisk, decode
from emmi_async.resources._base import RawResponseResource, Resource

__all__ = ["HazardsResource", "HazardsResourceWithRawResponse", "check_coordinates"]


def check_coordinates(latitude: object, longitude: object) -> tuple[float, float]:
    """``(latitude, longitude)`` as floats, or ``ValueError``/``TypeError`` naming the field."""
    checked = []
    for name, value, bound in (("latitude", latitude, 90.0), ("longitude", longitude, 180.0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
        if not math.isfinite(value) or not -bound <= value <= bound:
            raise ValueError(f"{name} must be between {-bound:g} and {bound:g}, got {value!r}")
        checked.append(float(value))
    return checked[0], checked[1]


class HazardsResource(Resource):
    """Hazard look-ups by latitude and longitude."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> HazardsResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return HazardsResourceWithRawResponse(self)

    async def get(self, *, latitude: float, longitude: float) -> HazardRisk:
        """``GET /hazard-risk``: hazard intensity and probability across warming scenarios."""
        lat, lon = check_coordinates(latitude, longitude)
        response = await self._client.request(
            "GET",
            "hazard-risk",
            scope="data",
            params={"latitude": repr(lat), "longitude": repr(lon)},
        )
        return decode(response.data, HazardRisk)


class HazardsResourceWithRawResponse(RawResponseResource[HazardsResource]):
    """``client.hazards.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def get(self, *, latitude: float, longitude: float) -> RawResponse[HazardRisk]:
        """:meth:`HazardsResource.get`, with its response."""
        return await raw_response(self._resource.get, latitude=latitude, longitude=longitude)
