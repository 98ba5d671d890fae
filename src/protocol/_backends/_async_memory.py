"""An in-memory asyncio transport: two byte pipes, one per direction.

The asyncio twin of :func:`~protocol.memory_pair`.  ``async_memory_pair()``
gives two connected ends: a driver gets one, a scripted fake daemon (a
task of the test) sits on the other.  What one end writes the other
reads, ``shutdown_write`` is EOF for the peer, ``aclose`` wakes a read
pending on either end, and a cancelled read or write closes its end, as
the socket transports do.

Memory stays bounded: a write waits while the peer has ``limit`` bytes
unread, the way a socket's send buffer fills.
"""

from __future__ import annotations

import asyncio

from .._core._errors import ReadTimeout, TransportError
from ._sync_memory import DEFAULT_LIMIT, READ_SIZE

__all__ = ["AsyncMemoryTransport", "async_memory_pair"]


def _wake(waiter: asyncio.Future[bool] | None, value: bool = True) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(value)


class _AsyncPipe:
    """One direction: a buffer, the two ends' states, and who waits on it."""

    __slots__ = ("buf", "eof", "reader_closed", "limit", "reader", "writer")

    def __init__(self, limit: int) -> None:
        self.buf = bytearray()
        self.eof = False  # the writer is done (shutdown_write or aclose)
        self.reader_closed = False  # the reading end was closed
        self.limit = limit
        self.reader: asyncio.Future[bool] | None = None
        self.writer: asyncio.Future[bool] | None = None

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.reader_closed:
                raise TransportError("write failed: the other end is closed")
            if self.eof:
                raise TransportError("write failed: this end was shut down for writing")
            room = self.limit - len(self.buf)
            if room <= 0:
                self.writer = asyncio.get_running_loop().create_future()
                try:
                    await self.writer
                finally:
                    self.writer = None
                continue
            self.buf += view[:room]
            view = view[room:]
            _wake(self.reader)

    async def read(self, timeout: float | None) -> bytes:
        while not self.buf and not self.eof and not self.reader_closed:
            loop = asyncio.get_running_loop()
            self.reader = waiter = loop.create_future()
            timer = loop.call_later(timeout, _wake, waiter, False) if timeout is not None else None
            try:
                if not await waiter:
                    raise ReadTimeout(f"no data from the peer within {timeout}s", timeout=timeout)
            finally:
                self.reader = None
                if timer is not None:
                    timer.cancel()
        if self.reader_closed:
            return b""
        data = bytes(self.buf[:READ_SIZE])
        del self.buf[:READ_SIZE]
        _wake(self.writer)
        return data

    def close_writer(self) -> None:
        self.eof = True
        _wake(self.reader)

    def close_reader(self) -> None:
        self.reader_closed = True
        self.buf.clear()
        _wake(self.reader)
        _wake(self.writer)


class AsyncMemoryTransport:
    """One end of an in-memory connection; make a pair with :func:`async_memory_pair`."""

    __slots__ = ("_incoming", "_outgoing", "_timeout", "closed", "written")

    def __init__(self, incoming: _AsyncPipe, outgoing: _AsyncPipe) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self._timeout: float | None = None
        self.closed = False
        #: Total bytes written by this end (tests check what was sent).
        self.written = 0

    async def read(self) -> bytes:
        """The next bytes from the other end; ``b""`` at its EOF or after aclose."""
        try:
            return await self._incoming.read(self._timeout)
        except asyncio.CancelledError:
            self._close()
            raise

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise TransportError("write failed: the transport is closed")
        try:
            await self._outgoing.write(data)
        except asyncio.CancelledError:
            self._close()
            raise
        self.written += len(data)

    async def shutdown_write(self) -> None:
        self._outgoing.close_writer()

    def _close(self) -> None:
        self.closed = True
        self._outgoing.close_writer()
        self._incoming.close_reader()

    async def aclose(self) -> None:
        self._close()

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def is_clean_idle(self) -> bool:
        """Nothing (not even EOF) arrived since the last answer."""
        incoming = self._incoming
        return not (self.closed or incoming.buf or incoming.eof)


def async_memory_pair(limit: int = DEFAULT_LIMIT) -> tuple[AsyncMemoryTransport, AsyncMemoryTransport]:
    """Two connected in-memory async transports: (client end, daemon end)."""
    a_to_b, b_to_a = _AsyncPipe(limit), _AsyncPipe(limit)
    return AsyncMemoryTransport(b_to_a, a_to_b), AsyncMemoryTransport(a_to_b, b_to_a)
