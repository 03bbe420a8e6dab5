"""Adapters that let one runner drive any endpoint: analysis POSTs and hazard look-ups.

An adapter prepares one input item (coerce + validate, raising for a bad one; the result
is what is sent for it), encodes a chunk, fetches its response once (``max_retries=0``: the
runner owns retries), decodes that response into one result per item, and finds the
results in a response body that the journal kept. Fetching and decoding are separate steps
so that the run can keep a response as bytes until its consumer is ready for the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from emmi_async._base_client import BaseClient, parse_body, share_pool
from emmi_async._exceptions import ResponseMismatchError
from emmi_async._response import APIResponse
from emmi_async.batch._collector import collector_paused
from emmi_async.models import AnalysisSpec, HazardRisk, decode, structure
from emmi_async.resources import Hazards, Resource, spec_of
from emmi_async.resources._base import client_of
from emmi_async.resources.hazards import check_coordinates

__all__ = ["Operation", "analysis_results", "operation_for", "post_chunk"]


class Operation(Protocol):
    """What the run needs of an endpoint."""

    name: str
    max_chunk: int

    def prepare(self, item: Any, index: int) -> Any:
        """What is sent for one input item (its JSON bytes for an analysis endpoint);
        raises ``ValueError``/``TypeError`` if the item is bad."""

    def identifier(self, item: Any) -> str | None:
        """The item's identifier, read leniently (also from a bad item)."""

    def sent_bytes(self, prepared: Any) -> bytes:
        """What is sent for an item, as bytes: the journal keeps a digest of it to check
        that a resumed run has the same input."""

    def encode(self, prepared: Sequence[Any]) -> bytes | None:
        """The request body for a chunk of prepared items (``None`` for a GET)."""

    async def fetch(
        self, client: BaseClient, items: Sequence[Any], body: bytes | None
    ) -> APIResponse:
        """One request for the chunk (``body``, or the items themselves for a GET); the
        response's body is left unparsed."""

    def decode(self, response: APIResponse, count: int) -> Any:
        """The payload of exactly ``count`` results, in order, from a response of
        :meth:`fetch` (a list of models; a table on the table path).

        Raises an :class:`~emmi_async.EmmiError` (a body that is not JSON, does not fit the
        models, or holds another number of results) that the runner may retry.
        """

    def results_in(self, body: Any) -> list[Any]:
        """The results, in order, in a response body of :meth:`fetch` as parsed JSON (what
        the journal keeps of a success); raises ``ValueError`` or ``TypeError`` when it
        holds none."""

    def result_from_json(self, data: Any) -> Any:
        """A result as the payload holds it again, from its JSON in the journal."""


async def post_chunk(
    client: BaseClient, endpoint: str, body: bytes | None, entities: int
) -> APIResponse:
    """One attempt at a chunk's POST to an analysis ``endpoint`` (the run decides retries),
    its body left as bytes for the operation to decode."""
    return await client.request(
        "POST",
        endpoint,
        scope="data",
        content=body,
        max_retries=0,
        parse=False,
        entities=entities,
    )


def analysis_results(body: Any) -> list[Any]:
    """The results of an analysis response body (``{"results": [...]}``, or a bare array,
    which :meth:`~emmi_async.models.AnalysisSpec.decode` accepts too)."""
    results = body.get("results") if isinstance(body, Mapping) else body
    if not isinstance(results, list):
        raise TypeError("the body holds no list of results")
    return results


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _identifier_of(item: Any) -> str | None:
    if type(item) is dict:  # the common case, without the ABC checks of ``_field``
        info = item.get("entity_info")
        if type(info) is dict:
            value = info.get("identifier")
            return value if type(value) is str else _identifier_of_info(info)
        return _identifier_of_info(info)
    return _identifier_of_info(_field(item, "entity_info"))


def _identifier_of_info(info: Any) -> str | None:
    value = _field(info, "identifier")
    return value if isinstance(value, str) else None


class AnalysisOperation:
    """An analysis POST described by an :class:`~emmi_async.models.AnalysisSpec`."""

    def __init__(self, spec: AnalysisSpec[Any, Any]) -> None:
        self.spec = spec
        self.name = spec.name
        self.max_chunk = spec.max_entities

    def prepare(self, item: Any, index: int) -> bytes:
        # Checked and encoded at once: a valid plain dict never becomes models.
        return self.spec.prepare_json(item, index)

    def sent_bytes(self, prepared: Any) -> bytes:
        assert isinstance(prepared, bytes)
        return prepared

    def identifier(self, item: Any) -> str | None:
        return _identifier_of(item)

    def encode(self, prepared: Sequence[Any]) -> bytes | None:
        return b"[" + b",".join(prepared) + b"]"

    async def fetch(
        self, client: BaseClient, prepared: Sequence[Any], body: bytes | None
    ) -> APIResponse:
        return await post_chunk(client, self.name, body, len(prepared))

    def decode(self, response: APIResponse, count: int) -> list[Any]:
        with collector_paused():  # acyclic: the collector catches up afterwards
            body = parse_body(response)  # not JSON: MalformedResponseError, as a call
            results = self.spec.decode(body, consume=True, source=response.http_response.content)
        if len(results) != count:
            raise ResponseMismatchError(
                f"{self.name}: sent {count} entities, the response holds "
                f"{len(results)} results (request id {response.request_id})"
            )
        return results

    def results_in(self, body: Any) -> list[Any]:
        return analysis_results(body)

    def result_from_json(self, data: Any) -> Any:
        return self.spec.decode([data])[0]


class HazardOperation:
    """``GET /hazard-risk`` per location; items are ``{"latitude", "longitude"}`` or pairs."""

    name = "hazard-risk"
    max_chunk = 1

    def prepare(self, item: Any, index: int) -> Any:
        if isinstance(item, Mapping):
            missing = [key for key in ("latitude", "longitude") if key not in item]
            if missing:
                raise ValueError(f"location {index}: missing {', '.join(missing)}")
            return check_coordinates(item["latitude"], item["longitude"])
        if isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) == 2:
            return check_coordinates(item[0], item[1])
        raise TypeError(
            f"location {index}: expected {{'latitude', 'longitude'}} or a (lat, lon) pair, "
            f"not {type(item).__name__}"
        )

    def identifier(self, item: Any) -> str | None:
        value = item.get("identifier") if isinstance(item, Mapping) else None
        return value if isinstance(value, str) else None

    def sent_bytes(self, prepared: Any) -> bytes:
        return orjson.dumps(list(prepared))

    def encode(self, prepared: Sequence[Any]) -> bytes | None:
        return None

    async def fetch(
        self, client: BaseClient, prepared: Sequence[Any], body: bytes | None
    ) -> APIResponse:
        ((latitude, longitude),) = prepared
        return await client.request(
            "GET",
            self.name,
            scope="data",
            params={"latitude": repr(latitude), "longitude": repr(longitude)},
            max_retries=0,
            parse=False,
        )

    def decode(self, response: APIResponse, count: int) -> list[Any]:
        return [decode(parse_body(response), HazardRisk)]

    def results_in(self, body: Any) -> list[Any]:
        return [body]

    def result_from_json(self, data: Any) -> Any:
        return structure(data, HazardRisk)


def operation_for(operation: object, client: BaseClient) -> tuple[Operation, BaseClient]:
    """The adapter for a bound resource method, and the client (view) it belongs to."""
    owner = getattr(operation, "__self__", None)
    if isinstance(owner, Resource):
        bound_client = client_of(owner)
        if not share_pool(bound_client, client):
            raise ValueError("the operation belongs to another client than the runner's")
        client = bound_client
    spec = spec_of(operation)
    if spec is not None:
        return AnalysisOperation(spec), client
    if isinstance(owner, Hazards) and getattr(operation, "__name__", "") == "get":
        return HazardOperation(), client
    raise TypeError(
        "batch() takes an analysis method such as client.emissions.estimate, "
        f"or client.hazards.get; got {operation!r}"
    )
