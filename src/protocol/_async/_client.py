"""The asyncio client: the engine's operations over asyncio transports.

Theory of operation.  Every operation of the client is a generator of the
sans-I/O engine: it yields steps (open an exchange, read a body, start a
session, sleep, ...) and receives their results.  :meth:`AsyncClient.run`
drives one operation; :meth:`AsyncClient._perform` does one step with
asyncio.  Nothing here knows an endpoint, a version rule or a stream
format: that is all the engine's, shared with the sync driver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from .._backends._hosts import HostConfig, TLSConfig
from .._core import _engine as steps
from .._core._async_interface import AsyncConnectFactory, AsyncTransport, set_async_read_timeout
from .._core._connection import DEFAULT_MAX_BODY_SIZE, ConnectionState, ReceivedEvent
from .._core._engine import FetchOp as _FetchOp
from .._core._engine import Operation
from .._core._errors import LocalProtocolError, ReadTimeout, RemoteProtocolError, TransportError
from .._core._events import Response
from .._core._interface import bytes_written, reset_written
from .._core._exchange import connection_lost, may_send_again, timed_out, whole_body
from .._core._request import Request
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike
from ._api import AsyncAPI
from ._pool import AsyncPool
from ._progress import AsyncProgressStream
from ._response import AsyncStreamingResponse, _close_soon, exc_items
from ._session import AsyncSession


# Read once: an enum member read from its class costs a metaclass call on 3.11.
_SENDING_BODY = ConnectionState.SENDING_BODY

__all__ = ["AsyncClient"]


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


class AsyncClient(AsyncAPI):
    """An asyncio Docker client: :class:`~protocol.Client`'s methods,
    parameters and semantics, as coroutines.

    Every argument is as for ``Client``, except that ``transport=`` takes one
    ready :class:`~protocol.AsyncTransport` and ``connect=`` an
    :class:`~protocol.AsyncConnectFactory` (a coroutine function returning a
    new transport).  Streaming answers are async iterators and async context
    managers (:class:`AsyncStreamingResponse`, :class:`AsyncSession`,
    :class:`AsyncProgressStream`); ``close()`` is :meth:`aclose`, and
    ``api_version`` is awaited (``await client.api_version``).

    Negotiation is lazy and happens once, however many tasks make their
    first request together.  A task cancelled while it waits on a stream or
    a session closes that connection at once; the pool never gets it back.
    All I/O runs on the event loop: no thread is used.
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
        if transport is not None and connect is not None:
            raise LocalProtocolError("give at most one of host=, context=, transport= or connect=")
        if transport is not None:
            connect = _single_use(transport)
        self._configure(
            host, version, tls=tls, timeout=timeout, min_version=min_version, max_version=max_version,
            environ=environ, stream_impl=stream_impl, ssh_options=ssh_options, context=context,
            custom=None if connect is None else f"custom transport {connect!r}", max_body_size=max_body_size,
        )
        # Held while negotiating: the tasks that make their first request
        # together wait for one negotiation instead of each sending its own.
        self._version_lock = asyncio.Lock()
        self._pool = AsyncPool(self.host, size=pool_size, connect_timeout=connect_timeout, connect=connect)

    # -- lifecycle -------------------------------------------------------

    async def aclose(self) -> None:
        """Close the idle connections (open streams and sessions keep theirs)."""
        await self._pool.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncClient {self.host.url} api={self._engine.version or 'unnegotiated'}>"

    # -- the driver: run an operation, perform its steps --------------------

    @property
    def api_version(self) -> Awaitable[APIVersion]:
        """The API version in use, negotiated on first use (once): ``await
        client.api_version``."""
        return self.run(self._engine.api_version())

    async def _ensure_version(self) -> APIVersion:
        async with self._version_lock:
            version = self._engine.version
            if version is None:
                version = await self.run(self._engine.negotiate())
                self._engine.set_version(version)
            return version

    async def run(self, op: Operation[Any]) -> Any:
        """Run an engine operation to its end, performing each step it yields."""
        if type(op) is _FetchOp:
            # One Fetch and a function of its answer: performed directly,
            # with no generator to step (see FetchOp).
            return op.complete(await self._fetch(op))  # the op has the step's fields
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = op.send(value) if error is None else op.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                perform = _PERFORM.get(type(step))
                if perform is None:
                    raise TypeError(f"unknown step {step!r}")
                value = await perform(self, step)
            except BaseException as exc:  # the operation decides; it re-raises what it does not handle
                error = exc

    async def _perform(self, step: steps.Step) -> Any:
        """Do one step of an operation."""
        perform = _PERFORM.get(type(step))
        if perform is None:
            raise TypeError(f"unknown step {step!r}")
        return await perform(self, step)

    async def _fetch(self, step: steps.Fetch | _FetchOp[Any]) -> Response:
        resp = await self._exchange(step.request, step)
        if isinstance(resp, Response):
            return resp  # answered whole with its head: the body is in step.into
        await self._read_body(steps.ReadBody(resp, step.limit, step.into))
        return resp.response

    async def _read_body(self, step: steps.ReadBody) -> Any:
        resp = step.response
        try:
            body = await resp.read_buffer(step.limit)
        finally:
            await resp.aclose()  # a no-op once the body ended; closes an abandoned one
        if step.into is None:
            return body
        step.into.append(body)
        return None

    async def _close(self, step: steps.Close) -> None:
        await step.target.aclose()

    async def _sleep(self, step: steps.Sleep) -> None:
        await asyncio.sleep(step.seconds)

    async def _drain(self, step: steps.DrainInto) -> Any:
        return await step.response.drain(step.stdout, step.stderr)

    async def _now(self, step: steps.Clock) -> float:
        return time.monotonic()

    async def _mapped(self, step: steps.MapItems) -> Any:
        return step.response._typed(step.convert)

    async def _progress(self, step: steps.AsProgress) -> AsyncProgressStream:
        if isinstance(step.source, AsyncStreamingResponse):
            return AsyncProgressStream.from_response(step.source)
        return AsyncProgressStream(step.source, request=step.request, status=step.status)

    async def _session(self, step: steps.StartSession) -> AsyncSession:
        return self._take_over(step)

    async def _version(self, step: steps.NeedVersion) -> APIVersion:
        return await self._ensure_version()

    async def _exchange(self, request: Request, fetch: steps.Fetch | _FetchOp[Any] | None = None
                        ) -> AsyncStreamingResponse[Any] | Response:
        """Send ``request`` as is and read up to its response head (status
        not checked, body unread).

        Sent a second time, on a new connection, only when the core's rule
        (:func:`may_send_again`, Go's net/http rule) says it is safe; every
        other broken exchange raises :class:`ConnectionLost`.

        For a Fetch step whose answer came whole with its head, the
        connection goes back to the pool at once, the body into the step's
        list, and the head is returned (no response object).
        """
        engine = self._engine
        for attempt in range(2):
            stream, conn, reused = await self._pool.acquire()
            conn = engine.connection_for(conn)
            received = False
            eof = False
            try:
                set_async_read_timeout(stream, engine.timeout)
                reset_written(stream)
                await stream.write(conn.send_request(request))
                if request.body is not None and conn.state is _SENDING_BODY:
                    for chunk in request.body_chunks():
                        out = conn.send_body(chunk)
                        if out:
                            await stream.write(out)
                    await stream.write(conn.send_end())
                events: list[ReceivedEvent] = []
                limit = None if fetch is None else engine.max_body_size if fetch.limit == -1 else fetch.limit
                while True:
                    data = await stream.read()
                    if data:
                        received = True
                        if fetch is not None and not events:
                            # A repeat of this connection's last answer to
                            # the same request (a ping, a repeated inspect):
                            # head and body at once, the connection IDLE.
                            whole = conn.receive_whole(data, limit)
                            if whole is not None:
                                await self._pool.release(stream, conn)
                                fetch.into.append(whole[1])
                                return whole[0]
                    else:
                        eof = True
                    events.extend(conn.receive_data(data))
                    if events and isinstance(events[0], Response):
                        head = events[0]
                        if fetch is not None:
                            body = whole_body(head, events, limit)
                            if body is not None:
                                if conn.reusable:
                                    await self._pool.release(stream, conn)
                                else:
                                    await stream.aclose()
                                fetch.into.append(body)
                                return head
                        return await self._response(stream, conn, head, events[1:])
            except ReadTimeout:
                await stream.aclose()
                raise timed_out(request, engine.timeout) from None
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
                written = bytes_written(stream)
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

    async def _response(self, stream: AsyncTransport, conn: Any, head: Response,
                        pending: list[ReceivedEvent],
                        error: BaseException | None = None) -> AsyncStreamingResponse[Any]:
        resp: AsyncStreamingResponse[Any] = AsyncStreamingResponse(self, stream, conn, head, pending, error)
        if resp._unsettled is not None:  # the body came whole, or broken: no coroutine otherwise
            await resp._settle()
        return resp

    def _take_over(self, step: steps.StartSession) -> AsyncSession:
        """The session on a hijacked connection: the response lets go of it."""
        resp: AsyncStreamingResponse[Any] = step.response
        pending = resp.take_pending()
        stream = resp.detach()
        if stream is None:
            raise TransportError("the daemon closed the connection right after the hijack")
        return AsyncSession(
            self.run, self._engine, stream, resp.connection, resp.response, pending,
            exec_id=step.exec_id, container=step.container, tty=step.tty, timeout=self._engine.timeout,
        )

    @staticmethod
    async def _converse(step: steps.Converse) -> BaseException | None:
        """stdin from a second task, so a command that echoes it cannot
        deadlock on a full output pipe; output read in this one."""
        session: AsyncSession = step.session
        failure: list[BaseException] = []
        writer: asyncio.Task[None] | None = None
        if step.chunks or step.half_close:
            async def feed() -> None:
                try:
                    for chunk in step.chunks:
                        await session.write(chunk)
                    if step.half_close:
                        await session.close_stdin()
                except Exception as exc:  # surfaced after the read loop
                    failure.append(exc)

            writer = asyncio.create_task(feed(), name="exec-stdin")
        try:
            await session.collect_into(step.collector)
        finally:
            if writer is not None:
                if not writer.done():
                    # The output ended (or failed, or this task was
                    # cancelled) with stdin still being written: the
                    # command will not read the rest.
                    writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
        return failure[0] if failure else None


# How each step is done, by its type: one dict look-up instead of a chain of
# isinstance checks, and run() awaits the step's own coroutine (Open's is
# _exchange itself) rather than one more for _perform.
_PERFORM: dict[type[steps.Step], Callable[[AsyncClient, Any], Awaitable[Any]]] = {
    steps.Fetch: AsyncClient._fetch,
    steps.Open: lambda client, step: client._exchange(step.request),
    steps.ReadBody: AsyncClient._read_body,
    steps.NeedVersion: AsyncClient._version,
    steps.StartSession: AsyncClient._session,
    steps.Close: AsyncClient._close,
    steps.AsProgress: AsyncClient._progress,
    steps.MapItems: AsyncClient._mapped,
    steps.DrainInto: AsyncClient._drain,
    steps.Converse: lambda client, step: AsyncClient._converse(step),
    steps.Clock: AsyncClient._now,
    steps.Sleep: AsyncClient._sleep,
}
