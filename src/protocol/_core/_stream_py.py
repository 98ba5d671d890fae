"""Stream decoders, pure-Python twin.

Theory of operation
===================

A streaming response body is two layers of framing over one byte stream:

* the HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), when ``chunked=True``:
  ``HEX[;ext]\\r\\n`` DATA ``\\r\\n`` ... ``0\\r\\n`` [trailer lines] ``\\r\\n``;
* the payload framing: Docker's multiplexed frames (8-byte header
  ``[type, 0, 0, 0, size uint32 BE]``, API >= 1.6, non-TTY), raw bytes (TTY),
  or a JSON stream (concatenated / CRLF / LF / RS-prefixed JSON values).

Both layers are decoded in one pass over each input: the chunk layer cuts the
input into payload *segments* (the data of each chunk, or the whole input when
not chunked) and hands each segment, by position, to the payload layer.  The
daemon sends every multiplexed frame as its own chunk (seen on 20.10), so the
common case is "one chunk = one whole frame": that frame is sliced straight
out of the input.  Frames and messages that span chunks or inputs are
collected in a per-decoder ``bytearray``; everything else is consumed as it
arrives, so a decoder holds at most one partial frame/message, one partial
chunk-size line (bounded) and one partial frame header.  Every input byte is
looked at a bounded number of times: total work is linear in the input, and
consumed bytes are never kept alive.

The compiled twin (``src/_speedups/_speedups.pyx``) implements the same state
machine in C.  It imports its exceptions, ``Stream`` and ``StreamError`` from
the Python modules and builds every error message and every non-frame item
through the helpers below, so both twins raise the same exception types with
the same messages and offsets.

Errors
------

Every problem in the peer's bytes raises :class:`RemoteProtocolError` (or its
subclass :class:`MessageTooLarge`) whose ``offset`` is the position, counted
in input bytes from the first byte fed (chunk framing included), of the chunk
line, frame header, JSON message or byte at fault.  Items completed by the
same ``feed()`` call before the error are not lost: the exception carries them
as ``exc.items`` (a list; for ``feed_into`` the StreamErrors, with the payload
gathered before the error already written).  After an error the decoder is
broken: every later ``feed()``/``feed_into()``/``end()`` raises an error of
the same type and offset.  No other exception comes out of the peer's bytes
(the fuzzing harness in ``fuzz/`` holds both twins to that); a feed()
interrupted by something else (KeyboardInterrupt, MemoryError, a caller
without stack left) breaks the decoder too, with ``_INTERRUPTED``.
"""

from __future__ import annotations

import json
import os
import re
from struct import Struct
from typing import Any, Callable, Final, Protocol, Union

from ._errors import LocalProtocolError, MessageTooLarge, ProtocolError, RemoteProtocolError
from ._events import Frame, Stream, StreamError
from ._fastjson import MISS, fast_loads
from ._items_py import AsyncItems  # the asyncio driver's per-item iterator, this twin's

__all__ = [
    "MultiplexedStreamDecoder",
    "RawStreamDecoder",
    "JSONStreamDecoder",
    "Frame",
    "DEFAULT_MAX_SIZE",
    "MAX_JSON_DEPTH",
    "IMPLEMENTATION",
    "parse_head",
    "AsyncItems",
]

IMPLEMENTATION: Final = "python"

#: Default bound on one multiplexed frame and on one JSON message.
DEFAULT_MAX_SIZE: Final = 64 * 1024 * 1024
#: Bound on one chunk-size line, extensions and CRLF included.
MAX_CHUNK_LINE: Final = 1024
#: Bound on the trailer section after the terminating chunk, final CRLF included.
MAX_TRAILER: Final = 16 * 1024
#: Deepest nesting of arrays and objects accepted in one JSON-stream message
#: (the top-level array or object is level 1).  Docker's messages (progress,
#: events, stats, build output) are a few levels deep; this bound is far
#: above them and far below what the interpreter's recursion limit lets
#: ``json`` decode.  A deeper message raises RemoteProtocolError as soon as
#: the bracket that exceeds it arrives, naming the message's offset.  Both
#: twins read this constant (the compiled one at import).
MAX_JSON_DEPTH: Final = 512

Buffer = Union[bytes, bytearray, memoryview]


class _Writer(Protocol):
    def write(self, data: bytes | bytearray, /) -> object: ...


class _Sender(Protocol):
    def sendall(self, data: bytes | bytearray, /) -> object: ...


#: Where ``feed_into`` writes payload: a file descriptor, or an object with
#: ``write()`` (files, BytesIO) or ``sendall()`` (sockets).
Target = Union[int, _Writer, _Sender]

# Chunk-layer states.
_C_SIZE: Final = 0  # reading a chunk-size line
_C_DATA: Final = 1  # inside chunk data
_C_CR: Final = 2  # expecting CR after chunk data
_C_LF: Final = 3  # expecting LF after chunk data
_C_TRAILER: Final = 4  # reading trailer lines after the 0 chunk
_C_DONE: Final = 5  # chunked body complete
_C_BODY: Final = 6  # not chunked: everything is payload

# ---------------------------------------------------------------------------
# Response heads (the connection's fast path)
# ---------------------------------------------------------------------------

_TOKEN_CHARS: Final = (
    b"-!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
#: Header names already found to be tokens, and their lower-case forms: a
#: daemon sends the same dozen names in every answer.  Bounded, so a peer
#: inventing names cannot grow it.
_NAMES: dict[bytes, bytes] = {}
_NAMES_MAX: Final = 256

#: What :func:`parse_head` returns: the offset just past the head's blank
#: line, the status code, the reason phrase, the headers (lower-cased names,
#: values without surrounding spaces and tabs, in order), the Content-Length
#: (-1 when absent), whether the body is chunked, and whether a Connection
#: header says ``close`` (anywhere in its value, any case: the connection is
#: then not kept, which is never wrong).
Head = tuple[int, int, bytes, tuple[tuple[bytes, bytes], ...], int, bool, bool]


def parse_head(buf: bytes) -> Head | None:
    """The response head at the start of ``buf``, when it is complete there
    and inside the subset of HTTP/1.1 the connection's fast path takes; None
    otherwise (the connection then gives the whole answer to h11).

    The subset, chosen so that whatever it accepts h11 accepts with the
    same values and the same framing: the status line is ``HTTP/1.1``, a
    code from 200 up and an optional reason; every line ends with CRLF
    (no bare CR or LF anywhere, no NUL, vertical tab or form feed, which
    h11's field values refuse); each header line is a token, a colon and a
    value (spaces and tabs around it stripped, as h11's OWS); at most one
    Content-Length, all digits (at most 20, h11's bound), at most one
    Transfer-Encoding, exactly ``chunked``, and not both.  An obsolete line
    fold fails the token rule.  The compiled twin is a loop over the bytes.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    raw = buf[:end]
    if b"\x00" in raw or b"\x0b" in raw or b"\x0c" in raw:
        return None
    crlf = raw.count(b"\r\n")
    if raw.count(b"\r") != crlf or raw.count(b"\n") != crlf:
        return None
    lines = raw.split(b"\r\n")
    line = lines[0]
    code = line[9:12]
    if (
        line[:9] != b"HTTP/1.1 "
        or len(code) != 3
        or not code.isdigit()
        or code < b"200"
        or (len(line) > 12 and line[12:13] != b" ")
    ):
        return None
    headers: list[tuple[bytes, bytes]] = []
    append = headers.append
    names = _NAMES
    length = -1
    chunked = False
    close = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        lower = names.get(name)
        if lower is None:
            # Not a token (a line starting with a space or tab, an obsolete
            # fold, fails here too): h11's to judge.
            if not name or name.translate(None, _TOKEN_CHARS):
                return None
            lower = name.lower()
            if len(names) < _NAMES_MAX:
                names[name] = lower
        value = value.strip(b" \t")
        if lower == b"content-length":
            if length >= 0 or not value.isdigit() or len(value) > 20:
                return None
            length = int(value)
        elif lower == b"transfer-encoding":
            if chunked or value != b"chunked":
                return None
            chunked = True
        elif lower == b"connection" and b"close" in value.lower():
            close = True
        append((lower, value))
    if length >= 0 and chunked:
        return None
    return end + 4, int(code), lines[0][13:], tuple(headers), length, chunked, close


# ---------------------------------------------------------------------------
# Shared helpers.  The compiled twin calls these too (only on rare paths:
# errors, systemerr frames, JSON error messages, sink writes), which keeps the
# observable behaviour of the twins identical by construction.
# ---------------------------------------------------------------------------

_CHUNK_SIZE_RE: Final = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r\Z")


def _parse_chunk_size(line: bytes, offset: int) -> int:
    """Parse one chunk-size line (LF removed, CR kept); raise naming ``offset``."""
    if not line.endswith(b"\r"):
        raise RemoteProtocolError(
            f"chunk size line at offset {offset} is not terminated by CRLF", offset
        )
    m = _CHUNK_SIZE_RE.match(line)
    if m is None:
        raise RemoteProtocolError(
            f"invalid chunk size line {line[:64]!r} at offset {offset}", offset
        )
    digits = m.group(1)
    if len(digits) > 16:
        raise RemoteProtocolError(
            f"chunk size at offset {offset} has more than 16 hex digits", offset
        )
    return int(digits, 16)


def _chunk_line_too_long(offset: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"chunk size line at offset {offset} is longer than {MAX_CHUNK_LINE} bytes", offset
    )


def _missing_crlf(offset: int) -> RemoteProtocolError:
    return RemoteProtocolError(f"missing CRLF after chunk data at offset {offset}", offset)


def _trailer_too_large(offset: int) -> MessageTooLarge:
    return MessageTooLarge(
        f"trailer section at offset {offset} is larger than {MAX_TRAILER} bytes", offset
    )


def _bad_trailer(offset: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"trailer line at offset {offset} is not terminated by CRLF", offset
    )


def _bad_header(offset: int, header: bytes) -> RemoteProtocolError:
    if header[0] > 3:
        why = f"unknown stream type {header[0]}"
    else:
        why = "non-zero padding bytes"
    return RemoteProtocolError(
        f"invalid multiplexed frame header {header.hex(' ')} at offset {offset}: {why}",
        offset,
    )


def _frame_too_large(offset: int, size: int, limit: int) -> MessageTooLarge:
    return MessageTooLarge(
        f"multiplexed frame at offset {offset} announces {size} bytes, "
        f"more than max_frame_size={limit}",
        offset,
    )


def _body_ended_mid_frame(offset: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"chunked body ended in the middle of a frame or message (terminating chunk at offset {offset})",
        offset,
    )


def _json_garbage(offset: int, byte: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"unexpected byte 0x{byte:02x} between JSON messages at offset {offset}", offset
    )


def _json_invalid(offset: int, exc: BaseException) -> RemoteProtocolError:
    return RemoteProtocolError(f"invalid JSON message at offset {offset}: {exc}", offset)


def _json_too_deep(offset: int) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"invalid JSON message at offset {offset}: nested more than "
        f"{MAX_JSON_DEPTH} levels deep",
        offset,
    )


def _json_failure(raw: bytes | bytearray, offset: int) -> RemoteProtocolError:
    """The error for a message that :func:`_decode_json` refused, with json's explanation."""
    try:
        text = bytes(raw).decode("utf-8", "surrogatepass")
        try:
            json.loads(text)
        except RecursionError:
            # Too little stack left for the C scanner here: the iterative
            # parser gives the same explanation at any depth.
            _loads_flat(text)
    except ValueError as exc:
        return _json_invalid(offset, exc)
    # Unreachable while the splitter and json agree on where a message ends.
    return _json_invalid(offset, ValueError("not one JSON value"))


def _json_too_large(offset: int, limit: int) -> MessageTooLarge:
    return MessageTooLarge(
        f"JSON message at offset {offset} is larger than max_message_size={limit}", offset
    )


def _truncated(offset: int, what: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"stream ended {what} (at offset {offset})", offset)


def _chunk_state_what(cstate: int, chunk_left: int, in_line: bool) -> str | None:
    """What is incomplete in the chunk layer at end(), or None."""
    if cstate == _C_DATA:
        return f"in the middle of a chunk ({chunk_left} bytes missing)"
    if cstate == _C_CR or cstate == _C_LF:
        return "before the CRLF after chunk data"
    if cstate == _C_SIZE:
        if in_line:
            return "in the middle of a chunk size line"
        return "before the terminating zero-size chunk"
    if cstate == _C_TRAILER:
        return "in the trailer section"
    return None


def _frame_state_what(header_len: int, left: int) -> str | None:
    """What is incomplete in the multiplexed layer at end(), or None."""
    if header_len:
        return f"in the middle of a frame header ({header_len} of 8 bytes)"
    if left:
        return f"in the middle of a frame ({left} payload bytes missing)"
    return None


_JSON_MID: Final = "in the middle of a JSON message"


def _broken(exc: ProtocolError) -> ProtocolError:
    new: ProtocolError
    if isinstance(exc, RemoteProtocolError):
        new = type(exc)(f"decoder already failed: {exc.message}", exc.offset)
    else:
        new = type(exc)(f"decoder already failed: {exc.message}")
    new.items = []  # type: ignore[attr-defined]
    return new


#: What a decoder interrupted in the middle of an input raises from then on.
#: KeyboardInterrupt, MemoryError or a RecursionError (a caller with no stack
#: left for the decoder's own calls) can stop feed() between two updates of
#: its state, and decoding on from there could give wrong items.  Built
#: once: recording it must not need a call (there may be no stack for one).
_INTERRUPTED: Final = LocalProtocolError(
    "feed() was interrupted (KeyboardInterrupt, MemoryError or RecursionError); "
    "the position in the stream is lost"
)


def _check_limit(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, not {value!r}")
    return value


def _systemerr(payload: bytes) -> StreamError:
    """A type-3 (systemerr) frame, e.g. ``Error grabbing logs: ...\\n``."""
    return StreamError(payload.decode("utf-8", "replace").rstrip("\r\n"))


def _json_error(value: dict[str, Any]) -> StreamError:
    """``{"errorDetail": {"code": .., "message": ..}, "error": ..}`` -> StreamError."""
    detail = value.get("errorDetail")
    message: Any = None
    code: int | None = None
    if isinstance(detail, dict):
        message = detail.get("message")
        c = detail.get("code")
        if isinstance(c, int) and not isinstance(c, bool):
            code = c
    if not message:
        message = value.get("error")
    if message is None:
        message = ""
    elif isinstance(message, (list, dict)):
        # Never sent by a daemon (Go's JSONError has a string), and str() of a
        # deeply nested value recurses as deep: the whole message is in .data.
        message = f"(a JSON {'array' if isinstance(message, list) else 'object'} as error message)"
    return StreamError(str(message), code, value)


def _json_item(value: Any) -> Any:
    if type(value) is dict and ("error" in value or "errorDetail" in value):
        return _json_error(value)
    return value


def _write_all(target: Target, data: bytes | bytearray) -> None:
    """Write all of ``data`` to a sink target."""
    if isinstance(target, int):
        view = memoryview(data)
        while view:
            view = view[os.write(target, view) :]
        return
    write = getattr(target, "write", None)
    if write is not None:
        n = write(data)
        if isinstance(n, int) and 0 < n < len(data):
            # A raw (unbuffered) file may take only part of it.
            view = memoryview(data)[n:]
            while view:
                n = write(view)
                if not isinstance(n, int) or n <= 0:
                    break
                view = view[n:]
        return
    sendall = getattr(target, "sendall", None)
    if sendall is None:
        raise TypeError(
            f"feed_into() targets are file descriptors or objects with write() or "
            f"sendall(), not {type(target).__name__}"
        )
    sendall(data)


# Messages are decoded as UTF-8 (RFC 8259 §8.1: JSON exchanged between
# systems is UTF-8; the daemon writes Go's encoding/json output) and parsed
# with the stdlib's C scanner directly.  That is json.loads without its
# per-call Python layers (encoding detection, whitespace regexes), which
# costs as much as the parsing itself for progress-sized messages; the
# scanner already found where each value ends.  json.loads semantics
# otherwise: 'surrogatepass', same values, same error texts (see
# _json_failure).
_scan_once: Final[Callable[[str, int], tuple[Any, int]]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode_json(raw: bytes | bytearray, offset: int) -> Any:
    value = fast_loads(raw)  # orjson, when installed and when it may (see _fastjson)
    if value is not MISS:
        return value
    try:
        text = raw.decode("utf-8", "surrogatepass")
        value, end = _scan_once(text, 0)
    except RecursionError:
        return _decode_json_flat(raw, offset)
    except (StopIteration, ValueError):
        raise _json_failure(raw, offset) from None
    if end != len(text):
        raise _json_failure(raw, offset)
    return value


def _decode_json_flat(raw: bytes | bytearray, offset: int) -> Any:
    """:func:`_decode_json` for a caller whose stack is too deep for the C scanner.

    The C scanner recurses once per nesting level and shares the
    interpreter's recursion budget with the caller's frames, so a message
    well within MAX_JSON_DEPTH can exhaust it when feed() is called from deep
    recursion.  The answer must not depend on the caller's stack: decode the
    same message without recursion.
    """
    try:
        return _loads_flat(bytes(raw).decode("utf-8", "surrogatepass"))
    except ValueError as exc:
        raise _json_invalid(offset, exc) from None


# Always matches (possibly empty), hence the narrower type.
_WS_MATCH: Final[Callable[[str, int], re.Match[str]]] = re.compile(r"[ \t\n\r]*").match  # type: ignore[assignment]
# json.scanner.NUMBER_RE with ASCII digits only: ``\d`` would also match other
# Unicode digits, which the C scanner (and so json.loads) refuses.
_NUMBER_MATCH: Final = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?").match
_scanstring: Final[Callable[[str, int, bool], tuple[str, int]]] = json.decoder.scanstring  # type: ignore[attr-defined]
_JSONDecodeError: Final = json.JSONDecodeError
_CONSTANTS: Final[dict[str, Any]] = {
    "NaN": json.decoder.NaN,  # type: ignore[attr-defined]
    "Infinity": json.decoder.PosInf,  # type: ignore[attr-defined]
    "-Infinity": json.decoder.NegInf,  # type: ignore[attr-defined]
}


def _loads_flat(s: str) -> Any:
    """``json.loads(s)`` without recursion: the same values and the same errors.

    An explicit stack replaces the scanner's recursion; strings go through
    json's own ``scanstring``, numbers through the scanner's pattern.  Errors
    are json's (JSONDecodeError with json's message and position, or the
    ValueError of a too-long integer).  tests/test_stream.py checks it
    against json.loads on random valid and broken documents.
    """
    ws = _WS_MATCH
    # One entry per open container: [values] for an array, [pairs, key] for
    # an object (pairs is a list of (key, value), as json builds dicts).
    stack: list[list[Any]] = []
    idx = ws(s, 0).end()
    while True:
        # Parse the value at idx, or open a container and go on with its
        # first value.
        c = s[idx : idx + 1]
        if c == "{":
            idx = ws(s, idx + 1).end()
            c = s[idx : idx + 1]
            if c == "}":
                value: Any = {}
                idx += 1
            elif c != '"':
                raise _JSONDecodeError("Expecting property name enclosed in double quotes", s, idx)
            else:
                key, idx = _scanstring(s, idx + 1, True)
                idx = ws(s, idx).end()
                if s[idx : idx + 1] != ":":
                    raise _JSONDecodeError("Expecting ':' delimiter", s, idx)
                idx = ws(s, idx + 1).end()
                stack.append([[], key])
                continue
        elif c == "[":
            idx = ws(s, idx + 1).end()
            if s[idx : idx + 1] == "]":
                value = []
                idx += 1
            else:
                stack.append([[]])
                continue
        elif c == '"':
            value, idx = _scanstring(s, idx + 1, True)
        elif c == "n" and s[idx : idx + 4] == "null":
            value = None
            idx += 4
        elif c == "t" and s[idx : idx + 4] == "true":
            value = True
            idx += 4
        elif c == "f" and s[idx : idx + 5] == "false":
            value = False
            idx += 5
        else:
            m = _NUMBER_MATCH(s, idx)
            if m is not None:
                integer, frac, exp = m.groups()
                if frac or exp:
                    value = float(integer + (frac or "") + (exp or ""))
                else:
                    value = int(integer)
                idx = m.end()
            elif c == "N" and s[idx : idx + 3] == "NaN":
                value = _CONSTANTS["NaN"]
                idx += 3
            elif c == "I" and s[idx : idx + 8] == "Infinity":
                value = _CONSTANTS["Infinity"]
                idx += 8
            elif c == "-" and s[idx : idx + 9] == "-Infinity":
                value = _CONSTANTS["-Infinity"]
                idx += 9
            else:
                raise _JSONDecodeError("Expecting value", s, idx)
        # A value is complete: add it to the innermost open container, and
        # close containers as long as their closing bracket follows.
        while True:
            if not stack:
                idx = ws(s, idx).end()
                if idx != len(s):
                    raise _JSONDecodeError("Extra data", s, idx)
                return value
            top = stack[-1]
            idx = ws(s, idx).end()
            c = s[idx : idx + 1]
            if len(top) == 2:  # an object
                top[0].append((top[1], value))
                if c == "}":
                    value = dict(top[0])
                    idx += 1
                    stack.pop()
                    continue
                if c != ",":
                    raise _JSONDecodeError("Expecting ',' delimiter", s, idx)
                idx = ws(s, idx + 1).end()
                if s[idx : idx + 1] != '"':
                    raise _JSONDecodeError(
                        "Expecting property name enclosed in double quotes", s, idx
                    )
                key, idx = _scanstring(s, idx + 1, True)
                idx = ws(s, idx).end()
                if s[idx : idx + 1] != ":":
                    raise _JSONDecodeError("Expecting ':' delimiter", s, idx)
                idx = ws(s, idx + 1).end()
                top[1] = key
                break
            top[0].append(value)
            if c == "]":
                value = top[0]
                idx += 1
                stack.pop()
                continue
            if c != ",":
                raise _JSONDecodeError("Expecting ',' delimiter", s, idx)
            idx = ws(s, idx + 1).end()
            break


_new = object.__new__
_set = object.__setattr__
_STDOUT: Final = Stream.STDOUT
_STDERR: Final = Stream.STDERR
_HEADER: Final = Struct(">II")
_unpack_header = _HEADER.unpack_from

# First header word (type << 24 | padding) -> stream; 3 (systemerr) -> None.
_HEADER_TYPES: Final[dict[int, Stream | None]] = {
    0x00000000: _STDOUT,
    0x01000000: _STDOUT,
    0x02000000: _STDERR,
    0x03000000: None,
}


def _frame(stream: Stream, data: bytes) -> Frame:
    # Fast path past Frame.__init__'s validation: the parser checked both.
    f: Frame = _new(Frame)
    _set(f, "stream", stream)
    _set(f, "data", data)
    return f


_EMPTY: Final = b""


class _Decoder:
    """Chunk layer and feed()/end() bookkeeping shared by the three decoders."""

    __slots__ = (
        "_chunked",
        "_cstate",
        "_chunk_left",
        "_line",
        "_line_start",
        "_trailer_size",
        "_offset",
        "_error",
        "_ended",
        "_finished",
        "_unused",
    )

    def __init__(self, chunked: bool) -> None:
        self._chunked = bool(chunked)
        self._cstate = _C_SIZE if chunked else _C_BODY
        self._chunk_left = 0
        self._line = bytearray()
        self._line_start = 0
        self._trailer_size = 0
        self._offset = 0
        self._error: ProtocolError | None = None
        self._ended = False
        self._finished = False
        self._unused = bytearray()

    # -- public state -------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Chunked: the terminating chunk and trailers were consumed.  Else: end() was called."""
        return self._finished

    @property
    def unused_data(self) -> bytes:
        """Bytes received after the end of a chunked body (the next response's)."""
        return bytes(self._unused)

    @property
    def offset(self) -> int:
        """Input bytes consumed so far, chunk framing included."""
        return self._offset

    # -- hooks for the payload layer -----------------------------------------

    def _payload(
        self, data: bytes, s: int, e: int, base: int, items: list[Any], out: list[bytearray] | None
    ) -> None:
        raise NotImplementedError

    def _mid_item(self) -> str | None:
        """What is incomplete in the payload layer, or None at an item boundary."""
        raise NotImplementedError

    # -- driving --------------------------------------------------------------

    def _start(self, data: Buffer) -> bytes | None:
        if self._error is not None:
            raise _broken(self._error)
        if self._ended:
            raise LocalProtocolError("feed() called after end()")
        if type(data) is not bytes:
            data = bytes(memoryview(data))
        if self._finished:
            self._unused += data
            return None
        return data

    def _run(self, data: bytes, items: list[Any], out: list[bytearray] | None) -> None:
        try:
            if self._chunked:
                self._dechunk(data, items, out)
            else:
                self._payload(data, 0, len(data), self._offset, items, out)
                self._offset += len(data)
        except RemoteProtocolError as exc:
            exc.items = items  # type: ignore[attr-defined]
            self._error = exc
            raise
        except BaseException:
            self._error = _INTERRUPTED
            raise

    def _dechunk(self, data: bytes, items: list[Any], out: list[bytearray] | None) -> None:
        n = len(data)
        p = 0
        base = self._offset
        payload = self._payload
        line = self._line
        try:
            while p < n:
                st = self._cstate
                if st == _C_DATA:
                    end = p + self._chunk_left
                    if end <= n:
                        payload(data, p, end, base, items, out)
                        p = end
                        self._chunk_left = 0
                        if data[p : p + 2] == b"\r\n":  # the usual case, inline
                            p += 2
                            self._cstate = _C_SIZE
                        else:
                            self._cstate = _C_CR
                    else:
                        payload(data, p, n, base, items, out)
                        self._chunk_left -= n - p
                        p = n
                elif st == _C_SIZE:
                    if not line:
                        self._line_start = base + p
                        limit = p + MAX_CHUNK_LINE
                        lf = data.find(b"\n", p, limit)
                        if lf < 0:
                            if n >= limit:
                                raise _chunk_line_too_long(base + p)
                            line += data[p:]
                            p = n
                            continue
                        size = _parse_chunk_size(data[p:lf], base + p)
                        p = lf + 1
                    else:
                        limit = p + MAX_CHUNK_LINE - len(line)
                        lf = data.find(b"\n", p, limit)
                        if lf < 0:
                            if n >= limit:
                                raise _chunk_line_too_long(self._line_start)
                            line += data[p:]
                            p = n
                            continue
                        line += data[p:lf]
                        p = lf + 1
                        size = _parse_chunk_size(bytes(line), self._line_start)
                        line.clear()
                    if size:
                        self._chunk_left = size
                        self._cstate = _C_DATA
                    else:
                        if self._mid_item() is not None:
                            raise _body_ended_mid_frame(self._line_start)
                        self._cstate = _C_TRAILER
                        self._trailer_size = 0
                        self._line_start = base + p
                elif st == _C_CR or st == _C_LF:
                    if data[p] != (13 if st == _C_CR else 10):
                        raise _missing_crlf(base + p)
                    p += 1
                    self._cstate = _C_LF if st == _C_CR else _C_SIZE
                elif st == _C_TRAILER:
                    limit = p + MAX_TRAILER - self._trailer_size
                    lf = data.find(b"\n", p, limit)
                    if lf < 0:
                        if n >= limit:
                            raise _trailer_too_large(self._line_start)
                        line += data[p:]
                        self._trailer_size += n - p
                        p = n
                        continue
                    line += data[p:lf]
                    self._trailer_size += lf + 1 - p
                    line_off = base + lf - len(line)
                    p = lf + 1
                    if not line.endswith(b"\r"):
                        raise _bad_trailer(line_off)
                    last = len(line) == 1
                    line.clear()
                    if last:
                        self._cstate = _C_DONE
                        self._finished = True
                        self._unused += data[p:]
                        break
                else:  # pragma: no cover - _C_DONE stops the loop above
                    raise AssertionError(st)
        finally:
            self._offset = base + p

    def end(self) -> list[Any]:
        """The input is finished.  Raises RemoteProtocolError if it stopped mid-item."""
        if self._error is not None:
            raise _broken(self._error)
        if self._ended:
            return []
        offset = self._offset
        what = _chunk_state_what(self._cstate, self._chunk_left, bool(self._line))
        if what is None:
            what = self._mid_item()
        if what is not None:
            exc = _truncated(offset, what)
            exc.items = []  # type: ignore[attr-defined]
            self._error = exc
            raise exc
        self._ended = True
        self._finished = True
        return []


class _FrameDecoder(_Decoder):
    """Shared feed_into() for the two decoders that produce Frames."""

    __slots__ = ()

    def feed(self, data: Buffer) -> list[Any]:
        raise NotImplementedError

    def feed_into(self, data: Buffer, stdout: Target, stderr: Target) -> list[StreamError]:
        """Decode ``data`` and write the payload to ``stdout``/``stderr``.

        No Python object is created per frame.  Within one call all stdout
        payload is gathered into one buffer and all stderr payload into
        another, and each is written once, stdout first (so interleaving
        between the two targets within one call is not preserved).  Payload
        bytes of a frame still incomplete at the end of the input are written
        too: every payload byte is delivered exactly once, whether by
        feed_into() or by a Frame from feed().  Returns the StreamErrors
        (systemerr frames) met, in order.  If the input breaks the protocol,
        the payload gathered before the fault is written, then the error is
        raised with the StreamErrors in ``exc.items``.
        """
        buf = self._start(data)
        if buf is None:
            return []
        items: list[Any] = []
        out = [bytearray(), bytearray()]
        try:
            self._run(buf, items, out)
        finally:
            if out[0]:
                _write_all(stdout, out[0])
            if out[1]:
                _write_all(stderr, out[1])
        return items


class MultiplexedStreamDecoder(_FrameDecoder):
    """Decode Docker's multiplexed stdout/stderr framing (non-TTY attach, exec, logs).

    Items: :class:`Frame` per frame with a payload (type 0 stdin and 1 ->
    STDOUT, 2 -> STDERR; frames of size 0 produce no item) and
    :class:`StreamError` per type-3 (systemerr) frame.  A frame is delivered
    as soon as its last byte arrives.  ``max_frame_size`` bounds the size a
    header may announce: a larger one raises MessageTooLarge when the header
    is read, before any payload is buffered.
    """

    __slots__ = ("_max", "_hdr", "_hstart", "_left", "_kind", "_part")

    def __init__(self, chunked: bool = False, max_frame_size: int = DEFAULT_MAX_SIZE) -> None:
        super().__init__(chunked)
        self._max = _check_limit(max_frame_size, "max_frame_size")
        self._hdr = bytearray()  # partial header
        self._hstart = 0  # offset of the current frame's header
        self._left = 0  # payload bytes still to come for the current frame
        self._kind: Stream | None = None  # current frame's stream (None: systemerr)
        self._part = bytearray()  # payload of the current frame received so far

    def feed(self, data: Buffer) -> list[Frame | StreamError]:
        """Decode ``data``; return the frames and stream errors it completed, in order."""
        buf = self._start(data)
        if buf is None:
            return []
        items: list[Frame | StreamError] = []
        self._run(buf, items, None)
        return items

    def _mid_item(self) -> str | None:
        return _frame_state_what(len(self._hdr), self._left)

    def _payload(
        self, data: bytes, s: int, e: int, base: int, items: list[Any], out: list[bytearray] | None
    ) -> None:
        append = items.append
        types = _HEADER_TYPES
        while s < e:
            left = self._left
            if left:
                # Continue a frame that started in an earlier segment.
                take = left if left <= e - s else e - s
                kind = self._kind
                part = self._part
                if out is not None and kind is not None:
                    dest = out[kind - 1]
                    if part:  # begun by feed(): deliver those bytes first
                        dest += part
                        part.clear()
                    dest += data[s : s + take]
                else:
                    part += data[s : s + take]
                s += take
                left -= take
                self._left = left
                if not left:
                    self._finish_frame(items, out)
                continue
            if self._hdr or e - s < 8:
                hdr = self._hdr
                if not hdr:
                    self._hstart = base + s
                take = 8 - len(hdr)
                if take > e - s:
                    take = e - s
                hdr += data[s : s + take]
                s += take
                if len(hdr) < 8:
                    return
                header = bytes(hdr)
                hdr.clear()
                hstart = self._hstart
                word, size = _unpack_header(header)
            else:
                hstart = base + s
                word, size = _unpack_header(data, s)
                header = _EMPTY
                s += 8
            try:
                kind = types[word]
            except KeyError:
                raise _bad_header(hstart, header or data[s - 8 : s]) from None
            if size > self._max:
                raise _frame_too_large(hstart, size, self._max)
            if not size:
                continue
            if out is None and size <= e - s:
                # Whole frame here: the usual case.
                end = s + size
                if kind is None:
                    append(_systemerr(data[s:end]))
                else:
                    append(_frame(kind, data[s:end]))
                s = end
                continue
            self._kind = kind
            self._left = size
            self._hstart = hstart
        return

    def _finish_frame(self, items: list[Any], out: list[bytearray] | None) -> None:
        kind = self._kind
        part = self._part
        if kind is None:
            items.append(_systemerr(bytes(part)))
        elif out is None:
            items.append(_frame(kind, bytes(part)))
        else:
            # feed_into() streams payload as it arrives; a part left by feed()
            # was flushed above.
            out[kind - 1] += part
        part.clear()


class RawStreamDecoder(_FrameDecoder):
    """Decode a TTY (raw, unframed) stream: every payload byte is stdout.

    One :class:`Frame` (STDOUT) per feed() call that carried payload, holding
    all of it.
    """

    __slots__ = ()

    def __init__(self, chunked: bool = False) -> None:
        super().__init__(chunked)

    def feed(self, data: Buffer) -> list[Frame]:
        """Decode ``data``; return ``[Frame(STDOUT, payload)]``, or ``[]`` without payload."""
        buf = self._start(data)
        if buf is None:
            return []
        if not self._chunked:
            self._offset += len(buf)
            return [_frame(_STDOUT, buf)] if buf else []
        items: list[Any] = []
        out = [bytearray(), bytearray()]
        try:
            self._run(buf, items, out)
        except RemoteProtocolError as exc:
            exc.items = [_frame(_STDOUT, bytes(out[0]))] if out[0] else []  # type: ignore[attr-defined]
            raise
        return [_frame(_STDOUT, bytes(out[0]))] if out[0] else []

    def _mid_item(self) -> str | None:
        return None

    def _payload(
        self, data: bytes, s: int, e: int, base: int, items: list[Any], out: list[bytearray] | None
    ) -> None:
        assert out is not None
        out[0] += data[s:e]


# JSON-stream scanner states.
_J_TOP: Final = 0  # between messages
_J_IN: Final = 1  # inside a message, outside strings
_J_STR: Final = 2  # inside a string
_J_ESC: Final = 3  # after a backslash inside a string

# Between messages: whitespace, and RS (0x1E) for application/json-seq.
_J_SEP_RE: Final = re.compile(rb"[ \t\r\n\x1e]*+")
# Inside a message: skip everything but brackets, including whole strings.
_J_IN_RE: Final = re.compile(rb'(?:[^"{}\[\]]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
# Inside a string: skip to the closing quote or a trailing lone backslash.
_J_STR_RE: Final = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)


class JSONStreamDecoder(_Decoder):
    """Split a JSON stream into messages and decode each as ``json.loads`` would (see ``_decode_json``).

    Accepts the separators every daemon has used: none at all (docker <
    0.9 and events before 1.7), whitespace, ``\\r\\n`` (0.9+), ``\\n``
    (events, stats, jsonl) and the RS prefix of application/json-seq.  Top-level
    values must be objects or arrays.  Items: the decoded value, or a
    :class:`StreamError` for an object with ``error``/``errorDetail``.
    ``max_message_size`` bounds one message (separators excluded): it raises
    MessageTooLarge as soon as a message grows past it.  A message nested
    deeper than :data:`MAX_JSON_DEPTH` raises RemoteProtocolError as soon as
    its excess bracket arrives; within it, the decoded value never depends on
    how deep the caller's own stack is.
    """

    __slots__ = ("_max", "_jstate", "_depth", "_msg", "_mstart")

    def __init__(self, chunked: bool = False, max_message_size: int = DEFAULT_MAX_SIZE) -> None:
        super().__init__(chunked)
        self._max = _check_limit(max_message_size, "max_message_size")
        self._jstate = _J_TOP
        self._depth = 0
        self._msg = bytearray()  # bytes of a message begun in an earlier segment
        self._mstart = 0  # offset of the current message

    def feed(self, data: Buffer) -> list[Any]:
        """Decode ``data``; return the messages it completed, in order."""
        buf = self._start(data)
        if buf is None:
            return []
        items: list[Any] = []
        self._run(buf, items, None)
        return items

    def _mid_item(self) -> str | None:
        if self._jstate != _J_TOP:
            return _JSON_MID
        return None

    def _payload(
        self, data: bytes, s: int, e: int, base: int, items: list[Any], out: list[bytearray] | None
    ) -> None:
        state = self._jstate
        depth = self._depth
        msg = self._msg
        sep_match = _J_SEP_RE.match
        in_match = _J_IN_RE.match
        str_match = _J_STR_RE.match
        # Where this segment's part of the current message starts, and how
        # far it may extend before the message exceeds the size limit.
        mbegin = s
        lim = s + self._max - len(msg)
        if lim > e:
            lim = e
        try:
            while True:
                if state == _J_TOP:
                    s = sep_match(data, s, e).end()  # type: ignore[union-attr]  # always matches
                    if s >= e:
                        return
                    c = data[s]
                    if c != 0x7B and c != 0x5B:  # { [
                        raise _json_garbage(base + s, c)
                    self._mstart = base + s
                    mbegin = s
                    lim = s + self._max
                    if lim > e:
                        lim = e
                    if s >= lim:  # max_message_size == 0
                        raise _json_too_large(self._mstart, self._max)
                    s += 1
                    depth = 1
                    state = _J_IN
                elif state == _J_IN:
                    s = in_match(data, s, lim).end()  # type: ignore[union-attr]
                    if s >= lim:
                        break
                    c = data[s]
                    s += 1
                    if c == 0x22:  # a string not closed before lim
                        state = _J_STR
                    elif c == 0x7B or c == 0x5B:
                        depth += 1
                        if depth > MAX_JSON_DEPTH:
                            raise _json_too_deep(self._mstart)
                    else:
                        depth -= 1
                        if not depth:
                            if msg:
                                msg += data[mbegin:s]
                                raw: bytes | bytearray = msg
                            else:
                                raw = data[mbegin:s]
                            value = _decode_json(raw, self._mstart)
                            if msg:
                                msg.clear()
                            if type(value) is dict and ("error" in value or "errorDetail" in value):
                                value = _json_error(value)
                            items.append(value)
                            state = _J_TOP
                elif state == _J_STR:
                    s = str_match(data, s, lim).end()  # type: ignore[union-attr]
                    if s >= lim:
                        break
                    # A closing quote, or a backslash whose escaped byte is not here yet.
                    state = _J_IN if data[s] == 0x22 else _J_ESC
                    s += 1
                else:  # _J_ESC: skip the escaped byte
                    if s >= lim:
                        break
                    s += 1
                    state = _J_STR
            # Inside a message at the end of the scannable range.
            if lim < e:
                raise _json_too_large(self._mstart, self._max)
            msg += data[mbegin:e]
        finally:
            self._jstate = state
            self._depth = depth
