"""LineAssembler: lines across frames, streams kept apart, order kept, timestamps."""

from __future__ import annotations

import pathlib

import pytest
from _twins import twin  # noqa: F401  (also provided by conftest.py)

from protocol._core._events import Frame, Stream, StreamError
from protocol._core._lines import LineAssembler, LogLine

OUT, ERR = Stream.STDOUT, Stream.STDERR
RECORDED = pathlib.Path(__file__).parent / "recorded"


def lines(items):
    return [
        (i.stream, i.line, i.timestamp) if isinstance(i, LogLine) else ("error", i.message)
        for i in items
    ]


def test_lines_across_frames_and_streams(twin):
    a = LineAssembler()
    F = twin.Frame
    items = a.feed([F(OUT, b"he"), F(ERR, b"e1\ne"), F(OUT, b"llo\nwor"), F(ERR, b"2\n")])
    assert lines(items) == [(ERR, b"e1\n", None), (OUT, b"hello\n", None), (ERR, b"e2\n", None)]
    assert lines(a.feed([F(OUT, b"ld\nx\ny\n")])) == [
        (OUT, b"world\n", None),
        (OUT, b"x\n", None),
        (OUT, b"y\n", None),
    ]
    assert a.end() == []


def test_end_flushes_partial_lines():
    a = LineAssembler()
    assert a.feed([]) == []
    assert a.feed([Frame(ERR, b"no newline"), Frame(OUT, b"tail")]) == []
    assert lines(a.end()) == [(OUT, b"tail", None), (ERR, b"no newline", None)]
    assert a.end() == []


def test_stream_errors_pass_through_in_order(twin):
    a = LineAssembler()
    err = StreamError("Error grabbing logs: x")
    items = a.feed([twin.Frame(OUT, b"a\nb"), err, twin.Frame(OUT, b"\n")])
    assert lines(items) == [(OUT, b"a\n", None), ("error", "Error grabbing logs: x"), (OUT, b"b\n", None)]


def test_timestamps_from_recorded_logs(twin):
    body = (RECORDED / "logs_timestamps.http").read_bytes().split(b"\r\n\r\n", 1)[1]
    decoder = twin.MultiplexedStreamDecoder(chunked=True)
    a = LineAssembler(timestamps=True)
    got = []
    for i in range(len(body)):  # one byte at a time: lines split across frames
        got += a.feed(decoder.feed(body[i : i + 1]))
    got += a.end()
    assert lines(got)[:3] == [
        (OUT, b"out\n", "2026-11-27T04:27:08.523010823Z"),
        (OUT, b"out2\n", "2026-11-27T04:27:08.523037924Z"),
        (ERR, b"err\n", "2026-11-27T04:27:08.523027474Z"),
    ]
    assert len(got) == 6


def test_without_timestamps_prefix_is_kept(twin):
    a = LineAssembler()
    (line,) = a.feed([twin.Frame(OUT, b"2026-11-27T04:27:08Z out\n")])
    assert line.line == b"2026-11-27T04:27:08Z out\n" and line.timestamp is None


def test_timestamp_only_line(twin):
    a = LineAssembler(timestamps=True)
    (line,) = a.feed([twin.Frame(ERR, b"2026-11-27T04:27:08.1Z \n")])
    assert (line.stream, line.line, line.timestamp) == (ERR, b"\n", "2026-11-27T04:27:08.1Z")


def test_logline_value_semantics():
    a = LogLine(1, b"x\n", "t")
    assert a == LogLine(OUT, b"x\n", "t") and hash(a) == hash(LogLine(OUT, b"x\n", "t"))
    assert a != LogLine(OUT, b"x\n")
    assert repr(a) == "LogLine(STDOUT, b'x\\n', timestamp='t')"
    with pytest.raises(AttributeError):
        a.line = b""


def test_rejects_other_items():
    with pytest.raises(TypeError):
        LineAssembler().feed([{"status": "x"}])


# -- the partial line is bounded (peer-controlled memory) ---------------------


def _pieces_at_every_split(payload, limit, twin, timestamps=False):
    """Feed ``payload`` as stdout frames cut at every pair of points; every
    cut must give the same items."""
    F = twin.Frame
    seen = set()
    for i in range(len(payload) + 1):
        for j in range(i, len(payload) + 1):
            a = LineAssembler(timestamps=timestamps, max_line_size=limit)
            parts = [p for p in (payload[:i], payload[i:j], payload[j:]) if p]
            items = a.feed([F(OUT, p) for p in parts]) + a.end()
            assert all(len(p) <= limit for p in a._partial)
            seen.add(tuple(lines(items)))
    assert len(seen) == 1, seen
    return list(seen.pop())


def test_a_long_line_comes_in_pieces_of_the_limit_whatever_the_framing(twin):
    got = _pieces_at_every_split(b"abcdefghij\nxy\n0123\n", 4, twin)
    assert got == [
        (OUT, b"abcd", None), (OUT, b"efgh", None), (OUT, b"ij\n", None),
        (OUT, b"xy\n", None),
        (OUT, b"0123", None), (OUT, b"\n", None),
    ]


def test_a_line_of_exactly_the_limit_is_one_line(twin):
    assert _pieces_at_every_split(b"abc\nde", 4, twin) == [(OUT, b"abc\n", None), (OUT, b"de", None)]


def test_only_the_first_piece_of_a_long_line_is_read_for_a_timestamp(twin):
    ts = b"2026-11-27T04:21:34.123456789Z"
    payload = ts + b" " + b"1" * 40 + b" 2 3\n" + ts + b" short\n"
    got = _pieces_at_every_split(payload, 40, twin, timestamps=True)
    assert got == [
        (OUT, b"1" * 9, ts.decode()),  # 40 bytes: the prefix and nine digits
        # Digits, then a space: read as a timestamp if it were a line's start.
        (OUT, b"1" * 31 + b" 2 3\n", None),
        (OUT, b"short\n", ts.decode()),
    ]


def test_a_line_that_never_ends_keeps_memory_bounded(twin):
    a = LineAssembler(max_line_size=1024)
    chunk = twin.Frame(ERR, b"x" * 1000)
    delivered = 0
    for _ in range(2000):  # 2 MB without a newline
        for item in a.feed([chunk]):
            assert item.stream == ERR and len(item.line) == 1024
            delivered += len(item.line)
        assert len(a._partial[ERR]) <= 1024
    delivered += sum(len(i.line) for i in a.end())
    assert delivered == 2_000_000


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_max_line_size_must_be_a_positive_int(bad):
    with pytest.raises(ValueError):
        LineAssembler(max_line_size=bad)
