"""Events and stream items.

Everything the sans-I/O layer hands back is one of these frozen, slotted
classes.  They validate their input when a user builds them; the parsers
build them through ``_make`` fast paths that skip validation, because the
parser has already checked what it passes (the h11 approach).
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "Stream",
    "Frame",
    "StreamError",
    "Event",
    "Response",
    "Data",
    "EndOfMessage",
    "ConnectionClosed",
]


class _Frozen:
    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class Stream(enum.IntEnum):
    """Which output a frame belongs to.

    The multiplexed header's type byte 0 (stdin) is reported as STDOUT, as
    the daemon's own stdcopy does: nothing useful ever arrives on it.
    """

    STDOUT = 1
    STDERR = 2


class Frame(_Frozen):
    """A piece of container output: ``stream`` (:class:`Stream`) and ``data`` (bytes).

    Multiplexed streams give one Frame per frame; raw (TTY) streams give one
    Frame per read, always on STDOUT.
    """

    __slots__ = ("stream", "data")

    stream: Stream
    data: bytes

    def __init__(self, stream: Stream | int, data: bytes) -> None:
        object.__setattr__(self, "stream", Stream(stream))
        object.__setattr__(self, "data", bytes(data))

    def __eq__(self, other: object) -> bool:
        # Compare by value with the compiled twin's Frame too.
        try:
            return bool(self.stream == other.stream and self.data == other.data)  # type: ignore[attr-defined]
        except AttributeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash((int(self.stream), self.data))

    def __repr__(self) -> str:
        return f"Frame({self.stream.name}, {self.data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Frame, (int(self.stream), self.data))


class StreamError(_Frozen):
    """An error reported *inside* a stream whose HTTP status said success.

    Two sources: a multiplexed frame of type 3 (systemerr, docker >= 17.04,
    e.g. "Error grabbing logs"), and a JSON-stream message with ``error`` or
    ``errorDetail`` (pull, push, build, load).  It is delivered in order after
    the items before it; ``data`` holds the whole JSON message when there is
    one, ``code`` the ``errorDetail.code`` when given.
    """

    __slots__ = ("message", "code", "data")

    message: str
    code: int | None
    data: Any

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        object.__setattr__(self, "message", str(message))
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "data", data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StreamError):
            return NotImplemented
        return (self.message, self.code, self.data) == (other.message, other.code, other.data)

    def __hash__(self) -> int:
        return hash((self.message, self.code))

    def __repr__(self) -> str:
        return f"StreamError({self.message!r}, code={self.code!r})"


class Event(_Frozen):
    """Base class of the connection's events."""

    __slots__ = ()


class Response(Event):
    """The head of a response.

    ``headers`` is a tuple of ``(name, value)`` byte pairs with lower-cased
    names, in the order received.  ``kind`` is how the body will be delivered
    (see :class:`~protocol.ResponseKind`): the request's expected kind for a
    success, ``ResponseKind.JSON`` bodies collected as :class:`Data` for an
    error status.
    """

    __slots__ = ("status_code", "reason", "headers", "http_version", "kind")

    status_code: int
    reason: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    http_version: bytes
    kind: Any

    def __init__(
        self,
        status_code: int,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        reason: bytes = b"",
        http_version: bytes = b"1.1",
        kind: Any = None,
    ) -> None:
        object.__setattr__(self, "status_code", int(status_code))
        object.__setattr__(self, "headers", tuple((bytes(k).lower(), bytes(v)) for k, v in headers))
        object.__setattr__(self, "reason", bytes(reason))
        object.__setattr__(self, "http_version", bytes(http_version))
        object.__setattr__(self, "kind", kind)

    def header(self, name: str | bytes, default: bytes | None = None) -> bytes | None:
        """The first value of header ``name`` (case-insensitive), or ``default``."""
        key = (name.encode("ascii") if isinstance(name, str) else name).lower()
        for k, v in self.headers:
            if k == key:
                return v
        return default

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' when absent)."""
        value = self.header(b"content-type")
        if not value:
            return ""
        return value.split(b";", 1)[0].strip().decode("latin-1").lower()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (self.status_code, self.headers, self.reason, self.http_version, self.kind) == (
            other.status_code,
            other.headers,
            other.reason,
            other.http_version,
            other.kind,
        )

    def __hash__(self) -> int:
        return hash((self.status_code, self.headers))

    def __repr__(self) -> str:
        return f"Response(status_code={self.status_code}, reason={self.reason!r}, kind={self.kind!r})"


class Data(Event):
    """Body bytes of a response that is not decoded as a stream (JSON, tar, text)."""

    __slots__ = ("data",)

    data: bytes

    def __init__(self, data: bytes) -> None:
        object.__setattr__(self, "data", bytes(data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Data):
            return NotImplemented
        return self.data == other.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"Data({self.data!r})"


class EndOfMessage(Event):
    """The response body is complete; the connection may be reused if ``keep_alive``."""

    __slots__ = ("keep_alive",)

    keep_alive: bool

    def __init__(self, keep_alive: bool = True) -> None:
        object.__setattr__(self, "keep_alive", bool(keep_alive))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EndOfMessage):
            return NotImplemented
        return self.keep_alive == other.keep_alive

    def __hash__(self) -> int:
        return hash(self.keep_alive)

    def __repr__(self) -> str:
        return f"EndOfMessage(keep_alive={self.keep_alive})"


class ConnectionClosed(Event):
    """The peer closed its side; for read-to-EOF bodies this ends the message."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConnectionClosed)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "ConnectionClosed()"
