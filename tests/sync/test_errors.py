"""Errors reach the blocking caller as the async code raised them: same classes, attributes."""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import Callable

import pytest

from emmi_async import (
    AsyncEmmi,
    ConflictError,
    Emmi,
    EntityValidationError,
    NotFoundError,
    UnprocessableEntityError,
)
from emmi_async.testing import ReferenceServer
from tests.sync.conftest import entity

BAD = [entity(), {"entity_info": {"identifier": "X", "asset_type": "equity"}, "data": [{}]}]
"""A body the service refuses with a 422 naming entity 1 (sent raw: the SDK would refuse it)."""


def test_a_422_is_the_same_validation_error_as_from_async(
    server: ReferenceServer, client: Emmi
) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        client.request("POST", "emissions-estimates", scope="data", json=BAD)
    error = caught.value
    assert type(error) is UnprocessableEntityError
    assert error.status_code == 422
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.attempts == 1
    assert error.details
    assert {detail["index"] for detail in error.details} == {1}

    async def from_async() -> UnprocessableEntityError:
        async with server.client() as async_client:
            assert isinstance(async_client, AsyncEmmi)
            try:
                await async_client.request("POST", "emissions-estimates", scope="data", json=BAD)
            except UnprocessableEntityError as exc:
                return exc
        raise AssertionError("no error")

    twin = asyncio.run(from_async())
    assert (error.status_code, error.type, error.code, error.details) == (
        twin.status_code,
        twin.type,
        twin.code,
        twin.details,
    )
    # the traceback shows where the caller called, and where the async code raised
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    assert "test_a_422_is_the_same_validation_error_as_from_async" in frames
    assert "request" in frames


def test_status_errors_of_the_customer_endpoints(make_client: Callable[..., Emmi]) -> None:
    client = make_client("account")
    client.customers.create(external_id="twice")
    with pytest.raises(ConflictError) as conflict:
        client.customers.create(external_id="twice")
    assert conflict.value.status_code == 409
    with pytest.raises(NotFoundError) as missing:
        client.customers.get(uuid.uuid4())
    assert missing.value.status_code == 404


def test_client_side_validation_raises_before_sending(client: Emmi) -> None:
    with pytest.raises(ValueError, match="latitude"):
        client.hazards.get(latitude=100.0, longitude=0.0)
    with pytest.raises(EntityValidationError):
        client.emissions.estimate([{"entity_info": {}, "data": []}])
    with pytest.raises(ValueError, match="limit"):
        next(iter(client.customers.list(limit=0)))


def test_a_bad_batch_operation_is_a_type_error(client: Emmi) -> None:
    with pytest.raises(TypeError, match="method of this client's resources"):
        client.batch(lambda entities: [])
