"""Hijacked sessions (attach and exec) on an asyncio transport.

The asyncio twin of the sync driver's ``Session``.  The sans-I/O
:class:`~protocol.Connection` decodes the output in HIJACKED state; this
module adds the transport: stdin writes, the half-close that gives the
process EOF while its output keeps flowing, and closing.  Resizing and the
exit code are engine operations on other connections, run by the client
that made the session.

One task may read while another writes (a process like ``cat`` blocks on a
full output pipe until its output is read, so a large stdin must be written
while reading).  :meth:`AsyncSession.aclose` from another task wakes the
reader, which gets :class:`StreamClosed`; a task cancelled while it reads
or writes closes the connection (the transports abort on cancellation).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from .._core._async_interface import AsyncTransport
from .._core._connection import Connection, ConnectionState, ReceivedEvent
from .._core._errors import (
    LocalProtocolError,
    OutputLimitExceeded,
    ProtocolError,
    ReadTimeout,
    StreamClosed,
    TransportError,
)
from .._core._engine import Engine, Operation
from .._core._events import ConnectionClosed, EndOfMessage, Response, Stream, StreamError
from .._core._output import OutputCollector
from .._core._sinks import write_to

__all__ = ["AsyncSession"]

_ENDS = (EndOfMessage, ConnectionClosed)

#: Runs an engine operation on the client that made the session.
Runner = Callable[[Operation[Any]], Awaitable[Any]]


class AsyncSession:
    """An attach or exec session over a hijacked connection (asyncio).

    Iterate it with ``async for`` for output items (:class:`Frame`,
    :class:`StreamError`) until the daemon closes; :meth:`write` sends
    stdin; :meth:`close_stdin` half-closes (the process sees EOF, output
    keeps coming); :meth:`copy_to` is the sink form; :meth:`resize` and
    :meth:`wait` talk to the daemon on other connections.
    """

    def __init__(
        self,
        run: Runner,
        engine: Engine,
        stream: AsyncTransport,
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
        self._timeout = timeout  # the client's read timeout, named in its error
        self._stream = stream
        self._conn = conn
        self.response = response
        self._pending = pending
        self.exec_id = exec_id
        self.container = container
        self.tty = tty
        self._eof = False
        self._closed = False
        # Writes of two tasks must not interleave on the wire; the lock also
        # orders a half-close after a write in progress.
        self._write_lock = asyncio.Lock()

    # -- stdin -----------------------------------------------------------

    async def write(self, data: bytes) -> None:
        """Send bytes to the process's stdin (returns once the transport took them)."""
        async with self._write_lock:
            if self._closed:
                raise LocalProtocolError("the session is closed")
            try:
                await self._stream.write(self._conn.send_data(data))
            except asyncio.CancelledError:
                self._closed = True  # the transport aborted: nothing more goes through
                raise

    async def close_stdin(self) -> None:
        """Half-close: EOF on the process's stdin; output keeps flowing."""
        async with self._write_lock:
            if self._closed or self._conn.stdin_closed:
                return
            self._conn.send_eof()
            try:
                await self._stream.shutdown_write()
            except asyncio.CancelledError:
                self._closed = True
                raise

    # -- output ------------------------------------------------------------

    def _closed_error(self) -> StreamClosed:
        what = f"exec {self.exec_id[:12]}" if self.exec_id else f"attach to {self.container}"
        return StreamClosed(f"{what}: the session was closed before its output ended")

    async def _read(self) -> Any:
        """One read; :class:`StreamClosed` once :meth:`aclose` has been called.

        ``aclose()`` from another task closes the transport, which wakes a
        read pending here with EOF (or an error): either way the reader is
        told the session was closed, never that the output ended.
        """
        if self._closed:
            raise self._closed_error()
        try:
            data = await self._stream.read()
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
        except asyncio.CancelledError:
            self._closed = True  # the transport aborted itself (the interface's contract)
            raise
        if self._closed:
            raise self._closed_error()
        return data

    async def read_batches(self) -> AsyncIterator[list[ReceivedEvent]]:
        """Output items, one list per transport read (the batch form)."""
        if self._pending:
            batch, self._pending = self._pending, []
            batch = [e for e in batch if not isinstance(e, _ENDS)]
            if batch:
                yield batch
        while not self._eof:
            data = await self._read()
            if not data:
                self._eof = True
            events = self._conn.receive_data(data)
            items = [e for e in events if not isinstance(e, _ENDS)]
            if items:
                yield items

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._conn._async_items(self.read_batches())

    async def copy_to(self, stdout: Any, stderr: Any) -> list[StreamError]:
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
                    write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
        while not self._eof:
            data = await self._read()
            if not data:
                self._eof = True
            for ev in self._conn.receive_data_into(data, stdout, stderr):
                if isinstance(ev, StreamError):
                    errors.append(ev)
        return errors

    async def collect(self, limit: int | None = None) -> tuple[bytes, bytes, list[StreamError]]:
        """All stdout and stderr bytes until EOF, at most ``limit`` in total.

        Past the limit, :class:`OutputLimitExceeded` is raised carrying what
        was received so far: output is never cut silently.  Any other error
        carries it too, in ``exc.received`` (an :class:`ExecResult` with no
        exit code).
        """
        collector = OutputCollector(limit)
        await self.collect_into(collector)
        return collector.stdout, collector.stderr, collector.errors

    async def collect_into(self, collector: OutputCollector) -> None:
        """Feed every batch of output to ``collector`` until EOF (closing
        the session when it refuses more)."""
        try:
            async for batch in self.read_batches():
                collector.feed(batch)
        except OutputLimitExceeded:
            await self.aclose()
            raise
        except (ProtocolError, TransportError) as exc:
            collector.salvage(exc)
            raise

    # -- control -------------------------------------------------------------

    async def resize(self, size: Any = None, *, height: int | None = None, width: int | None = None) -> None:
        """Resize the TTY (``/exec/{id}/resize`` or ``/containers/{id}/resize``).

        Give ``os.get_terminal_size()`` (anything with ``lines`` and
        ``columns``), or ``height=`` and ``width=`` by keyword.  Positional
        numbers are refused: the API's order (h, w) is the reverse of
        ``os.terminal_size``'s (columns, lines), and a swapped pair would be
        accepted silently by the daemon.
        """
        await self._run(self._engine.resize(self, size, height=height, width=width))

    async def wait(self, poll: float = 0.05, timeout: float | None = None) -> int | None:
        """The exit code: exec inspect (polled until not Running) or container wait.

        An exec is polled for at most ``timeout`` seconds (default: the
        client's timeout, else 30 s); past it, :class:`Timeout` (also a
        ``TimeoutError``) says what the daemon last reported, which is kept
        in ``exc.received``.
        """
        return await self._run(self._engine.wait_session(self, poll, timeout))  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Close the connection; from another task it wakes a pending reader
        (which gets :class:`StreamClosed`)."""
        self._closed = True
        # Always: a cancelled read marked the session closed and its
        # transport aborted itself, but a custom transport may not keep that
        # contract; aclose() is idempotent.
        await self._stream.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def state(self) -> ConnectionState:
        return self._conn.state

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        what = f"exec {self.exec_id[:12]}" if self.exec_id else f"attach {self.container}"
        return f"<AsyncSession {what} tty={self.tty}>"
