"""Hijacked sessions on the sync transport: attach and exec.

``POST /containers/{id}/attach`` and ``POST /exec/{id}/start`` take over
the HTTP connection (wire facts, section 3).  The sans-I/O
:class:`Connection` handles the head (``101 UPGRADED``, or the older
``200`` raw stream) and decodes output in HIJACKED state; this module adds
the socket: stdin writes, the half-close that gives the process EOF while
its output keeps flowing, resize, and waiting for the exit code.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from .._core._connection import Connection, ConnectionState, ReceivedEvent
from .._core._errors import (
    LocalProtocolError,
    OutputLimitExceeded,
    ProtocolError,
    ReadTimeout,
    StreamClosed,
    Timeout,
    TransportError,
)
from .._core._events import ConnectionClosed, EndOfMessage, Response, Stream, StreamError
from .._core._request import Request
from .._core._interface import Transport
from .._core._sinks import write_to as _write_to

if TYPE_CHECKING:
    from ._client import Client



__all__ = ["Session", "ExecResult", "EXEC_WAIT_TIMEOUT"]

#: How long :meth:`Session.wait` polls an exec that the daemon still reports
#: running after its output ended, when neither the call nor the client
#: gives a timeout.  The daemon records the exit a few milliseconds after
#: the output closes; a process that outlives its output (a daemonised
#: child holding no pipe) would otherwise be polled for ever.
EXEC_WAIT_TIMEOUT = 30.0


class ExecResult(NamedTuple):
    """What :meth:`Client.exec_run` returns."""

    exit_code: int | None
    stdout: bytes
    stderr: bytes


class Session:
    """An attach or exec session over a hijacked connection.

    Iterate it for output items (:class:`Frame`, :class:`StreamError`) until
    the daemon closes; :meth:`write` sends stdin; :meth:`close_stdin`
    half-closes (the process sees EOF, output keeps coming);
    :meth:`copy_to` is the sink form; :meth:`resize` and :meth:`wait`
    talk to the daemon on other connections.

    Reading and writing may happen from two threads (one writer, one
    reader): a process like ``cat`` blocks on a full output pipe until its
    output is read, so a large stdin must be written while reading.
    """

    def __init__(
        self,
        client: Client,
        stream: Transport,
        conn: Connection,
        response: Response,
        pending: list[ReceivedEvent],
        *,
        exec_id: str | None = None,
        container: str | None = None,
        tty: bool,
    ) -> None:
        self._client = client
        self._stream = stream
        self._conn = conn
        self.response = response
        self._pending = pending
        self.exec_id = exec_id
        self.container = container
        self.tty = tty
        self._eof = False
        self._closed = False
        self._write_lock = threading.Lock()

    # -- stdin -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send bytes to the process's stdin (blocks until the socket takes them)."""
        with self._write_lock:
            if self._closed:
                raise LocalProtocolError("the session is closed")
            self._stream.write(self._conn.send_data(data))

    def close_stdin(self) -> None:
        """Half-close: EOF on the process's stdin; output keeps flowing."""
        with self._write_lock:
            if self._closed or self._conn.stdin_closed:
                return
            self._conn.send_eof()
            self._stream.shutdown_write()

    # -- output ------------------------------------------------------------

    def _read(self) -> Any:
        """One read; :class:`StreamClosed` once :meth:`close` has been called.

        ``close()`` from another thread shuts the transport down, which
        wakes a read blocked here with EOF (or an error): either way the
        reader is told the session was closed, never that the output ended.
        """
        if self._closed:
            raise self._closed_error()
        try:
            data = self._stream.read()
        except ReadTimeout:
            if self._closed:
                raise self._closed_error() from None
            req = self._conn.request
            what = "the session" if req is None else f"{req.method} {req.target}"
            limit = self._client.timeout
            raise ReadTimeout(
                f"{what}: no output from the daemon within {limit}s (read timeout)", req, limit
            ) from None
        except TransportError:
            if self._closed:
                raise self._closed_error() from None
            raise
        if self._closed:
            raise self._closed_error()
        return data

    def _closed_error(self) -> StreamClosed:
        what = f"exec {self.exec_id[:12]}" if self.exec_id else f"attach to {self.container}"
        return StreamClosed(f"{what}: the session was closed before its output ended")

    def read_batches(self) -> Iterator[list[ReceivedEvent]]:
        """Output items, one list per socket read (the batch form)."""
        if self._pending:
            batch, self._pending = self._pending, []
            batch = [e for e in batch if not isinstance(e, (EndOfMessage, ConnectionClosed))]
            if batch:
                yield batch
        while not self._eof:
            data = self._read()
            if not data:
                self._eof = True
            events = self._conn.receive_data(data)
            items = [e for e in events if not isinstance(e, (EndOfMessage, ConnectionClosed))]
            if items:
                yield items

    def __iter__(self) -> Iterator[Any]:
        # One Python frame resumed per socket read, not per item.
        return itertools.chain.from_iterable(self.read_batches())

    def copy_to(self, stdout: Any, stderr: Any) -> list[StreamError]:
        """Write all output to two targets until EOF (the sink form).

        Targets are file descriptors or objects with ``write()`` or
        ``sendall()``.  Returns the in-band errors, in order.
        """
        errors: list[StreamError] = []
        if self._pending:
            pending, self._pending = self._pending, []
            for ev in pending:
                if isinstance(ev, StreamError):
                    errors.append(ev)
                elif hasattr(ev, "stream"):
                    _write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
        while not self._eof:
            data = self._read()
            if not data:
                self._eof = True
            for ev in self._conn.receive_data_into(data, stdout, stderr):
                if isinstance(ev, StreamError):
                    errors.append(ev)
        return errors

    def collect(self, limit: int | None = None) -> tuple[bytes, bytes, list[StreamError]]:
        """All stdout and stderr bytes until EOF, at most ``limit`` in total.

        Past the limit, :class:`OutputLimitExceeded` is raised carrying what
        was received so far: output is never cut silently.  Any other error
        carries it too, in ``exc.received`` (an :class:`ExecResult` with no
        exit code).
        """
        out: list[bytes] = []
        err: list[bytes] = []
        errors: list[StreamError] = []
        try:
            return self._collect(limit, out, err, errors)
        except (ProtocolError, TransportError) as exc:
            if not isinstance(exc, OutputLimitExceeded):
                for item in getattr(exc, "items", None) or []:  # the failing read's
                    if not isinstance(item, StreamError) and hasattr(item, "stream"):
                        (out if item.stream == Stream.STDOUT else err).append(item.data)
                exc.received = ExecResult(None, b"".join(out), b"".join(err))
            raise

    def _collect(
        self, limit: int | None, out: list[bytes], err: list[bytes], errors: list[StreamError]
    ) -> tuple[bytes, bytes, list[StreamError]]:
        total = 0
        for item in self:
            if isinstance(item, StreamError):
                errors.append(item)
                continue
            total += len(item.data)
            if limit is not None and total > limit:
                keep = len(item.data) - (total - limit)
                (out if item.stream == Stream.STDOUT else err).append(item.data[:keep])
                self.close()
                raise OutputLimitExceeded(
                    f"the output passed the limit of {limit} bytes", limit, b"".join(out), b"".join(err)
                )
            (out if item.stream == Stream.STDOUT else err).append(item.data)
        return b"".join(out), b"".join(err), errors

    # -- control -------------------------------------------------------------

    def resize(self, size: Any = None, *, height: int | None = None, width: int | None = None) -> None:
        """Resize the TTY (``/exec/{id}/resize`` or ``/containers/{id}/resize``).

        Give ``os.get_terminal_size()`` (anything with ``lines`` and
        ``columns``), or ``height=`` and ``width=`` by keyword.  Positional
        numbers are refused: the API's order (h, w) is the reverse of
        ``os.terminal_size``'s (columns, lines), and a swapped pair would be
        accepted silently by the daemon.
        """
        if size is not None:
            if height is not None or width is not None:
                raise TypeError("resize() takes a terminal size or height=/width=, not both")
            if not (hasattr(size, "lines") and hasattr(size, "columns")):
                raise TypeError(
                    "resize() takes os.get_terminal_size() (or an object with .lines and .columns), "
                    f"or height= and width= by keyword, not {size!r}"
                )
            height, width = int(size.lines), int(size.columns)
        if height is None or width is None:
            raise TypeError("resize() needs both height= and width=")
        if self.exec_id is not None:
            self._client.call("exec.resize", id=self.exec_id, h=height, w=width)
        else:
            self._client.call("containers.resize", id=self.container, h=height, w=width)

    def wait(self, poll: float = 0.05, timeout: float | None = None) -> int | None:
        """The exit code: exec inspect (polled until not Running) or container wait.

        An exec is polled for at most ``timeout`` seconds (default: the
        client's timeout, else :data:`EXEC_WAIT_TIMEOUT`); past it,
        :class:`Timeout` (also a ``TimeoutError``) says what the daemon
        last reported, which is kept in ``exc.received``.
        """
        if self.exec_id is None:
            assert self.container is not None
            return int(self._client.wait_container(self.container)["StatusCode"])
        if timeout is None:
            timeout = self._client.timeout if self._client.timeout is not None else EXEC_WAIT_TIMEOUT
        deadline = time.monotonic() + timeout
        while True:
            info = self._client.inspect_exec(self.exec_id)
            # The output can end a moment before the daemon records the exit.
            if not info.get("Running"):
                code = info.get("ExitCode")
                return None if code is None else int(code)
            if time.monotonic() > deadline:
                exc = Timeout(
                    f"exec {self.exec_id[:12]} is still running {timeout}s after its output "
                    f"ended (the daemon reports Running={info.get('Running')!r}, "
                    f"ExitCode={info.get('ExitCode')!r}, Pid={info.get('Pid')!r})",
                    None,
                    timeout,
                )
                exc.received = info
                raise exc
            time.sleep(poll)

    def close(self) -> None:
        """Close the connection; safe from another thread, where it wakes a
        blocked reader (which gets :class:`StreamClosed`)."""
        if not self._closed:
            self._closed = True
            self._stream.close()

    @property
    def state(self) -> ConnectionState:
        return self._conn.state

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_session(
    client: Client, request: Request, *, exec_id: str | None = None, container: str | None = None
) -> Session | None:
    """Send a HIJACK request and wrap the taken-over connection.

    None when the daemon answered with an ordinary response instead of
    taking the connection over (exec start with ``Detach: true`` gets an
    empty 200 on a kept-alive connection): that answer is read whole and
    the connection goes back to the pool.
    """
    resp = client.send(request)
    if resp.connection.state is not ConnectionState.HIJACKED:
        with resp:
            resp.read()
        return None
    stream = resp.socket_stream
    if stream is None:
        raise TransportError("the daemon closed the connection right after the hijack")
    session = Session(
        client,
        stream,
        resp.connection,
        resp.response,
        resp.take_pending(),
        exec_id=exec_id,
        container=container,
        tty=bool(request.tty) or resp.connection.decoder.__class__.__name__ == "RawStreamDecoder",
    )
    resp.detach()  # the session owns the socket now
    return session
