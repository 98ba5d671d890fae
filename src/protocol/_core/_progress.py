"""JSON progress streams (pull, push, build, load): the per-message rules,
shared by both drivers' progress streams.

A :class:`ProgressTracker` turns each decoded message into a
:class:`ProgressMessage`.  An in-band error (``{"error": ..., "errorDetail":
...}``, sent with HTTP 200 once the stream has begun) raises the typed
exception of :func:`error_from_stream`; its ``messages`` holds the most
recent messages before it (all of them when the caller keeps them all).  A
protocol or transport fault (a cut stream, a reset) is given the same
attributes by :meth:`ProgressTracker.fault`, with the messages the failing
read completed added; ``received`` is the same list, the attribute every
consuming call's errors have.
"""

from __future__ import annotations

import collections
from collections.abc import MutableSequence
from typing import TYPE_CHECKING, Any

from ._events import StreamError
from ._models import ProgressMessage
from ._responses import error_from_stream

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["ProgressTracker", "RECENT"]

# How many recent messages an in-band error carries from a streamed
# consumption (the earlier ones were handed to the caller already).
RECENT = 100


class ProgressTracker:
    """The state of one progress stream's consumption."""

    __slots__ = ("request", "status", "recent", "count")

    def __init__(self, request: Request | None, status: int,
                 recent: MutableSequence[ProgressMessage] | None = None) -> None:
        self.request = request
        self.status = status
        # A bounded window when messages are handed out one by one; the
        # caller's own list when it keeps every message (collect()).
        self.recent: MutableSequence[ProgressMessage] = (
            collections.deque(maxlen=RECENT) if recent is None else recent
        )
        self.count = 0

    def message(self, item: Any) -> ProgressMessage:
        """The view of one decoded item; an in-band error raises."""
        if isinstance(item, StreamError):
            exc = error_from_stream(item, self.request, self.status)
            exc.messages = list(self.recent)  # type: ignore[attr-defined]
            exc.received = exc.messages  # type: ignore[attr-defined]
            raise exc
        msg = item if isinstance(item, ProgressMessage) else ProgressMessage(item)
        self.recent.append(msg)
        self.count += 1
        return msg

    def fault(self, exc: BaseException) -> None:
        """What arrived before a protocol or transport fault stays the
        caller's: the messages so far and those the failing read completed."""
        for item in getattr(exc, "items", None) or []:
            if isinstance(item, dict):
                self.recent.append(item if isinstance(item, ProgressMessage) else ProgressMessage(item))
        messages = list(self.recent)
        setattr(exc, "messages", messages)  # as in-band errors have it
        exc.received = messages  # type: ignore[attr-defined]
