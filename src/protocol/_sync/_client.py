"""A minimal sync client: the sans-I/O core on the sync transport.

Every method builds a :class:`Request`, sends it through
:meth:`Client.send`, and reads the answer through the same loop: read from
the socket into one reusable buffer, hand the whole read to the
:class:`Connection`, act on the events.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, Generic, TypeVar, Union

from .._core._connection import DEFAULT_MAX_BODY_SIZE, Connection, ConnectionState, ReceivedEvent
from .._core._errors import (
    APIError,
    ConnectionLost,
    ContainerNotRunning,
    LocalProtocolError,
    MessageTooLarge,
    ProtocolError,
    ReadTimeout,
    RemoteProtocolError,
    StreamClosed,
    TransportError,
    UnsupportedVersion,
    VersionError,
)
from .._core._events import ConnectionClosed, Data, EndOfMessage, Response, Stream, StreamError
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
from ._progress import ProgressStream
from .._core._stream import Frame
from .._core._negotiation import (
    VersionRange,
    choose_version,
    ping_requests,
    version_from_ping,
    version_from_version_body,
    version_request,
)
from .._core._request import Request, ResponseKind
from .._core._responses import decode_json, decode_path_stat, error_from_response, error_from_stream
from .._core._auth import DockerConfig, encode_registry_auth, encode_registry_config, registry_for_image
from .._core._build_context import tar_context, tar_from_fileobj
from .._core._endpoints import build_request, endpoint, parse_v1_0_progress
from ._session import ExecResult, Session, start_session
from .._about import USER_AGENT
from .._backends._context import client_settings, resolve_environment
from .._core._interface import ConnectFactory, Transport, set_read_timeout
from .._backends._hosts import HostConfig, TLSConfig, parse_host
from ._pool import Pool
from .._backends._sync_socket import bytes_written, reset_written
from .._core._sinks import write_to as _write_to
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike

__all__ = ["Client", "StreamingResponse", "Session", "ExecResult"]

Sink = Union[int, BinaryIO, Any]

# What iterating a StreamingResponse gives: Any for a raw response; the
# typed streams (logs, events, stats) name their items.
_I = TypeVar("_I")


def _read_json(resp: StreamingResponse[Any], request: Request) -> Any:
    """The decoded JSON body of an answered request (None for an empty body).

    The body is gathered in one buffer (bounded by max_body_size), decoded to
    text, and the buffer dropped before parsing: the peak is the text plus
    the result, not three copies of the body.
    """
    what = f"the answer to {request.method} {request.path}"
    with resp:
        buf = resp.read_buffer()
    if not buf or buf.isspace():  # no strip(): that would copy the body
        return None
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(f"{what} is not UTF-8: {bytes(buf[:200])!r}") from None
    del buf  # parse with the text alone in memory, not the bytes too
    return decode_json(text, what)


def _check_name(what: str, image: Any, tag: Any) -> None:
    """Caller input checked before anything is sent: a clear TypeError
    instead of an AttributeError from deep inside."""
    if not isinstance(image, str) or not image:
        raise TypeError(f"{what}() needs an image name (a non-empty str), not {image!r}")
    if tag is not None and not isinstance(tag, str):
        raise TypeError(f"{what}() tag must be a str or None, not {type(tag).__name__}")


def exc_items(exc: BaseException) -> list[Any]:
    """The items a protocol error says its failing read completed."""
    items = getattr(exc, "items", None)
    return list(items) if isinstance(items, list) else []


def _timed_out(request: Request | None, timeout: float | None) -> ReadTimeout:
    what = "the daemon" if request is None else f"{request.method} {request.target}"
    return ReadTimeout(f"{what}: no data from the daemon within {timeout}s (read timeout)",
                       request, timeout)


#: Methods Go's net/http deems safe to send again (RFC 9110 idempotent
#: methods the Engine API uses): retried after a stale keep-alive connection.
_IDEMPOTENT = frozenset({"GET", "HEAD"})


def _json_items(model: Callable[[Any], _I], resp: StreamingResponse[Any]) -> Callable[[Any], _I]:
    """Wrap each decoded message of a JSON stream in ``model``; an in-band
    error raises its typed exception (the items before it were handed out)."""

    def convert(item: Any) -> _I:
        if isinstance(item, StreamError):
            raise error_from_stream(item, resp.request, resp.status)
        return model(item)

    return convert


class StreamingResponse(Generic[_I]):
    """An answered request whose body is read on demand.

    Iterate it for the body's events: :class:`Frame` and :class:`StreamError`
    for container output, decoded messages (dicts) and :class:`StreamError`
    for JSON streams, :class:`Data` for other bodies.  The connection goes
    back to the pool once the body is complete, and is closed if the
    iteration is abandoned (:meth:`close`, or use it as a context manager).

    The type parameter is what iteration gives: ``StreamingResponse[Frame |
    StreamError]`` from :meth:`Client.logs`, ``StreamingResponse[Event]``
    from :meth:`Client.events`; ``Any`` for :meth:`Client.call`'s raw ones.
    """

    # Applied to each item by iteration (typed views); None hands the
    # decoder's items out untouched, from C, with no Python call per item.
    _map: Callable[[Any], Any] | None = None

    def __init__(
        self,
        client: Client,
        stream: Transport,
        conn: Connection,
        response: Response,
        pending: list[ReceivedEvent],
        error: BaseException | None = None,
    ) -> None:
        self._client = client
        self._stream: Transport | None = stream
        self._conn = conn
        self.response = response
        self.request = conn.request
        self._pending = pending
        self._error = error  # raised once the pending items are handed out
        self._done = False
        self._aborted = False  # close() came before the end of the body
        if error is not None:
            self._pending = [e for e in pending if not isinstance(e, (EndOfMessage, ConnectionClosed))]
            self._done = True  # the connection is broken: never reused
            stream.close()
            self._stream = None
        elif self._ended(pending):
            self._release()

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def socket_stream(self) -> Transport | None:
        return self._stream

    def take_pending(self) -> list[ReceivedEvent]:
        """Events already decoded with the head (for a hijacked session)."""
        pending, self._pending = self._pending, []
        return pending

    def detach(self) -> None:
        """Hand the socket over (to a :class:`Session`): this response lets go of it."""
        self._stream = None
        self._done = True

    @staticmethod
    def _ended(events: list[ReceivedEvent]) -> bool:
        return bool(events) and isinstance(events[-1], (EndOfMessage, ConnectionClosed))

    def _release(self) -> None:
        self._done = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # Reused only when the sans-I/O side says the cycle ended cleanly on
        # a keep-alive connection (the pool also refuses it if any byte is
        # already waiting on the socket).
        if self._conn.reusable:
            self._client._pool.release(stream)
        else:
            stream.close()

    def _closed_error(self) -> StreamClosed:
        what = f"{self.request.method} {self.request.target}: " if self.request else ""
        return StreamClosed(f"{what}the response was closed before its body ended")

    def _check_open(self) -> None:
        if self._aborted:
            raise self._closed_error()

    def read_batches(self) -> Iterator[list[ReceivedEvent]]:
        """Every read's events as one list: the batch form, one call per read.

        A :meth:`close` from another thread wakes a blocked read; the
        reader then gets :class:`StreamClosed`, as it does when iterating
        again after a close.
        """
        try:
            if self._pending:
                batch, self._pending = self._pending, []
                yield batch
            if self._error is not None:
                error, self._error = self._error, None
                error.items = []  # type: ignore[attr-defined]  # handed out above
                raise error
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = stream.read()
                self._check_open()  # woken by close(): EOF that is not the daemon's
                events = self._conn.receive_data(data)
                if self._ended(events):
                    self._release()
                if events:
                    yield events
            self._check_open()
        except ReadTimeout:
            self.close()
            raise _timed_out(self.request, self._client.timeout) from None
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                # A read or parse failing because close() pulled the socket away.
                raise self._closed_error() from None
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def _item_batches(self) -> Iterator[list[ReceivedEvent]]:
        for batch in self.read_batches():
            # EndOfMessage / ConnectionClosed only ever end a batch: trim them
            # there instead of testing every frame on the hot path.
            while batch and isinstance(batch[-1], (EndOfMessage, ConnectionClosed)):
                batch.pop()
            yield batch

    def __iter__(self) -> Iterator[_I]:
        # chain.from_iterable hands out the items of each batch from C: no
        # Python frame is resumed per item, only once per socket read.
        items = itertools.chain.from_iterable(self._item_batches())
        if self._map is not None:
            return map(self._map, items)
        return items

    def _typed(self, convert: Callable[[Any], Any] | None = None) -> Any:
        """This response, its items converted by ``convert`` when iterated
        (the caller states the resulting type)."""
        self._map = convert
        return self

    def items(self) -> Iterator[Any]:
        """Like iteration, but :class:`Data` events give their bytes."""
        for ev in self:
            yield ev.data if isinstance(ev, Data) else ev

    def read(self, limit: int | None = -1) -> bytes:
        """The whole body as bytes (for non-stream bodies).

        At most ``limit`` bytes (default: the client's ``max_body_size``;
        None: no limit): a longer body raises :class:`MessageTooLarge` before
        it is held, from its Content-Length when it has one.
        """
        return bytes(self.read_buffer(limit))

    def read_buffer(self, limit: int | None = -1) -> bytearray:
        """Like :meth:`read`, in one growing buffer (no list of parts joined
        at the end, so the body is not held twice)."""
        if limit == -1:
            limit = self._client.max_body_size
        if limit is not None:
            length = self.response.header(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit \
                    and self.request is not None and self.request.method != "HEAD":
                self.close()
                raise MessageTooLarge(
                    f"the daemon announced a {int(length)}-byte body; the limit is {limit}"
                )
        buf = bytearray()
        try:
            for ev in self:
                if isinstance(ev, Data):
                    buf += ev.data
                    if limit is not None and len(buf) > limit:
                        self.close()
                        raise MessageTooLarge(f"the body passed the limit of {limit} bytes")
        except (ProtocolError, TransportError) as exc:
            # The body up to the fault is the caller's to see.
            buf += b"".join(e.data for e in exc_items(exc) if isinstance(e, Data))
            exc.received = bytes(buf)
            raise
        return buf

    def drain_into(self, stdout: Sink, stderr: Sink, errors: list[StreamError]) -> None:
        """Read the rest of a container-output body straight into two sinks."""
        if self._error is not None:  # pending items were taken with take_pending()
            error, self._error = self._error, None
            error.items = []  # type: ignore[attr-defined]
            raise error
        try:
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = stream.read()
                self._check_open()
                events = self._conn.receive_data_into(data, stdout, stderr)
                for ev in events:
                    if isinstance(ev, StreamError):
                        errors.append(ev)
                if self._ended(events):
                    self._release()
            self._check_open()
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                raise self._closed_error() from None
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Abandon the response: the connection is closed, not reused.

        Safe from another thread: a reader blocked on the connection wakes
        at once and gets :class:`StreamClosed`.
        """
        if not self._done:
            self._aborted = True
            self._done = True
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` abandoned the body before its end."""
        return self._aborted

    def __enter__(self) -> StreamingResponse[_I]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
        self._stream_impl = stream_impl
        given = sum(x is not None for x in (host or None, transport, connect, context))
        if given > 1:
            raise LocalProtocolError("give at most one of host=, context=, transport= or connect=")
        # The docker CLI's configuration: which daemon (when no host was
        # given), HttpHeaders and DOCKER_API_VERSION.
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
            version = api_version  # DOCKER_API_VERSION pins it, as for the CLI
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
        # The newest version the server says it speaks (Api-Version of its
        # answers): Podman accepts any /vX.Y/ but answers as 1.41, so a pinned
        # version is not what the output labels follow.
        self._server_api: APIVersion | None = None
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
        return f"<Client {self.host.url} api={self._version or 'unnegotiated'}>"

    # -- version negotiation ----------------------------------------------

    @property
    def api_version(self) -> APIVersion:
        """The API version in use, negotiated on first use (once, thread-safe)."""
        version = self._version
        if version is not None:
            return version
        with self._version_lock:
            if self._version is None:
                self._version = self._negotiate()
            return self._version

    def _negotiate(self) -> APIVersion:
        daemon: VersionRange | None = None
        head, get = ping_requests()
        for probe in (head, get):
            try:
                with self._exchange(probe) as resp:
                    resp.read()
            except (TransportError, LocalProtocolError):
                raise
            except (ProtocolError, OSError):
                continue
            if 200 <= resp.status < 300:
                maximum = version_from_ping(resp.response)
                if maximum is not None:
                    daemon = VersionRange(None, maximum)
                    break
            elif resp.status not in (404, 405):
                break
        if daemon is None:
            # Before API 1.25 responses carry no Api-Version; /version does.
            with self._exchange(version_request()) as resp:
                body = resp.read()
            if resp.status >= 300:
                raise error_from_response(resp.response, body, version_request())
            daemon = version_from_version_body(body)
            if daemon is None:
                raise VersionError(
                    resp.status,
                    "the daemon did not say which API version it speaks "
                    "(no Api-Version header, no ApiVersion in /version)",
                )
        return choose_version(self._range, daemon)

    # -- sending -----------------------------------------------------------

    def _exchange(self, request: Request) -> StreamingResponse[Any]:
        """Send ``request`` as is and read up to its response head.

        A request is sent a second time (on a new connection) only when that
        is safe, as Go's net/http decides it: the first attempt used a
        reused keep-alive connection, and either no byte of the request was
        written, or the request is a GET/HEAD without a streamed body and no
        byte of an answer arrived.  Every other broken exchange raises
        :class:`ConnectionLost`, saying whether the daemon may have acted.
        """
        replayable = request.body is None or isinstance(request.body, bytes)
        idempotent = request.method in _IDEMPOTENT and replayable
        for attempt in range(2):
            stream, reused = self._pool.acquire()
            conn = Connection(stream_impl=self._stream_impl, default_headers=self._default_headers,
                              max_body_size=self.max_body_size)
            received = False
            eof = False
            try:
                set_read_timeout(stream, self.timeout)
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
                        self._note_server_version(events[0])
                        return StreamingResponse(self, stream, conn, events[0], events[1:])
            except ReadTimeout:
                stream.close()
                raise _timed_out(request, self.timeout) from None
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
                count = bytes_written(stream)
                written = count is None or count > 0
                if reused and attempt == 0 and (not written or (idempotent and not received)):
                    continue  # a stale keep-alive connection: safe to send again
                state = "after part of its answer" if received else "before any answer"
                raise ConnectionLost(
                    f"{request.method} {request.target}: the connection was lost {state} "
                    f"({exc}); not sent again, "
                    + ("the daemon may have processed it" if written
                       else "nothing of it was written"),
                    request,
                    may_have_been_processed=written,
                ) from exc
            except BaseException:
                stream.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def send(self, request: Request, *, versioned: bool = True) -> StreamingResponse[Any]:
        """Send a request at the negotiated version; raise :class:`APIError` for error answers.

        The returned :class:`StreamingResponse` has the head read and the body
        still to come.
        """
        if versioned and request.version is None:
            request = request.with_version(self.api_version)
        resp = self._exchange(request)
        if resp.status >= 300:
            # Errors, 304, and redirects: the daemon never redirects, so a
            # 3xx answer is not the answer asked for (UnexpectedRedirect).
            with resp:
                body = resp.read()
            raise error_from_response(resp.response, body, request)
        return resp

    def request_json(self, request: Request) -> Any:
        """Send and decode a JSON answer (None for an empty body)."""
        return _read_json(self.send(request), request)

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
        version = self.api_version
        ep = endpoint(name, version)  # UnsupportedVersion when no variant covers it
        if ep.upgrade_protocol is not None:
            raise LocalProtocolError(
                f"{name} switches the connection to {ep.upgrade_protocol}, which this client "
                "does not speak; build_request() gives the request for a client that does"
                + (" (or use Client.attach)" if name == "containers.attach_ws" else "")
            )
        if auth is not None:
            kwargs["registry_auth"] = encode_registry_auth(auth)
        if ep.response in (ResponseKind.STREAM, ResponseKind.HIJACK) and kwargs.get("tty") is None:
            kwargs["tty"] = self._output_tty(name, kwargs)
        request = build_request(name, version, **kwargs)
        if request.kind is ResponseKind.HIJACK:
            # None when the daemon answers without taking the connection
            # over (exec start with Detach: true).
            if name.startswith("exec."):
                return start_session(self, request, exec_id=kwargs.get("id"))
            return start_session(self, request, container=kwargs.get("id"))
        resp = self.send(request)
        if request.method == "HEAD":
            # A HEAD answer is all headers (archive stat, ping): give the head.
            with resp:
                resp.read()
            return resp.response
        if request.kind is ResponseKind.JSON:
            return _read_json(resp, request)
        if request.kind is ResponseKind.EMPTY:
            with resp:
                resp.read()
            return None
        if request.kind is ResponseKind.TEXT:
            with resp:
                text = resp.read().decode("utf-8", errors="replace")
            if ep.text_progress:
                return parse_v1_0_progress(text)
            return text
        return resp

    def _note_server_version(self, response: Response) -> None:
        value = response.header(b"api-version")
        if value:
            try:
                self._server_api = APIVersion(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                pass

    def _labels_output(self) -> bool:
        """The server labels multiplexed vs raw output: it answers at >= 1.42.

        The version that counts is the lower of ours and the server's answer;
        a pinned client learns the server's from one unversioned ping.
        """
        version = self.api_version
        if version < APIVersion("1.42"):
            return False
        if self._server_api is None:
            with self._exchange(ping_requests()[0]) as resp:
                resp.read()
        return self._server_api is not None and self._server_api >= APIVersion("1.42")

    def _output_tty(self, name: str, kwargs: Mapping[str, Any]) -> bool | None:
        """The TTY setting behind a logs/attach stream when the daemon will not say it."""
        if self._labels_output():
            return None
        ident = kwargs.get("id")
        if name == "exec.start":
            # The start body says it ({"Detach": false, "Tty": true}).
            body = kwargs.get("json")
            if isinstance(body, Mapping) and "Tty" in body:
                return bool(body["Tty"])
            if isinstance(ident, str):
                return bool(self.inspect_exec(ident).get("ProcessConfig", {}).get("tty"))
            return None
        if not isinstance(ident, str):
            return None
        if name.startswith("containers."):
            return bool(self.inspect_container(ident).get("Config", {}).get("Tty"))
        if name == "services.logs":
            spec = self.call("services.inspect", id=ident).get("Spec", {})
            return bool(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("TTY"))
        if name == "tasks.logs":
            spec = self.call("tasks.inspect", id=ident).get("Spec", {})
            return bool(spec.get("ContainerSpec", {}).get("TTY"))
        return None

    def archive_stat(self, container: str, path: str) -> Any:
        """``HEAD /containers/{id}/archive`` (API >= 1.20): the path's stat
        (name, size, mode, mtime, linkTarget) from ``X-Docker-Container-Path-Stat``."""
        head = self.call("containers.archive_info", id=container, path=path)
        value = head.header(b"x-docker-container-path-stat")
        if value is None:
            raise RemoteProtocolError("the daemon sent no X-Docker-Container-Path-Stat header")
        try:
            return decode_path_stat(value)
        except ValueError:
            raise RemoteProtocolError(f"undecodable X-Docker-Container-Path-Stat: {value[:100]!r}") from None

    # -- registry and build progress -------------------------------------

    def progress(self, resp: StreamingResponse[Any]) -> list[ProgressMessage]:
        """Consume a JSON progress stream; raise its in-band error as a typed exception.

        Returns the messages before the end.  An ``error`` / ``errorDetail``
        message raises :class:`Unauthorized` for registry refusals, else
        :class:`APIError`, carrying the message; its ``messages`` attribute
        holds every message received before it.
        """
        return ProgressStream.from_response(resp).collect()

    def _progress_stream(self, endpoint_name: EndpointName, /, **kwargs: Any) -> ProgressStream:
        result = self.call(endpoint_name, **kwargs)
        if isinstance(result, list):  # v1.0's plain-text progress, parsed by call()
            return ProgressStream(result)
        if isinstance(result, str):  # before API 1.8 the build log is plain text
            return ProgressStream([{"stream": line} for line in result.splitlines(keepends=True)])
        if result is None:  # images.load before API 1.23 answers with no body
            return ProgressStream([])
        return ProgressStream.from_response(result)

    @staticmethod
    def _auth_for(image: str, auth: Any) -> Any:
        """``auth=True``: the credentials the docker CLI would use for the
        image's registry (``~/.docker/config.json`` or ``$DOCKER_CONFIG``,
        with its credential store or helpers)."""
        if auth is True:
            return DockerConfig.load().credentials_for(registry_for_image(image))
        return auth

    def pull_stream(self, image: str, tag: str | None = None, *, auth: Any = None,
                    platform: str | None = None) -> ProgressStream:
        """``POST /images/create?fromImage=``: the pull's progress as it happens.

        ``auth`` is an :class:`AuthConfig` or dict, or ``True`` to use the
        docker CLI's configuration for the image's registry.  Iterate the
        result for :class:`ProgressMessage`; an in-band error raises.  Any
        error (in-band, protocol or transport) carries the messages received
        before it in ``exc.messages`` (also ``exc.received``)."""
        _check_name("pull", image, tag)
        if tag is None and ":" in image.rsplit("/", 1)[-1] and "@" not in image:
            image, tag = image.rsplit(":", 1)
        auth = self._auth_for(image, auth)
        return self._progress_stream("images.create", from_image=image, tag=tag, platform=platform, auth=auth)

    def pull(self, image: str, tag: str | None = None, *, auth: Any = None,
             platform: str | None = None) -> list[ProgressMessage]:
        """Pull, returning every progress message (see :meth:`pull_stream`)."""
        return self.pull_stream(image, tag, auth=auth, platform=platform).collect()

    def push_stream(self, image: str, tag: str | None = None, *, auth: Any = None) -> ProgressStream:
        """``POST /images/{name}/push``: the push's progress as it happens
        (``auth`` as for :meth:`pull_stream`)."""
        _check_name("push", image, tag)
        if tag is None and ":" in image.rsplit("/", 1)[-1]:
            image, tag = image.rsplit(":", 1)
        auth = self._auth_for(image, auth)
        return self._progress_stream("images.push", name=image, tag=tag, auth=auth)

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
        if (path is None) == (fileobj is None):
            raise LocalProtocolError("build() takes a context directory or a tar fileobj, not both")
        if path is not None:
            body = tar_context(path, dockerfile=dockerfile or "Dockerfile")
        else:
            body = tar_from_fileobj(fileobj)
        kwargs: dict[str, Any] = dict(params)
        if tag is not None:
            kwargs["t"] = tag
        if dockerfile is not None:
            kwargs["dockerfile"] = dockerfile
        if auth_configs is not None:
            kwargs["registry_config"] = encode_registry_config(auth_configs, api_version=self.api_version)
        return self._progress_stream("images.build", body=body, **kwargs)

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
        body = data if isinstance(data, bytes) else tar_from_fileobj(data)
        return self._progress_stream("images.load", body=body,
                                     quiet=quiet if self.api_version >= APIVersion("1.23") else None)

    def load(self, data: bytes | Any, *, quiet: bool = False) -> list[ProgressMessage]:
        """Load images, returning every progress message (see :meth:`load_stream`)."""
        return self.load_stream(data, quiet=quiet).collect()

    # -- system ------------------------------------------------------------

    def ping(self) -> str:
        """``GET /_ping`` (unversioned, so it works whatever the versions): 'OK'."""
        _, get = ping_requests()
        with self.send(get, versioned=False) as resp:
            return resp.read().decode("utf-8", errors="replace")

    def version(self) -> VersionInfo:
        return VersionInfo(self.call("system.version"))

    def info(self) -> SystemInfo:
        return SystemInfo(self.call("system.info"))

    # -- containers --------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None,
                   filters: Mapping[str, Any] | None = None) -> list[ContainerSummary]:
        return [ContainerSummary(c) for c in self.call("containers.list", all=all, limit=limit, filters=filters)]

    def inspect_container(self, container: str) -> ContainerInspect:
        return ContainerInspect(self.call("containers.inspect", id=container))

    def create_container(self, image: str, command: list[str] | str | None = None, *, name: str | None = None,
                         **config: Any) -> ContainerCreated:
        """``POST /containers/create``; ``config`` keys are the API's (Tty, Env, HostConfig, ...)."""
        body: dict[str, Any] = {"Image": image, **config}
        if command is not None:
            body["Cmd"] = [command] if isinstance(command, str) else list(command)
        return ContainerCreated(self.call("containers.create", name=name, json=body))

    def start_container(self, container: str) -> None:
        self.call("containers.start", id=container)

    def wait_container(self, container: str) -> ContainerWaitResult:
        return ContainerWaitResult(self.call("containers.wait", id=container))

    def remove_container(self, container: str, force: bool = False, volumes: bool = False) -> None:
        self.call("containers.remove", id=container, force=force, v=volumes)

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
        # Items are the decoder's own Frame / StreamError objects, untouched.
        return self.call(  # type: ignore[no-any-return]
            "containers.logs",
            id=container,
            stdout=stdout,
            stderr=stderr,
            follow=follow,
            timestamps=timestamps,
            tail=None if tail is None else str(tail),
            since=since,
            until=until,
            tty=tty,  # looked up by call() when None and the API is below 1.42
        )

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
        errors: list[StreamError] = []
        with self.logs(container, follow=follow, timestamps=timestamps, tail=tail, since=since,
                       until=until, tty=tty) as resp:
            for ev in resp.take_pending():
                if isinstance(ev, StreamError):
                    errors.append(ev)
                elif hasattr(ev, "stream"):
                    _write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
            resp.drain_into(stdout, stderr, errors)
        return errors

    def events(
        self,
        *,
        since: int | str | None = None,
        until: int | str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> StreamingResponse[Event]:
        """``GET /events``: a stream of :class:`Event` (ends at ``until``, else
        never); an in-band error raises its typed exception."""
        resp = self.call("system.events", since=since, until=until, filters=filters)
        return resp._typed(_json_items(Event, resp))  # type: ignore[no-any-return]

    def stats(self, container: str, *, stream: bool = True) -> StreamingResponse[ContainerStats]:
        """``GET /containers/{id}/stats`` (API >= 1.17): a stream of
        :class:`ContainerStats` (one sample with ``stream=False``)."""
        resp = self.call("containers.stats", id=container, stream=stream)
        return resp._typed(_json_items(ContainerStats, resp))  # type: ignore[no-any-return]

    # -- attach and exec (hijacked sessions) ------------------------------

    def _require(self, version: str, what: str) -> None:
        if self.api_version < APIVersion(version):
            raise UnsupportedVersion(what, self.api_version, minimum=APIVersion(version))

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
        if stream and require_running or tty is None:
            state = self.inspect_container(container)
            status = str(state.get("State", {}).get("Status", ""))
            if stream and require_running and not state.get("State", {}).get("Running"):
                raise ContainerNotRunning(
                    f"container {container} is {status or 'not running'}: attaching with "
                    "stream=True would wait until it runs again (pass require_running=False "
                    "to attach before starting it, or stream=False with logs=True to replay)",
                    container,
                    status,
                )
            if tty is None:
                tty = bool(state.get("Config", {}).get("Tty"))
        return self.call(  # type: ignore[no-any-return]
            "containers.attach", id=container, stdin=stdin, stdout=stdout, stderr=stderr,
            logs=logs, stream=stream, detach_keys=detach_keys, tty=tty,
        )

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
        self._require("1.15", "exec")
        body: dict[str, Any] = {
            "AttachStdin": stdin,
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "Tty": tty,
            "Cmd": [command] if isinstance(command, str) else list(command),
            "Privileged": privileged,
        }
        if env is not None:
            self._require("1.25", "exec env")
            body["Env"] = env
        if workdir is not None:
            self._require("1.35", "exec workdir")
            body["WorkingDir"] = workdir
        if user is not None:
            body["User"] = user
        if detach_keys is not None:
            self._require("1.25", "exec DetachKeys")
            body["DetachKeys"] = detach_keys
        created = self.call("exec.create", id=container, json=body)
        return str(created["Id"])

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Session:
        """``POST /exec/{id}/start``: a :class:`Session` on the running command.

        ``tty`` must match the exec's creation (it decides raw vs multiplexed
        output below API 1.42).  The body is JSON, with the JSON Content-Type
        that API 1.22+ daemons require.
        """
        session = self.call("exec.start", id=exec_id, json={"Detach": False, "Tty": tty}, tty=tty)
        if session is None:
            raise RemoteProtocolError(
                f"exec {exec_id[:12]}: the daemon answered the start with an ordinary "
                "response instead of taking the connection over"
            )
        return session  # type: ignore[no-any-return]

    def exec_start_detached(self, exec_id: str, *, tty: bool = False) -> None:
        """``POST /exec/{id}/start`` with ``Detach: true``: the command runs in
        the background; the daemon answers an empty 200 (no hijack) and the
        connection is reused.  Its exit code comes from :meth:`inspect_exec`."""
        self.call("exec.start", id=exec_id, json={"Detach": True, "Tty": tty}, tty=tty)

    def inspect_exec(self, exec_id: str) -> ExecInspect:
        return ExecInspect(self.call("exec.inspect", id=exec_id))

    def exec_stream(self, container: str, command: list[str] | str, *, stdin: bool = False,
                    tty: bool = False, **options: Any) -> Session:
        """Create and start an exec; iterate the returned session for its output."""
        exec_id = self.exec_create(container, command, stdin=stdin, tty=tty, **options)
        return self.exec_start(exec_id, tty=tty)

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
        with self.exec_stream(container, command, stdin=input is not None, tty=tty, **options) as session:
            writer: threading.Thread | None = None
            failure: list[BaseException] = []
            if input is not None:
                def feed() -> None:
                    try:
                        view = memoryview(input)
                        for i in range(0, len(view), 1 << 20):
                            session.write(view[i:i + (1 << 20)].tobytes())
                        if not tty:
                            session.close_stdin()
                        elif tty_eof:
                            # The line discipline hands a partial line over at
                            # the first EOF character; only one on an empty
                            # line means end of input.
                            partial = bool(input) and not input.endswith((b"\n", b"\r"))
                            session.write(tty_eof * (2 if partial else 1))
                    except BaseException as exc:  # surfaced after the read loop
                        failure.append(exc)

                writer = threading.Thread(target=feed, name="exec-stdin", daemon=True)
                writer.start()
            try:
                out, err, _errors = session.collect(max_output)
            finally:
                if writer is not None:
                    writer.join(timeout=5)
            if failure and not isinstance(failure[0], TransportError):
                raise failure[0]
            if self.api_version < APIVersion("1.16"):
                return ExecResult(None, out, err)  # no GET /exec/{id}/json before 1.16
            try:
                code = session.wait(timeout=wait_timeout)
            except (ProtocolError, TransportError, APIError, TimeoutError) as exc:
                # The output is complete: the caller keeps it.
                exc.received = ExecResult(None, out, err)  # type: ignore[union-attr]
                raise
            return ExecResult(code, out, err)

    # -- images ------------------------------------------------------------

    def images(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[ImageSummary]:
        return [ImageSummary(i) for i in self.call("images.list", all=all, filters=filters)]

    def inspect_image(self, image: str) -> ImageInspect:
        return ImageInspect(self.call("images.inspect", name=image))


