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
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from .._about import USER_AGENT
from .._backends._context import client_target
from .._backends._hosts import HostConfig, TLSConfig
from .._core import _engine as steps
from .._core._async_interface import AsyncConnectFactory, AsyncTransport, set_async_read_timeout
from .._core._connection import DEFAULT_MAX_BODY_SIZE, ConnectionState, ReceivedEvent
from .._core._engine import Engine, Operation
from .._core._errors import LocalProtocolError, ReadTimeout, RemoteProtocolError, TransportError
from .._core._events import Response, StreamError
from .._core._exchange import connection_lost, may_send_again, timed_out
from .._core._models import (
    ContainerCreated,
    ContainerInspect,
    ContainerStats,
    ContainerSummary,
    ContainerWaitResult,
    Event,
    ExecInspect,
    ImageInspect,
    ImageSummary,
    ProgressMessage,
    SystemInfo,
    VersionInfo,
)
from .._core._names import EndpointName
from .._core._output import ExecResult
from .._core._request import Request
from .._core._stream import Frame
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike
from ._pool import AsyncPool
from ._progress import AsyncProgressStream
from ._response import AsyncStreamingResponse, Sink, _close_soon, exc_items
from ._session import AsyncSession

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
        target = client_target(
            host, tls=tls, context=context, environ=environ, ssh_options=tuple(ssh_options),
            custom=None if connect is None else f"custom transport {connect!r}",
            version=None if version is None else str(version), user_agent=USER_AGENT,
        )
        self.host = target.host
        self.context = target.context
        self._engine = Engine(
            version=target.version, min_version=min_version, max_version=max_version,
            headers=target.headers, max_body_size=max_body_size, timeout=timeout,
            stream_impl=stream_impl,
        )
        # Held while negotiating: the tasks that make their first request
        # together wait for one negotiation instead of each sending its own.
        self._version_lock = asyncio.Lock()
        self._pool = AsyncPool(self.host, size=pool_size, connect_timeout=connect_timeout, connect=connect)

    @property
    def timeout(self) -> float | None:
        """The read timeout applied to every response (None: never)."""
        return self._engine.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._engine.timeout = value

    @property
    def max_body_size(self) -> int:
        """The bound of every body held whole."""
        return self._engine.max_body_size

    @property
    def engine(self) -> Engine:
        """The sans-I/O engine whose operations this client runs."""
        return self._engine

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
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = op.send(value) if error is None else op.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                value = await self._perform(step)
            except BaseException as exc:  # the operation decides; it re-raises what it does not handle
                error = exc

    async def _perform(self, step: steps.Step) -> Any:
        if isinstance(step, steps.Open):
            return await self._exchange(step.request)
        if isinstance(step, steps.ReadBody):
            async with step.response as resp:
                if step.into is None:
                    return await resp.read_buffer(step.limit)
                step.into.append(await resp.read_buffer(step.limit))
                return None
        if isinstance(step, steps.NeedVersion):
            return await self._ensure_version()
        if isinstance(step, steps.StartSession):
            return self._take_over(step)
        if isinstance(step, steps.Close):
            await step.target.aclose()
            return None
        if isinstance(step, steps.AsProgress):
            if isinstance(step.source, AsyncStreamingResponse):
                return AsyncProgressStream.from_response(step.source)
            return AsyncProgressStream(step.source, request=step.request, status=step.status)
        if isinstance(step, steps.MapItems):
            return step.response._typed(step.convert)
        if isinstance(step, steps.DrainInto):
            return await step.response.drain(step.stdout, step.stderr)
        if isinstance(step, steps.Converse):
            return await self._converse(step)
        if isinstance(step, steps.Clock):
            return time.monotonic()
        if isinstance(step, steps.Sleep):
            await asyncio.sleep(step.seconds)
            return None
        raise TypeError(f"unknown step {step!r}")

    async def _exchange(self, request: Request) -> AsyncStreamingResponse[Any]:
        """Send ``request`` as is and read up to its response head (status
        not checked, body unread).

        Sent a second time, on a new connection, only when the core's rule
        (:func:`may_send_again`, Go's net/http rule) says it is safe; every
        other broken exchange raises :class:`ConnectionLost`.
        """
        engine = self._engine
        for attempt in range(2):
            stream, reused = await self._pool.acquire()
            conn = engine.new_connection()
            received = False
            eof = False
            try:
                set_async_read_timeout(stream, engine.timeout)
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

    async def _response(self, stream: AsyncTransport, conn: Any, head: Response,
                        pending: list[ReceivedEvent],
                        error: BaseException | None = None) -> AsyncStreamingResponse[Any]:
        resp: AsyncStreamingResponse[Any] = AsyncStreamingResponse(self, stream, conn, head, pending, error)
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

    # -- sending -----------------------------------------------------------

    async def send(self, request: Request, *, versioned: bool = True) -> AsyncStreamingResponse[Any]:
        """Send a request at the negotiated version; raise :class:`APIError`
        for error answers.  The response has the head read and the body
        still to come."""
        return await self.run(self._engine.send(request, versioned=versioned))  # type: ignore[no-any-return]

    async def request_json(self, request: Request) -> Any:
        """Send and decode a JSON answer (None for an empty body)."""
        return await self.run(self._engine.request_json(request))

    async def call(self, name: EndpointName, /, *, auth: Any = None, **kwargs: Any) -> Any:
        """Call any endpoint of the table by name at the negotiated version
        (see :meth:`Client.call`); streams are :class:`AsyncStreamingResponse`,
        hijacks :class:`AsyncSession`."""
        return await self.run(self._engine.call(name, auth=auth, **kwargs))

    async def archive_stat(self, container: str, path: str) -> Any:
        """``HEAD /containers/{id}/archive`` (API >= 1.20): the path's stat."""
        return await self.run(self._engine.archive_stat(container, path))

    # -- registry and build progress -------------------------------------

    async def progress(self, resp: AsyncStreamingResponse[Any]) -> list[ProgressMessage]:
        """Consume a JSON progress stream; raise its in-band error as a typed
        exception (see :meth:`Client.progress`)."""
        return await AsyncProgressStream.from_response(resp).collect()

    async def pull_stream(self, image: str, tag: str | None = None, *, auth: Any = None,
                          platform: str | None = None) -> AsyncProgressStream:
        """``POST /images/create?fromImage=``: the pull's progress as it happens."""
        return await self.run(self._engine.pull(  # type: ignore[no-any-return]
            image, tag, auth=auth, platform=platform))

    async def pull(self, image: str, tag: str | None = None, *, auth: Any = None,
                   platform: str | None = None) -> list[ProgressMessage]:
        """Pull, returning every progress message (see :meth:`pull_stream`)."""
        return await (await self.pull_stream(image, tag, auth=auth, platform=platform)).collect()

    async def push_stream(self, image: str, tag: str | None = None, *, auth: Any = None) -> AsyncProgressStream:
        """``POST /images/{name}/push``: the push's progress as it happens."""
        return await self.run(self._engine.push(image, tag, auth=auth))  # type: ignore[no-any-return]

    async def push(self, image: str, tag: str | None = None, *, auth: Any = None) -> list[ProgressMessage]:
        """Push, returning every progress message (see :meth:`push_stream`)."""
        return await (await self.push_stream(image, tag, auth=auth)).collect()

    async def build_stream(
        self,
        path: str | None = None,
        *,
        fileobj: Any = None,
        tag: str | list[str] | None = None,
        dockerfile: str | None = None,
        auth_configs: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> AsyncProgressStream:
        """``POST /build`` from a directory or a tar ``fileobj``: the build's
        output as it happens (the tar is streamed as it is written)."""
        return await self.run(self._engine.build(  # type: ignore[no-any-return]
            path, fileobj=fileobj, tag=tag, dockerfile=dockerfile, auth_configs=auth_configs, **params))

    async def build(
        self,
        path: str | None = None,
        *,
        fileobj: Any = None,
        tag: str | list[str] | None = None,
        dockerfile: str | None = None,
        auth_configs: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> list[ProgressMessage]:
        """Build, returning every progress message (see :meth:`build_stream`)."""
        stream = await self.build_stream(path, fileobj=fileobj, tag=tag, dockerfile=dockerfile,
                                         auth_configs=auth_configs, **params)
        return await stream.collect()

    async def load_stream(self, data: bytes | Any, *, quiet: bool = False) -> AsyncProgressStream:
        """``POST /images/load`` of a ``docker save`` tar: the progress as it happens."""
        return await self.run(self._engine.load(data, quiet=quiet))  # type: ignore[no-any-return]

    async def load(self, data: bytes | Any, *, quiet: bool = False) -> list[ProgressMessage]:
        """Load images, returning every progress message (see :meth:`load_stream`)."""
        return await (await self.load_stream(data, quiet=quiet)).collect()

    # -- system ------------------------------------------------------------

    async def ping(self) -> str:
        """``GET /_ping`` (unversioned, so it works whatever the versions): 'OK'."""
        return await self.run(self._engine.ping())  # type: ignore[no-any-return]

    async def version(self) -> VersionInfo:
        """``GET /version``: the daemon's versions and platform."""
        return await self.run(self._engine.version_info())  # type: ignore[no-any-return]

    async def info(self) -> SystemInfo:
        """``GET /info``: system-wide information."""
        return await self.run(self._engine.info())  # type: ignore[no-any-return]

    # -- containers --------------------------------------------------------

    async def containers(self, all: bool = False, limit: int | None = None,
                         filters: Mapping[str, Any] | None = None) -> list[ContainerSummary]:
        """``GET /containers/json``."""
        return await self.run(self._engine.containers(all, limit, filters))  # type: ignore[no-any-return]

    async def inspect_container(self, container: str) -> ContainerInspect:
        """``GET /containers/{id}/json``."""
        return await self.run(self._engine.inspect_container(container))  # type: ignore[no-any-return]

    async def create_container(self, image: str, command: list[str] | str | None = None, *,
                               name: str | None = None, **config: Any) -> ContainerCreated:
        """``POST /containers/create``; ``config`` keys are the API's (Tty, Env, HostConfig, ...)."""
        return await self.run(self._engine.create_container(  # type: ignore[no-any-return]
            image, command, name=name, **config))

    async def start_container(self, container: str) -> None:
        """``POST /containers/{id}/start``."""
        await self.run(self._engine.start_container(container))

    async def wait_container(self, container: str) -> ContainerWaitResult:
        """``POST /containers/{id}/wait``: returns once the container stops."""
        return await self.run(self._engine.wait_container(container))  # type: ignore[no-any-return]

    async def remove_container(self, container: str, force: bool = False, volumes: bool = False) -> None:
        """``DELETE /containers/{id}``."""
        await self.run(self._engine.remove_container(container, force, volumes))

    async def logs(
        self,
        container: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        follow: bool = False,
        timestamps: bool = False,
        tail: int | str | None = None,
        since: int | None = None,
        until: int | None = None,
        tty: bool | None = None,
    ) -> AsyncStreamingResponse[Frame | StreamError]:
        """``GET /containers/{id}/logs`` as an async stream of :class:`Frame`
        / :class:`StreamError` (``tty`` looked up below API 1.42 when None)."""
        return await self.run(self._engine.logs(  # type: ignore[no-any-return]
            container, stdout=stdout, stderr=stderr, follow=follow, timestamps=timestamps,
            tail=tail, since=since, until=until, tty=tty))

    async def logs_into(
        self,
        container: str,
        stdout: Sink,
        stderr: Sink,
        *,
        follow: bool = False,
        timestamps: bool = False,
        tail: int | str | None = None,
        since: int | None = None,
        until: int | None = None,
        tty: bool | None = None,
    ) -> list[StreamError]:
        """The sink form of :meth:`logs`: stdout and stderr payloads written
        to two targets (file descriptors, or objects with ``write()`` or
        ``sendall()``) with no Python object per frame; the in-band errors."""
        return await self.run(self._engine.logs_into(  # type: ignore[no-any-return]
            container, stdout, stderr, follow=follow, timestamps=timestamps, tail=tail,
            since=since, until=until, tty=tty))

    async def events(
        self,
        *,
        since: int | str | None = None,
        until: int | str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> AsyncStreamingResponse[Event]:
        """``GET /events``: an async stream of :class:`Event`."""
        return await self.run(self._engine.events(  # type: ignore[no-any-return]
            since=since, until=until, filters=filters))

    async def stats(self, container: str, *, stream: bool = True) -> AsyncStreamingResponse[ContainerStats]:
        """``GET /containers/{id}/stats`` (API >= 1.17): an async stream of :class:`ContainerStats`."""
        return await self.run(self._engine.stats(container, stream=stream))  # type: ignore[no-any-return]

    # -- attach and exec (hijacked sessions) ------------------------------

    async def attach(
        self,
        container: str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        logs: bool = False,
        stream: bool = True,
        detach_keys: str | None = None,
        tty: bool | None = None,
        require_running: bool = True,
    ) -> AsyncSession:
        """``POST /containers/{id}/attach``: an :class:`AsyncSession` on the
        container (see :meth:`Client.attach`)."""
        return await self.run(self._engine.attach(  # type: ignore[no-any-return]
            container, stdin=stdin, stdout=stdout, stderr=stderr, logs=logs, stream=stream,
            detach_keys=detach_keys, tty=tty, require_running=require_running))

    async def exec_create(
        self,
        container: str,
        command: list[str] | str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        tty: bool = False,
        env: list[str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        privileged: bool = False,
        detach_keys: str | None = None,
    ) -> str:
        """``POST /containers/{id}/exec`` (API >= 1.15): the exec id."""
        return await self.run(self._engine.exec_create(  # type: ignore[no-any-return]
            container, command, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty, env=env,
            workdir=workdir, user=user, privileged=privileged, detach_keys=detach_keys))

    async def exec_start(self, exec_id: str, *, tty: bool = False) -> AsyncSession:
        """``POST /exec/{id}/start``: an :class:`AsyncSession` on the running command."""
        return await self.run(self._engine.exec_start(exec_id, tty=tty))  # type: ignore[no-any-return]

    async def exec_start_detached(self, exec_id: str, *, tty: bool = False) -> None:
        """``POST /exec/{id}/start`` with ``Detach: true`` (no hijack)."""
        await self.run(self._engine.exec_start_detached(exec_id, tty=tty))

    async def inspect_exec(self, exec_id: str) -> ExecInspect:
        """``GET /exec/{id}/json`` (API >= 1.16)."""
        return await self.run(self._engine.inspect_exec(exec_id))  # type: ignore[no-any-return]

    async def exec_stream(self, container: str, command: list[str] | str, *, stdin: bool = False,
                          tty: bool = False, **options: Any) -> AsyncSession:
        """Create and start an exec; iterate the returned session for its output."""
        return await self.run(self._engine.exec_stream(  # type: ignore[no-any-return]
            container, command, stdin=stdin, tty=tty, **options))

    async def exec_run(
        self,
        container: str,
        command: list[str] | str,
        *,
        input: bytes | None = None,
        tty: bool = False,
        max_output: int | None = 64 * 1024 * 1024,
        tty_eof: bytes | None = b"\x04",
        wait_timeout: float | None = None,
        **options: Any,
    ) -> ExecResult:
        """Run a command to completion: its stdout, stderr and exit code (see
        :meth:`Client.exec_run`); stdin is written by a second task."""
        return await self.run(self._engine.exec_run(  # type: ignore[no-any-return]
            container, command, input=input, tty=tty, max_output=max_output, tty_eof=tty_eof,
            wait_timeout=wait_timeout, **options))

    # -- images ------------------------------------------------------------

    async def images(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[ImageSummary]:
        """``GET /images/json``."""
        return await self.run(self._engine.images(all, filters))  # type: ignore[no-any-return]

    async def inspect_image(self, image: str) -> ImageInspect:
        """``GET /images/{name}/json``."""
        return await self.run(self._engine.inspect_image(image))  # type: ignore[no-any-return]
