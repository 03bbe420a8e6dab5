"""What every resource module shares: the client handle and the analysis call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from emmi_async._base_client import BaseClient
from emmi_async._exceptions import ResponseMismatchError
from emmi_async._response import ResultList
from emmi_async.models import AnalysisSpec

__all__ = [
    "RawResponseResource",
    "Resource",
    "analyse",
    "analysis_method",
    "as_sequence",
    "client_of",
    "spec_of",
]

EntityT = TypeVar("EntityT")
ResultT = TypeVar("ResultT")
FuncT = TypeVar("FuncT", bound=Callable[..., Awaitable[Any]])

_SPEC_ATTRIBUTE = "__emmi_spec__"


class Resource:
    """A group of endpoints, reached through a client (``client.emissions``...)."""

    __slots__ = ("_client",)

    def __init__(self, client: BaseClient) -> None:
        self._client = client


ResourceT = TypeVar("ResourceT", bound=Resource)


def client_of(resource: Resource) -> BaseClient:
    """The client (or view) a resource sends through."""
    return resource._client


class RawResponseResource(Generic[ResourceT]):
    """``resource.with_raw_response``: the same methods, returning a :class:`RawResponse`.

    Each method takes the arguments of its plain twin and returns the response (status,
    headers, request id, rate-limit state) with ``.parse()`` giving the plain result.
    """

    __slots__ = ("_resource",)

    def __init__(self, resource: ResourceT) -> None:
        self._resource = resource


def analysis_method(spec: AnalysisSpec[Any, Any]) -> Callable[[FuncT], FuncT]:
    """Mark a resource method as the call of ``spec``, so the batch runner can drive it."""

    def mark(func: FuncT) -> FuncT:
        setattr(func, _SPEC_ATTRIBUTE, spec)
        return func

    return mark


def spec_of(operation: object) -> AnalysisSpec[Any, Any] | None:
    """The analysis spec of a bound resource method, or ``None`` if it has none."""
    spec = getattr(operation, _SPEC_ATTRIBUTE, None)
    return spec if isinstance(spec, AnalysisSpec) else None


def as_sequence(entities: object) -> Sequence[Any]:
    """One entity (model or mapping) as a one-item list; a sequence as it is."""
    if isinstance(entities, (Mapping, str, bytes)) or not isinstance(entities, Sequence):
        return [entities]
    return entities


async def analyse(
    client: BaseClient,
    spec: AnalysisSpec[EntityT, ResultT],
    entities: object,
    *,
    max_retries: int | None = None,
) -> ResultList[ResultT]:
    """Validate, send and decode one analysis call; results in input order.

    Every problem in the input is raised at once, as an
    :class:`~emmi_async.EntityValidationError`, before anything is sent; more entities
    than one request takes is one of them (the batch runner chunks, a call does not).
    """
    body, count = spec.prepare_body(as_sequence(entities))
    response = await client.request(
        "POST",
        spec.name,
        scope="data",
        content=body,
        max_retries=max_retries,
        entities=count,
    )
    results = spec.decode(response.data)
    if len(results) != count:
        raise ResponseMismatchError(
            f"{spec.name}: sent {count} entities but the response holds "
            f"{len(results)} results (request id {response.request_id}); "
            "refusing to match results to entities by position"
        )
    return ResultList(results, response.request_id)
