"""Retries: which failures are retried, how long the pipeline waits, and ``max_retries``."""

from __future__ import annotations

import email.utils
import random
import types
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async import _retry
from emmi_async._base_client import MalformedResponseError
from emmi_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    ServerError,
)
from emmi_async._retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after

from ._support import Recorder, error, mock_client, ok
from .conftest import SleepRecorder

# -- the policy ------------------------------------------------------------------------------

delays = st.floats(min_value=1e-3, max_value=100.0)


@given(initial=delays, cap=delays, retries=st.integers(0, 200), seed=st.integers())
def test_backoff_stays_within_half_and_full_capped_delay(
    initial: float, cap: float, retries: int, seed: int
) -> None:
    policy = RetryPolicy(initial_delay=initial, max_delay=cap)
    ceiling = min(cap, initial * 2.0 ** min(retries, 32))
    wait = policy.backoff(retries, random.Random(seed))
    assert ceiling / 2 <= wait <= ceiling
    assert wait <= cap


def test_backoff_defaults_grow_then_cap() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    bounds = [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (4.0, 8.0), (4.0, 8.0)]
    for retries, (low, high) in enumerate(bounds):
        for _ in range(50):
            assert low <= policy.backoff(retries, rng) <= high
    assert policy.backoff(10**6, rng) <= 8.0  # no overflow on absurd counts


def test_backoff_is_jittered() -> None:
    policy = RetryPolicy()
    waits = {policy.backoff(3) for _ in range(20)}
    assert len(waits) > 1


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_delay": 0}, {"initial_delay": -1}, {"max_delay": 0}, {"max_retry_after": -1}],
)
def test_policy_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_retryable_statuses() -> None:
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRYABLE_STATUSES


# -- Retry-After -----------------------------------------------------------------------------


@given(st.integers(0, 10**6))
def test_retry_after_seconds(seconds: int) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": str(seconds)})) == float(seconds)
    assert parse_retry_after(httpx.Headers({"retry-after": f"  {seconds} "})) == float(seconds)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_retry_after_fractional_seconds(seconds: float) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": repr(seconds)})) == seconds


@given(st.integers(-(10**6), 10**6))
def test_retry_after_as_http_date(offset: int) -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + offset, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": header}), now=now) == max(0, offset)


@pytest.mark.parametrize(
    "value", ["soon", "", "nan", "inf", "-inf", "0x10", "Wed, 99 Foo 2015 07:28:00 GMT",
              "Wed, 21 Oct 2015 07:28:00 -0000"],
)  # fmt: skip
def test_unparseable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": value})) is None


def test_past_and_negative_retry_after_mean_now() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "-5"})) == 0.0
    past = email.utils.formatdate(1_000_000_000, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past})) == 0.0
    assert parse_retry_after(httpx.Headers({})) is None


# -- the pipeline ----------------------------------------------------------------------------

pytestmark = pytest.mark.anyio


class GarbledStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"\x00 this is not gzip"


FAILURES: dict[str, Callable[[httpx.Request], httpx.Response | Exception]] = {
    "connect-error": lambda _: httpx.ConnectError("connection refused"),
    "read-error": lambda _: httpx.ReadError("connection reset by peer"),
    "dropped-keep-alive": lambda _: httpx.RemoteProtocolError(
        "Server disconnected without sending a response."
    ),
    "read-timeout": lambda _: httpx.ReadTimeout("timed out"),
    "connect-timeout": lambda _: httpx.ConnectTimeout("timed out"),
    "pool-timeout": lambda _: httpx.PoolTimeout("timed out"),
    "invalid-json": lambda _: httpx.Response(
        200, content=b'{"results": [', headers={"X-Request-ID": "r"}
    ),
    "garbled-encoding": lambda _: httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=GarbledStream()
    ),
    **{str(status): (lambda _, s=status: error(s)) for status in sorted(RETRYABLE_STATUSES)},
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_transient_failures_are_retried(
    failure: Callable[[httpx.Request], httpx.Response | Exception], sleeps: SleepRecorder
) -> None:
    client, recorder = mock_client(Recorder([failure, ok({"done": 1})]))
    async with client:
        response = await client.request("POST", "emissions-estimates", scope="data", json=[])
    assert response.data == {"done": 1}
    assert response.attempts == recorder.count == 2
    assert len(sleeps.calls) == 1
    assert 0.25 <= sleeps.calls[0] <= 0.5


EXPECTED_ERROR = {
    "connect-error": APIConnectionError,
    "read-error": APIConnectionError,
    "dropped-keep-alive": APIConnectionError,
    "read-timeout": APITimeoutError,
    "connect-timeout": APITimeoutError,
    "pool-timeout": APITimeoutError,
    "invalid-json": MalformedResponseError,
    "garbled-encoding": MalformedResponseError,
    **{
        str(status): RateLimitError if status == 429 else APIStatusError
        for status in RETRYABLE_STATUSES
    },
}


@pytest.mark.parametrize("name", FAILURES.keys())
async def test_retries_give_up_after_max_retries(name: str, sleeps: SleepRecorder) -> None:
    failure = FAILURES[name]
    client, recorder = mock_client(Recorder([failure]), max_retries=3)
    async with client:
        with pytest.raises(EXPECTED_ERROR[name]) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    assert info.value.attempts == recorder.count == 4
    assert len(sleeps.calls) == 3
    for retries, wait in enumerate(sleeps.calls):
        ceiling = min(8.0, 0.5 * 2**retries)
        assert ceiling / 2 <= wait <= ceiling


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 418, 451])
async def test_other_4xx_are_not_retried(status: int, sleeps: SleepRecorder) -> None:
    client, recorder = mock_client(
        Recorder([error(status, headers={"Retry-After": "1"}), ok()]), max_retries=5
    )
    async with client:
        with pytest.raises(APIStatusError) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    assert info.value.status_code == status
    assert info.value.attempts == recorder.count == 1
    assert sleeps.calls == []


async def test_max_retries_per_client_view_and_call(sleeps: SleepRecorder) -> None:
    client, recorder = mock_client(Recorder([error(503)]), max_retries=1)
    async with client:
        for target, kwargs, attempts in [
            (client, {}, 2),
            (client, {"max_retries": 0}, 1),
            (client, {"max_retries": 4}, 5),
            (client.with_options(max_retries=3), {}, 4),
            (client.with_options(max_retries=3), {"max_retries": 0}, 1),
            (client.with_options(max_retries=0), {"max_retries": 2}, 3),
        ]:
            before = recorder.count
            with pytest.raises(ServerError) as info:
                await target.request("GET", "usage", scope="account", **kwargs)
            assert info.value.attempts == recorder.count - before == attempts
        assert client.max_retries == 1  # views never change their parent
    assert mock_client()[0].max_retries == 2  # the default


async def test_retry_after_seconds_replaces_backoff(sleeps: SleepRecorder) -> None:
    client, _ = mock_client(
        Recorder(
            [
                error(429, headers={"Retry-After": "7"}),
                error(503, headers={"Retry-After": "0.25"}),
                error(429, headers={"Retry-After": "60"}),  # the cap itself is still waited for
                ok(),
            ]
        ),
        max_retries=3,
    )
    async with client:
        response = await client.request("GET", "usage", scope="account")
    assert response.attempts == 4
    assert sleeps.calls == [7.0, 0.25, 60.0]


async def test_pipeline_honours_retry_after_as_http_date(
    sleeps: SleepRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = 1_750_000_000.0
    monkeypatch.setattr(_retry, "time", types.SimpleNamespace(time=lambda: now))
    when = email.utils.formatdate(now + 12, usegmt=True)
    client, _ = mock_client(Recorder([error(429, headers={"Retry-After": when}), ok()]))
    async with client:
        response = await client.request("GET", "usage", scope="account")
    assert response.attempts == 2
    assert sleeps.calls == [12.0]


@pytest.mark.parametrize("retry_after", ["61", "3600", "86400.5"])
async def test_retry_after_beyond_the_cap_raises_at_once(
    retry_after: str, sleeps: SleepRecorder
) -> None:
    client, recorder = mock_client(
        Recorder([error(429, headers={"Retry-After": retry_after}), ok()]), max_retries=5
    )
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    assert info.value.retry_after == float(retry_after)
    assert info.value.attempts == recorder.count == 1
    assert sleeps.calls == []
    assert f"retry after {float(retry_after):g} s" in str(info.value)


async def test_rate_limit_error_after_retries_keeps_retry_after(sleeps: SleepRecorder) -> None:
    client, recorder = mock_client(
        Recorder([error(429, headers={"Retry-After": "2"})]), max_retries=2
    )
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "usage", scope="account")
    assert (info.value.retry_after, info.value.attempts, recorder.count) == (2.0, 3, 3)
    assert sleeps.calls == [2.0, 2.0]


async def test_429_without_retry_after_backs_off(sleeps: SleepRecorder) -> None:
    client, _ = mock_client(Recorder([error(429), error(429), ok()]))
    async with client:
        response = await client.request("GET", "usage", scope="account")
    assert response.attempts == 3
    assert 0.25 <= sleeps.calls[0] <= 0.5
    assert 0.5 <= sleeps.calls[1] <= 1.0


async def test_a_real_short_wait_is_slept() -> None:
    # Without the sleep stand-in: the pipeline really waits (here a tiny Retry-After).
    client, recorder = mock_client(Recorder([error(503, headers={"Retry-After": "0.01"}), ok()]))
    async with client:
        response = await client.request("GET", "health", scope="public")
    assert response.attempts == recorder.count == 2
