"""A tiny scripted HTTP server standing in for daemons we cannot run here
(docker 0.x and 1.x eras), over a unix socket, TCP, TLS, or in memory
(``memory=True``: no socket at all; ``connect()`` is a ``Client(connect=...)``
factory that gives the client one end of an in-memory pair and serves the
other end in a thread).

It answers each request with the bytes its ``routes`` give for the
request line (``"GET /_ping"``); unknown routes get a 404 with an empty
body, like docker <= 0.7.  Requests are recorded in ``.seen``.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Mapping

from protocol import MemoryTransport, memory_pair

Route = Callable[[bytes], bytes] | bytes


class FakeDaemon:
    def __init__(self, routes: Mapping[str, Route], *, unix_path: str | None = None,
                 tls: ssl.SSLContext | None = None, close_after: bool = False,
                 memory: bool = False) -> None:
        self.routes = dict(routes)
        # Close every connection after one answer, without saying so in the
        # headers: what a daemon restart or an idle timeout does to a pooled
        # keep-alive connection.
        self.close_after = close_after
        self.seen: list[str] = []
        self.heads: list[bytes] = []  # each request's raw head, for header checks
        self.tls = tls
        self.errors: list[BaseException] = []
        self.connections = 0
        if memory:
            self.host = "memory"
            self.sock = None
            return
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.host = f"unix://{unix_path}"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            port = self.sock.getsockname()[1]
            self.host = f"{'https' if tls else 'tcp'}://127.0.0.1:{port}"
        self.sock.listen(8)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()  # type: ignore[union-attr]
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def connect(self) -> MemoryTransport:
        """A new in-memory connection: the client's end; the daemon serves the other."""
        client_end, daemon_end = memory_pair()
        self.connections += 1
        threading.Thread(target=self._handle, args=(_TransportConn(daemon_end),), daemon=True).start()
        return client_end

    def _handle(self, conn: socket.socket | _TransportConn) -> None:
        try:
            if self.tls is not None and isinstance(conn, socket.socket):
                conn = self.tls.wrap_socket(conn, server_side=True)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                self.heads.append(head)
                lines = head.split(b"\r\n")
                parts = lines[0].decode("latin-1").split(" ", 2)
                if len(parts) != 3:
                    # Not a request line (e.g. the rest of a chunked body,
                    # which this scripted daemon does not parse): refuse
                    # and close, as a server would, instead of dying.
                    self.errors.append(ValueError(f"bad request line {lines[0][:80]!r}"))
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    return
                method, target, _ = parts
                length = 0
                chunked = False
                for line in lines[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                    elif k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower():
                        chunked = True
                if chunked:  # a streamed body (build context, image load)
                    body, buf = self._read_chunked(conn, buf)
                else:
                    while len(buf) < length:
                        buf += conn.recv(65536)
                    body, buf = buf[:length], buf[length:]
                path = target.split("?", 1)[0]
                key = f"{method} {path}"
                self.seen.append(key)
                route = self.routes.get(key)
                if route is None:
                    answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                elif callable(route):
                    answer = route(body)
                else:
                    answer = route
                conn.sendall(answer)
                if self.close_after:
                    return
        except (OSError, ssl.SSLError) as exc:
            self.errors.append(exc)
        finally:
            conn.close()

    @staticmethod
    def _read_chunked(conn: socket.socket | _TransportConn, buf: bytes) -> tuple[bytes, bytes]:
        """The de-chunked request body, and the bytes after it."""
        body = bytearray()

        def fill(n: int) -> None:
            nonlocal buf
            while len(buf) < n:
                data = conn.recv(65536)
                if not data:
                    raise OSError("client closed mid-body")
                buf += data

        while True:
            while b"\r\n" not in buf:
                fill(len(buf) + 1)
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            fill(size + 2)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                return bytes(body), buf

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class _TransportConn:
    """The socket calls the handler makes, on the daemon's end of a memory pair."""

    def __init__(self, end: MemoryTransport) -> None:
        self.end = end

    def recv(self, size: int) -> bytes:
        return self.end.read()

    def sendall(self, data: bytes) -> None:
        self.end.write(data)

    def close(self) -> None:
        self.end.close()


def http_response(status: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
