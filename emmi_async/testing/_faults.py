"""Fault injection: which misfortune, if any, befalls one request.

A :class:`FaultConfig` gives a probability per fault kind; a :class:`FaultInjector` draws
from a seeded ``random.Random``, once per request, so a run is reproducible from its seed
(for a given arrival order) and a retried request draws again and may succeed. Faults are
decided before authentication, as by the network, proxies and overloaded servers in front
of the service: an injected status is answered without processing the request (and is
not counted as usage); a dropped connection, or a truncated, malformed or slow body,
spoils the delivery of the real, processed response (counted as usage, as when a network
fails after the server did the work).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["INJECTABLE_STATUSES", "FaultConfig", "FaultInjector", "FaultKind", "FaultPlan"]

INJECTABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses :attr:`FaultConfig.status_rates` may inject."""


class FaultKind(enum.Enum):
    """What goes wrong with one request."""

    NONE = "none"
    STATUS = "status"
    """An error response with :attr:`FaultPlan.status` (429 carries ``Retry-After``)."""
    DROP = "drop"
    """The connection closes before any byte of the response."""
    TRUNCATE = "truncate"
    """Headers announce the full ``Content-Length``, half the body follows, then a close."""
    MALFORMED = "malformed"
    """A 200 whose ``application/json`` body is not valid JSON."""
    SLOW_BODY = "slow_body"
    """The right response, its body sent in chunks spread over ``slow_body_ms``."""


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Probabilities (each in [0, 1], summing to at most 1) of each fault, plus latency.

    ``status_rates`` maps a status of :data:`INJECTABLE_STATUSES` to its probability.
    ``latency_ms`` is added to every request, plus a uniform draw in
    ``[0, latency_jitter_ms]``. ``paths``, when given, limits faults and latency to those
    paths (without ``/api/v1``, e.g. ``"/emissions-estimates"``). ``seed`` defaults to the
    server's seed.
    """

    status_rates: Mapping[int, float] = field(default_factory=dict)
    retry_after: int = 1
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    slow_body_rate: float = 0.0
    slow_body_ms: float = 200.0
    paths: frozenset[str] | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = [*self.status_rates.values(), *self._kind_rates().values()]
        for status in self.status_rates:
            if status not in INJECTABLE_STATUSES:
                raise ValueError(f"cannot inject status {status}: use one of 429, 500, 502-504")
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("every fault rate must lie in [0, 1]")
        if sum(rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")
        if self.retry_after < 1:
            raise ValueError("retry_after must be at least 1 second")
        if min(self.latency_ms, self.latency_jitter_ms, self.slow_body_ms) < 0:
            raise ValueError("latencies must not be negative")

    @classmethod
    def transient(cls, error_rate: float, **kwargs: object) -> FaultConfig:
        """``error_rate`` split evenly over 500, 502 and 503 (what ``--error-rate`` means)."""
        share = error_rate / 3
        return cls(status_rates={500: share, 502: share, 503: share}, **kwargs)  # type: ignore[arg-type]

    def _kind_rates(self) -> dict[FaultKind, float]:
        return {
            FaultKind.DROP: self.drop_rate,
            FaultKind.TRUNCATE: self.truncate_rate,
            FaultKind.MALFORMED: self.malformed_rate,
            FaultKind.SLOW_BODY: self.slow_body_rate,
        }

    @property
    def active(self) -> bool:
        """Whether this configuration can change any request at all."""
        return bool(
            self.latency_ms
            or self.latency_jitter_ms
            or any(self.status_rates.values())
            or any(self._kind_rates().values())
        )


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The fate of one request: a kind, its status (for ``STATUS``) and a delay."""

    kind: FaultKind
    status: int = 0
    delay_s: float = 0.0
    slow_body_s: float = 0.0


NO_FAULT = FaultPlan(FaultKind.NONE)


class FaultInjector:
    """Draws a :class:`FaultPlan` per request from a config and a seeded generator."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rng = random.Random(config.seed if config.seed is not None else seed)
        self._active = config.active
        table: list[tuple[float, FaultKind, int]] = []
        cumulative = 0.0
        for status in sorted(config.status_rates):
            cumulative += config.status_rates[status]
            table.append((cumulative, FaultKind.STATUS, status))
        for kind, rate in config._kind_rates().items():
            cumulative += rate
            table.append((cumulative, kind, 0))
        self._table = table

    def draw(self, path: str) -> FaultPlan:
        """The plan for a request to ``path`` (two draws from the generator when active)."""
        if not self._active:
            return NO_FAULT
        config = self.config
        if config.paths is not None and path not in config.paths:
            return NO_FAULT
        roll = self._rng.random()
        jitter = self._rng.random() * config.latency_jitter_ms
        delay_s = (config.latency_ms + jitter) / 1000.0
        for bound, kind, status in self._table:
            if roll < bound:
                return FaultPlan(kind, status, delay_s, config.slow_body_ms / 1000.0)
        return FaultPlan(FaultKind.NONE, 0, delay_s)
