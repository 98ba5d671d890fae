"""Sync transports: unix sockets, TCP and TCP+TLS, with a small keep-alive pool.

This is the network glue of the sandwich: it owns sockets and nothing else.
All protocol decisions live in the sans-I/O :class:`~protocol.Connection`.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from ._errors import LocalProtocolError, ReadTimeout, TransportError
from ._interface import ConnectFactory, Transport, set_read_timeout

__all__ = [
    "DEFAULT_UNIX_SOCKET",
    "TLSConfig",
    "HostConfig",
    "parse_host",
    "host_from_env",
    "SocketStream",
    "TLSStream",
    "connect",
    "Pool",
]

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
#: One read hands the parser up to this many bytes.
READ_SIZE = 256 * 1024


@dataclass(frozen=True)
class TLSConfig:
    """Client-side TLS settings, as the docker CLI builds them.

    ``verify`` checks the daemon's certificate against ``ca_cert`` (or the
    system store when it is None); ``client_cert``/``client_key`` authenticate
    us.  ``server_hostname`` overrides the name checked in the certificate.
    """

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    server_hostname: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_cert)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(f"cannot load the TLS client certificate: {exc}") from None
        return ctx


@dataclass(frozen=True)
class HostConfig:
    """Where the daemon is: ``scheme`` is 'unix', 'tcp' or 'ssh'; ``tls`` set for TLS.

    For ssh, ``address`` is the host, ``port`` 0 means ssh's own default,
    ``user`` is the login (None: ssh's default), ``path`` the daemon's
    socket on the remote side (None: the remote docker CLI's default) and
    ``ssh_options`` extra arguments for the ``ssh`` program (``-F``, ``-i``,
    ``-o Key=value``).
    """

    scheme: str
    address: str  # socket path for unix, host name for tcp and ssh
    port: int = 0
    tls: TLSConfig | None = field(default=None)
    user: str | None = None
    path: str | None = None
    ssh_options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.address}"
        if self.scheme == "custom":
            return self.address  # a description of a caller-given transport
        if self.scheme == "ssh":
            who = f"{self.user}@" if self.user else ""
            port = f":{self.port}" if self.port else ""
            return f"ssh://{who}{self.address}{port}{self.path or ''}"
        return f"{'https' if self.tls else 'tcp'}://{self.address}:{self.port}"


def parse_host(host: str, tls: TLSConfig | None = None) -> HostConfig:
    """Parse a DOCKER_HOST-style address.

    ``unix:///path``, ``tcp://host:port``, ``http://host:port`` (plain),
    ``https://host:port`` (TLS), ``ssh://[user@]host[:port][/socket]``.  As
    the docker CLI does: the default port is 2376 with TLS and 2375
    without, a bare ``host:port`` means ``tcp://host:port``, and a missing
    host (``tcp://``, ``tcp://:2375``) means localhost.
    """
    host = host.strip()
    if not host:
        return HostConfig("unix", DEFAULT_UNIX_SOCKET)
    if host.startswith("/"):
        return HostConfig("unix", host)
    if "://" not in host:
        host = "tcp://" + host  # the docker CLI's rule for a bare address
    parts = urlsplit(host)
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = (parts.netloc + parts.path) or DEFAULT_UNIX_SOCKET
        return HostConfig("unix", path)
    try:
        port = parts.port
    except ValueError:
        raise LocalProtocolError(f"bad port in {host!r}") from None
    if scheme in ("tcp", "http", "https"):
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise LocalProtocolError(f"a tcp host is host:port only, not {host!r}")
        if scheme == "https" and tls is None:
            tls = TLSConfig()
        if scheme == "http":
            tls = None
        return HostConfig("tcp", parts.hostname or "localhost", port or (2376 if tls else 2375), tls)
    if scheme == "ssh":
        if not parts.hostname:
            raise LocalProtocolError(f"no host name in {host!r}")
        if parts.password is not None:
            # The docker CLI refuses it too: a password in DOCKER_HOST would
            # end up in process listings and logs.
            raise LocalProtocolError("ssh:// hosts take no password (use keys or an agent)")
        if parts.query or parts.fragment:
            raise LocalProtocolError(f"extra parts in ssh host {host!r}")
        return HostConfig("ssh", parts.hostname, port or 0, None, user=parts.username or None,
                          path=parts.path or None)
    raise LocalProtocolError(
        f"unsupported Docker host {host!r} (use unix://, tcp://, https:// or ssh://)"
    )


def host_from_env(environ: Mapping[str, str] | None = None) -> HostConfig:
    """The host the docker CLI would use: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH."""
    env = os.environ if environ is None else environ
    host = env.get("DOCKER_HOST", "")
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0", "false", "False")
    cert_path = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
    tls: TLSConfig | None = None
    if verify or env.get("DOCKER_TLS", "") not in ("", "0", "false", "False"):
        def pem(name: str) -> str | None:
            path = os.path.join(cert_path, name)
            return path if os.path.exists(path) else None

        tls = TLSConfig(
            ca_cert=pem("ca.pem") if verify else None,
            client_cert=pem("cert.pem"),
            client_key=pem("key.pem"),
            verify=verify,
        )
    return parse_host(host, tls)


def write_to(target: Any, data: bytes) -> None:
    """Write all of ``data`` to a sink: a file descriptor, or an object with
    ``write()`` (files) or ``sendall()`` (sockets)."""
    if isinstance(target, int):
        view = memoryview(data)
        while view:
            view = view[os.write(target, view):]
    elif hasattr(target, "write"):
        target.write(data)
    else:
        target.sendall(data)


def _read_timeout(sock: socket.socket) -> ReadTimeout:
    limit = sock.gettimeout()
    return ReadTimeout(f"no data from the daemon within {limit}s", timeout=limit)


def is_clean_idle(transport: Transport) -> bool:
    """Whether an idle keep-alive connection may carry a new request: no
    byte (and no EOF) arrived since its last answer ended.  A transport
    that cannot tell (no ``is_clean_idle``) is taken at its word."""
    check = getattr(transport, "is_clean_idle", None)
    return True if check is None else bool(check())


def bytes_written(transport: Transport) -> int | None:
    """Bytes the transport accepted since ``reset_written()``; None when it
    does not count them (then anything may have been sent)."""
    written = getattr(transport, "written", None)
    return written if isinstance(written, int) else None


def reset_written(transport: Transport) -> None:
    reset = getattr(transport, "reset_written", None)
    if reset is not None:
        reset()


class SocketStream:
    """A connected plain socket with the operations the client needs.

    ``written`` counts the bytes the kernel accepted since the last
    :meth:`reset_written`: the client retries a request on a new connection
    only when it is safe, and "nothing was written" is one of the cases.
    """

    __slots__ = ("sock", "_buf", "_view", "written")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # One large buffer, reused for every read: the parser copies what it
        # keeps, so no per-read allocation happens here.
        self._buf = bytearray(READ_SIZE)
        self._view = memoryview(self._buf)
        self.written = 0

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
        view = memoryview(data)
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
            poller = select.poll()
            poller.register(self.sock, select.POLLIN | select.POLLPRI)
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


def connect(host: HostConfig, connect_timeout: float | None = 10.0) -> SocketStream:
    """Open a new connection to the daemon."""
    if host.scheme == "ssh":
        from ._ssh import SSHTransport, host_ssh_command  # a process, not a socket: its own module

        return SSHTransport(host_ssh_command(host, connect_timeout))
    try:
        if host.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(connect_timeout)
            try:
                sock.connect(host.address)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host.address, host.port), timeout=connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if host.tls is not None:
                ctx = host.tls.context()
                name = host.tls.server_hostname or host.address
                try:
                    stream = TLSStream(sock, ctx, name)
                except BaseException:
                    sock.close()
                    raise
                sock.settimeout(None)
                return stream
    except ssl.SSLError as exc:
        raise TransportError(f"TLS handshake with {host.url} failed: {exc}") from None
    except OSError as exc:
        raise TransportError(f"cannot connect to the Docker daemon at {host.url}: {exc}") from None
    sock.settimeout(None)
    return SocketStream(sock)


class Pool:
    """Idle keep-alive connections, at most ``size`` kept."""

    def __init__(self, host: HostConfig, size: int = 4, connect_timeout: float | None = 10.0,
                 connect: ConnectFactory | None = None):
        self.host = host
        self.size = size
        self.connect_timeout = connect_timeout
        # A caller-given factory (any Transport) replaces the built-in connect().
        self._connect = connect
        self._idle: list[Transport] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> tuple[Transport, bool]:
        """A connection, and whether it was reused (it may still go stale).

        An idle connection on which anything arrived since it was released
        (stray bytes, or the daemon's EOF) is closed here, never used: its
        pending bytes would become the next request's answer.
        """
        while True:
            with self._lock:
                if self._closed:
                    raise LocalProtocolError("the client is closed")
                if not self._idle:
                    break
                stream = self._idle.pop()
            if is_clean_idle(stream):
                return stream, True
            stream.close()
        if self._connect is not None:
            return self._connect(), False
        return connect(self.host, self.connect_timeout), False

    def release(self, stream: Transport) -> None:
        """Keep a connection whose cycle ended cleanly (the caller checked
        the sans-I/O state); one with bytes already pending is closed."""
        if not is_clean_idle(stream):
            stream.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                set_read_timeout(stream, None)
                self._idle.append(stream)
                return
        stream.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for s in idle:
            s.close()
