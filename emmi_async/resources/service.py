"""``client.service``: service information and health (no key needed)."""

from __future__ import annotations

from emmi_async.models import Health, ServiceInfo, decode
from emmi_async.resources._base import Resource

__all__ = ["Service"]


class Service(Resource):
    """Keyless service endpoints."""

    __slots__ = ()

    async def info(self) -> ServiceInfo:
        """``GET /``: service information."""
        response = await self._client.request("GET", "", scope="public")
        return decode(response.data, ServiceInfo)

    async def health(self) -> Health:
        """``GET /health``: health check."""
        response = await self._client.request("GET", "health", scope="public")
        return decode(response.data, Health)
