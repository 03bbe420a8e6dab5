"""``client.temperature_alignment``: implied temperature alignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async._response import RawResponse, ResultList, raw_response
from emmi_async.models import (
    TEMPERATURE_ALIGNMENT,
    TEMPERATURE_ALIGNMENT_PROJECTIONS,
    TemperatureAlignmentEntity,
    TemperatureAlignmentProjectionEntity,
    TemperatureAlignmentProjectionResult,
    TemperatureAlignmentResult,
)
from emmi_async.resources._base import RawResponseResource, Resource, analyse, analysis_method

__all__ = ["TemperatureAlignmentResource", "TemperatureAlignmentResourceWithRawResponse"]


class TemperatureAlignmentResource(Resource):
    """Implied temperature alignment, per data year or of a future pathway."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> TemperatureAlignmentResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return TemperatureAlignmentResourceWithRawResponse(self)

    @analysis_method(TEMPERATURE_ALIGNMENT)
    async def assess(
        self,
        entities: TemperatureAlignmentEntity
        | Mapping[str, Any]
        | Sequence[TemperatureAlignmentEntity | Mapping[str, Any]],
    ) -> ResultList[TemperatureAlignmentResult]:
        """``POST /temperature-alignment``: alignment per data year.

        Any asset type; one result per entity, in input order.
        """
        return await analyse(self._client, TEMPERATURE_ALIGNMENT, entities)

    @analysis_method(TEMPERATURE_ALIGNMENT_PROJECTIONS)
    async def project(
        self,
        entities: TemperatureAlignmentProjectionEntity
        | Mapping[str, Any]
        | Sequence[TemperatureAlignmentProjectionEntity | Mapping[str, Any]],
    ) -> ResultList[TemperatureAlignmentProjectionResult]:
        """``POST /temperature-alignment-projections``: alignment of a future pathway.

        Equity only; one result per entity (projected years only), in input order.
        """
        return await analyse(self._client, TEMPERATURE_ALIGNMENT_PROJECTIONS, entities)


class TemperatureAlignmentResourceWithRawResponse(
    RawResponseResource[TemperatureAlignmentResource]
):
    """``client.temperature_alignment.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def assess(
        self,
        entities: TemperatureAlignmentEntity
        | Mapping[str, Any]
        | Sequence[TemperatureAlignmentEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[TemperatureAlignmentResult]]:
        """:meth:`TemperatureAlignmentResource.assess`, with its response."""
        return await raw_response(self._resource.assess, entities)

    async def project(
        self,
        entities: TemperatureAlignmentProjectionEntity
        | Mapping[str, Any]
        | Sequence[TemperatureAlignmentProjectionEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[TemperatureAlignmentProjectionResult]]:
        """:meth:`TemperatureAlignmentResource.project`, with its response."""
        return await raw_response(self._resource.project, entities)
