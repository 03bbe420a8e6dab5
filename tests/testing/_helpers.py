"""Builders shared by the reference server's tests."""

from __future__ import annotations

from typing import Any

import httpx

from emmi_async.testing import ReferenceServer


def connect(server: ReferenceServer, **headers: str) -> httpx.AsyncClient:
    """A plain httpx client on ``server`` (relative paths hang off ``/api/v1/``)."""
    return httpx.AsyncClient(
        transport=server.transport(), base_url=server.base_url + "/", headers=headers
    )


def equity(data: list[dict[str, Any]], **info: Any) -> dict[str, Any]:
    """An equity entity in the sector Energy unless ``info`` says otherwise."""
    entity_info = {"identifier": "ID-1", "name": "Acme", "asset_type": "equity", "sector": "Energy"}
    entity_info.update(info)
    return {"entity_info": entity_info, "data": data}


def year(when: int, emissions: dict[str, Any] | None = None, **financials: Any) -> dict[str, Any]:
    """One ``data[]`` item (financials in USD when given)."""
    item: dict[str, Any] = {"year": when}
    if emissions is not None:
        item["emissions"] = emissions
    if financials:
        item["financials"] = {"currency": "USD", **financials}
    return item


def info_without_id(entity: dict[str, Any]) -> dict[str, Any]:
    """``entity_info`` as the server echoes it."""
    return {k: v for k, v in entity["entity_info"].items() if k != "identifier"}
