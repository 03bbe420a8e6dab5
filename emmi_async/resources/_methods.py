"""Which client method sends each analysis endpoint, by the endpoint's name.

The one mapping from an endpoint name (``"emissions-estimates"``, as the CLI's
``--operation`` takes it) to the resource method that calls it, for every layer that is
given a name rather than a method: the CLI and ``emmi_async.dask``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ANALYSIS_METHODS", "analysis_method"]

ANALYSIS_METHODS: Mapping[str, tuple[str, str]] = {
    "emissions-estimates": ("emissions", "estimate"),
    "climate-risk": ("climate_risk", "assess"),
    "temperature-alignment": ("temperature_alignment", "assess"),
    "emissions-projections": ("emissions", "project"),
    "climate-risk-projections": ("climate_risk", "project"),
    "temperature-alignment-projections": ("temperature_alignment", "project"),
    "company-ranking": ("rankings", "rank"),
}
"""Endpoint name -> (resource attribute of the client, method of the resource)."""


def analysis_method(client: Any, name: str) -> Any:
    """The bound method of ``client`` (async or blocking) that sends endpoint ``name``.

    Args:
        client: an :class:`~emmi_async.AsyncEmmi` or an :class:`~emmi_async.Emmi`.
        name: an analysis endpoint's name, a key of :data:`ANALYSIS_METHODS`.

    Raises:
        ValueError: ``name`` is not an analysis endpoint (the message lists them).
    """
    try:
        resource, method = ANALYSIS_METHODS[name]
    except KeyError:
        known = ", ".join(ANALYSIS_METHODS)
        raise ValueError(f"unknown operation {name!r}: use one of {known}") from None
    return getattr(getattr(client, resource), method)
