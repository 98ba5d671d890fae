"""Fuzz targets: the stream decoders and Connection.receive_data, both twins compared.

``check(data)`` runs one input and raises on a finding; it needs no fuzzer,
so the unit tests replay the checked-in corpus through it
(tests/test_fuzz_corpus.py) and ``fuzz/fuzz.py`` drives it with atheris.

What counts as a finding:

* any exception other than the project's ``ProtocolError`` family (a crash:
  IndexError, TypeError, RecursionError, UnicodeError, AssertionError ...);
* the two twins disagreeing on anything observable: items, sink output,
  error type, message, offset, the items an error carries, final state;
* a twin giving a different answer when the same bytes arrive in other
  pieces (every split gives the same items: the decoders' core promise);
* for valid outcomes, the payload or lines not adding up (feed_into() must
  deliver what feed() does; LineAssembler loses and invents nothing).

Input layout (stable: corpus files keep their meaning):

* byte 0: the target, an index into ``TARGETS`` (modulo its length);
* byte 1: flags (``F_*`` below);
* byte 2: ``n`` = how many piece lengths follow (modulo 8);
* the next ``n`` bytes: piece lengths, used to cut the input into the pieces
  fed one by one (the rest is the last piece) and, with ``F_WRAP``, as the
  chunk sizes the harness encodes the payload with;
* the rest: the bytes the peer sent.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import protocol._core._stream_py as python_twin
from protocol import Connection, ConnectionState, Request, ResponseKind
from protocol._core._errors import ProtocolError
from protocol._core._events import ConnectionClosed, Data, EndOfMessage, Response, StreamError
from protocol._core._lines import LineAssembler, LogLine

try:
    import protocol._core._speedups as cython_twin
except ImportError:  # pragma: no cover - checked below
    cython_twin = None  # type: ignore[assignment]
    if os.environ.get("PROTOCOL_REQUIRE_EXTENSIONS") == "1":
        raise

TWINS = [t for t in (python_twin, cython_twin) if t is not None]

# PROTOCOL_FUZZ_TARGETS=decoders|connection|all narrows a long run to one
# family (inputs for the other family are skipped, so that a saved input
# means the same target in every run).
_FAMILY = os.environ.get("PROTOCOL_FUZZ_TARGETS", "all")

F_CHUNKED = 0x01  # decoders: chunked=True
F_WRAP = 0x02  # with F_CHUNKED: the harness chunk-encodes the payload itself
F_LIMIT = 0x0C  # two bits: the size limit, an index into LIMITS
F_SINK = 0x10  # feed_into() (receive_data_into()) instead of feed()
F_ALTERNATE = 0x20  # switch between the two forms at every piece
F_END = 0x40  # call end() (or feed EOF) after the last piece
F_EXTRA = 0x80  # LineAssembler: timestamps=True; connection: trailing junk piece

LIMITS = [None, 0, 7, 64]


class Finding(AssertionError):
    """The twins disagree, or an answer depends on the split."""


# ---------------------------------------------------------------------------
# Input parsing
# ---------------------------------------------------------------------------


def parse(data: bytes) -> tuple[int, int, list[int], bytes]:
    if len(data) < 3:
        data = data + b"\x00" * (3 - len(data))
    target, flags, n = data[0], data[1], data[2] % 8
    lengths = list(data[3 : 3 + n])
    return target % len(TARGETS), flags, lengths, data[3 + n :]


def cut(data: bytes, lengths: list[int]) -> list[bytes]:
    pieces, p = [], 0
    for n in lengths:
        pieces.append(data[p : p + n])
        p += n
    pieces.append(data[p:])
    return pieces


def wrap_chunked(payload: bytes, lengths: list[int]) -> bytes:
    """``payload`` in chunked coding, chunk sizes from ``lengths`` (0s skipped)."""
    out = []
    for piece in cut(payload, [n for n in lengths if n]):
        if piece:
            out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


# ---------------------------------------------------------------------------
# Observations
# ---------------------------------------------------------------------------


def norm(item: Any) -> Any:
    """One item or event as plain, comparable data (either twin's classes)."""
    if isinstance(item, StreamError):
        return ("stream-error", item.message, item.code, _plain(item.data))
    if isinstance(item, LogLine):
        return ("line", int(item.stream), item.line, item.timestamp)
    if type(item).__name__ == "Frame":
        return ("frame", int(item.stream), bytes(item.data))
    if isinstance(item, Response):
        return ("response", item.status_code, item.headers, item.reason, item.http_version, item.kind)
    if isinstance(item, Data):
        return ("data", bytes(item.data))
    if isinstance(item, EndOfMessage):
        return ("eom", item.keep_alive)
    if isinstance(item, ConnectionClosed):
        return ("closed",)
    return ("value", _plain(item))


def _plain(value: Any) -> Any:
    """A decoded JSON value as a comparable, hashable tree, without recursion
    (values may be nested MAX_JSON_DEPTH deep) and with NaN equal to itself."""
    out: list[Any] = []
    stack: list[tuple[Any, list[Any]]] = [(value, out)]
    while stack:
        v, dest = stack.pop()
        if isinstance(v, dict):
            inner: list[Any] = []
            dest.append(("{", inner))
            for k in reversed(list(v)):
                key_slot: list[Any] = []
                inner.append((k, key_slot))
                stack.append((v[k], key_slot))
        elif isinstance(v, list):
            inner = []
            dest.append(("[", inner))
            for x in reversed(v):
                slot: list[Any] = []
                inner.append(slot)
                stack.append((x, slot))
        elif isinstance(v, float) and v != v:
            dest.append(("nan",))
        else:
            dest.append((type(v).__name__, v))
    return _freeze(out[0]) if out else None


def _freeze(tree: Any) -> Any:
    # Iterative conversion of the nested lists built above to a repr string:
    # equal trees give equal strings, and strings compare without recursion.
    parts: list[str] = []
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, tuple) and node and node[0] in ("{", "["):
            kind, inner = node
            stack.append("}" if kind == "{" else "]")
            for entry in reversed(inner):
                if kind == "{":
                    key, slot = entry
                    stack.append(",")
                    stack.append(slot[0] if slot else "?")
                    stack.append(repr(key) + ":")
                else:
                    stack.append(",")
                    stack.append(entry[0] if entry else "?")
            stack.append(kind)
        else:
            parts.append(repr(node))
    return "".join(parts)


def error_outcome(exc: ProtocolError) -> tuple[Any, ...]:
    return (
        "error",
        type(exc).__name__,
        str(exc),
        getattr(exc, "offset", None),
        [norm(i) for i in getattr(exc, "items", None) or []],
    )


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        self.data += data
        return len(data)


def merge(items: list[Any]) -> list[Any]:
    """Join what a split may legitimately cut differently: adjacent Data, and
    adjacent frames of one stream (raw decoding yields one per feed)."""
    out: list[Any] = []
    for item in items:
        if out and item[0] == out[-1][0] == "data":
            out[-1] = ("data", out[-1][1] + item[1])
        elif out and item[0] == out[-1][0] == "frame" and item[1] == out[-1][1]:
            out[-1] = ("frame", item[1], out[-1][2] + item[2])
        else:
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# Decoder targets
# ---------------------------------------------------------------------------


def run_decoder(
    twin: Any, name: str, flags: int, pieces: list[bytes], lines: bool = False
) -> tuple[Any, ...]:
    """Feed ``pieces`` to a fresh decoder of ``twin``; everything observable."""
    kwargs: dict[str, Any] = {"chunked": bool(flags & F_CHUNKED)}
    limit = LIMITS[(flags & F_LIMIT) >> 2]
    if limit is not None and name != "RawStreamDecoder":
        kwargs["max_frame_size" if name == "MultiplexedStreamDecoder" else "max_message_size"] = limit
    dec = getattr(twin, name)(**kwargs)
    assembler = LineAssembler(timestamps=bool(flags & F_EXTRA)) if lines else None
    # feed_into() is for Frame decoders; LineAssembler takes feed()'s frames.
    sink = flags & F_SINK and name != "JSONStreamDecoder" and not lines
    out, err = Sink(), Sink()
    items: list[Any] = []
    result: tuple[Any, ...]
    try:
        for i, piece in enumerate(pieces):
            into = sink and not (flags & F_ALTERNATE and i % 2)
            if into:
                before = (out.writes, err.writes)
                got = dec.feed_into(piece, out, err)
                if out.writes - before[0] > 1 or err.writes - before[1] > 1:
                    raise Finding("feed_into() wrote more than once to a target in one call")
            else:
                got = dec.feed(piece)
            items += assembler.feed(got) if assembler is not None else got
        if flags & F_END:
            items += dec.end()
            if assembler is not None:
                items += assembler.end()
        result = ("ok", dec.offset, dec.finished, dec.unused_data)
    except ProtocolError as exc:
        result = error_outcome(exc)
        if assembler is not None and result[4]:
            # What the error carries goes through the assembler like the rest.
            result = result[:4] + ([norm(i) for i in assembler.feed(exc.items)],)  # type: ignore[attr-defined]
    return (result, [norm(i) for i in items], bytes(out.data), bytes(err.data))


def check_decoder(name: str, flags: int, lengths: list[int], payload: bytes, lines: bool = False) -> None:
    if flags & F_CHUNKED and flags & F_WRAP:
        payload = wrap_chunked(payload, lengths)
    pieces = cut(payload, lengths)
    outcomes = [run_decoder(t, name, flags, pieces, lines) for t in TWINS]
    for other in outcomes[1:]:
        if other != outcomes[0]:
            raise Finding(f"the twins disagree on {name}:\n  {outcomes[0]!r}\n  {other!r}")
    result, items, out, err = outcomes[0]
    # The same bytes in one piece (or all in pieces, when the pieces were fed
    # whole) give the same answer.
    whole = run_decoder(TWINS[0], name, flags & ~(F_ALTERNATE), [payload], lines)
    # Items a call returned and items an error carries are one sequence: where
    # the input is cut decides which call (and so which of the two) holds an
    # item, never whether or in what order it is delivered.
    mine = merge(items + (result[4] if result[0] == "error" else []))
    theirs = merge(whole[1] + (whole[0][4] if whole[0][0] == "error" else []))
    if flags & F_SINK and name != "JSONStreamDecoder" and not lines:
        # feed_into() writes every payload byte once, as it arrives, and
        # before a fault what came before it: the same bytes however the
        # input is cut (check_payload compares them with feed()'s frames).
        if not flags & F_ALTERNATE:
            if (out, err) != (whole[2], whole[3]) or mine != theirs or result[:4] != whole[0][:4]:
                raise Finding(
                    f"{name}: feed_into output depends on the split:\n  {outcomes[0]!r}\n  {whole!r}"
                )
    else:
        if mine != theirs or result[:4] != whole[0][:4]:
            raise Finding(
                f"{name}: the answer depends on the split:\n  {result!r} {mine!r}\n  {whole[0]!r} {theirs!r}"
            )
    if result[0] == "ok" and flags & F_END and not lines:
        check_payload(name, flags, pieces, items, out, err)
    if lines:
        check_lines(flags, pieces, items, result)


def check_payload(name: str, flags: int, pieces: list[bytes], items: list[Any], out: bytes, err: bytes) -> None:
    """A complete, valid stream: feed_into() delivered exactly what feed() does."""
    if name == "JSONStreamDecoder" or not flags & F_SINK:
        return
    ref = run_decoder(TWINS[0], name, flags & ~(F_SINK | F_ALTERNATE), pieces)
    frames = [i for i in ref[1] if i[0] == "frame"]
    stdout = b"".join(f[2] for f in frames if f[1] == 1)
    stderr = b"".join(f[2] for f in frames if f[1] == 2)
    fed_out = out + b"".join(i[2] for i in items if i[0] == "frame" and i[1] == 1)
    fed_err = err + b"".join(i[2] for i in items if i[0] == "frame" and i[1] == 2)
    if flags & F_ALTERNATE:
        # Interleaved forms: per stream, the bytes add up (order across the
        # two forms is by call, not by frame).
        if sorted(fed_out) != sorted(stdout) or sorted(fed_err) != sorted(stderr):
            raise Finding(f"{name}: feed/feed_into mix lost or invented payload")
        return
    if (fed_out, fed_err) != (stdout, stderr):
        raise Finding(f"{name}: feed_into() payload differs from feed()'s frames")
    errors = [i for i in ref[1] if i[0] == "stream-error"]
    if [i for i in items if i[0] == "stream-error"] != errors:
        raise Finding(f"{name}: feed_into() StreamErrors differ from feed()'s")


def model_lines(payload: bytes, stream: int, timestamps: bool, flush: bool) -> list[Any]:
    """What LineAssembler must make of one stream's bytes."""
    out = []
    lines = payload.split(b"\n")
    rest = lines.pop()
    for raw in [ln + b"\n" for ln in lines] + ([rest] if flush and rest else []):
        ts = None
        if timestamps:
            sp = raw.find(b" ", 0, 41)
            if sp > 0 and raw[:1].isdigit():
                ts, raw = raw[:sp].decode("ascii", "replace"), raw[sp + 1 :]
        out.append(("line", stream, raw, ts))
    return out


def check_lines(flags: int, pieces: list[bytes], items: list[Any], result: tuple[Any, ...]) -> None:
    """LineAssembler: per stream, the lines are the frames' bytes cut after each LF."""
    ref = run_decoder(TWINS[0], "MultiplexedStreamDecoder", flags & ~(F_SINK | F_ALTERNATE), pieces)
    frames = ref[1] + (ref[0][4] if ref[0][0] == "error" else [])
    lines = items + (result[4] if result[0] == "error" else [])
    flushed = bool(result[0] == "ok" and flags & F_END)
    for stream in (1, 2):
        payload = b"".join(f[2] for f in frames if f[0] == "frame" and f[1] == stream)
        expected = model_lines(payload, stream, bool(flags & F_EXTRA), flushed)
        if [ln for ln in lines if ln[0] == "line" and ln[1] == stream] != expected:
            raise Finding(f"LineAssembler: stream {stream} lines differ from its bytes")
    if [i for i in lines if i[0] == "stream-error"] != [f for f in frames if f[0] == "stream-error"]:
        raise Finding("LineAssembler: StreamErrors lost or reordered")


def target_decoder(name: str, lines: bool = False) -> Callable[[int, list[int], bytes], None]:
    def target(flags: int, lengths: list[int], payload: bytes) -> None:
        check_decoder(name, flags, lengths, payload, lines)

    target.__name__ = f"target_{name}{'_lines' if lines else ''}"
    return target


# ---------------------------------------------------------------------------
# Connection.receive_data targets
# ---------------------------------------------------------------------------

CID = "c0ffee" * 10 + "abcd"

REQUESTS: dict[str, Callable[[], Request]] = {
    "json": lambda: Request("GET", "/containers/{id}/json", params={"id": CID}, version="1.41"),
    "logs": lambda: Request(
        "GET", "/containers/{id}/logs", params={"id": CID}, query={"stdout": True, "stderr": True},
        kind=ResponseKind.STREAM, tty=False, version="1.41",
    ),
    "logs-tty": lambda: Request(
        "GET", "/containers/{id}/logs", params={"id": CID}, query={"stdout": True, "follow": True},
        kind=ResponseKind.STREAM, tty=True, version="1.41",
    ),
    "logs-1.43": lambda: Request(
        "GET", "/containers/{id}/logs", params={"id": CID}, query={"stdout": True},
        kind=ResponseKind.STREAM, version="1.43",
    ),
    "events": lambda: Request("GET", "/events", kind=ResponseKind.JSON_STREAM, version="1.41"),
    "attach": lambda: Request(
        "POST", "/containers/{id}/attach", params={"id": CID}, query={"stream": True, "stdout": True},
        kind=ResponseKind.HIJACK, tty=False, version="1.41",
    ),
    "attach-tty": lambda: Request(
        "POST", "/containers/{id}/attach", params={"id": CID}, query={"stream": True, "stdout": True},
        kind=ResponseKind.HIJACK, tty=True, version="1.41",
    ),
    "ping-head": lambda: Request("HEAD", "/_ping", kind=ResponseKind.EMPTY),
}

_RECEIVING = {
    ConnectionState.SENDING_BODY,
    ConnectionState.AWAITING_RESPONSE,
    ConnectionState.RECEIVING_BODY,
    ConnectionState.RECEIVING_STREAM,
    ConnectionState.HIJACKED,
}


# Whether an error from receive_data() carries the events the failing call
# completed (issue 11, defect 6; it does): then the events before an error,
# plus the error's items, are the same however the bytes were cut.  False
# compares the errors alone.
CONNECTION_ERRORS_CARRY_EVENTS = True


def run_connection(twin: Any, kind: str, flags: int, pieces: list[bytes]) -> tuple[Any, ...]:
    conn = Connection(stream_impl=twin, max_frame_size=LIMITS[(flags & F_LIMIT) >> 2] or 1 << 20,
                      max_message_size=LIMITS[(flags & F_LIMIT) >> 2] or 1 << 20)
    conn.send_request(REQUESTS[kind]())
    out, err = Sink(), Sink()
    events: list[Any] = []
    result: tuple[Any, ...]
    # b"" means EOF to receive_data(): empty pieces are not fed, and EOF
    # comes last, when F_END asks for it.
    pieces = [p for p in pieces if p]
    if flags & F_END:
        pieces.append(b"")
    try:
        for i, piece in enumerate(pieces):
            if conn.state not in _RECEIVING:
                if any(pieces[i:]):
                    # Bytes after the end of the response, in a later read
                    # (the same bytes in the same read are an error).
                    return (("trailing", conn.state.value), [norm(e) for e in events],
                            bytes(out.data), bytes(err.data))
                break
            into = (
                flags & F_SINK
                and not (flags & F_ALTERNATE and i % 2)
                and conn.state in (ConnectionState.RECEIVING_STREAM, ConnectionState.HIJACKED)
                and hasattr(conn.decoder, "feed_into")
            )
            if into:
                events += conn.receive_data_into(piece, out, err)
            else:
                events += conn.receive_data(piece)
        result = ("ok", conn.state.value)
    except ProtocolError as exc:
        result = error_outcome(exc) + (conn.state.value,)
    return (result, [norm(e) for e in events], bytes(out.data), bytes(err.data))


def _split_key(result: tuple[Any, ...]) -> tuple[Any, ...]:
    """What must not depend on the split at the connection level.  Error
    messages may: h11 explains malformed HTTP by what it had seen (an
    obviously bad first byte is refused before the line ends), and the
    count of unexpected bytes after a response is what that read held."""
    if result[0] == "error":
        if _TRAILING in result[2]:
            return ("trailing",)
        return (result[0], result[1], result[3], result[5])
    if result[0] == "trailing":
        return ("trailing",)
    return result


_TRAILING = "unexpected bytes after the end of the response"


def _drop_last_eom(events: list[Any]) -> list[Any]:
    return events[:-1] if events and events[-1][0] == "eom" else events


def target_connection(kind: str) -> Callable[[int, list[int], bytes], None]:
    def target(flags: int, lengths: list[int], payload: bytes) -> None:
        pieces = cut(payload, lengths)
        outcomes = [run_connection(t, kind, flags, pieces) for t in TWINS]
        for other in outcomes[1:]:
            if other != outcomes[0]:
                raise Finding(f"the twins disagree on a {kind} response:\n  {outcomes[0]!r}\n  {other!r}")
        if flags & F_SINK:
            return
        result, events = outcomes[0][:2]
        whole = run_connection(TWINS[0], kind, flags, [payload])
        if _split_key(result) != _split_key(whole[0]):
            raise Finding(f"{kind}: the outcome depends on the split:\n  {result!r}\n  {whole[0]!r}")
        if not CONNECTION_ERRORS_CARRY_EVENTS and "error" in (result[0], whole[0][0]):
            return
        mine = merge(events + (result[4] if result[0] == "error" else []))
        theirs = merge(whole[1] + (whole[0][4] if whole[0][0] == "error" else []))
        if _split_key(result) == ("trailing",):
            # Junk in the same read as the end of the response fails the call
            # before its EndOfMessage is handed out; in a later read it
            # follows it.  The events before must agree.
            mine, theirs = _drop_last_eom(mine), _drop_last_eom(theirs)
        if _split_key(result) != _split_key(whole[0]) or mine != theirs:
            raise Finding(
                f"{kind}: the events depend on the split:\n  {result!r} {mine!r}\n  {whole[0]!r} {theirs!r}"
            )

    target.__name__ = f"target_connection_{kind}"
    return target


TARGETS: list[Callable[[int, list[int], bytes], None]] = [
    target_decoder("MultiplexedStreamDecoder"),
    target_decoder("RawStreamDecoder"),
    target_decoder("JSONStreamDecoder"),
    target_decoder("MultiplexedStreamDecoder", lines=True),
    *(target_connection(kind) for kind in REQUESTS),
]


_N_DECODER_TARGETS = 4
if _FAMILY == "decoders":
    _ACTIVE = range(_N_DECODER_TARGETS)
elif _FAMILY == "connection":
    _ACTIVE = range(_N_DECODER_TARGETS, len(TARGETS))
elif _FAMILY == "all":
    _ACTIVE = range(len(TARGETS))
else:
    raise SystemExit(f"PROTOCOL_FUZZ_TARGETS={_FAMILY!r}: expected decoders, connection or all")


def check(data: bytes) -> None:
    """Run one fuzz input; raise on a finding (see the module docstring)."""
    target, flags, lengths, payload = parse(data)
    if target in _ACTIVE:  # inputs keep their meaning in a narrowed run
        TARGETS[target](flags, lengths, payload)


def describe(data: bytes) -> str:
    target, flags, lengths, payload = parse(data)
    return f"{TARGETS[target].__name__} flags=0x{flags:02x} pieces={lengths} payload={payload[:80]!r}"
