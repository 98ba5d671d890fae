"""Stream decoders: every test runs on both twins (the ``twin`` fixture).

Inputs are fed whole, at every split point, one byte at a time and with
trailing data, as h11's tests do.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import subprocess
import sys

import pytest
from _twins import get_twin, twin  # noqa: F401  (also provided by conftest.py)

import protocol._core._stream_py as python_twin
from protocol._core._errors import LocalProtocolError, MessageTooLarge, RemoteProtocolError
from protocol._core._events import Frame as PyFrame
from protocol._core._events import Stream, StreamError

RECORDED = pathlib.Path(__file__).parent / "recorded"

OUT = Stream.STDOUT
ERR = Stream.STDERR

# docker 20.10, GET /containers/{id}/logs?stdout=1&stderr=1: every frame is
# its own HTTP chunk.
DOCKER_20_10_LOGS = (
    b"c\r\n\x02\x00\x00\x00\x00\x00\x00\x04err\n\r\n"
    b"c\r\n\x01\x00\x00\x00\x00\x00\x00\x04out\n\r\n"
    b"0\r\n\r\n"
)


def frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def chunked(*pieces: bytes) -> bytes:
    return b"".join(chunk(p) for p in pieces) + b"0\r\n\r\n"


def recorded_body(name: str) -> bytes:
    return (RECORDED / name).read_bytes().split(b"\r\n\r\n", 1)[1]


def norm(items):
    """Compare items of either twin by kind and fields."""
    out = []
    for item in items:
        if isinstance(item, StreamError):
            out.append(("error", item.message, item.code, item.data))
        elif hasattr(item, "stream") and hasattr(item, "data"):
            out.append(("frame", item.stream, item.data))
        else:
            out.append(("value", item))
    return out


def F(stream, data):
    return ("frame", stream, data)


def feed_all(decoder, pieces):
    items = []
    for piece in pieces:
        items += decoder.feed(piece)
    items += decoder.end()
    return norm(items)


def splits(data: bytes):
    """The input whole, cut at every point, and one byte at a time."""
    yield [data]
    for i in range(len(data) + 1):
        yield [data[:i], data[i:]]
    yield [data[i : i + 1] for i in range(len(data))]


def merge_frames(items):
    """Concatenate consecutive frame payloads of the same stream (raw decoding)."""
    out = []
    for item in items:
        if out and item[0] == "frame" and out[-1][0] == "frame" and out[-1][1] == item[1]:
            out[-1] = ("frame", item[1], out[-1][2] + item[2])
        else:
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# Multiplexed
# ---------------------------------------------------------------------------


def test_docker_20_10_logs_every_split(twin):
    expected = [F(ERR, b"err\n"), F(OUT, b"out\n")]
    for pieces in splits(DOCKER_20_10_LOGS):
        d = twin.MultiplexedStreamDecoder(chunked=True)
        assert feed_all(d, pieces) == expected, pieces
        assert d.finished
        assert d.unused_data == b""
        assert d.offset == len(DOCKER_20_10_LOGS)


def test_recorded_logs(twin):
    body = recorded_body("logs.http")
    d = twin.MultiplexedStreamDecoder(chunked=True)
    items = d.feed(body)
    assert norm(items) == [
        F(OUT, b"out\n"),
        F(OUT, b"out2\n"),
        F(ERR, b"err\n"),
        F(OUT, b"out\n"),
        F(OUT, b"out2\n"),
        F(ERR, b"err\n"),
    ]
    assert all(type(i) is twin.Frame for i in items)
    assert d.finished and d.end() == []


def test_trailing_data_goes_to_unused_data(twin):
    extra = b"HTTP/1.1 200 OK\r\n"
    for pieces in splits(DOCKER_20_10_LOGS + extra):
        d = twin.MultiplexedStreamDecoder(chunked=True)
        items = []
        for p in pieces:
            items += d.feed(p)
        assert norm(items) == [F(ERR, b"err\n"), F(OUT, b"out\n")]
        assert d.finished
        assert d.unused_data == extra
        assert d.offset == len(DOCKER_20_10_LOGS)
    # Later input after the end of the body is kept too, and never decoded.
    assert d.feed(frame(1, b"x")) == []
    assert d.unused_data == extra + frame(1, b"x")


def test_not_chunked_every_split(twin):
    data = frame(1, b"hello\n") + frame(2, b"oops\n") + frame(0, b"stdin?") + frame(1, b"")
    expected = [F(OUT, b"hello\n"), F(ERR, b"oops\n"), F(OUT, b"stdin?")]
    for pieces in splits(data):
        d = twin.MultiplexedStreamDecoder()
        assert not d.finished
        assert feed_all(d, pieces) == expected
        assert d.finished
        assert d.offset == len(data)


def test_frames_spanning_chunks_and_chunks_holding_several_frames(twin):
    payload = frame(1, b"a" * 10) + frame(2, b"b" * 3) + frame(3, b"boom\n") + frame(1, b"c" * 20)
    expected = [F(OUT, b"a" * 10), F(ERR, b"bbb"), ("error", "boom", None, None), F(OUT, b"c" * 20)]
    for cuts in ([5], [8], [9, 30], [1, 2, 3, 4, 5, 6, 7], list(range(1, len(payload)))):
        pieces = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
        body = chunked(*pieces)
        d = twin.MultiplexedStreamDecoder(chunked=True)
        assert feed_all(d, [body]) == expected
        d = twin.MultiplexedStreamDecoder(chunked=True)
        assert feed_all(d, [body[i : i + 1] for i in range(len(body))]) == expected


# Chunks of whole frames (the daemon's usual shape) are decoded by the
# compiled twin's per-item fast path; everything else in this body makes it
# hand over to the general state machine at that chunk and take up again
# after it.  The outcome must not depend on which path decoded what.
MIXED_CHUNKS = (
    chunk(frame(1, b"a\n"))
    + chunk(frame(2, b"bb\n") + frame(0, b"stdin-as-out\n") + frame(1, b""))  # several frames, type 0, empty
    + b"00000000000000c\r\n" + frame(1, b"1234") + b"\r\n"  # 15 leading zeros: 16 digits
    + b"c;ext=1\r\n" + frame(1, b"ext\n") + b"\r\n"  # an extension
    + chunk(frame(3, b"boom\n"))  # type 3 in a chunk of its own
    + chunk(frame(2, b"x") + frame(3, b"late\n") + frame(1, b"y"))  # type 3 among others
    + chunk(frame(1, b"head")[:5]) + chunk(frame(1, b"head")[5:])  # a frame across chunks
    + chunk(frame(2, b"z" * 40))
    + b"0\r\n\r\n"
)
MIXED_EXPECTED = [
    F(OUT, b"a\n"), F(ERR, b"bb\n"), F(OUT, b"stdin-as-out\n"), F(OUT, b"1234"), F(OUT, b"ext\n"),
    ("error", "boom", None, None), F(ERR, b"x"), ("error", "late", None, None), F(OUT, b"y"),
    F(OUT, b"head"), F(ERR, b"z" * 40),
]


def test_whole_frame_chunks_mixed_with_every_other_shape_every_split(twin):
    for pieces in splits(MIXED_CHUNKS):
        d = twin.MultiplexedStreamDecoder(chunked=True)
        assert feed_all(d, pieces) == MIXED_EXPECTED, pieces
        assert d.finished and d.offset == len(MIXED_CHUNKS)


@pytest.mark.parametrize(
    "bad, exc, offset",
    [
        (chunk(b"\x05\x00\x00\x00\x00\x00\x00\x01x"), "unknown stream type 5", 3),
        (chunk(b"\x01\x00\x00\x01\x00\x00\x00\x01x"), "non-zero padding bytes", 3),
        (chunk(frame(1, b"y" * 41)), "41 bytes", 4),  # over max_frame_size=40
        # chunk data not followed by CRLF: the frame was whole before the error
        (chunk(frame(1, b"short"))[:-2] + b"X\n", "CRLF", None),
        (b"11111111111111111\r\n", "chunk", None),  # 17 hex digits
        (b"5\r\n" + frame(1, b"abcdefgh")[:5] + b"\r\n0\r\n\r\n", "ended", None),  # body ends mid-header
    ],
)
def test_whole_frame_chunks_then_an_error_keeps_what_came_before(twin, bad, exc, offset):
    good = chunk(frame(1, b"ok\n")) + chunk(frame(2, b"ok2\n") + frame(1, b"ok3\n"))
    data = good + bad
    other = get_twin("python" if twin.IMPLEMENTATION == "cython" else "cython")
    for pieces in splits(data):
        outcomes = []
        for module in (twin, other):
            d = module.MultiplexedStreamDecoder(chunked=True, max_frame_size=40)
            items = []
            try:
                for p in pieces:
                    items += d.feed(p)
                d.end()
            except RemoteProtocolError as e:
                outcomes.append((type(e), str(e), e.offset, norm(items + e.items)))
            else:
                outcomes.append(None)
        assert outcomes[0] is not None, pieces
        assert outcomes[0] == outcomes[1], pieces
        kind, message, at, items = outcomes[0]
        assert exc in message
        if offset is not None:
            assert at == len(good) + offset  # the frame header, after the chunk-size line
        before = [F(OUT, b"ok\n"), F(ERR, b"ok2\n"), F(OUT, b"ok3\n")]
        assert items == before + ([F(OUT, b"short")] if exc == "CRLF" else [])


def test_frame_delivered_as_soon_as_complete(twin):
    d = twin.MultiplexedStreamDecoder(chunked=True)
    # The frame's bytes are complete; the chunk's CRLF and the next chunk are not here.
    assert norm(d.feed(b"c\r\n" + frame(1, b"out\n"))) == [F(OUT, b"out\n")]
    d = twin.MultiplexedStreamDecoder()
    assert d.feed(frame(1, b"abc")[:-1]) == []
    assert norm(d.feed(b"c")) == [F(OUT, b"abc")]


def test_systemerr_in_order(twin):
    data = frame(1, b"before\n") + frame(3, b"Error grabbing logs: bad\n") + frame(2, b"after\n")
    for pieces in splits(chunked(data)):
        d = twin.MultiplexedStreamDecoder(chunked=True)
        items = []
        for p in pieces:
            items += d.feed(p)
        assert norm(items) == [
            F(OUT, b"before\n"),
            ("error", "Error grabbing logs: bad", None, None),
            F(ERR, b"after\n"),
        ]
    assert isinstance(items[1], StreamError)


def test_systemerr_invalid_utf8_is_replaced(twin):
    d = twin.MultiplexedStreamDecoder()
    (item,) = d.feed(frame(3, b"bad \xff\r\n"))
    assert item.message == "bad \ufffd"


def test_zero_size_frames_produce_nothing(twin):
    d = twin.MultiplexedStreamDecoder()
    assert d.feed(frame(1, b"") + frame(2, b"") + frame(3, b"")) == []
    assert d.end() == []


@pytest.mark.parametrize(
    "header, why",
    [
        (b"\x04\x00\x00\x00\x00\x00\x00\x01", "unknown stream type 4"),
        (b"\x30\x00\x00\x00\x00\x00\x00\x01", "unknown stream type 48"),
        (b"\x01\x00\x01\x00\x00\x00\x00\x01", "non-zero padding bytes"),
        (b"\x00\x01\x00\x00\x00\x00\x00\x01", "non-zero padding bytes"),
    ],
)
def test_bad_header(twin, header, why):
    good = frame(1, b"ok")
    for pieces in splits(good + header + b"x"):
        d = twin.MultiplexedStreamDecoder()
        items = []
        with pytest.raises(RemoteProtocolError) as info:
            for p in pieces:
                items += d.feed(p)
        exc = info.value
        assert type(exc) is RemoteProtocolError
        assert exc.offset == len(good)
        assert f"at offset {len(good)}" in str(exc)
        assert why in str(exc)
        # Items completed before the error are not lost.
        assert norm(items + exc.items) == [F(OUT, b"ok")]
        # The decoder is broken now.
        with pytest.raises(RemoteProtocolError) as again:
            d.feed(good)
        assert again.value.offset == len(good)
        with pytest.raises(RemoteProtocolError):
            d.end()


def test_bad_header_offset_counts_chunk_framing(twin):
    body = chunk(frame(1, b"ok")) + chunk(b"\x01\x00\x00\x07\x00\x00\x00\x00")
    d = twin.MultiplexedStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(body)
    assert info.value.offset == len(chunk(frame(1, b"ok"))) + 3  # after "8\r\n"
    assert norm(info.value.items) == [F(OUT, b"ok")]


def test_header_spanning_chunks_reports_its_first_byte(twin):
    body = chunk(b"\x09\x00\x00") + chunk(b"\x00\x00\x00\x00\x01x")
    d = twin.MultiplexedStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(body)
    assert info.value.offset == 3


def test_frame_too_large_raised_at_header(twin):
    d = twin.MultiplexedStreamDecoder(max_frame_size=100)
    assert norm(d.feed(frame(1, b"x" * 100))) == [F(OUT, b"x" * 100)]
    with pytest.raises(MessageTooLarge) as info:
        # Only the header: no payload has to arrive for the error.
        d.feed(b"\x02\x00\x00\x00\x00\x00\x00\x65")
    assert info.value.offset == 108
    assert "101" in str(info.value) and "max_frame_size=100" in str(info.value)
    big = twin.MultiplexedStreamDecoder()
    with pytest.raises(MessageTooLarge):
        big.feed(b"\x01\x00\x00\x00\xff\xff\xff\xff")


def test_max_frame_size_must_be_sane(twin):
    with pytest.raises(ValueError):
        twin.MultiplexedStreamDecoder(max_frame_size=-1)
    with pytest.raises(ValueError):
        twin.JSONStreamDecoder(max_message_size=-1)


@pytest.mark.parametrize(
    "data, chunked_, what",
    [
        (frame(1, b"abc")[:5], False, "in the middle of a frame header (5 of 8 bytes)"),
        (frame(1, b"abc")[:9], False, "in the middle of a frame (2 payload bytes missing)"),
        (b"", True, "before the terminating zero-size chunk"),
        (chunk(frame(1, b"abc")), True, "before the terminating zero-size chunk"),
        (b"c\r", True, "in the middle of a chunk size line"),
        (b"b\r\n" + frame(1, b"abc"), True, "before the CRLF after chunk data"),
        (b"c\r\n" + frame(1, b"abc"), True, "in the middle of a chunk (1 bytes missing)"),
        (chunk(frame(1, b"abc")) + b"0\r\nX-Trailer: 1\r\n", True, "in the trailer section"),
    ],
)
def test_end_mid_item(twin, data, chunked_, what):
    d = twin.MultiplexedStreamDecoder(chunked=chunked_)
    d.feed(data)
    with pytest.raises(RemoteProtocolError) as info:
        d.end()
    assert what in str(info.value)
    assert info.value.offset == len(data)
    assert info.value.items == []
    with pytest.raises(RemoteProtocolError):
        d.end()


def test_end_is_idempotent_and_feed_after_end_is_local_error(twin):
    d = twin.MultiplexedStreamDecoder()
    d.feed(frame(1, b"x"))
    assert d.end() == [] and d.end() == []
    assert d.finished
    with pytest.raises(LocalProtocolError):
        d.feed(b"")


def test_terminating_chunk_in_the_middle_of_a_frame(twin):
    body = chunk(frame(1, b"abc")[:6]) + b"0\r\n\r\n"
    d = twin.MultiplexedStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(body)
    assert info.value.offset == len(chunk(frame(1, b"abc")[:6]))
    assert "ended in the middle of a frame" in str(info.value)


# ---------------------------------------------------------------------------
# Chunked transfer coding
# ---------------------------------------------------------------------------


def test_chunk_size_forms(twin):
    f = frame(1, b"hello")  # 13 bytes
    for size_line in (b"d", b"D", b"0d", b"000000000000000d", b"d;name=value", b"d ; a", b"d\t"):
        body = size_line + b"\r\n" + f + b"\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n"
        for pieces in splits(body):
            d = twin.MultiplexedStreamDecoder(chunked=True)
            assert feed_all(d, pieces) == [F(OUT, b"hello")], (size_line, pieces)
            assert d.finished


@pytest.mark.parametrize(
    "line, message",
    [
        (b"x\r\n", "invalid chunk size line"),
        (b"\r\n", "invalid chunk size line"),
        (b"-1\r\n", "invalid chunk size line"),
        (b"0x1\r\n", "invalid chunk size line"),
        (b"1_0\r\n", "invalid chunk size line"),
        (b" 1\r\n", "invalid chunk size line"),
        (b"1\n", "not terminated by CRLF"),
        (b"1\r\r\n", "invalid chunk size line"),
        (b"1" * 17 + b"\r\n", "more than 16 hex digits"),
        (b"0" * 17 + b"\r\n", "more than 16 hex digits"),
        (b"1;" + b"e" * 1021 + b"\r\n", "longer than 1024 bytes"),
    ],
    ids=lambda v: repr(v)[:24] if isinstance(v, bytes) else None,
)
def test_bad_chunk_size_line(twin, line, message):
    prefix = chunk(frame(1, b"ok"))
    for pieces in ([prefix + line], [prefix + line[:1], line[1:]], [prefix] + [line[i : i + 1] for i in range(len(line))]):
        d = twin.MultiplexedStreamDecoder(chunked=True)
        items = []
        with pytest.raises(RemoteProtocolError) as info:
            for p in pieces:
                items += d.feed(p)
        assert message in str(info.value)
        assert info.value.offset == len(prefix)
        assert f"offset {len(prefix)}" in str(info.value)
        assert norm(items + info.value.items) == [F(OUT, b"ok")]


def test_chunk_size_line_of_exactly_the_limit_is_accepted(twin):
    line = b"2;" + b"e" * (1024 - 4) + b"\r\n"
    assert len(line) == 1024
    d = twin.RawStreamDecoder(chunked=True)
    assert norm(d.feed(line + b"ok\r\n0\r\n\r\n")) == [F(OUT, b"ok")]


def test_huge_chunk_size_is_not_an_allocation(twin):
    d = twin.RawStreamDecoder(chunked=True)
    assert norm(d.feed(b"ffffffffffffffff\r\nabc")) == [F(OUT, b"abc")]
    with pytest.raises(RemoteProtocolError) as info:
        d.end()
    assert "in the middle of a chunk (18446744073709551612 bytes missing)" in str(info.value)


@pytest.mark.parametrize("after", [b"X\n", b"\rX", b"\n\r"])
def test_missing_crlf_after_chunk_data(twin, after):
    body = b"2\r\nok" + after
    for pieces in splits(body):
        d = twin.RawStreamDecoder(chunked=True)
        with pytest.raises(RemoteProtocolError) as info:
            for p in pieces:
                d.feed(p)
        assert "missing CRLF after chunk data" in str(info.value)
        assert info.value.offset == 5 + (after[0] == 13)


def test_trailer_limits(twin):
    d = twin.RawStreamDecoder(chunked=True)
    with pytest.raises(MessageTooLarge) as info:
        d.feed(b"0\r\n" + b"X-A: " + b"a" * 20000)
    assert info.value.offset == 3
    d = twin.RawStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(b"0\r\nX-A: 1\n\r\n")
    assert "trailer line at offset 3" in str(info.value)


# ---------------------------------------------------------------------------
# Raw (TTY)
# ---------------------------------------------------------------------------


def test_raw_one_frame_per_feed(twin):
    d = twin.RawStreamDecoder()
    assert norm(d.feed(b"abc")) == [F(OUT, b"abc")]
    assert d.feed(b"") == []
    assert norm(d.feed(bytearray(b"\x01\x00\x00\x00"))) == [F(OUT, b"\x01\x00\x00\x00")]
    assert norm(d.feed(memoryview(b"xyz")[1:])) == [F(OUT, b"yz")]
    assert d.offset == 9
    assert d.end() == [] and d.finished


def test_raw_chunked_coalesces_per_feed(twin):
    body = chunked(b"ab", b"cd", b"e") + b"rest"
    for pieces in splits(body):
        d = twin.RawStreamDecoder(chunked=True)
        items = []
        for p in pieces:
            got = norm(d.feed(p))
            assert len(got) <= 1
            items += got
        assert merge_frames(items) == [F(OUT, b"abcde")]
        assert d.unused_data == b"rest"


def test_raw_chunked_error_keeps_payload(twin):
    d = twin.RawStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(b"2\r\nab\r\nzz\r\n")
    assert norm(info.value.items) == [F(OUT, b"ab")]


# ---------------------------------------------------------------------------
# Sink form
# ---------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.writes = []

    def write(self, data):
        self.writes.append(bytes(data))
        return len(data)


class Sender:
    def __init__(self):
        self.writes = []

    def sendall(self, data):
        self.writes.append(bytes(data))


class Trickle:
    """A raw file that takes at most 3 bytes per write()."""

    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += bytes(data[:3])
        return min(3, len(data))


def test_feed_into_coalesces_one_write_per_target(twin):
    data = b"".join(frame(1 + i % 2, b"line %d\n" % i) for i in range(100))
    body = chunked(*[data[i : i + 50] for i in range(0, len(data), 50)])
    out, err = Recorder(), Sender()
    d = twin.MultiplexedStreamDecoder(chunked=True)
    assert d.feed_into(body, out, err) == []
    assert out.writes == [b"".join(b"line %d\n" % i for i in range(0, 100, 2))]
    assert err.writes == [b"".join(b"line %d\n" % i for i in range(1, 100, 2))]
    assert d.finished


def test_feed_into_every_split_matches_feed(twin):
    data = frame(1, b"out1\n") + frame(2, b"err1\n") + frame(3, b"sys\n") + frame(1, b"out2\n")
    body = chunked(data[:7], data[7:30], data[30:])
    for pieces in splits(body):
        out, err = io.BytesIO(), io.BytesIO()
        d = twin.MultiplexedStreamDecoder(chunked=True)
        errors = []
        for p in pieces:
            errors += d.feed_into(p, out, err)
        d.end()
        assert out.getvalue() == b"out1\nout2\n"
        assert err.getvalue() == b"err1\n"
        assert norm(errors) == [("error", "sys", None, None)]


def test_feed_into_file_descriptor_and_partial_writes(twin, tmp_path):
    data = frame(1, b"x" * 100000) + frame(2, b"y" * 10)
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    trickle = Trickle()
    try:
        d = twin.MultiplexedStreamDecoder()
        assert d.feed_into(memoryview(data), fd, trickle) == []
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * 100000
    assert trickle.data == b"y" * 10


def test_feed_into_bad_target(twin):
    d = twin.MultiplexedStreamDecoder()
    with pytest.raises(TypeError):
        d.feed_into(frame(1, b"x"), object(), object())


def test_feed_into_error_writes_what_came_before(twin):
    out, err = Recorder(), Recorder()
    d = twin.MultiplexedStreamDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        d.feed_into(frame(1, b"ok") + frame(3, b"sys") + b"\x07" + b"\x00" * 7, out, err)
    assert out.writes == [b"ok"]
    assert norm(info.value.items) == [("error", "sys", None, None)]


def test_switching_between_feed_and_feed_into_delivers_each_byte_once(twin):
    data = frame(1, b"abcdef") + frame(2, b"ghijkl")
    d = twin.MultiplexedStreamDecoder()
    assert d.feed(data[:11]) == []  # header + "abc"
    out, err = io.BytesIO(), io.BytesIO()
    assert d.feed_into(data[11:25], out, err) == []  # "def" + header + "ghi"
    assert out.getvalue() == b"abcdef" and err.getvalue() == b"ghi"
    assert norm(d.feed(data[25:])) == [F(ERR, b"jkl")]


def test_raw_feed_into(twin):
    out, err = Recorder(), Recorder()
    d = twin.RawStreamDecoder(chunked=True)
    assert d.feed_into(chunked(b"ab", b"cd"), out, err) == []
    assert out.writes == [b"abcd"] and err.writes == []
    d = twin.RawStreamDecoder()
    d.feed_into(b"xyz", out, err)
    assert out.writes[-1] == b"xyz"


# ---------------------------------------------------------------------------
# JSON streams
# ---------------------------------------------------------------------------

PROGRESS = (
    b'{"status":"Downloading","progressDetail":{"current":123,"total":4567},'
    b'"progress":"[==\\u003e   ] 123B/4.567kB","id":"abc123def456"}'
)
TRICKY = '{"s":"brace } bracket ] quote \\" backslash \\\\ \u00e9\u20ac\U0001f600","n":[{"a":[]},{}]}'.encode()


@pytest.mark.parametrize("sep", [b"", b"\r\n", b"\n", b" \t ", b"\x1e", b"\r\n\x1e"])
def test_json_separators_every_split(twin, sep):
    prefix = b"\x1e" if sep.endswith(b"\x1e") else b""
    data = prefix + PROGRESS + sep + TRICKY + sep + b"[1,2]" + (b"\n" if sep == b"\x1e" else sep)
    expected = [("value", json.loads(PROGRESS)), ("value", json.loads(TRICKY)), ("value", [1, 2])]
    for pieces in splits(data):
        d = twin.JSONStreamDecoder()
        assert feed_all(d, pieces) == expected


def test_json_chunked_events(twin):
    body = recorded_body("events_since.http")
    for pieces in ([body], [body[i : i + 7] for i in range(0, len(body), 7)]):
        d = twin.JSONStreamDecoder(chunked=True)
        items = feed_all(d, pieces)
        assert len(items) >= 5
        assert all(kind == "value" and "Action" in value for kind, value in items)
        assert d.finished


def test_json_utf8_split_everywhere(twin):
    data = '{"x":"h\u00e9llo w\u00f6rld \u2603 \U0001f600"}\r\n'.encode()
    for pieces in splits(data):
        d = twin.JSONStreamDecoder()
        assert feed_all(d, pieces) == [("value", {"x": "h\u00e9llo w\u00f6rld \u2603 \U0001f600"})]


def test_json_error_messages(twin):
    data = (
        b'{"status":"Pulling"}\r\n'
        b'{"errorDetail":{"code":1,"message":"manifest unknown"},"error":"manifest unknown"}\r\n'
        b'{"error":"old style"}\r\n'
        b'{"errorDetail":{"message":"no code"}}\r\n'
    )
    d = twin.JSONStreamDecoder()
    items = d.feed(data)
    assert items[0] == {"status": "Pulling"}
    assert [(e.message, e.code) for e in items[1:]] == [
        ("manifest unknown", 1),
        ("old style", None),
        ("no code", None),
    ]
    assert items[1].data == json.loads(data.splitlines()[1])


@pytest.mark.parametrize(
    "data, offset, message",
    [
        (b'{"a":1}\r\nnull\r\n', 9, "unexpected byte 0x6e between JSON messages at offset 9"),
        (b'{"a":1} "s"', 8, "unexpected byte 0x22"),
        (b'{"a":1}}', 7, "unexpected byte 0x7d"),
        (b'{"a":1}{"a":}', 7, "invalid JSON message at offset 7"),
        (b'{"a":1}{"a":1]', 7, "invalid JSON message at offset 7"),
        (b'{"a":1}{"a":"\xff"}', 7, "invalid JSON message at offset 7"),
        (b'{"a":1}' + b"[" * 100000 + b"]" * 100000, 7, "invalid JSON message at offset 7"),
    ],
)
def test_json_invalid(twin, data, offset, message):
    for pieces in ([data], [data[:8], data[8:]]):
        d = twin.JSONStreamDecoder()
        items = []
        with pytest.raises(RemoteProtocolError) as info:
            for p in pieces:
                items += d.feed(p)
        assert type(info.value) is RemoteProtocolError
        assert message in str(info.value)
        assert info.value.offset == offset
        assert norm(items + info.value.items) == [("value", {"a": 1})]
        with pytest.raises(RemoteProtocolError):
            d.feed(b"{}")


def test_json_too_large_as_soon_as_exceeded(twin):
    msg = b'{"k":"' + b"v" * 10 + b'"}'  # 18 bytes
    d = twin.JSONStreamDecoder(max_message_size=18)
    assert feed_all(d, [msg + b"\r\n" + msg]) == [("value", {"k": "v" * 10})] * 2
    d = twin.JSONStreamDecoder(max_message_size=17)
    assert d.feed(b"\r\n" + msg[:17]) == []
    with pytest.raises(MessageTooLarge) as info:
        d.feed(msg[17:18])  # the 18th byte, without the rest of anything
    assert info.value.offset == 2
    d = twin.JSONStreamDecoder(max_message_size=17)
    with pytest.raises(MessageTooLarge):
        d.feed(b"\r\n" + msg[:18])


def test_json_end_mid_message(twin):
    d = twin.JSONStreamDecoder()
    d.feed(b'{"a":1}\r\n{"b":')
    with pytest.raises(RemoteProtocolError) as info:
        d.end()
    assert "in the middle of a JSON message" in str(info.value)
    d = twin.JSONStreamDecoder(chunked=True)
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(chunked(b'{"a":1}{"b":'))
    assert norm(info.value.items) == [("value", {"a": 1})]


def test_json_long_message_fed_byte_by_byte_is_linear(twin):
    value = {"s": "x\\\"" * 20000, "l": list(range(3000))}
    data = json.dumps(value).encode() + b"\r\n"
    d = twin.JSONStreamDecoder()
    items = []
    for i in range(len(data)):
        items += d.feed(data[i : i + 1])
    assert items == [value]


# ---------------------------------------------------------------------------
# Frame classes and the switch
# ---------------------------------------------------------------------------


def test_frame_class(twin):
    f = twin.Frame(1, bytearray(b"abc"))
    assert f.stream is Stream.STDOUT and f.data == b"abc" and type(f.data) is bytes
    assert f == PyFrame(Stream.STDOUT, b"abc") and PyFrame(Stream.STDOUT, b"abc") == f
    assert f != twin.Frame(2, b"abc") and f != twin.Frame(1, b"abd")
    assert hash(f) == hash(PyFrame(1, b"abc"))
    assert repr(f) == "Frame(STDOUT, b'abc')"
    assert pickle.loads(pickle.dumps(f)) == f
    assert type(pickle.loads(pickle.dumps(f))) is twin.Frame
    with pytest.raises(AttributeError):
        f.data = b"x"
    with pytest.raises(ValueError):
        twin.Frame(5, b"")
    (decoded,) = twin.MultiplexedStreamDecoder().feed(frame(2, b"e"))
    assert decoded.stream is Stream.STDERR
    assert (f == object()) is False


def test_twins_raise_identical_errors():
    cython_twin = pytest.importorskip("protocol._core._speedups")
    bad = [
        (b"1\r\nxy", "MultiplexedStreamDecoder", True),
        (b"zz\r\n", "RawStreamDecoder", True),
        (b'{"a":1}x', "JSONStreamDecoder", False),
    ]
    for data, name, chunked_ in bad:
        errors = []
        for mod in (python_twin, cython_twin):
            with pytest.raises(RemoteProtocolError) as info:
                getattr(mod, name)(chunked=chunked_).feed(data)
            errors.append((type(info.value), str(info.value), info.value.offset))
        assert errors[0] == errors[1]


def test_switch_honours_no_extensions():
    code = "import protocol._core._stream as s; print(s.IMPLEMENTATION, s.Frame.__module__)"
    env = dict(os.environ, PROTOCOL_NO_EXTENSIONS="1")
    src = str(pathlib.Path(__file__).parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["python", "protocol._core._events"]


# Messages orjson decodes (when installed) and messages it must leave to the
# stdlib: integers outside 64 bits, NaN, surrogates; a 19-digit timeNano is
# within its range.
_JSON_EDGES = [
    b'{"time":1764680000,"timeNano":1764680000123456789}',
    b'{"n":18446744073709551615,"m":-9223372036854775808}',
    b'{"n":18446744073709551616}', b'{"m":-9223372036854775809}', b"[123456789012345678901234567890]",
    b'{"a":NaN,"b":Infinity}', b'{"s":"\\ud800"}', '{"s":"\ud800"}'.encode("utf-8", "surrogatepass"),
    b'{"f":1.5e300,"g":1e400}', b'{"id":"x-12345678901234567890"}',
]


@pytest.mark.parametrize("orjson_on", [True, False], ids=["orjson", "stdlib"])
def test_json_values_are_json_loads_values_with_or_without_orjson(twin, orjson_on, monkeypatch):
    from protocol._core import _fastjson

    if orjson_on:
        monkeypatch.setattr(_fastjson, "loads", pytest.importorskip("orjson").loads)
    else:
        monkeypatch.setattr(_fastjson, "loads", None)
    data = b"\n".join(_JSON_EDGES) + b"\n"
    expected = [json.dumps(json.loads(m.decode("utf-8", "surrogatepass"))) for m in _JSON_EDGES]
    for pieces in ([data], [data[i:i + 5] for i in range(0, len(data), 5)]):
        d = twin.JSONStreamDecoder()
        got = feed_all(d, pieces)
        assert [json.dumps(value) for _, value in got] == expected
