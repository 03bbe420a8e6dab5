"""Write ``examples/portfolio.csv``: a synthetic, deterministic portfolio for the quick start.

``python scripts/make_portfolio.py [--entities 2000] [--seed 7] [-o examples/portfolio.csv]``

About 2,000 entities (equity, debt, infrastructure, property) over two or three years
each, in several countries and sectors, in the CSV layout of ``emmi estimate`` (see
``emmi estimate --help``). About a third report some emissions, with the keys their asset
type takes (debt ``underlying_scope*``; infrastructure and property no scope 3).

Six rows are bad on purpose, so that the quick start shows how bad rows are reported
(their entities fail alone, with status ``invalid`` or ``rejected``; the exit code is 1):

- a revenue that is not a number (``n/a``),
- a year out of range (2150),
- a negative revenue,
- a scope 3 on a property,
- a ``scope1`` on debt (debt takes ``underlying_scope1``),
- a year with neither revenue nor total assets (the SDK lets it through; the service
  refuses it, so its status is ``rejected``).

The same seed always gives the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["BAD_ROWS", "COLUMNS", "generate", "main", "write"]

COLUMNS = (
    "identifier",
    "name",
    "asset_type",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
    "year",
    "currency",
    "revenue",
    "total_assets",
    "ebitda",
    "total_debt",
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)

COUNTRIES = (
    ("United States", "USD"),
    ("United Kingdom", "GBP"),
    ("Germany", "EUR"),
    ("France", "EUR"),
    ("Japan", "JPY"),
    ("Switzerland", "CHF"),
    ("Canada", "CAD"),
    ("Australia", "AUD"),
    ("Brazil", "BRL"),
    ("India", "INR"),
)
_FX = {
    "USD": 1.0,
    "GBP": 0.8,
    "EUR": 0.92,
    "JPY": 150.0,
    "CHF": 0.9,
    "CAD": 1.35,
    "AUD": 1.5,
    "BRL": 5.0,
    "INR": 83.0,
}

SECTORS = (
    ("Energy", ("Oil & Gas", "Integrated Oil", "Coal")),
    ("Utilities", ("Electric Utilities", "Water Utilities")),
    ("Materials", ("Steel", "Chemicals")),
    ("Industrials", ("Machinery", "Airlines")),
    ("Consumer Discretionary", ("Automobiles", "Retail")),
    ("Consumer Staples", ("Food Products", "Beverages")),
    ("Health Care", ("Pharmaceuticals",)),
    ("Financials", ("Banks", "Insurance")),
    ("Information Technology", ("Semiconductors", "Software")),
    ("Communication Services", ("Telecom",)),
    ("Real Estate", ("REITs",)),
)
_INTENSITY = {
    "Energy": (600, 60, 2400),
    "Utilities": (1500, 30, 300),
    "Materials": (700, 150, 900),
    "Industrials": (120, 40, 600),
    "Consumer Discretionary": (40, 25, 400),
    "Consumer Staples": (60, 30, 700),
    "Health Care": (20, 15, 150),
    "Financials": (5, 5, 50),
    "Information Technology": (10, 25, 150),
    "Communication Services": (10, 30, 120),
    "Real Estate": (50, 80, 100),
}

ASSET_TYPES = (("equity", 0.55), ("debt", 0.2), ("infrastructure", 0.13), ("property", 0.12))
_PREFIX = {"equity": "EQ", "debt": "DB", "infrastructure": "IN", "property": "PR"}
_NAMES = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wide World",
    "Litware",
    "Adatum",
    "Proseware",
    "Lucerne",
    "Margie",
    "Trey",
    "Alpine",
    "Coho",
    "Humongous",
    "Woodgrove",
)
_SUFFIXES = (
    "Holdings",
    "Group",
    "Corp",
    "Partners",
    "Capital",
    "Energy",
    "Industries",
    "AG",
    "plc",
    "SA",
    "Ltd",
    "Infrastructure",
    "Properties",
)

BAD_ROWS = {
    150: "revenue not a number",
    420: "year out of range",
    777: "negative revenue",
    1100: "scope3 on a property",
    1500: "scope1 on debt",
    1850: "no revenue nor total assets",
}
"""Entity number (0-based) -> the deliberate problem in one of its rows."""

Row = dict[str, str]


def _amount(value: float) -> str:
    return f"{value:.2f}"


def _entity(number: int, rng: random.Random) -> list[Row]:
    bad = BAD_ROWS.get(number)
    kinds, weights = zip(*ASSET_TYPES, strict=True)
    asset = rng.choices(kinds, weights)[0]
    if bad == "scope3 on a property":
        asset = "property"
    elif bad == "scope1 on debt":
        asset = "debt"
    country, currency = rng.choice(COUNTRIES)
    sector, industries = rng.choice(SECTORS)
    if asset == "property":
        sector, industries = "Real Estate", ("REITs",)
    elif asset == "infrastructure" and sector not in ("Utilities", "Energy", "Industrials"):
        sector, industries = "Utilities", ("Electric Utilities", "Water Utilities")
    info = {
        "identifier": f"{_PREFIX[asset]}-{number + 1:05d}",
        "name": f"{rng.choice(_NAMES)} {rng.choice(_SUFFIXES)} {number + 1}",
        "asset_type": asset,
        "country": country,
        "industry_classification_system": rng.choice(("rbics", "factset")),
        "industry": rng.choice(industries),
        "sector": sector,
    }
    years = 3 if rng.random() < 0.5 else 2
    first = 2024 - years
    fx = _FX[currency]
    revenue = rng.lognormvariate(5.5, 1.3) * 1e6 * fx  # about 250 million USD median
    reports = rng.random() < 0.35
    rows: list[Row] = []
    for offset in range(years):
        revenue *= 1 + rng.uniform(-0.08, 0.15)
        total_assets = revenue * rng.uniform(0.8, 3.0)
        row: Row = dict.fromkeys(COLUMNS, "")
        row.update(info if offset == 0 else {"identifier": info["identifier"]})
        row["year"] = str(first + offset)
        row["currency"] = currency
        if asset in ("equity", "debt"):
            row["revenue"] = _amount(revenue)
            row["ebitda"] = _amount(revenue * rng.uniform(0.02, 0.3))
        row["total_assets"] = _amount(total_assets)
        row["total_debt"] = _amount(total_assets * rng.uniform(0.1, 0.6))
        if reports and rng.random() < 0.8:
            _report(row, asset, revenue / fx, _INTENSITY[sector], rng)
        rows.append(row)
    if bad is not None:
        _spoil(rows[-1], bad)
    return rows


def _report(
    row: Row, asset: str, revenue_usd: float, intensity: Sequence[int], rng: random.Random
) -> None:
    """Reported emissions of some scopes, with the keys the asset type takes."""
    scopes = {
        "equity": ("scope1", "scope2", "scope3"),
        "debt": ("underlying_scope1", "underlying_scope2", "underlying_scope3"),
        "infrastructure": ("scope1", "scope2"),
        "property": ("scope1", "scope2"),
    }[asset]
    for position, key in enumerate(scopes):
        if position == 0 or rng.random() < 0.6:
            tonnes = revenue_usd / 1e6 * intensity[position] * rng.uniform(0.5, 1.6)
            row[key] = _amount(tonnes)


def _spoil(row: Row, bad: str) -> None:
    if bad == "revenue not a number":
        row["revenue"] = "n/a"
    elif bad == "year out of range":
        row["year"] = "2150"
    elif bad == "negative revenue":
        row["revenue"] = "-" + (row["revenue"] or row["total_assets"])
    elif bad == "scope3 on a property":
        row["scope3"] = "1250.00"
    elif bad == "scope1 on debt":
        row["scope1"] = "830.00"
    elif bad == "no revenue nor total assets":
        for column in (
            "revenue",
            "total_assets",
            "scope1",
            "scope2",
            "scope3",
            "underlying_scope1",
            "underlying_scope2",
            "underlying_scope3",
        ):
            row[column] = ""


def generate(entities: int = 2000, seed: int = 7) -> Iterator[Row]:
    """The rows of the portfolio, entity by entity."""
    rng = random.Random(seed)
    for number in range(entities):
        yield from _entity(number, rng)


def write(path: Path, entities: int = 2000, seed: int = 7) -> int:
    """Write the portfolio to ``path``; the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in generate(entities, seed):
            writer.writerow(row)
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=2000, help="entities (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "examples" / "portfolio.csv",
        help="output file (default examples/portfolio.csv)",
    )
    args = parser.parse_args(argv)
    rows = write(args.output, args.entities, args.seed)
    print(f"wrote {rows} rows ({args.entities} entities) to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
