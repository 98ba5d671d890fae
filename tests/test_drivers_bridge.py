"""The test bridge of ``make_client`` (tests/_drivers.py) on its own: what the
integration tests of the async driver rely on it for."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import _drivers
import protocol
from _drivers import Bridge, EventLoopThread


class Failure(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AsyncSession:
    """Shaped like the async driver's objects: coroutines, an async iterator
    that waits for items, ``aclose()`` that wakes a waiting reader."""

    def __init__(self) -> None:
        self.items: asyncio.Queue[int] = asyncio.Queue()
        self.closed = False
        self.loop_thread = threading.get_ident()

    async def put(self, n: int) -> None:
        await self.items.put(n)

    async def fail(self) -> None:
        raise Failure("typed")

    async def forever(self) -> None:
        await asyncio.sleep(3600)

    async def spawn(self) -> AsyncSession:
        return AsyncSession()

    async def same(self, other: object) -> bool:
        return other is self

    def where(self) -> int:
        return threading.get_ident()

    def __aiter__(self) -> AsyncSession:
        return self

    async def __anext__(self) -> int:
        if self.closed:
            raise protocol.StreamClosed("closed")
        get = asyncio.ensure_future(self.items.get())
        while not get.done():
            if self.closed:
                get.cancel()
                raise protocol.StreamClosed("closed while waiting")
            await asyncio.sleep(0.01)
        n = get.result()
        if n < 0:
            raise StopAsyncIteration
        return n

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@pytest.fixture
def runner():
    r = EventLoopThread()
    yield r
    r.stop()


@pytest.fixture
def session(runner):
    return Bridge(runner.call(AsyncSession), runner)


def test_calls_run_on_the_loop_thread(session, runner):
    assert session.where() == session.loop_thread != threading.get_ident()


def test_exceptions_are_the_same_objects(session):
    with pytest.raises(Failure) as info:
        session.fail()
    assert type(info.value) is Failure and info.value.detail == "typed"


def test_async_iteration_is_iteration_and_results_are_bridged(session):
    for n in (1, 2, -1):
        session.put(n)
    assert list(session) == [1, 2]
    child = session.spawn()
    assert isinstance(child, Bridge) and child.closed is False


def test_a_bridge_passed_back_is_the_async_object(session):
    assert session.same(session) is True
    assert session.same(other=session) is True


def test_close_from_another_thread_wakes_a_waiting_reader(session):
    outcome = []

    def read():
        try:
            outcome.append(list(session))
        except BaseException as exc:  # noqa: BLE001 - the outcome is checked
            outcome.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(0.2)
    assert t.is_alive()
    session.close()  # aclose(), as another task on the loop
    t.join(5)
    assert not t.is_alive() and isinstance(outcome[0], protocol.StreamClosed), outcome


def test_context_manager_closes(session):
    with session as s:
        assert isinstance(s, Bridge)
    assert session.closed is True


def test_isinstance_names_the_sync_counterpart(session):
    assert isinstance(session, protocol.Session)
    assert not isinstance(session, protocol.StreamingResponse)


def test_a_hang_fails_the_test_and_is_no_timeout_error(session, monkeypatch):
    monkeypatch.setattr(_drivers, "HANG", 0.2)
    with pytest.raises(pytest.fail.Exception, match="did not finish"):
        try:
            session.forever()
        except TimeoutError:  # a test's pytest.raises(TimeoutError) must not see it
            pytest.fail("the hang was reported as a TimeoutError")
