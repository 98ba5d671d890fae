"""The connection's fast path for small requests, held to h11's behaviour.

The fast path frames requests and parses whole response heads without h11
(see ``_connection.py``).  It must be invisible: for every request the bytes
are h11's, and for every answer (split anywhere, valid or hostile) the
events and errors are those of the h11 path.  The reference is the same
Connection with the fast path switched off.  ``parse_head`` has two twins,
held to identical results.
"""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import protocol
from protocol import Connection, Request, ResponseKind
from protocol._core._connection import ConnectionState

from _twins import TWINS, get_twin

RECORDED = pathlib.Path(__file__).parent / "recorded"
UA = ((b"User-Agent", b"docker-protocol/test"),)


def reference(twin, **options):
    """A Connection that never takes the fast path: h11 frames and parses."""
    conn = Connection(stream_impl=twin, default_headers=UA, **options)
    conn._fast_defaults = None  # the fast path's own switch: h11 for every request
    return conn


def fast(twin, **options):
    return Connection(stream_impl=twin, default_headers=UA, **options)


def outcome(conn, request, pieces, eof=True):
    """What a caller sees: the request bytes, then each call's events or
    error (type, message, items), then the final state."""
    seen = []
    try:
        seen.append(("sent", conn.send_request(request)))
    except Exception as exc:  # the caller's error must match too
        return [("send-error", type(exc).__name__, str(exc))]
    return _received(conn, pieces, eof, seen)


def _received(conn, pieces, eof, seen):
    """``outcome``'s reading part: each piece's events or error, then the state."""
    for piece in [*pieces, *([b""] if eof else [])]:
        if conn.state not in (ConnectionState.AWAITING_RESPONSE, ConnectionState.RECEIVING_BODY,
                              ConnectionState.RECEIVING_STREAM, ConnectionState.HIJACKED):
            break
        try:
            seen.append(("events", _plain(conn.receive_data(piece))))
        except Exception as exc:
            seen.append(("error", type(exc).__name__, str(exc), _plain(getattr(exc, "items", []))))
            break
    seen.append(("state", conn.state, conn.reusable))
    return seen


def _plain(events):
    """Events as comparable values, adjacent Data merged (their boundaries
    follow the reads, not the protocol)."""
    out = []
    for ev in events:
        name = type(ev).__name__
        if name == "Data" and out and out[-1][0] == "Data":
            out[-1] = ("Data", out[-1][1] + ev.data)
        elif name == "Data":
            out.append(("Data", ev.data))
        elif name == "Response":
            out.append(("Response", ev.status_code, ev.headers, ev.reason, ev.http_version, ev.kind))
        elif name == "Frame":
            out.append(("Frame", int(ev.stream), bytes(ev.data)))
        else:
            out.append((name, repr(ev)))
    return out


def splits(data):
    """Whole, then in two at every offset of the head and the start of the
    body (the fast path only differs from h11 there), then at a few later
    offsets."""
    yield [data]
    near = data.find(b"\r\n\r\n") + 64 if b"\r\n\r\n" in data else len(data)
    offsets = [*range(1, min(near, len(data))), *range(near, len(data), 997)]
    for i in offsets:
        yield [data[:i], data[i:]]


def same_everywhere(twin, request, answer, **options):
    for pieces in splits(answer):
        want = outcome(reference(twin, **options), request, pieces)
        got = outcome(fast(twin, **options), request, pieces)
        assert got == want, pieces


PING = Request("GET", "/_ping", kind=ResponseKind.TEXT)
HEAD_PING = Request("HEAD", "/_ping", kind=ResponseKind.TEXT)
INSPECT = Request("GET", "/containers/{id}/json", params={"id": "abc"}, version="1.41")
CREATE = Request("POST", "/containers/create", json={"Image": "busybox"}, version="1.41")
EVENTS = Request("GET", "/events", kind=ResponseKind.JSON_STREAM, version="1.41")
LOGS = Request("GET", "/containers/{id}/logs", params={"id": "abc"}, kind=ResponseKind.STREAM,
               tty=False, version="1.41")
EXPORT = Request("GET", "/containers/{id}/export", params={"id": "abc"}, kind=ResponseKind.BINARY,
                 version="1.41")
REQUESTS = [PING, HEAD_PING, INSPECT, CREATE, EVENTS, LOGS, EXPORT]


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDED.glob("*.http") if "101" not in p.stem
                                        and "exec_200" not in p.stem and "attach" not in p.stem))
@pytest.mark.parametrize("request_", [HEAD_PING, INSPECT, EVENTS, LOGS],
                         ids=lambda r: f"{r.method}-{r.kind.value}")
def test_recorded_answers_at_every_split(twin, name, request_):
    same_everywhere(twin, request_, (RECORDED / f"{name}.http").read_bytes())


HOSTILE_HEADS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKjunk",  # bytes after the answer
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nOK",  # EOF inside the body
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nOK",  # a list: h11 merges it
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nContent-Length: 123456789012345678901\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nOK\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nread until close",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n",
    b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200  two spaces\t\x80\xff\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
    b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nOK",  # bare LF line ends
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\x0bb\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\x0cb\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: \t a \t b \t\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX:\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: \x80\xff\x7f\x01\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-\xff: a\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n X: folded\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nextra",
    b"HTTP/1.1 304 Not Modified\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n"
    b'{"message":"nope"}\n\n',
    b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nerror\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n9\r\n\x01\x00\x00\x00\x00\x00\x00\x01a\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\n{\"b\":2}\n",
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n",
]


@pytest.mark.parametrize("answer", HOSTILE_HEADS)
@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.method}-{r.kind.value}")
def test_hostile_answers_at_every_split(twin, answer, request_):
    same_everywhere(twin, request_, answer)


def test_limits_hold_on_the_fast_path(twin):
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    same_everywhere(twin, INSPECT, big, max_body_size=50)
    many = b"HTTP/1.1 200 OK\r\n" + b"X-A: " + b"a" * 300 + b"\r\nContent-Length: 0\r\n\r\n"
    same_everywhere(twin, INSPECT, many, max_head_size=200)


# -- generated heads -----------------------------------------------------------

_piece = st.sampled_from([
    b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found", b"HTTP/1.1 204", b"HTTP/1.1 101 Up",
    b"HTTP/1.0 200 OK", b"Content-Length: 2", b"Content-Length: 0", b"Content-Length: x",
    b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip", b"Connection: close",
    b"Content-Type: application/json", b"X: a b", b" folded", b"X:", b"Bad Name: 1",
    b"Api-Version: 1.41", b"X: \x80", b"X: a\x00", b"\t", b"",
])
_sep = st.sampled_from([b"\r\n", b"\n", b"\r", b"\r\n\r\n"])
_answer = st.lists(st.tuples(_piece, _sep, st.binary(max_size=3)), max_size=8).map(
    lambda parts: b"".join(p + s + j for p, s, j in parts)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=_answer, request_=st.sampled_from(REQUESTS))
@example(answer=b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", request_=PING)
def test_generated_answers_at_every_split(twin, answer, request_):
    same_everywhere(twin, request_, answer)


@settings(max_examples=500, deadline=None)
@given(data=st.one_of(_answer, st.binary(max_size=200),
                      st.builds(lambda a, b: a + b"\r\n\r\n" + b, _answer, st.binary(max_size=20))))
def test_parse_head_twins_agree(data):
    cython = TWINS["cython"]
    if cython is None:
        get_twin("cython")  # skips, or fails under PROTOCOL_REQUIRE_EXTENSIONS=1
    assert cython.parse_head(data) == TWINS["python"].parse_head(data)


@pytest.mark.parametrize("head, length, close", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n", 10**18 - 1, False),  # 18 digits
    (b"HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n", 10**19 - 1, False),  # 19: int()
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 10**20 - 1, False),  # 20, h11's bound
    (b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", 7, False),
    (b"HTTP/1.1 200 OK\r\nCONNECTION: Close\r\nContent-Length: 0\r\n\r\n", 0, True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", -1, True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", -1, False),
    (b"HTTP/1.1 200 OK\r\nX-Close: close\r\n\r\n", -1, False),  # only Connection counts
])
def test_parse_head_length_and_close_on_both_twins(head, length, close):
    results = []
    for name in ("python", "cython"):
        impl = TWINS[name] if TWINS[name] is not None else get_twin(name)
        parsed = impl.parse_head(head)
        assert parsed is not None and parsed[4] == length and parsed[6] is close
        results.append(parsed)
    assert results[0] == results[1]


def test_parse_head_names_are_lower_case_whatever_their_length_or_case():
    long_name = b"X-" + b"Ab" * 20  # past the compiled twin's 32-byte stack buffer
    head = (b"HTTP/1.1 200 OK\r\nAPI-VERSION: 1.41\r\nDate: x\r\nDatE2: y\r\n" + long_name
            + b": z\r\nContent-Length: 0\r\n\r\n")
    for name in ("python", "cython"):
        impl = TWINS[name] if TWINS[name] is not None else get_twin(name)
        headers = impl.parse_head(head)[3]
        assert [n for n, _ in headers] == [b"api-version", b"date", b"date2", long_name.lower(), b"content-length"]


# -- requests --------------------------------------------------------------------

@pytest.mark.parametrize("request_", [
    *REQUESTS,
    Request("GET", "/x", headers={"X-Registry-Auth": "abc", "X-Obs": "caf\xe9"}),
    Request("POST", "/x", body=b""),
    Request("PUT", "/x"),
    Request("DELETE", "/x", query={"force": True, "filters": {"a": ["b"]}}),
    Request("POST", "/x", headers={"User-Agent": "mine"}, json=[1]),  # overrides the default
    Request("GET", "/x", headers={"X": " leading space"}),  # h11 refuses it
    Request("GET", "/x", headers={"X": "tab\tinside"}),
    Request("GET", "/x", headers={"X": "vt\x0binside"}),  # h11 refuses it
    Request("GET", "/x", headers={"Content-Length": "0"}),  # framing header: h11's
    Request("GET", "/x", headers={"Host": "other"}),  # a second Host: h11 refuses
    Request("GET", "/x", headers={"Connection": "close"}),
    Request("POST", "/x", body=iter([b"a", b"b"])),  # streamed body: h11's
    Request("GET", "/x y"),  # a space in the target: h11 refuses it
    Request("GET", "/x\x7f"),
    Request("GET", "/caf\xe9"),  # not ASCII
    Request("GET", "/x", query={"q": "a b\xe9"}, version="1.41"),  # quoted: fine
], ids=repr)
def test_request_bytes_are_h11s(twin, request_):
    assert outcome(fast(twin), request_, [], eof=False) == outcome(reference(twin), request_, [], eof=False)


@pytest.mark.parametrize("defaults", [
    ((b"X-Meta", b"a b"),), ((b"X-Meta", b" bad"),), ((b"Connection", b"close"),), ((b"Bad Name", b"x"),),
    ((b"X-Meta", b"\x80"),), (),
])
def test_default_headers_are_sent_as_h11_sends_them(twin, defaults):
    def with_defaults(conn):
        conn._default_headers = defaults
        return conn

    ref = with_defaults(Connection(stream_impl=twin, default_headers=defaults))
    ref._fast_defaults = None
    assert outcome(Connection(stream_impl=twin, default_headers=defaults), INSPECT, [], eof=False) == \
        outcome(ref, INSPECT, [], eof=False)


@pytest.mark.parametrize("host", [b"docker", b"api.moby.localhost", b" bad", b"a\x00b", b""])
def test_host_is_sent_as_h11_sends_it(twin, host):
    assert outcome(fast(twin, host=host), PING, [], eof=False) == \
        outcome(reference(twin, host=host), PING, [], eof=False)


def test_a_dockerd_answer_takes_the_fast_path(twin):
    """The usual answer (head and body in one read) is parsed without h11:
    a regression to the slow path shows here, not only in the benchmarks."""
    conn = fast(twin)
    conn.send_request(PING)
    events = conn.receive_data((RECORDED / "ping_get.http").read_bytes())
    assert conn._h11 is None and conn.reusable
    assert [type(e).__name__ for e in events] == ["Response", "Data", "EndOfMessage"]


def _cycle(conn, request, answer):
    events = [("sent", conn.send_request(request))]
    events.append(_plain(conn.receive_data(answer)))
    return events, conn.state, conn.reusable


def test_a_repeated_head_gives_the_same_events_as_a_new_one(twin):
    # The fast path remembers the last head it parsed; the answers below
    # repeat it, change one byte of it, extend it and end the connection.
    ping = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
    other = ping.replace(b"1.41", b"1.42")
    longer = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\nX: 1\r\n\r\nOK"
    closing = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"
    fast_conn, ref_conn = fast(twin), reference(twin)
    for answer in (ping, ping, other, ping, longer, ping, ping[:-2] + b"NO", closing):
        got, want = _cycle(fast_conn, PING, answer), _cycle(ref_conn, PING, answer)
        assert got == want, answer
    assert fast_conn.state is ConnectionState.CLOSED


def test_a_repeated_head_keeps_its_framing_errors(twin):
    # The remembered head's Content-Length still frames the next body.
    ping = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
    conn, ref = fast(twin), reference(twin)
    assert _cycle(conn, PING, ping) == _cycle(ref, PING, ping)
    assert outcome(conn, PING, [ping + b"junk"]) == outcome(ref, PING, [ping + b"junk"])


def test_the_same_request_answered_by_the_same_head_is_held_to_h11(twin):
    # After a repeated head for the same Request object, the fast path
    # reuses what it decided after that head (body length, limit): each
    # answer below must still give h11's events and errors, whether the
    # body came whole, split, with extra bytes, or over a lowered limit.
    ping = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
    head_len = len(ping) - 2
    fast_conn, ref_conn = fast(twin), reference(twin)
    for _ in range(3):
        assert _cycle(fast_conn, PING, ping) == _cycle(ref_conn, PING, ping)
    assert fast_conn._last_plan is not None and fast_conn._last_plan[0] is PING
    for pieces in ([ping[:head_len + 1], ping[head_len + 1:]], [ping[:head_len], ping[head_len:]], [ping]):
        assert outcome(fast_conn, PING, pieces, eof=False) == outcome(ref_conn, PING, pieces, eof=False)
    assert outcome(fast_conn, PING, [ping + b"x"]) == outcome(ref_conn, PING, [ping + b"x"])
    fast_conn, ref_conn = fast(twin), reference(twin)
    for _ in range(2):
        assert _cycle(fast_conn, PING, ping) == _cycle(ref_conn, PING, ping)
    fast_conn.max_body_size = ref_conn.max_body_size = 1  # as connection_for() does for a new client bound
    got, want = outcome(fast_conn, PING, [ping]), outcome(ref_conn, PING, [ping])
    assert got == want and got[1][:2] == ("error", "MessageTooLarge")


def test_only_small_heads_are_remembered(twin):
    big = b"HTTP/1.1 200 OK\r\nX: " + b"a" * 2000 + b"\r\nContent-Length: 0\r\n\r\n"
    small = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    conn = fast(twin)
    _cycle(conn, PING, big)
    assert conn._last_head == b""
    _cycle(conn, PING, small)
    assert conn._last_head == small


def test_a_repeated_head_is_the_same_event_only_for_the_same_kind(twin):
    answer = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\n{}"
    conn, ref = fast(twin), reference(twin)
    heads = []
    for request_ in (INSPECT, INSPECT, PING, INSPECT):
        assert _cycle(conn, request_, answer) == _cycle(ref, request_, answer)
        heads.append(conn.response)
    assert heads[0] is heads[1]  # made once, handed out again
    assert heads[2].kind is ResponseKind.TEXT and heads[3].kind is ResponseKind.JSON
    assert heads[3] == heads[0]


_CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("body", [
    b"d\r\n{\"Id\": \"abc\"}\r\n0\r\n\r\n",  # one chunk: dockerd's small answers
    b"3\r\n{\"a\r\nC\r\n\": [1, 2, 3]\r\n1\r\n}\r\n0\r\n\r\n",  # several, upper-case hex
    b"0\r\n\r\n",  # empty
    b"000d\r\n{\"Id\": \"abc\"}\r\n00\r\n\r\n",  # leading zeros
    b"0000000000000002\r\n{}\r\n0\r\n\r\n",  # 16 digits: the bound
    b"00000000000000002\r\n{}\r\n0\r\n\r\n",  # 17: refused by the stream layer
    b"2;ext=1\r\n{}\r\n0\r\n\r\n",  # an extension: the stream layer's
    b"2 \r\n{}\r\n0\r\n\r\n",
    b"2\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n",  # a trailer
    b"2\r\n{}\r\n0\r\n\r\nextra",  # bytes after the answer
    b"2\r\n{}x\r\n0\r\n\r\n",  # chunk longer than its size
    b"2\r\n{}\r\n0\r\n",  # the end not here yet
    b"+2\r\n{}\r\n0\r\n\r\n", b"0x2\r\n{}\r\n0\r\n\r\n", b"2_\r\n{}\r\n0\r\n\r\n",  # int() would take these
    b"\r\n{}\r\n0\r\n\r\n",
])
@pytest.mark.parametrize("max_body_size", [None, 2])
def test_chunked_answers_whole_with_their_head_at_every_split(twin, body, max_body_size):
    options = {} if max_body_size is None else {"max_body_size": max_body_size}
    same_everywhere(twin, INSPECT, _CHUNKED_HEAD + body, **options)



def test_a_repeated_request_skips_only_checks_it_passed(twin):
    # The request a connection framed last is sent again without its
    # checks; anything else is still checked, a fresh connection included.
    conn = fast(twin)
    with pytest.raises(protocol.LocalProtocolError, match="takes a Request"):
        conn.send_request(None)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
    _cycle(conn, PING, answer)
    with pytest.raises(protocol.LocalProtocolError, match="takes a Request"):
        conn.send_request("GET /_ping")
    first = conn.send_request(PING)
    with pytest.raises(protocol.LocalProtocolError):
        conn.send_request(PING)  # mid-cycle: the state check still applies
    conn.receive_data(answer)
    assert conn.send_request(PING) == first


# -- receive_whole: a repeated answer in one step ---------------------------------


def whole_outcome(conn, request, pieces, limit=None):
    """``outcome`` as a driver that reads whole answers sees it: the first
    piece offered to ``receive_whole``; when it declines, every piece goes
    to ``receive_data`` as before.  The whole answer is rendered as the
    events ``receive_data`` would have given for it."""
    seen = [("sent", conn.send_request(request))]
    whole = conn.receive_whole(pieces[0], limit)
    if whole is not None:
        head, body = whole
        assert type(body) is bytes
        events = [head, *([protocol.Data(body)] if body else []), protocol.EndOfMessage(keep_alive=True)]
        seen.append(("events", _plain(events)))
        seen.append(("state", conn.state, conn.reusable))
        return seen, body
    return _received(conn, pieces, True, seen), None


_LENGTH_HEAD = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 13\r\n\r\n"
_ONE_CHUNK = b"d\r\n{\"Id\": \"abc\"}\r\n0\r\n\r\n"

# What may follow a head that repeats: the first answer of each list makes
# the plan; the others are held to h11, whole (receive_whole's) or not.
_REPEATS = {
    "length": (PING, _LENGTH_HEAD, [
        b'{"Id": "abc"}', b'{"Id": "xyz"}', b'{"Id": "ab"}', b'{"Id": "abcd"}', b'{"Id": "abc"}\r\n',
        b"", b'{"Id": "abc"}HTTP/1.1 200 OK\r\n',
    ]),
    "chunked": (INSPECT, _CHUNKED_HEAD, [
        _ONE_CHUNK, b"d\r\n{\"Id\": \"xyz\"}\r\n0\r\n\r\n", b"D\r\n{\"Id\": \"abc\"}\r\n0\r\n\r\n",
        b"000d\r\n{\"Id\": \"abc\"}\r\n0\r\n\r\n", b"0\r\n\r\n", b"0\r\n\r\n0\r\n\r\n",
        b"0\r\n\r\n\r\n0\r\n\r\n", b"2;x\r\n{}\r\n0\r\n\r\n", b"+2\r\n{}\r\n0\r\n\r\n",
        b"0x2\r\n{}\r\n0\r\n\r\n", b" 2\r\n{}\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n",
        b"2\r\n{}\r\n0\r\n\r\nextra", b"2\r\n{}x\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\n", b"2\r\n{}",
        b"3\r\n{\"a\r\n2\r\n:1\r\n1\r\n}\r\n0\r\n\r\n", b"00000000000000f\r\n" + b"x" * 15 + b"\r\n0\r\n\r\n",
        b"000000000000000f\r\n" + b"x" * 15 + b"\r\n0\r\n\r\n", b"\r\n{}\r\n0\r\n\r\n",
    ]),
    "head": (HEAD_PING, b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\n", [b"", b"OK", b"\r\n"]),
}


@pytest.mark.parametrize("shape", sorted(_REPEATS))
@pytest.mark.parametrize("max_body_size, limit", [(None, None), (None, 13), (None, 2), (13, None), (2, None)])
def test_receive_whole_takes_only_what_receive_data_would_end_the_same_way(twin, shape, max_body_size, limit):
    request, head, bodies = _REPEATS[shape]
    options = {} if max_body_size is None else {"max_body_size": max_body_size}
    taken = 0
    for body in bodies:
        conn, ref = fast(twin, **options), reference(twin, **options)
        first = head + bodies[0]
        primed = outcome(conn, request, [first], eof=False)
        assert primed == outcome(ref, request, [first], eof=False)
        if not conn.reusable:
            continue  # the first answer broke a bound: no next request on it
        answer = head + body
        for pieces in splits(answer):
            conn2, ref2 = fast(twin, **options), reference(twin, **options)
            outcome(conn2, request, [first], eof=False)
            outcome(ref2, request, [first], eof=False)
            got, whole = whole_outcome(conn2, request, pieces, limit)
            want = outcome(ref2, request, pieces, eof=True)
            if whole is not None:
                taken += 1
                # Taken whole only when the first piece is the whole answer
                # that keeps the connection, within both bounds.
                assert want[-1] == ("state", ConnectionState.IDLE, True)
                assert len(want) == 3 + (len(pieces) > 1 and want[2][0] == "events")
                want = want[:2] + [want[-1]]
                assert limit is None or len(whole) <= limit
            assert got == want, (body, pieces)
    if max_body_size is None and limit is None:
        assert taken, "receive_whole never took a repeat"


def test_receive_whole_only_for_the_same_request_and_bounds(twin):
    answer = _LENGTH_HEAD + b'{"Id": "abc"}'
    conn = fast(twin)
    assert conn.receive_whole(answer) is None  # IDLE: nothing to receive
    conn.send_request(PING)
    assert conn.receive_whole(answer) is None  # no plan yet: the general path's
    conn.receive_data(answer)
    conn.send_request(PING)
    head, body = conn.receive_whole(answer)
    assert body == b'{"Id": "abc"}' and head is conn.response and conn.reusable
    assert conn.receive_whole(answer) is None  # the cycle is over
    other = Request("GET", "/_ping", kind=ResponseKind.TEXT)  # equal, but another request
    conn.send_request(other)
    assert conn.receive_whole(answer) is None
    conn.receive_data(answer)
    conn.send_request(other)
    assert conn.receive_whole(answer) is not None
    conn.max_body_size = 5  # a new bound: decided again by the general path
    conn.send_request(other)
    assert conn.receive_whole(answer) is None
    with pytest.raises(protocol.MessageTooLarge):
        conn.receive_data(answer)
    # A head split from its body, or a first piece h11 took, is never taken.
    conn = fast(twin)
    _cycle(conn, PING, answer)
    conn.send_request(PING)
    conn.receive_data(answer[:10])
    assert conn._h11 is not None and conn.receive_whole(answer[10:]) is None
    # A closing answer makes no plan: the connection ends with it.
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"
    conn = fast(twin)
    _cycle(conn, PING, closing)
    assert conn._last_plan is None
