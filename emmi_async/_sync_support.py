"""Runtime support of the blocking facade (:mod:`emmi_async.sync`): the portal and its bridges.

The generated classes in ``sync.py`` are thin: each method hands its async twin to a
:class:`Portal`. This module is the hand-written part:

- :class:`Portal`: one asyncio event loop in one background thread (an anyio
  :class:`~anyio.from_thread.BlockingPortal`, run as ``start_blocking_portal`` runs it)
  per :class:`~emmi_async.Emmi`,
  shared by its views. It starts on first use and stops on ``close()``, on the context
  manager's exit, when the last ``Emmi`` referring to it is garbage collected, or at
  interpreter exit (``weakref.finalize``). The client's ``AsyncEmmi`` (and so its
  connection pool) is only ever used inside that loop, for the client's whole life.
- :meth:`Portal.call`: one blocking call. Any number of threads may call at once (their
  requests share the pool); a caller may itself run an event loop (Jupyter): it blocks
  its own loop, never the portal's, so nothing deadlocks. A call from the portal's own
  thread (e.g. from an ``on_progress`` callback) raises :class:`PortalThreadError`
  instead of deadlocking. Exceptions reach the caller as the very objects the async code
  raised (same classes, same attributes).
- :class:`SyncIterator`: an async iterator as a plain iterator. A pump task in the portal
  loop pulls items into a bounded buffer and the caller takes them from it without a
  round trip per item; closing the iterator (or dropping it) cancels the pump and closes
  the async iterator.
- After ``os.fork()`` the child starts a portal of its own on first use (the parent's
  loop thread does not exist there); the ``AsyncEmmi`` pool rebuilds itself after fork.

The calls use the portal's asyncio loop directly (``loop.call_soon_threadsafe`` and one
lock per call) rather than ``BlockingPortal.call``, which costs two thread round trips
per call (it waits for the task to be spawned, then for its result).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from emmi_async._base_client import BaseClient
from emmi_async._exceptions import ClientClosedError, PortalThreadError

__all__ = [
    "Portal",
    "PortalThreadError",
    "SyncClient",
    "SyncIterator",
    "SyncWrapper",
    "async_operation",
]

logger = logging.getLogger("emmi_async")

T = TypeVar("T")
P = ParamSpec("P")
AsyncT = TypeVar("AsyncT")
AsyncClientT = TypeVar("AsyncClientT", bound=BaseClient)
AsyncIterT = TypeVar("AsyncIterT", bound=AsyncIterator[Any])
ClientT = TypeVar("ClientT", bound="SyncClient[Any]")
IteratorT = TypeVar("IteratorT", bound="SyncIterator[Any, Any]")

CLOSE_TIMEOUT = 10.0
"""Seconds that closing waits for the pool to close in the loop before stopping it."""

BUFFER_SIZE = 1024
"""Items a :class:`SyncIterator` buffers ahead of its consumer (backpressure beyond)."""

_CLOSED_MESSAGE = (
    "this Emmi client is closed; create a new one "
    "(`with Emmi(...) as client:` closes it for you at the end)"
)

# Bumped in every child after fork: a portal started under another generation belongs
# to the parent, whose loop thread does not exist in the child.
_fork_generation = 0
_start_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _fork_generation, _start_lock
    _fork_generation += 1
    _start_lock = threading.Lock()  # another thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _portal_thread_error() -> PortalThreadError:
    return PortalThreadError(
        "a blocking Emmi call was made from the client's own event-loop thread "
        "(e.g. from an on_progress callback or the entity iterable of a batch); it would "
        "deadlock. Call Emmi from another thread, or use AsyncEmmi from async code."
    )


class _Waiter:
    """Something a caller thread waits on, failed by the portal's shutdown if pending."""

    __slots__ = ()

    def abandon(self, error: BaseException) -> None:
        raise NotImplementedError


class _State:
    """What a portal's finalizer needs (it must not refer to the :class:`Portal`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False
        self.generation = _fork_generation
        self.portal: BlockingPortal | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id: int | None = None
        self.thread: threading.Thread | None = None
        self.pending: set[_Waiter] = set()

    def started_here(self) -> bool:
        return self.loop is not None and self.generation == _fork_generation

    def shutdown(self, client: BaseClient, *, start: bool = False) -> None:
        """Close ``client`` in the loop, stop the loop and join its thread (idempotent).

        ``start``: when the loop never ran in this process, start it just to close the
        client (``close()`` does; the finalizer at exit does not).
        """
        with _start_lock:
            if self.closed:
                return
            if start and not self.started_here():
                self._start()
            self.closed = True
            if not self.started_here():
                return
            portal, loop, thread = self.portal, self.loop, self.thread
            self.portal = self.loop = self.thread = self.thread_id = None
        assert portal is not None
        assert loop is not None
        assert thread is not None
        if threading.get_ident() == thread.ident:
            # Collected inside the loop thread itself: it cannot join itself.
            threading.Thread(
                target=self._stop, args=(portal, loop, thread, client), daemon=True
            ).start()
        else:
            self._stop(portal, loop, thread, client)

    def _stop(
        self,
        portal: BlockingPortal,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        client: BaseClient,
    ) -> None:
        try:
            asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(CLOSE_TIMEOUT)
        except Exception:  # the loop stops anyway; nothing else can be done
            logger.warning("closing the connection pool failed", exc_info=True)
        try:
            with contextlib.suppress(RuntimeError):  # the loop is gone already
                portal.call(portal.stop)
            thread.join()  # asyncio cancels the calls still running, then closes the loop
        finally:
            error = ClientClosedError(_CLOSED_MESSAGE)
            for waiter in list(self.pending):
                waiter.abandon(error)

    def _start(self) -> None:
        """Start the loop thread (the caller holds ``_start_lock``).

        This is what ``anyio.from_thread.start_blocking_portal`` does, without its
        generator-based context manager: after ``os.fork()`` the child inherits the
        parent's objects, and that generator's finalizer would call into the parent's
        loop (which does not exist in the child) and block forever.
        """
        ready: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]]
        ready = concurrent.futures.Future()
        thread = threading.Thread(target=_run_portal, args=(ready,), name=self.name, daemon=True)
        thread.start()
        self.portal, self.loop = ready.result()
        self.thread, self.thread_id = thread, thread.ident
        self.generation = _fork_generation
        self.pending = set()


def _run_portal(
    ready: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]],
) -> None:
    """The loop thread: an anyio :class:`BlockingPortal` until it is stopped."""

    async def serve() -> None:
        async with BlockingPortal() as portal:
            ready.set_result((portal, asyncio.get_running_loop()))
            await portal.sleep_until_stopped()

    try:
        anyio.run(serve, backend="asyncio")
    except BaseException as exc:
        if not ready.done():
            ready.set_exception(exc)
        else:
            logger.warning("the Emmi event loop failed", exc_info=True)


class Portal:
    """The event-loop thread of one client and its views; see the module docstring.

    ``client`` is the ``AsyncEmmi`` that lives in the loop: :meth:`close` closes it there.
    """

    __slots__ = ("__weakref__", "_client", "_finalizer", "_state")

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._state = _State(f"emmi-sync-portal-{id(self):x}")
        self._finalizer = weakref.finalize(self, self._state.shutdown, client)

    @property
    def closed(self) -> bool:
        return self._state.closed

    @property
    def thread(self) -> threading.Thread | None:
        """The loop thread, once started in this process (``None`` before and after)."""
        state = self._state
        return state.thread if state.started_here() else None

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, started if need be; refuses a closed portal and its own thread."""
        state = self._state
        loop = state.loop
        if loop is None or state.generation != _fork_generation:
            loop = self._start()
        if threading.get_ident() == state.thread_id:
            raise _portal_thread_error()
        return loop

    def _start(self) -> asyncio.AbstractEventLoop:
        state = self._state
        with _start_lock:
            if state.closed:
                raise ClientClosedError(_CLOSED_MESSAGE)
            if not state.started_here():
                state._start()
            assert state.loop is not None
            return state.loop

    def in_loop_thread(self) -> bool:
        """Whether the caller runs in this portal's own loop thread (where waiting deadlocks)."""
        return threading.get_ident() == self._state.thread_id

    def track(self, waiter: _Waiter) -> None:
        """Fail ``waiter`` with ``ClientClosedError`` if the portal closes while it waits."""
        self._state.pending.add(waiter)

    def untrack(self, waiter: _Waiter) -> None:
        """Stop tracking ``waiter`` (idempotent)."""
        self._state.pending.discard(waiter)

    def call(self, func: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func(*args, **kwargs)`` in the loop and wait for its result (or error).

        If the wait is interrupted (``KeyboardInterrupt``), the call is cancelled.
        """
        state = self._state
        loop = self.loop()
        call: _Call[T] = _Call()
        state.pending.add(call)
        try:
            if state.closed:
                raise ClientClosedError(_CLOSED_MESSAGE)
            awaitable = func(*args, **kwargs)
            try:
                loop.call_soon_threadsafe(call.start, awaitable)
            except RuntimeError:  # the loop closed in between
                if isinstance(awaitable, Coroutine):
                    awaitable.close()
                raise ClientClosedError(_CLOSED_MESSAGE) from None
            return call.wait(loop)
        finally:
            state.pending.discard(call)

    def iterate(
        self, func: Callable[P, AsyncIterator[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> SyncIterator[AsyncIterator[T], T]:
        """``func(*args, **kwargs)`` (an async iterator) as a blocking iterator."""
        return SyncIterator(func(*args, **kwargs), self)

    def close(self) -> None:
        """Close the client in the loop, stop the loop and join its thread (idempotent).

        Calls still waiting (from other threads) fail with ``ClientClosedError``.
        """
        if threading.get_ident() == self._state.thread_id:
            raise _portal_thread_error()
        if self._finalizer.detach() is not None:
            self._state.shutdown(self._client, start=True)


class _Call(_Waiter, Generic[T]):
    """One blocking call: started in the loop, waited for in the caller's thread."""

    __slots__ = ("_done", "_error", "_result", "_task")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self._error: BaseException | None = None
        self._result: T | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, awaitable: Awaitable[T]) -> None:  # in the loop
        if not self._done.locked():  # abandoned before it started
            if isinstance(awaitable, Coroutine):
                awaitable.close()
            return
        self._task = asyncio.get_running_loop().create_task(self._run(awaitable))

    async def _run(self, awaitable: Awaitable[T]) -> None:
        try:
            self._result = await awaitable
        except BaseException as exc:
            self._error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self._release()

    def _release(self) -> None:
        with contextlib.suppress(RuntimeError):  # released twice: abandoned meanwhile
            self._done.release()

    def abandon(self, error: BaseException) -> None:
        if self._done.locked():
            self._error = error
            self._release()

    def _cancel(self) -> None:  # in the loop
        if self._task is not None:
            self._task.cancel()
        else:
            self.abandon(asyncio.CancelledError())

    def wait(self, loop: asyncio.AbstractEventLoop) -> T:
        try:
            self._done.acquire()
        except BaseException:  # KeyboardInterrupt while waiting: cancel the call
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel)
            raise
        error = self._error
        if error is not None:
            self._error = None  # no cycle through the traceback
            try:
                if isinstance(error, asyncio.CancelledError):  # only shutdown cancels a call
                    raise ClientClosedError(
                        "the Emmi client was closed while this call was running"
                    ) from None
                raise error
            finally:
                del error
        return self._result  # type: ignore[return-value]


# -- iterators ----------------------------------------------------------------------------


class _Channel(_Waiter):
    """The buffer between a pump task (in the loop) and a consumer thread."""

    __slots__ = (
        "cancelled",
        "done",
        "error",
        "finished",
        "generation",
        "items",
        "loop",
        "notify_scheduled",
        "producer_event",
        "producer_waiting",
        "task",
        "waiting",
        "wake",
    )

    def __init__(self) -> None:
        self.items: collections.deque[Any] = collections.deque()
        self.done = False
        self.error: BaseException | None = None
        self.waiting = False
        self.notify_scheduled = False
        self.wake = threading.Event()
        self.finished = threading.Event()
        self.producer_waiting = False
        self.producer_event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.cancelled = False
        self.generation = _fork_generation

    def notify(self) -> None:
        if self.waiting:
            self.waiting = False
            self.wake.set()

    def notify_soon(self) -> None:  # in the loop
        """Wake the consumer once the pump's task step ends, not once per item.

        An async iterator usually yields a batch of items without suspending (the batch
        runner yields each delivery of 100 outcomes at once): they all reach the buffer
        before the consumer wakes, so the thread handoff is paid per batch.
        """
        if not self.notify_scheduled:
            self.notify_scheduled = True
            asyncio.get_running_loop().call_soon(self._notify_now)

    def _notify_now(self) -> None:
        self.notify_scheduled = False
        self.notify()

    def abandon(self, error: BaseException) -> None:
        if not self.done:
            self.error = error
            self.done = True
        self.notify()
        self.finished.set()

    def start(self, source: AsyncIterator[Any], capacity: int) -> None:  # in the loop
        if self.cancelled:
            self.abandon(asyncio.CancelledError())
            return
        self.task = asyncio.get_running_loop().create_task(self.pump(source, capacity))

    def cancel(self) -> None:  # in the loop
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()

    def cancel_soon(self) -> None:  # any thread, never blocks (used by finalizers)
        loop = self.loop
        if loop is not None and not self.finished.is_set():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs
                loop.call_soon_threadsafe(self.cancel)

    async def pump(self, source: AsyncIterator[Any], capacity: int) -> None:
        items = self.items
        error: BaseException | None = None
        try:
            async for item in source:
                items.append(item)
                if self.waiting:
                    self.notify_soon()
                if len(items) >= capacity:
                    event = self.producer_event = asyncio.Event()
                    self.producer_waiting = True
                    if len(items) >= capacity:
                        await event.wait()
                    self.producer_waiting = False
        except BaseException as exc:
            error = exc
        finally:
            try:
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
            except BaseException as exc:
                error = error or exc
            finally:
                self.error = error
                self.done = True
                self.notify()
                self.finished.set()

    def wake_producer(self) -> None:  # consumer thread
        self.producer_waiting = False
        event, loop = self.producer_event, self.loop
        if event is not None and loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


class SyncWrapper(Generic[AsyncT]):
    """A blocking twin: the async object it wraps, and the portal its calls run on."""

    __slots__ = ("_async", "_portal")

    _async: AsyncT
    _portal: Portal

    def __init__(self, wrapped: AsyncT, portal: Portal) -> None:
        self._async = wrapped
        self._portal = portal

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._async!r}>"


class SyncIterator(SyncWrapper[AsyncIterT], Generic[AsyncIterT, T]):
    """An async iterator (in the portal's loop) as a blocking iterator.

    A pump task in the loop pulls up to :data:`BUFFER_SIZE` items ahead into a buffer,
    and waits there until the consumer has taken half of them (backpressure); the
    consumer takes items from the buffer and only blocks when it is empty, so an item
    costs no thread round trip. The pump starts on the first ``next()``. :meth:`close`
    (or leaving a ``with`` block, or dropping the iterator) cancels the pump and closes
    the async iterator (``aclose()``) in the loop; ``close()`` waits for that to finish.
    """

    __slots__ = ("__weakref__", "_channel", "_closed", "_finalizer", "_items")

    def __init__(self, wrapped: AsyncIterT, portal: Portal) -> None:
        super().__init__(wrapped, portal)
        self._channel: _Channel | None = None
        self._items: collections.deque[T] = collections.deque()
        self._closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def __iter__(self: IteratorT) -> IteratorT:
        return self

    def _next(self) -> T:
        """The next item (``StopIteration`` at the end, or once closed)."""
        try:
            item = self._items.popleft()
        except IndexError:
            return self._next_slow()
        channel = self._channel
        if (
            channel is not None
            and channel.producer_waiting
            and len(self._items) <= (BUFFER_SIZE // 2)
        ):
            channel.wake_producer()
        return item

    def __next__(self) -> T:
        return self._next()

    def _next_slow(self) -> T:
        if self._closed:
            raise StopIteration
        channel = self._channel
        if channel is None:
            channel = self._start()
        elif channel.generation != _fork_generation:
            raise RuntimeError("this iterator was started before os.fork(); start a new one")
        items = channel.items
        while True:
            done = channel.done  # read before the items: the pump appends, then sets done
            if items:
                if channel.producer_waiting:
                    channel.wake_producer()
                return items.popleft()  # type: ignore[no-any-return]
            if done:
                self._finish()
                error, channel.error = channel.error, None
                if error is None or isinstance(error, asyncio.CancelledError):
                    if error is not None and self._portal.closed:
                        raise ClientClosedError(_CLOSED_MESSAGE)
                    raise StopIteration
                try:
                    raise error
                finally:
                    del error
            if self._portal.in_loop_thread():
                raise _portal_thread_error()
            channel.wake.clear()
            channel.waiting = True
            if items or channel.done:
                channel.waiting = False
                continue
            channel.wake.wait()

    def _start(self) -> _Channel:
        portal = self._portal
        loop = portal.loop()
        channel = self._channel = _Channel()
        self._items = channel.items
        channel.loop = loop
        portal.track(channel)
        self._finalizer = weakref.finalize(self, channel.cancel_soon)
        try:
            loop.call_soon_threadsafe(channel.start, self._async, BUFFER_SIZE)
        except RuntimeError:
            self._finish()
            raise ClientClosedError(_CLOSED_MESSAGE) from None
        return channel

    def _finish(self) -> None:
        self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._channel is not None:
            self._portal.untrack(self._channel)

    def _close(self) -> None:
        """Stop the pump, close the async iterator in the loop, and wait for both."""
        if self._closed:
            return
        channel = self._channel
        self._finish()
        self._items = collections.deque()  # what the pump buffered is dropped
        if channel is None:  # never started: the async iterator never ran, nothing to undo
            return
        if channel.finished.is_set() or channel.generation != _fork_generation:
            return
        if self._portal.in_loop_thread():
            channel.cancel_soon()  # cannot wait for the loop from inside it
            return
        channel.cancel_soon()
        channel.finished.wait()
        error = channel.error
        channel.error = None
        if error is not None and isinstance(error, Exception):
            raise error

    def close(self) -> None:
        """Stop iterating: cancel the pump and close the async iterator (idempotent)."""
        self._close()

    def __enter__(self: IteratorT) -> IteratorT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()


class SyncClient(SyncWrapper[AsyncClientT]):
    """The blocking client's own machinery: the portal it owns, views, and closing."""

    __slots__ = ("_owns_portal",)

    _owns_portal: bool

    def _open(self, client: AsyncClientT) -> None:
        """Wrap ``client``, which this object now owns, with a portal of its own."""
        self._async = client
        self._portal = Portal(client)
        self._owns_portal = True

    @classmethod
    def from_async(cls: type[ClientT], client: Any) -> ClientT:
        """A blocking client over ``client`` (an ``AsyncEmmi`` not used in any loop yet).

        The new object owns ``client``: its ``close()`` closes it. Handy with
        ``ReferenceServer.client()`` (``Emmi.from_async(server.client("account"))``).
        """
        self = object.__new__(cls)
        self._open(client)
        return self

    def _view(self: ClientT, wrapped: Any) -> ClientT:
        """A view of this client over ``wrapped`` (an async view), sharing the portal."""
        view = object.__new__(type(self))
        view._async = wrapped
        view._portal = self._portal
        view._owns_portal = False
        return view

    def _close(self) -> None:
        if self._owns_portal:
            self._portal.close()

    def __repr__(self) -> str:
        text = repr(self._async)
        prefix = type(self._async).__name__
        if text.startswith(prefix):
            text = type(self).__name__ + text[len(prefix) :]
        return text


def async_operation(operation: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """The async twin of a blocking resource method (``client.emissions.estimate``...).

    The batch runner drives the async method in the loop; a method of a blocking twin is
    mapped to the same method of the async resource it wraps.
    """
    owner = getattr(operation, "__self__", None)
    name = getattr(operation, "__name__", None)
    if isinstance(owner, SyncWrapper) and isinstance(name, str):
        twin = getattr(owner._async, name, None)
        if callable(twin):
            return twin  # type: ignore[no-any-return]
    raise TypeError(
        "operation must be a method of this client's resources, such as "
        f"client.emissions.estimate or client.hazards.get; got {operation!r}"
    )
