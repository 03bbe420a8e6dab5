"""emmi_async.dask on a LocalCluster of 2 worker processes against a loopback server."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import dask  # noqa: E402
import polars as pl  # noqa: E402

import emmi_async.dask as emmi_dask  # noqa: E402
from emmi_async import Emmi  # noqa: E402
from emmi_async.testing import ReferenceServer  # noqa: E402
from emmi_async.testing._runner import LoopbackRunner  # noqa: E402
from tests.dask._recorder import Recorder  # noqa: E402
from tests.frames._support import portfolio_rows  # noqa: E402

pytestmark = pytest.mark.timeout(120)

ENDPOINT = "emissions-estimates"


class Served:
    def __init__(self) -> None:
        self.server = ReferenceServer(rate_limit=None, end_user_rate_limit=None)
        self.recorder = Recorder(self.server.app)
        self.runner = LoopbackRunner(self.recorder, 0)
        self.runner.start()
        self.key = self.server.keys.add("single")
        self.base_url = f"http://127.0.0.1:{self.runner.port}/api/v1"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    served = Served()
    yield served
    served.runner.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # Leases of a killed worker come back after this (the default is 30 s).
    with (
        dask.config.set(
            {
                "distributed.scheduler.locks.lease-timeout": "3s",
                "distributed.scheduler.locks.lease-validation-interval": "1s",
            }
        ),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


@pytest.fixture(autouse=True)
def fresh(served: Served) -> None:
    served.recorder.reset()
    served.server.set_faults()


def portfolio(count: int, partitions: int, years: int = 2) -> tuple[Any, Any]:
    rows = pd.DataFrame(portfolio_rows(count, years=years))
    return rows, dd.from_pandas(rows, npartitions=partitions, sort=False)


def run(served: Served, frame: Any, **options: Any) -> Any:
    options.setdefault("max_concurrency", 4)
    return emmi_dask.batch(frame, ENDPOINT, api_key=served.key, base_url=served.base_url, **options)


def one_status_per_entity(result: Any, rows: Any) -> None:
    assert len(result) == len(rows)  # one row per input entity-year, no duplicate
    assert set(result["identifier"]) == set(rows["identifier"])
    pairs = result[["identifier", "year"]].astype(str).agg("/".join, axis=1)
    assert pairs.is_unique
    assert (result.groupby("identifier")["status"].nunique() == 1).all()


def test_same_values_and_statuses_as_single_process_run_frame(served: Served, client: Any) -> None:
    rows, frame = portfolio(20_000, partitions=8, years=1)
    result = run(served, frame, max_concurrency=8).compute()
    with Emmi(api_key=served.key, base_url=served.base_url) as emmi:
        expected = emmi.batch(emmi.emissions.estimate).run_frame(pl.from_pandas(rows))
    got = pl.from_pandas(result)
    assert got.columns == expected.columns
    assert got.sort("identifier", "year").equals(expected.sort("identifier", "year"))
    assert set(got["status"]) == {"ok"}
    # The declared meta is what the partitions hold.
    assert list(result.dtypes) == list(emmi_dask.result_meta(ENDPOINT).dtypes)


def test_the_budget_holds_across_the_cluster(served: Served, client: Any) -> None:
    served.server.set_faults(latency_ms=15)
    rows, frame = portfolio(3000, partitions=4)
    result = run(served, frame, max_concurrency=4, chunk_size=20).compute()
    one_status_per_entity(result, rows)
    assert 3 <= served.recorder.peak <= 4
    # Without the cluster budget, each worker has its own 4: the server sees more.
    served.recorder.reset()
    run(served, frame, max_concurrency=4, chunk_size=20, cluster_budget=False).compute()
    assert served.recorder.peak > 4


def test_a_429_burst_pauses_every_worker_once(served: Served, client: Any) -> None:
    served.server.set_faults(latency_ms=10)
    recorder = served.recorder
    recorder.burst_after = 60
    recorder.burst_count = 1  # one worker sees the 429; the other learns of it
    _, frame = portfolio(4000, partitions=4)
    with distributed.get_task_stream(client) as stream:
        result = run(served, frame, max_concurrency=8, chunk_size=10).compute()
    assert set(result["status"]) == {"ok"}  # the throttled chunks were sent again
    started = recorder.burst_started
    assert started is not None
    assert recorder.throttled
    # Both workers were running a partition when the burst came ...
    busy = {
        task["worker"]
        for task in stream.data
        if task["key"][0].startswith("emmi-")
        for part in task["startstops"]
        if part["action"] == "compute" and part["start"] < started < part["stop"]
    }
    assert len(busy) == 2
    # ... and neither sent anything inside the pause (Retry-After: 1 s), once it was
    # known across the cluster (the first 0.3 s: requests already on their way, and the
    # time the pause takes to travel through the scheduler).
    inside = [t for t in recorder.arrivals if started + 0.3 < t < started + 0.9]
    assert inside == []
    assert [t for t in recorder.arrivals if t > started + 1.0]  # and it went on after
    print(f"429s: {len(recorder.throttled)}, requests inside the pause: {len(inside)}")


def test_bad_rows_fail_alone(served: Served, client: Any) -> None:
    rows, frame = portfolio(400, partitions=2, years=2)
    rows.loc[3, "revenue"] = -5.0  # E1
    rows.loc[450, "asset_type"] = "bonds"  # E225, its first row
    frame = dd.from_pandas(rows, npartitions=2, sort=False)
    result = run(served, frame).compute()
    statuses = result.groupby("identifier")["status"].first()
    assert statuses["E1"] == "invalid"
    assert statuses["E225"] == "invalid"
    assert (statuses.drop(["E1", "E225"]) == "ok").all()
    one_status_per_entity(result, rows)


def test_an_entity_straddling_partitions_is_an_error_naming_it(served: Served) -> None:
    rows = pd.DataFrame(portfolio_rows(10, years=2))  # E0, E0, E1, E1, E2, E2, ...
    # Rows 0-4 and 5-19: E2's two years fall in two partitions.
    frame = dd.from_pandas(rows, npartitions=1, sort=True).repartition(divisions=[0, 5, 19])
    with pytest.raises(emmi_dask.StraddlingEntityError, match="'E2'"):
        run(served, frame)
    arranged = run(served, frame, partitioning="arrange").compute()
    one_status_per_entity(arranged, rows)
    assert set(arranged["status"]) == {"ok"}


def test_the_key_is_not_in_the_graph(served: Served, client: Any) -> None:
    _, frame = portfolio(10, partitions=2)
    result = run(served, frame)
    graph = dict(result.__dask_graph__())
    assert served.key not in repr(graph)
    assert served.key not in repr(result.__dask_keys__())
    assert served.key not in str(result.dask)
    assert "Secret('***')" in repr(emmi_dask.Secret(served.key))


def _client_ids() -> tuple[int, list[int]]:
    from emmi_async.dask import _worker

    return _worker.clients_made, [id(client) for client in _worker._CLIENTS.values()]


def test_one_client_per_worker_reused_across_partitions_and_runs(
    served: Served, client: Any
) -> None:
    _, frame = portfolio(200, partitions=4)
    run(served, frame).compute()
    first = client.run(_client_ids)
    run(served, frame).compute()
    # No client made or closed by the second run (one per worker and settings: earlier
    # tests with other settings left theirs).
    assert client.run(_client_ids) == first
    assert any(ids for _, ids in first.values())


def test_a_worker_killed_mid_run_still_gives_one_status_per_entity(
    served: Served, client: Any
) -> None:
    served.server.set_faults(latency_ms=20)
    rows, frame = portfolio(3000, partitions=6)
    pids = client.run(os.getpid)
    victim = next(iter(pids.values()))

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 30
        while len(served.recorder.arrivals) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(victim, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    result = run(served, frame, max_concurrency=8, chunk_size=25).compute()
    killer.join()
    one_status_per_entity(result, rows)
    assert set(result["status"]) == {"ok"}
    assert victim not in client.run(os.getpid).values()  # it did die
