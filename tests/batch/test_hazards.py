"""Hazard look-ups (one GET per location) through the same runner."""

from __future__ import annotations

import random

import pytest

from emmi_async.models import to_json
from emmi_async.testing import FaultConfig, ReferenceServer
from emmi_async.testing._compute import hazard_risk

from ._support import indexes_once, requests_used

pytestmark = pytest.mark.anyio

HAZARD_RISK = "/hazard-risk"


def locations(count: int) -> list[object]:
    rng = random.Random(7)
    points: list[object] = []
    for index in range(count):
        latitude, longitude = round(rng.uniform(-89, 89), 4), round(rng.uniform(-179, 179), 4)
        if index % 3 == 0:
            points.append((latitude, longitude))
        else:
            points.append({"latitude": latitude, "longitude": longitude, "identifier": f"L{index}"})
    return points


@pytest.mark.parametrize("port", [None, 0], ids=["in-process", "loopback"])
async def test_hazards_over_locations(port: int | None) -> None:
    points = locations(150)
    points[10] = {"latitude": 91.0, "longitude": 0.0, "identifier": "L10"}  # off the globe
    points[20] = {"latitude": 1.0}  # no longitude
    # Refused before processing (a dropped connection is processed, then lost: not here).
    faults = FaultConfig(status_rates={500: 0.03, 503: 0.02}, seed=1)
    server = ReferenceServer(port=port, faults=faults)
    async with server, server.client() as client:
        runner = client.batch(client.hazards.get, max_concurrency=16)
        assert runner.chunk_size == 1
        outcomes = [outcome async for outcome in runner.stream(points)]
    assert runner.stats is not None
    assert runner.stats.retries > 0
    indexes_once(outcomes, 150)
    outcomes.sort(key=lambda outcome: outcome.index)
    failures = [outcome for outcome in outcomes if not outcome.ok]
    assert {outcome.index for outcome in failures} == {10, 20}
    assert all(isinstance(o.error, ValueError) and o.attempts == 0 for o in failures)
    assert outcomes[10].identifier == "L10"
    for outcome, point in zip(outcomes, points, strict=True):
        if outcome.ok:
            latitude, longitude = (
                point if isinstance(point, tuple) else (point["latitude"], point["longitude"])
            )
            assert to_json(outcome.result) == hazard_risk(latitude, longitude)
            expected_id = None if isinstance(point, tuple) else point["identifier"]
            assert outcome.identifier == expected_id
    # One request per good location reached the server successfully, none for the bad ones.
    assert requests_used(server, server.keys.single, HAZARD_RISK) == 148
