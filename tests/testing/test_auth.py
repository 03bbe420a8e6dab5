"""The three auth models: what each accepts and each refusal."""

from __future__ import annotations

import httpx
import pytest

from emmi_async.testing import ReferenceServer
from emmi_async.testing._keys import key_model
from tests.testing._helpers import connect, equity, year

pytestmark = pytest.mark.anyio

ENTITY = [equity([year(2023, revenue=1e6)])]


async def estimate(server: ReferenceServer, **headers: str) -> httpx.Response:
    async with connect(server, **headers) as client:
        return await client.post("emissions-estimates", json=ENTITY)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["message"]


def test_keys_have_the_documented_formats(server: ReferenceServer) -> None:
    keys = server.keys
    assert keys.account.startswith("emmi_sk_")
    assert len(keys.account) == len("emmi_sk_") + 64
    assert keys.account[8:].isalnum()
    assert keys.single.startswith("sk_test_single_")
    assert keys.multi.startswith("sk_test_multi_")
    assert [key_model(k) for k in (keys.account, keys.single, keys.multi)] == [
        "account",
        "single",
        "multi",
    ]
    assert key_model("sk_live_single_4n8jKmPqRs9uVw_8f1c") == "single"
    assert key_model("nope") is None
    assert set(keys.all) == {keys.account, keys.single, keys.multi}


async def test_single_tenant_key_is_enough(any_server: ReferenceServer) -> None:
    response = await estimate(any_server, **{"X-API-Key": any_server.keys.single})
    assert response.status_code == 200


async def test_account_key_with_its_customer(any_server: ReferenceServer) -> None:
    customer = any_server.keys.register_customer("desk")
    headers = {"X-API-Key": any_server.keys.account, "X-Customer-ID": customer.upper()}
    assert (await estimate(any_server, **headers)).status_code == 200


async def test_multi_tenant_key_with_end_user(any_server: ReferenceServer) -> None:
    headers = {"X-API-Key": any_server.keys.multi, "X-End-User-Id": "Acme_corp-1"}
    assert (await estimate(any_server, **headers)).status_code == 200


async def test_missing_and_unknown_keys_are_401(any_server: ReferenceServer) -> None:
    assert_error(await estimate(any_server), 401, "missing_api_key")
    unknown = "sk_test_single_AAAAAAAAAAAAAA_0000"
    response = await estimate(any_server, **{"X-API-Key": unknown})
    assert_error(response, 401, "invalid_api_key")
    assert response.json()["error"]["type"] == "authentication_error"
    assert unknown not in response.text


async def test_accepted_key_of_ones_own(server: ReferenceServer) -> None:
    key = "sk_live_single_4n8jKmPqRs9uVw_8f1c"
    assert_error(await estimate(server, **{"X-API-Key": key}), 401, "invalid_api_key")
    assert server.keys.accept(key) == "single"
    assert (await estimate(server, **{"X-API-Key": key})).status_code == 200
    with pytest.raises(ValueError, match="format"):
        server.keys.accept("abc")


async def test_account_key_needs_a_customer_of_its_own(server: ReferenceServer) -> None:
    key = {"X-API-Key": server.keys.account}
    other_account = server.keys.add("account")
    foreign = server.keys.register_customer("theirs", account_key=other_account)
    assert_error(await estimate(server, **key), 403, "customer_id_required")
    unknown = {"X-Customer-ID": "3f2b1c0e-0000-4000-8000-000000000000"}
    assert_error(await estimate(server, **key, **unknown), 403, "unknown_customer")
    assert_error(await estimate(server, **key, **{"X-Customer-ID": "x"}), 403, "unknown_customer")
    response = await estimate(server, **key, **{"X-Customer-ID": foreign})
    assert_error(response, 403, "unknown_customer")
    assert response.json()["error"]["type"] == "permission_error"
    headers = {"X-API-Key": other_account, "X-Customer-ID": foreign}
    assert (await estimate(server, **headers)).status_code == 200


async def test_account_key_needs_no_customer_for_customers_and_usage(
    server: ReferenceServer,
) -> None:
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        created = await client.post("customers", json={"external_id": "e"})
        usage = await client.get("usage", params={"start": "2024-01-01", "end": "2024-01-31"})
    assert created.status_code == 201
    assert usage.status_code == 200


async def test_hazard_risk_needs_the_customer_too(server: ReferenceServer) -> None:
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        response = await client.get("hazard-risk", params={"latitude": 1, "longitude": 1})
    assert_error(response, 403, "customer_id_required")


async def test_multi_tenant_needs_an_end_user_everywhere(server: ReferenceServer) -> None:
    key = {"X-API-Key": server.keys.multi}
    assert_error(await estimate(server, **key), 403, "end_user_id_required")
    async with connect(server, **key) as client:
        usage = await client.get("usage", params={"start": "2024-01-01", "end": "2024-01-02"})
    assert_error(usage, 403, "end_user_id_required")


@pytest.mark.parametrize("end_user", ["has space", "a" * 256, "ünï", "semi;colon", ""])
async def test_end_user_breaking_the_rules_is_422(server: ReferenceServer, end_user: str) -> None:
    async with connect(server, **{"X-API-Key": server.keys.multi}) as client:
        response = await client.post(
            "emissions-estimates",
            json=ENTITY,
            headers=[(b"X-End-User-Id", end_user.encode("utf-8"))],
        )
    assert_error(response, 422, "invalid_end_user_id")
    assert response.json()["error"]["details"][0]["field"] == "X-End-User-Id"


async def test_end_user_of_255_characters_is_fine(server: ReferenceServer) -> None:
    headers = {"X-API-Key": server.keys.multi, "X-End-User-Id": "a" * 255}
    assert (await estimate(server, **headers)).status_code == 200


@pytest.mark.parametrize("model", ["single", "multi"])
async def test_customers_belong_to_account_keys(server: ReferenceServer, model: str) -> None:
    key = server.keys.single if model == "single" else server.keys.multi
    async with connect(server, **{"X-API-Key": key, "X-End-User-Id": "u"}) as client:
        response = await client.post("customers", json={"external_id": "e"})
    assert_error(response, 403, "account_key_required")


def test_register_customer_refuses_non_account_keys(server: ReferenceServer) -> None:
    with pytest.raises(ValueError, match="account"):
        server.keys.register_customer("x", account_key=server.keys.single)
