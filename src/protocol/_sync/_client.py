"""The sync driver: the protocol engine run on blocking transports.

Every method runs an operation of the sans-I/O :class:`Engine` (which knows
the Docker API: negotiation, endpoints, TTY lookups, exec, progress) and
performs the steps it asks for with blocking I/O: a pooled connection per
exchange, one reusable read buffer per connection, a thread to write stdin
while output is read.  Nothing here knows an endpoint, a version or a
stream format.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, Union

from .._about import USER_AGENT
from .._core import _engine as steps
from .._core._connection import DEFAULT_MAX_BODY_SIZE, ConnectionState, ReceivedEvent
from .._core._engine import Engine, Operation
from .._core._errors import LocalProtocolError, ReadTimeout, RemoteProtocolError, TransportError
from .._core._events import Response, StreamError
from .._core._exchange import connection_lost, may_send_again, timed_out
from .._core._interface import ConnectFactory, Transport, set_read_timeout
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
from .._backends._context import client_target
from .._backends._hosts import HostConfig, TLSConfig
from .._backends._sync_socket import bytes_written, reset_written
from ._pool import Pool
from ._progress import ProgressStream
from ._response import StreamingResponse, exc_items
from ._session import Session

__all__ = ["Client", "StreamingResponse", "Session", "ExecResult"]

Sink = Union[int, BinaryIO, Any]


def _single_use(transport: Transport) -> ConnectFactory:
    """A connect factory that hands out one given transport, once."""
    lock = threading.Lock()
    given: list[Transport] = [transport]

    def connect() -> Transport:
        with lock:
            if given:
                return given.pop()
        raise TransportError(
            "the transport given as Client(transport=...) is in use or was closed; "
            "pass connect= a factory for a client that opens new connections"
        )

    return connect


class Client:
    """A sync Docker client.

    ``host`` defaults to ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` and
    ``DOCKER_CERT_PATH``), then ``unix:///var/run/docker.sock``.  ``version``
    pins the API version (no probe); ``None`` negotiates on the first
    request.  ``timeout`` is a read timeout applied to every response,
    streams included; the default, ``None``, never times out a read (a
    ``logs(follow=True)`` can be quiet for hours).  A read that passes it
    raises :class:`ReadTimeout` (a :class:`TransportError`, and a
    ``TimeoutError``) naming the request and the limit.

    ``max_body_size`` bounds every body held whole (JSON, text and error
    answers, :meth:`StreamingResponse.read`): :class:`MessageTooLarge`
    before the memory is spent.  Streams keep their own per-item bounds.

    Instead of a host, ``connect=`` takes a factory that returns a new
    :class:`Transport` per connection (the pool calls it when no idle one
    is left), and ``transport=`` one ready connection, used once (kept
    alive while the daemon allows).  ``ssh_options`` are extra arguments
    for the ``ssh`` program of an ``ssh://`` host.

    Without a host, the docker CLI's rules choose the daemon: ``context=``
    (like ``docker --context``), else ``DOCKER_HOST``, else
    ``DOCKER_CONTEXT``, else ``currentContext`` in ``config.json`` (in
    ``$DOCKER_CONFIG`` or ``~/.docker``), else the local socket.
    ``DOCKER_API_VERSION`` pins the version when ``version`` is not given;
    every request carries ``User-Agent: docker-protocol/<version>`` and the
    ``HttpHeaders`` of ``config.json``.  ``environ`` replaces
    ``os.environ`` for all of this.
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
        transport: Transport | None = None,
        connect: ConnectFactory | None = None,
        ssh_options: Sequence[str] = (),
        context: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        # ``stream_impl`` selects a twin of the stream layer for every
        # connection (tests run both); None uses protocol.IMPLEMENTATION's.
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
        self._version_lock = threading.Lock()
        self._pool = Pool(self.host, size=pool_size, connect_timeout=connect_timeout, connect=connect)

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

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.host.url} api={self._engine.version or 'unnegotiated'}>"

    # -- the driver: run an operation, perform its steps --------------------

    @property
    def api_version(self) -> APIVersion:
        """The API version in use, negotiated on first use (once, thread-safe)."""
        version = self._engine.version
        if version is not None:
            return version
        return self._ensure_version()

    def _ensure_version(self) -> APIVersion:
        with self._version_lock:
            version = self._engine.version
            if version is None:
                version = self.run(self._engine.negotiate())
                self._engine.set_version(version)
            return version

    def run(self, op: Operation[Any]) -> Any:
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
                value = self._perform(step)
            except BaseException as exc:  # the operation decides; it re-raises what it does not handle
                error = exc

    def _perform(self, step: steps.Step) -> Any:
        if isinstance(step, steps.Open):
            return self._exchange(step.request)
        if isinstance(step, steps.ReadBody):
            with step.response as resp:
                if step.into is None:
                    return resp.read_buffer(step.limit)
                step.into.append(resp.read_buffer(step.limit))
                return None
        if isinstance(step, steps.NeedVersion):
            return self._ensure_version()
        if isinstance(step, steps.StartSession):
            return self._take_over(step)
        if isinstance(step, steps.Close):
            step.target.close()
            return None
        if isinstance(step, steps.AsProgress):
            if isinstance(step.source, StreamingResponse):
                return ProgressStream.from_response(step.source)
            return ProgressStream(step.source, request=step.request, status=step.status)
        if isinstance(step, steps.MapItems):
            return step.response._typed(step.convert)
        if isinstance(step, steps.DrainInto):
            return step.response.drain(step.stdout, step.stderr)
        if isinstance(step, steps.Converse):
            return self._converse(step)
        if isinstance(step, steps.Clock):
            return time.monotonic()
        if isinstance(step, steps.Sleep):
            time.sleep(step.seconds)
            return None
        raise TypeError(f"unknown step {step!r}")

    def _exchange(self, request: Request) -> StreamingResponse[Any]:
        """Send ``request`` as is and read up to its response head.

        A request is sent a second time (on a new connection) only when that
        is safe, as Go's net/http decides it: the first attempt used a
        reused keep-alive connection, and either no byte of the request was
        written, or the request is a GET/HEAD without a streamed body and no
        byte of an answer arrived.  Every other broken exchange raises
        :class:`ConnectionLost`, saying whether the daemon may have acted.
        """
        engine = self._engine
        for attempt in range(2):
            stream, reused = self._pool.acquire()
            conn = engine.new_connection()
            received = False
            eof = False
            try:
                set_read_timeout(stream, engine.timeout)
                reset_written(stream)
                stream.write(conn.send_request(request))
                if conn.state is ConnectionState.SENDING_BODY:
                    for chunk in request.body_chunks():
                        out = conn.send_body(chunk)
                        if out:
                            stream.write(out)
                    stream.write(conn.send_end())
                events: list[ReceivedEvent] = []
                while True:
                    data = stream.read()
                    if data:
                        received = True
                    else:
                        eof = True
                    events.extend(conn.receive_data(data))
                    if events and isinstance(events[0], Response):
                        return StreamingResponse(self, stream, conn, events[0], events[1:])
            except ReadTimeout:
                stream.close()
                raise timed_out(request, engine.timeout) from None
            except (RemoteProtocolError, TransportError) as exc:
                items = exc_items(exc)
                if items and isinstance(items[0], Response):
                    # The head is complete and the fault is in the body that
                    # came with it: the caller gets the response, its items
                    # so far, then the error, as for a later read.
                    return StreamingResponse(self, stream, conn, items[0], items[1:], error=exc)
                stream.close()
                if isinstance(exc, RemoteProtocolError) and not eof:
                    raise  # the daemon answered, with bytes that break HTTP
                written = bytes_written(stream)
                if may_send_again(request, reused=reused, attempt=attempt, written=written, received=received):
                    continue  # a stale keep-alive connection: safe to send again
                raise connection_lost(request, exc, written=written, received=received) from exc
            except BaseException:
                stream.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _take_over(self, step: steps.StartSession) -> Session:
        """The session on a hijacked connection: the response lets go of it."""
        resp: StreamingResponse[Any] = step.response
        stream = resp.socket_stream
        if stream is None:
            raise TransportError("the daemon closed the connection right after the hijack")
        session = Session(
            self.run, self._engine, stream, resp.connection, resp.response, resp.take_pending(),
            exec_id=step.exec_id, container=step.container, tty=step.tty, timeout=self._engine.timeout,
        )
        resp.detach()
        return session

    @staticmethod
    def _converse(step: steps.Converse) -> BaseException | None:
        """stdin from a second thread, so a command that echoes it cannot
        deadlock on a full output pipe; output read here."""
        session: Session = step.session
        failure: list[BaseException] = []
        writer: threading.Thread | None = None
        if step.chunks or step.half_close:
            def feed() -> None:
                try:
                    for chunk in step.chunks:
                        session.write(chunk)
                    if step.half_close:
                        session.close_stdin()
                except BaseException as exc:  # surfaced after the read loop
                    failure.append(exc)

            writer = threading.Thread(target=feed, name="exec-stdin", daemon=True)
            writer.start()
        try:
            session.collect_into(step.collector)
        finally:
            if writer is not None:
                writer.join(timeout=5)
        return failure[0] if failure else None

    # -- sending -----------------------------------------------------------

    def send(self, request: Request, *, versioned: bool = True) -> StreamingResponse[Any]:
        """Send a request at the negotiated version; raise :class:`APIError` for error answers.

        The returned :class:`StreamingResponse` has the head read and the body
        still to come.
        """
        return self.run(self._engine.send(request, versioned=versioned))  # type: ignore[no-any-return]

    def request_json(self, request: Request) -> Any:
        """Send and decode a JSON answer (None for an empty body)."""
        return self.run(self._engine.request_json(request))

    # -- the whole API, from the endpoint table ----------------------------

    def call(self, name: EndpointName, /, *, auth: Any = None, **kwargs: Any) -> Any:
        """Call any endpoint of the table by name at the negotiated version.

        ``name`` is a table name such as ``"containers.list"`` or
        ``"images.push"`` (see the README's endpoint table); keyword
        arguments are its path and query parameters by Python name, plus
        ``json=``/``body=``/``headers=``.  ``auth`` (an :class:`AuthConfig`
        or a dict) is sent the way the version wants it (``X-Registry-Auth``,
        or the v1.2-1.4 push body).  An endpoint or parameter the version
        does not have raises :class:`UnsupportedVersion` before anything is
        sent.

        The result follows the endpoint's response kind: JSON -> the decoded
        value; EMPTY -> None; TEXT -> str, or for v1.0's plain-text progress
        the list of progress messages later versions send as JSON;
        JSON_STREAM, STREAM and BINARY -> a :class:`StreamingResponse`
        (iterate it, or ``read()``); HIJACK -> a :class:`Session`, or None when
        the daemon answers with an ordinary response instead of taking the
        connection over (exec start with ``Detach: true``).
        """
        return self.run(self._engine.call(name, auth=auth, **kwargs))

    def archive_stat(self, container: str, path: str) -> Any:
        """``HEAD /containers/{id}/archive`` (API >= 1.20): the path's stat
        (name, size, mode, mtime, linkTarget) from ``X-Docker-Container-Path-Stat``."""
        return self.run(self._engine.archive_stat(container, path))

    # -- registry and build progress -------------------------------------

    def progress(self, resp: StreamingResponse[Any]) -> list[ProgressMessage]:
        """Consume a JSON progress stream; raise its in-band error as a typed exception.

        Returns the messages before the end.  An ``error`` / ``errorDetail``
        message raises :class:`Unauthorized` for registry refusals, else
        :class:`APIError`, carrying the message; its ``messages`` attribute
        holds every message received before it.
        """
        return ProgressStream.from_response(resp).collect()

    def pull_stream(self, image: str, tag: str | None = None, *, auth: Any = None,
                    platform: str | None = None) -> ProgressStream:
        """``POST /images/create?fromImage=``: the pull's progress as it happens.

        ``auth`` is an :class:`AuthConfig` or dict, or ``True`` to use the
        docker CLI's configuration for the image's registry.  Iterate the
        result for :class:`ProgressMessage`; an in-band error raises.  Any
        error (in-band, protocol or transport) carries the messages received
        before it in ``exc.messages`` (also ``exc.received``)."""
        return self.run(self._engine.pull(image, tag, auth=auth, platform=platform))  # type: ignore[no-any-return]

    def pull(self, image: str, tag: str | None = None, *, auth: Any = None,
             platform: str | None = None) -> list[ProgressMessage]:
        """Pull, returning every progress message (see :meth:`pull_stream`)."""
        return self.pull_stream(image, tag, auth=auth, platform=platform).collect()

    def push_stream(self, image: str, tag: str | None = None, *, auth: Any = None) -> ProgressStream:
        """``POST /images/{name}/push``: the push's progress as it happens
        (``auth`` as for :meth:`pull_stream`)."""
        return self.run(self._engine.push(image, tag, auth=auth))  # type: ignore[no-any-return]

    def push(self, image: str, tag: str | None = None, *, auth: Any = None) -> list[ProgressMessage]:
        """Push, returning every progress message (see :meth:`push_stream`)."""
        return self.push_stream(image, tag, auth=auth).collect()

    def build_stream(
        self,
        path: str | None = None,
        *,
        fileobj: Any = None,
        tag: str | list[str] | None = None,
        dockerfile: str | None = None,
        auth_configs: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ProgressStream:
        """``POST /build`` from a directory (streamed as a tar honouring
        ``.dockerignore``, never written to disk or held in memory whole) or
        from a caller-given tar ``fileobj``: the build's output as it
        happens.  An in-band build error raises :class:`APIError`."""
        return self.run(self._engine.build(  # type: ignore[no-any-return]
            path, fileobj=fileobj, tag=tag, dockerfile=dockerfile, auth_configs=auth_configs, **params))

    def build(
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
        return self.build_stream(path, fileobj=fileobj, tag=tag, dockerfile=dockerfile,
                                 auth_configs=auth_configs, **params).collect()

    def load_stream(self, data: bytes | Any, *, quiet: bool = False) -> ProgressStream:
        """``POST /images/load`` (API >= 1.7) of a ``docker save`` tar given as
        bytes or a binary file object (streamed): the progress as it happens
        (none before API 1.23, whose answer has no body)."""
        return self.run(self._engine.load(data, quiet=quiet))  # type: ignore[no-any-return]

    def load(self, data: bytes | Any, *, quiet: bool = False) -> list[ProgressMessage]:
        """Load images, returning every progress message (see :meth:`load_stream`)."""
        return self.load_stream(data, quiet=quiet).collect()

    # -- system ------------------------------------------------------------

    def ping(self) -> str:
        """``GET /_ping`` (unversioned, so it works whatever the versions): 'OK'."""
        return self.run(self._engine.ping())  # type: ignore[no-any-return]

    def version(self) -> VersionInfo:
        """``GET /version``: the daemon's versions and platform."""
        return self.run(self._engine.version_info())  # type: ignore[no-any-return]

    def info(self) -> SystemInfo:
        """``GET /info``: system-wide information."""
        return self.run(self._engine.info())  # type: ignore[no-any-return]

    # -- containers --------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None,
                   filters: Mapping[str, Any] | None = None) -> list[ContainerSummary]:
        """``GET /containers/json``."""
        return self.run(self._engine.containers(all, limit, filters))  # type: ignore[no-any-return]

    def inspect_container(self, container: str) -> ContainerInspect:
        """``GET /containers/{id}/json``."""
        return self.run(self._engine.inspect_container(container))  # type: ignore[no-any-return]

    def create_container(self, image: str, command: list[str] | str | None = None, *, name: str | None = None,
                         **config: Any) -> ContainerCreated:
        """``POST /containers/create``; ``config`` keys are the API's (Tty, Env, HostConfig, ...)."""
        return self.run(self._engine.create_container(  # type: ignore[no-any-return]
            image, command, name=name, **config))

    def start_container(self, container: str) -> None:
        """``POST /containers/{id}/start``."""
        self.run(self._engine.start_container(container))

    def wait_container(self, container: str) -> ContainerWaitResult:
        """``POST /containers/{id}/wait``: blocks until the container stops."""
        return self.run(self._engine.wait_container(container))  # type: ignore[no-any-return]

    def remove_container(self, container: str, force: bool = False, volumes: bool = False) -> None:
        """``DELETE /containers/{id}``."""
        self.run(self._engine.remove_container(container, force, volumes))

    def logs(
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
    ) -> StreamingResponse[Frame | StreamError]:
        """``GET /containers/{id}/logs`` as a stream of :class:`Frame` / :class:`StreamError`.

        ``tty`` is the container's TTY setting; when None and the daemon is
        older than API 1.42, it is looked up with an inspect call.
        """
        return self.run(self._engine.logs(  # type: ignore[no-any-return]
            container, stdout=stdout, stderr=stderr, follow=follow, timestamps=timestamps,
            tail=tail, since=since, until=until, tty=tty))

    def logs_into(
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
        """The sink form of :meth:`logs`: write stdout and stderr payloads to
        two targets (file descriptors, or objects with ``write()`` or
        ``sendall()``) with no Python object per frame.  Returns the in-band
        errors (systemerr frames), in order."""
        return self.run(self._engine.logs_into(  # type: ignore[no-any-return]
            container, stdout, stderr, follow=follow, timestamps=timestamps, tail=tail,
            since=since, until=until, tty=tty))

    def events(
        self,
        *,
        since: int | str | None = None,
        until: int | str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> StreamingResponse[Event]:
        """``GET /events``: a stream of :class:`Event` (ends at ``until``, else
        never); an in-band error raises its typed exception."""
        return self.run(self._engine.events(since=since, until=until, filters=filters))  # type: ignore[no-any-return]

    def stats(self, container: str, *, stream: bool = True) -> StreamingResponse[ContainerStats]:
        """``GET /containers/{id}/stats`` (API >= 1.17): a stream of
        :class:`ContainerStats` (one sample with ``stream=False``)."""
        return self.run(self._engine.stats(container, stream=stream))  # type: ignore[no-any-return]

    # -- attach and exec (hijacked sessions) ------------------------------

    def attach(
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
    ) -> Session:
        """``POST /containers/{id}/attach``: a :class:`Session` on the container.

        ``logs=True`` replays earlier output before the live output.  ``tty``
        is the container's Tty setting (looked up with an inspect when None).
        With ``stream=True`` a container that is not running is refused with
        :class:`ContainerNotRunning` (the daemon would wait for it to run);
        ``require_running=False`` allows attaching to a created container
        before starting it, as ``docker run`` does.
        """
        return self.run(self._engine.attach(  # type: ignore[no-any-return]
            container, stdin=stdin, stdout=stdout, stderr=stderr, logs=logs, stream=stream,
            detach_keys=detach_keys, tty=tty, require_running=require_running))

    def exec_create(
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
        return self.run(self._engine.exec_create(  # type: ignore[no-any-return]
            container, command, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty, env=env,
            workdir=workdir, user=user, privileged=privileged, detach_keys=detach_keys))

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Session:
        """``POST /exec/{id}/start``: a :class:`Session` on the running command.

        ``tty`` must match the exec's creation (it decides raw vs multiplexed
        output below API 1.42).  The body is JSON, with the JSON Content-Type
        that API 1.22+ daemons require.
        """
        return self.run(self._engine.exec_start(exec_id, tty=tty))  # type: ignore[no-any-return]

    def exec_start_detached(self, exec_id: str, *, tty: bool = False) -> None:
        """``POST /exec/{id}/start`` with ``Detach: true``: the command runs in
        the background; the daemon answers an empty 200 (no hijack) and the
        connection is reused.  Its exit code comes from :meth:`inspect_exec`."""
        self.run(self._engine.exec_start_detached(exec_id, tty=tty))

    def inspect_exec(self, exec_id: str) -> ExecInspect:
        """``GET /exec/{id}/json`` (API >= 1.16)."""
        return self.run(self._engine.inspect_exec(exec_id))  # type: ignore[no-any-return]

    def exec_stream(self, container: str, command: list[str] | str, *, stdin: bool = False,
                    tty: bool = False, **options: Any) -> Session:
        """Create and start an exec; iterate the returned session for its output."""
        return self.run(self._engine.exec_stream(  # type: ignore[no-any-return]
            container, command, stdin=stdin, tty=tty, **options))

    def exec_run(
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
        """Run a command to completion: its stdout, stderr and exit code.

        ``input`` is written to stdin (from a second thread, so a command
        that echoes it cannot deadlock), then the end of input is signalled:
        a half-close without a TTY; with ``tty=True`` the terminal's EOF
        character ``tty_eof`` (Ctrl-D; None sends nothing), because a pty
        reads a half-close as nothing at all (the daemon then ends the
        output at once while the command keeps running).  Output beyond
        ``max_output`` bytes raises :class:`OutputLimitExceeded` with what
        was received.  Once the output has ended, the exit code is awaited
        at most ``wait_timeout`` seconds (default: the client's timeout,
        else 30 s), then :class:`Timeout` (a ``TimeoutError``) says what the
        daemon last reported and carries the output in ``received``; below
        API 1.16, which has no exec inspect, ``exit_code`` is None.
        """
        return self.run(self._engine.exec_run(  # type: ignore[no-any-return]
            container, command, input=input, tty=tty, max_output=max_output, tty_eof=tty_eof,
            wait_timeout=wait_timeout, **options))

    # -- images ------------------------------------------------------------

    def images(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[ImageSummary]:
        """``GET /images/json``."""
        return self.run(self._engine.images(all, filters))  # type: ignore[no-any-return]

    def inspect_image(self, image: str) -> ImageInspect:
        """``GET /images/{name}/json``."""
        return self.run(self._engine.inspect_image(image))  # type: ignore[no-any-return]
