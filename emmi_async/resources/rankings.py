"""``client.rankings``: emissions-intensity percentiles within industry and sector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async.models import COMPANY_RANKING, CompanyRankingEntity, CompanyRankingResult
from emmi_async.resources._base import Resource, analyse, analysis_method

__all__ = ["Rankings"]


class Rankings(Resource):
    """Company rankings."""

    __slots__ = ()

    @analysis_method(COMPANY_RANKING)
    async def rank(
        self,
        entities: CompanyRankingEntity
        | Mapping[str, Any]
        | Sequence[CompanyRankingEntity | Mapping[str, Any]],
    ) -> list[CompanyRankingResult]:
        """``POST /company-ranking``: intensity percentiles (0-100) per data year.

        Equity only; one result per entity, in input order.
        """
        return await analyse(self._client, COMPANY_RANKING, entities)
