"""``client.emissions``: emission estimates and projections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async._response import RawResponse, ResultList, raw_response
from emmi_async.models import (
    EMISSIONS_ESTIMATES,
    EMISSIONS_PROJECTIONS,
    EmissionsEstimateEntity,
    EmissionsEstimateResult,
    EmissionsProjectionEntity,
    EmissionsProjectionResult,
)
from emmi_async.resources._base import RawResponseResource, Resource, analyse, analysis_method

__all__ = ["EmissionsResource", "EmissionsResourceWithRawResponse"]


class EmissionsResource(Resource):
    """Scope 1/2/3 emission estimates and projections."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> EmissionsResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return EmissionsResourceWithRawResponse(self)

    @analysis_method(EMISSIONS_ESTIMATES)
    async def estimate(
        self,
        entities: EmissionsEstimateEntity
        | Mapping[str, Any]
        | Sequence[EmissionsEstimateEntity | Mapping[str, Any]],
    ) -> ResultList[EmissionsEstimateResult]:
        """``POST /emissions-estimates``: scope 1/2/3 estimates from financials.

        Takes one entity or up to 100 (models or dicts); returns one result per entity,
        in input order. Any asset type.
        """
        return await analyse(self._client, EMISSIONS_ESTIMATES, entities)

    @analysis_method(EMISSIONS_PROJECTIONS)
    async def project(
        self,
        entities: EmissionsProjectionEntity
        | Mapping[str, Any]
        | Sequence[EmissionsProjectionEntity | Mapping[str, Any]],
    ) -> ResultList[EmissionsProjectionResult]:
        """``POST /emissions-projections``: future emissions (Monte Carlo or glide path).

        Equity only; one result per entity, in input order.
        """
        return await analyse(self._client, EMISSIONS_PROJECTIONS, entities)


class EmissionsResourceWithRawResponse(RawResponseResource[EmissionsResource]):
    """``client.emissions.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def estimate(
        self,
        entities: EmissionsEstimateEntity
        | Mapping[str, Any]
        | Sequence[EmissionsEstimateEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[EmissionsEstimateResult]]:
        """:meth:`EmissionsResource.estimate`, with its response."""
        return await raw_response(self._resource.estimate, entities)

    async def project(
        self,
        entities: EmissionsProjectionEntity
        | Mapping[str, Any]
        | Sequence[EmissionsProjectionEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[EmissionsProjectionResult]]:
        """:meth:`EmissionsResource.project`, with its response."""
        return await raw_response(self._resource.project, entities)
