"""The ``emmi_async`` logger, and ``EMMI_LOG`` to switch on a handler for it.

Log lines never carry a key: the pipeline logs method, path, status, timing, attempt and
request id, and auth objects only ever render redacted.
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "setup_from_env"]

logger = logging.getLogger("emmi_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_handler: logging.Handler | None = None


def setup_from_env() -> None:
    """Attach one stderr handler to the logger when ``EMMI_LOG`` is debug, info or warning."""
    global _handler
    level = _LEVELS.get(os.environ.get("EMMI_LOG", "").strip().lower())
    if level is None:
        return
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(_handler)
    logger.setLevel(level)
