"""``client.emissions``: emission estimates and projections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async.models import (
    EMISSIONS_ESTIMATES,
    EMISSIONS_PROJECTIONS,
    EmissionsEstimateEntity,
    EmissionsEstimateResult,
    EmissionsProjectionEntity,
    EmissionsProjectionResult,
)
from emmi_async.resources._base import Resource, analyse, analysis_method

__all__ = ["Emissions"]


class Emissions(Resource):
    """Scope 1/2/3 emission estimates and projections."""

    __slots__ = ()

    @analysis_method(EMISSIONS_ESTIMATES)
    async def estimate(
        self,
        entities: EmissionsEstimateEntity
        | Mapping[str, Any]
        | Sequence[EmissionsEstimateEntity | Mapping[str, Any]],
    ) -> list[EmissionsEstimateResult]:
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
    ) -> list[EmissionsProjectionResult]:
        """``POST /emissions-projections``: future emissions (Monte Carlo or glide path).

        Equity only; one result per entity, in input order.
        """
        return await analyse(self._client, EMISSIONS_PROJECTIONS, entities)
