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
from collections.abc import Callable, Iterator
from typing import Any

from .._core._connection import Connection, ConnectionState, ReceivedEvent
from .._core._engine import Engine, Operation
from .._core._errors import (
    LocalProtocolError,
    OutputLimitExceeded,
    ProtocolError,
    ReadTimeout,
    StreamClosed,
    TransportError,
)
from .._core._events import ConnectionClosed, EndOfMessage, Response, Stream, StreamError
from .._core._interface import Transport
from .._core._output import ExecResult, OutputCollector
from .._core._sinks import write_to as _write_to

__all__ = ["Session", "ExecResult"]

#: Runs an engine operation on the client that made the session.
Runner = Callable[[Operation[Any]], Any]


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
        run: Runner,
        engine: Engine,
        stream: Transport,
        conn: Connection,
        response: Response,
        pending: list[ReceivedEvent],
        *,
        exec_id: str | None = None,
        container: str | None = None,
        tty: bool,
        timeout: float | None = None,
    ) -> None:
        self._run = run
        self._engine = engine
        self._timeout = timeout
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
            limit = self._timeout
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
        collector = OutputCollector(limit)
        self.collect_into(collector)
        return collector.stdout, collector.stderr, collector.errors

    def collect_into(self, collector: OutputCollector) -> None:
        """Feed every batch of output to ``collector`` until EOF (closing
        the session when it refuses more)."""
        try:
            for batch in self.read_batches():
                collector.feed(batch)
        except OutputLimitExceeded:
            self.close()
            raise
        except (ProtocolError, TransportError) as exc:
            collector.salvage(exc)
            raise

    # -- control -------------------------------------------------------------

    def resize(self, size: Any = None, *, height: int | None = None, width: int | None = None) -> None:
        """Resize the TTY (``/exec/{id}/resize`` or ``/containers/{id}/resize``).

        Give ``os.get_terminal_size()`` (anything with ``lines`` and
        ``columns``), or ``height=`` and ``width=`` by keyword.  Positional
        numbers are refused: the API's order (h, w) is the reverse of
        ``os.terminal_size``'s (columns, lines), and a swapped pair would be
        accepted silently by the daemon.
        """
        self._run(self._engine.resize(self, size, height=height, width=width))

    def wait(self, poll: float = 0.05, timeout: float | None = None) -> int | None:
        """The exit code: exec inspect (polled until not Running) or container wait.

        An exec is polled for at most ``timeout`` seconds (default: the
        client's timeout, else 30 s); past it, :class:`Timeout` (also a
        ``TimeoutError``) says what the daemon last reported, which is kept
        in ``exc.received``.
        """
        return self._run(self._engine.wait_session(self, poll, timeout))  # type: ignore[no-any-return]

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
