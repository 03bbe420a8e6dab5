"""Client settings: arguments, ``EMMI_*`` variables, and validation before anything is sent."""

from __future__ import annotations

import math
import uuid

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async._client import AsyncEmmi
from emmi_async._settings import DEFAULT_BASE_URL
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth, SingleTenantAuth

from ._support import (
    ACCOUNT_KEY,
    BASE_URL,
    CUSTOMER,
    END_USER,
    MULTI_KEY,
    MULTI_TEST_KEY,
    OTHER_CUSTOMER,
    SINGLE_KEY,
    SINGLE_TEST_KEY,
    mock_client,
)


def test_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_API_KEY", f"  {SINGLE_TEST_KEY}\n")  # as pasted into a .env file
    client = AsyncEmmi()
    assert isinstance(client.auth, SingleTenantAuth)
    assert client.auth.environment == "test"
    assert str(client.base_url) == DEFAULT_BASE_URL


def test_ids_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_API_KEY", ACCOUNT_KEY)
    monkeypatch.setenv("EMMI_CUSTOMER_ID", CUSTOMER.upper())
    auth = AsyncEmmi().auth
    assert isinstance(auth, AccountCustomerAuth)
    assert auth.customer_id == CUSTOMER
    assert auth.environment == "live"

    monkeypatch.setenv("EMMI_API_KEY", MULTI_TEST_KEY)
    monkeypatch.setenv("EMMI_END_USER_ID", END_USER)
    auth = AsyncEmmi().auth
    assert isinstance(auth, MultiTenantAuth)
    assert (auth.end_user_id, auth.environment) == (END_USER, "test")


def test_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_API_KEY", SINGLE_KEY)
    monkeypatch.setenv("EMMI_CUSTOMER_ID", CUSTOMER)
    monkeypatch.setenv("EMMI_END_USER_ID", END_USER)
    monkeypatch.setenv("EMMI_BASE_URL", "https://env.example/api/v1")
    client = AsyncEmmi(api_key=ACCOUNT_KEY, customer_id=OTHER_CUSTOMER, base_url=BASE_URL)
    assert isinstance(client.auth, AccountCustomerAuth)
    assert client.auth.customer_id == OTHER_CUSTOMER
    assert str(client.base_url) == BASE_URL
    multi = AsyncEmmi(api_key=MULTI_KEY, end_user_id="other_user").auth
    assert isinstance(multi, MultiTenantAuth)
    assert multi.end_user_id == "other_user"
    explicit = SingleTenantAuth(SINGLE_TEST_KEY)
    assert AsyncEmmi(auth=explicit).auth is explicit


def test_environment_ids_of_another_model_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # A shell that exports EMMI_CUSTOMER_ID for one tool must not break a tenant-key client.
    monkeypatch.setenv("EMMI_CUSTOMER_ID", CUSTOMER)
    monkeypatch.setenv("EMMI_END_USER_ID", END_USER)
    assert isinstance(AsyncEmmi(api_key=SINGLE_KEY).auth, SingleTenantAuth)
    account = AsyncEmmi(api_key=ACCOUNT_KEY).auth
    assert isinstance(account, AccountCustomerAuth)
    assert account.customer_id == CUSTOMER
    multi = AsyncEmmi(api_key=MULTI_KEY).auth
    assert isinstance(multi, MultiTenantAuth)
    assert multi.end_user_id == END_USER


def test_bad_ids_from_the_environment_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_API_KEY", ACCOUNT_KEY)
    monkeypatch.setenv("EMMI_CUSTOMER_ID", "not-a-uuid")
    with pytest.raises(ValueError, match="customer UUID"):
        AsyncEmmi()
    monkeypatch.setenv("EMMI_API_KEY", MULTI_KEY)
    monkeypatch.setenv("EMMI_END_USER_ID", "acme user")
    with pytest.raises(ValueError, match="end_user_id must be"):
        AsyncEmmi()
    monkeypatch.setenv("EMMI_API_KEY", "sk_live_single_bad key_1234")
    with pytest.raises(ValueError, match="whitespace"):
        AsyncEmmi()


def test_blank_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_API_KEY", "   ")
    monkeypatch.setenv("EMMI_BASE_URL", "")
    client = AsyncEmmi()
    assert client.auth is None
    assert str(client.base_url) == DEFAULT_BASE_URL


def test_auth_and_key_arguments_are_exclusive() -> None:
    auth = SingleTenantAuth(SINGLE_KEY)
    with pytest.raises(ValueError, match="not both"):
        AsyncEmmi(auth=auth, api_key=SINGLE_KEY)
    with pytest.raises(ValueError, match="not both"):
        AsyncEmmi(auth=AccountCustomerAuth(ACCOUNT_KEY), customer_id=CUSTOMER)
    with pytest.raises(ValueError, match="not both"):
        AsyncEmmi(auth=MultiTenantAuth(MULTI_KEY), end_user_id=END_USER)
    with pytest.raises(TypeError, match="auth must be"):
        AsyncEmmi(auth=httpx.BasicAuth("u", "p"))  # type: ignore[arg-type]


def test_customer_id_argument_accepts_uuid_objects() -> None:
    auth = AsyncEmmi(api_key=ACCOUNT_KEY, customer_id=uuid.UUID(CUSTOMER)).auth
    assert isinstance(auth, AccountCustomerAuth)
    assert auth.customer_id == CUSTOMER


# -- base URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("https://emmi.test/api/v1", "https://emmi.test/api/v1"),
        ("https://emmi.test/api/v1/", "https://emmi.test/api/v1"),
        (httpx.URL("http://127.0.0.1:8080/api/v1//"), "http://127.0.0.1:8080/api/v1"),
        ("https://emmi.test", "https://emmi.test"),
    ],
)
def test_base_url_is_normalised(given_url: str | httpx.URL, expected: str) -> None:
    assert str(AsyncEmmi(base_url=given_url).base_url) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://emmi.test/api/v1",
        "/api/v1",
        "emmi.test/api/v1",
        "https://emmi.test/api/v1?x=1",
        "https://emmi.test/api/v1#top",
        "https://",
    ],
)
def test_bad_base_urls(bad: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        AsyncEmmi(base_url=bad)


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMI_BASE_URL", "http://127.0.0.1:9/api/v1/")
    assert str(AsyncEmmi().base_url) == "http://127.0.0.1:9/api/v1"
    monkeypatch.setenv("EMMI_BASE_URL", "not a url")
    with pytest.raises(ValueError, match="base_url"):
        AsyncEmmi()


# -- numbers ---------------------------------------------------------------------------------

bad_timeouts = st.one_of(
    st.floats(max_value=0.0),
    st.integers(max_value=0),
    st.just(math.nan),
    st.booleans(),
    st.text(max_size=5),
)


@given(bad_timeouts)
def test_bad_timeouts_are_rejected(timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        AsyncEmmi(timeout=timeout)  # type: ignore[arg-type]
    client = AsyncEmmi()
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        client.with_options(timeout=timeout)  # type: ignore[arg-type]


@given(st.floats(min_value=1e-3, max_value=1e6) | st.integers(1, 10**6))
def test_numeric_timeouts(timeout: float) -> None:
    result = AsyncEmmi(timeout=timeout).timeout
    assert result.read == result.write == result.pool == float(timeout)
    assert result.connect == min(5.0, float(timeout))


def test_timeout_objects_and_none() -> None:
    custom = httpx.Timeout(3.0, connect=1.0)
    assert AsyncEmmi(timeout=custom).timeout is custom
    assert AsyncEmmi(timeout=None).timeout == httpx.Timeout(None)
    assert AsyncEmmi().timeout == httpx.Timeout(60.0, connect=5.0)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_bad_max_retries(bad: object) -> None:
    with pytest.raises(ValueError, match="max_retries must be an int >= 0"):
        AsyncEmmi(max_retries=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries must be an int >= 0"):
        AsyncEmmi().with_options(max_retries=bad)  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
async def test_bad_per_call_max_retries_send_nothing(bad: object) -> None:
    client, recorder = mock_client()
    async with client:
        with pytest.raises(ValueError, match="max_retries must be an int >= 0"):
            await client.request("GET", "health", scope="public", max_retries=bad)  # type: ignore[arg-type]
    assert recorder.count == 0


def test_max_connections() -> None:
    assert AsyncEmmi(max_connections=7).max_connections == 7
    assert AsyncEmmi().max_connections == 64
    for bad in (0, -3):
        with pytest.raises(ValueError, match="max_connections must be at least 1"):
            AsyncEmmi(max_connections=bad)
    for wrong in (True, 2.0, "4", None):
        with pytest.raises(TypeError, match="max_connections must be an int"):
            AsyncEmmi(max_connections=wrong)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_transport_and_http_client_are_exclusive() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="not both"):
            AsyncEmmi(
                transport=httpx.MockTransport(lambda r: httpx.Response(200)), http_client=http
            )
    with pytest.raises(TypeError, match=r"http_client must be an httpx\.AsyncClient"):
        AsyncEmmi(http_client=httpx.Client())  # type: ignore[arg-type]


# -- default headers -------------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"))
bad_values = st.builds(
    lambda head, bad, tail: head + bad + tail,
    printable,
    st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x7f", "\x1b"])
    | st.characters(min_codepoint=0x80, exclude_categories=("Cs",)),
    printable,
)
header_names = st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z").filter(
    lambda n: n.lower() not in ("x-api-key", "x-customer-id", "x-end-user-id")
)


@given(header_names, bad_values)
def test_header_values_with_cr_lf_or_non_ascii_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="printable ASCII without CR or LF"):
        AsyncEmmi(default_headers={name: value})
    with pytest.raises(ValueError, match="printable ASCII without CR or LF"):
        AsyncEmmi().with_options(headers={name: value})


@pytest.mark.parametrize(
    "name", ["X Bad", "X-Bad:", "", "X-Bad\r\nX-Evil", "Ä-Header", "X-(x)", "X-Bad\n"]
)
def test_bad_header_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid HTTP token"):
        AsyncEmmi(default_headers={name: "v"})
    with pytest.raises(ValueError, match="not a valid HTTP token"):
        AsyncEmmi().with_options(headers={name: "v"})


@pytest.mark.parametrize(
    "name",
    ["X-API-Key", "x-api-key", "X-Customer-ID", "x-customer-id", "X-End-User-Id", "X-END-USER-ID"],
)
def test_reserved_headers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="set by the auth strategy"):
        AsyncEmmi(default_headers={name: "anything"})
    with pytest.raises(ValueError, match="set by the auth strategy"):
        AsyncEmmi().with_options(headers={name: "anything"})


def test_non_string_header_values() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        AsyncEmmi(default_headers={"X-Count": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="printable ASCII"):
        AsyncEmmi(default_headers={"X-Raw": b"abc"})  # type: ignore[dict-item]
