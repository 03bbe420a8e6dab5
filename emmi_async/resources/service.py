"""``client.service``: service information and health (no key needed)."""

from __future__ import annotations

from emmi_async._response import RawResponse, raw_response
from emmi_async.models import Health, ServiceInfo, decode
from emmi_async.resources._base import RawResponseResource, Resource

__all__ = ["ServiceResource", "ServiceResourceWithRawResponse"]


class ServiceResource(Resource):
    """Keyless service endpoints."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> ServiceResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return ServiceResourceWithRawResponse(self)

    async def info(self) -> ServiceInfo:
        """``GET /``: service information."""
        response = await self._client.request("GET", "", scope="public")
        return decode(response.data, ServiceInfo)

    async def health(self) -> Health:
        """``GET /health``: health check."""
        response = await self._client.request("GET", "health", scope="public")
        return decode(response.data, Health)


class ServiceResourceWithRawResponse(RawResponseResource[ServiceResource]):
    """``client.service.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def info(self) -> RawResponse[ServiceInfo]:
        """:meth:`ServiceResource.info`, with its response."""
        return await raw_response(self._resource.info)

    async def health(self) -> RawResponse[Health]:
        """:meth:`ServiceResource.health`, with its response."""
        return await raw_response(self._resource.health)
