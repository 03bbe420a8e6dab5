"""After ``os.fork()`` the child builds its own pool; the parent's keeps working."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from emmi_async._client import AsyncEmmi

from ._support import ACCOUNT_KEY, CUSTOMER, LoopbackServer

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform != "linux", reason="needs os.fork on Linux"
)


async def _call(client: AsyncEmmi, who: str) -> int:
    view = client.with_options(headers={"X-Who": who})
    response = await view.request("POST", "climate-risk", scope="data", json=[{"who": who}])
    return response.status_code


def _child(client: AsyncEmmi) -> int:
    """Runs in the forked child: a new loop, a request, the exit code says how it went."""

    async def main() -> int:
        status = await asyncio.wait_for(_call(client, "child"), 20)
        await client.aclose()
        return 0 if status == 200 else 2

    return asyncio.run(main())


def test_a_forked_child_uses_a_fresh_pool(server: LoopbackServer) -> None:
    client = AsyncEmmi(api_key=ACCOUNT_KEY, customer_id=CUSTOMER, base_url=server.base_url)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(_call(client, "parent")) == 200
        parent_pool = client._pool.clients[0]
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 3
            try:
                code = _child(client)
            except BaseException:
                code = 4
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's client, pool and keep-alive connection are untouched.
        assert loop.run_until_complete(_call(client, "parent")) == 200
        assert client._pool.clients[0] is parent_pool
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    who = [request.header_values("x-who")[0] for request in server.requests]
    assert who == ["parent", "child", "parent"]
    first, child, again = (request.connection for request in server.requests)
    assert child != first  # the child opened its own connection...
    assert again == first  # ...and the parent still uses the one it had
    assert server.connections == 2
    assert all(r.header_values("x-customer-id") == [CUSTOMER] for r in server.requests)
