"""Sync transports: unix sockets, TCP and TCP+TLS.

This is the network glue of the sandwich: it owns sockets and nothing else.
All protocol decisions live in the sans-I/O :class:`~protocol.Connection`.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import cast

from .._core._errors import ReadTimeout, TransportError

__all__ = ["SocketStream", "TLSStream", "READ_SIZE"]

#: One read hands the parser up to this many bytes.
READ_SIZE = 256 * 1024


def _read_timeout(sock: socket.socket) -> ReadTimeout:
    limit = sock.gettimeout()
    return ReadTimeout(f"no data from the daemon within {limit}s", timeout=limit)


class SocketStream:
    """A connected plain socket with the operations the client needs.

    ``written`` counts the bytes the kernel accepted since the last
    :meth:`reset_written`: the client retries a request on a new connection
    only when it is safe, and "nothing was written" is one of the cases.
    """

    __slots__ = ("sock", "_buf", "_view", "written", "_poller", "_polled_fd")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # One large buffer, reused for every read: the parser copies what it
        # keeps, so no per-read allocation happens here.
        self._buf = bytearray(READ_SIZE)
        self._view = memoryview(self._buf)
        self.written = 0
        # One poll object per connection, registered once: the pool asks
        # before every reuse, and a new object per question costs more
        # than the system call.
        self._poller: select.poll | None = None
        self._polled_fd = -1

    def read(self) -> memoryview:
        """The next bytes received (empty at EOF). Valid until the next read.

        A read that waits longer than the socket's timeout raises
        :class:`ReadTimeout` (a :class:`TransportError` and a ``TimeoutError``).
        """
        try:
            n = self.sock.recv_into(self._buf)
        except socket.timeout:
            raise _read_timeout(self.sock) from None
        except OSError as exc:
            raise TransportError(f"read failed: {exc}") from None
        return self._view[:n]

    def _send(self, data: bytes | memoryview) -> None:
        # send() in a loop instead of sendall(): the count of bytes taken
        # tells the retry logic whether the daemon can have seen anything.
        if not data:
            return
        n = self.sock.send(data)
        self.written += n
        if n == len(data):
            return  # a small request goes out in one call: no view needed
        view = memoryview(data)[n:]
        while view:
            n = self.sock.send(view)
            self.written += n
            view = view[n:]

    def write(self, data: bytes) -> None:
        try:
            self._send(data)
        except OSError as exc:
            raise TransportError(f"write failed: {exc}") from None

    def reset_written(self) -> None:
        self.written = 0

    def _readable_now(self) -> bool:
        """Whether a read would return at once (bytes, EOF or an error)."""
        try:
            fd = self.sock.fileno()
            if fd < 0:
                return True  # closed
            poller = self._poller
            if poller is None or fd != self._polled_fd:
                poller = self._poller = select.poll()
                poller.register(fd, select.POLLIN | select.POLLPRI)
                self._polled_fd = fd
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True  # a closed or broken socket is not clean either

    def is_clean_idle(self) -> bool:
        """True when an idle keep-alive connection can carry a new request.

        Between answers the daemon sends nothing; any byte pending now
        (a stray or extra response, or EOF: the daemon closed it) would be
        taken for the next request's answer, so such a connection must not
        be used again.  Never blocks.
        """
        return not self._readable_now()

    def shutdown_write(self) -> None:
        """Half-close: the daemon sees EOF on stdin, output keeps flowing."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise TransportError(f"half-close failed: {exc}") from None

    def settimeout(self, timeout: float | None) -> None:
        # Every request sets the client's timeout and the pool resets it: a
        # change costs a system call (fcntl, for blocking mode), reading the
        # socket's current value costs none.
        if self.sock.gettimeout() != timeout:
            self.sock.settimeout(timeout)

    def close(self) -> None:
        """Close; safe from another thread while a read or write is blocked.

        Closing a descriptor does not wake a ``recv`` blocked on it in
        another thread (the kernel keeps the file alive for the call), so a
        ``close()`` meant to stop a ``logs(follow=True)`` would never take
        effect.  ``shutdown(SHUT_RDWR)`` first ends both directions: the
        blocked ``recv`` returns EOF at once, a blocked ``send`` fails.
        """
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # never connected, or already shut down by the peer
        try:
            self.sock.close()
        except OSError:
            pass


class TLSStream(SocketStream):
    """TLS over a plain socket through memory BIOs.

    Why not ``ssl.SSLSocket``: a hijacked session reads in one thread while
    another writes stdin, and OpenSSL does not allow SSL_read and SSL_write
    on one connection at the same time (SSLSocket releases the GIL inside
    both).  Here every OpenSSL call runs under one lock while socket I/O
    runs outside it.  It also gives TLS a half-close: ``shutdown_write``
    sends close_notify without waiting for the daemon's (``SSLSocket.unwrap``
    would wait, and throw away the output that is still coming); Go's TLS
    server reads it as EOF on stdin and keeps writing.
    """

    __slots__ = ("_obj", "_in", "_out", "_lock", "_send_lock", "_raw", "_eof")

    def is_clean_idle(self) -> bool:
        """As for plain sockets, but TLS records that are not application
        data (a TLS 1.3 session ticket, a key update) do not make it dirty:
        they are taken in without blocking and looked at."""
        with self._lock:
            if self._obj.pending() or self._in.pending:
                return False
        if not self._readable_now():
            return True
        try:
            self.sock.setblocking(False)
            try:
                n = self.sock.recv_into(self._raw)
            finally:
                self.sock.setblocking(True)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if n == 0:
            return False  # the daemon closed it
        with self._lock:
            self._in.write(memoryview(self._raw)[:n])
            try:
                self._obj.read(1, bytearray(1))
            except ssl.SSLWantReadError:
                return True  # only protocol records, no application byte
            except ssl.SSLError:
                return False
            return False  # application data (or close_notify) arrived

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext, server_hostname: str | None) -> None:
        super().__init__(sock)
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_side=False, server_hostname=server_hostname)
        self._lock = threading.Lock()  # every call into OpenSSL
        self._send_lock = threading.Lock()  # keeps TLS records in order on the wire
        self._raw = bytearray(READ_SIZE)
        self._eof = False
        while True:
            try:
                with self._lock:
                    self._obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._receive():
                    raise ssl.SSLError("the daemon closed the connection during the TLS handshake")
        self._flush()

    def _flush(self, wait: bool = True) -> None:
        """Send what OpenSSL produced, in order."""
        if not self._send_lock.acquire(blocking=wait):
            return  # the writer holding it sends everything pending after its own data
        try:
            while True:
                with self._lock:
                    data = self._out.read()
                if not data:
                    return
                self._send(data)
        finally:
            self._send_lock.release()

    def _receive(self) -> bool:
        """Move bytes from the socket into OpenSSL; False at EOF."""
        n = self.sock.recv_into(self._raw)
        with self._lock:
            if n:
                self._in.write(memoryview(self._raw)[:n])
            else:
                self._in.write_eof()
        return n > 0

    def read(self) -> memoryview:
        try:
            while True:
                try:
                    with self._lock:
                        # With a buffer, read() returns a count (typeshed says bytes).
                        n = cast(int, self._obj.read(READ_SIZE, self._buf))
                except ssl.SSLWantReadError:
                    if self._eof:
                        return self._view[:0]
                    if not self._receive():
                        self._eof = True
                    continue
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return self._view[:0]  # close_notify, or EOF without one
                self._flush(wait=False)  # e.g. answers to a TLS 1.3 key update
                return self._view[:n]
        except socket.timeout:
            raise _read_timeout(self.sock) from None
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error while reading: {exc}") from None
        except OSError as exc:
            raise TransportError(f"read failed: {exc}") from None

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                with self._lock:
                    n = self._obj.write(view)
                view = view[n:]
                self._flush()
        except ssl.SSLError as exc:
            raise TransportError(f"TLS error while writing: {exc}") from None
        except OSError as exc:
            raise TransportError(f"write failed: {exc}") from None

    def shutdown_write(self) -> None:
        try:
            with self._lock:
                # unwrap() calls SSL_shutdown a second time to wait for the
                # daemon's close_notify, and that call reads and DISCARDS
                # application data already in the incoming BIO (output the
                # reader thread has received but not decrypted yet).  So the
                # pending bytes are taken out first and put back after.
                pending = self._in.read()
                try:
                    self._obj.unwrap()
                except ssl.SSLWantReadError:
                    pass  # close_notify is queued; the daemon's comes later
                if pending:
                    self._in.write(pending)
            self._flush()
        except (ssl.SSLError, OSError) as exc:
            raise TransportError(f"half-close failed: {exc}") from None
