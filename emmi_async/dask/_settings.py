"""What travels to the workers: the client's settings, with the key hidden from view.

A :class:`Secret` pickles with its value (the worker needs the key) but shows
``Secret('***')`` in every ``repr``, so the key appears in no task graph, dashboard or
log line. Settings left ``None`` come from the ``EMMI_*`` variables of each worker.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["ClientSettings", "Secret"]


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print ``***``.

    Args:
        value: the secret (an API key).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it (the client's auth)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


@attrs.frozen(kw_only=True)
class ClientSettings:
    """The settings of one worker client; equal settings share one client per process.

    Args:
        api_key: the key (hidden), or ``None`` for ``EMMI_API_KEY`` on the worker.
        customer_id: account keys: the customer, or ``None`` for ``EMMI_CUSTOMER_ID``.
        end_user_id: multi-tenant keys: the end user, or ``None`` for ``EMMI_END_USER_ID``.
        base_url: the API's base URL, or ``None`` for ``EMMI_BASE_URL`` (else the default).
        timeout: seconds per request (``None``: the client's default).
        max_connections: the worker client's pool size (``None``: the client's default;
            at least the run's ``max_concurrency`` is used).
    """

    api_key: Secret | None = None
    customer_id: str | None = None
    end_user_id: str | None = None
    base_url: str | None = None
    timeout: float | None = None
    max_connections: int | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~emmi_async.Emmi` (the key revealed)."""
        kwargs: dict[str, Any] = {
            "api_key": None if self.api_key is None else self.api_key.reveal(),
            "customer_id": self.customer_id,
            "end_user_id": self.end_user_id,
            "base_url": self.base_url,
        }
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        if self.max_connections is not None:
            kwargs["max_connections"] = self.max_connections
        return kwargs
