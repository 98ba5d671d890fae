"""The protocol engine: every high-level operation of a client, without I/O.

Theory of operation
-------------------
Below this module the core knows one request/response cycle
(:class:`Connection`).  Above it, a client does more: it negotiates the API
version before the first request, dispatches an answer by the endpoint's
response kind, looks up a container's TTY setting when the daemon will not
label its output, creates, starts and inspects an exec, turns progress
streams into messages with typed in-band errors...  All of that is written
once, here, as *operations*: generators that yield :class:`Step` objects
saying what I/O they need, receive its result, and finally return what the
caller gets.

A driver (the sync :class:`~protocol.Client`, the asyncio
:class:`~protocol.AsyncClient`, or an embedder's own) runs an operation
with a loop of a few lines::

    def run(op):
        value, error = None, None
        while True:
            try:
                step = op.send(value) if error is None else op.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                value = perform(step)      # the driver's I/O for this step
            except BaseException as exc:   # handed to the operation
                error = exc

The steps are few and carry no Docker knowledge: open an exchange (write a
request, read up to its answer's head), read a body whole, take over a
hijacked connection, close something, sleep, read the clock, converse with
a session (write stdin while reading output), drain output into sinks, wrap
a progress stream, and make sure the version was negotiated (under the
driver's own lock, so that many threads or tasks negotiate once).  What the
driver hands back for :class:`Open` is its own response object; the engine
reads only its ``status``, ``response`` (the :class:`Response` head),
``request`` and ``connection`` (the :class:`Connection`) attributes, hands
it back in later steps, and returns it to the caller for streaming answers.

An error raised while performing a step is thrown into the operation at the
``yield``: negotiation, for instance, tries ``HEAD /_ping``, and on a
protocol error goes on with ``GET /_ping``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ._auth import DockerConfig, encode_registry_auth, encode_registry_config, registry_for_image
from ._build_context import tar_context, tar_from_fileobj
from ._connection import DEFAULT_MAX_BODY_SIZE, Connection, ConnectionState
from ._endpoints import Endpoint, build_request, endpoint, parse_v1_0_progress
from ._errors import (
    APIError,
    ContainerNotRunning,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    Timeout,
    TransportError,
    UnsupportedVersion,
    VersionError,
)
from ._events import Response, StreamError
from ._fastjson import MISS, fast_loads
from ._models import (
    ContainerCreated,
    ContainerInspect,
    ContainerStats,
    ContainerSummary,
    ContainerWaitResult,
    Event,
    ExecInspect,
    ImageInspect,
    ImageSummary,
    SystemInfo,
    VersionInfo,
    _M,
    _set_raw,
    adopt,
)
from ._names import EndpointName
from ._negotiation import (
    VersionRange,
    choose_version,
    ping_requests,
    version_from_ping,
    version_from_version_body,
    version_request,
)
from ._output import ExecResult, OutputCollector, stdin_plan
from ._request import Request, ResponseKind
from ._responses import decode_json, decode_path_stat, error_from_response, error_from_stream
from ._version import MAX_VERSION, MIN_VERSION, APIVersion, VersionLike

__all__ = [
    "Engine",
    "Operation",
    "Step",
    "Open",
    "ReadBody",
    "Fetch",
    "FetchOp",
    "StartSession",
    "Close",
    "Sleep",
    "Clock",
    "Converse",
    "DrainInto",
    "AsProgress",
    "MapItems",
    "NeedVersion",
    "EXEC_WAIT_TIMEOUT",
]

_T = TypeVar("_T")
_U = TypeVar("_U")

#: How long an exec that the daemon still reports running after its output
#: ended is polled, when neither the call nor the client gives a timeout.
#: The daemon records the exit a few milliseconds after the output closes;
#: a process that outlives its output (a daemonised child holding no pipe)
#: would otherwise be polled for ever.
EXEC_WAIT_TIMEOUT = 30.0

_LABELS_OUTPUT_FROM = APIVersion("1.42")

# Members read once: on Python 3.11 ``ResponseKind.JSON`` goes through the
# enum's metaclass at every use, and a set of members hashes them with a
# Python function; a tuple compares by identity.
_JSON, _EMPTY, _TEXT = ResponseKind.JSON, ResponseKind.EMPTY, ResponseKind.TEXT
_STREAM, _HIJACK = ResponseKind.STREAM, ResponseKind.HIJACK

#: call()'s built requests, by endpoint, version and arguments: the same
#: call builds the same request, and a program that inspects or lists in a
#: loop would build it again each time.  Bounded: cleared when full.
_BUILT: dict[tuple[Any, ...], tuple[Endpoint, Request, Callable[..., Any] | None]] = {}
_BUILT_MAX = 1024
_BUILT_TARGET_MAX = 2048  # characters of a kept request's target
#: Argument types whose equal values build equal requests.  The key also
#: holds each value's type: True == 1, but they are encoded differently.
_PLAIN = frozenset({str, int, bool, type(None)})

#: GET /_ping, unversioned (one immutable request: a kept connection has its bytes ready).
_PING = ping_requests()[1]


def _built_key(name: str, version: APIVersion, kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """call()'s cache key, or None when an argument may not be kept (a
    body, a mapping, a stream: anything mutable or not plainly equal)."""
    types = tuple(map(type, kwargs.values()))
    for t in types:
        if t not in _PLAIN:
            return None
    return (name, version, tuple(kwargs.items()), types)


# -- steps: what an operation asks its driver to do --------------------------


class Step:
    """Base of the I/O requests an operation yields."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Open(Step):
    """Write ``request`` on a connection from the pool (a new one when no
    idle one is clean) and read until its answer's head is complete; give
    back the driver's response object, body unread, status not checked.
    Send again only when :func:`~protocol._core._exchange.may_send_again`
    allows it."""

    request: Request


@dataclass(frozen=True, slots=True)
class ReadBody(Step):
    """Read the rest of an opened answer into one ``bytearray`` and give the
    connection back (or close it): at most ``limit`` bytes, -1 meaning the
    client's ``max_body_size`` and None no bound.

    Give the buffer back, or, when ``into`` is a list, append it there and
    give back None: then the operation holds the only reference and can
    drop the body as soon as it is decoded (a large JSON answer is not
    held twice while it is parsed).
    """

    response: Any
    limit: int | None = -1
    into: list[bytes | bytearray] | None = None


@dataclass(frozen=True, slots=True)
class Fetch(Step):
    """Open ``request`` and read its whole answer, as Open then ReadBody
    would, in one step: append the body (bounded by ``limit`` as ReadBody's)
    to ``into`` and give back the response head.

    Asked only of a driver whose engine was made with ``fetch=True``; an
    engine without it asks for Open then ReadBody instead.  A small answer
    is then one step: no response object, no second trip through the
    driver.
    """

    request: Request
    into: list[bytes | bytearray]
    limit: int | None = -1


_set_fetch_request, _set_fetch_into, _set_fetch_limit = (
    Fetch.__dict__[name].__set__ for name in ("request", "into", "limit"))


def _fetch_step(request: Request, into: list[bytes | bytearray]) -> Fetch:
    """``Fetch(request, into)``, made without the frozen dataclass's
    ``__init__``, which calls ``object.__setattr__`` once per field and
    costs about three times as much: one is made per small request."""
    step = object.__new__(Fetch)
    _set_fetch_request(step, request)
    _set_fetch_into(step, into)
    _set_fetch_limit(step, -1)
    return step


@dataclass(frozen=True, slots=True)
class StartSession(Step):
    """Take over the hijacked connection of an opened answer: give back the
    driver's session object."""

    response: Any
    exec_id: str | None
    container: str | None
    tty: bool


@dataclass(frozen=True, slots=True)
class Close(Step):
    """Close a response or session of the driver's (the connection is not reused)."""

    target: Any


@dataclass(frozen=True, slots=True)
class Sleep(Step):
    seconds: float


@dataclass(frozen=True, slots=True)
class Clock(Step):
    """Give back a monotonic clock's reading, in seconds."""


@dataclass(frozen=True, slots=True)
class Converse(Step):
    """Write ``chunks`` to a session's stdin (then half-close it when
    ``half_close``) while reading its whole output into ``collector``
    (``collector.feed(batch)`` per read).  The writing must not hold up the
    reading: a command like ``cat`` stops reading its input while its output
    is not read.  Give back the writer's exception, or None."""

    session: Any
    chunks: Sequence[bytes]
    half_close: bool
    collector: OutputCollector


@dataclass(frozen=True, slots=True)
class DrainInto(Step):
    """Write the rest of an opened container-output answer into two sinks
    (file descriptors, or objects with ``write()`` or ``sendall()``) with
    no Python object per frame; give back the in-band errors in order."""

    response: Any
    stdout: Any
    stderr: Any


@dataclass(frozen=True, slots=True)
class AsProgress(Step):
    """Give back the driver's progress stream over ``source`` (an opened
    JSON-stream answer, or a list of already decoded messages)."""

    source: Any
    request: Request | None
    status: int


@dataclass(frozen=True, slots=True)
class MapItems(Step):
    """Give back the opened answer with ``convert`` applied to each item
    its iteration hands out (typed views of a JSON stream: events, stats)."""

    response: Any
    convert: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class NeedVersion(Step):
    """Make sure the API version is known: when :attr:`Engine.version` is
    None, run :meth:`Engine.negotiate` and :meth:`Engine.set_version` with
    its result, once, under the driver's lock (many threads or tasks may
    make their first request together).  Give back the version."""


#: An operation: yields steps, is sent their results, returns its answer.
Operation = Generator[Step, Any, _T]


class FetchOp(Generator[Step, Any, _T]):
    """An operation that is one :class:`Fetch` and a function of its answer
    (a ping, or a repeated call whose request is built and whose version is
    known), as a small object instead of a generator.

    It keeps the generator protocol, so a driver that steps operations with
    ``send``/``throw`` (and ``yield from`` in another operation) runs it as
    any other.  A driver may also see that an operation is a FetchOp, perform
    :attr:`step` itself and hand the head to :meth:`complete`: a small
    request then costs no generator frames, no second step through the
    driver's loop and no ``StopIteration``.  The op has the step's fields
    (``request``, ``into``, ``limit``), so a driver may read them from it
    and spare the step object too.  Same steps, same results, same errors
    either way.
    """

    __slots__ = ("engine", "request", "into", "finish", "then", "_state", "_step")

    #: The body's bound, as Fetch's: -1 for the engine's ``max_body_size``.
    limit = -1

    def __init__(self, engine: Engine, request: Request,
                 finish: Callable[[Response, list[bytes | bytearray], Request], Any],
                 then: Callable[[Any], _T] | None = None,
                 into: list[bytes | bytearray] | None = None) -> None:
        self.engine = engine
        self.request = request
        self.into: list[bytes | bytearray] = [] if into is None else into  # the body lands here
        self.finish = finish  # the answer from the head and the body (after the status check)
        self.then = then  # applied to finish's result (a typed view)
        self._state = 0  # 0: not started, 1: step handed out, 2: done
        self._step: Fetch | None = None

    @property
    def step(self) -> Fetch:
        """The :class:`Fetch` to perform (made on first use; its ``into`` is this op's)."""
        step = self._step
        if step is None:
            step = self._step = _fetch_step(self.request, self.into)
        return step

    def map(self, then: Callable[[_T], _U]) -> FetchOp[_U]:
        """The same operation with ``then`` applied to its answer (this one
        is not to be run as well: the two share the step)."""
        first = self.then
        if first is None:
            return FetchOp(self.engine, self.request, self.finish, then, self.into)
        return FetchOp(self.engine, self.request, self.finish, lambda value: then(first(value)), self.into)

    def complete(self, head: Response) -> _T:
        """The operation's answer, from the head of the step's answer (its
        body is in ``into``): the typed error of a status >= 300."""
        engine, into, request = self.engine, self.into, self.request
        # Engine._check_answer, inline (one frame fewer per small request).
        if head is not engine._last_noted:
            engine.note_response(head)
        if head.status_code >= 300:
            raise error_from_response(head, bytes(into.pop()), request)
        value = self.finish(head, into, request)
        then = self.then
        return value if then is None else then(value)

    # -- the generator protocol ------------------------------------------------

    def send(self, value: Any) -> Step:
        state = self._state
        if state == 0:
            if value is not None:
                raise TypeError("can't send non-None value to a just-started operation")
            self._state = 1
            return self.step
        if state == 1:
            self._state = 2
            raise StopIteration(self.complete(value))
        raise StopIteration

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Step:
        self._state = 2
        if isinstance(typ, BaseException):
            raise typ
        raise typ() if val is None else (val if isinstance(val, BaseException) else typ(val))

    def close(self) -> None:
        self._state = 2


def _then(op: Operation[_T], then: Callable[[_T], _U]) -> Operation[_U]:
    """``op`` with ``then`` applied to its answer (a FetchOp stays one)."""
    if type(op) is FetchOp:
        return op.map(then)
    return _mapped(op, then)


def _mapped(op: Operation[_T], then: Callable[[_T], _U]) -> Operation[_U]:
    return then((yield from op))


# What a whole answer gives the caller, by the request's kind: from the
# head, the one-item list holding the body, and the request.
def _finish_head(head: Response, holder: list[bytes | bytearray], request: Request) -> Any:
    return head  # a HEAD answer is all headers (archive stat, ping)


def _finish_json(head: Response, holder: list[bytes | bytearray], request: Request) -> Any:
    return _decode_body(holder, request)


def _finish_empty(head: Response, holder: list[bytes | bytearray], request: Request) -> Any:
    return None


def _finish_text(head: Response, holder: list[bytes | bytearray], request: Request) -> Any:
    return bytes(holder.pop()).decode("utf-8", errors="replace")


def _finish_text_progress(head: Response, holder: list[bytes | bytearray], request: Request) -> Any:
    return parse_v1_0_progress(_finish_text(head, holder, request))


def _finisher(ep: Endpoint, request: Request) -> Callable[[Response, list[bytes | bytearray], Request], Any] | None:
    """How a whole answer to ``request`` becomes the caller's; None for
    answers that are streamed."""
    if request.method == "HEAD":
        return _finish_head
    kind = request.kind
    if kind is _JSON:
        return _finish_json
    if kind is _EMPTY:
        return _finish_empty
    if kind is _TEXT:
        return _finish_text_progress if ep.text_progress else _finish_text
    return None


# Typed views of decoded answers (adopt: no copy of the decoder's dict).
_as_version_info: Callable[[Any], VersionInfo] = partial(adopt, VersionInfo)
_as_system_info: Callable[[Any], SystemInfo] = partial(adopt, SystemInfo)
_as_container_inspect: Callable[[Any], ContainerInspect] = partial(adopt, ContainerInspect)
_as_exec_inspect: Callable[[Any], ExecInspect] = partial(adopt, ExecInspect)
_as_image_inspect: Callable[[Any], ImageInspect] = partial(adopt, ImageInspect)


def _as_container_list(found: Any) -> list[ContainerSummary]:
    return [adopt(ContainerSummary, c) for c in found]


def _as_image_list(found: Any) -> list[ImageSummary]:
    return [adopt(ImageSummary, i) for i in found]


def _check_name(what: str, image: Any, tag: Any) -> None:
    """Caller input checked before anything is sent: a clear TypeError
    instead of an AttributeError from deep inside."""
    if not isinstance(image, str) or not image:
        raise TypeError(f"{what}() needs an image name (a non-empty str), not {image!r}")
    if tag is not None and not isinstance(tag, str):
        raise TypeError(f"{what}() tag must be a str or None, not {type(tag).__name__}")


def _json_items(model: type[_M], request: Request | None, status: int) -> Callable[[Any], _M]:
    """Wrap each decoded message of a JSON stream in ``model``; an in-band
    error raises its typed exception (the items before it were handed out)."""
    new, set_raw = object.__new__, _set_raw

    def convert(item: Any) -> _M:
        # Called once per message: adopt(), inline (the decoder's dict is
        # handed to no one else, so the view takes it without a copy).
        if type(item) is dict:
            view: _M = new(model)
            set_raw(view, item)
            return view
        if isinstance(item, StreamError):
            raise error_from_stream(item, request, status)
        return model(item)

    return convert


def _decode_body(holder: list[bytes | bytearray], request: Request) -> Any:
    """The decoded JSON of a body held whole (None for an empty body).

    The buffer is taken out of ``holder`` (its only other reference),
    decoded to text and dropped before parsing: the peak is the text plus
    the result, not three copies of the body.  With orjson (see
    ``_fastjson``), the bytes are decoded as they are.
    """
    buf = holder.pop()
    if not buf or buf.isspace():  # no strip(): that would copy the body
        return None
    value = fast_loads(buf)  # orjson, when installed and when it may
    if value is not MISS:
        return value
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError(
            f"the answer to {request.method} {request.path} is not UTF-8: {bytes(buf[:200])!r}") from None
    del buf
    return decode_json(text, request)


def terminal_size(size: Any, height: int | None, width: int | None) -> tuple[int, int]:
    """``resize()``'s arguments: a terminal size, or height= and width=.

    Positional numbers are refused: the API's order (h, w) is the reverse
    of ``os.terminal_size``'s (columns, lines), and a swapped pair would be
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
    return height, width


class Engine:
    """The sans-I/O state and operations of one client.

    It holds what a client knows beyond one connection: the version range
    it accepts, the negotiated version, the newest version the server says
    it speaks, the headers every request carries, the body bound.  Its
    methods return :data:`Operation` generators (see the module's docs), or
    for a single whole-answer request a :class:`FetchOp`, which runs as
    one; they never block and never touch a socket.
    """

    def __init__(
        self,
        *,
        version: VersionLike | None = None,
        min_version: VersionLike = MIN_VERSION,
        max_version: VersionLike = MAX_VERSION,
        headers: Sequence[tuple[bytes, bytes]] = (),
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        timeout: float | None = None,
        stream_impl: Any = None,
        fetch: bool = False,
    ) -> None:
        if not isinstance(max_body_size, int) or max_body_size < 0:
            raise LocalProtocolError(f"max_body_size must be a non-negative int, not {max_body_size!r}")
        self.max_body_size = max_body_size
        self.range = VersionRange(APIVersion(min_version), APIVersion(max_version))
        if self.range.minimum is None or self.range.maximum < self.range.minimum:
            raise LocalProtocolError("max_version is below min_version")
        self.version: APIVersion | None = None if version is None else APIVersion(version)
        # The newest version the server says it speaks (Api-Version of its
        # answers): Podman accepts any /vX.Y/ but answers as 1.41, so a
        # pinned version is not what the output labels follow.
        self.server_api: APIVersion | None = None
        self._server_api_raw = b""  # the header server_api was parsed from
        self._last_noted: Response | None = None  # the last head note_response read
        self.headers = tuple(headers)
        self.timeout = timeout  # the client's read timeout: bounds the exec wait by default
        self.stream_impl = stream_impl
        # The driver performs Fetch steps: answers read whole take one step.
        self.fetch = fetch

    # -- for drivers ----------------------------------------------------------

    def new_connection(self) -> Connection:
        """A sans-I/O connection for one exchange, with this client's headers and bounds."""
        return Connection(stream_impl=self.stream_impl, default_headers=self.headers,
                          max_body_size=self.max_body_size)

    def connection_for(self, previous: Connection | None) -> Connection:
        """The sans-I/O connection for a transport's next exchange: the one
        of its last cycle when that ended cleanly (a pooled keep-alive
        connection), brought up to this client's bounds, else a new one."""
        if previous is None or not previous.reusable or previous.default_headers is not self.headers:
            return self.new_connection()
        if previous.max_body_size != self.max_body_size:
            previous.max_body_size = self.max_body_size
        return previous

    def set_version(self, version: APIVersion) -> None:
        self.version = version

    def note_response(self, response: Response) -> None:
        """Every answer's head passes here: its ``Api-Version`` is the
        newest version the server speaks."""
        if response is self._last_noted:
            return  # the connection's repeated head: the same event (see the fast path)
        self._last_noted = response
        for name, value in response.headers:  # names are lower-case: header(), inline
            if name == b"api-version":
                break
        else:
            return
        if value and value != self._server_api_raw:
            # Parsed only when it changes: every answer of a daemon carries
            # the same header, and parsing it was constant per-request work.
            try:
                self.server_api = APIVersion(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return
            self._server_api_raw = value

    # -- building blocks --------------------------------------------------------

    def api_version(self) -> Operation[APIVersion]:
        """The version in use; negotiated first when it is not known yet."""
        version = self.version
        if version is None:
            version = yield NeedVersion()
        return version

    def negotiate(self) -> Operation[APIVersion]:
        """Find the daemon's newest version and choose ours.

        ``HEAD /_ping``, then ``GET /_ping`` (a daemon older than the HEAD
        route answers 404 or 405, or breaks the connection), read the
        ``Api-Version`` header; before API 1.25 there is none, and the
        unversioned ``GET /version`` says it in its body.
        """
        daemon: VersionRange | None = None
        head, get = ping_requests()
        for probe in (head, get):
            try:
                resp = yield Open(probe)
                yield ReadBody(resp)
            except (TransportError, LocalProtocolError):
                raise
            except (ProtocolError, OSError):
                continue
            self.note_response(resp.response)
            if 200 <= resp.status < 300:
                maximum = version_from_ping(resp.response)
                if maximum is not None:
                    daemon = VersionRange(None, maximum)
                    break
            elif resp.status not in (404, 405):
                break
        if daemon is None:
            request = version_request()
            resp = yield Open(request)
            body = bytes((yield ReadBody(resp)))
            if resp.status >= 300:
                raise error_from_response(resp.response, body, request)
            daemon = version_from_version_body(body)
            if daemon is None:
                raise VersionError(
                    resp.status,
                    "the daemon did not say which API version it speaks "
                    "(no Api-Version header, no ApiVersion in /version)",
                )
        return choose_version(self.range, daemon)

    def send(self, request: Request, *, versioned: bool = True) -> Operation[Any]:
        """Open ``request`` at the negotiated version; an error answer (any
        status >= 300: the daemon never redirects) raises its typed error.
        Gives the driver's response, body still to come."""
        if versioned and request.version is None:
            request = request.with_version((yield from self.api_version()))
        resp = yield Open(request)
        self.note_response(resp.response)
        if resp.status >= 300:
            body = bytes((yield ReadBody(resp)))
            raise error_from_response(resp.response, body, request)
        return resp

    def fetch_whole(self, request: Request, *, versioned: bool = True) -> Operation[tuple[Response, list[bytes | bytearray]]]:
        """Send ``request`` (at the negotiated version) and read its whole
        answer: the head, and a one-item list holding the body (take it out
        with ``pop()`` so that it is held once).  An error answer raises its
        typed error, as :meth:`send` does."""
        holder: list[bytes | bytearray] = []
        if not self.fetch:
            resp = yield from self.send(request, versioned=versioned)
            yield ReadBody(resp, into=holder)
            return resp.response, holder
        if versioned and request.version is None:
            request = request.with_version((yield from self.api_version()))
        head: Response = yield _fetch_step(request, holder)
        self._check_answer(head, holder, request)
        return head, holder

    def _check_answer(self, head: Response, holder: list[bytes | bytearray], request: Request) -> None:
        """After a Fetch: note the head's ``Api-Version``; an error answer
        (status >= 300) raises its typed error, with the body in ``holder``."""
        self.note_response(head)
        if head.status_code >= 300:
            raise error_from_response(head, bytes(holder.pop()), request)

    def request_json(self, request: Request) -> Operation[Any]:
        """Send and decode a JSON answer (None for an empty body)."""
        _, holder = yield from self.fetch_whole(request)
        return _decode_body(holder, request)

    def require(self, version: str, what: str) -> Operation[APIVersion]:
        current = yield from self.api_version()
        if current < APIVersion(version):
            raise UnsupportedVersion(what, current, minimum=APIVersion(version))
        return current

    # -- the whole API, from the endpoint table ---------------------------------

    def call(self, name: EndpointName, /, *, auth: Any = None, **kwargs: Any) -> Operation[Any]:
        """Any endpoint of the table by name (see :meth:`Client.call`)."""
        version = self.version
        if version is not None and auth is None and self.fetch:
            key = _built_key(name, version, kwargs)
            built = None if key is None else _BUILT.get(key)
            if built is not None and built[2] is not None:
                # The same call at the same version, answered whole: the same
                # (immutable) request, whose bytes a kept connection also has
                # ready, in one Fetch (see FetchOp).
                return FetchOp(self, built[1], built[2])
        return self._call(name, auth, kwargs)

    def _call(self, name: EndpointName, auth: Any, kwargs: dict[str, Any]) -> Operation[Any]:
        version = self.version
        if version is None:
            version = yield from self.api_version()
        key = _built_key(name, version, kwargs) if auth is None else None
        built = None if key is None else _BUILT.get(key)
        if built is not None:
            # The same call at the same version: the same (immutable)
            # request, whose bytes a kept connection also has ready.
            return (yield from self._dispatch(built[0], built[1], built[2]))
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
            kwargs["tty"] = yield from self._output_tty(name, kwargs)
        request = build_request(name, version, **kwargs)
        if request.kind is _HIJACK:
            ident = kwargs.get("id")
            if name.startswith("exec."):
                return (yield from self._start_session(request, exec_id=ident))
            return (yield from self._start_session(request, container=ident))
        finish = _finisher(ep, request)
        if key is not None and request.kind is not _STREAM and len(request.target) <= _BUILT_TARGET_MAX:
            # Not container output: its request may carry a TTY setting
            # looked up from the daemon (not in the key), which can change.
            # Nor a long target: what the cache holds stays small.
            if len(_BUILT) >= _BUILT_MAX:
                _BUILT.clear()
            _BUILT[key] = (ep, request, finish)
        return (yield from self._dispatch(ep, request, finish))

    def _dispatch(self, ep: Endpoint, request: Request,
                  finish: Callable[[Response, list[bytes | bytearray], Request], Any] | None) -> Operation[Any]:
        """Send a built request and give the caller what its kind promises
        (``finish``: its :func:`_finisher`)."""
        if finish is not None:
            head, holder = yield from self.fetch_whole(request)
            return finish(head, holder, request)
        return (yield from self.send(request))

    def _start_session(self, request: Request, *, exec_id: str | None = None,
                       container: str | None = None) -> Operation[Any]:
        """Send a HIJACK request and take the connection over.

        None when the daemon answered with an ordinary response instead
        (exec start with ``Detach: true`` gets an empty 200 on a kept-alive
        connection): that answer is read whole and the connection reused.
        """
        resp = yield from self.send(request)
        conn = resp.connection
        if conn.state is not ConnectionState.HIJACKED:
            yield ReadBody(resp)
            return None
        # Either twin's raw decoder (the client may run the Python one).
        tty = bool(request.tty) or type(conn.decoder).__name__ == "RawStreamDecoder"
        return (yield StartSession(resp, exec_id, container, tty))

    def _labels_output(self) -> Operation[bool]:
        """The server labels multiplexed vs raw output: it answers at >= 1.42.

        The version that counts is the lower of ours and the server's answer;
        a pinned client learns the server's from one unversioned ping.
        """
        version = yield from self.api_version()
        if version < _LABELS_OUTPUT_FROM:
            return False
        if self.server_api is None:
            resp = yield Open(ping_requests()[0])
            self.note_response(resp.response)
            yield ReadBody(resp)
        return self.server_api is not None and self.server_api >= _LABELS_OUTPUT_FROM

    def _output_tty(self, name: str, kwargs: Mapping[str, Any]) -> Operation[bool | None]:
        """The TTY setting behind a logs/attach stream when the daemon will not say it."""
        if (yield from self._labels_output()):
            return None
        ident = kwargs.get("id")
        if name == "exec.start":
            # The start body says it ({"Detach": false, "Tty": true}).
            body = kwargs.get("json")
            if isinstance(body, Mapping) and "Tty" in body:
                return bool(body["Tty"])
            if isinstance(ident, str):
                info = yield from self.call("exec.inspect", id=ident)
                return bool(info.get("ProcessConfig", {}).get("tty"))
            return None
        if not isinstance(ident, str):
            return None
        if name.startswith("containers."):
            info = yield from self.call("containers.inspect", id=ident)
            return bool(info.get("Config", {}).get("Tty"))
        if name == "services.logs":
            spec = (yield from self.call("services.inspect", id=ident)).get("Spec", {})
            return bool(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("TTY"))
        if name == "tasks.logs":
            spec = (yield from self.call("tasks.inspect", id=ident)).get("Spec", {})
            return bool(spec.get("ContainerSpec", {}).get("TTY"))
        return None

    # -- system -------------------------------------------------------------

    def ping(self) -> Operation[str]:
        """``GET /_ping``, unversioned (it works whatever the versions)."""
        if self.fetch:
            return FetchOp(self, _PING, _finish_text)
        return self._ping()

    def _ping(self) -> Operation[str]:
        request = _PING
        head, holder = yield from self.fetch_whole(request, versioned=False)
        return _finish_text(head, holder, request)  # type: ignore[no-any-return]

    def version_info(self) -> Operation[VersionInfo]:
        return _then(self.call("system.version"), _as_version_info)

    def info(self) -> Operation[SystemInfo]:
        return _then(self.call("system.info"), _as_system_info)

    def events(self, *, since: int | str | None = None, until: int | str | None = None,
               filters: Mapping[str, Any] | None = None) -> Operation[Any]:
        resp = yield from self.call("system.events", since=since, until=until, filters=filters)
        return (yield MapItems(resp, _json_items(Event, resp.request, resp.status)))

    # -- containers ---------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None,
                   filters: Mapping[str, Any] | None = None) -> Operation[list[ContainerSummary]]:
        return _then(self.call("containers.list", all=all, limit=limit, filters=filters), _as_container_list)

    def inspect_container(self, container: str) -> Operation[ContainerInspect]:
        return _then(self.call("containers.inspect", id=container), _as_container_inspect)

    def create_container(self, image: str, command: list[str] | str | None = None, *,
                         name: str | None = None, **config: Any) -> Operation[ContainerCreated]:
        body: dict[str, Any] = {"Image": image, **config}
        if command is not None:
            body["Cmd"] = [command] if isinstance(command, str) else list(command)
        return ContainerCreated((yield from self.call("containers.create", name=name, json=body)))

    def start_container(self, container: str) -> Operation[None]:
        yield from self.call("containers.start", id=container)

    def wait_container(self, container: str) -> Operation[ContainerWaitResult]:
        return ContainerWaitResult((yield from self.call("containers.wait", id=container)))

    def remove_container(self, container: str, force: bool = False, volumes: bool = False) -> Operation[None]:
        yield from self.call("containers.remove", id=container, force=force, v=volumes)

    def logs(self, container: str, *, stdout: bool = True, stderr: bool = True, follow: bool = False,
             timestamps: bool = False, tail: int | str | None = None, since: int | None = None,
             until: int | None = None, tty: bool | None = None) -> Operation[Any]:
        # Items are the decoder's own Frame / StreamError objects, untouched.
        return (yield from self.call(
            "containers.logs", id=container, stdout=stdout, stderr=stderr, follow=follow,
            timestamps=timestamps, tail=None if tail is None else str(tail), since=since,
            until=until, tty=tty,  # looked up by call() when None and the API is below 1.42
        ))

    def logs_into(self, container: str, stdout: Any, stderr: Any, **options: Any) -> Operation[list[StreamError]]:
        resp = yield from self.logs(container, **options)
        return (yield DrainInto(resp, stdout, stderr))  # type: ignore[no-any-return]

    def stats(self, container: str, *, stream: bool = True) -> Operation[Any]:
        resp = yield from self.call("containers.stats", id=container, stream=stream)
        return (yield MapItems(resp, _json_items(ContainerStats, resp.request, resp.status)))

    def archive_stat(self, container: str, path: str) -> Operation[Any]:
        """The path's stat from ``X-Docker-Container-Path-Stat``."""
        head = yield from self.call("containers.archive_info", id=container, path=path)
        value = head.header(b"x-docker-container-path-stat")
        if value is None:
            raise RemoteProtocolError("the daemon sent no X-Docker-Container-Path-Stat header")
        try:
            return decode_path_stat(value)
        except ValueError:
            raise RemoteProtocolError(f"undecodable X-Docker-Container-Path-Stat: {value[:100]!r}") from None

    # -- attach and exec ------------------------------------------------------

    def attach(self, container: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               logs: bool = False, stream: bool = True, detach_keys: str | None = None,
               tty: bool | None = None, require_running: bool = True) -> Operation[Any]:
        if stream and require_running or tty is None:
            state = yield from self.inspect_container(container)
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
        return (yield from self.call(
            "containers.attach", id=container, stdin=stdin, stdout=stdout, stderr=stderr,
            logs=logs, stream=stream, detach_keys=detach_keys, tty=tty,
        ))

    def exec_create(self, container: str, command: list[str] | str, *, stdin: bool = False,
                    stdout: bool = True, stderr: bool = True, tty: bool = False,
                    env: list[str] | None = None, workdir: str | None = None, user: str | None = None,
                    privileged: bool = False, detach_keys: str | None = None) -> Operation[str]:
        yield from self.require("1.15", "exec")
        body: dict[str, Any] = {
            "AttachStdin": stdin,
            "AttachStdout": stdout,
            "AttachStderr": stderr,
            "Tty": tty,
            "Cmd": [command] if isinstance(command, str) else list(command),
            "Privileged": privileged,
        }
        if env is not None:
            yield from self.require("1.25", "exec env")
            body["Env"] = env
        if workdir is not None:
            yield from self.require("1.35", "exec workdir")
            body["WorkingDir"] = workdir
        if user is not None:
            body["User"] = user
        if detach_keys is not None:
            yield from self.require("1.25", "exec DetachKeys")
            body["DetachKeys"] = detach_keys
        created = yield from self.call("exec.create", id=container, json=body)
        return str(created["Id"])

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Operation[Any]:
        session = yield from self.call("exec.start", id=exec_id, json={"Detach": False, "Tty": tty}, tty=tty)
        if session is None:
            raise RemoteProtocolError(
                f"exec {exec_id[:12]}: the daemon answered the start with an ordinary "
                "response instead of taking the connection over"
            )
        return session

    def exec_start_detached(self, exec_id: str, *, tty: bool = False) -> Operation[None]:
        yield from self.call("exec.start", id=exec_id, json={"Detach": True, "Tty": tty}, tty=tty)

    def inspect_exec(self, exec_id: str) -> Operation[ExecInspect]:
        return _then(self.call("exec.inspect", id=exec_id), _as_exec_inspect)

    def exec_stream(self, container: str, command: list[str] | str, *, stdin: bool = False,
                    tty: bool = False, **options: Any) -> Operation[Any]:
        exec_id = yield from self.exec_create(container, command, stdin=stdin, tty=tty, **options)
        return (yield from self.exec_start(exec_id, tty=tty))

    def exec_run(self, container: str, command: list[str] | str, *, input: bytes | None = None,
                 tty: bool = False, max_output: int | None = 64 * 1024 * 1024,
                 tty_eof: bytes | None = b"\x04", wait_timeout: float | None = None,
                 **options: Any) -> Operation[ExecResult]:
        session = yield from self.exec_stream(container, command, stdin=input is not None, tty=tty, **options)
        try:
            collector = OutputCollector(max_output)
            chunks, half_close = stdin_plan(input, tty=tty, tty_eof=tty_eof) if input is not None else ([], False)
            try:
                failure = yield Converse(session, chunks, half_close and input is not None, collector)
            except (ProtocolError, TransportError) as exc:
                collector.salvage(exc)
                raise
            if failure is not None and not isinstance(failure, TransportError):
                raise failure
            version = yield from self.api_version()
            if version < APIVersion("1.16"):
                return collector.result(None)  # no GET /exec/{id}/json before 1.16
            try:
                code = yield from self.wait_session(session, timeout=wait_timeout)
            except (ProtocolError, TransportError, APIError, TimeoutError) as exc:
                # The output is complete: the caller keeps it.
                exc.received = collector.result(None)  # type: ignore[union-attr]
                raise
            return collector.result(code)
        finally:
            yield Close(session)

    # -- sessions -------------------------------------------------------------

    def resize(self, session: Any, size: Any = None, *, height: int | None = None,
               width: int | None = None) -> Operation[None]:
        """Resize a session's TTY (``/exec/{id}/resize`` or ``/containers/{id}/resize``)."""
        h, w = terminal_size(size, height, width)
        if session.exec_id is not None:
            yield from self.call("exec.resize", id=session.exec_id, h=h, w=w)
        else:
            yield from self.call("containers.resize", id=session.container, h=h, w=w)

    def wait_session(self, session: Any, poll: float = 0.05, timeout: float | None = None) -> Operation[int | None]:
        """A session's exit code: exec inspect (polled until not Running) or
        container wait.  An exec is polled at most ``timeout`` seconds
        (default: the client's timeout, else :data:`EXEC_WAIT_TIMEOUT`);
        past it :class:`Timeout` says what the daemon last reported."""
        if session.exec_id is None:
            result = yield from self.wait_container(session.container)
            return int(result["StatusCode"])
        if timeout is None:
            timeout = self.timeout if self.timeout is not None else EXEC_WAIT_TIMEOUT
        deadline = (yield Clock()) + timeout
        while True:
            info = yield from self.inspect_exec(session.exec_id)
            # The output can end a moment before the daemon records the exit.
            # And the daemon answers exec start before the process runs: until
            # then moby reports Running=false with a null ExitCode, which is
            # "not started yet", not "ended" (an engine that never sends an
            # ExitCode, or sends 0 before start, cannot be told apart).
            not_started = "ExitCode" in info and info["ExitCode"] is None
            if not info.get("Running") and not not_started:
                code = info.get("ExitCode")
                return None if code is None else int(code)
            if (yield Clock()) > deadline:
                what = "has not started" if not_started and not info.get("Running") else "is still running"
                exc = Timeout(
                    f"exec {session.exec_id[:12]} {what} after {timeout}s of waiting "
                    f"(the daemon reports Running={info.get('Running')!r}, "
                    f"ExitCode={info.get('ExitCode')!r}, Pid={info.get('Pid')!r})",
                    None,
                    timeout,
                )
                exc.received = info
                raise exc
            yield Sleep(poll)

    # -- images and progress ------------------------------------------------

    def images(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> Operation[list[ImageSummary]]:
        return _then(self.call("images.list", all=all, filters=filters), _as_image_list)

    def inspect_image(self, image: str) -> Operation[ImageInspect]:
        return _then(self.call("images.inspect", name=image), _as_image_inspect)

    def progress(self, name: EndpointName, /, **kwargs: Any) -> Operation[Any]:
        """A progress endpoint's answer as the driver's progress stream."""
        result = yield from self.call(name, **kwargs)
        if isinstance(result, list):  # v1.0's plain-text progress, parsed by call()
            return (yield AsProgress(result, None, 200))
        if isinstance(result, str):  # before API 1.8 the build log is plain text
            lines = [{"stream": line} for line in result.splitlines(keepends=True)]
            return (yield AsProgress(lines, None, 200))
        if result is None:  # images.load before API 1.23 answers with no body
            return (yield AsProgress([], None, 200))
        return (yield AsProgress(result, result.request, result.status))

    @staticmethod
    def _auth_for(image: str, auth: Any) -> Any:
        """``auth=True``: the credentials the docker CLI would use for the
        image's registry (``config.json`` with its credential store or helpers)."""
        if auth is True:
            return DockerConfig.load().credentials_for(registry_for_image(image))
        return auth

    def pull(self, image: str, tag: str | None = None, *, auth: Any = None,
             platform: str | None = None) -> Operation[Any]:
        _check_name("pull", image, tag)
        if tag is None and ":" in image.rsplit("/", 1)[-1] and "@" not in image:
            image, tag = image.rsplit(":", 1)
        auth = self._auth_for(image, auth)
        return (yield from self.progress("images.create", from_image=image, tag=tag, platform=platform, auth=auth))

    def push(self, image: str, tag: str | None = None, *, auth: Any = None) -> Operation[Any]:
        _check_name("push", image, tag)
        if tag is None and ":" in image.rsplit("/", 1)[-1]:
            image, tag = image.rsplit(":", 1)
        auth = self._auth_for(image, auth)
        return (yield from self.progress("images.push", name=image, tag=tag, auth=auth))

    def build(self, path: str | None = None, *, fileobj: Any = None, tag: str | list[str] | None = None,
              dockerfile: str | None = None, auth_configs: Mapping[str, Any] | None = None,
              **params: Any) -> Operation[Any]:
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
            version = yield from self.api_version()
            kwargs["registry_config"] = encode_registry_config(auth_configs, api_version=version)
        return (yield from self.progress("images.build", body=body, **kwargs))

    def load(self, data: bytes | Any, *, quiet: bool = False) -> Operation[Any]:
        body = data if isinstance(data, bytes) else tar_from_fileobj(data)
        version = yield from self.api_version()
        return (yield from self.progress("images.load", body=body,
                                         quiet=quiet if version >= APIVersion("1.23") else None))
