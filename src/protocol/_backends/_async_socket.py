"""asyncio transports: unix sockets, TCP, and TLS on memory BIOs.

The asyncio twin of :mod:`protocol._transport`, keeping the contract of
:mod:`protocol._async_interface`.  Network glue only: no Docker knowledge,
every protocol decision stays in the sans-I/O :class:`~protocol.Connection`.

Why a plain :class:`asyncio.Protocol` under a small wrapper rather than
``asyncio.open_connection``'s streams: the wrapper owns the few things the
contract needs and streams do not give, namely a read that ``aclose()``
from another task wakes, cancellation that aborts the socket at once, a
read timeout that loses nothing, and a write that returns only when the
kernel took every byte (the write buffer's high-water mark is 0), so that
``written`` counts what the daemon may have seen, as the sync twin does.

Why TLS is done here on :class:`ssl.MemoryBIO` rather than by asyncio's
SSL transport: a hijacked session must half-close (EOF on the process's
stdin while its output keeps coming), and asyncio's SSL transport has no
``write_eof``.  :class:`AsyncTLSStream` sends close_notify without waiting
for the daemon's, as the sync :class:`~protocol.TLSStream` does; Go's TLS
server reads it as EOF and keeps writing.  It runs over any
:class:`~protocol.AsyncTransport`, a plain socket in the built-in case.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from typing import cast

from .._core._async_interface import AsyncTransport
from .._core._errors import ReadTimeout, TransportError

__all__ = ["AsyncSocketStream", "AsyncTLSStream", "READ_SIZE", "PAUSE_SIZE"]

#: Plaintext bytes taken out of OpenSSL at once (the TLS read buffer).
READ_SIZE = 256 * 1024
#: Received bytes held, per connection, before the socket stops being read
#: (bounded memory: the kernel's buffer and TCP flow control hold the rest).
#: The event loop receives at most 256 KiB at a time; a bound of that size
#: paused and resumed reading (an epoll_ctl pair) on every read of a fast
#: body.  At 4 MiB the reader keeps up without a pause, and a connection
#: holds at most 4 MiB plus one received chunk that the reader has not taken.
PAUSE_SIZE = 4 * 1024 * 1024
#: Plaintext bytes handed to OpenSSL at once, so the ciphertext waiting in
#: the outgoing BIO stays small whatever the caller writes.
TLS_WRITE_SIZE = 64 * 1024


class _StreamProtocol(asyncio.Protocol):
    """Collects what the event loop receives and wakes the one waiting reader."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.pending = 0
        self.paused = False  # reading paused: PAUSE_SIZE bytes are waiting
        self.eof = False  # the peer ended its sending side (or the connection is gone)
        self.lost = False
        self.error: BaseException | None = None  # why the connection was lost, if not by us
        self.write_paused = False  # bytes wait in asyncio's buffer
        # A hijacked session has a reader and a writer waiting at once: one
        # future each.  True wakes; False is the reader's timeout.
        self.read_waiter: asyncio.Future[bool] | None = None
        self.drain_waiter: asyncio.Future[bool] | None = None
        self.closed: asyncio.Future[None] = loop.create_future()

    def wake(self, value: bool = True) -> None:
        waiter = self.read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(value)

    def wake_writer(self) -> None:
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.pending += len(data)
        if self.pending >= PAUSE_SIZE and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self) -> bool:
        self.eof = True
        self.wake()
        return True  # keep our sending side open: the daemon half-closed, we may still write

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.eof = True
        self.error = exc
        self.wake()
        self.wake_writer()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.wake_writer()


class AsyncSocketStream:
    """A connected unix or TCP socket on the running event loop.

    Open one with :meth:`open_unix`, :meth:`open_tcp` or :meth:`from_socket`
    (or :func:`async_connect`).  ``written`` counts the bytes the kernel
    accepted since :meth:`reset_written`, as on the sync twin.
    """

    __slots__ = ("_transport", "_proto", "_loop", "_timeout", "_closed", "_write_shut", "_total")

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._proto = protocol
        self._loop = asyncio.get_running_loop()
        self._timeout: float | None = None
        self._closed = False
        self._write_shut = False
        self._total = 0
        # write() returns when asyncio's buffer is empty, i.e. the kernel has
        # every byte: "sends all" means the same as the sync sendall.
        transport.set_write_buffer_limits(high=0)

    # -- opening -------------------------------------------------------------

    @classmethod
    async def open_unix(cls, path: str) -> AsyncSocketStream:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_unix_connection(lambda: _StreamProtocol(loop), path)
        return cls(transport, proto)

    @classmethod
    async def open_tcp(cls, host: str, port: int) -> AsyncSocketStream:
        """TCP with TCP_NODELAY (asyncio sets it): requests are small and
        must not wait for the answer to the previous segment."""
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_connection(lambda: _StreamProtocol(loop), host, port)
        return cls(transport, proto)

    @classmethod
    async def from_socket(cls, sock: socket.socket) -> AsyncSocketStream:
        """Adopt a connected stream socket (the stream owns it from now on)."""
        if not isinstance(sock, socket.socket):
            raise TypeError(f"from_socket() takes a socket.socket, not {type(sock).__name__}")
        loop = asyncio.get_running_loop()
        factory = lambda: _StreamProtocol(loop)  # noqa: E731
        if sock.family == socket.AF_UNIX:
            transport, proto = await loop.create_unix_connection(factory, sock=sock)
        else:
            transport, proto = await loop.create_connection(factory, sock=sock)
        return cls(transport, proto)

    # -- the interface -------------------------------------------------------

    async def _wait(self) -> bool:
        """Wait for the protocol to wake us; False when the read timeout passed.

        Cancellation aborts the connection before it propagates (see the
        interface's contract): the descriptor is released even when the
        canceller never calls :meth:`aclose`.
        """
        waiter: asyncio.Future[bool] = self._loop.create_future()
        self._proto.read_waiter = waiter
        timer = None
        if self._timeout is not None:
            timer = self._loop.call_later(self._timeout, self._proto.wake, False)
        try:
            return await waiter
        except asyncio.CancelledError:
            self._abort()
            raise
        finally:
            self._proto.read_waiter = None
            if timer is not None:
                timer.cancel()

    async def read(self) -> bytes:
        """The next bytes received; ``b""`` at EOF, or once :meth:`aclose` ran.

        A read that waits longer than the read timeout raises
        :class:`ReadTimeout` and the stream stays usable.
        """
        proto = self._proto
        while not proto.chunks:
            if self._closed:
                return b""
            if proto.eof:
                if proto.error is not None:
                    raise TransportError(f"read failed: {proto.error}")
                return b""
            if not await self._wait():
                limit = self._timeout
                raise ReadTimeout(f"no data from the daemon within {limit}s", timeout=limit)
        chunks = proto.chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        proto.pending = 0
        if proto.paused:
            proto.paused = False
            if not proto.lost:
                self._transport.resume_reading()
        return data

    def _check_writable(self) -> None:
        if self._closed:
            raise TransportError("write failed: the transport is closed")
        if self._write_shut:
            raise TransportError("write failed: this end was shut down for writing")
        if self._proto.lost:
            why = self._proto.error or "the connection was closed"
            raise TransportError(f"write failed: {why}")

    async def write(self, data: bytes) -> None:
        self._check_writable()
        if not data:
            return
        proto = self._proto
        try:
            self._transport.write(data)
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"write failed: {exc}") from None
        if self._transport.is_closing():
            # asyncio's write() does not raise when the send fails (EPIPE,
            # ECONNRESET): it closes the transport and reports the error to
            # connection_lost one loop iteration later.  The bytes are lost.
            why = proto.error or "the connection was lost"
            raise TransportError(f"write failed: {why}")
        self._total += len(data)
        while proto.write_paused and not (proto.lost or self._closed):
            await self._wait_drained()
        if proto.write_paused:
            why = "the transport is closed" if self._closed else (proto.error or "the connection was closed")
            raise TransportError(f"write failed: {why}")

    async def _wait_drained(self) -> None:
        waiter: asyncio.Future[bool] = self._loop.create_future()
        self._proto.drain_waiter = waiter
        try:
            await waiter
        except asyncio.CancelledError:
            self._abort()
            raise
        finally:
            self._proto.drain_waiter = None

    @property
    def written(self) -> int:
        """Bytes the kernel accepted since :meth:`reset_written`."""
        return self._total - self._transport.get_write_buffer_size()

    def reset_written(self) -> None:
        self._total = self._transport.get_write_buffer_size()

    async def shutdown_write(self) -> None:
        """Half-close: the daemon sees EOF, output keeps flowing."""
        if self._write_shut:
            return
        self._check_writable()
        self._write_shut = True
        try:
            self._transport.write_eof()
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"half-close failed: {exc}") from None

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def is_clean_idle(self) -> bool:
        """True when an idle keep-alive connection can carry a new request:
        nothing (not even EOF) arrived since its last answer.  Never waits."""
        p = self._proto
        return not (self._closed or p.chunks or p.eof)

    def take_buffered(self) -> bytes | None:
        """Bytes received and not read yet (``b""`` if none), None at EOF.

        For layers above (TLS) that look at an idle connection without waiting.
        """
        p = self._proto
        if p.chunks:
            data = b"".join(p.chunks)
            p.chunks.clear()
            p.pending = 0
            if p.paused and not p.lost:
                p.paused = False
                self._transport.resume_reading()
            return data
        return None if (self._closed or p.eof) else b""

    def _abort(self) -> None:
        """Close at once (no await): the descriptor is released by the loop
        in its next iteration, and every waiting task is woken."""
        if self._closed:
            return
        self._closed = True
        self._transport.abort()
        self._proto.wake()
        self._proto.wake_writer()

    async def aclose(self) -> None:
        """Close; wakes a read pending in another task.  Idempotent."""
        self._abort()
        # connection_lost (which closes the descriptor) runs in the loop's
        # next iteration; return only once it did.
        await asyncio.shield(self._proto.closed)

    @property
    def closed(self) -> bool:
        return self._closed


class AsyncTLSStream:
    """TLS over any :class:`~protocol.AsyncTransport` through memory BIOs.

    Open one with :meth:`wrap` (which does the handshake) or
    :func:`async_connect`.  ``shutdown_write`` is a TLS half-close.  Every
    OpenSSL call runs between two awaits, so no lock guards OpenSSL; one
    asyncio lock keeps the records of a writer and of a reader's protocol
    answers (a TLS 1.3 key update) in order on the wire.
    """

    __slots__ = ("raw", "_obj", "_in", "_out", "_buf", "_view", "_send_lock", "_eof", "_closed", "_shut")

    def __init__(self, raw: AsyncTransport, ctx: ssl.SSLContext, server_hostname: str | None) -> None:
        self.raw = raw
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_side=False, server_hostname=server_hostname)
        # One buffer reused for every read: the parser copies what it keeps.
        self._buf = bytearray(READ_SIZE)
        self._view = memoryview(self._buf)
        self._send_lock = asyncio.Lock()
        self._eof = False  # the raw stream ended
        self._closed = False
        self._shut = False

    @classmethod
    async def wrap(cls, raw: AsyncTransport, ctx: ssl.SSLContext, server_hostname: str | None,
                   *, peer: str | None = None) -> AsyncTLSStream:
        """Handshake over ``raw`` and return the TLS stream; ``raw`` is closed
        when the handshake fails or is cancelled.  ``peer`` names the daemon
        in the error message."""
        self = cls(raw, ctx, server_hostname)
        try:
            await self._handshake()
        except ssl.SSLError as exc:
            await raw.aclose()
            raise TransportError(f"TLS handshake with {peer or server_hostname} failed: {exc}") from None
        except BaseException:
            await raw.aclose()
            raise
        return self

    async def _handshake(self) -> None:
        while True:
            try:
                self._obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self.raw.read()
                if not data:
                    raise TransportError("the daemon closed the connection during the TLS handshake") from None
                self._in.write(data)
        await self._flush()

    async def _flush(self) -> None:
        """Send what OpenSSL produced, in order."""
        async with self._send_lock:
            while True:
                data = self._out.read()
                if not data:
                    return
                await self.raw.write(data)

    async def read(self) -> memoryview:
        """The next plaintext bytes (valid until the next read); empty at the
        daemon's close_notify, at EOF, or once :meth:`aclose` ran."""
        try:
            while True:
                if self._closed:
                    return self._view[:0]
                try:
                    # With a buffer, read() returns a count (typeshed says bytes).
                    n = cast(int, self._obj.read(READ_SIZE, self._buf))
                except ssl.SSLWantReadError:
                    if self._eof:
                        return self._view[:0]
                    data = await self.raw.read()
                    if data:
                        self._in.write(data)
                    else:
                        self._in.write_eof()
                        self._eof = True
                    continue
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return self._view[:0]  # close_notify, or EOF without one
                if self._out.pending and not self._send_lock.locked():
                    # e.g. the answer to a key update; a writer holding the
                    # lock sends it after its own records instead.
                    await self._flush()
                return self._view[:n]
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error while reading: {exc}") from None
        except asyncio.CancelledError:
            self._cancelled()
            raise

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise TransportError("write failed: the transport is closed")
        view = memoryview(data)
        try:
            async with self._send_lock:
                while view:
                    n = self._obj.write(view[:TLS_WRITE_SIZE])
                    view = view[n:]
                    while True:
                        out = self._out.read()
                        if not out:
                            break
                        await self.raw.write(out)
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error while writing: {exc}") from None
        except asyncio.CancelledError:
            self._cancelled()
            raise

    async def shutdown_write(self) -> None:
        """Send close_notify and return without waiting for the daemon's:
        the daemon sees EOF on stdin and its output keeps coming."""
        if self._shut:
            return
        if self._closed:
            raise TransportError("half-close failed: the transport is closed")
        self._shut = True
        try:
            # unwrap() calls SSL_shutdown a second time to wait for the
            # daemon's close_notify, and that call reads and DISCARDS
            # application data already in the incoming BIO (a record read
            # in part).  So those bytes are taken out first and put back.
            pending = self._in.read()
            try:
                self._obj.unwrap()
            except ssl.SSLWantReadError:
                pass  # our close_notify is queued; the daemon's comes later
            if pending:
                self._in.write(pending)
            await self._flush()
        except ssl.SSLError as exc:
            raise TransportError(f"half-close failed: {exc}") from None
        except asyncio.CancelledError:
            self._cancelled()
            raise

    def _cancelled(self) -> None:
        """A cancelled operation ends the stream (the interface's contract);
        the raw stream, cancelled in the same await, closed itself."""
        self._closed = True
        abort = getattr(self.raw, "_abort", None)
        if abort is not None:
            abort()  # in case the cancellation came between two raw calls

    def settimeout(self, timeout: float | None) -> None:
        """A read timeout on the raw stream: each wait for ciphertext is bounded."""
        settimeout = getattr(self.raw, "settimeout", None)
        if settimeout is not None:
            settimeout(timeout)

    @property
    def written(self) -> int | None:
        """Bytes (ciphertext) the raw stream accepted, when it counts them."""
        written = getattr(self.raw, "written", None)
        return written if isinstance(written, int) else None

    def reset_written(self) -> None:
        reset = getattr(self.raw, "reset_written", None)
        if reset is not None:
            reset()

    def is_clean_idle(self) -> bool:
        """As for plain sockets, but TLS records that are not application
        data (a TLS 1.3 session ticket) do not make it dirty: they are taken
        in without waiting and looked at."""
        if self._closed or self._eof or self._obj.pending() or self._in.pending:
            return False
        if not isinstance(self.raw, AsyncSocketStream):
            check = getattr(self.raw, "is_clean_idle", None)
            return True if check is None else bool(check())
        data = self.raw.take_buffered()
        if data is None:
            return False  # the daemon closed it
        if not data:
            return True
        self._in.write(data)
        try:
            self._obj.read(1, bytearray(1))
        except ssl.SSLWantReadError:
            return not self._out.pending  # only protocol records, nothing to answer
        except ssl.SSLError:
            return False
        return False  # application data (or close_notify) arrived

    async def aclose(self) -> None:
        """Close the raw stream (no close_notify exchange: like the sync
        twin, closing ends the connection, it does not negotiate)."""
        self._closed = True
        await self.raw.aclose()

    @property
    def closed(self) -> bool:
        return self._closed or bool(getattr(self.raw, "closed", False))
