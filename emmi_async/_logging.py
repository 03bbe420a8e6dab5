"""The ``emmi_async`` logger, and ``EMMI_LOG`` to switch logging on.

``EMMI_LOG=info`` logs one line per request (httpx's ``HTTP Request: ...`` line) and one
per retry; ``debug`` adds the SDK's own line per response (timing, attempt, request id).
The ``httpx`` logger follows the same level, as openai's SDK does. An unknown value is a
``ValueError`` when the client is made. Each line appears once: when the application
has configured the root logger, the lines go to its handlers only; otherwise to one
stderr handler of ours.

Log lines never carry a key: the pipeline logs method, path, status, timing, attempt and
request id, and auth objects only ever render redacted.
"""

from __future__ import annotations

import logging
import os

__all__ = ["LEVELS", "logger", "setup_from_env"]

logger = logging.getLogger("emmi_async")

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
"""The values ``EMMI_LOG`` takes (any case); unset or empty leaves logging alone."""

_LOGGERS = ("emmi_async", "httpx")
_handler: logging.Handler | None = None


class _UnlessRootHandles(logging.Filter):
    """Drop a record when the root logger has handlers: it reaches them by propagation."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not logging.getLogger().handlers


def setup_from_env() -> None:
    """Apply ``EMMI_LOG``: set the level of our and httpx's loggers, attach our handler."""
    global _handler
    value = os.environ.get("EMMI_LOG", "").strip()
    if not value:
        return
    level = LEVELS.get(value.lower())
    if level is None:
        raise ValueError(f"EMMI_LOG must be one of {', '.join(LEVELS)} (or unset); got {value!r}")
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _handler.addFilter(_UnlessRootHandles())
    for name in _LOGGERS:
        named = logging.getLogger(name)
        if _handler not in named.handlers:
            named.addHandler(_handler)
        named.setLevel(level)
