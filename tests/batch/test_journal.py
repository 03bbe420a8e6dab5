"""An interrupted run resumes from its journal and ends as an uninterrupted run would."""

from __future__ import annotations

import collections
import json
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async.batch import BatchEvent, JournalMismatchError
from emmi_async.testing import FaultConfig, ReferenceServer

from ._support import (
    CLIMATE_RISK,
    client_bad,
    entities_used,
    journal_entities,
    risk_entity,
    server_bad,
    summary,
)

pytestmark = pytest.mark.anyio

TOTAL = 300


def refused_by_sdk(index: int) -> bool:
    return index % 53 == 7


def refused_by_server(index: int) -> bool:
    return index % 41 == 3 and not refused_by_sdk(index)


def portfolio(total: int = TOTAL) -> list[dict[str, Any]]:
    """Climate-risk entities, a few refused by the SDK and a few by the server (422)."""
    inputs = []
    for index in range(total):
        if refused_by_sdk(index):
            inputs.append({**client_bad(index), "scenarios": ["ipcc_net_zero"]})
        elif refused_by_server(index):
            inputs.append(server_bad(index))
        else:
            inputs.append(risk_entity(index))
    return inputs


JOURNALED = sum(1 for i in range(TOTAL) if not refused_by_sdk(i))
"""Entities a complete run journals: results and the server's refusals."""


async def uninterrupted(inputs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    server = ReferenceServer(seed=1)
    async with server, server.client() as client:
        report = await client.batch(client.climate_risk.assess, chunk_size=10).run(inputs)
    return [summary(outcome) for outcome in report.outcomes]


async def resume_and_check(
    server: ReferenceServer,
    journal: Path,
    inputs: list[dict[str, Any]],
    expected: list[tuple[Any, ...]],
    **options: Any,
) -> int:
    """Resume on a fault-free ``server``; check it resends only what is left. Its resumed."""
    key = server.keys.single
    journaled, refusals = journal_entities(journal)
    server.faults = None
    before = entities_used(server, key, CLIMATE_RISK)
    events: collections.Counter[str] = collections.Counter()

    def on_progress(event: BatchEvent) -> None:
        events[event.kind] += event.count

    async with server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, journal=journal, on_progress=on_progress, **options
        )
        report = await runner.run(inputs)
    resent = entities_used(server, key, CLIMATE_RISK) - before
    assert [summary(outcome) for outcome in report.outcomes] == expected
    stats = report.stats
    assert stats.resumed == journaled
    # Outcomes read back from the journal are reported as progress too.
    assert (events["done"], events["failed"]) == (stats.succeeded, stats.failed)
    # Successes computed now = successes in total - successes read back from the journal.
    assert resent == stats.succeeded - (journaled - refusals)
    assert journal_entities(journal)[0] == JOURNALED
    return stats.resumed


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stop_at=st.floats(0.0, 0.5), chunk_size=st.integers(1, 25), ordered=st.booleans())
async def test_cancel_anywhere_then_resume(
    tmp_path_factory: pytest.TempPathFactory, stop_at: float, chunk_size: int, ordered: bool
) -> None:
    inputs = portfolio()
    expected = await uninterrupted(inputs)
    journal = tmp_path_factory.mktemp("journal") / "run.jsonl"
    faults = FaultConfig(latency_ms=10, latency_jitter_ms=10, status_rates={500: 0.05}, seed=2)
    server = ReferenceServer(faults=faults, seed=1)
    async with server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=chunk_size, max_concurrency=4, journal=journal
        )
        with anyio.move_on_after(stop_at):
            async with runner.stream(inputs, ordered=ordered) as stream:
                async for _ in stream:
                    pass
    await resume_and_check(server, journal, inputs, expected, chunk_size=chunk_size)


async def test_interrupted_mid_run_then_resumed(tmp_path: Path) -> None:
    inputs = portfolio()
    expected = await uninterrupted(inputs)
    journal = tmp_path / "run.jsonl"
    server = ReferenceServer(faults=FaultConfig(latency_ms=20), seed=1)
    async with server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=10, max_concurrency=2, journal=journal
        )
        async with runner.stream(inputs) as stream:
            async for outcome in stream:
                if outcome.index >= 100 and outcome.ok:
                    break
    journaled, _ = journal_entities(journal)
    assert 0 < journaled < JOURNALED  # really interrupted mid-run
    assert await resume_and_check(server, journal, inputs, expected) == journaled
    # Complete now: a third run sends nothing at all.
    async with server.client() as client:
        third = await client.batch(client.climate_risk.assess, journal=journal).run(inputs)
    assert [summary(outcome) for outcome in third.outcomes] == expected
    assert third.stats.requests == 0
    assert third.stats.resumed == JOURNALED


async def test_torn_last_line_is_tolerated(tmp_path: Path) -> None:
    inputs = portfolio()
    expected = await uninterrupted(inputs)
    journal = tmp_path / "run.jsonl"
    server = ReferenceServer(seed=1)
    async with server, server.client() as client:
        runner = client.batch(client.climate_risk.assess, chunk_size=10, journal=journal)
        await runner.run(inputs[:150])
    journaled, _ = journal_entities(journal)
    with journal.open("ab") as file:
        file.write(b'{"i": 150, "id": "E150", "fp": "0123')  # killed mid-write
    assert await resume_and_check(server, journal, inputs, expected) == journaled


async def test_journal_of_another_operation_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    server = ReferenceServer()
    async with server, server.client() as client:
        await client.batch(client.climate_risk.assess, journal=journal).run(portfolio(20))
        before = journal.read_bytes()
        runner = client.batch(client.emissions.estimate, journal=journal)
        with pytest.raises(JournalMismatchError, match="climate-risk"):
            await runner.run(portfolio(20))
    assert journal.read_bytes() == before


async def test_changed_input_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    inputs = portfolio(40)
    server = ReferenceServer()
    async with server, server.client() as client:
        await client.batch(client.climate_risk.assess, journal=journal).run(inputs)
        changed = [dict(item) for item in inputs]
        changed[30] = risk_entity(30, "ipcc_two_degree")
        runner = client.batch(client.climate_risk.assess, journal=journal)
        with pytest.raises(JournalMismatchError, match="entity 30"):
            await runner.run(changed)
        # The same entities in another order are another input too.
        with pytest.raises(JournalMismatchError):
            await runner.run(list(reversed(inputs)))


WORKER = textwrap.dedent(
    """
    import json, sys
    import anyio
    from emmi_async import AsyncEmmi, SingleTenantAuth

    base_url, key, journal, inputs = sys.argv[1:]

    async def main():
        with open(inputs) as file:
            entities = json.load(file)
        async with AsyncEmmi(auth=SingleTenantAuth(key), base_url=base_url) as client:
            runner = client.batch(
                client.climate_risk.assess, chunk_size=5, max_concurrency=2, journal=journal
            )
            await runner.run(entities)
        print("finished", flush=True)

    anyio.run(main)
    """
)


async def test_kill_9_then_resume(tmp_path: Path) -> None:
    inputs = portfolio()
    expected = await uninterrupted(inputs)
    journal = tmp_path / "run.jsonl"
    (tmp_path / "inputs.json").write_text(json.dumps(inputs))
    (tmp_path / "worker.py").write_text(WORKER)
    server = ReferenceServer(port=0, faults=FaultConfig(latency_ms=30), seed=1)
    async with server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
        command = [
            sys.executable,
            str(tmp_path / "worker.py"),
            server.base_url,
            server.keys.single,
            str(journal),
            str(tmp_path / "inputs.json"),
        ]
        out, err = tmp_path / "worker.out", tmp_path / "worker.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = await anyio.open_process(command, stdout=stdout, stderr=stderr, env=env)
            try:
                with anyio.fail_after(60):
                    # The journal is another process's file: nothing to wait on but polling.
                    while journal_entities(journal)[0] < 10 and process.returncode is None:  # noqa: ASYNC110
                        await anyio.sleep(0.005)
                os.kill(process.pid, signal.SIGKILL)
            finally:
                if process.returncode is None:
                    process.kill()
                await process.wait()
        assert process.returncode == -signal.SIGKILL, err.read_text()
        assert b"finished" not in out.read_bytes()
        journaled, _ = journal_entities(journal)
        assert 10 <= journaled < JOURNALED
        # Requests of the killed process still inside the server finish there (and count as
        # usage): let them, before counting what the resumed run sends.
        used = -1
        while used != entities_used(server, server.keys.single, CLIMATE_RISK):
            used = entities_used(server, server.keys.single, CLIMATE_RISK)
            await anyio.sleep(0.2)
        resumed = await resume_and_check(server, journal, inputs, expected)
    assert resumed == journaled
