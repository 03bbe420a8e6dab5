"""run_frame and stream_frames against the reference server: the same values as the object
path, whatever the frame library, the operation or the order of the rows."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from emmi_async import Emmi
from emmi_async._exceptions import AuthenticationError, PermissionDeniedError
from emmi_async.cli._operations import OPERATIONS
from emmi_async.testing import ReferenceServer

from ._support import entities_of, frame, object_path_rows, portfolio_rows

pytestmark = pytest.mark.anyio

OPTIONS: dict[str, dict[str, Any]] = {
    "emissions-estimates": {},
    "climate-risk": {"scenarios": ["ipcc_net_zero", "ngfs_net_zero"]},
    "temperature-alignment": {},
    "company-ranking": {},
    "emissions-projections": {"method": "monte_carlo", "projection_years": [2030, 2035]},
}


def _compare(table: pl.DataFrame, expected: list[dict[str, Any]], endpoint: str) -> None:
    columns = ["identifier", *[name for name, _ in OPERATIONS[endpoint].all_columns[1:-2]]]
    got = table.select(columns).to_dicts()
    want = [{name: row.get(name) for name in columns} for row in expected]
    assert got == want


@pytest.mark.parametrize("endpoint", sorted(OPTIONS))
async def test_every_operation_gives_the_object_paths_values(endpoint: str) -> None:
    asset = None if endpoint in ("emissions-estimates", "climate-risk") else "equity"
    rows = portfolio_rows(12, asset=asset)
    options = OPTIONS[endpoint]
    async with ReferenceServer() as server, server.client() as client:
        method = OPERATIONS[endpoint].method(client)
        table = await client.batch(method, chunk_size=5).run_frame(frame(rows), **options)
        expected = await object_path_rows(client, endpoint, entities_of(rows, endpoint, options))
    assert table["status"].unique().to_list() == ["ok"]
    assert table["error"].null_count() == table.height
    _compare(table, expected, endpoint)


@pytest.mark.parametrize("library", ["polars", "pandas", "pyarrow"])
async def test_each_frame_library_comes_back_as_itself(library: str) -> None:
    rows = portfolio_rows(20)
    native: Any = {
        "polars": frame(rows),
        "pandas": frame(rows).to_pandas(),
        "pyarrow": frame(rows).to_arrow(),
    }[library]
    async with ReferenceServer() as server, server.client() as client:
        table = await client.batch(client.emissions.estimate).run_frame(native)
        expected = await object_path_rows(
            client, "emissions-estimates", entities_of(rows, "emissions-estimates", {})
        )
    back = {"polars": pl.DataFrame, "pandas": pd.DataFrame, "pyarrow": pa.Table}[library]
    assert isinstance(table, back)
    as_polars = (
        table
        if isinstance(table, pl.DataFrame)
        else pl.DataFrame(pa.Table.from_pandas(table) if isinstance(table, pd.DataFrame) else table)
    )
    assert as_polars.schema["scope1"] == pl.Float64
    assert as_polars.schema["estimated"] == pl.List(pl.String)
    assert as_polars.schema["data_quality_score"] == pl.Int64
    _compare(as_polars, expected, "emissions-estimates")


async def test_rows_of_one_identifier_are_one_entity_wherever_they_stand() -> None:
    rows = portfolio_rows(30)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=7)
        ordered = await runner.run_frame(frame(rows))
        scattered = await runner.run_frame(frame(shuffled))
        stats = runner.stats
    assert stats is not None
    assert stats.entities == 30
    key = ["identifier", "year"]
    assert scattered.sort(key).equals(ordered.sort(key))
    # Entities come out in the order of their first row.
    first_seen = list(dict.fromkeys(row["identifier"] for row in shuffled))
    assert list(dict.fromkeys(scattered["identifier"].to_list())) == first_seen


async def test_bad_rows_fail_alone_with_the_object_paths_messages() -> None:
    rows = portfolio_rows(10)
    rows[4]["revenue"] = -5.0  # E1, its second row (frame row 4)
    rows[9]["year"] = 2150  # E3, its first row
    rows[12]["asset_type"] = "bonds"  # E4, its first row (where entity fields are)
    async with ReferenceServer() as server, server.client() as client:
        table = await client.batch(client.emissions.estimate).run_frame(frame(rows))
    by_entity = {row["identifier"]: row for row in table.to_dicts()}
    assert by_entity["E1"]["status"] == "invalid"
    assert by_entity["E1"]["error"] == (
        "row 4: data[1].financials.revenue: must not be negative, got -5.0"
    )
    assert by_entity["E3"]["error"] == (
        "row 9: data[0].year: must be between 1990 and 2100, got 2150"
    )
    assert "entity_info.asset_type: expected one of" in by_entity["E4"]["error"]
    assert by_entity["E4"]["error"].startswith("row 12: ")
    failed = table.filter(pl.col("status") != "ok")
    assert sorted(set(failed["identifier"])) == ["E1", "E3", "E4"]
    # A failed entity keeps one row per input year, results null.
    assert failed.filter(pl.col("identifier") == "E1")["year"].to_list() == [2020, 2021, 2022]
    assert failed["scope1"].null_count() == failed.height
    assert table.filter(pl.col("status") == "ok")["identifier"].n_unique() == 7


async def test_a_streamed_identifier_that_comes_back_is_reported_not_sent_twice() -> None:
    rows = portfolio_rows(9)
    first, second = frame(rows[:15]), frame(rows[15:] + rows[:3])  # E0 again in frame 2
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=4)
        pieces = [piece async for piece in runner.stream_frames([first, second])]
        stats = runner.stats
    table = pl.concat(pieces)
    statuses = table.group_by("identifier", "status").len()
    e0 = statuses.filter(pl.col("identifier") == "E0")
    assert sorted(e0["status"].to_list()) == ["invalid", "ok"]
    again = table.filter((pl.col("identifier") == "E0") & (pl.col("status") == "invalid"))
    assert "came in an earlier frame too" in again["error"][0]
    assert stats is not None
    assert stats.entities == 10
    assert stats.succeeded == 9


async def test_stream_frames_takes_record_batches_and_keeps_input_order_when_asked() -> None:
    rows = portfolio_rows(40)
    batches = frame(rows).to_arrow().to_batches(max_chunksize=25)
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=3, max_concurrency=8)
        async with runner.stream_frames(batches, ordered=True) as stream:
            pieces = [piece async for piece in stream]
    assert all(isinstance(piece, pa.Table) for piece in pieces)
    table = pl.DataFrame(pa.concat_tables(pieces))
    assert list(dict.fromkeys(table["identifier"].to_list())) == [f"E{i}" for i in range(40)]


async def test_a_refused_key_ends_the_run_at_once() -> None:
    rows = portfolio_rows(300, years=1)
    unknown = "sk_test_single_unknownkey1_abcd"
    async with ReferenceServer() as server, server.client(api_key=unknown) as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10, max_concurrency=4)
        with pytest.raises(AuthenticationError):
            await runner.run_frame(frame(rows))
        stats = runner.stats
    assert stats is not None
    assert stats.requests <= 8  # not one per chunk


async def test_a_forbidden_customer_ends_the_run_at_once() -> None:
    rows = portfolio_rows(300, years=1)
    stranger = "00000000-0000-0000-0000-000000000007"
    server = ReferenceServer()
    async with server, server.client("account", customer_id=stranger) as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10, max_concurrency=4)
        with pytest.raises(PermissionDeniedError):
            await runner.run_frame(frame(rows))
        stats = runner.stats
    assert stats is not None
    assert stats.requests <= 8  # not one per chunk


async def test_options_are_checked_before_anything_is_sent() -> None:
    rows = portfolio_rows(3)
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.project)
        with pytest.raises(ValueError, match="method"):
            await runner.run_frame(frame(rows))
        with pytest.raises(ValueError, match="projection_years"):
            await runner.run_frame(frame(rows), method="monte_carlo", projection_years=[])
        assert runner.stats is None or runner.stats.requests == 0


async def test_hazard_lookups_from_a_table_of_locations() -> None:
    locations = pl.DataFrame(
        {"identifier": ["a", "b", "c"], "latitude": [51.5, 48.9, 95.0], "longitude": [0.1, 2.3, 0]}
    )
    async with ReferenceServer() as server, server.client() as client:
        table = await client.batch(client.hazards.get).run_frame(locations)
        expected = await client.hazards.get(latitude=51.5, longitude=0.1)
    ok = table.filter(pl.col("identifier") == "a")
    assert ok.height == len(expected.hazards)
    assert ok["intensity"].to_list() == [hazard.intensity for hazard in expected.hazards]
    bad = table.filter(pl.col("identifier") == "c")
    assert bad["status"].to_list() == ["invalid"]
    assert set(table["identifier"]) == {"a", "b", "c"}


def test_the_blocking_facade_runs_tables_without_await() -> None:
    rows = portfolio_rows(6)
    with (
        ReferenceServer(port=0) as server,
        Emmi(api_key=server.keys.single, base_url=server.base_url) as client,
    ):
        runner = client.batch(client.emissions.estimate, chunk_size=2)
        table = runner.run_frame(frame(rows))
        pieces = list(runner.stream_frames([frame(rows[:9]), frame(rows[9:])]))
    assert table["status"].to_list() == ["ok"] * 18
    assert sum(piece.height for piece in pieces) == 18


async def test_an_entity_across_a_batch_boundary_stays_one_entity() -> None:
    rows = portfolio_rows(20)  # 3 rows each: batches of 7 rows cut through entities
    rows[31]["revenue"] = -1.0  # E10's second row: row 31 of the stream, row 3 of batch 4
    batches = frame(rows).to_arrow().to_batches(max_chunksize=7)
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=4)
        async with runner.stream_frames(batches) as stream:
            table = pl.concat([pl.DataFrame(piece) async for piece in stream])
        stats = runner.stats
    assert stats is not None
    assert stats.entities == 20
    assert table.filter(pl.col("status") == "ok")["identifier"].n_unique() == 19
    bad = table.filter(pl.col("status") != "ok")
    assert set(bad["identifier"]) == {"E10"}
    assert bad["error"][0] == "row 31: data[1].financials.revenue: must not be negative, got -1.0"


async def test_a_row_without_identifier_before_the_last_entitys_row_keeps_it_whole() -> None:
    rows = portfolio_rows(3, years=2)
    rows[4]["identifier"] = None  # E2's first row: E2's other row ends the frame
    async with ReferenceServer() as server, server.client() as client:
        table = await client.batch(client.emissions.estimate).run_frame(frame(rows))
    by_identifier = {row["identifier"]: row["status"] for row in table.to_dicts()}
    assert by_identifier["E2"] in ("ok", "rejected")  # sent once, not reported as repeated
    assert table.filter(pl.col("identifier").is_null())["status"].to_list() == ["invalid"]


async def test_frames_fill_whole_chunks_across_frame_boundaries() -> None:
    # 3 + 11 + 6 entities with chunks of 4: a frame's last partial chunk is completed by
    # the next frame's entities, so 20 entities go out in 5 full requests.
    rows = portfolio_rows(20)
    cuts = [0, 9, 42, 60]  # 3 rows per entity
    frames = [frame(rows[start:end]) for start, end in itertools.pairwise(cuts)]
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=4)
        pieces = [piece async for piece in runner.stream_frames(frames)]
        stats = runner.stats
    assert stats is not None
    assert (stats.entities, stats.succeeded, stats.requests) == (20, 20, 5)
    table = pl.concat(pieces)
    assert table["identifier"].unique().len() == 20
    assert table.height == 60
    assert set(table["status"].to_list()) == {"ok"}
