"""Starting, closing, garbage collection and fork of the blocking client's event loop."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator

import pytest

from emmi_async import ClientClosedError, Emmi
from emmi_async.testing import ReferenceServer
from tests.sync.conftest import entity, portal_threads, tapped


@pytest.fixture(autouse=True)
def _no_portal_thread_leaks() -> Iterator[None]:
    before = set(portal_threads())
    yield
    gc.collect()
    leaked = [t for t in portal_threads() if t not in before]
    for thread in leaked:
        thread.join(5)
    assert not [t for t in leaked if t.is_alive()], "an Emmi left its loop thread running"


def _thread(client: Emmi) -> threading.Thread | None:
    return client._portal.thread


def test_the_loop_thread_starts_on_first_use_and_stops_on_close(server: ReferenceServer) -> None:
    client = Emmi.from_async(server.client())
    assert _thread(client) is None
    client.service.health()
    thread = _thread(client)
    assert thread is not None
    assert thread.is_alive()
    assert thread.daemon
    assert thread.name.startswith("emmi-sync-portal-")
    client.close()
    assert not thread.is_alive()
    assert client.is_closed
    assert client._portal.thread is None


def test_calls_after_close_fail_clearly_and_close_is_idempotent(server: ReferenceServer) -> None:
    client = Emmi.from_async(server.client("account"))
    view = client.with_options(max_retries=0)
    customers = client.customers
    client.service.health()
    client.close()
    client.close()
    for call in (
        client.service.health,
        view.service.health,
        lambda: customers.create(external_id="late"),
        lambda: next(iter(customers.list())),
        lambda: client.batch(client.emissions.estimate).run([entity()]),
    ):
        with pytest.raises(ClientClosedError, match="closed"):
            call()


def test_the_context_manager_closes(server: ReferenceServer) -> None:
    with Emmi.from_async(server.client()) as client:
        client.service.health()
        thread = client._portal.thread
    assert thread is not None
    assert not thread.is_alive()
    assert client.is_closed
    with pytest.raises(ClientClosedError):
        client.service.health()


def test_closing_an_unused_client_closes_its_pool(server: ReferenceServer) -> None:
    client = Emmi.from_async(server.client())
    client.close()
    assert client.is_closed
    with pytest.raises(ClientClosedError):
        client.service.info()


def test_a_dropped_client_stops_its_thread(server: ReferenceServer) -> None:
    client = Emmi.from_async(server.client())
    client.service.health()
    thread = client._portal.thread
    assert thread is not None
    del client
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()


def test_a_view_keeps_the_loop_of_a_dropped_parent(server: ReferenceServer) -> None:
    client = Emmi.from_async(server.client())
    view = client.with_options(max_retries=1)
    client.service.health()
    del client
    gc.collect()
    assert view.service.health() is not None
    view._portal.close()


def test_close_fails_calls_still_running_in_other_threads(server: ReferenceServer) -> None:
    tap = tapped(server)
    tap.hold.add("health")
    client = Emmi.from_async(server.client())
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.service.health()
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert tap.held.wait(10)
    client.close()
    caller.join(10)
    assert not caller.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], ClientClosedError)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_loop() -> None:
    with ReferenceServer(port=0) as server, Emmi.from_async(server.client()) as client:
        [before] = client.emissions.estimate([entity()])
        parent_thread = client._portal.thread
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
            pid = os.fork()
        if pid == 0:  # the child: report through the exit status only
            status = 1
            try:
                signal.alarm(30)  # never hang the test run
                [after] = client.emissions.estimate([entity()])
                child_thread = client._portal.thread
                ok = (
                    after == before
                    and child_thread is not None
                    and child_thread is not parent_thread
                    and client.service.health() is not None
                )
                client.close()
                status = 0 if ok and not portal_threads() else 2
            finally:
                os._exit(status)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.05)
        assert os.WIFEXITED(status), status
        assert os.WEXITSTATUS(status) == 0
        # the parent's loop is untouched by the child
        assert client._portal.thread is parent_thread
        assert client.emissions.estimate([entity()]) == [before]


def test_interpreter_exit_stops_the_loop(tmp_path: object) -> None:
    import subprocess

    code = (
        "from emmi_async import Emmi\n"
        "from emmi_async.testing import ReferenceServer\n"
        "client = Emmi.from_async(ReferenceServer().client())\n"
        "client.service.health()\n"
        "print('used')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "used"
    assert "Traceback" not in result.stderr


def test_make_client_fixture_closes(make_client: Callable[..., Emmi]) -> None:
    client = make_client()
    client.service.health()
    assert client._portal.thread is not None
