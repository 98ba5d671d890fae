"""Property tests: random valid and invalid streams, cut anywhere, on both twins.

Valid streams must decode to what a simple model of the framing says;
any stream (valid or not) must give the same outcome on both twins: the
same items, the same sink output, the same exception type, message and
offset, and the same items carried by the exception.
"""

from __future__ import annotations

import json
import os

from _twins import TWINS, get_twin

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol._core._stream_py as python_twin
from protocol._core._errors import ProtocolError
from protocol._core._events import StreamError

# PROTOCOL_HYPOTHESIS_EXAMPLES raises the count for a deeper run by hand
# (20 000 per property passed in 7 minutes); CI keeps the default.
SETTINGS = settings(
    max_examples=int(os.environ.get("PROTOCOL_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def both_twins():
    """The available twins (the Python twin alone when the extension is not built)."""
    twins = [python_twin]
    if TWINS["cython"] is not None:
        twins.append(TWINS["cython"])
    else:
        get_twin("cython")  # fails under PROTOCOL_REQUIRE_EXTENSIONS=1, else skips
    return twins


def norm(items):
    out = []
    for item in items:
        if isinstance(item, StreamError):
            out.append(("error", item.message, item.code, json.dumps(item.data, sort_keys=True)))
        elif hasattr(item, "stream") and hasattr(item, "data"):
            out.append(("frame", int(item.stream), item.data))
        else:
            out.append(("value", json.dumps(item, sort_keys=True)))
    return out


class Sink:
    def __init__(self):
        self.data = bytearray()
        self.calls = 0

    def write(self, data):
        self.calls += 1
        self.data += data


def run(module, name, kwargs, pieces, into=False):
    """Feed pieces, then end(); return everything observable."""
    d = getattr(module, name)(**kwargs)
    items = []
    out, err = Sink(), Sink()
    try:
        for piece in pieces:
            if into:
                before = (out.calls, err.calls)
                items += d.feed_into(piece, out, err)
                assert out.calls - before[0] <= 1 and err.calls - before[1] <= 1
            else:
                items += d.feed(piece)
        items += d.end()
    except ProtocolError as exc:
        return (
            "error",
            type(exc).__name__,
            str(exc),
            getattr(exc, "offset", None),
            norm(items),
            norm(getattr(exc, "items", [])),
            bytes(out.data),
            bytes(err.data),
        )
    return ("ok", norm(items), bytes(out.data), bytes(err.data), d.offset, d.finished, d.unused_data)


def cut(data, points):
    points = sorted({min(p, len(data)) for p in points})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


frames_st = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, 3]), st.binary(max_size=40)),
    max_size=12,
)
size_format = st.sampled_from(["%x", "%X", "%08x", "%x;name=val", "%x ;a", "%x\t"])


@st.composite
def chunked_body(draw, payload):
    """Wrap payload in chunked coding with random chunk boundaries and size formats."""
    boundaries = draw(st.lists(st.integers(0, len(payload)), max_size=8))
    pieces = [p for p in cut(payload, boundaries) if p]
    body = b""
    for p in pieces:
        body += (draw(size_format) % len(p)).encode() + b"\r\n" + p + b"\r\n"
    body += b"0\r\n" + draw(st.sampled_from([b"", b"X-Trailer: v\r\n"])) + b"\r\n"
    return body


def encode_frames(frames):
    return b"".join(bytes([t, 0, 0, 0]) + len(d).to_bytes(4, "big") + d for t, d in frames)


def model_frames(frames):
    out = []
    for t, d in frames:
        if not d:
            continue
        if t == 3:
            out.append(("error", d.decode("utf-8", "replace").rstrip("\r\n"), None, "null"))
        else:
            out.append(("frame", 2 if t == 2 else 1, d))
    return out


@SETTINGS
@given(frames=frames_st, chunked=st.booleans(), data=st.data())
def test_valid_multiplexed(frames, chunked, data):
    payload = encode_frames(frames)
    body = data.draw(chunked_body(payload)) if chunked else payload
    trailing = data.draw(st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n"])) if chunked else b""
    pieces = cut(body + trailing, data.draw(st.lists(st.integers(0, len(body) + len(trailing)), max_size=10)))
    expected = model_frames(frames)
    kwargs = {"chunked": chunked}
    for twin in both_twins():
        result = run(twin, "MultiplexedStreamDecoder", kwargs, pieces)
        assert result == ("ok", expected, b"", b"", len(body), True, trailing)
        result = run(twin, "MultiplexedStreamDecoder", kwargs, pieces, into=True)
        errors = [item for item in expected if item[0] == "error"]
        stdout = b"".join(d for t, d in frames if t in (0, 1))
        stderr = b"".join(d for t, d in frames if t == 2)
        assert result == ("ok", errors, stdout, stderr, len(body), True, trailing)


@SETTINGS
@given(frames=frames_st, chunked=st.booleans(), data=st.data())
def test_mutated_multiplexed_twins_agree(frames, chunked, data):
    payload = encode_frames(frames)
    body = data.draw(chunked_body(payload)) if chunked else payload
    mutation = data.draw(st.sampled_from(["byte", "truncate", "insert", "padding", "type"]))
    if mutation == "byte" and body:
        i = data.draw(st.integers(0, len(body) - 1))
        body = body[:i] + bytes([data.draw(st.integers(0, 255))]) + body[i + 1 :]
    elif mutation == "truncate":
        body = body[: data.draw(st.integers(0, len(body)))]
    elif mutation == "insert":
        i = data.draw(st.integers(0, len(body)))
        body = body[:i] + data.draw(st.sampled_from([b"\x00", b"\r", b"\n", b"g", b"\x05"])) + body[i:]
    elif mutation == "padding":
        body = body + (b"1\r\n" if chunked else b"") + b"\x01\x00\x01\x00\x00\x00\x00\x00"
    else:
        body = body + bytes([data.draw(st.integers(4, 255))]) + b"\x00" * 7
    pieces = cut(body, data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
    kwargs = {"chunked": chunked, "max_frame_size": data.draw(st.sampled_from([0, 7, 40, 2**32]))}
    for into in (False, True):
        results = [run(t, "MultiplexedStreamDecoder", kwargs, pieces, into) for t in both_twins()]
        assert all(r == results[0] for r in results)


@SETTINGS
@given(payload=st.binary(max_size=200), chunked=st.booleans(), data=st.data())
def test_raw(payload, chunked, data):
    body = data.draw(chunked_body(payload)) if chunked else payload
    if data.draw(st.booleans()) and body:
        body = body[: data.draw(st.integers(0, len(body) - 1))]
        if not chunked:
            payload = body
    pieces = cut(body, data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
    results = []
    for twin in both_twins():
        result = run(twin, "RawStreamDecoder", {"chunked": chunked}, pieces)
        results.append(result)
        if result[0] == "ok":
            assert b"".join(item[2] for item in result[1]) == payload
            assert len(result[1]) <= len(pieces)
        results.append(run(twin, "RawStreamDecoder", {"chunked": chunked}, pieces, into=True))
    assert results[0::2] == [results[0]] * len(results[0::2])
    assert results[1::2] == [results[1]] * len(results[1::2])


tricky_text = st.text(
    alphabet=st.sampled_from(list('ab{}[]"\\/\r\n\t \u00e9\u20ac\U0001f600\x1e:,')), max_size=12
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), tricky_text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(tricky_text, inner, max_size=4)
    ),
    max_leaves=12,
)
json_message = st.one_of(
    st.dictionaries(tricky_text, json_value, max_size=5),
    st.lists(json_value, max_size=4),
    st.fixed_dictionaries(
        {"errorDetail": st.fixed_dictionaries({"code": st.integers(0, 500), "message": tricky_text}),
         "error": tricky_text}
    ),
    st.fixed_dictionaries({"error": tricky_text}),
)
separator = st.sampled_from([b"", b"\r\n", b"\n", b" ", b"\t\r\n", b"\x1e"])


def model_json(value):
    if isinstance(value, dict) and ("error" in value or "errorDetail" in value):
        detail = value.get("errorDetail")
        message = None
        code = None
        if isinstance(detail, dict):
            message = detail.get("message")
            code = detail.get("code")
        if not message:
            message = value.get("error")
        return ("error", "" if message is None else str(message), code, json.dumps(value, sort_keys=True))
    return ("value", json.dumps(value, sort_keys=True))


@SETTINGS
@given(
    messages=st.lists(st.tuples(separator, json_message, st.booleans()), max_size=8),
    chunked=st.booleans(),
    data=st.data(),
)
def test_valid_json(messages, chunked, data):
    payload = b"".join(sep + json.dumps(v, ensure_ascii=a).encode() for sep, v, a in messages)
    payload += data.draw(separator)
    body = data.draw(chunked_body(payload)) if chunked else payload
    pieces = cut(body, data.draw(st.lists(st.integers(0, len(body)), max_size=12)))
    expected = [model_json(v) for _, v, _ in messages]
    for twin in both_twins():
        assert run(twin, "JSONStreamDecoder", {"chunked": chunked}, pieces) == (
            "ok",
            expected,
            b"",
            b"",
            len(body),
            True,
            b"",
        )


@SETTINGS
@given(
    messages=st.lists(st.tuples(separator, json_message), min_size=1, max_size=6),
    chunked=st.booleans(),
    data=st.data(),
)
def test_mutated_json_twins_agree(messages, chunked, data):
    payload = b"".join(sep + json.dumps(v, ensure_ascii=False).encode() for sep, v in messages)
    i = data.draw(st.integers(0, len(payload)))
    junk = data.draw(st.sampled_from([b"x", b"}", b"]", b"{", b"[", b'"', b"\\", b"\xff", b"1", b"\x00"]))
    if data.draw(st.booleans()):
        payload = payload[:i] + junk + payload[i:]
    else:
        payload = payload[:i]
    body = data.draw(chunked_body(payload)) if chunked else payload
    pieces = cut(body, data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
    kwargs = {"chunked": chunked, "max_message_size": data.draw(st.sampled_from([0, 10, 40, 2**40]))}
    results = [run(t, "JSONStreamDecoder", kwargs, pieces) for t in both_twins()]
    assert all(r == results[0] for r in results)


@st.composite
def frame_aligned_chunks(draw, frames):
    """Chunked coding cut at frame boundaries only (1..n whole frames per chunk):
    the shape the compiled twin's per-item fast path takes, with now and then
    a chunk-size form it leaves to the general state machine."""
    body = b""
    i = 0
    while i < len(frames):
        n = draw(st.integers(1, max(1, len(frames) - i)))
        data = encode_frames(frames[i : i + n])
        i += n
        if data:
            fmt = draw(st.sampled_from(["%x", "%x", "%x", "%X", "%016x", "%x;e"]))
            body += (fmt % len(data)).encode() + b"\r\n" + data + b"\r\n"
    return body + b"0\r\n\r\n"


@SETTINGS
@given(frames=frames_st, data=st.data())
def test_frame_aligned_chunks(frames, data):
    body = data.draw(frame_aligned_chunks(frames))
    if data.draw(st.booleans()) and body:
        # A mutation anywhere: both twins must still agree exactly.
        i = data.draw(st.integers(0, len(body) - 1))
        body = body[:i] + bytes([data.draw(st.integers(0, 255))]) + body[i + 1 :]
        valid = False
    else:
        valid = True
    pieces = cut(body, data.draw(st.lists(st.integers(0, len(body)), max_size=6)))
    kwargs = {"chunked": True, "max_frame_size": data.draw(st.sampled_from([7, 40, 2**32]))}
    for into in (False, True):
        results = [run(t, "MultiplexedStreamDecoder", kwargs, pieces, into) for t in both_twins()]
        assert all(r == results[0] for r in results)
    if valid and kwargs["max_frame_size"] == 2**32:
        assert results[0][0] == "ok"
        assert run(python_twin, "MultiplexedStreamDecoder", kwargs, pieces)[1] == model_frames(frames)
