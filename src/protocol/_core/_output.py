"""Output of a finished command, gathered whole: the part of ``exec_run``
that is not I/O.

An :class:`OutputCollector` takes the items of a container-output stream
(:class:`Frame` and :class:`StreamError`) batch by batch, as a driver reads
them, and keeps stdout and stderr apart up to a limit.  Past the limit it
raises :class:`OutputLimitExceeded` carrying what was received: output is
never cut silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from ._errors import OutputLimitExceeded
from ._events import Stream, StreamError

__all__ = ["ExecResult", "OutputCollector", "stdin_plan"]


class ExecResult(NamedTuple):
    """What :meth:`Client.exec_run` returns."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes


class OutputCollector:
    """stdout and stderr bytes of a stream, at most ``limit`` in total."""

    __slots__ = ("limit", "total", "out", "err", "errors")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.total = 0
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.errors: list[StreamError] = []

    def feed(self, items: Iterable[Any]) -> None:
        """Take one batch of items; :class:`OutputLimitExceeded` past the limit."""
        limit = self.limit
        for item in items:
            if isinstance(item, StreamError):
                self.errors.append(item)
                continue
            data = getattr(item, "data", None)
            if data is None or not hasattr(item, "stream"):
                continue  # EndOfMessage, ConnectionClosed
            target = self.out if item.stream == Stream.STDOUT else self.err
            self.total += len(data)
            if limit is not None and self.total > limit:
                target.append(data[: len(data) - (self.total - limit)])
                raise OutputLimitExceeded(
                    f"the output passed the limit of {limit} bytes", limit, self.stdout, self.stderr
                )
            target.append(data)

    def salvage(self, exc: BaseException) -> None:
        """A read failed: keep the items it completed, and give the error
        what was received (``exc.received``, an :class:`ExecResult` with no
        exit code)."""
        if isinstance(exc, OutputLimitExceeded):
            return
        try:
            self.feed(getattr(exc, "items", None) or [])
        except OutputLimitExceeded:
            pass
        exc.received = self.result(None)  # type: ignore[attr-defined]

    @property
    def stdout(self) -> bytes:
        return b"".join(self.out)

    @property
    def stderr(self) -> bytes:
        return b"".join(self.err)

    def result(self, exit_code: int | None) -> ExecResult:
        return ExecResult(exit_code, self.stdout, self.stderr)


#: stdin is written in pieces of this size (a writer never holds a copy of
#: a large input).
STDIN_PIECE = 1 << 20


def stdin_plan(data: bytes, *, tty: bool, tty_eof: bytes | None) -> tuple[list[bytes], bool]:
    """What to write to a command's stdin, and whether to half-close after.

    Without a TTY the end of input is a half-close.  With one, a pty reads
    a half-close as nothing at all (the daemon would end the output at once
    while the command keeps running), so the end is the terminal's EOF
    character ``tty_eof`` (None: nothing); the line discipline hands a
    partial line over at the first EOF, and only one on an empty line means
    end of input, hence two after a partial line.
    """
    view = memoryview(data)
    chunks = [view[i:i + STDIN_PIECE].tobytes() for i in range(0, len(view), STDIN_PIECE)]
    if not tty:
        return chunks, True
    if tty_eof:
        partial = bool(data) and not data.endswith((b"\n", b"\r"))
        chunks.append(tty_eof * (2 if partial else 1))
    return chunks, False
