"""Fixtures of the CLI tests: a reference server the test can inspect, portfolio files."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emmi_async.cli import _connect
from emmi_async.testing import FaultConfig, ReferenceServer
from scripts.make_portfolio import write as write_portfolio

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "portfolio.csv"

HEADER = (
    "identifier,name,asset_type,country,industry_classification_system,industry,sector,"
    "year,currency,revenue,total_assets,ebitda,total_debt,scope1,scope2,scope3,"
    "underlying_scope1,underlying_scope2,underlying_scope3"
)
KNOWN = """\
EQ-1,Acme,equity,France,rbics,Oil & Gas,Energy,2022,EUR,2000000,,,,,,,,,
EQ-2,Beta,equity,Germany,rbics,Software,Information Technology,2021,EUR,1000000,,,,500,,,,,
EQ-2,,,,,,,2022,EUR,2000000,,,,,,,,,
PR-3,Gamma,property,Japan,factset,REITs,Real Estate,2023,JPY,,4000000,,,,,,,,
DB-4,Delta,debt,Canada,rbics,Banks,Financials,2022,CAD,3000000,,,,,,,,,
"""
"""Five input rows, four entities, whose results the reference formulas fix exactly."""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMMI_API_KEY", "EMMI_CUSTOMER_ID", "EMMI_END_USER_ID", "EMMI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReferenceServer]:
    """The in-process server ``--reference-server`` uses in this test (kept for inspection).

    ``--reference-latency-ms`` still applies: each call sets the server's faults.
    """
    srv = ReferenceServer()

    def make(latency_ms: float = 0.0) -> ReferenceServer:
        srv.faults = FaultConfig(latency_ms=latency_ms) if latency_ms > 0 else None
        return srv

    monkeypatch.setattr(_connect, "make_reference_server", make)
    return srv


def requests_served(server: ReferenceServer) -> int:
    """Data requests the server answered successfully (its usage counter)."""
    return sum(counter[0] for counter in server.state._usage.values())


@pytest.fixture
def known_csv(tmp_path: Path) -> Path:
    path = tmp_path / "known.csv"
    path.write_text(HEADER + "\n" + KNOWN, encoding="utf-8")
    return path


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    """60 generated entities (no deliberate bad rows: those come later in the sequence)."""
    path = tmp_path / "small.csv"
    write_portfolio(path, entities=60, seed=3)
    return path


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))
