"""The one source of retry rules: the runner's pure chunk decision, and one table of what
every layer (pipeline, runner, CLI, table path) makes of each error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async._base_client import MalformedResponseError, make_status_error
from emmi_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    EntityValidationError,
    ResponseMismatchError,
)
from emmi_async._retry import (
    ChunkDecision,
    call_delay,
    decide_chunk,
    error_kind,
    is_permanent,
    server_wait,
)
from emmi_async.batch import BatchAbortedError, BatchDeadlineError
from emmi_async.frames import status_of

KINDS = ("split", "refused_key", "permanent", "rate_limited", "transient", "local")


def decide(kind: Any, **overrides: Any) -> ChunkDecision:
    arguments: dict[str, Any] = {
        "attempts": 1,
        "max_attempts": 6,
        "splittable": True,
        "budget_left": True,
        "failing_streak": False,
        "wait": None,
        "max_wait": 600.0,
        "backoff": 0.5,
    }
    arguments.update(overrides)
    return decide_chunk(kind, **arguments)


@pytest.mark.parametrize(
    ("kind", "overrides", "expected"),
    [
        ("split", {}, ChunkDecision("split")),
        ("split", {"splittable": False}, ChunkDecision("fail")),
        ("refused_key", {}, ChunkDecision("abort")),
        ("permanent", {}, ChunkDecision("fail")),
        ("rate_limited", {"wait": 2.0}, ChunkDecision("pause", 2.0)),
        ("rate_limited", {}, ChunkDecision("pause", 0.5)),
        ("rate_limited", {"wait": 601.0}, ChunkDecision("fail")),
        ("rate_limited", {"attempts": 11}, ChunkDecision("pause", 0.5)),
        ("rate_limited", {"attempts": 12}, ChunkDecision("fail")),
        ("rate_limited", {"budget_left": False}, ChunkDecision("pause", 0.5)),
        ("transient", {}, ChunkDecision("retry", 0.5)),
        ("transient", {"wait": 3.0}, ChunkDecision("pause", 3.0)),
        ("transient", {"wait": 601.0}, ChunkDecision("retry", 0.5)),
        ("transient", {"attempts": 6}, ChunkDecision("fail")),
        ("transient", {"budget_left": False}, ChunkDecision("fail")),
        ("transient", {"budget_left": False, "failing_streak": True}, ChunkDecision("abort")),
    ],
)
def test_chunk_decisions(kind: Any, overrides: dict[str, Any], expected: ChunkDecision) -> None:
    assert decide(kind, **overrides) == expected


@given(
    kind=st.sampled_from(KINDS),
    attempts=st.integers(1, 40),
    max_attempts=st.integers(1, 20),
    splittable=st.booleans(),
    budget_left=st.booleans(),
    failing_streak=st.booleans(),
    wait=st.one_of(st.none(), st.floats(0, 2000, allow_nan=False)),
    max_wait=st.floats(0, 1000, allow_nan=False),
    backoff=st.floats(0, 10, allow_nan=False),
)
def test_a_chunk_is_never_retried_past_its_limits(
    kind: Any,
    attempts: int,
    max_attempts: int,
    splittable: bool,
    budget_left: bool,
    failing_streak: bool,
    wait: float | None,
    max_wait: float,
    backoff: float,
) -> None:
    decision = decide_chunk(
        kind,
        attempts=attempts,
        max_attempts=max_attempts,
        splittable=splittable,
        budget_left=budget_left,
        failing_streak=failing_streak,
        wait=wait,
        max_wait=max_wait,
        backoff=backoff,
    )
    sends_again = decision.action in ("retry", "pause")
    # One action: sent again xor ended here (fail/abort) xor split.
    assert decision.action in ("retry", "pause", "split", "fail", "abort")
    if sends_again:
        assert decision.delay >= 0
        assert decision.delay <= max(max_wait, backoff)
        assert kind in ("transient", "rate_limited")
    else:
        assert decision.delay == 0.0
    if kind == "transient" and sends_again:
        assert attempts < max_attempts
        assert budget_left
    if kind == "rate_limited" and sends_again:
        assert attempts < 2 * max_attempts
    if decision.action == "split":
        assert splittable  # never below one entity
        assert kind == "split"
    if decision.action == "abort":
        assert kind == "refused_key" or (kind == "transient" and failing_streak)


def _status_error(status: int, headers: dict[str, str] | None = None) -> Exception:
    request = httpx.Request("POST", "https://example.test/api/v1/emissions-estimates")
    body = b'{"error": {"message": "no", "details": []}}'
    response = httpx.Response(status, headers=headers or {}, content=body, request=request)
    return make_status_error(response)


# error -> (pipeline retries it, runner's kind, status in tables and the CLI's results)
TABLE: list[tuple[str, Exception, bool, str, str]] = [
    ("400", _status_error(400), False, "permanent", "rejected"),
    ("401", _status_error(401), False, "refused_key", "error"),
    ("403", _status_error(403), False, "refused_key", "error"),
    ("404", _status_error(404), False, "permanent", "rejected"),
    ("408", _status_error(408), True, "transient", "error"),
    ("409", _status_error(409), False, "permanent", "rejected"),
    ("413", _status_error(413), False, "split", "rejected"),
    ("422", _status_error(422), False, "split", "rejected"),
    ("429", _status_error(429, {"retry-after": "1"}), True, "rate_limited", "error"),
    ("500", _status_error(500), True, "transient", "error"),
    ("502", _status_error(502), True, "transient", "error"),
    ("503", _status_error(503), True, "transient", "error"),
    ("504", _status_error(504), True, "transient", "error"),
    ("connection", APIConnectionError("dropped"), True, "transient", "error"),
    ("timeout", APITimeoutError("slow"), True, "transient", "error"),
    ("malformed", MalformedResponseError("not json"), True, "transient", "error"),
    ("mismatch", ResponseMismatchError("3 for 4"), True, "transient", "error"),
    ("deadline", BatchDeadlineError("late"), False, "local", "error"),
    ("aborted", BatchAbortedError("stop", APIConnectionError("x")), False, "local", "error"),
    ("invalid", EntityValidationError([]), False, "local", "invalid"),
    ("bad input", ValueError("not an entity"), False, "local", "invalid"),
]


@pytest.mark.parametrize(
    ("error", "retried", "kind", "status"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_every_layer_reads_an_error_the_same_way(
    error: Exception, retried: bool, kind: str, status: str
) -> None:
    delay = call_delay(error, retries_left=2, backoff=0.25, max_retry_after=60.0)
    assert (delay is not None) == retried
    assert error_kind(error) == kind
    assert is_permanent(error) == (status == "rejected")
    assert status_of(error) == status


def test_the_server_wait_is_read_from_any_error() -> None:
    assert server_wait(_status_error(429, {"retry-after": "7"})) == 7.0
    assert server_wait(_status_error(503, {"retry-after": "3"})) == 3.0
    assert server_wait(_status_error(500)) is None
    assert server_wait(APIConnectionError("x")) is None
    assert (
        call_delay(
            _status_error(503, {"retry-after": "90"}), retries_left=2, backoff=1, max_retry_after=60
        )
        is None
    )
