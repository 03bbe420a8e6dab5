"""The API key never shows: not in repr/str, logs, exceptions, sent requests or tracebacks."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async import APIConnectionError, AuthenticationError, EmmiError
from emmi_async._base_client import USER_AGENT
from emmi_async._client import AsyncEmmi
from emmi_async.auth import (
    AccountCustomerAuth,
    MultiTenantAuth,
    SingleTenantAuth,
    auth_from_key,
    redact_key,
)

from ._support import (
    ACCOUNT_KEY,
    ALL_KEYS,
    CUSTOMER,
    END_USER,
    MULTI_KEY,
    SINGLE_KEY,
    LoopbackServer,
    Recorder,
    assert_no_key,
    error,
    mock_client,
    ok,
)
from .conftest import SleepRecorder

KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
random_keys = st.one_of(
    st.text(KEY_ALPHABET, min_size=64, max_size=64).map(lambda s: "emmi_sk_" + s),
    st.builds(
        lambda env, kind, rnd, check: f"sk_{env}_{kind}_{rnd}_{check}",
        st.sampled_from(["live", "test"]),
        st.sampled_from(["single", "multi"]),
        st.text(KEY_ALPHABET, min_size=12, max_size=40),
        st.text(KEY_ALPHABET[:-2], min_size=4, max_size=8),
    ),
)


@given(random_keys)
def test_redacted_key_shows_prefix_and_last_four_only(key: str) -> None:
    auth = auth_from_key(key)
    shown = redact_key(key)
    assert shown == auth.redacted_key
    assert shown.endswith("..." + key[-4:])
    assert key.startswith(shown[: shown.index("...")])
    for text in (repr(auth), str(auth), shown):
        assert_no_key(text, key)
        assert key[:-4] not in text


def test_short_or_unknown_keys_show_no_tail() -> None:
    assert redact_key("sk_live_single_ab_cd") == "sk_live_single_..."
    assert redact_key("xyz") == "..."


@pytest.mark.parametrize("key", ALL_KEYS)
def test_repr_and_str(key: str) -> None:
    client = AsyncEmmi(api_key=key)
    views = [client, client.with_options(timeout=2)]
    if isinstance(client.auth, AccountCustomerAuth):
        views.append(client.for_customer(CUSTOMER))
    if isinstance(client.auth, MultiTenantAuth):
        views.append(client.for_end_user(END_USER))
    for obj in [client.auth, *views]:
        for text in (repr(obj), str(obj), f"{obj!r:>10}", repr(vars(obj).get("_auth"))):
            assert_no_key(text, key)
    assert redact_key(key) in repr(client)


def test_repr_shows_the_ids() -> None:
    assert repr(AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER)) == (
        f"AccountCustomerAuth(api_key='emmi_sk_...{ACCOUNT_KEY[-4:]}', customer_id='{CUSTOMER}')"
    )
    assert repr(MultiTenantAuth(MULTI_KEY, END_USER)) == (
        f"MultiTenantAuth(api_key='sk_live_multi_...{MULTI_KEY[-4:]}', end_user_id='acme_1')"
    )
    assert (
        repr(SingleTenantAuth(SINGLE_KEY)) == "SingleTenantAuth(api_key='sk_live_single_...8f1c')"
    )


async def _fail(client: AsyncEmmi) -> EmmiError:
    """Makes a failing call; the traceback then holds only this frame and the pipeline's."""
    try:
        await client.request("POST", "climate-risk", scope="data", json=[{"x": 1}])
    except EmmiError as exc:
        return exc
    raise AssertionError("the call did not fail")


def _everything_about(exc: BaseException, *, with_locals: bool = True) -> str:
    parts = [repr(exc), str(exc), *traceback.format_exception(exc)]
    if with_locals:  # what pytest --showlocals, Sentry and friends show
        parts += traceback.TracebackException.from_exception(exc, capture_locals=True).format()
    parts.append(repr(vars(exc)))
    for attr in ("request", "response"):
        obj = getattr(exc, attr, None)
        if obj is not None:
            parts.append(repr(obj))
            request = obj if isinstance(obj, httpx.Request) else obj.request
            parts.append(repr(request.headers))
            parts.append(repr(list(request.headers.raw)))
    return "\n".join(parts)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "reply",
    [
        lambda _: error(401),
        lambda _: error(500),
        lambda _: httpx.ConnectError("refused"),
        lambda _: httpx.ReadTimeout("slow"),
        lambda _: httpx.Response(200, content=b"{"),
    ],
    ids=["401", "500", "connect", "timeout", "bad-json"],
)
@pytest.mark.parametrize("key", [ACCOUNT_KEY, MULTI_KEY, SINGLE_KEY])
async def test_errors_and_their_tracebacks_hold_no_key(
    key: str, reply: object, sleeps: SleepRecorder
) -> None:
    client, recorder = mock_client(
        Recorder([reply]),  # type: ignore[list-item]
        api_key=key,
        customer_id=CUSTOMER if key == ACCOUNT_KEY else None,
        end_user_id=END_USER if key == MULTI_KEY else None,
        max_retries=1,
    )
    async with client:
        exc = await _fail(client)
    assert recorder.seen[0].header("x-api-key") == key  # the key was really sent...
    assert_no_key(_everything_about(exc), key)  # ...and is gone from what outlives the call
    request = exc.request if isinstance(exc, APIConnectionError) else exc.response.request  # type: ignore[attr-defined]
    assert request.headers["x-api-key"] == redact_key(key)


@pytest.mark.anyio
async def test_success_response_holds_no_key() -> None:
    client, _ = mock_client(Recorder([ok()]))
    async with client:
        response = await client.request("GET", "usage", scope="account")
    text = "\n".join([repr(response), repr(response.http_response.request.headers)])
    assert_no_key(text, SINGLE_KEY)
    assert response.http_response.request.headers["x-api-key"] == redact_key(SINGLE_KEY)


@pytest.mark.anyio
async def test_logs_hold_no_key(
    emmi_log: None,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    sleeps: SleepRecorder,
) -> None:
    caplog.set_level(logging.DEBUG)
    client, recorder = mock_client(
        Recorder([error(503), ok(), error(401)]),
        api_key=ACCOUNT_KEY,
        customer_id=CUSTOMER,
    )
    assert logging.getLogger("emmi_async").isEnabledFor(logging.DEBUG)
    async with client:
        await client.request("POST", "climate-risk", scope="data", json=[])
        with pytest.raises(AuthenticationError):
            await client.request("GET", "usage", scope="account")
    assert recorder.count == 3
    messages = [record.getMessage() for record in caplog.records]
    assert any("-> 503" in m for m in messages)
    assert any(m.startswith("retrying POST /api/v1/climate-risk") for m in messages)
    assert any("-> 401" in m and "req_401" in m for m in messages)
    stderr = capsys.readouterr().err  # EMMI_LOG's own handler (silent: pytest has root's)
    everything = "\n".join(
        [caplog.text, stderr, *messages, *(repr(r.args) for r in caplog.records)]
    )
    assert_no_key(everything, ACCOUNT_KEY)


@pytest.mark.anyio
async def test_logs_and_errors_over_real_transports_hold_no_key(
    emmi_log: None, caplog: pytest.LogCaptureFixture, server: LoopbackServer
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, aiohttp, asyncio

    def unauthorised(request: object, index: int) -> tuple[int, dict[str, str], bytes]:
        return 401, {"X-Request-ID": "r401"}, b'{"error": {"message": "unknown key"}}'

    async with AsyncEmmi(
        api_key=MULTI_KEY, end_user_id=END_USER, base_url=server.base_url
    ) as client:
        await client.request("GET", "usage", scope="account")
        server.behaviour = unauthorised
        exc = await _fail(client)
    assert isinstance(exc, AuthenticationError)
    assert server.requests[-1].header_values("x-api-key") == [MULTI_KEY]
    assert server.requests[-1].header_values("user-agent") == [USER_AGENT]
    text = caplog.text + "\n" + _everything_about(exc)
    assert_no_key(text, MULTI_KEY)
    assert "r401" in text


def test_validation_errors_hold_no_key() -> None:
    for key in ALL_KEYS:
        for broken in (key + "\n", " " + key, key + "!", key + "é"):
            with pytest.raises(ValueError) as info:
                AsyncEmmi(api_key=broken)
            # Not with locals: the caller's own frames hold the argument it passed.
            assert_no_key(_everything_about(info.value, with_locals=False), key)
            # But rendering the frames with their locals works (a half-built client has a repr).
            assert "AsyncEmmi(auth=None" in "".join(
                traceback.TracebackException.from_exception(
                    info.value, capture_locals=True
                ).format()
            )
