"""Public helper types of the SDK's signatures: the "not given" sentinel."""

from __future__ import annotations

from typing import Final

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: "this argument was not passed".

    Used where ``None`` is a meaningful value of its own: ``with_options(timeout=None)``
    means *no timeout*, ``with_options()`` (``timeout=NOT_GIVEN``) means *keep the
    client's timeout*. Like httpx's ``USE_CLIENT_DEFAULT``, it is falsy and has one
    instance; test for it with ``isinstance(value, NotGiven)``.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""The default of an optional argument whose ``None`` means something else."""
