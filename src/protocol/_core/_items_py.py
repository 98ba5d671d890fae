"""A response's items one at a time for ``async for``, pure-Python twin.

The asyncio driver reads a response body as batches (one list of events per
transport read) and hands its items out one per ``__anext__``.  The compiled
twin (``AsyncItems`` in ``src/_speedups/_speedups.pyx``) is an async
iterator whose ``__anext__``, while the current batch has items, returns an
awaitable that is already done (awaiting it ends at once with the item), so
no Python frame runs per item; only an exhausted batch costs a coroutine,
which awaits the next batch.  That pays in C only: written in Python, the
same class runs three Python calls and raises a StopIteration per item, and
is about 3.5x slower than an async generator, whose resumption is the
cheapest per-item step Python code has.  So this twin is an async
generator, with the same contract:

* items in order, each batch's from its first; empty batches are skipped;
* :class:`EndOfMessage` and :class:`ConnectionClosed` (the markers that end
  a response's last batch, never an item) are never handed out;
* ``convert``, when given, is applied to each item as it is handed out
  (the typed views);
* the iteration ends (end of the batches, an error from the batches or from
  ``convert``, or ``aclose()``) by closing the batches (``await
  batches.aclose()`` when they have one), so an abandoned or failed
  iteration leaves no read behind it; an error is raised after the items
  before it, and every ``__anext__`` after the end raises
  :class:`StopAsyncIteration`;
* one reader at a time: an ``__anext__`` or ``aclose()`` while an
  ``__anext__`` waits for a batch raises :class:`RuntimeError`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any, Final

from ._events import ConnectionClosed, EndOfMessage

__all__ = ["AsyncItems"]

_ENDS: Final = (EndOfMessage, ConnectionClosed)


def items_end(batch: Sequence[Any]) -> int:
    """How many items of ``batch`` come before its end markers.

    The markers only ever end a batch: looked for there, not on every item.
    """
    n = len(batch)
    while n and isinstance(batch[n - 1], _ENDS):
        n -= 1
    return n


async def AsyncItems(  # noqa: N802  (the compiled twin's class name)
    batches: AsyncIterator[Sequence[Any]],
    convert: Callable[[Any], Any] | None = None,
) -> AsyncGenerator[Any, None]:
    """The items of ``batches`` (an async iterator of lists), one per
    ``__anext__``, ``convert``-ed when given."""
    try:
        async for batch in batches:
            end = items_end(batch)
            if end < len(batch):
                batch = batch[:end]  # the last batch, without its markers
            if convert is None:
                for item in batch:
                    yield item
            else:
                for item in batch:
                    yield convert(item)
    finally:
        # Ended, abandoned, or failed: the reads end now, not when the
        # garbage collector finds the batches.
        close = getattr(batches, "aclose", None)
        if close is not None:
            await close()
