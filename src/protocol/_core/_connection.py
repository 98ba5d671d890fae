"""The sans-I/O connection: bytes in, events out.

Theory of operation
-------------------
One :class:`Connection` is one HTTP/1.1 connection to the daemon, used for
one request/response cycle at a time (the daemon never pipelines).  The
caller hands it a :class:`Request` and writes the returned bytes; it feeds
every received byte to :meth:`Connection.receive_data` and gets typed events.

h11 frames the request and parses the response head.  What happens to the
body depends on the response, decided once the head is known:

* error answers, JSON, text and binary bodies stay with h11 and come out
  as :class:`Data` events followed by :class:`EndOfMessage`;
* a successful STREAM or JSON_STREAM response leaves h11: its (usually
  chunked) body goes straight into the stream layer, which decodes chunk
  framing and payload framing in one pass and yields :class:`Frame`,
  :class:`StreamError` or decoded JSON messages.  A Python object per HTTP
  chunk, as h11's body reader makes, would cost more than the frames;
* a HIJACK answer (``101 UPGRADED``, or the pre-1.17 ``200`` with a raw
  stream) turns the connection into a raw duplex byte stream: received
  bytes go through the stream decoder until EOF, and :meth:`send_data`
  passes stdin bytes through untouched.

Bytes that arrived together with the head always belong to the body or the
hijacked stream and are decoded, never dropped (docker-py#3332).

Chunked bodies that are not streams (JSON, text, binary, error answers) are
de-chunked by the stream layer's raw decoder too, so every body follows one
chunk-size rule (at most 16 hex digits; h11 accepts 20).  Bodies that are not
streams are bounded by ``max_body_size`` (checked against Content-Length
when the head arrives, counted while reading otherwise), except successful
BINARY bodies, which callers consume incrementally (the client bounds
:meth:`StreamingResponse.read` instead).

An error raised by :meth:`Connection.receive_data` carries, in ``items``,
every event the failing call had completed before the failure.

The states and the calls allowed in each are the table ``_ALLOWED`` below.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Union

import h11

from ._errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from ._events import ConnectionClosed, Data, EndOfMessage, Response
from ._request import Request, ResponseKind
from . import _items_py, _stream, _stream_py
from ._stream import (
    DEFAULT_MAX_SIZE,
    JSONStreamDecoder,
    MultiplexedStreamDecoder,
    RawStreamDecoder,
)
from ._version import APIVersion

__all__ = ["Connection", "ConnectionState", "ReceivedEvent"]

#: What :meth:`Connection.receive_data` returns: :class:`Response`,
#: :class:`Data`, :class:`EndOfMessage`, :class:`ConnectionClosed`, stream
#: items (:class:`Frame`, :class:`StreamError`) and, for JSON streams, the
#: decoded messages themselves (plain dicts), hence ``Any`` for type checkers.
ReceivedEvent = Any

_MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
_RAW = "application/vnd.docker.raw-stream"
# From API 1.42 the daemon labels non-TTY attach/exec (101 path) and logs
# with the multiplexed Content-Type, so raw-stream there means a TTY.
_CONTENT_TYPE_TRUSTED_FROM = APIVersion("1.42")
#: Default bound of a body that is not a stream (JSON, text, error answers).
DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024

_Decoder = Union[MultiplexedStreamDecoder, RawStreamDecoder, JSONStreamDecoder]

# -- the fast path -------------------------------------------------------------
#
# A small request whose answer head arrives whole in one read (the usual
# case: the daemon writes head and short body at once) does not need h11's
# general machinery, which costs more than the system calls of the exchange.
# The fast path frames the request itself and parses the head with the
# stream twins' ``parse_head``, but only inside a strict subset of HTTP/1.1
# that h11 accepts and handles the same way; anything outside it (a split
# head, an obsolete line fold, a 1xx, HTTP/1.0, an unusual Content-Length or
# Transfer-Encoding, a body read until close, an upgrade, caller headers
# that change framing or keep-alive) is handed to h11 untouched, as if the
# fast path did not exist, so h11 gives the same events and the same errors
# (tests/test_fast_path.py holds the two paths to that at every split).
# Values sent are checked against h11's field-value and request-target rules
# (its _abnf module), so the fast path never sends what h11 would refuse.
_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_FIELD_VCHAR = rb"[^\x00\s]"  # visible characters and obs-text
_FIELD_CONTENT = _FIELD_VCHAR + rb"+(?:[ \t]+" + _FIELD_VCHAR + rb"+)*"
_FIELD_VALUE = re.compile(rb"(?:" + _FIELD_CONTENT + rb")?")
_VCHARS = bytes(range(0x21, 0x7F))  # a request target's bytes
_HEXDIGITS = b"0123456789abcdefABCDEF"  # a chunk size's (int(x, 16) takes more: "0x", "_", signs, spaces)
_LAST_CHUNK = b"\r\n0\r\n\r\n"  # the end of a chunk, then the last chunk without trailers
#: Request headers that change framing, keep-alive or the exchange itself:
#: a request naming one of them (or a default header that does) goes to h11.
_H11_ONLY_HEADERS = frozenset(
    {b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect"}
)


class ConnectionState(enum.Enum):
    IDLE = "idle"  # ready for a request
    SENDING_BODY = "sending-body"  # head sent, streaming request body
    AWAITING_RESPONSE = "awaiting-response"  # request sent, waiting for the head
    RECEIVING_BODY = "receiving-body"  # body handled by h11 (Data events)
    RECEIVING_STREAM = "receiving-stream"  # body handled by the stream layer
    HIJACKED = "hijacked"  # raw duplex stream after 101 / 200 raw-stream
    CLOSED = "closed"  # peer closed, or the response was not keep-alive
    ERROR = "error"  # a protocol error happened: the connection is unusable


S = ConnectionState
# The state machine as data: which public calls are allowed where.  Tuples,
# not sets: membership then compares by identity, while a set would call
# the enum's __hash__, a Python function, on every call.
_ALLOWED: dict[str, tuple[ConnectionState, ...]] = {
    "send_request": (S.IDLE,),
    "send_body": (S.SENDING_BODY,),
    "send_end": (S.SENDING_BODY,),
    "send_data": (S.HIJACKED,),
    "send_eof": (S.HIJACKED,),
    "receive_data": (
        S.SENDING_BODY, S.AWAITING_RESPONSE, S.RECEIVING_BODY, S.RECEIVING_STREAM, S.HIJACKED
    ),
}


class _Members:
    """Enum members as plain class attributes.  On Python 3.11 reading
    ``ConnectionState.IDLE`` goes through the enum's metaclass and costs
    about ten times a plain attribute, and a small request tests states
    and kinds a few dozen times."""

    IDLE = ConnectionState.IDLE
    SENDING_BODY = ConnectionState.SENDING_BODY
    AWAITING_RESPONSE = ConnectionState.AWAITING_RESPONSE
    RECEIVING_BODY = ConnectionState.RECEIVING_BODY
    RECEIVING_STREAM = ConnectionState.RECEIVING_STREAM
    HIJACKED = ConnectionState.HIJACKED
    CLOSED = ConnectionState.CLOSED
    ERROR = ConnectionState.ERROR
    JSON = ResponseKind.JSON
    BINARY = ResponseKind.BINARY
    JSON_STREAM = ResponseKind.JSON_STREAM
    STREAM = ResponseKind.STREAM
    HIJACK = ResponseKind.HIJACK


S = _K = _Members  # type: ignore[assignment]

# The fast path's event objects, made without their checking __init__ (its
# values are already what __init__ would store): slots set by descriptor.
_new = object.__new__
_set_status, _set_headers, _set_reason, _set_http_version, _set_kind = (
    Response.__dict__[name].__set__ for name in ("status_code", "headers", "reason", "http_version", "kind"))
_set_data = Data.__dict__["data"].__set__

# Events are immutable and compare by value: one of each end is enough.
_END_KEEP = EndOfMessage(keep_alive=True)
_END_CLOSE = EndOfMessage(keep_alive=False)


class Connection:
    """A client-side connection to the Docker daemon, without any I/O.

    ``default_headers`` are sent with every request whose own headers do not
    name them.  ``host`` is the Host header value (the daemon ignores it; docker clients
    send ``docker`` or ``api.moby.localhost``).  ``max_frame_size`` and
    ``max_message_size`` bound stream items, ``max_head_size`` the response
    head, and ``max_body_size`` every body that is not a stream (JSON, text,
    empty and error answers; successful BINARY bodies are read incrementally
    and left to the caller): :class:`MessageTooLarge` before the memory is
    spent.
    """

    def __init__(
        self,
        *,
        host: bytes = b"docker",
        max_frame_size: int = DEFAULT_MAX_SIZE,
        max_message_size: int = DEFAULT_MAX_SIZE,
        max_head_size: int = 64 * 1024,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        stream_impl: Any = None,
        default_headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        # Headers for every request (User-Agent, config.json's HttpHeaders),
        # each sent only when the request has no header of that name.
        self._default_headers = tuple(default_headers)
        # ``stream_impl`` picks a twin of the stream layer (a module with the
        # three decoder classes); tests use it to run both.  Default: the
        # one protocol._stream selected.
        self._impl = stream_impl if stream_impl is not None else _stream
        # The fast path's head parser, from the same twin (a stream_impl
        # without one gets the Python twin's).
        self._parse_head = getattr(self._impl, "parse_head", _stream_py.parse_head)
        # The asyncio driver's per-item iterator over this connection's
        # batches, from the same twin (likewise).
        self._async_items: Callable[..., AsyncIterator[Any]] = getattr(
            self._impl, "AsyncItems", _items_py.AsyncItems)
        self._host = host
        self._max_frame_size = max_frame_size
        self._max_message_size = max_message_size
        self._max_head_size = max_head_size
        self._max_body_size = max_body_size
        self._body_limit: int | None = None  # bound of the current h11 body
        self._body_seen = 0  # its bytes so far
        self._as_data = False  # a de-chunked body handed out as Data events
        self._state = S.IDLE
        self._h11: h11.Connection | None = None
        self._request: Request | None = None
        self._response: Response | None = None
        self._decoder: _Decoder | None = None
        self._remaining: int | None = None  # Content-Length budget of a stream body
        self._keep_alive = True
        self._leftover = b""
        self._stdin_closed = False
        # The fast path (see the grammar above): used for this cycle's
        # answer when the request was framed without h11; ``_body_left`` is
        # the Content-Length budget of a body it reads.
        self._fast = False
        self._body_left = 0
        self._fast_for: Request | None = None
        self._fast_bytes: bytes | None = None
        # The last head the fast path parsed (its bytes up to and including
        # the blank line) and parse_head's result for it.
        self._last_head = b""
        self._last_parsed: Any = None
        self._last_response: Response | None = None  # the event made for it
        # What the fast path decided after that head for one request:
        # (request, max_body_size, body length or -1 for a chunked body,
        # body limit); a Content-Length plan only when the body came whole
        # with the head.  The same request answered by the same head gets
        # the same decisions (see _fast_head and receive_whole).
        self._last_plan: tuple[Request, int, int, int | None] | None = None
        # Default headers the fast path may send: valid, and none that
        # changes framing (else every request of this connection uses h11).
        try:
            self._fast_defaults: bytes | None = _fast_header_bytes(self._default_headers)
        except TypeError:  # unhashable pairs: h11 takes them (and judges them)
            self._fast_defaults = None
        if not isinstance(host, bytes) or not _FIELD_VALUE.fullmatch(host):
            self._fast_defaults = None  # a Host value h11 would refuse: its call
        self._host_line = b"Host: %s\r\n" % host if self._fast_defaults is not None else b""

    # -- introspection -------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def worth_keeping(self) -> bool:
        """Whether a pool may keep this connection with its transport for
        the next exchange: its cycle ended cleanly and its last request
        holds no body (kept, a large upload would stay in memory while the
        connection waits)."""
        request = self._request
        return self._state is S.IDLE and not self._leftover and (request is None or request.body is None or (
            isinstance(request.body, bytes) and len(request.body) <= _KEEP_BODY))

    @property
    def default_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The headers sent with every request that lacks them."""
        return self._default_headers

    @property
    def max_body_size(self) -> int:
        """The bound of non-stream bodies; a change applies from the next answer."""
        return self._max_body_size

    @max_body_size.setter
    def max_body_size(self, value: int) -> None:
        self._max_body_size = value

    @property
    def request(self) -> Request | None:
        """The request of the current cycle."""
        return self._request

    @property
    def response(self) -> Response | None:
        """The response head of the current cycle, once received."""
        return self._response

    @property
    def decoder(self) -> _Decoder | None:
        """The stream decoder in use (STREAM, JSON_STREAM and HIJACK bodies)."""
        return self._decoder

    def _check(self, call: str) -> None:
        if self._state not in _ALLOWED[call]:
            raise LocalProtocolError(
                f"{call}() is not allowed while the connection is {self._state.value}"
            )

    # -- sending ---------------------------------------------------------

    def _headers_for(self, request: Request) -> list[tuple[bytes, bytes]]:
        headers = request.header_list(self._host)
        if self._default_headers:
            present = {name.lower() for name, _ in headers}
            headers += [(k, v) for k, v in self._default_headers if k.lower() not in present]
        return headers

    def send_request(self, request: Request) -> bytes:
        """Bytes for the request head, plus the whole body when it is bytes.

        For an iterable body, feed the chunks to :meth:`send_body` and finish
        with :meth:`send_end` (the Client does this for you).
        """
        if request is not self._fast_for or self._state is not S.IDLE or request is None:
            # A request this connection has not framed before (the one it
            # framed last, a pooled connection's ping or repeated inspect,
            # passed these checks then).
            if self._state is not S.IDLE:
                self._check("send_request")
            if not isinstance(request, Request):
                raise LocalProtocolError(f"send_request() takes a Request, not {type(request).__name__}")
            if (
                request.kind in (_K.STREAM, _K.HIJACK)
                and request.tty is None
                and request.version is not None
                and request.version < _CONTENT_TYPE_TRUSTED_FROM
            ):
                raise LocalProtocolError(
                    f"{request.method} {request.path}: below API 1.42 the daemon does not say "
                    "whether container output is multiplexed or raw; pass tty=True/False "
                    "(the container's or exec's Tty setting)"
                )
        self._request = request
        self._response = None
        self._decoder = None
        self._remaining = None
        self._keep_alive = True
        self._body_limit = None
        self._body_seen = 0
        self._as_data = False
        # The bytes of the last request framed by the fast path, kept: a
        # connection that carries the same (immutable) request again, as a
        # pooled one does for every ping, sends them as they are.
        if request is self._fast_for:
            fast: bytes | None = self._fast_bytes
        else:
            fast = self._fast_request(request)
            if request.body is None:  # a body is not kept alive by a cache
                self._fast_for, self._fast_bytes = request, fast
        if fast is not None:
            self._h11 = None
            self._fast = True
            self._state = S.AWAITING_RESPONSE
            return fast
        self._fast = False
        try:
            self._h11, out = self._h11_request(request)
        except h11.LocalProtocolError as exc:
            self._state = S.ERROR
            raise LocalProtocolError(f"cannot send {request!r}: {exc}") from None
        self._state = S.AWAITING_RESPONSE if request.body is None or isinstance(
            request.body, bytes) else S.SENDING_BODY
        return out

    def _h11_request(self, request: Request) -> tuple[h11.Connection, bytes]:
        """A new h11 connection that has sent ``request`` (its whole body when
        that is bytes), and the bytes it produced."""
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=self._max_head_size)
        out = [conn.send(h11.Request(
            method=request.method,
            target=request.target,
            headers=self._headers_for(request),
        ))]
        if isinstance(request.body, bytes) or request.body is None:
            if request.body:
                out.append(conn.send(h11.Data(data=request.body)))
            out.append(conn.send(h11.EndOfMessage()))
        return conn, b"".join(b for b in out if b)

    def _fast_request(self, request: Request) -> bytes | None:
        """The request's bytes as h11 would frame them, or None when the
        request is not one the fast path takes (h11 frames it, and refuses
        what it refuses).  Every value is checked against h11's grammar."""
        body = request.body
        defaults = self._fast_defaults
        if (
            defaults is None
            or not (body is None or isinstance(body, bytes))
            or request.kind is _K.HIJACK
            or request.method == "CONNECT"
        ):
            return None
        try:
            target = request.target.encode("ascii")
        except UnicodeEncodeError:
            return None
        # h11's request-target: visible ASCII only, at least one byte.
        if not target or target.translate(None, _VCHARS):
            return None
        # Request() checked the method (a token) and the names of its own
        # headers; the values still need h11's field-value rule.
        out = [request.method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n", self._host_line]
        present = set()
        for name, value in request.headers:
            lower = name.lower()
            if lower in _H11_ONLY_HEADERS or not _FIELD_VALUE.fullmatch(value):
                return None
            present.add(lower)
            out += (name, b": ", value, b"\r\n")
        if body is not None:
            out.append(b"Content-Length: %d\r\n" % len(body))
        elif request.method in ("POST", "PUT"):
            out.append(b"Content-Length: 0\r\n")  # as header_list() says
        if present:
            out += (b"%s: %s\r\n" % (k, v) for k, v in self._default_headers
                    if k.lower() not in present)
        else:
            out.append(defaults)
        out.append(b"\r\n")
        if body:
            out.append(body)
        return b"".join(out)

    def send_body(self, data: bytes) -> bytes:
        """Bytes for one chunk of a streamed request body."""
        self._check("send_body")
        assert self._h11 is not None
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # The head is out and the body half-sent: nothing can follow on
            # this connection.
            self._state = S.ERROR
            raise LocalProtocolError(
                f"a body chunk must be bytes, not {type(data).__name__} (the request is "
                "half-sent; the connection cannot be reused)"
            )
        if not data:
            return b""  # an empty chunk would end a chunked body
        return self._h11.send(h11.Data(data=bytes(data))) or b""

    def send_end(self) -> bytes:
        """Bytes that end a streamed request body."""
        self._check("send_end")
        assert self._h11 is not None
        out = self._h11.send(h11.EndOfMessage()) or b""
        if self._state is S.SENDING_BODY:
            self._state = S.AWAITING_RESPONSE
        return out

    def send_data(self, data: bytes) -> bytes:
        """Bytes to write for stdin on a hijacked connection (passed through)."""
        self._check("send_data")
        if self._stdin_closed:
            raise LocalProtocolError("stdin was closed (send_eof); nothing more can be sent")
        return bytes(data)

    def send_eof(self) -> None:
        """Declare the end of stdin on a hijacked connection.

        The transport then half-closes its write side (``shutdown(SHUT_WR)``):
        the process sees EOF on stdin while its output keeps flowing until
        the daemon closes.
        """
        self._check("send_eof")
        self._stdin_closed = True

    @property
    def stdin_closed(self) -> bool:
        return self._stdin_closed

    # -- receiving -------------------------------------------------------

    @property
    def reusable(self) -> bool:
        """True when the cycle ended cleanly on a keep-alive connection: the
        only case in which the connection may carry another request."""
        return self._state is S.IDLE and not self._leftover

    def receive_whole(
        self, data: bytes | bytearray | memoryview, limit: int | None = None
    ) -> tuple[Response, bytes] | None:
        """The head and the whole body of this cycle's answer when ``data``
        (the first bytes received for it) is exactly a repeat of what this
        connection's last answer to the same request began with: the same
        head, byte for byte, then a body of the same framing (the same
        Content-Length, or one chunk then the last chunk).  The cycle then
        ends as :meth:`receive_data` would end it (the connection is IDLE).

        Otherwise None, and nothing is consumed: give the same ``data`` to
        :meth:`receive_data`, which takes every answer (and raises what is
        wrong with it).  Also None for a body over ``limit`` bytes or over
        the connection's own bound, so that :meth:`receive_data` raises
        :class:`MessageTooLarge`.

        This is the shape of a kept-alive connection's small answers (a
        ping, a repeated inspect): a daemon's heads change only with the
        Date header, once a second.  Without events, without a de-chunking
        decoder, it takes a few dozen bytecodes where the general path
        takes a few hundred.
        """
        plan = self._last_plan
        if (
            plan is None
            or plan[0] is not self._request
            or self._state is not S.AWAITING_RESPONSE
            or self._h11 is not None  # h11 took this answer (or its first bytes)
            or not self._fast
            or plan[1] != self._max_body_size
        ):
            return None
        buf = bytes(data)
        last = self._last_head
        if not buf.startswith(last):
            return None
        start = len(last)
        size = plan[2]
        if size >= 0:  # Content-Length: exactly the body, nothing after it
            if len(buf) - start != size:
                return None
            body = buf[start:]
        else:  # chunked: one chunk of at least one byte, then the last chunk
            nl = buf.find(b"\r\n", start, start + 17)
            if nl <= start:
                return None
            digits = buf[start:nl]
            if digits.translate(None, _HEXDIGITS):
                return None  # an extension, white space, a sign...: the general path's
            size = int(digits, 16)
            end = nl + 2 + size
            # size 0 is the last chunk itself: what follows it would be
            # trailers or bytes after the answer, not a body.
            if not size or buf[end:] != _LAST_CHUNK:
                return None
            body = buf[nl + 2:end]
        body_limit = plan[3]
        if (body_limit is not None and len(body) > body_limit) or (limit is not None and len(body) > limit):
            return None
        head = self._last_response
        assert head is not None
        # The end of the cycle, as _finish makes it on a keep-alive
        # connection (a plan is only made for answers that keep it).
        self._response = head
        self._body_limit = body_limit
        self._body_seen = len(body)
        self._leftover = b""
        self._state = S.IDLE
        return head, body

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[ReceivedEvent]:
        """Feed received bytes (``b""`` for EOF); return every event they complete.

        A :class:`RemoteProtocolError` raised here carries in ``items`` the
        events this call completed before the failure.
        """
        state = self._state
        if state is not S.AWAITING_RESPONSE and state is not S.RECEIVING_STREAM:
            self._check("receive_data")
        events: list[ReceivedEvent] = []
        try:
            if self._state is S.RECEIVING_STREAM or self._state is S.HIJACKED:
                return self._receive_stream(data, None, events)
            if self._h11 is None:
                if self._state is S.RECEIVING_BODY:
                    return self._receive_fast_body(data, events)
                if self._fast_head(data, events):
                    return events
                # Not for the fast path: h11 takes this answer from its
                # first byte, as if it had framed the request.
                self._h11 = self._h11_request(self._request)[0]  # type: ignore[arg-type]
            return self._receive_h11(data, events)
        except RemoteProtocolError as exc:
            self._state = S.ERROR
            raise _with_items(exc, events) from None
        except h11.RemoteProtocolError as exc:
            self._state = S.ERROR
            raise _with_items(
                RemoteProtocolError(f"malformed HTTP from the daemon: {exc}"), events
            ) from None

    def _receive_h11(
        self, data: bytes | bytearray | memoryview, events: list[ReceivedEvent]
    ) -> list[ReceivedEvent]:
        conn = self._h11
        assert conn is not None
        conn.receive_data(bytes(data))
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA or ev is h11.PAUSED:
                if ev is h11.PAUSED:
                    # h11 pauses after a 101 we did not ask for; only HIJACK asks.
                    raise RemoteProtocolError("the daemon switched protocols unexpectedly")
                return events
            if isinstance(ev, h11.InformationalResponse):
                if ev.status_code == 101 and self._is_hijack():
                    events.append(self._on_head(ev, hijack=True))
                    self._to_stream_mode(conn.trailing_data[0], events)
                    return events
                continue  # 100 Continue and friends carry nothing for us
            if isinstance(ev, h11.Response):
                head = self._on_head(ev, hijack=False)
                events.append(head)
                if self._stream_body(head):
                    self._to_stream_mode(conn.trailing_data[0], events)
                    return events
                self._body_limit = self._limit_for(head)
                if self._body_limit is not None:
                    self._check_length(head, self._body_limit)
                if self._chunked_body(head):
                    # De-chunked by the stream layer: one chunk-size rule.
                    self._as_data = True
                    self._to_stream_mode(conn.trailing_data[0], events)
                    return events
                self._state = S.RECEIVING_BODY
                continue
            if isinstance(ev, h11.Data):
                self._count_body(len(ev.data))
                events.append(Data(ev.data))
                continue
            if isinstance(ev, h11.EndOfMessage):
                if conn.their_state is h11.MUST_CLOSE or conn.our_state is h11.MUST_CLOSE:
                    self._keep_alive = False  # e.g. a body read until close
                self._finish(conn.trailing_data[0], events)
                return events
            if isinstance(ev, h11.ConnectionClosed):
                if self._response is None:
                    self._state = S.ERROR
                    raise RemoteProtocolError("the daemon closed the connection before answering")
                self._state = S.CLOSED
                events.append(ConnectionClosed())
                return events
            raise RemoteProtocolError(f"unexpected HTTP event {type(ev).__name__}")  # pragma: no cover

    def _fast_head(self, data: bytes | bytearray | memoryview, events: list[ReceivedEvent]) -> bool:
        """Parse a head that arrived whole in ``data`` and handle what
        follows it, as :meth:`_receive_h11` would; False (nothing done) when
        the answer is not one the fast path takes."""
        if not self._fast:
            return False
        buf = bytes(data)
        last = self._last_head
        if last and buf.startswith(last):
            plan = self._last_plan
            if plan is not None and plan[0] is self._request and plan[1] == self._max_body_size and plan[2] >= 0:
                # The same request answered by the same head (a ping, a
                # repeated inspect on a kept connection): what follows the
                # head was decided for these very inputs; only the body's
                # bytes are new.
                left = plan[2]
                rest = buf[len(last):]
                if len(rest) >= left:
                    head = self._last_response
                    assert head is not None
                    self._response = head
                    self._body_limit = plan[3]
                    events.append(head)
                    self._whole_body(rest, left, events)
                    return True
            # The same head as this connection's last answer, byte for byte:
            # a daemon's heads differ only in Date, which changes once a
            # second, so a kept connection mostly sees repeats.  parse_head
            # reads nothing past the blank line, hence the same result (its
            # tuples are immutable and shared by the two Response events).
            parsed = self._last_parsed
            head = self._last_response
        else:
            parsed = self._parse_head(buf)
            if parsed is None:
                return False  # a split head, or one outside the subset: h11's
            if parsed[0] <= _KEEP_HEAD:
                self._last_head, self._last_parsed = buf[:parsed[0]], parsed
            head = self._last_response = None
            self._last_plan = None
        end, status, reason, headers, length, chunked, close = parsed
        req = self._request
        assert req is not None
        no_body = status == 204 or status == 304 or req.method == "HEAD"
        kind = req.kind
        stream = 200 <= status < 300 and not no_body and (kind is _K.STREAM or kind is _K.JSON_STREAM)
        if length < 0 and not chunked and not no_body and not stream:
            return False  # a body read until close: h11's
        if end * 2 < self._max_head_size:
            # _head, inline (the fast path's heads are small; see there),
            # its slots set through their descriptors (Response is frozen).
            # A repeated head for a request of the same kind is the same
            # (immutable) event: the last one is handed out again.
            head_kind = kind if 200 <= status < 300 else _K.JSON
            if head is None or head.kind is not head_kind:
                head = _new(Response)
                _set_status(head, status)
                _set_headers(head, headers)
                _set_reason(head, reason)
                _set_http_version(head, b"1.1")
                _set_kind(head, head_kind)
                if self._last_parsed is parsed:
                    self._last_response = head
            self._response = head
            if close:
                self._keep_alive = False
        else:
            head = self._head(status, headers, reason, b"1.1", hijack=False, raw_size=end)
        events.append(head)
        rest = buf[end:]
        if stream:
            self._to_stream_mode(rest, events)
            return True
        # _limit_for and _check_length, inline: the length is known here.
        limit = None if 200 <= status < 300 and kind is _K.BINARY else self._max_body_size
        self._body_limit = limit
        if limit is not None and length > limit and not no_body:
            raise MessageTooLarge(
                f"the daemon announced a {length}-byte body for {self._what()}; the limit "
                f"is {limit} (max_body_size)"
            )
        if chunked and not no_body:
            if not close and head is self._last_response and head is not None:
                # For receive_whole: the same request answered by this
                # head again is read as one chunk when it is one (-1).
                self._last_plan = (req, self._max_body_size, -1, limit)
            self._as_data = True  # de-chunked by the stream layer
            self._to_stream_mode(rest, events)
            return True
        left = 0 if no_body or length < 0 else length
        if len(rest) >= left:
            # The whole body came with the head (a small answer's usual
            # shape): within the announced length, so within the limit.
            if not close and head is self._last_response and head is not None:
                self._last_plan = (req, self._max_body_size, left, limit)
            self._whole_body(rest, left, events)
            return True
        self._body_left = left
        self._state = S.RECEIVING_BODY
        if rest:
            self._receive_fast_body(rest, events)
        return True

    def _whole_body(self, rest: bytes, left: int, events: list[ReceivedEvent]) -> None:
        """The body of ``left`` bytes at the start of ``rest`` as one Data
        event (none when empty), then the end of the cycle."""
        if left:
            self._body_seen = left
            data_ev = _new(Data)
            _set_data(data_ev, rest[:left])
            events.append(data_ev)
            rest = rest[left:]
        self._finish(rest, events)

    def _receive_fast_body(
        self, data: bytes | bytearray | memoryview, events: list[ReceivedEvent]
    ) -> list[ReceivedEvent]:
        """A Content-Length body after a head the fast path parsed."""
        left = self._body_left
        if left:
            if not data:
                expected = int(self._response.header(b"content-length"))  # type: ignore[arg-type, union-attr]
                raise RemoteProtocolError(
                    "malformed HTTP from the daemon: peer closed connection without sending "
                    f"complete message body (received {expected - left} bytes, expected {expected})"
                )
            piece = bytes(data[:left]) if len(data) > left else bytes(data)
            left -= len(piece)
            self._body_left = left
            self._count_body(len(piece))
            events.append(Data(piece))
            if left:
                return events
            data = data[len(piece):]
        self._finish(bytes(data), events)
        return events

    def _is_hijack(self) -> bool:
        return self._request is not None and self._request.kind is _K.HIJACK

    def _limit_for(self, head: Response) -> int | None:
        """The bound of a body h11 delivers: successful BINARY bodies are
        consumed incrementally by the caller, everything else is held whole."""
        req = self._request
        assert req is not None
        if 200 <= head.status_code < 300 and req.kind is _K.BINARY:
            return None
        return self._max_body_size

    def _check_length(self, head: Response, limit: int) -> None:
        length = head.header(b"content-length")
        if length is None or head.status_code in (204, 304) or (
            self._request is not None and self._request.method == "HEAD"
        ):
            return  # no body follows, whatever the length says
        try:
            size = int(length)
        except ValueError:
            return  # h11 refuses it with a clear message
        if size > limit:
            raise MessageTooLarge(
                f"the daemon announced a {size}-byte body for {self._what()}; the limit "
                f"is {limit} (max_body_size)"
            )

    def _count_body(self, n: int) -> None:
        self._body_seen += n
        if self._body_limit is not None and self._body_seen > self._body_limit:
            raise MessageTooLarge(
                f"the body of the answer to {self._what()} passed the limit of "
                f"{self._body_limit} bytes (max_body_size)"
            )

    def _what(self) -> str:
        req = self._request
        return "the request" if req is None else f"{req.method} {req.path}"

    def _chunked_body(self, head: Response) -> bool:
        req = self._request
        assert req is not None
        if req.method == "HEAD" or head.status_code in (204, 304) or head.status_code < 200:
            return False
        return b"chunked" in (head.header(b"transfer-encoding") or b"").lower()

    def _on_head(self, ev: h11.Response | h11.InformationalResponse, hijack: bool) -> Response:
        return self._head(
            ev.status_code,
            tuple((bytes(k), bytes(v)) for k, v in ev.headers),
            bytes(ev.reason),
            bytes(ev.http_version),
            hijack,
        )

    def _head(
        self,
        status: int,
        headers: tuple[tuple[bytes, bytes], ...],
        reason: bytes,
        http_version: bytes,
        hijack: bool,
        raw_size: int | None = None,
    ) -> Response:
        """The Response event of a parsed head (header names lower-cased).

        ``raw_size`` is the head's length on the wire when known: the
        measure below is at most 4/3 of it plus 2 (a header line is at
        least 3 bytes longer than its name and value), so a head well
        below the bound needs no count.
        """
        assert self._request is not None
        # h11 bounds a head that arrives over several reads; one that
        # arrives whole in one read is measured here, so the bound holds
        # whatever the read sizes.
        if raw_size is not None and raw_size * 2 < self._max_head_size:
            size = 0
        else:
            size = sum(len(k) + len(v) + 4 for k, v in headers) + len(reason) + 15
        if size > self._max_head_size:
            raise MessageTooLarge(
                f"the response head is {size} bytes; the limit is {self._max_head_size}"
            )
        kind = self._request.kind if (hijack or 200 <= status < 300) else _K.JSON
        # Built without Response.__init__'s per-header copies: the names are
        # lower-cased bytes already.
        head = Response.__new__(Response)
        set_ = object.__setattr__
        set_(head, "status_code", status)
        set_(head, "headers", headers)
        set_(head, "reason", reason)
        set_(head, "http_version", http_version)
        set_(head, "kind", kind)
        self._response = head
        connection = (head.header(b"connection") or b"").lower()
        if b"close" in connection or head.http_version == b"1.0":
            self._keep_alive = False
        return head

    def _stream_body(self, head: Response) -> bool:
        """Whether this response's body goes to the stream layer."""
        req = self._request
        assert req is not None
        if not 200 <= head.status_code < 300 or req.method == "HEAD" or head.status_code in (204, 304):
            return False
        if req.kind is _K.HIJACK:
            # The pre-1.17 hijack answers 200 with a raw-stream Content-Type
            # and no framing, then streams until close.  A 200 with a length
            # or chunking (exec start with Detach: true, an empty 200 on a
            # kept-alive connection) is an ordinary answer: read it as one.
            framed = head.header(b"content-length") is not None or head.header(
                b"transfer-encoding"
            ) is not None
            return not framed and head.content_type in (_RAW, _MULTIPLEXED)
        return req.kind in (_K.STREAM, _K.JSON_STREAM)

    def _daemon_version(self) -> APIVersion | None:
        """The version the answer follows: the lower of the request's and the
        server's ``Api-Version``.  Podman accepts any ``/vX.Y/`` and answers
        as 1.41, labelling its output the 1.41 way."""
        req, head = self._request, self._response
        assert req is not None and head is not None
        answered: APIVersion | None = None
        api = head.header(b"api-version")
        if api:
            try:
                answered = APIVersion(api.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                answered = None
        if req.version is None:
            return answered
        if answered is None:
            return req.version
        return min(req.version, answered)

    def _choose_output_decoder(self, chunked: bool, upgraded: bool) -> _Decoder:
        req, head = self._request, self._response
        assert req is not None and head is not None
        ctype = head.content_type
        version = self._daemon_version()
        if ctype == _MULTIPLEXED:
            return self._impl.MultiplexedStreamDecoder(  # type: ignore[no-any-return]
                chunked=chunked, max_frame_size=self._max_frame_size
            )
        # The multiplexed label is definite (never sent for a TTY).  A
        # raw-stream label means a TTY only in an answer at >= 1.42: the 200
        # (non-upgraded) hijack path always says raw-stream, and Podman says
        # raw-stream for non-TTY attach/exec and octet-stream for logs while
        # answering as 1.41.  Otherwise the TTY setting the caller knows
        # decides: trusting a wrong label puts frame headers into the payload.
        labelled_raw = (
            ctype == _RAW
            and (upgraded or req.kind is _K.STREAM)
            and version is not None
            and version >= _CONTENT_TYPE_TRUSTED_FROM
        )
        if req.tty is not None:
            tty = req.tty
        elif labelled_raw:
            tty = True
        else:
            raise LocalProtocolError(
                f"{req.method} {req.path}: the daemon did not say whether the output is "
                f"multiplexed or raw (labelled {ctype or 'nothing'!r}, answered at API "
                f"{version or 'unknown'}); pass tty=True/False"
            )
        if tty:
            return self._impl.RawStreamDecoder(chunked=chunked)  # type: ignore[no-any-return]
        return self._impl.MultiplexedStreamDecoder(  # type: ignore[no-any-return]
                chunked=chunked, max_frame_size=self._max_frame_size
            )

    def _to_stream_mode(self, pending: bytes, events: list[ReceivedEvent]) -> None:
        req, head = self._request, self._response
        assert req is not None and head is not None
        self._h11 = None  # h11 is done with this cycle: the body is ours now
        if self._as_data:
            # Only chunked bodies come here (others stay with h11).
            self._decoder = self._impl.RawStreamDecoder(chunked=True)
            self._state = S.RECEIVING_STREAM
        elif req.kind is _K.HIJACK:
            self._state = S.HIJACKED
            self._keep_alive = False
            self._decoder = self._choose_output_decoder(
                chunked=False, upgraded=head.status_code == 101
            )
        else:
            te = (head.header(b"transfer-encoding") or b"").lower()
            chunked = b"chunked" in te
            length = head.header(b"content-length")
            if not chunked and length is not None:
                try:
                    self._remaining = int(length)
                except ValueError:
                    raise RemoteProtocolError(f"bad Content-Length {length!r}") from None
            elif not chunked:
                self._keep_alive = False  # read until the daemon closes
            if req.kind is _K.JSON_STREAM:
                self._decoder = self._impl.JSONStreamDecoder(
                    chunked=chunked, max_message_size=self._max_message_size
                )
            else:
                self._decoder = self._choose_output_decoder(chunked=chunked, upgraded=False)
            self._state = S.RECEIVING_STREAM
        if pending:
            self._receive_stream(pending, None, events)
        elif self._remaining == 0:
            self._receive_stream(b"", None, events)

    def receive_data_into(
        self, data: bytes | bytearray | memoryview, stdout: Any, stderr: Any
    ) -> list[ReceivedEvent]:
        """The sink form of :meth:`receive_data` for container output.

        Once the head has been received (state RECEIVING_STREAM or HIJACKED
        with a multiplexed or raw decoder), payload bytes are written straight
        to ``stdout`` / ``stderr`` (file descriptors, or objects with
        ``write()`` or ``sendall()``) without a Python object per frame; the
        returned list holds only the other events (:class:`StreamError`,
        :class:`EndOfMessage`, :class:`ConnectionClosed`).  Before that it
        behaves like :meth:`receive_data`.
        """
        self._check("receive_data")
        if self._state is not S.RECEIVING_STREAM and self._state is not S.HIJACKED:
            return self.receive_data(data)
        if not hasattr(self._decoder, "feed_into") or self._as_data:
            raise LocalProtocolError("the sink form is for container output, not JSON streams")
        events: list[ReceivedEvent] = []
        try:
            return self._receive_stream(data, (stdout, stderr), events)
        except RemoteProtocolError as exc:
            self._state = S.ERROR
            raise _with_items(exc, events) from None

    def _receive_stream(
        self,
        data: bytes | bytearray | memoryview,
        sinks: tuple[Any, Any] | None,
        events: list[ReceivedEvent],
    ) -> list[ReceivedEvent]:
        """Decode stream bytes, appending to ``events`` (which an error's
        ``items`` then carries)."""
        dec: Any = self._decoder
        assert dec is not None
        if not data:
            if self._remaining == 0:
                self._decoded(dec.end(), events)
                self._finish(b"", events)
                return events
            # EOF: fine for read-to-close bodies and hijacked streams, a
            # truncation (raised by end()) for chunked or sized bodies.
            if self._remaining is not None:
                raise RemoteProtocolError(
                    f"the daemon closed the connection {self._remaining} bytes before the "
                    "end of the body",
                    offset=dec.offset,
                )
            self._decoded(dec.end(), events)
            self._state = S.CLOSED
            events.append(EndOfMessage(keep_alive=False))
            events.append(ConnectionClosed())
            return events
        rest = None
        if self._remaining is not None:
            take = data[: self._remaining]
            rest = bytes(data[len(take):])
            self._remaining -= len(take)
            data = take
        try:
            if sinks is None:
                self._decoded(dec.feed(data), events)
            else:
                events.extend(dec.feed_into(data, sinks[0], sinks[1]))
        except RemoteProtocolError as exc:
            # What this feed completed before the fault: kept in order.
            self._decoded(list(getattr(exc, "items", None) or []), events)
            raise
        if self._remaining == 0:
            self._decoded(dec.end(), events)
            self._finish(rest or b"", events)
        elif dec.finished:  # chunked body complete
            self._finish(dec.unused_data, events)
        return events

    def _decoded(self, items: list[ReceivedEvent], events: list[ReceivedEvent]) -> None:
        if not self._as_data:
            events.extend(items)
            return
        for frame in items:  # a de-chunked plain body: Data, as h11 gives it
            data = frame.data
            self._count_body(len(data))
            ev = _new(Data)
            _set_data(ev, data)  # bytes already: what Data() would store
            events.append(ev)

    def _finish(self, leftover: bytes, events: list[ReceivedEvent]) -> None:
        """End the cycle: back to IDLE for keep-alive, else CLOSED."""
        keep = self._keep_alive
        self._leftover = leftover
        if leftover:
            # The daemon never sends unsolicited bytes between responses;
            # the answer itself is complete and stays in the error's items.
            self._state = S.ERROR
            raise RemoteProtocolError(
                f"{len(leftover)} unexpected bytes after the end of the response"
            )
        self._state = S.IDLE if keep else S.CLOSED
        self._h11 = None
        events.append(_END_KEEP if keep else _END_CLOSE)


#: The largest head the fast path remembers for the next answer (a daemon's
#: are a few hundred bytes; a peer's larger ones are not held).
_KEEP_HEAD = 1024

#: The largest request body a kept connection may go on holding (small
#: JSON bodies: container create, exec create).
_KEEP_BODY = 64 * 1024


@functools.lru_cache(maxsize=64)
def _fast_header_bytes(headers: tuple[tuple[bytes, bytes], ...]) -> bytes | None:
    """Default headers as the fast path sends them, or None when one of
    them is not for it (h11 then frames every request, and refuses what it
    refuses)."""
    out = []
    for name, value in headers:
        if (
            not isinstance(name, bytes)
            or not isinstance(value, bytes)
            or name.lower() in _H11_ONLY_HEADERS
            or not re.fullmatch(_TOKEN, name)
            or not _FIELD_VALUE.fullmatch(value)
        ):
            return None
        out.append(b"%s: %s\r\n" % (name, value))
    return b"".join(out)


def _with_items(exc: RemoteProtocolError, events: list[ReceivedEvent]) -> RemoteProtocolError:
    """``exc`` carrying ``events``: what the call completed before the fault
    (the stream decoder's own ``items`` were already moved into it)."""
    exc.items = events  # type: ignore[attr-defined]
    return exc
