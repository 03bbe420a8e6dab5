"""The one switch of OpenTelemetry support: whether anything is recorded, decided cheaply.

:func:`current` is the single guard the request pipeline and the batch runner consult.
It answers ``None`` (record nothing) unless the application has imported OpenTelemetry
*and* set a real tracer or meter provider; only then is :mod:`emmi_async._otel`, the one
module that imports ``opentelemetry``, imported. So:

- OpenTelemetry not installed, or installed but never imported by the application: one
  ``sys.modules`` look-up per request (no import, no span, no attribute built);
- imported but no provider set (the API's proxy or no-op providers): the two provider
  look-ups of the API per request;
- a provider set: spans and measurements (see :mod:`emmi_async._otel`). OpenTelemetry's
  providers can be set only once per process, so once both are real the answer is cached
  for good and the guard costs a global read.

This module imports nothing of OpenTelemetry and nothing above the transport layer; the
import of :mod:`emmi_async._otel` is lazy, at the first request after a provider is set.
The SDK never configures providers, exporters or readers: that is the application's job.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emmi_async._otel import Telemetry

__all__ = ["current", "reset"]

_OTEL_MODULES = ("opentelemetry.trace", "opentelemetry.metrics")

_final: Telemetry | None = None
"""Set once both providers are real: they cannot change any more."""
_partial: Telemetry | None = None
"""The instruments while only one of the two providers is real (re-checked per call)."""
_lock = threading.Lock()
_otel: ModuleType | None = None
""":mod:`emmi_async._otel`, once imported."""


def current() -> Telemetry | None:
    """The instruments to record with, or ``None`` when nothing would be recorded."""
    telemetry = _final
    if telemetry is not None:
        return telemetry
    modules = sys.modules
    if _OTEL_MODULES[0] not in modules and _OTEL_MODULES[1] not in modules:
        return None
    return _resolve()


def _resolve() -> Telemetry | None:
    global _final, _partial, _otel
    if _otel is None:
        from emmi_async import _otel as imported

        _otel = imported
    tracer_provider, meter_provider = _otel.providers()
    if tracer_provider is None and meter_provider is None:
        return None
    with _lock:  # blocking clients' loop threads may get here at once
        if _final is not None:
            return _final
        partial = _partial
        if (
            partial is not None
            and partial.tracer_provider is tracer_provider
            and partial.meter_provider is meter_provider
        ):
            return partial
        telemetry: Telemetry = _otel.Telemetry(tracer_provider, meter_provider)
        if tracer_provider is not None and meter_provider is not None:
            _final, _partial = telemetry, None
        else:
            _partial = telemetry
        return telemetry


def reset() -> None:
    """Forget the cached instruments (for tests that swap OpenTelemetry's global providers)."""
    global _final, _partial
    _final = _partial = None
