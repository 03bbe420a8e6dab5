"""``client.customers``: the customers an account key subdivides into."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from emmi_async._exceptions import ConflictError
from emmi_async.models import Customer, CustomerPage, decode
from emmi_async.resources._base import Resource

__all__ = ["Customers"]


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


class Customers(Resource):
    """Register, look up and list customers (account model)."""

    __slots__ = ()

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

    async def list(self, *, limit: int | None = None) -> AsyncIterator[Customer]:
        """Every customer of the account, fetching pages of ``limit`` as iteration goes."""
        if limit is not None and (isinstance(limit, bool) or not 1 <= limit <= 1000):
            raise ValueError(f"limit must be between 1 and 1000, got {limit!r}")
        after: str | None = None
        while True:
            params: dict[str, str | int] = {}
            if limit is not None:
                params["limit"] = limit
            if after is not None:
                params["after"] = after
            response = await self._client.request(
                "GET", "customers", scope="account", params=params
            )
            page = decode(response.data, CustomerPage)
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
