"""The ``driver`` and ``make_client`` fixtures: run a client test on both drivers.

``driver`` is ``"sync"`` or ``"async"``.  ``make_client(host, **options)``
takes :class:`protocol.Client`'s arguments and gives, for ``"sync"``, a
``Client``; for ``"async"``, a :class:`Bridge` over a
:class:`protocol.AsyncClient` made with the same arguments.  Either is
closed at the end of the test, so a test may use it with or without
``with``.  One test body then checks both drivers, as the ``twin`` fixture
does for the two stream decoders.

The bridge exists only in the test harness.  The asyncio client runs on one
event loop in a thread of its own (the client itself uses no thread); the
test's thread hands each call to that loop and waits for its result:

* every coroutine method runs to its end on the loop
  (``asyncio.run_coroutine_threadsafe(...).result()``) and returns what the
  coroutine returned, with streams, sessions and progress streams wrapped in
  a bridge in turn; plain values (dicts, models, lists, ``ExecResult``) are
  handed over as they are;
* async iterators become iterators (``StopAsyncIteration`` ends the
  iteration), async context managers context managers;
* ``close()`` runs ``aclose()``.  It may be called from any thread, also
  while another thread waits for the next item of the same stream: then the
  ``aclose()`` is another task on the loop, so the tests that close a
  stream from another thread test the async driver's close from another
  task;
* a bridge passed as an argument (``client.progress(client.call(...))``)
  reaches the coroutine as the async object it stands for;
* an exception propagates unchanged: the same object, of the same type,
  with the same attributes;
* ``isinstance(bridge, protocol.StreamingResponse)`` (``Session``,
  ``ProgressStream``, ``Client``) holds when the bridged object is the
  async counterpart (``AsyncStreamingResponse``, ...): the bridge reports
  the sync class of the same name without ``Async`` as its ``__class__``.

Attribute reads and writes (``client.timeout = 1``, ``session.state``) run
on the loop too, so only the loop's thread ever touches asyncio objects.
A call that has not finished after :data:`HANG` seconds fails the test
(``pytest.fail``, which no ``except Exception`` or ``pytest.raises``
catches), so a hang in the async driver is a failure, never a stuck run.

At the end of an async test every client is closed on the loop, and a task
still running there (a stdin feeder, a reader nobody stopped) fails it:
nothing may leak.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import protocol

__all__ = ["DRIVERS", "Bridge", "EventLoopThread", "api_version", "count_requests", "driver", "make_client"]

DRIVERS = ("sync", "async")

# Seconds a single bridged call may take.  Far above any test's own wait
# (follow logs of a few seconds, the hostile suite's 5 s guard), far below
# CI's patience.
HANG = float(os.environ.get("PROTOCOL_BRIDGE_HANG", "120"))

# How long the tasks left on a test's loop get to finish after its clients
# are closed (a stdin feeder ending on the closed transport) before they
# count as leaked.
SETTLE = 2.0


class EventLoopThread:
    """One asyncio event loop running in a daemon thread until :meth:`stop`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bridge-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, fn: Callable[[], Any], what: str = "call") -> Any:
        """Run ``fn()`` on the loop, awaiting its result if it is awaitable."""

        if threading.get_ident() == self._thread.ident:
            # A bridge reached from the loop itself would wait for itself.
            raise RuntimeError(f"bridge: {what} called on the loop's own thread")

        async def run() -> Any:
            result = fn()
            if inspect.isawaitable(result):
                result = await result
            return result

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result(HANG)
        except concurrent.futures.TimeoutError:
            if not future.done():
                future.cancel()
                pytest.fail(f"async driver: {what} did not finish in {HANG} s (a hang)", pytrace=False)
            raise  # the coroutine itself raised TimeoutError (ReadTimeout is one)

    def leftover_tasks(self) -> list[asyncio.Task[Any]]:
        """Tasks still running on the loop after :data:`SETTLE` seconds."""

        async def settle() -> list[asyncio.Task[Any]]:
            me = asyncio.current_task()
            deadline = self.loop.time() + SETTLE
            while True:
                left = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
                if not left or self.loop.time() > deadline:
                    return left
                await asyncio.sleep(0.02)

        return asyncio.run_coroutine_threadsafe(settle(), self.loop).result(HANG)

    def stop(self) -> None:
        """Cancel what is left, stop the loop and close it."""

        async def cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(HANG)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(HANG)
            self.loop.close()


def _is_async_object(value: Any) -> bool:
    return (
        hasattr(value, "__aiter__")
        or hasattr(value, "__aenter__")
        or hasattr(value, "aclose")
    ) and not isinstance(value, type)


def _unwrap(value: Any) -> Any:
    return object.__getattribute__(value, "_target") if type(value) is Bridge else value


def _sync_class(target: Any) -> type:
    """The sync class of the same name without ``Async`` (else the target's own)."""
    cls = type(target)
    name = cls.__name__
    if name.startswith("Async"):
        sync = getattr(protocol, name[len("Async"):], None)
        if isinstance(sync, type):
            return sync
    return cls


class Bridge:
    """The sync API over an async object living on an :class:`EventLoopThread`."""

    __slots__ = ("_target", "_runner", "_iterator")

    def __init__(self, target: Any, runner: EventLoopThread) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_runner", runner)
        object.__setattr__(self, "_iterator", None)

    # -- calls and attributes --------------------------------------------------

    def _wrap(self, value: Any) -> Any:
        return Bridge(value, self._runner) if _is_async_object(value) else value

    def __getattr__(self, name: str) -> Any:
        target, runner = self._target, self._runner
        value = runner.call(lambda: getattr(target, name), f"{type(target).__name__}.{name}")
        if not callable(value) or isinstance(value, type) or _is_async_object(value):
            return self._wrap(value)

        def method(*args: Any, **kwargs: Any) -> Any:
            what = f"{type(target).__name__}.{name}()"
            # A bridged object given back (client.progress(response)) is
            # the async object it stands for.
            args = tuple(_unwrap(a) for a in args)
            kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            return self._wrap(runner.call(lambda: value(*args, **kwargs), what))

        method.__name__ = name
        return method

    def __setattr__(self, name: str, value: Any) -> None:
        target = self._target
        self._runner.call(lambda: setattr(target, name, value), f"setting {name}")

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105 - isinstance() uses it
        return _sync_class(self._target)

    def __repr__(self) -> str:
        return f"<Bridge {self._target!r}>"

    # -- the sync protocols ----------------------------------------------------

    def close(self) -> None:
        target = self._target
        if hasattr(target, "aclose"):
            self._runner.call(lambda: target.aclose(), f"{type(target).__name__}.aclose()")
        else:
            self._runner.call(lambda: target.close(), f"{type(target).__name__}.close()")

    def __enter__(self) -> Any:
        target = self._target
        return self._wrap(self._runner.call(lambda: target.__aenter__(), f"{type(target).__name__}.__aenter__()"))

    def __exit__(self, *exc: Any) -> Any:
        target = self._target
        return self._runner.call(lambda: target.__aexit__(*exc), f"{type(target).__name__}.__aexit__()")

    def __iter__(self) -> Iterator[Any]:
        target, runner = self._target, self._runner
        iterator = runner.call(lambda: target.__aiter__(), f"{type(target).__name__}.__aiter__()")
        return _Iterator(iterator, runner, type(target).__name__)

    def __next__(self) -> Any:
        if self._iterator is None:
            object.__setattr__(self, "_iterator", iter(self))
        return next(self._iterator)


class _Iterator:
    """The iterator over an async iterator on the loop."""

    def __init__(self, iterator: Any, runner: EventLoopThread, owner: str) -> None:
        self._iterator = iterator
        self._runner = runner
        self._owner = owner

    def __iter__(self) -> _Iterator:
        return self

    def __next__(self) -> Any:
        iterator = self._iterator
        try:
            item = self._runner.call(lambda: iterator.__anext__(), f"{self._owner} iteration")
        except StopAsyncIteration:
            raise StopIteration from None
        return Bridge(item, self._runner) if _is_async_object(item) else item

    def close(self) -> None:
        # A sync generator's close(): an async generator's aclose().
        iterator = self._iterator
        if hasattr(iterator, "aclose"):
            self._runner.call(lambda: iterator.aclose(), f"{self._owner} iterator aclose()")


def api_version(client: Any) -> protocol.APIVersion:
    """The client's API version, negotiated if need be: ``Client.api_version``
    (a property), or what the async client's ``api_version`` gives (a
    coroutine method or an awaitable property; the bridge awaits either)."""
    value = client.api_version
    if isinstance(client, Bridge) and callable(value):
        value = value()
    return value  # type: ignore[no-any-return]


def count_requests(client: Any, *, unversioned_delay: float = 0.0) -> list[Any]:
    """The requests ``client`` sends from now on, as the driver hands them to
    its exchange (every request of either driver passes there once; a
    retry on a new connection is inside it): a list that grows.
    ``unversioned_delay`` holds the negotiation probes (requests without a
    version) that long, so that concurrent first requests overlap.

    This wraps a private method of each driver, ``_exchange`` (a coroutine
    on the async driver): the one place that sees every request.
    """
    seen: list[Any] = []
    if isinstance(client, Bridge):
        target, runner = client._target, client._runner
        original = target._exchange

        async def exchange_async(request: Any, *rest: Any) -> Any:
            seen.append(request)
            if request.version is None and unversioned_delay:
                await asyncio.sleep(unversioned_delay)
            return await original(request, *rest)

        runner.call(lambda: setattr(target, "_exchange", exchange_async), "wrapping _exchange")
        return seen
    original_sync = client._exchange

    def exchange(request: Any, *rest: Any) -> Any:
        seen.append(request)
        if request.version is None and unversioned_delay:
            time.sleep(unversioned_delay)
        return original_sync(request, *rest)

    client._exchange = exchange
    return seen


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    """The driver of the test's parameter: ``"sync"`` or ``"async"``."""
    return str(request.param)


@pytest.fixture
def make_client(driver: str) -> Iterator[Callable[..., Any]]:
    """``make_client(host, **options)``: a ``Client``, or a bridge over an
    ``AsyncClient`` with the same arguments, per the ``driver`` parameter."""
    made: list[Any] = []
    if driver == "sync":

        def make_sync(*args: Any, **kwargs: Any) -> Any:
            client = protocol.Client(*args, **kwargs)
            made.append(client)
            return client

        yield make_sync
        for client in made:
            client.close()
        return

    runner = EventLoopThread()

    def make_async(*args: Any, **kwargs: Any) -> Any:
        client = runner.call(lambda: protocol.AsyncClient(*args, **kwargs), "AsyncClient()")
        bridge = Bridge(client, runner)
        made.append(bridge)
        return bridge

    try:
        yield make_async
        for bridge in made:
            bridge.close()
        left = runner.leftover_tasks()
        assert not left, f"async driver: tasks still running after the test: {left}"
    finally:
        runner.stop()
