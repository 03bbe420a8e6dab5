"""Bad entities fail alone: the SDK's own validation, the server's 422, and 413 bisection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async import EntityValidationError
from emmi_async._exceptions import BatchAbortedError, PermissionDeniedError, ValidationError
from emmi_async.testing import ReferenceServer

from ._support import (
    CLIMATE_RISK,
    ESTIMATES,
    client_bad,
    entities_used,
    entity,
    indexes_once,
    matches,
    risk_entity,
    server_bad,
)

pytestmark = pytest.mark.anyio

FEW = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def risk_ok(outcome: Any) -> bool:
    result = outcome.result
    return (
        result is not None
        and result.entity_info.name == f"Co {outcome.index}"
        and [s.scenario for s in result.data[0].scenarios] == ["ipcc_net_zero"]
    )


async def test_client_side_bad_entities_fail_alone_and_are_never_sent() -> None:
    bad = {0, 17, 18, 99}
    server = ReferenceServer()
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate)
        report = await runner.run(client_bad(i) if i in bad else entity(i) for i in range(100))
    indexes_once(report.outcomes, 100)
    failed = {outcome.index for outcome in report.failures}
    assert failed == bad
    for index in bad:
        outcome = report.outcomes[index]
        assert isinstance(outcome.error, EntityValidationError)
        assert outcome.identifier == f"E{index}"
        assert outcome.attempts == 0
        assert {(p.index, p.identifier) for p in outcome.error.problems} == {(index, f"E{index}")}
        assert any(p.field.startswith("data[0].year") for p in outcome.error.problems)
    assert all(matches(o) for o in report.outcomes if o.index not in bad)
    # One request of 96 entities: the bad ones never reached the server.
    assert report.stats.requests == 1
    assert entities_used(server, server.keys.single) == 100 - len(bad)


async def test_server_refusal_is_split_down_to_the_refused_entity() -> None:
    """Scenario ids are open strings in the SDK; only the server knows this one is unknown."""
    server = ReferenceServer()
    async with server, server.client() as client:
        runner = client.batch(client.climate_risk.assess)
        report = await runner.run(server_bad(i) if i == 42 else risk_entity(i) for i in range(100))
    indexes_once(report.outcomes, 100)
    (failure,) = report.failures
    assert failure.index == 42
    assert failure.identifier == "E42"
    assert isinstance(failure.error, ValidationError)
    assert failure.error.status_code == 422
    # The details are the entity's own, renumbered from the chunk to the input index.
    assert [(d["index"], d["field"]) for d in failure.error.details] == [(42, "scenarios[0]")]
    assert all(risk_ok(o) for o in report.outcomes if o.index != 42)
    assert report.stats.splits == 1
    assert report.stats.requests == 2  # the refused chunk, then the other 99
    assert entities_used(server, server.keys.single, CLIMATE_RISK) == 99


@FEW
@given(
    positions=st.dictionaries(st.integers(0, 119), st.sampled_from(["client", "server"])),
    chunk_size=st.integers(1, 100),
    max_concurrency=st.integers(1, 8),
)
async def test_bad_entities_anywhere(
    positions: dict[int, str], chunk_size: int, max_concurrency: int
) -> None:
    total = 120
    make = {
        None: risk_entity,
        "client": lambda i: {**client_bad(i), "scenarios": ["ipcc_net_zero"]},
        "server": server_bad,
    }
    inputs = [make[positions.get(i)](i) for i in range(total)]
    server = ReferenceServer()
    async with server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=chunk_size, max_concurrency=max_concurrency
        )
        report = await runner.run(inputs)
    indexes_once(report.outcomes, total)
    assert [o.index for o in report.outcomes] == list(range(total))
    for outcome in report.outcomes:
        kind = positions.get(outcome.index)
        if kind is None:
            assert risk_ok(outcome), outcome.error
        elif kind == "client":
            assert isinstance(outcome.error, EntityValidationError)
            assert outcome.attempts == 0
        else:
            assert isinstance(outcome.error, ValidationError)
            assert {d["index"] for d in outcome.error.details} == {outcome.index}
    good = total - len(positions)
    assert report.stats.succeeded == good
    assert report.stats.failed == len(positions)
    assert entities_used(server, server.keys.single, CLIMATE_RISK) == good


async def test_payload_too_large_is_bisected() -> None:
    """A server that takes at most 10 entities per request, a runner that sends 100."""
    server = ReferenceServer(max_entities=10)
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=100)
        report = await runner.run(entity(i) for i in range(250))
    indexes_once(report.outcomes, 250)
    assert report.failures == []
    assert all(matches(o) for o in report.outcomes)
    assert report.stats.splits > 0
    # Halving 100 -> 50 -> 25 -> 12/13 -> 6/7: every entity was computed exactly once.
    assert entities_used(server, server.keys.single, ESTIMATES) == 250


async def test_payload_too_large_and_a_refused_entity() -> None:
    server = ReferenceServer(max_entities=10)
    async with server, server.client() as client:
        runner = client.batch(client.climate_risk.assess, chunk_size=64)
        report = await runner.run(server_bad(i) if i == 5 else risk_entity(i) for i in range(64))
    indexes_once(report.outcomes, 64)
    assert [o.index for o in report.failures] == [5]
    assert isinstance(report.failures[0].error, ValidationError)
    assert all(risk_ok(o) for o in report.outcomes if o.index != 5)


async def test_a_forbidden_customer_aborts_and_is_not_journaled(tmp_path: Path) -> None:
    """403 is about the credentials, as 401 is: the run stops sending, and nothing is
    journaled as refused, so a rerun with the right customer sends every entity."""
    journal = tmp_path / "run.jsonl"
    server = ReferenceServer()
    stranger = "00000000-0000-0000-0000-000000000007"
    async with server:
        async with server.client("account", customer_id=stranger) as client:
            runner = client.batch(
                client.emissions.estimate, chunk_size=5, max_concurrency=2, journal=journal
            )
            report = await runner.run(entity(i) for i in range(100))
        assert report.stats.requests <= 4  # not one per chunk
        assert all(not outcome.ok for outcome in report.outcomes)
        assert any(isinstance(o.error, PermissionDeniedError) for o in report.outcomes)
        assert any(isinstance(o.error, BatchAbortedError) for o in report.outcomes)
        async with server.client("account") as client:
            runner = client.batch(client.emissions.estimate, chunk_size=5, journal=journal)
            again = await runner.run(entity(i) for i in range(100))
    assert again.stats.resumed == 0
    assert all(outcome.ok for outcome in again.outcomes)
