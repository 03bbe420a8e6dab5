"""``AsyncEmmi``: the pipeline of :mod:`emmi_async._base_client` with the API's resources."""

from __future__ import annotations

from emmi_async._base_client import BaseClient

__all__ = ["AsyncEmmi"]


class AsyncEmmi(BaseClient):
    """The async EMMI client: one connection pool, every endpoint, and the batch runner.

    Use it as an async context manager (or call :meth:`aclose`). Unset settings come
    from ``EMMI_API_KEY``, ``EMMI_CUSTOMER_ID``, ``EMMI_END_USER_ID``, ``EMMI_BASE_URL``
    and ``EMMI_LOG``.
    """
