"""A forgotten client: no aiohttp noise, one warning in our words; aiohttp imported early."""

from __future__ import annotations

import pytest

from tests.everyday._subprocess import run_python

FORGETFUL = """
    import asyncio, sys
    from emmi_async import AsyncEmmi
    from emmi_async.testing import ReferenceServer

    async def main():
        with ReferenceServer(port=0) as server:
            client = AsyncEmmi(api_key=server.keys.single, base_url=server.base_url)
            await client.service.health()
            await client.usage.get(start="2024-01-01", end="2024-01-31")
            if KEEP:
                global kept
                kept = client  # alive until the interpreter exits

    asyncio.run(main())
"""


@pytest.mark.parametrize("keep", [False, True], ids=["collected", "alive-at-exit"])
@pytest.mark.parametrize("dev", [False, True], ids=["plain", "dev-mode"])
def test_a_forgotten_client_leaves_no_aiohttp_noise(keep: bool, dev: bool) -> None:
    done = run_python(FORGETFUL.replace("KEEP", str(keep)), args=("-X", "dev") if dev else ())
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr, done.stderr
    for aiohttp_words in ("ClientSession", "TCPConnector", "client_session", "connections:"):
        assert aiohttp_words not in done.stderr, done.stderr
    ours = "an AsyncEmmi client was not closed"
    if dev:  # ResourceWarnings are shown: ours, once
        assert done.stderr.count(ours) == 1, done.stderr
    else:
        assert done.stderr == ""


def test_aiohttp_is_imported_when_the_client_is_made_not_in_the_loop() -> None:
    done = run_python(
        """
        import sys
        import emmi_async
        from emmi_async import AsyncEmmi
        assert "aiohttp" not in sys.modules
        AsyncEmmi()
        assert "aiohttp" in sys.modules
        AsyncEmmi(http_backend="httpx")
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_httpx_backend_does_not_import_aiohttp() -> None:
    done = run_python(
        """
        import sys
        from emmi_async import AsyncEmmi
        AsyncEmmi(http_backend="httpx")
        print("aiohttp" in sys.modules)
        """
    )
    assert done.stdout.strip() == "False", done.stderr
