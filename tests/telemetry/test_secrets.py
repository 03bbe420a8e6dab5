"""No key, customer id or end-user id in any span name, attribute or metric attribute."""

from __future__ import annotations

from typing import Any

import pytest

from emmi_async.testing import FaultConfig, ReferenceServer
from tests.batch._support import entity

from .conftest import Telemetry

pytestmark = pytest.mark.anyio


def recorded_strings(otel: Telemetry) -> list[str]:
    """Every span name, attribute value and metric attribute value, as text."""
    texts: list[str] = []
    for span in otel.spans:
        texts.append(span.name)
        texts.extend(f"{key}={value}" for key, value in (span.attributes or {}).items())
        for event in span.events:
            texts.extend(f"{key}={value}" for key, value in (event.attributes or {}).items())
        if span.status.description:
            texts.append(span.status.description)
    for name, points in otel.metrics().items():
        for point in points:
            texts.extend(f"{name}:{key}={value}" for key, value in point.attributes.items())
    return texts


def assert_absent(secrets: list[str], texts: list[str]) -> None:
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret[:6]}... recorded in {leaks[:3]}"


async def test_account_key_and_customer_ids_never_recorded(otel: Telemetry) -> None:
    server = ReferenceServer(faults=FaultConfig(status_rates={500: 0.2}, seed=4))
    key = server.keys.account
    other = server.keys.register_customer("desk-b", account_key=key)
    async with server, server.client("account") as client:
        own = str(client.auth.customer_id)  # type: ignore[union-attr]
        await client.emissions.estimate(entity(1))
        await client.customers.get(other)
        async for _ in client.customers.list(limit=1):
            pass
        await client.usage.get(start="2024-01-01", end="2024-12-31", customer_id=other)
        items: list[Any] = [{**entity(i), "customer": own if i % 2 else other} for i in range(40)]
        runner = client.batch(client.emissions.estimate, chunk_size=5, attribute="customer")
        report = await runner.run(items)
    assert report.ok
    texts = recorded_strings(otel)
    assert any("/customers/{id}" in text for text in texts)
    assert any("customer_id=REDACTED" in text for text in texts)
    assert_absent([key, own, other], texts)


async def test_multi_tenant_key_and_end_user_ids_never_recorded(otel: Telemetry) -> None:
    server = ReferenceServer()
    key = server.keys.multi
    async with server, server.client("multi", end_user_id="tenant_acme_42") as client:
        await client.emissions.estimate(entity(1))
        await client.for_end_user("tenant_zenith_7").hazards.get(latitude=1.0, longitude=2.0)
        items = [{**entity(i), "tenant": f"tenant_batch_{i % 3}"} for i in range(30)]
        report = await client.batch(
            client.emissions.estimate, chunk_size=4, attribute="tenant"
        ).run(items)
    assert report.ok
    texts = recorded_strings(otel)
    assert len(otel.client_spans()) >= 3
    assert_absent(
        [key, "tenant_acme_42", "tenant_zenith_7", "tenant_batch_0", "tenant_batch_2"], texts
    )


async def test_a_single_tenant_key_never_recorded(otel: Telemetry) -> None:
    server = ReferenceServer()
    async with server, server.client() as client:
        await client.emissions.estimate(entity(1))
        await client.usage.get(start="2024-01-01", end="2024-01-31")
    texts = recorded_strings(otel)
    assert any("start=2024-01-01" in text for text in texts)  # plain values stay readable
    assert_absent([server.keys.single], texts)
