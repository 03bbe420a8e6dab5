"""Every error is an EmmiError; client-side checks are also ValueErrors; 422 is the server's."""

from __future__ import annotations

import pytest

from emmi_async import (
    AccountCustomerAuth,
    AsyncEmmi,
    EmmiError,
    EntityValidationError,
    MissingAPIKeyError,
    MissingAttributionError,
    UnprocessableEntityError,
)
from emmi_async.testing import ReferenceServer

pytestmark = pytest.mark.anyio


async def test_except_emmi_error_catches_client_side_validation() -> None:
    async with ReferenceServer() as server, server.client() as client:
        with pytest.raises(EmmiError) as caught:
            await client.emissions.estimate({"entity_info": {"asset_type": "bond?"}, "data": []})
    assert isinstance(caught.value, EntityValidationError)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, UnprocessableEntityError)


async def test_no_api_key_has_its_own_class() -> None:
    async with AsyncEmmi(base_url="http://127.0.0.1:9/api/v1") as client:
        with pytest.raises(MissingAPIKeyError, match="no API key configured") as caught:
            await client.usage.get(start="2024-01-01", end="2024-01-02")
    assert isinstance(caught.value, EmmiError)
    assert isinstance(caught.value, ValueError)


def test_missing_attribution_is_an_emmi_error() -> None:
    auth = AccountCustomerAuth("emmi_sk_" + "a1" * 32)
    with pytest.raises(EmmiError) as caught:
        list(auth.headers("data"))
    assert isinstance(caught.value, MissingAttributionError)
    assert isinstance(caught.value, ValueError)


def test_the_tree_is_drawn_at_the_top_of_the_module() -> None:
    from emmi_async import _exceptions

    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        if name not in ("Problem", "ValidationError"):
            assert name in doc, name
