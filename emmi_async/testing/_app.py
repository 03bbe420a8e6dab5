"""The reference server's ASGI application: routing, authentication and the endpoints.

A plain ASGI callable (no framework, no middleware) so that the hot path stays short: a
dict lookup routes, one pass over the headers finds the auth headers, orjson parses and
serialises. Order per request: request id, fault draw (and latency), authentication,
rate limit, body checks (400, 413, 422), computation, usage accounting, delivery.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import anyio
import orjson

from emmi_async._version import __version__
from emmi_async.testing._canned import CannedResponses, count_entities
from emmi_async.testing._compute import CARBON_PRICE, COMPUTERS, hazard_risk
from emmi_async.testing._faults import NO_FAULT, FaultConfig, FaultInjector, FaultKind, FaultPlan
from emmi_async.testing._http import (
    ClientGone,
    Headers,
    Message,
    Receive,
    Send,
    deliver,
    error_body,
    read_body,
)
from emmi_async.testing._ratelimit import RateVerdict
from emmi_async.testing._state import ServerState
from emmi_async.testing._validate import validate_entities

__all__ = ["MAX_ENTITIES", "ReferenceApp"]

MAX_ENTITIES = 100
"""Most entities one analysis request may carry (413 above)."""

_PREFIX = "/api/v1"
_LATEST = "/latest/api/v1/customers"
_END_USER = re.compile(r"[A-Za-z0-9_-]{1,255}")
_JSON = (b"content-type", b"application/json")
_CUSTOMER_PAGE_DEFAULT = 20


class _Reply(Exception):
    """Raised inside a handler to answer at once (errors, mostly)."""

    def __init__(self, status: int, body: bytes, headers: Headers | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


class _Request:
    """What a handler needs of one request."""

    __slots__ = (
        "api_key",
        "body",
        "customer",
        "customer_header",
        "end_user",
        "end_user_header",
        "key",
        "path",
        "query",
        "request_id",
    )

    def __init__(self, path: str, request_id: str, query: bytes) -> None:
        self.path = path
        self.request_id = request_id
        self.query = query
        self.body = b""
        self.api_key: str | None = None
        self.customer_header: str | None = None
        self.end_user_header: str | None = None
        self.key = ""
        self.customer: str | None = None
        self.end_user: str | None = None

    def fail(self, status: int, code: str, message: str, **extra: Any) -> _Reply:
        return _Reply(status, error_body(status, code, message, self.request_id, **extra))

    def invalid(self, field: str, message: str) -> _Reply:
        details = [{"index": None, "field": field, "message": message}]
        return self.fail(422, "invalid_parameter", f"{field}: {message}", details=details)

    def params(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.query.decode("latin-1")).items()}


Handler = Callable[[_Request], tuple[int, bytes]]


class ReferenceApp:
    """The ASGI app of one reference server; ``faults`` may be replaced while it runs."""

    def __init__(
        self,
        state: ServerState,
        *,
        canned: bool = False,
        faults: FaultConfig | None = None,
        max_entities: int = MAX_ENTITIES,
    ) -> None:
        self.state = state
        self.canned = canned
        self.max_entities = max_entities
        self._canned = CannedResponses()
        self._injector = FaultInjector(faults or FaultConfig(), state.seed)
        self._ids = itertools.count(1)
        self._id_prefix = f"req_{state.seed & 0xFFFF:04x}"
        self._info_body = orjson.dumps(
            {
                "name": "EMMI API (emmi-async reference server)",
                "api_version": "v1",
                "version": __version__,
                "reference": True,
                "max_entities_per_request": max_entities,
                "scenarios": list(CARBON_PRICE),
                "endpoints": sorted([*_DATA, "/customers", "/usage", "/health"]),
            }
        )
        analysis: dict[str, Handler] = {"POST": self._analysis}
        self._routes: dict[str, dict[str, Handler]] = {
            "": {"GET": self._info},
            "/health": {"GET": self._health},
            "/hazard-risk": {"GET": self._hazard_risk},
            "/customers": {"GET": self._list_customers, "POST": self._create_customer},
            "/customers/{id}": {"GET": self._get_customer},
            "/usage": {"GET": self._usage},
            **dict.fromkeys(COMPUTERS, analysis),
        }

    @property
    def faults(self) -> FaultConfig:
        """The fault configuration in force; setting it restarts its seeded generator."""
        return self._injector.config

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        self._injector = FaultInjector(config or FaultConfig(), self.state.seed)

    # ASGI ------------------------------------------------------------------------------
    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = f"{self._id_prefix}{next(self._ids):012x}"
        raw_path: str = scope["path"]
        path = raw_path[7:] if raw_path.startswith(_LATEST) else raw_path
        path = path.rstrip("/")
        request = _Request(path[len(_PREFIX) :], request_id, scope.get("query_string", b""))
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                request.api_key = value.decode("latin-1")
            elif name == b"x-customer-id":
                request.customer_header = value.decode("latin-1")
            elif name == b"x-end-user-id":
                request.end_user_header = value.decode("latin-1")
        headers: Headers = [_JSON, (b"x-request-id", request_id.encode())]
        plan = self._injector.draw(request.path)
        try:
            request.body = await read_body(receive)
        except ClientGone:
            return
        if plan.delay_s:
            await anyio.sleep(plan.delay_s)
        if plan.kind is FaultKind.STATUS:
            await self._injected(send, request, headers, plan)
            return
        try:
            if not path.startswith(_PREFIX) or (len(path) > 7 and path[7] != "/"):
                raise request.fail(404, "not_found", f"no such path: {raw_path}")
            status, body = self._route(scope["method"], request, headers)
        except _Reply as reply:
            status, body = reply.status, reply.body
            headers.extend(reply.headers)
        await deliver(send, status, body, headers, plan)

    async def _injected(
        self, send: Send, request: _Request, headers: Headers, plan: FaultPlan
    ) -> None:
        status = plan.status
        if status == 429:
            headers.append((b"retry-after", str(self.faults.retry_after).encode()))
            body = error_body(429, "rate_limited", "injected fault: slow down", request.request_id)
        else:
            message = f"injected fault: {status}"
            body = error_body(status, "injected_fault", message, request.request_id)
        await deliver(send, status, body, headers, NO_FAULT)

    def _route(self, method: str, request: _Request, headers: Headers) -> tuple[int, bytes]:
        path = request.path
        entry = self._routes.get(path)
        if entry is None and path.startswith("/customers/") and path.count("/") == 2:
            entry = self._routes["/customers/{id}"]
        if entry is None:
            raise request.fail(404, "not_found", f"no such path: {_PREFIX}{path}")
        handler = entry.get(method)
        if handler is None:
            reply = request.fail(405, "method_not_allowed", f"{method} is not allowed here")
            reply.headers.append((b"allow", ", ".join(sorted(entry)).encode()))
            raise reply
        if path not in _PUBLIC:
            self._authenticate(request, headers)
        return handler(request)

    # authentication --------------------------------------------------------------------
    def _authenticate(self, request: _Request, headers: Headers) -> None:
        """Check the key and its subject header, take a rate token; raise on refusal."""
        key = request.api_key
        if not key:
            raise request.fail(401, "missing_api_key", "the X-API-Key header is required")
        model = self.state.models.get(key)
        if model is None:
            raise request.fail(401, "invalid_api_key", "unknown API key")
        request.key = key
        account_only = request.path.startswith("/customers")
        if model == "account":
            if request.path in _DATA:
                request.customer = self._customer_of(request, key)
        elif account_only:
            message = "customers belong to account keys (emmi_sk_...)"
            raise request.fail(403, "account_key_required", message)
        if model == "multi":
            end_user = request.end_user_header
            if end_user is None:
                message = "the X-End-User-Id header is required with a multi-tenant key"
                raise request.fail(403, "end_user_id_required", message)
            if not _END_USER.fullmatch(end_user):
                rule = "only A-Z a-z 0-9 _ -, 1 to 255 characters"
                details = [{"index": None, "field": "X-End-User-Id", "message": rule}]
                message = f"invalid X-End-User-Id: {rule}"
                raise request.fail(422, "invalid_end_user_id", message, details=details)
            request.end_user = end_user
        verdict = self.state.take_token(key, request.end_user)
        if verdict is not None:
            _rate_headers(headers, verdict)
            if not verdict.allowed:
                reply = request.fail(429, "rate_limited", "rate limit exceeded")
                reply.headers.append((b"retry-after", str(verdict.retry_after_s).encode()))
                raise reply

    def _customer_of(self, request: _Request, key: str) -> str:
        header = request.customer_header
        if not header:
            message = "the X-Customer-ID header is required with an account key"
            raise request.fail(403, "customer_id_required", message)
        customer = self.state.customers.get(header.strip().lower())
        if customer is None or customer.account_key != key:
            raise request.fail(403, "unknown_customer", "no such customer under this account")
        return customer.id

    def _record(self, request: _Request, entities: int) -> None:
        subject = request.customer or request.end_user or ""
        self.state.record(request.key, request.path, subject, entities)

    # endpoints ---------------------------------------------------------------------------
    def _info(self, request: _Request) -> tuple[int, bytes]:
        return 200, self._info_body

    def _health(self, request: _Request) -> tuple[int, bytes]:
        return 200, b'{"status":"ok"}'

    def _analysis(self, request: _Request) -> tuple[int, bytes]:
        path = request.path
        if self.canned:
            count = count_entities(request.body)
            self._check_size(request, count)
            self._record(request, count)
            return 200, self._canned.body(path, count)
        try:
            entities = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise request.fail(400, "invalid_json", "the body is not valid JSON") from None
        if not isinstance(entities, list):
            raise request.fail(400, "invalid_body", "the body must be a JSON array of entities")
        self._check_size(request, len(entities))
        problems = validate_entities(path, entities)
        if problems:
            bad = len({problem["index"] for problem in problems})
            message = f"{len(problems)} problem(s) in {bad} of {len(entities)} entities"
            raise request.fail(422, "validation_failed", message, details=problems)
        compute = COMPUTERS[path]
        body = orjson.dumps({"results": [compute(entity) for entity in entities]})
        self._record(request, len(entities))
        return 200, body

    def _check_size(self, request: _Request, count: int) -> None:
        if count > self.max_entities:
            message = f"{count} entities in one request; at most {self.max_entities} allowed"
            raise request.fail(413, "too_many_entities", message)

    def _hazard_risk(self, request: _Request) -> tuple[int, bytes]:
        params = request.params()
        coordinates = []
        for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
            try:
                value = float(params[name])
            except KeyError:
                raise request.invalid(name, "is required") from None
            except ValueError:
                raise request.invalid(name, "must be a number") from None
            if not -bound <= value <= bound:
                raise request.invalid(name, f"must lie between -{bound:g} and {bound:g}")
            coordinates.append(value)
        self._record(request, 1)
        return 200, orjson.dumps(hazard_risk(coordinates[0], coordinates[1]))

    def _create_customer(self, request: _Request) -> tuple[int, bytes]:
        try:
            payload = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise request.fail(400, "invalid_json", "the body is not valid JSON") from None
        if not isinstance(payload, dict):
            raise request.fail(400, "invalid_body", "the body must be a JSON object")
        external_id = payload.get("external_id")
        name = payload.get("name")
        if not isinstance(external_id, str) or not 1 <= len(external_id) <= 255:
            raise request.invalid("external_id", "is required, a string of 1 to 255 characters")
        if name is not None and (not isinstance(name, str) or len(name) > 255):
            raise request.invalid("name", "must be a string of at most 255 characters")
        customer, created = self.state.create_customer(request.key, external_id, name)
        if not created:
            message = f"a customer with external_id {external_id!r} exists: {customer.id}"
            details = [
                {
                    "field": "external_id",
                    "message": "already registered",
                    "existing_id": customer.id,
                }
            ]
            raise request.fail(
                409, "customer_exists", message, details=details, existing_id=customer.id
            )
        return 201, orjson.dumps(customer.to_json())

    def _get_customer(self, request: _Request) -> tuple[int, bytes]:
        ident = request.path.rsplit("/", 1)[1].lower()
        customer = self.state.customers.get(ident)
        if customer is None or customer.account_key != request.key:
            raise request.fail(404, "customer_not_found", "no such customer under this account")
        return 200, orjson.dumps(customer.to_json())

    def _list_customers(self, request: _Request) -> tuple[int, bytes]:
        params = request.params()
        try:
            limit = int(params.get("limit", _CUSTOMER_PAGE_DEFAULT))
        except ValueError:
            raise request.invalid("limit", "must be an integer") from None
        if not 1 <= limit <= 100:
            raise request.invalid("limit", "must lie between 1 and 100")
        customers = self.state.customers_of(request.key)
        start = 0
        after = params.get("after")
        if after is not None:
            ids = [customer.id for customer in customers]
            if after.lower() not in ids:
                raise request.invalid("after", "unknown cursor")
            start = ids.index(after.lower()) + 1
        page = customers[start : start + limit]
        has_more = start + limit < len(customers)
        body = {
            "data": [customer.to_json() for customer in page],
            "has_more": has_more,
            "next_cursor": page[-1].id if has_more and page else None,
        }
        return 200, orjson.dumps(body)

    def _usage(self, request: _Request) -> tuple[int, bytes]:
        params = request.params()
        period = {}
        for name in ("start", "end"):
            if name not in params:
                raise request.invalid(name, "is required (YYYY-MM-DD)")
            try:
                period[name] = date.fromisoformat(params[name]).isoformat()
            except ValueError:
                raise request.invalid(name, "must be a date, YYYY-MM-DD") from None
        if period["start"] > period["end"]:
            raise request.invalid("end", "must not come before start")
        model = self.state.models[request.key]
        wanted = params.get("customer_id") if model == "account" else params.get("end_user_id")
        if model == "account" and wanted is not None:
            wanted = wanted.lower()
            customer = self.state.customers.get(wanted)
            if customer is None or customer.account_key != request.key:
                raise request.fail(404, "customer_not_found", "no such customer under this account")
        totals = _Tally()
        subjects: dict[str, _Tally] = {}
        for endpoint, subject, requests, entities in self.state.usage_rows(
            request.key, period["start"], period["end"]
        ):
            if wanted is not None and subject != wanted:
                continue
            totals.add(endpoint, requests, entities)
            subjects.setdefault(subject, _Tally()).add(endpoint, requests, entities)
        body: dict[str, Any] = {"period": period, **totals.to_json()}
        if model == "account":
            body["by_customer"] = [
                {"customer_id": c.id, "external_id": c.external_id, **subjects[c.id].to_json()}
                for c in self.state.customers_of(request.key)
                if c.id in subjects
            ]
        elif model == "multi":
            body["by_end_user"] = [
                {"end_user_id": subject, **subjects[subject].to_json()}
                for subject in sorted(subjects)
            ]
        return 200, orjson.dumps(body)


class _Tally:
    """Requests and entities, in total and per endpoint."""

    def __init__(self) -> None:
        self.requests = 0
        self.entities = 0
        self.by_endpoint: dict[str, dict[str, int]] = {}

    def add(self, endpoint: str, requests: int, entities: int) -> None:
        self.requests += requests
        self.entities += entities
        slot = self.by_endpoint.setdefault(endpoint, {"requests": 0, "entities": 0})
        slot["requests"] += requests
        slot["entities"] += entities

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "entities": self.entities,
            "by_endpoint": dict(sorted(self.by_endpoint.items())),
        }


def _rate_headers(headers: Headers, verdict: RateVerdict) -> None:
    headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
    headers.append((b"x-ratelimit-remaining", str(verdict.remaining).encode()))
    headers.append((b"x-ratelimit-reset", str(verdict.reset_s).encode()))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_PUBLIC = frozenset({"", "/health"})
_DATA = frozenset({*COMPUTERS, "/hazard-risk"})
