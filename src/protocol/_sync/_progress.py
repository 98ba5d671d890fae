"""Progress streams (pull, push, build, load) on the sync driver.

A :class:`ProgressStream` hands out :class:`ProgressMessage` views one at a
time, straight from the socket: a pull of thousands of layers' updates is
never held as a list.  The per-message rules (in-band errors, what a fault
carries) are the core's :class:`ProgressTracker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .._core._errors import ProtocolError, TransportError
from .._core._models import ProgressMessage
from .._core._progress import RECENT, ProgressTracker

if TYPE_CHECKING:
    from .._core._request import Request

__all__ = ["ProgressStream", "RECENT"]


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
        self._tracker: ProgressTracker | None = None

    @property
    def count(self) -> int:
        """Messages handed out so far."""
        return 0 if self._tracker is None else self._tracker.count

    @classmethod
    def from_response(cls, resp: Any) -> ProgressStream:
        """Over a JSON-stream :class:`StreamingResponse`."""
        return cls(resp, request=resp.request, status=resp.status, close=resp.close)

    def __iter__(self) -> Iterator[ProgressMessage]:
        return self._messages(None)

    def _messages(self, keep: list[ProgressMessage] | None) -> Iterator[ProgressMessage]:
        if self._started:
            raise RuntimeError("a progress stream can be consumed once")
        self._started = True
        tracker = self._tracker = ProgressTracker(self.request, self.status, keep)
        try:
            for item in self._source:
                yield tracker.message(item)
        except (ProtocolError, TransportError) as fault:
            tracker.fault(fault)
            raise
        finally:
            self.close()

    def collect(self) -> list[ProgressMessage]:
        """Every message, as a list (an in-band error carries them all)."""
        messages: list[ProgressMessage] = []
        for _ in self._messages(messages):  # the tracker appends each message
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
