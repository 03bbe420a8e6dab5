"""Chunks per end user (multi tenant) or customer (account key), as the server counts them."""

from __future__ import annotations

import collections
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async.testing import ReferenceServer

from ._support import ESTIMATES, entity, indexes_once, matches, usage

pytestmark = pytest.mark.anyio


def per_subject(server: ReferenceServer, key: str) -> dict[str, int]:
    return {
        subject: entities
        for (endpoint, subject), (_, entities) in usage(server, key).items()
        if endpoint == ESTIMATES
    }


async def test_end_users_by_field() -> None:
    """``attribute="end_user"``: a field of each dict, taken out before sending."""
    total = 500
    users = {i: f"tenant_{i % 7}" for i in range(total) if i % 11}
    inputs = [
        {**entity(i), "end_user": users[i]} if i in users else entity(i) for i in range(total)
    ]
    server = ReferenceServer()
    async with server, server.client("multi", end_user_id="platform") as client:
        runner = client.batch(client.emissions.estimate, attribute="end_user", chunk_size=20)
        report = await runner.run(inputs)
    indexes_once(report.outcomes, total)
    assert report.ok
    assert all(matches(outcome) for outcome in report.outcomes)
    expected = collections.Counter(users.values())
    expected["platform"] = total - len(users)  # no field: the client's own end user
    # Had a chunk mixed end users, its entities would be counted under one of them.
    assert per_subject(server, server.keys.multi) == expected


async def test_end_users_by_callable_over_loopback() -> None:
    total = 300
    server = ReferenceServer(port=0)
    async with server, server.client("multi") as client:
        runner = client.batch(
            client.emissions.estimate,
            attribute=lambda item: (
                "even" if item["entity_info"]["identifier"][-1] in "02468" else "odd"
            ),
            chunk_size=15,
        )
        report = await runner.run(map(entity, range(total)))
    assert report.ok
    assert per_subject(server, server.keys.multi) == {"even": 150, "odd": 150}


async def test_customers_of_an_account_key() -> None:
    server = ReferenceServer()
    desks = {name: server.keys.register_customer(name) for name in ("rates", "credit", "equity")}
    names = list(desks)
    total = 240
    async with server, server.client("account") as client:
        runner = client.batch(
            client.emissions.estimate,
            attribute=lambda item: desks[names[int(item["entity_info"]["identifier"][1:]) % 3]],
            chunk_size=25,
        )
        report = await runner.run(map(entity, range(total)))
    assert report.ok
    assert all(matches(outcome) for outcome in report.outcomes)
    counted = per_subject(server, server.keys.account)
    assert counted == {desks[name]: total // 3 for name in names}


async def test_an_end_user_id_the_api_cannot_take_fails_that_entity_alone() -> None:
    inputs = [{**entity(i), "end_user": "acme_1"} for i in range(20)]
    inputs[7]["end_user"] = "Acme Holdings Ltd"  # spaces: not a valid X-End-User-Id
    server = ReferenceServer()
    async with server, server.client("multi") as client:
        runner = client.batch(client.emissions.estimate, attribute="end_user")
        with anyio.fail_after(30):
            report = await runner.run(inputs)
    indexes_once(report.outcomes, 20)
    assert [outcome.index for outcome in report.failures] == [7]
    assert isinstance(report.failures[0].error, ValueError)
    assert report.failures[0].attempts == 0
    assert per_subject(server, server.keys.multi) == {"acme_1": 19}


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    groups=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=300),
    chunk_size=st.integers(1, 10),
    max_concurrency=st.integers(1, 4),
)
async def test_uneven_groups_as_completed(
    groups: list[str], chunk_size: int, max_concurrency: int
) -> None:
    inputs: list[dict[str, Any]] = [
        {**entity(i), "end_user": group} for i, group in enumerate(groups)
    ]
    server = ReferenceServer()
    async with server, server.client("multi") as client:
        runner = client.batch(
            client.emissions.estimate,
            attribute="end_user",
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
        )
        with anyio.fail_after(20):
            outcomes = [outcome async for outcome in runner.stream(inputs)]
    indexes_once(outcomes, len(groups))
    assert all(matches(outcome) for outcome in outcomes)
    assert per_subject(server, server.keys.multi) == collections.Counter(groups)


@pytest.mark.parametrize("how", ["run", "ordered_stream"])
async def test_one_early_entity_of_a_rare_group_does_not_stall(how: str) -> None:
    """A rare group's partial chunk must not stall the run.

    More entities than the window holds (about 4,100 at chunk size 5): the common group's
    chunks fill it while the ordered consumer waits for entity 0, which sits alone in the
    rare group's partial chunk until the producer sends that chunk out.
    """
    count = 5000
    inputs = [{**entity(0), "end_user": "rare"}]
    inputs += [{**entity(i), "end_user": "common"} for i in range(1, count)]
    server = ReferenceServer()
    async with server, server.client("multi") as client:
        runner = client.batch(
            client.emissions.estimate, attribute="end_user", chunk_size=5, max_concurrency=1
        )
        with anyio.fail_after(60):  # a deadlock waits forever; the run takes seconds
            if how == "run":
                outcomes = (await runner.run(inputs)).outcomes
            else:
                outcomes = [outcome async for outcome in runner.stream(inputs, ordered=True)]
    assert [outcome.index for outcome in outcomes] == list(range(count))
    assert all(outcome.ok for outcome in outcomes)
    assert per_subject(server, server.keys.multi) == {"rare": 1, "common": count - 1}
