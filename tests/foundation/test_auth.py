"""The three auth strategies: key formats, ids, headers per scope, ``auth_from_key``."""

from __future__ import annotations

import uuid

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async.auth import (
    SCOPE_EXTENSION,
    AccountCustomerAuth,
    MissingAttributionError,
    MultiTenantAuth,
    SingleTenantAuth,
    auth_from_key,
    check_end_user_id,
)

from ._support import (
    ACCOUNT_KEY,
    CUSTOMER,
    END_USER,
    MULTI_KEY,
    MULTI_TEST_KEY,
    OTHER_CUSTOMER,
    SINGLE_KEY,
    SINGLE_TEST_KEY,
    assert_no_key,
)

KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
ALNUM = KEY_ALPHABET[:-2]
STRATEGIES = {"single": SingleTenantAuth, "multi": MultiTenantAuth, "account": AccountCustomerAuth}

tenant_keys = st.builds(
    lambda env, tenancy, random, checksum: (
        f"sk_{env}_{tenancy}_{random}_{checksum}",
        env,
        tenancy,
    ),
    st.sampled_from(["live", "test"]),
    st.sampled_from(["single", "multi"]),
    st.text(KEY_ALPHABET, min_size=1, max_size=40),
    st.text(ALNUM, min_size=1, max_size=8),
)
account_keys = st.text(KEY_ALPHABET, min_size=64, max_size=64).map(lambda s: "emmi_sk_" + s)
any_valid_key = st.one_of(
    tenant_keys.map(lambda t: t[0]), account_keys, st.sampled_from([SINGLE_KEY, ACCOUNT_KEY])
)
bad_characters = st.one_of(
    st.sampled_from([" ", "\t", "\n", "\r", "\r\n", "\x00", "\x7f", "\x1b", "\u00a0"]),
    st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
    st.characters(max_codepoint=0x1F),
)


@given(tenant_keys)
def test_tenant_keys_pick_their_strategy_and_environment(case: tuple[str, str, str]) -> None:
    key, env, tenancy = case
    auth = auth_from_key(key)
    assert type(auth) is STRATEGIES[tenancy]
    assert auth.environment == env
    # The checksum is not documented: any checksum is accepted.
    assert STRATEGIES[tenancy](key).environment == env


@given(account_keys)
def test_account_keys_are_live_account_strategies(key: str) -> None:
    auth = auth_from_key(key)
    assert type(auth) is AccountCustomerAuth
    assert auth.environment == "live"
    assert auth.customer_id is None


@pytest.mark.parametrize(
    ("key", "environment"),
    [
        (SINGLE_KEY, "live"),
        (SINGLE_TEST_KEY, "test"),
        (MULTI_KEY, "live"),
        (MULTI_TEST_KEY, "test"),
    ],
)
def test_environment(key: str, environment: str) -> None:
    assert auth_from_key(key).environment == environment


@pytest.mark.parametrize(
    "key",
    [
        "emmi_sk_" + "a" * 63,
        "emmi_sk_" + "a" * 65,
        "emmi_sk_" + "a" * 63 + "!",
        "sk_prod_single_abcdefgh_1234",
        "sk_live_double_abcdefgh_1234",
        "sk_live_single_abcdefgh",
        "sk_live_single_abcdefgh_",
        "sk_live_single_abcdefgh_12-4",
        "pk_live_single_abcdefgh_1234",
        "SK_LIVE_SINGLE_abcdefgh_1234",
        "x",
    ],
)
def test_unknown_key_formats_are_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="matches no EMMI key format"):
        auth_from_key(key)
    for strategy in STRATEGIES.values():
        with pytest.raises(ValueError, match="matches no EMMI key format") as info:
            strategy(key)
        if len(key) > 20:
            assert key not in str(info.value)


@given(any_valid_key, bad_characters, st.data())
def test_keys_with_whitespace_control_or_non_ascii_are_rejected(
    key: str, bad: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(key)))
    broken = key[:at] + bad + key[at:]
    with pytest.raises(ValueError, match="whitespace, control or non-ASCII") as info:
        auth_from_key(broken)
    assert_no_key(str(info.value), key)
    for strategy in STRATEGIES.values():
        with pytest.raises(ValueError, match="whitespace, control or non-ASCII"):
            strategy(broken)


def test_empty_and_non_string_keys() -> None:
    with pytest.raises(ValueError, match="empty"):
        SingleTenantAuth("")
    with pytest.raises(ValueError, match="empty"):
        auth_from_key("")
    for wrong in (None, 42, SINGLE_KEY.encode()):
        with pytest.raises(TypeError, match="api_key must be a str"):
            SingleTenantAuth(wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="api_key must be a str"):
            auth_from_key(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("strategy", "key", "suggested"),
    [
        (SingleTenantAuth, MULTI_KEY, "MultiTenantAuth"),
        (SingleTenantAuth, ACCOUNT_KEY, "AccountCustomerAuth"),
        (MultiTenantAuth, SINGLE_KEY, "SingleTenantAuth"),
        (MultiTenantAuth, ACCOUNT_KEY, "AccountCustomerAuth"),
        (AccountCustomerAuth, SINGLE_TEST_KEY, "SingleTenantAuth"),
        (AccountCustomerAuth, MULTI_TEST_KEY, "MultiTenantAuth"),
    ],
)
def test_key_of_another_model_names_the_right_strategy(
    strategy: type, key: str, suggested: str
) -> None:
    with pytest.raises(ValueError, match=suggested) as info:
        strategy(key)
    assert_no_key(str(info.value), key)


def test_auth_from_key_rejects_ids_of_another_model() -> None:
    with pytest.raises(ValueError, match="end_user_id is for multi-tenant keys"):
        auth_from_key(ACCOUNT_KEY, end_user_id=END_USER)
    with pytest.raises(ValueError, match="end_user_id is for multi-tenant keys"):
        auth_from_key(SINGLE_KEY, end_user_id=END_USER)
    for key in (SINGLE_KEY, MULTI_KEY):
        with pytest.raises(ValueError, match="customer_id is for account keys"):
            auth_from_key(key, customer_id=CUSTOMER)


def test_auth_from_key_configures_ids() -> None:
    account = auth_from_key(ACCOUNT_KEY, customer_id=uuid.UUID(CUSTOMER))
    assert isinstance(account, AccountCustomerAuth)
    assert account.customer_id == CUSTOMER
    multi = auth_from_key(MULTI_KEY, end_user_id=END_USER)
    assert isinstance(multi, MultiTenantAuth)
    assert multi.end_user_id == END_USER


# -- customer ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_id",
    [
        CUSTOMER,
        CUSTOMER.upper(),
        uuid.UUID(CUSTOMER),
        "{" + CUSTOMER + "}",
        "urn:uuid:" + CUSTOMER,
        CUSTOMER.replace("-", ""),
    ],
)
def test_customer_ids_are_normalised(given_id: object) -> None:
    auth = AccountCustomerAuth(ACCOUNT_KEY, given_id)  # type: ignore[arg-type]
    assert auth.customer_id == CUSTOMER
    assert auth.headers("data")[-1] == ("X-Customer-ID", CUSTOMER)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@given(st.text(max_size=60).filter(lambda s: not _is_uuid(s)))
def test_bad_customer_ids_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="customer UUID") as info:
        AccountCustomerAuth(ACCOUNT_KEY, text)
    assert "\r" not in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="customer UUID"):
        auth_from_key(ACCOUNT_KEY, customer_id=text)
    with pytest.raises(ValueError, match="customer UUID"):
        AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER).for_customer(text)


def test_customer_id_of_wrong_type() -> None:
    for wrong in (12, CUSTOMER.encode(), uuid.UUID(CUSTOMER).int):
        with pytest.raises(TypeError, match="customer_id must be a UUID or str"):
            AccountCustomerAuth(ACCOUNT_KEY, wrong)  # type: ignore[arg-type]


# -- end-user ids --------------------------------------------------------------------------

END_USER_ALPHABET = KEY_ALPHABET
valid_end_users = st.text(END_USER_ALPHABET, min_size=1, max_size=255)


@given(valid_end_users)
def test_valid_end_user_ids_are_accepted(end_user_id: str) -> None:
    assert check_end_user_id(end_user_id) == end_user_id
    auth = MultiTenantAuth(MULTI_KEY, end_user_id)
    assert ("X-End-User-Id", end_user_id) in auth.headers("data")
    assert auth_from_key(MULTI_KEY).for_end_user(end_user_id).end_user_id == end_user_id  # type: ignore[attr-defined]


invalid_end_users = st.one_of(
    st.just(""),
    st.text(END_USER_ALPHABET, min_size=256, max_size=300),
    st.builds(
        lambda head, bad, tail: head + bad + tail,
        st.text(END_USER_ALPHABET, max_size=20),
        st.characters().filter(lambda c: c not in END_USER_ALPHABET),
        st.text(END_USER_ALPHABET, max_size=20),
    ),
)


@given(invalid_end_users)
def test_invalid_end_user_ids_are_rejected(end_user_id: str) -> None:
    with pytest.raises(ValueError, match="end_user_id must be 1 to 255 characters") as info:
        MultiTenantAuth(MULTI_KEY, end_user_id)
    assert "\r" not in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="end_user_id must be"):
        MultiTenantAuth(MULTI_KEY, END_USER).for_end_user(end_user_id)
    with pytest.raises(ValueError, match="end_user_id must be"):
        auth_from_key(MULTI_KEY, end_user_id=end_user_id)


def test_end_user_id_of_wrong_type() -> None:
    for wrong in (1, b"acme", ["acme"]):
        with pytest.raises(TypeError, match="end_user_id must be a str"):
            MultiTenantAuth(MULTI_KEY, wrong)  # type: ignore[arg-type]


# -- headers per scope ---------------------------------------------------------------------

KEY = "X-API-Key"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (
            SingleTenantAuth(SINGLE_KEY),
            {"public": {}, "account": {KEY: SINGLE_KEY}, "data": {KEY: SINGLE_KEY}},
        ),
        (
            MultiTenantAuth(MULTI_KEY, END_USER),
            {
                "public": {},
                "account": {KEY: MULTI_KEY, "X-End-User-Id": END_USER},
                "data": {KEY: MULTI_KEY, "X-End-User-Id": END_USER},
            },
        ),
        (
            AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER),
            {
                "public": {},
                "account": {KEY: ACCOUNT_KEY},
                "data": {KEY: ACCOUNT_KEY, "X-Customer-ID": CUSTOMER},
            },
        ),
        (AccountCustomerAuth(ACCOUNT_KEY), {"public": {}, "account": {KEY: ACCOUNT_KEY}}),
        (MultiTenantAuth(MULTI_KEY), {"public": {}}),
    ],
    ids=["single", "multi", "account", "account-no-customer", "multi-no-end-user"],
)
def test_headers_per_scope(auth: object, expected: dict[str, dict[str, str]]) -> None:
    for scope in ("public", "account", "data"):
        if scope in expected:
            assert dict(auth.headers(scope)) == expected[scope]  # type: ignore[attr-defined]
        else:
            with pytest.raises(MissingAttributionError):
                auth.headers(scope)  # type: ignore[attr-defined]


def test_retargeting_returns_new_strategies() -> None:
    account = AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER)
    other = account.for_customer(OTHER_CUSTOMER)
    assert (account.customer_id, other.customer_id) == (CUSTOMER, OTHER_CUSTOMER)
    assert dict(other.headers("data"))[KEY] == ACCOUNT_KEY
    multi = MultiTenantAuth(MULTI_KEY)
    bob = multi.for_end_user("bob")
    assert (multi.end_user_id, bob.end_user_id) == (None, "bob")
    assert bob.environment == multi.environment


def test_missing_attribution_is_a_value_error_that_says_what_to_do() -> None:
    with pytest.raises(MissingAttributionError, match="for_customer"):
        AccountCustomerAuth(ACCOUNT_KEY).headers("data")
    with pytest.raises(MissingAttributionError, match="for_end_user"):
        MultiTenantAuth(MULTI_KEY).headers("account")
    assert issubclass(MissingAttributionError, ValueError)


@pytest.mark.anyio
async def test_strategies_work_as_plain_httpx_auth() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        names = ("x-api-key", "x-customer-id", "x-end-user-id")
        seen.append(
            (request.url.path, {n: request.headers[n] for n in names if n in request.headers})
        )
        return httpx.Response(200)

    auth = AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER)
    async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(handler)) as http:
        await http.get("https://x/health", extensions={SCOPE_EXTENSION: "public"})
        await http.get("https://x/usage", extensions={SCOPE_EXTENSION: "account"})
        await http.post("https://x/climate-risk")  # no scope: "data"
    assert seen == [
        ("/health", {}),
        ("/usage", {"x-api-key": ACCOUNT_KEY}),
        ("/climate-risk", {"x-api-key": ACCOUNT_KEY, "x-customer-id": CUSTOMER}),
    ]
    async with httpx.AsyncClient(
        auth=MultiTenantAuth(MULTI_KEY), transport=httpx.MockTransport(handler)
    ) as http:
        with pytest.raises(MissingAttributionError):
            await http.get("https://x/usage")
    assert len(seen) == 3
