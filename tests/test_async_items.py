"""AsyncItems, the asyncio driver's per-item iterator, on both twins.

The compiled twin (a class handing out awaitables that are already done)
and the Python twin (an async generator) hold one contract: items in order
across batches, empty batches skipped, the end markers never handed out,
``convert`` per item, an error after the items before it, the batches
closed whenever the iteration ends, StopAsyncIteration for ever after the
end, one reader at a time.  The driver-level behaviour (aclose() from
another task, cancellation, abandoning) is in test_async_driver.py.
"""

import asyncio

import pytest

from protocol import Connection, ConnectionClosed, EndOfMessage, RemoteProtocolError
from protocol._core import _stream


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Batches:
    """An async iterator of scripted batches: a list is handed out, an
    exception raised, an asyncio.Event waited for before the next step.
    Records its reads and its aclose()."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.reads = 0
        self.closed = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        self.reads += 1
        while self.steps:
            step = self.steps.pop(0)
            if isinstance(step, asyncio.Event):
                await step.wait()
                continue
            if isinstance(step, BaseException):
                raise step
            return step
        raise StopAsyncIteration

    async def aclose(self):
        self.closed += 1


async def collect(items):
    return [x async for x in items]


def test_items_in_order_across_batches_without_empty_batches_or_markers(twin):
    async def main():
        source = Batches([1, 2], [], [3], [], [4, 5, EndOfMessage()], [])
        items = twin.AsyncItems(source)
        assert await collect(items) == [1, 2, 3, 4, 5]
        assert source.closed == 1
        # The end is for ever, and does not read or close again.
        for _ in range(3):
            with pytest.raises(StopAsyncIteration):
                await items.__anext__()
        assert source.closed == 1 and source.reads == 7

    run(main())


@pytest.mark.parametrize("ends", [[EndOfMessage()], [ConnectionClosed()], [EndOfMessage(), ConnectionClosed()]])
def test_markers_alone_in_the_last_batch(twin, ends):
    async def main():
        assert await collect(twin.AsyncItems(Batches(["a"], ends))) == ["a"]
        assert await collect(twin.AsyncItems(Batches(ends))) == []

    run(main())


def test_a_batch_shrunk_by_its_owner_ends_where_it_ends(twin):
    # Nothing past a list's end is ever read, whatever its owner does to it.
    async def main():
        first = [1, 2, 3, 4]
        items = twin.AsyncItems(Batches(first, [5]))
        assert await items.__anext__() == 1
        del first[1:]
        assert await collect(items) == [5]

    run(main())


def test_convert_is_applied_to_each_item(twin):
    async def main():
        source = Batches([b"a", b"b"], [b"c", EndOfMessage()])
        assert await collect(twin.AsyncItems(source, bytes.upper)) == [b"A", b"B", b"C"]
        assert source.closed == 1

    run(main())


def test_any_item_comes_out_as_itself(twin):
    # An awaitable's result travels in StopIteration: a tuple or an
    # exception there must not be taken for its arguments or for itself.
    things = [(1, 2), (), ValueError("an item"), None, StopIteration(7), [3]]

    async def main():
        assert await collect(twin.AsyncItems(Batches(list(things)))) == things
        got = await collect(twin.AsyncItems(Batches([0, 1, 2, 3, 4, 5]), things.__getitem__))
        assert got == things and got[2] is things[2]

    run(main())


def test_the_awaitable_driven_by_hand_gives_the_item_in_stop_iteration(twin):
    # What ``await`` does under a tracer (and on 3.12+): next() on the
    # awaitable's iterator, the result in StopIteration.value.
    async def main():
        items = twin.AsyncItems(Batches([(1, 2), "b"]))
        assert await items.__anext__() == (1, 2)  # the first item of a batch comes from a coroutine
        waiter = items.__anext__().__await__()
        with pytest.raises(StopIteration) as stop:
            next(waiter)
        assert stop.value.value == "b"

    run(main())


def test_an_error_of_the_batches_comes_after_the_items_before_it(twin):
    async def main():
        error = RemoteProtocolError("bad frame", offset=9)
        source = Batches([1, 2], [3], error, [4])
        items = twin.AsyncItems(source)
        got = []
        with pytest.raises(RemoteProtocolError, match="bad frame") as raised:
            async for x in items:
                got.append(x)
        assert got == [1, 2, 3] and raised.value is error
        assert source.closed == 1
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()
        assert source.reads == 3  # the batch after the error is never read

    run(main())


def test_an_error_of_convert_ends_the_iteration(twin):
    def convert(x):
        if x == 3:
            raise ValueError("no threes")
        return x * 10

    async def main():
        for batches in (([1, 2, 3, 4],), ([1, 2], [3, 4])):  # mid-batch, and a batch's first item
            source = Batches(*batches)
            items = twin.AsyncItems(source, convert)
            got = []
            with pytest.raises(ValueError, match="no threes"):
                async for x in items:
                    got.append(x)
            assert got == [10, 20] and source.closed == 1
            with pytest.raises(StopAsyncIteration):
                await items.__anext__()

    run(main())


def test_break_then_aclose_closes_the_batches(twin):
    async def main():
        source = Batches([1, 2, 3], [4])
        items = twin.AsyncItems(source)
        async for x in items:
            assert x == 1
            break
        assert source.closed == 0  # abandoning is not the end: aclose() is
        await items.aclose()
        assert source.closed == 1 and source.reads == 1
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()
        await items.aclose()  # twice is harmless
        assert source.closed == 1

    run(main())


def test_a_cancelled_reader_closes_the_batches(twin):
    async def main():
        source = Batches([1], asyncio.Event(), [2])
        items = twin.AsyncItems(source)
        got = []

        async def reader():
            async for x in items:
                got.append(x)

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.01)
        assert got == [1] and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert source.closed == 1
        with pytest.raises(StopAsyncIteration):
            await items.__anext__()

    run(main())


def test_one_reader_at_a_time(twin):
    async def main():
        wake = asyncio.Event()
        source = Batches(wake, [1, 2])
        items = twin.AsyncItems(source)
        first = asyncio.ensure_future(items.__anext__())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already running"):
            await items.__anext__()
        with pytest.raises(RuntimeError, match="already running"):
            await items.aclose()
        wake.set()
        assert await first == 1
        assert await collect(items) == [2]
        assert source.closed == 1

    run(main())


def test_the_compiled_twin_hands_items_out_from_c():
    # Guard: the slots that hand an item over without a Python-level
    # exception were installed (else the compiled twin silently runs its
    # slower fallback).
    from _twins import get_twin

    speedups = get_twin("cython")
    assert speedups._READY_SLOTS is True


def test_a_connection_iterates_with_its_twin(twin):
    # The asyncio driver takes the iterator from its connection: the twin
    # given as stream_impl, else the active one.
    assert Connection(stream_impl=twin)._async_items is twin.AsyncItems
    assert Connection()._async_items is _stream.AsyncItems
