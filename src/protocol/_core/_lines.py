"""Reassemble container output into lines.

Frames do not follow line boundaries: one frame may hold several lines or a
part of one (the daemon splits log messages longer than 16 KiB, and an
attached process writes whatever its buffer holds).  :class:`LineAssembler`
buffers the partial line of stdout and of stderr separately and emits each
line when its final byte (``\\n``) arrives, so the relative order of lines
across the two streams is the order in which they were completed.

With ``timestamps=1`` on /logs the daemon prefixes every line with its
RFC 3339 (nano) timestamp and one space, e.g.
``2026-11-27T04:21:34.123456789Z out\\n``; ``LineAssembler(timestamps=True)``
moves that prefix to :attr:`LogLine.timestamp`.

A partial line is peer-controlled memory (a process that never writes
``\n``, or a hostile daemon), so it is bounded: a line longer than
``max_line_size`` bytes is delivered in pieces of exactly that size, every
piece but the last without the trailing ``\n``.  The pieces do not depend
on how the bytes were framed, and only the first piece of a line is looked
at for a timestamp.

Not a hot path: this is plain Python on top of either stream twin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._events import Stream, StreamError, _Frozen

__all__ = ["LineAssembler", "LogLine"]

# "2026-11-27T04:21:34.123456789Z" is 30 bytes; allow offsets ("+01:00") and
# a little slack, but never take a long first word of a line for a timestamp.
_MAX_TIMESTAMP = 40

#: Default bound of one line (and so of the partial line kept per stream).
DEFAULT_MAX_LINE_SIZE = 1024 * 1024


class LogLine(_Frozen):
    """One line of container output.

    ``line`` keeps its trailing ``\\n`` when it had one (only a last,
    unterminated line flushed by :meth:`LineAssembler.end`, and the pieces
    of a line longer than the assembler's ``max_line_size`` but its last,
    lack it).
    ``timestamp`` is the daemon's RFC 3339 timestamp string when the
    assembler was built with ``timestamps=True`` and the line carried one.
    """

    __slots__ = ("stream", "line", "timestamp")

    stream: Stream
    line: bytes
    timestamp: str | None

    def __init__(self, stream: Stream | int, line: bytes, timestamp: str | None = None) -> None:
        object.__setattr__(self, "stream", Stream(stream))
        object.__setattr__(self, "line", bytes(line))
        object.__setattr__(self, "timestamp", timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogLine):
            return NotImplemented
        return (self.stream, self.line, self.timestamp) == (
            other.stream,
            other.line,
            other.timestamp,
        )

    def __hash__(self) -> int:
        return hash((int(self.stream), self.line, self.timestamp))

    def __repr__(self) -> str:
        ts = "" if self.timestamp is None else f", timestamp={self.timestamp!r}"
        return f"LogLine({self.stream.name}, {self.line!r}{ts})"


class LineAssembler:
    """Turn Frames (from either decoder twin) into :class:`LogLine` items.

    ``feed(items)`` takes the items a stream decoder returned and returns the
    lines they completed plus any :class:`StreamError`, in order; ``end()``
    flushes the unterminated partial lines (stdout first, then stderr).
    ``max_line_size`` bounds the bytes kept per stream: a longer line comes
    out in pieces of that size (see the module docs).
    """

    __slots__ = ("_timestamps", "_partial", "_max", "_cont")

    def __init__(self, timestamps: bool = False, max_line_size: int = DEFAULT_MAX_LINE_SIZE) -> None:
        if isinstance(max_line_size, bool) or not isinstance(max_line_size, int) or max_line_size < 1:
            raise ValueError(f"max_line_size must be a positive int, not {max_line_size!r}")
        self._timestamps = bool(timestamps)
        self._max = max_line_size
        # Index 1: stdout, 2: stderr (Stream values); 0 is unused.
        self._partial: list[bytearray] = [bytearray(), bytearray(), bytearray()]
        # Whether the stream's current line already had a piece delivered
        # (its next piece carries no timestamp).
        self._cont: list[bool] = [False, False, False]

    def feed(self, items: Iterable[Any]) -> list[LogLine | StreamError]:
        out: list[LogLine | StreamError] = []
        for item in items:
            if isinstance(item, StreamError):
                out.append(item)
                continue
            try:
                stream = Stream(item.stream)
                data = item.data
            except AttributeError:
                raise TypeError(
                    f"LineAssembler.feed() takes Frames and StreamErrors, not {type(item).__name__}"
                ) from None
            self._add(stream, data, out)
        return out

    def end(self) -> list[LogLine | StreamError]:
        out: list[LogLine | StreamError] = []
        for stream in (Stream.STDOUT, Stream.STDERR):
            partial = self._partial[stream]
            if partial:
                out.append(self._line(stream, bytes(partial), self._cont[stream]))
                partial.clear()
            self._cont[stream] = False
        return out

    def _add(self, stream: Stream, data: bytes, out: list[LogLine | StreamError]) -> None:
        partial = self._partial[stream]
        limit = self._max
        start, n = 0, len(data)
        while start < n:
            nl = data.find(b"\n", start)
            end = n if nl < 0 else nl + 1
            room = limit - len(partial)
            if end - start > room:
                # The line passes the limit: deliver a piece of exactly
                # ``limit`` bytes and go on with the rest of the line.
                stop = start + room
                if partial:
                    partial += data[start:stop]
                    piece = bytes(partial)
                    partial.clear()
                else:
                    piece = data[start:stop]
                out.append(self._line(stream, piece, self._cont[stream]))
                self._cont[stream] = True
                start = stop
                continue
            if nl < 0:
                partial += data[start:]
                return
            if partial:
                partial += data[start:end]
                line = bytes(partial)
                partial.clear()
            else:
                line = data[start:end]
            out.append(self._line(stream, line, self._cont[stream]))
            self._cont[stream] = False
            start = end

    def _line(self, stream: Stream, line: bytes, cont: bool = False) -> LogLine:
        timestamp = None
        if self._timestamps and not cont:
            sp = line.find(b" ", 0, _MAX_TIMESTAMP + 1)
            if sp > 0 and line[:1].isdigit():
                timestamp = line[:sp].decode("ascii", "replace")
                line = line[sp + 1 :]
        item: LogLine = object.__new__(LogLine)
        object.__setattr__(item, "stream", stream)
        object.__setattr__(item, "line", line)
        object.__setattr__(item, "timestamp", timestamp)
        return item
