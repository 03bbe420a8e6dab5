"""``client.service``: service information and health (no key needed)."""

from __future__ import annotations

from emmi_async.models import Health, ServiceInfo, structure
from emmi_async.resources._base import Resource

__all__ = ["Service"]


class Service(Resource):
    """Keyless service endpoints."""

    __slots__ = ()

    async def info(self) -> ServiceInfo:
        """``GET /``: service information."""
        response = await self._client.request("GET", "", scope="public")
        return structure(response.data, ServiceInfo)

    async def health(self) -> Health:
        """``GET /health``: health check."""
        response = await self._client.request("GET", "health", scope="public")
        return structure(response.data, Health)
