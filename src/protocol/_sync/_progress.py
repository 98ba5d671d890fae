"""JSON progress streams (pull, push, build, load) consumed as they happen.

A :class:`ProgressStream` hands out :class:`ProgressMessage` views one at a
time, straight from the socket: a pull of thousands of layers' updates is
never held as a list.  An in-band error (``{"error": ..., "errorDetail":
...}``, sent with HTTP 200 once the stream has begun) raises the typed
exception of :func:`error_from_stream` after every message before it was
handed out; the exception's ``messages`` holds the most recent of them (all
of them for :meth:`ProgressStream.collect`, which keeps everything anyway).
A protocol or transport fault (a cut stream, a reset) carries them the same
way, with the messages the failing read completed added; ``received`` is
the same list (the attribute every consuming call's errors have).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .._core._errors import ProtocolError, TransportError
from .._core._events import StreamError
from .._core._models import ProgressMessage
from .._core._responses import error_from_stream

if TYPE_CHECKING:
    from .._core._request import Request

__all__ = ["ProgressStream"]

# How many recent messages an in-band error carries from a streamed
# consumption (the earlier ones were handed to the caller already).
RECENT = 100


class ProgressStream:
    """An iterator of :class:`ProgressMessage`; use it as a context manager
    (or :meth:`close` it) to let go of the connection when stopping early."""

    def __init__(
        self,
        source: Iterable[Any],
        *,
        request: Request | None = None,
        status: int = 200,
        close: Callable[[], None] | None = None,
    ) -> None:
        self._source = source
        self.request = request
        self.status = status
        self._close = close
        self._started = False
        self.count = 0  # messages handed out so far

    @classmethod
    def from_response(cls, resp: Any) -> ProgressStream:
        """Over a JSON-stream :class:`StreamingResponse`."""
        return cls(resp, request=resp.request, status=resp.status, close=resp.close)

    def __iter__(self) -> Iterator[ProgressMessage]:
        return self._messages(collections.deque(maxlen=RECENT))

    def _messages(self, recent: Any) -> Iterator[ProgressMessage]:
        if self._started:
            raise RuntimeError("a progress stream can be consumed once")
        self._started = True
        try:
            for item in self._source:
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
            self.close()

    def collect(self) -> list[ProgressMessage]:
        """Every message, as a list (an in-band error carries them all)."""
        messages: list[ProgressMessage] = []
        for _ in self._messages(messages):  # appends each message to the list
            pass
        return messages

    def run(self, callback: Callable[[ProgressMessage], object]) -> ProgressMessage | None:
        """Hand each message to ``callback`` as it arrives; the last one
        (for a build, the one whose ``aux`` names the image) or None."""
        last = None
        for last in self:
            callback(last)
        return last

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> ProgressStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
