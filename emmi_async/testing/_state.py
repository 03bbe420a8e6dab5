"""The server's memory: keys, customers per account, usage counters and rate buckets.

Everything is in plain dicts. Customer ids are UUIDs derived from the seed, the account
key and the external id, so a run is reproducible. Usage counts successful data calls
(analysis POSTs and hazard look-ups) per key, UTC day, endpoint and subject (customer
UUID under an account key, end-user id under a multi-tenant key).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from emmi_async.testing._keys import KeyModel, key_model, make_key
from emmi_async.testing._ratelimit import Bucket, RateLimit, RateVerdict

__all__ = ["Customer", "ServerKeys", "ServerState"]

_NAMESPACE = uuid.UUID("6f1c2a52-3d0e-4f7a-9a53-0e1f5b8c2d47")


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer registered under an account key."""

    id: str
    external_id: str
    name: str | None
    created_at: str
    account_key: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "name": self.name,
            "created_at": self.created_at,
        }


class ServerState:
    """Keys, customers, usage and buckets of one reference server."""

    def __init__(
        self,
        *,
        seed: int,
        rate_limit: RateLimit | None,
        end_user_rate_limit: RateLimit | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self.models: dict[str, KeyModel] = {}
        self.customers: dict[str, Customer] = {}
        self._by_account: dict[str, dict[str, Customer]] = {}
        self._lock = threading.Lock()
        self.rate_limit = rate_limit
        self.end_user_rate_limit = end_user_rate_limit
        self._clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._usage: dict[tuple[str, str, str, str], list[int]] = {}
        self._day_cache: tuple[int, str] = (-1, "")

    # keys ------------------------------------------------------------------------------
    def new_key(self, model: KeyModel) -> str:
        """Issue a new key of ``model``, deterministic from the seed and issue order."""
        with self._lock:
            key = make_key(model, self._rng)
            self.models[key] = model
            if model == "account":
                self._by_account[key] = {}
            return key

    def add_key(self, key: str) -> KeyModel:
        """Accept an existing key string; its model follows from its format."""
        model = key_model(key)
        if model is None:
            raise ValueError("not an EMMI key format: emmi_sk_..., sk_test_single_..., ...")
        with self._lock:
            self.models[key] = model
            if model == "account":
                self._by_account.setdefault(key, {})
        return model

    # customers -------------------------------------------------------------------------
    def create_customer(
        self, account_key: str, external_id: str, name: str | None
    ) -> tuple[Customer, bool]:
        """The customer with ``external_id`` under the account, and whether it is new."""
        with self._lock:
            registry = self._by_account[account_key]
            existing = registry.get(external_id)
            if existing is not None:
                return existing, False
            ident = str(uuid.uuid5(_NAMESPACE, f"{self.seed}\0{account_key}\0{external_id}"))
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")
            customer = Customer(
                id=ident,
                external_id=external_id,
                name=name,
                created_at=created.replace("+00:00", "Z"),
                account_key=account_key,
            )
            registry[external_id] = customer
            self.customers[ident] = customer
            return customer, True

    def customers_of(self, account_key: str) -> list[Customer]:
        """The account's customers in creation order."""
        return list(self._by_account.get(account_key, {}).values())

    # rate limits -----------------------------------------------------------------------
    def take_token(self, key: str, end_user: str | None) -> RateVerdict | None:
        """Spend a token of the key's bucket (and the end user's); ``None`` when unlimited.

        The verdict reported is the refusing one, else the one with fewer tokens left.
        """
        verdict: RateVerdict | None = None
        if self.rate_limit is not None:
            verdict = self._bucket(key, "", self.rate_limit).take()
            if not verdict.allowed:
                return verdict
        if end_user is not None and self.end_user_rate_limit is not None:
            user = self._bucket(key, end_user, self.end_user_rate_limit).take()
            if verdict is None or not user.allowed or user.remaining < verdict.remaining:
                verdict = user
        return verdict

    def _bucket(self, key: str, end_user: str, limit: RateLimit) -> Bucket:
        bucket = self._buckets.get((key, end_user))
        if bucket is None:
            bucket = self._buckets[(key, end_user)] = Bucket(limit, self._clock)
        return bucket

    # usage -----------------------------------------------------------------------------
    def record(self, key: str, endpoint: str, subject: str, entities: int) -> None:
        """Count one successful data call of ``entities`` entities."""
        counter = self._usage.get((key, self._today(), endpoint, subject))
        if counter is None:
            counter = self._usage[(key, self._today(), endpoint, subject)] = [0, 0]
        counter[0] += 1
        counter[1] += entities

    def _today(self) -> str:
        day = int(time.time() // 86400)
        if day != self._day_cache[0]:
            self._day_cache = (
                day,
                datetime.fromtimestamp(day * 86400, timezone.utc).date().isoformat(),
            )
        return self._day_cache[1]

    def usage_rows(self, key: str, start: str, end: str) -> Iterable[tuple[str, str, int, int]]:
        """``(endpoint, subject, requests, entities)`` for ``key`` between two ISO days."""
        for (row_key, day, endpoint, subject), (requests, entities) in list(self._usage.items()):
            if row_key == key and start <= day <= end:
                yield endpoint, subject, requests, entities


class ServerKeys:
    """The keys a reference server accepts, and helpers to add keys and customers.

    ``account``, ``single`` and ``multi`` are the three keys made from the seed.
    """

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self.account: str = state.new_key("account")
        self.single: str = state.new_key("single")
        self.multi: str = state.new_key("multi")

    def __repr__(self) -> str:
        return f"ServerKeys(account={self.account!r}, single={self.single!r}, multi={self.multi!r})"

    def add(self, model: KeyModel) -> str:
        """Issue one more key of ``model`` (e.g. a second account), deterministic from the seed."""
        return self._state.new_key(model)

    def accept(self, key: str) -> KeyModel:
        """Accept a key of your own making; returns its model, read from its format."""
        return self._state.add_key(key)

    def register_customer(
        self, external_id: str, name: str | None = None, *, account_key: str | None = None
    ) -> str:
        """Register (or find) a customer under ``account_key`` (default: :attr:`account`).

        Returns its UUID, the value for ``X-Customer-ID``.
        """
        key = account_key or self.account
        if self._state.models.get(key) != "account":
            raise ValueError("customers belong to account keys (emmi_sk_...)")
        customer, _ = self._state.create_customer(key, external_id, name)
        return customer.id

    @property
    def all(self) -> dict[str, KeyModel]:
        """Every accepted key and its model."""
        return dict(self._state.models)
