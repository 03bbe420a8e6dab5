"""Canned mode, for benchmarks: answers without parsing, validating or computing.

The number of entities is the count of ``"entity_info"`` in the raw body; the answer is
that many copies of one realistic precomputed result (the real formulas applied to a
sample entity), joined into ``{"results": [...]}``. Responses are cached per count.
Authentication, rate limits, usage and faults still apply.
"""

from __future__ import annotations

from typing import Any

import orjson

from emmi_async.testing._compute import COMPUTERS

__all__ = ["CannedResponses", "count_entities"]

_INFO = {
    "identifier": "ACME-1",
    "name": "Acme Power Corp",
    "asset_type": "equity",
    "country": "United States",
    "industry_classification_system": "rbics",
    "industry": "Electric Utilities",
    "sector": "Utilities",
}
_HISTORY = [
    {
        "year": year,
        "emissions": {"scope1": 1_200_000.0 - 50_000 * i, "scope2": 30_000.0},
        "financials": {"currency": "USD", "revenue": 1e9 + 5e7 * i, "total_assets": 4e9},
    }
    for i, year in enumerate((2021, 2022, 2023))
]
_SCENARIOS = ["ipcc_net_zero", "ipcc_two_degree", "ipcc_four_degree"]
_FUTURE = [{"year": year, "emissions": {"scope1": 9e5, "scope2": 2e4}} for year in (2030, 2040)]

SAMPLES: dict[str, dict[str, Any]] = {
    "/emissions-estimates": {"entity_info": _INFO, "data": _HISTORY},
    "/climate-risk": {"entity_info": _INFO, "data": _HISTORY, "scenarios": _SCENARIOS},
    "/temperature-alignment": {"entity_info": _INFO, "data": _HISTORY},
    "/emissions-projections": {
        "entity_info": _INFO,
        "data": _HISTORY,
        "method": "monte_carlo",
        "projection_years": [2025, 2030, 2035],
    },
    "/climate-risk-projections": {
        "entity_info": _INFO,
        "data": _HISTORY[-1:],
        "projections": _FUTURE,
        "scenarios": _SCENARIOS,
    },
    "/temperature-alignment-projections": {
        "entity_info": _INFO,
        "data": _HISTORY[-1:],
        "projected_emissions": _FUTURE,
    },
    "/company-ranking": {"entity_info": _INFO, "data": _HISTORY},
}
"""One valid sample entity per analysis endpoint."""

_MARKER = b'"entity_info"'


def count_entities(body: bytes) -> int:
    """How many entities a raw analysis body carries, without parsing it."""
    return body.count(_MARKER)


class CannedResponses:
    """Precomputed ``{"results": [...]}`` bodies per endpoint and entity count."""

    def __init__(self) -> None:
        self._items = {
            path: orjson.dumps(COMPUTERS[path](sample)) for path, sample in SAMPLES.items()
        }
        self._cache: dict[tuple[str, int], bytes] = {}

    def body(self, path: str, count: int) -> bytes:
        """The response body for ``count`` entities on ``path``."""
        body = self._cache.get((path, count))
        if body is None:
            body = b'{"results":[' + b",".join([self._items[path]] * count) + b"]}"
            self._cache[(path, count)] = body
        return body
