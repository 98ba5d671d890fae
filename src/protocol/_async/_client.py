"""The asyncio client: the engine's operations over asyncio transports.

Theory of operation.  Every operation of the client is a generator of the
sans-I/O engine: it yields steps (open an exchange, read a body, start a
session, sleep, ...) and receives their results.  :meth:`AsyncClient._run`
drives one operation; :meth:`AsyncClient._perform` does one step with
asyncio.  Nothing here knows an endpoint, a version rule or a stream
format: that is all the engine's, shared with the sync driver.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._about import USER_AGENT
from .._backends._context import client_settings, resolve_environment
from .._backends._hosts import HostConfig, TLSConfig, parse_host
from .._core._async_interface import AsyncConnectFactory, AsyncTransport, set_async_read_timeout
from .._core._connection import DEFAULT_MAX_BODY_SIZE, Connection, ConnectionState, ReceivedEvent
from .._core._errors import (
    LocalProtocolError,
    OutputLimitExceeded,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
)
from .._core._events import Response, Stream, StreamError
from .._core._exchange import connection_lost, may_send_again, timed_out
from .._core._negotiation import VersionRange
from .._core._request import Request
from .._core._sinks import write_to
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike
from ._pool import AsyncPool
from ._response import AsyncStreamingResponse, Sink, _close_soon, exc_items
from ._session import AsyncSession

__all__ = ["AsyncClient"]

#: Stdin is handed to the transport in slices this big, so a large input
#: never needs a second copy of itself in the transport's buffers.
STDIN_SLICE = 1 << 20


def _single_use(transport: AsyncTransport) -> AsyncConnectFactory:
    """A connect factory that hands out one given transport, once."""
    given: list[AsyncTransport] = [transport]

    async def connect() -> AsyncTransport:
        if given:
            return given.pop()
        raise TransportError(
            "the transport given as AsyncClient(transport=...) is in use or was closed; "
            "pass connect= a factory for a client that opens new connections"
        )

    return connect


def _bytes_written(transport: AsyncTransport) -> int | None:
    """Bytes the transport accepted since ``reset_written()``; None when it
    does not count them (then anything may have been sent)."""
    written = getattr(transport, "written", None)
    return written if isinstance(written, int) else None


def _reset_written(transport: AsyncTransport) -> None:
    reset = getattr(transport, "reset_written", None)
    if reset is not None:
        reset()


class AsyncClient:
    """An asyncio Docker client: :class:`~protocol.Client`'s methods,
    parameters and semantics, as coroutines.

    Streaming answers are async iterators and async context managers
    (:class:`AsyncStreamingResponse`, :class:`AsyncSession`,
    :class:`AsyncProgressStream`).  ``transport=`` takes one ready
    :class:`~protocol.AsyncTransport`, ``connect=`` an
    :class:`~protocol.AsyncConnectFactory`; everything else is as for
    ``Client``.  Negotiation happens once, on the first request, however
    many tasks make it together.  Cancelling a task that waits on a stream
    or a session closes that connection at once.
    """

    def __init__(
        self,
        host: str | HostConfig | None = None,
        version: VersionLike | None = None,
        *,
        tls: TLSConfig | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = 10.0,
        pool_size: int = 4,
        min_version: VersionLike = MIN_VERSION,
        max_version: VersionLike = MAX_VERSION,
        environ: Mapping[str, str] | None = None,
        stream_impl: Any = None,
        transport: AsyncTransport | None = None,
        connect: AsyncConnectFactory | None = None,
        ssh_options: Sequence[str] = (),
        context: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self._stream_impl = stream_impl
        given = sum(x is not None for x in (host or None, transport, connect, context))
        if given > 1:
            raise LocalProtocolError("give at most one of host=, context=, transport= or connect=")
        self.context: str | None = None
        if transport is not None or connect is not None:
            if transport is not None:
                connect = _single_use(transport)
            self.host = HostConfig("custom", f"custom transport {connect!r}")
            api_version, http_headers = client_settings(environ)
        elif isinstance(host, HostConfig):
            self.host = host
            api_version, http_headers = client_settings(environ)
        elif host:
            self.host = parse_host(host, tls)
            api_version, http_headers = client_settings(environ)
        else:
            found = resolve_environment(environ, context=context)
            self.host, self.context = found.host, found.context
            api_version, http_headers = found.api_version, found.headers
            if tls is not None:
                self.host = dataclasses.replace(self.host, tls=tls)
        if version is None and api_version:
            version = api_version
        headers = dict(http_headers)
        if not any(k.lower() == "user-agent" for k in headers):
            headers["User-Agent"] = USER_AGENT
        self._default_headers = tuple(
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        )
        if ssh_options:
            self.host = dataclasses.replace(self.host, ssh_options=tuple(ssh_options))
        self.timeout = timeout
        if not isinstance(max_body_size, int) or max_body_size < 0:
            raise LocalProtocolError(f"max_body_size must be a non-negative int, not {max_body_size!r}")
        self.max_body_size = max_body_size
        self._range = VersionRange(APIVersion(min_version), APIVersion(max_version))
        if self._range.minimum is None or self._range.maximum < self._range.minimum:
            raise LocalProtocolError("max_version is below min_version")
        self._version: APIVersion | None = None if version is None else APIVersion(version)
        # Created on first use: a lock made outside a running loop would
        # belong to no loop on Python < 3.10 and is cheap to make later.
        self._version_lock: asyncio.Lock | None = None
        self._pool = AsyncPool(self.host, size=pool_size, connect_timeout=connect_timeout, connect=connect)

    # -- lifecycle -------------------------------------------------------

    async def aclose(self) -> None:
        """Close the idle connections; streams and sessions still open keep theirs."""
        await self._pool.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncClient {self.host.url} api={self._version or 'unnegotiated'}>"

    # -- the steps -------------------------------------------------------

    def _new_connection(self) -> Connection:
        return Connection(stream_impl=self._stream_impl, default_headers=self._default_headers,
                          max_body_size=self.max_body_size)

    async def _open(self, request: Request) -> AsyncStreamingResponse[Any]:
        """Send ``request`` as is and read up to its response head (status
        not checked, body unread).

        Sent a second time, on a new connection, only when the core's rule
        (:func:`may_send_again`, Go's net/http rule) says it is safe; every
        other broken exchange raises :class:`ConnectionLost`.
        """
        for attempt in range(2):
            stream, reused = await self._pool.acquire()
            conn = self._new_connection()
            received = False
            eof = False
            try:
                set_async_read_timeout(stream, self.timeout)
                _reset_written(stream)
                await stream.write(conn.send_request(request))
                if conn.state is ConnectionState.SENDING_BODY:
                    for chunk in request.body_chunks():
                        out = conn.send_body(chunk)
                        if out:
                            await stream.write(out)
                    await stream.write(conn.send_end())
                events: list[ReceivedEvent] = []
                while True:
                    data = await stream.read()
                    if data:
                        received = True
                    else:
                        eof = True
                    events.extend(conn.receive_data(data))
                    if events and isinstance(events[0], Response):
                        return await self._response(stream, conn, events[0], events[1:])
            except ReadTimeout:
                await stream.aclose()
                raise timed_out(request, self.timeout) from None
            except (RemoteProtocolError, TransportError) as exc:
                items = exc_items(exc)
                if items and isinstance(items[0], Response):
                    # The head is complete and the fault is in the body that
                    # came with it: the caller gets the response, its items
                    # so far, then the error, as for a later read.
                    return await self._response(stream, conn, items[0], items[1:], error=exc)
                await stream.aclose()
                if isinstance(exc, RemoteProtocolError) and not eof:
                    raise  # the daemon answered, with bytes that break HTTP
                written = _bytes_written(stream)
                if may_send_again(request, reused=reused, attempt=attempt, written=written, received=received):
                    continue  # a stale keep-alive connection: safe to send again
                raise connection_lost(request, exc, written=written, received=received) from exc
            except asyncio.CancelledError:
                # The transport aborted itself; nothing here may await first.
                _close_soon(stream)
                raise
            except BaseException:
                await stream.aclose()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _response(self, stream: AsyncTransport, conn: Connection, head: Response,
                        pending: list[ReceivedEvent],
                        error: BaseException | None = None) -> AsyncStreamingResponse[Any]:
        resp: AsyncStreamingResponse[Any] = AsyncStreamingResponse(
            self._pool, stream, conn, head, pending,
            timeout=self.timeout, max_body_size=self.max_body_size, error=error,
        )
        await resp._settle()
        return resp

    @staticmethod
    async def _read_body(handle: AsyncStreamingResponse[Any], limit: int | None = -1) -> bytearray:
        """The whole body (the connection is released or closed after)."""
        async with handle:
            return await handle.read_buffer(limit)

    def _start_session(self, handle: AsyncStreamingResponse[Any], exec_id: str | None,
                       container: str | None, tty: bool) -> AsyncSession:
        """The hijacked connection of ``handle`` as a session (the handle
        lets go of the transport)."""
        pending = handle.take_pending()
        stream = handle.detach()
        if stream is None:
            raise TransportError("the daemon closed the connection right after the hijack")
        return AsyncSession(self, stream, handle.connection, handle.response, pending,
                            exec_id=exec_id, container=container, tty=tty)

    @staticmethod
    async def _converse(session: AsyncSession, chunks: bytes | Iterable[bytes], half_close: bool,
                        collector: Any) -> BaseException | None:
        """Write stdin in a second task while this one reads all output into
        ``collector``: a command that echoes its input cannot deadlock.

        Returns the writer's exception (None if it had none): the output is
        what the caller asked for, a stdin refused because the command ended
        early is the caller's to judge.
        """
        failure: list[BaseException] = []

        async def feed() -> None:
            try:
                if isinstance(chunks, (bytes, bytearray, memoryview)):
                    view = memoryview(chunks)
                    for i in range(0, len(view), STDIN_SLICE):
                        await session.write(view[i:i + STDIN_SLICE].tobytes())
                else:
                    for chunk in chunks:
                        await session.write(chunk)
                if half_close:
                    await session.close_stdin()
            except Exception as exc:  # surfaced after the read loop
                failure.append(exc)

        writer = asyncio.create_task(feed())
        try:
            async for batch in session.read_batches():
                collector.feed(batch)
        except OutputLimitExceeded:
            await session.aclose()
            raise
        finally:
            if not writer.done():
                # The output ended (or failed) while stdin was still being
                # written: the command will not read the rest.
                writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        return failure[0] if failure else None

    @staticmethod
    async def _drain_into(handle: AsyncStreamingResponse[Any], stdout: Sink, stderr: Sink) -> list[StreamError]:
        """The sink form: payloads written to two targets, no object per frame."""
        errors: list[StreamError] = []
        async with handle:
            for ev in handle.take_pending():
                if isinstance(ev, StreamError):
                    errors.append(ev)
                elif hasattr(ev, "stream"):
                    write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
            await handle.drain_into(stdout, stderr, errors)
        return errors
