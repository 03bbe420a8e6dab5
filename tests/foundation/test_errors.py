"""Error mapping: each status to its class, and what an error carries."""

from __future__ import annotations

import pickle

import httpx
import pytest

from emmi_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EmmiError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from emmi_async._base_client import MalformedResponseError, parse_body

from ._support import Recorder, error, mock_client
from .conftest import SleepRecorder

pytestmark = pytest.mark.anyio

CLASSES = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: ServerError,
    501: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
    599: ServerError,
    405: APIStatusError,
    418: APIStatusError,
    302: APIStatusError,
}


@pytest.mark.parametrize(("status", "cls"), CLASSES.items(), ids=[str(s) for s in CLASSES])
async def test_status_maps_to_its_class(
    status: int, cls: type[APIStatusError], sleeps: SleepRecorder
) -> None:
    details = [{"index": 3, "field": "data[0].year", "message": "must be an int"}]
    client, _ = mock_client(
        Recorder([error(status, message="the reason", details=details)]), max_retries=0
    )
    async with client:
        with pytest.raises(APIStatusError) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    exc = info.value
    assert type(exc) is cls
    assert isinstance(exc, EmmiError)
    assert exc.status_code == status
    assert exc.request_id == f"req_{status}"
    assert (exc.type, exc.code, exc.details) == ("test_error", f"code_{status}", details)
    assert exc.body["error"]["message"] == "the reason"
    assert exc.error["request_id"] == f"req_{status}"
    assert exc.attempts == 1
    assert exc.response.status_code == status
    assert str(exc) == f"{status} the reason (request id req_{status})"


def test_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, EmmiError)
    assert issubclass(MalformedResponseError, APIConnectionError)
    for cls in set(CLASSES.values()):
        assert issubclass(cls, APIStatusError)
        assert issubclass(cls, EmmiError)


@pytest.mark.parametrize(
    ("response", "body", "message"),
    [
        (
            httpx.Response(502, text="<html>Bad gateway</html>", headers={"X-Request-ID": "r1"}),
            "<html>Bad gateway</html>",
            "502 Bad Gateway (request id r1)",
        ),
        (httpx.Response(404), None, "404 Not Found"),
        (
            httpx.Response(400, json=["not", "an", "object"]),
            ["not", "an", "object"],
            "400 Bad Request",
        ),
        (httpx.Response(409, json={"error": "conflict"}), {"error": "conflict"}, "409 Conflict"),
        (
            httpx.Response(422, json={"error": {"message": 5, "details": "x", "type": 1}}),
            {"error": {"message": 5, "details": "x", "type": 1}},
            "422 Unprocessable Entity",
        ),
        (
            httpx.Response(413, content=b"\xff\xfe garbage"),
            "\ufffd\ufffd garbage",
            "413 Request Entity Too Large",
        ),
    ],
    ids=["html", "empty", "json-list", "error-string", "odd-types", "binary"],
)
async def test_lenient_error_bodies(response: httpx.Response, body: object, message: str) -> None:
    client, _ = mock_client(Recorder([response]), max_retries=0)
    async with client:
        with pytest.raises(APIStatusError) as info:
            await client.request("GET", "usage", scope="account")
    exc = info.value
    assert exc.body == body
    assert str(exc) == message
    assert (exc.type, exc.code, exc.details) == (None, None, [])


async def test_long_text_bodies_are_cut() -> None:
    client, _ = mock_client(Recorder([httpx.Response(500, text="x" * 5000)]), max_retries=0)
    async with client:
        with pytest.raises(ServerError) as info:
            await client.request("GET", "usage", scope="account")
    assert info.value.body == "x" * 1000


async def test_rate_limit_error_carries_retry_after(sleeps: SleepRecorder) -> None:
    client, _ = mock_client(Recorder([error(429, headers={"Retry-After": "30"})]), max_retries=0)
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "usage", scope="account")
    assert info.value.retry_after == 30.0
    assert str(info.value).endswith("; retry after 30 s")
    client, _ = mock_client(Recorder([error(429)]), max_retries=0)
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.request("GET", "usage", scope="account")
    assert info.value.retry_after is None


async def test_attempts_count_every_request(sleeps: SleepRecorder) -> None:
    client, recorder = mock_client(Recorder([error(500), error(502), error(422)]), max_retries=5)
    async with client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    assert info.value.attempts == recorder.count == 3


async def test_timeouts_become_api_timeout_errors(sleeps: SleepRecorder) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    client, recorder = mock_client(Recorder([handler]), max_retries=1)
    async with client:
        with pytest.raises(APITimeoutError) as info:
            await client.request("POST", "emissions-estimates", scope="data", json=[])
    exc = info.value
    assert isinstance(exc, APIConnectionError)
    assert exc.attempts == recorder.count == 2
    assert "POST /api/v1/emissions-estimates: timed out (ReadTimeout)" in str(exc)
    assert exc.request is not None
    assert exc.request.url.path == "/api/v1/emissions-estimates"


async def test_connection_errors_are_not_timeouts() -> None:
    client, _ = mock_client(Recorder([httpx.ConnectError("refused")]), max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.request("GET", "health", scope="public")
    assert type(info.value) is APIConnectionError
    assert "ConnectError: refused" in str(info.value)
    assert info.value.attempts == 1


async def test_invalid_json_success_body(sleeps: SleepRecorder) -> None:
    client, _ = mock_client(Recorder([httpx.Response(200, content=b"<html>")]), max_retries=0)
    async with client:
        with pytest.raises(MalformedResponseError, match="200 with a body that is not JSON"):
            await client.request("GET", "health", scope="public")


async def test_unparsed_body_is_parsed_on_demand(sleeps: SleepRecorder) -> None:
    replies = [httpx.Response(200, content=b'{"status": "ok"}'), httpx.Response(200, content=b"<h")]
    client, _ = mock_client(Recorder(replies), max_retries=0)
    async with client:
        good = await client.request("GET", "health", scope="public", parse=False)
        assert good.data == b'{"status": "ok"}'
        assert parse_body(good) == {"status": "ok"}
        bad = await client.request("GET", "health", scope="public", parse=False)
        assert bad.data == b"<h"  # not JSON, yet not refused (nor retried) by the pipeline
        not_json = "200 with a body that is not JSON"
        with pytest.raises(MalformedResponseError, match=not_json) as info:
            parse_body(bad)
    assert info.value.attempts == 1
    assert sleeps.calls == []


async def test_status_errors_survive_pickling() -> None:
    client, _ = mock_client(
        Recorder([error(422, details=[{"index": 0}], headers={"X-Request-ID": "rq"})]),
        max_retries=0,
    )
    async with client:
        with pytest.raises(UnprocessableEntityError) as info:
            await client.request("POST", "climate-risk", scope="data", json=[])
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is UnprocessableEntityError
    assert (copy.status_code, copy.request_id, copy.details, copy.attempts) == (
        422,
        "rq",
        [{"index": 0}],
        1,
    )
    assert str(copy) == str(info.value)
