"""``client.temperature_alignment``: implied temperature alignment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async.models import (
    TEMPERATURE_ALIGNMENT,
    TEMPERATURE_ALIGNMENT_PROJECTIONS,
    TemperatureAlignmentEntity,
    TemperatureAlignmentProjectionEntity,
    TemperatureAlignmentProjectionResult,
    TemperatureAlignmentResult,
)
from emmi_async.resources._base import Resource, analyse, analysis_method

__all__ = ["TemperatureAlignment"]


class TemperatureAlignment(Resource):
    """Implied temperature alignment, per data year or of a future pathway."""

    __slots__ = ()

    @analysis_method(TEMPERATURE_ALIGNMENT)
    async def assess(
        self,
        entities: TemperatureAlignmentEntity
        | Mapping[str, Any]
        | Sequence[TemperatureAlignmentEntity | Mapping[str, Any]],
    ) -> list[TemperatureAlignmentResult]:
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
    ) -> list[TemperatureAlignmentProjectionResult]:
        """``POST /temperature-alignment-projections``: alignment of a future pathway.

        Equity only; one result per entity (projected years only), in input order.
        """
        return await analyse(self._client, TEMPERATURE_ALIGNMENT_PROJECTIONS, entities)
