"""``client.customers``: the customers an account key subdivides into."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from emmi_async._exceptions import ConflictError
from emmi_async._response import RawResponse, raw_response
from emmi_async.models import Customer, CustomerPage, decode
from emmi_async.resources._base import RawResponseResource, Resource

__all__ = ["CustomersResource", "CustomersResourceWithRawResponse"]


def _check_external_id(external_id: object) -> str:
    if not isinstance(external_id, str):
        raise TypeError(f"external_id must be a str, not {type(external_id).__name__}")
    if not external_id.strip():
        raise ValueError("external_id must not be empty")
    return external_id


def _check_uuid(customer_id: object) -> str:
    if isinstance(customer_id, uuid.UUID):
        return str(customer_id)
    try:
        return str(uuid.UUID(str(customer_id)))
    except ValueError:
        raise ValueError(f"customer_id must be a UUID, got {customer_id!r}") from None


def existing_id(error: ConflictError) -> str | None:
    """The id of the existing customer a 409 names, wherever the body puts it."""
    candidates: list[Any] = [error.error.get(key) for key in ("customer_id", "id", "existing_id")]
    for detail in error.details:
        if isinstance(detail, Mapping):
            candidates += [detail.get(key) for key in ("customer_id", "id", "existing_id")]
    for candidate in candidates:
        if isinstance(candidate, str):
            try:
                return str(uuid.UUID(candidate))
            except ValueError:
                continue
    return None


class CustomersResource(Resource):
    """Register, look up and list customers (account model)."""

    __slots__ = ()

    @property
    def with_raw_response(self) -> CustomersResourceWithRawResponse:
        """These methods returning the raw response (status, headers, request id)."""
        return CustomersResourceWithRawResponse(self)

    async def create(self, *, external_id: str, name: str | None = None) -> Customer:
        """``POST /customers``: register a customer; raises ConflictError if it exists."""
        body: dict[str, str] = {"external_id": _check_external_id(external_id)}
        if name is not None:
            body["name"] = name
        response = await self._client.request("POST", "customers", scope="account", json=body)
        return decode(response.data, Customer)

    async def get(self, customer_id: str | uuid.UUID) -> Customer:
        """``GET /customers/{id}``."""
        path = f"customers/{_check_uuid(customer_id)}"
        response = await self._client.request("GET", path, scope="account")
        return decode(response.data, Customer)

    async def page(self, *, limit: int | None = None, after: str | None = None) -> CustomerPage:
        """``GET /customers``: one page of at most ``limit`` customers, after cursor ``after``."""
        if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= 1000):
            raise ValueError(f"limit must be between 1 and 1000, got {limit!r}")
        params: dict[str, str | int] = {}
        if limit is not None:
            params["limit"] = limit
        if after is not None:
            params["after"] = after
        response = await self._client.request("GET", "customers", scope="account", params=params)
        return decode(response.data, CustomerPage)

    async def list(self, *, limit: int | None = None) -> AsyncIterator[Customer]:
        """Every customer of the account, fetching pages of ``limit`` as iteration goes."""
        if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= 1000):
            raise ValueError(f"limit must be between 1 and 1000, got {limit!r}")
        after: str | None = None
        while True:
            page = await self.page(limit=limit, after=after)
            for customer in page.data:
                yield customer
            if not page.has_more or not page.next_cursor:
                return
            after = page.next_cursor

    async def ensure(self, *, external_id: str, name: str | None = None) -> Customer:
        """The customer with ``external_id``: created, or the existing one on a 409."""
        try:
            return await self.create(external_id=external_id, name=name)
        except ConflictError as conflict:
            customer_id = existing_id(conflict)
            if customer_id is not None:
                return await self.get(customer_id)
            async for customer in self.list():
                if customer.external_id == external_id:
                    return customer
            raise


class CustomersResourceWithRawResponse(RawResponseResource[CustomersResource]):
    """``client.customers.with_raw_response``: each method returning its response."""

    __slots__ = ()

    async def create(self, *, external_id: str, name: str | None = None) -> RawResponse[Customer]:
        """:meth:`CustomersResource.create`, with its response."""
        return await raw_response(self._resource.create, external_id=external_id, name=name)

    async def get(self, customer_id: str | uuid.UUID) -> RawResponse[Customer]:
        """:meth:`CustomersResource.get`, with its response."""
        return await raw_response(self._resource.get, customer_id)

    async def list(
        self, *, limit: int | None = None, after: str | None = None
    ) -> RawResponse[CustomerPage]:
        """One page of :meth:`CustomersResource.list`, with its response.

        ``after`` is the ``next_cursor`` of the page before (``None`` for the first);
        ``.parse()`` gives the :class:`~emmi_async.models.CustomerPage`.
        """
        return await raw_response(self._resource.page, limit=limit, after=after)

    async def ensure(self, *, external_id: str, name: str | None = None) -> RawResponse[Customer]:
        """:meth:`CustomersResource.ensure`, with its last response."""
        return await raw_response(self._resource.ensure, external_id=external_id, name=name)
