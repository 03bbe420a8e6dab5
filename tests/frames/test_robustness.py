"""The table path keeps the runner's promises: faults, resume, lenient answers, and the
object path's messages for every random defect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async import AsyncEmmi, SingleTenantAuth
from emmi_async._exceptions import EntityValidationError
from emmi_async.models import EMISSIONS_ESTIMATES
from emmi_async.testing import FaultConfig, ReferenceServer
from tests.batch._support import journal_entities

from ._support import entities_of, frame, portfolio_rows

FAULTS = FaultConfig(
    status_rates={500: 0.03, 503: 0.02, 429: 0.02},
    drop_rate=0.01,
    truncate_rate=0.01,
    seed=11,
)


@pytest.mark.anyio
async def test_faults_on_ten_thousand_entities_give_one_status_each() -> None:
    rows = portfolio_rows(10_000, years=1)
    async with ReferenceServer(faults=FAULTS) as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, max_attempts=8, retry_budget=1.0)
        table = await runner.run_frame(frame(rows))
        stats = runner.stats
    assert stats is not None
    assert stats.retries > 0  # the faults were met
    per_entity = table.group_by("identifier").agg(pl.len(), pl.col("status").n_unique())
    assert per_entity.height == 10_000
    assert per_entity["len"].to_list() == [1] * 10_000  # one row each: none answered twice
    assert set(table["status"]) <= {"ok", "error"}
    assert stats.succeeded + stats.failed == 10_000
    assert table.filter(pl.col("status") == "ok").height == stats.succeeded
    ok = table.filter(pl.col("status") == "ok")
    # Every answer belongs to its entity: scope1 was reported as 10 + index.
    index = ok["identifier"].str.slice(1).cast(pl.Int64)
    assert (ok["scope1"] == index + 10.0).all()


@pytest.mark.anyio
async def test_resume_after_an_interrupted_run_gives_the_same_table(tmp_path: Path) -> None:
    rows = portfolio_rows(3000, years=1)
    journal = tmp_path / "run.journal.jsonl"
    async with ReferenceServer(port=0) as server, server.client() as client:
        whole = await client.batch(client.emissions.estimate, chunk_size=10).run_frame(frame(rows))
        runner = client.batch(client.emissions.estimate, chunk_size=10, journal=journal)
        async with runner.stream_frames([frame(rows)]) as stream:
            seen = 0
            async for piece in stream:
                seen += piece.height
                if seen >= 500:
                    break
        recorded = journal_entities(journal)[0]
        assert 0 < recorded < 3000
        resumed_runner = client.batch(client.emissions.estimate, chunk_size=10, journal=journal)
        resumed = await resumed_runner.run_frame(frame(rows))
        stats = resumed_runner.stats
    assert stats is not None
    assert stats.resumed == recorded
    assert resumed.equals(whole)


def _answer(extra: bool) -> httpx.MockTransport:
    """A server that answers estimates with an unknown field and without optional ones."""

    def handler(request: httpx.Request) -> httpx.Response:
        entities = orjson.loads(request.content)
        results = []
        for entity in entities:
            item: dict[str, Any] = {"year": entity["data"][0]["year"], "emissions": {"scope1": 1}}
            if entity["entity_info"]["identifier"] == "E1":
                item["estimated"] = None  # a null where the models have a default
            if extra:
                item["model_version"] = "v9"
                item["emissions"]["scope9"] = 3.5
            results.append({"entity_info": {}, "data": [item], "note": "x"})
        return httpx.Response(200, json={"results": results}, headers={"x-request-id": "r1"})

    return httpx.MockTransport(handler)


@pytest.mark.anyio
@pytest.mark.parametrize("keep", [False, True])
async def test_unknown_and_missing_optional_fields(keep: bool) -> None:
    auth = SingleTenantAuth("sk_test_single_abcdefgh12_abcd")
    rows = portfolio_rows(3, years=1)
    async with AsyncEmmi(auth=auth, base_url="http://emmi.test", transport=_answer(True)) as c:
        table = await c.batch(c.emissions.estimate).run_frame(frame(rows), extra=keep)
    assert table["status"].to_list() == ["ok"] * 3
    assert table["scope1"].to_list() == [1.0, 1.0, 1.0]  # an int where a float is expected
    assert table["scope2"].null_count() == 3
    assert table["estimated"].to_list() == [[], [], []]  # absent: none, as the models read it
    assert "scope9" not in table.columns
    if keep:
        assert orjson.loads(table["extra"][0]) == {"model_version": "v9"}
    else:
        assert "extra" not in table.columns


def _hazard_answer(request: httpx.Request) -> httpx.Response:
    """Hazards with unknown fields at every level, an unknown hazard and scenario, and
    integers where floats are expected."""
    where = {name: float(request.url.params[name]) for name in ("latitude", "longitude")}
    hazards = [
        {"hazard": "volcano", "scenario": "ssp5", "year": 2050, "intensity": 2, "probability": 0},
        {"hazard": "wildfire", "scenario": "baseline", "year": 2030, "intensity": 0.5},
    ]
    hazards[0]["source"] = "model-7"
    body = {"location": {**where, "elevation": 3}, "hazards": hazards, "meta": {"v": 1}}
    return httpx.Response(200, json=body, headers={"x-request-id": "r1"})


@pytest.mark.anyio
@pytest.mark.parametrize("keep", [False, True])
async def test_hazard_rows_keep_unknown_fields_when_asked(keep: bool) -> None:
    auth = SingleTenantAuth("sk_test_single_abcdefgh12_abcd")
    locations = pl.DataFrame(
        {"identifier": ["a", "b"], "latitude": [1.0, 2.0], "longitude": [3.0, 4.0]}
    )
    transport = httpx.MockTransport(_hazard_answer)
    async with AsyncEmmi(auth=auth, base_url="http://emmi.test", transport=transport) as c:
        table = await c.batch(c.hazards.get).run_frame(locations, extra=keep)
    assert table["identifier"].to_list() == ["a", "a", "b", "b"]
    assert table["hazard"].to_list() == ["volcano", "wildfire"] * 2
    assert table["intensity"].to_list() == [2.0, 0.5] * 2
    assert table["probability"].to_list() == [0.0, None] * 2
    assert table["status"].to_list() == ["ok"] * 4
    if keep:
        assert table["extra"].to_list() == ['{"source":"model-7"}', None] * 2
    else:
        assert "extra" not in table.columns


# -- the same invalid entities and messages as the object path, for random defects ----------

DEFECTS: list[tuple[str, Any]] = [
    ("revenue", -1.0),
    ("revenue", float("nan")),
    ("total_assets", float("inf")),
    ("ebitda", float("-inf")),
    ("scope1", -3.0),
    ("scope3", 1.0),  # not accepted for infrastructure / property
    ("underlying_scope2", 4.0),  # not accepted for equity
    ("year", 1900),
    ("year", 2020),  # a duplicate year
    ("currency", "usd"),
    ("currency", "EURO"),
    ("asset_type", "bonds"),
    ("identifier", None),
]


@st.composite
def defective_portfolios(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = portfolio_rows(draw(st.integers(1, 8)), years=draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.sampled_from(rows))
        column, value = draw(st.sampled_from(DEFECTS))
        row[column] = value
    return rows


def _object_path_messages(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The object path's problems of each entity that has an identifier."""
    found: dict[str, list[str]] = {}
    for index, entity in enumerate(entities_of(rows, "emissions-estimates", {})):
        identifier = entity["entity_info"]["identifier"]
        if identifier is None:
            continue
        try:
            prepared = EMISSIONS_ESTIMATES.coerce(entity, index)
            problems = EMISSIONS_ESTIMATES.problems(prepared, index)
        except EntityValidationError as error:
            problems = list(error.problems)
        found[identifier] = [f"{problem.field}: {problem.message}" for problem in problems]
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=defective_portfolios())
def test_column_checks_agree_with_the_object_path(rows: list[dict[str, Any]]) -> None:
    expected = _object_path_messages(rows)

    async def run() -> pl.DataFrame:
        async with ReferenceServer() as server, server.client() as client:
            result: pl.DataFrame = await client.batch(client.emissions.estimate).run_frame(
                frame(rows)
            )
            return result

    table = anyio.run(run)
    statuses = {
        row["identifier"]: (row["status"], row["error"])
        for row in table.filter(pl.col("identifier").is_not_null()).to_dicts()
    }
    for identifier, problems in expected.items():
        status, error = statuses[identifier]
        if problems:
            assert status == "invalid", (identifier, problems)
            for problem in problems:
                assert problem in error
        else:  # sent: the server may still refuse what the SDK lets through
            assert status in ("ok", "rejected"), (identifier, error)
    missing = table.filter(pl.col("identifier").is_null())
    assert set(missing["status"]) <= {"invalid"}
