"""``client.rankings``: emissions-intensity percentiles within industry and sector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emmi_async._response import RawResponse, ResultList, raw_response
from emmi_async.models import COMPANY_RANKING, CompanyRankingEntity, CompanyRankingResult
from emmi_async.resources._base import RawResponseResource, Resource, analyse, analysis_method

__all__ = ["RankingsResource", "RankingsResourceWithRawResponse"]


class RankingsResource(Resource):
    """Company rankings."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> RankingsResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return RankingsResourceWithRawResponse(self)

    @analysis_method(COMPANY_RANKING)
    async def rank(
        self,
        entities: CompanyRankingEntity
        | Mapping[str, Any]
        | Sequence[CompanyRankingEntity | Mapping[str, Any]],
    ) -> ResultList[CompanyRankingResult]:
        """``POST /company-ranking``: intensity percentiles (0-100) per data year.

        Equity only; one result per entity, in input order.
        """
        return await analyse(self._client, COMPANY_RANKING, entities)


class RankingsResourceWithRawResponse(RawResponseResource[RankingsResource]):
    """``client.rankings.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def rank(
        self,
        entities: CompanyRankingEntity
        | Mapping[str, Any]
        | Sequence[CompanyRankingEntity | Mapping[str, Any]],
    ) -> RawResponse[ResultList[CompanyRankingResult]]:
        """:meth:`RankingsResource.rank`, with its response."""
        return await raw_response(self._resource.rank, entities)
