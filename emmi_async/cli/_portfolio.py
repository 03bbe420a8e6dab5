"""The columns of a portfolio file (CSV, Parquet, JSON Lines rows): the table path's.

One row per entity-year; only ``identifier`` and ``year`` are required. Reading the
files is :mod:`emmi_async.cli._read`'s job; this module stays free of heavy imports so
that ``emmi --help`` is quick.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "EMISSION_COLUMNS", "FINANCIAL_COLUMNS", "INFO_COLUMNS"]

INFO_COLUMNS = (
    "name",
    "asset_type",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
)
"""``entity_info`` fields besides ``identifier``: one value per entity (on any of its rows)."""
FINANCIAL_COLUMNS = ("revenue", "total_assets", "ebitda", "total_debt")
EMISSION_COLUMNS = (
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)
COLUMNS = (
    "identifier",
    *INFO_COLUMNS,
    "year",
    "currency",
    *FINANCIAL_COLUMNS,
    *EMISSION_COLUMNS,
    "projected",
)
"""Every column a portfolio may have; only ``identifier`` and ``year`` are required.
``projected`` (true/false, default false) marks a supplied future year for the projection
endpoints (``climate-risk-projections``, ``temperature-alignment-projections``): such a
row carries ``year`` and emissions only."""
