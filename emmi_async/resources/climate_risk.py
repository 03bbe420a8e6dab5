"""``client.climate_risk``: transition and physical climate risk per scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async._response import RawResponse, ResultList, raw_response
from emmi_async.models import (
    CLIMATE_RISK,
    CLIMATE_RISK_PROJECTIONS,
    ClimateRiskEntity,
    ClimateRiskProjectionEntity,
    ClimateRiskProjectionResult,
    ClimateRiskResult,
)
from emmi_async.resources._base import RawResponseResource, Resource, analyse, analysis_method

__all__ = ["ClimateRiskResource", "ClimateRiskResourceWithRawResponse"]


class ClimateRiskResource(Resource):
    """Climate risk of reported or projected emissions."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> ClimateRiskResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return ClimateRiskResourceWithRawResponse(self)

    @analysis_method(CLIMATE_RISK)
    async def assess(
        self,
        entities: ClimateRiskEntity
        | Mapping[str, Any]
        | Sequence[ClimateRiskEntity | Mapping[str, Any]],
    ) -> ResultList[ClimateRiskResult]:
        """``POST /climate-risk``: risk per scenario for each data year.

        Any asset type; one result per entity, in input order.
        """
        return await analyse(self._client, CLIMATE_RISK, entities)

    @analysis_method(CLIMATE_RISK_PROJECTIONS)
    async def project(
        self,
        entities: ClimateRiskProjectionEntity
        | Mapping[str, Any]
        | Sequence[ClimateRiskProjectionEntity | Mapping[str, Any]],
    ) -> ResultList[ClimateRiskProjectionResult]:
        """``POST /climate-risk-projections``: risk of supplied projected emissions.

        Equity only; one baseline year per entity; one result per entity, in input order.
        """
        return await analyse(self._client, CLIMATE_RISK_PROJECTIONS, entities)


class ClimateRiskResourceWithRawResponse(RawResponseResource[ClimateRiskResource]):
    """``client.climate_risk.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def assess(
        self,
        entities: ClimateRiskEntity
        | Mapping[str, Any]
        | Sequence[ClimateRiskEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[ClimateRiskResult]]:
        """:meth:`ClimateRiskResource.assess`, with its response."""
        return await raw_response(self._resource.assess, entities)

    async def project(
        self,
        entities: ClimateRiskProjectionEntity
        | Mapping[str, Any]
        | Sequence[ClimateRiskProjectionEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[ClimateRiskProjectionResult]]:
        """:meth:`ClimateRiskResource.project`, with its response."""
        return await raw_response(self._resource.project, entities)
