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
from typing import Any

from .._core import _engine as steps
from .._core._connection import DEFAULT_MAX_BODY_SIZE, ConnectionState, ReceivedEvent
from .._core._engine import FetchOp as _FetchOp
from .._core._engine import Operation
from .._core._errors import LocalProtocolError, ReadTimeout, RemoteProtocolError, TransportError
from .._core._events import Response
from .._core._exchange import connection_lost, may_send_again, timed_out, whole_body
from .._core._interface import ConnectFactory, Transport, bytes_written
from .._core._output import ExecResult
from .._core._request import Request
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike
from .._backends._hosts import HostConfig, TLSConfig
from ._api import API
from ._pool import Pool
from ._progress import ProgressStream
from ._response import StreamingResponse, exc_items
from ._session import Session


# Read once: an enum member read from its class costs a metaclass call on 3.11.
_SENDING_BODY = ConnectionState.SENDING_BODY

__all__ = ["Client", "StreamingResponse", "Session", "ExecResult"]



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


class Client(API):
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
        self._configure(
            host, version, tls=tls, timeout=timeout, min_version=min_version, max_version=max_version,
            environ=environ, stream_impl=stream_impl, ssh_options=ssh_options, context=context,
            custom=None if connect is None else f"custom transport {connect!r}", max_body_size=max_body_size,
        )
        self._version_lock = threading.Lock()
        self._pool = Pool(self.host, size=pool_size, connect_timeout=connect_timeout, connect=connect)

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
        if type(op) is _FetchOp:
            # One Fetch and a function of its answer: performed directly,
            # with no generator to step (see FetchOp).
            return op.complete(self._fetch(op))  # the op has the step's fields
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

    def _fetch(self, step: steps.Fetch | _FetchOp[Any]) -> Response:
        resp = self._exchange(step.request, step)
        if isinstance(resp, Response):
            return resp  # answered whole with its head: the body is in step.into
        self._perform(steps.ReadBody(resp, step.limit, step.into))
        return resp.response

    def _perform(self, step: steps.Step) -> Any:
        if isinstance(step, steps.Fetch):
            return self._fetch(step)
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

    def _exchange(self, request: Request, fetch: steps.Fetch | _FetchOp[Any] | None = None
                  ) -> StreamingResponse[Any] | Response:
        """Send ``request`` as is and read up to its response head.

        A request is sent a second time (on a new connection) only when that
        is safe, as Go's net/http decides it: the first attempt used a
        reused keep-alive connection, and either no byte of the request was
        written, or the request is a GET/HEAD without a streamed body and no
        byte of an answer arrived.  Every other broken exchange raises
        :class:`ConnectionLost`, saying whether the daemon may have acted.

        For a Fetch step whose answer came whole with its head, the
        connection goes back to the pool at once, the body into the step's
        list, and the head is returned (no response object).
        """
        engine = self._engine
        for attempt in range(2):
            stream, conn, reused = self._pool.acquire()
            conn = engine.connection_for(conn)
            received = False
            eof = False
            try:
                # set_read_timeout() and reset_written(), inline: two calls
                # fewer on every request.
                settimeout = getattr(stream, "settimeout", None)
                if settimeout is not None:
                    settimeout(engine.timeout)
                reset = getattr(stream, "reset_written", None)
                if reset is not None:
                    reset()
                stream.write(conn.send_request(request))
                if request.body is not None and conn.state is _SENDING_BODY:
                    for chunk in request.body_chunks():
                        out = conn.send_body(chunk)
                        if out:
                            stream.write(out)
                    stream.write(conn.send_end())
                events: list[ReceivedEvent] = []
                limit = None if fetch is None else engine.max_body_size if fetch.limit == -1 else fetch.limit
                while True:
                    data = stream.read()
                    if data:
                        received = True
                        if fetch is not None and not events:
                            # A repeat of this connection's last answer to
                            # the same request (a ping, a repeated inspect):
                            # head and body at once, the connection IDLE.
                            whole = conn.receive_whole(data, limit)
                            if whole is not None:
                                self._pool.release(stream, conn)
                                fetch.into.append(whole[1])
                                return whole[0]
                    else:
                        eof = True
                    if events:
                        events.extend(conn.receive_data(data))
                    else:
                        events = conn.receive_data(data)  # a new list, ours
                    if events and isinstance(events[0], Response):
                        head = events[0]
                        if fetch is not None:
                            body = whole_body(head, events, limit)
                            if body is not None:
                                if conn.reusable:
                                    self._pool.release(stream, conn)
                                else:
                                    stream.close()
                                fetch.into.append(body)
                                return head
                        return StreamingResponse(self, stream, conn, head, events[1:])
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
