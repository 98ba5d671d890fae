"""Progress streams (pull, push, build, load) on the asyncio driver.

An :class:`AsyncProgressStream` hands out :class:`ProgressMessage` views
one at a time, straight from the connection: a pull of thousands of
layers' updates is never held as a list.  The per-message rules (in-band
errors, what a fault carries) are the core's :class:`ProgressTracker`,
shared with the sync driver.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._core._errors import ProtocolError, TransportError
from .._core._models import ProgressMessage
from .._core._progress import RECENT, ProgressTracker

if TYPE_CHECKING:
    from .._core._request import Request

__all__ = ["AsyncProgressStream", "RECENT"]


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
        self._tracker: ProgressTracker | None = None

    @property
    def count(self) -> int:
        """Messages handed out so far."""
        return 0 if self._tracker is None else self._tracker.count

    @classmethod
    def from_response(cls, resp: Any) -> AsyncProgressStream:
        """Over a JSON-stream :class:`AsyncStreamingResponse`."""
        return cls(resp, request=resp.request, status=resp.status, close=resp.aclose)

    def __aiter__(self) -> AsyncIterator[ProgressMessage]:
        return self._messages(None)

    async def _messages(self, keep: list[ProgressMessage] | None) -> AsyncIterator[ProgressMessage]:
        if self._started:
            raise RuntimeError("a progress stream can be consumed once")
        self._started = True
        tracker = self._tracker = ProgressTracker(self.request, self.status, keep)
        try:
            async for item in self._source:
                yield tracker.message(item)
        except (ProtocolError, TransportError) as fault:
            tracker.fault(fault)
            raise
        finally:
            await self.aclose()

    async def collect(self) -> list[ProgressMessage]:
        """Every message, as a list (an in-band error carries them all)."""
        messages: list[ProgressMessage] = []
        async for _ in self._messages(messages):  # the tracker appends each message
            pass
        return messages

    async def run(self, callback: Callable[[ProgressMessage], object]) -> ProgressMessage | None:
        """Hand each message to ``callback`` as it arrives (what a coroutine
        function returns is awaited); the last one (for a build, the one
        whose ``aux`` names the image) or None."""
        last = None
        async for last in self:
            result = callback(last)
            if inspect.isawaitable(result):
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
