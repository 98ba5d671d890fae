"""JSON progress streams (pull, push, build, load) consumed as they happen, for asyncio.

The asyncio twin of the sync driver's ``ProgressStream``: an async iterator
of :class:`ProgressMessage`, straight from the connection.  An in-band
error raises its typed exception after every message before it was handed
out, carrying the recent messages in ``messages`` (all of them for
:meth:`AsyncProgressStream.collect`); a protocol or transport fault carries
them the same way.  ``received`` is the same list.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._core._errors import ProtocolError, TransportError
from .._core._events import StreamError
from .._core._models import ProgressMessage
from .._core._responses import error_from_stream

if TYPE_CHECKING:
    from .._core._request import Request

__all__ = ["AsyncProgressStream"]

# How many recent messages an in-band error carries from a streamed
# consumption (the earlier ones were handed to the caller already).
RECENT = 100


async def _aiter(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


class AsyncProgressStream:
    """An async iterator of :class:`ProgressMessage`; use it as an async
    context manager (or :meth:`aclose` it) to let go of the connection when
    stopping early."""

    def __init__(
        self,
        source: AsyncIterable[Any] | Iterable[Any],
        *,
        request: Request | None = None,
        status: int = 200,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        # A list (v1.0's parsed text progress, a plain-text build log) is
        # handed out as it is.
        self._source: AsyncIterable[Any] = (
            source if isinstance(source, AsyncIterable) else _aiter(source)
        )
        self.request = request
        self.status = status
        self._close = close
        self._started = False
        self.count = 0  # messages handed out so far

    def __aiter__(self) -> AsyncIterator[ProgressMessage]:
        return self._messages(collections.deque(maxlen=RECENT))

    async def _messages(self, recent: Any) -> AsyncIterator[ProgressMessage]:
        if self._started:
            raise RuntimeError("a progress stream can be consumed once")
        self._started = True
        try:
            async for item in self._source:
                if isinstance(item, StreamError):
                    exc = error_from_stream(item, self.request, self.status)
                    exc.messages = list(recent)  # type: ignore[attr-defined]
                    exc.received = exc.messages  # type: ignore[attr-defined]
                    raise exc
                msg = item if isinstance(item, ProgressMessage) else ProgressMessage(item)
                recent.append(msg)
                self.count += 1
                yield msg
        except (ProtocolError, TransportError) as fault:
            # What arrived before the fault stays the caller's: the messages
            # so far and those the failing read completed.
            for item in getattr(fault, "items", None) or []:
                if isinstance(item, dict):
                    recent.append(item if isinstance(item, ProgressMessage) else ProgressMessage(item))
            messages = list(recent)
            setattr(fault, "messages", messages)  # as in-band errors have it
            fault.received = messages
            raise
        finally:
            await self.aclose()

    async def collect(self) -> list[ProgressMessage]:
        """Every message, as a list (an in-band error carries them all)."""
        messages: list[ProgressMessage] = []
        async for _ in self._messages(messages):  # appends each message to the list
            pass
        return messages

    async def run(self, callback: Callable[[ProgressMessage], object]) -> ProgressMessage | None:
        """Hand each message to ``callback`` as it arrives (a coroutine
        function's result is awaited); the last one (for a build, the one
        whose ``aux`` names the image) or None."""
        last = None
        async for last in self:
            result = callback(last)
            if isinstance(result, Awaitable):
                await result
        return last

    async def aclose(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            await close()

    async def __aenter__(self) -> AsyncProgressStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
