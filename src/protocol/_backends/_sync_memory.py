"""An in-memory transport: two byte pipes, one per direction.

``memory_pair()`` gives two connected ends.  The client gets one (as
``Client(transport=...)`` or from a ``connect=`` factory) and a scripted
fake daemon sits on the other, in a thread of the test: what one end
writes the other reads, ``shutdown_write`` is EOF for the peer, and
``close`` wakes a reader blocked on either end, as a socket shut down
from another thread does.

Memory stays bounded: a write blocks while the peer has ``limit`` bytes
unread, the way a socket's send buffer fills.
"""

from __future__ import annotations

import threading

from .._core._errors import TransportError

__all__ = ["MemoryTransport", "memory_pair"]

#: Bytes one pipe holds before a writer waits for the reader.
DEFAULT_LIMIT = 1 << 20
#: Most bytes one read returns (as a socket read would).
READ_SIZE = 256 * 1024


class _Pipe:
    """One direction: a buffer, a condition, and the two ends' states."""

    __slots__ = ("buf", "cond", "eof", "reader_closed", "limit")

    def __init__(self, limit: int) -> None:
        self.buf = bytearray()
        self.cond = threading.Condition()
        self.eof = False  # the writer is done (shutdown_write or close)
        self.reader_closed = False  # the reading end was closed
        self.limit = limit

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        with self.cond:
            while view:
                if self.reader_closed:
                    raise TransportError("write failed: the other end is closed")
                if self.eof:
                    raise TransportError("write failed: this end was shut down for writing")
                room = self.limit - len(self.buf)
                if room <= 0:
                    self.cond.wait()
                    continue
                self.buf += view[:room]
                view = view[room:]
                self.cond.notify_all()

    def read(self) -> bytes:
        with self.cond:
            while not self.buf and not self.eof and not self.reader_closed:
                self.cond.wait()
            if self.reader_closed:
                return b""
            data = bytes(self.buf[:READ_SIZE])
            del self.buf[:READ_SIZE]
            self.cond.notify_all()
            return data

    def close_writer(self) -> None:
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def close_reader(self) -> None:
        with self.cond:
            self.reader_closed = True
            self.buf.clear()
            self.cond.notify_all()


class MemoryTransport:
    """One end of an in-memory connection; make a pair with :func:`memory_pair`."""

    __slots__ = ("_incoming", "_outgoing", "closed", "written")

    def __init__(self, incoming: _Pipe, outgoing: _Pipe) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self.closed = False
        #: Total bytes written by this end (tests check what was sent).
        self.written = 0

    def read(self) -> bytes:
        """The next bytes from the other end; ``b""`` at its EOF or after close."""
        return self._incoming.read()

    def write(self, data: bytes) -> None:
        if self.closed:
            raise TransportError("write failed: the transport is closed")
        self._outgoing.write(data)
        self.written += len(data)

    def shutdown_write(self) -> None:
        self._outgoing.close_writer()

    def close(self) -> None:
        self.closed = True
        self._outgoing.close_writer()
        self._incoming.close_reader()

    def settimeout(self, timeout: float | None) -> None:
        """Accepted for the interface; in-memory reads do not time out."""


def memory_pair(limit: int = DEFAULT_LIMIT) -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected in-memory transports: (client end, daemon end)."""
    a_to_b, b_to_a = _Pipe(limit), _Pipe(limit)
    return MemoryTransport(b_to_a, a_to_b), MemoryTransport(a_to_b, b_to_a)
