"""``client.climate_risk``: transition and physical climate risk per scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async.models import (
    CLIMATE_RISK,
    CLIMATE_RISK_PROJECTIONS,
    ClimateRiskEntity,
    ClimateRiskProjectionEntity,
    ClimateRiskProjectionResult,
    ClimateRiskResult,
)
from emmi_async.resources._base import Resource, analyse, analysis_method

__all__ = ["ClimateRisk"]


class ClimateRisk(Resource):
    """Climate risk of reported or projected emissions."""

    __slots__ = ()

    @analysis_method(CLIMATE_RISK)
    async def assess(
        self,
        entities: ClimateRiskEntity
        | Mapping[str, Any]
        | Sequence[ClimateRiskEntity | Mapping[str, Any]],
    ) -> list[ClimateRiskResult]:
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
    ) -> list[ClimateRiskProjectionResult]:
        """``POST /climate-risk-projections``: risk of supplied projected emissions.

        Equity only; one baseline year per entity; one result per entity, in input order.
        """
        return await analyse(self._client, CLIMATE_RISK_PROJECTIONS, entities)
