"""The sans-I/O connection, fed recorded Docker 20.10 responses.

Every response is fed whole, one byte at a time, and split at every offset;
all three must give the same events.  Each test runs on both twins of the
stream layer (the ``twin`` fixture).
"""

import pathlib

import pytest

from protocol import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    Frame,
    LocalProtocolError,
    RemoteProtocolError,
    Request,
    Response,
    ResponseKind,
    Stream,
    StreamError,
)

RECORDED = pathlib.Path(__file__).parent / "recorded"
CID = "c0ffee" * 10 + "abcd"


def recorded(name):
    return (RECORDED / f"{name}.http").read_bytes()


def normalise(events, raw=False):
    """Merge adjacent Data (and, for raw streams, adjacent Frames): their
    boundaries follow the reads, not the protocol."""
    out = []
    for ev in events:
        if raw and type(ev).__name__ == "Frame" and out and out[-1][:2] == ("frame", int(ev.stream)):
            out[-1] = ("frame", int(ev.stream), out[-1][2] + bytes(ev.data))
            continue
        if isinstance(ev, Data) and out and out[-1][0] == "data":
            out[-1] = ("data", out[-1][1] + ev.data)
        elif isinstance(ev, Data):
            out.append(("data", ev.data))
        elif type(ev).__name__ == "Frame":  # either twin's Frame class
            out.append(("frame", int(ev.stream), bytes(ev.data)))
        elif isinstance(ev, Response):
            out.append(("response", ev.status_code, ev.headers, ev.kind))
        elif isinstance(ev, EndOfMessage):
            out.append(("eom", ev.keep_alive))
        elif isinstance(ev, ConnectionClosed):
            out.append(("closed",))
        elif isinstance(ev, StreamError):
            out.append(("error", ev.message, ev.code))
        else:
            out.append(("json", ev))
    return out


def run(request, pieces, twin, eof=False):
    conn = Connection(stream_impl=twin)
    conn.send_request(request)
    events = []
    for piece in pieces:
        events.extend(conn.receive_data(piece))
    if eof:
        events.extend(conn.receive_data(b""))
    return conn, events


def all_splittings(data):
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]


def check_every_split(request, data, twin, eof=False, raw=False):
    conn, events = run(request, [data], twin, eof)
    expected = normalise(events, raw)
    for pieces in all_splittings(data):
        c, evs = run(request, pieces, twin, eof)
        assert normalise(evs, raw) == expected, [len(p) for p in pieces][:3]
        assert c.state == conn.state
    return conn, expected


def req(method, path, kind=ResponseKind.JSON, **kw):
    return Request(method, path, kind=kind, version=kw.pop("version", "1.41"), **kw)


def test_ping_get(twin):
    conn, ev = check_every_split(Request("GET", "/_ping", kind=ResponseKind.TEXT), recorded("ping_get"), twin)
    assert ev[0][:2] == ("response", 200)
    assert ev[1:] == [("data", b"OK"), ("eom", True)]
    assert conn.state is ConnectionState.IDLE


def test_ping_head_has_no_body(twin):
    conn, ev = check_every_split(Request("HEAD", "/_ping", kind=ResponseKind.EMPTY), recorded("ping_head"), twin)
    assert [e[0] for e in ev] == ["response", "eom"]
    headers = dict(ev[0][2])
    assert headers[b"api-version"] == b"1.41"


def test_version_json(twin):
    _, ev = check_every_split(req("GET", "/version"), recorded("version"), twin)
    import json

    assert json.loads(ev[1][1])["ApiVersion"] == "1.41"
    assert ev[-1] == ("eom", True)


@pytest.mark.parametrize("name, status", [("not_found_json", 404), ("not_found_text", 404), ("too_new", 400), ("too_old", 400), ("stop_304", 304)])
def test_error_heads_keep_their_body(name, status, twin):
    _, ev = check_every_split(req("GET", "/containers/{id}/json", params={"id": "nope"}), recorded(name), twin)
    assert ev[0][1] == status
    assert ev[0][3] is ResponseKind.JSON  # error bodies are never streams
    assert ev[-1] == ("eom", True)


def test_create_start_wait_remove(twin):
    _, ev = check_every_split(req("POST", "/containers/create", json={"Image": "x"}), recorded("create"), twin)
    assert ev[0][1] == 201 and CID.encode() in ev[1][1]
    _, ev = check_every_split(req("POST", "/containers/{id}/start", ResponseKind.EMPTY, params={"id": CID}), recorded("start"), twin)
    assert ev == [ev[0], ("eom", True)] and ev[0][1] == 204
    _, ev = check_every_split(req("POST", "/containers/{id}/wait", params={"id": CID}), recorded("wait"), twin)
    assert ev[1] == ("data", b'{"Error":null,"StatusCode":0}\n')
    _, ev = check_every_split(req("DELETE", "/containers/{id}", ResponseKind.EMPTY, params={"id": CID}), recorded("remove"), twin)
    assert ev[0][1] == 204


def test_logs_are_demultiplexed_at_every_split(twin):
    r = req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID}, query={"stdout": True, "stderr": True}, tty=False)
    conn, ev = check_every_split(r, recorded("logs"), twin)
    # The recorded container ran twice (started again after it exited).
    stdout = [e[2] for e in ev if e[0] == "frame" and e[1] == Stream.STDOUT]
    stderr = [e[2] for e in ev if e[0] == "frame" and e[1] == Stream.STDERR]
    assert stdout == [b"out\n", b"out2\n"] * 2
    assert stderr == [b"err\n"] * 2
    assert ev[-1] == ("eom", True)
    assert conn.state is ConnectionState.IDLE


def test_logs_with_tty_are_raw(twin):
    r = req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID}, tty=True)
    _, events = run(r, [recorded("logs")], twin)
    data = b"".join(e.data for e in events if type(e).__name__ == "Frame")
    assert data.startswith(b"\x01\x00\x00\x00\x00\x00\x00\x04out\n")  # frame headers are payload now


def test_stream_kind_needs_tty_below_1_42():
    r = req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID})
    with pytest.raises(LocalProtocolError, match="tty="):
        Connection().send_request(r)


def test_multiplexed_content_type_wins(twin):
    body = b"c\r\n\x01\x00\x00\x00\x00\x00\x00\x04out\n\r\n0\r\n\r\n"
    head = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    r = req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID}, version="1.43")
    _, ev = check_every_split(r, head + body, twin)
    assert ("frame", 1, b"out\n") in ev


def test_events_json_stream(twin):
    data = recorded("events_since")
    r = req("GET", "/events", ResponseKind.JSON_STREAM)
    conn, events = run(r, [data], twin)
    msgs = [e for e in events if isinstance(e, dict)]
    assert msgs and all("Type" in m and "Action" in m for m in msgs)
    assert isinstance(events[-1], EndOfMessage)
    expected = normalise(events)
    for i in range(1, len(data)):
        _, evs = run(r, [data[:i], data[i:]], twin)
        assert normalise(evs) == expected, i
    _, evs = run(r, [data[i:i + 1] for i in range(len(data))], twin)
    assert normalise(evs) == expected


def test_keep_alive_cycles(twin):
    conn = Connection(stream_impl=twin)
    for name, request in [
        ("ping_get", Request("GET", "/_ping", kind=ResponseKind.TEXT)),
        ("logs", req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID}, tty=False)),
        ("version", req("GET", "/version")),
    ]:
        conn.send_request(request)
        events = conn.receive_data(recorded(name))
        assert events[-1] == EndOfMessage(keep_alive=True)
        assert conn.state is ConnectionState.IDLE


def test_truncated_chunked_stream_is_an_error(twin):
    data = recorded("logs")
    cut = data[: data.index(b"out\n") + 2]
    r = req("GET", "/containers/{id}/logs", ResponseKind.STREAM, params={"id": CID}, tty=False)
    conn, events = run(r, [cut], twin)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"")
    assert conn.state is ConnectionState.ERROR


def test_garbage_head_is_remote_error(twin):
    conn = Connection(stream_impl=twin)
    conn.send_request(Request("GET", "/_ping"))
    with pytest.raises(RemoteProtocolError, match="malformed HTTP"):
        conn.receive_data(b"NOT HTTP AT ALL\r\n\r\n")
    assert conn.state is ConnectionState.ERROR
    with pytest.raises(LocalProtocolError):
        conn.send_request(Request("GET", "/_ping"))


def test_unexpected_bytes_after_response(twin):
    conn = Connection(stream_impl=twin)
    conn.send_request(Request("GET", "/_ping", kind=ResponseKind.TEXT))
    with pytest.raises(RemoteProtocolError, match="unexpected bytes"):
        conn.receive_data(recorded("ping_get") + b"junk")


def test_close_before_answer(twin):
    conn = Connection(stream_impl=twin)
    conn.send_request(Request("GET", "/_ping"))
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"")


def test_calls_in_wrong_state():
    conn = Connection()
    with pytest.raises(LocalProtocolError, match="not allowed"):
        conn.receive_data(b"x")
    with pytest.raises(LocalProtocolError, match="not allowed"):
        conn.send_data(b"x")
    conn.send_request(Request("GET", "/_ping"))
    with pytest.raises(LocalProtocolError, match="not allowed"):
        conn.send_request(Request("GET", "/_ping"))


def test_request_bytes():
    conn = Connection()
    out = conn.send_request(Request("POST", "/containers/create", query={"name": "x"}, json={"Image": "busybox"}, version="1.41"))
    assert out == (
        b"POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: docker\r\n"
        b"Content-Type: application/json\r\nContent-Length: 19\r\n\r\n"
        b'{"Image":"busybox"}'
    )


def test_a_kept_connection_sends_a_repeated_request_from_its_cache():
    conn = Connection()
    first = Request("GET", "/_ping", kind=ResponseKind.TEXT)
    out = conn.send_request(first)
    assert out == b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    assert conn.reusable
    assert conn.send_request(first) is out  # the same immutable request: the same bytes
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    other = Request("GET", "/version", version="1.41")
    assert conn.send_request(other).startswith(b"GET /v1.41/version HTTP/1.1\r\n")
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    assert conn.worth_keeping
    # A connection whose last request carried a large body is not kept: the
    # body would stay in memory while the connection waits in a pool.
    conn.send_request(Request("POST", "/images/load", body=b"x" * (1 << 20), version="1.41"))
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    assert conn.reusable and not conn.worth_keeping
    conn.send_request(Request("POST", "/containers/create", json={"Image": "b"}, version="1.41"))
    conn.receive_data(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
    assert conn.worth_keeping


def test_streamed_request_body():
    conn = Connection()
    out = conn.send_request(Request("POST", "/build", body=iter([b"abc"]), content_type="application/x-tar", version="1.41"))
    assert out.endswith(b"Transfer-Encoding: chunked\r\n\r\n")
    assert conn.state is ConnectionState.SENDING_BODY
    assert conn.send_body(b"abc") == b"3\r\nabc\r\n"
    assert conn.send_body(b"") == b""
    assert conn.send_end() == b"0\r\n\r\n"
    assert conn.state is ConnectionState.AWAITING_RESPONSE


def test_streamed_body_chunk_of_text_is_refused_and_the_connection_is_spent():
    conn = Connection()
    conn.send_request(Request("POST", "/build", body=iter(["text"]), content_type="application/x-tar", version="1.41"))
    assert conn.send_body(b"ok") == b"2\r\nok\r\n"
    with pytest.raises(LocalProtocolError, match="body chunk must be bytes, not str"):
        conn.send_body("text")  # type: ignore[arg-type]
    assert conn.state is ConnectionState.ERROR


# -- hijacked connections (attach / exec start) ------------------------------

EXEC_ID = "e" * 64


def exec_start(tty=False, version="1.41"):
    return Request("POST", "/exec/{id}/start", params={"id": EXEC_ID}, json={"Detach": False, "Tty": tty},
                   kind=ResponseKind.HIJACK, tty=tty, version=version)


@pytest.mark.parametrize("name", ["exec_101", "exec_200"])
def test_hijack_both_replies_at_every_split(name, twin):
    # The first frames arrive in the same read as the head: they must be
    # delivered (docker-py#3332 lost them).
    conn, ev = check_every_split(exec_start(), recorded(name), twin, eof=True)
    assert ev[0][1] == (101 if name == "exec_101" else 200)
    frames = [e for e in ev if e[0] == "frame"]
    assert frames == [("frame", 1, b"out\n"), ("frame", 2, b"err\n")]
    assert ev[-2:] == [("eom", False), ("closed",)]
    assert conn.state is ConnectionState.CLOSED


def test_hijacked_connection_passes_stdin_through(twin):
    conn = Connection(stream_impl=twin)
    conn.send_request(exec_start())
    data = recorded("exec_101")
    head_end = data.index(b"\r\n\r\n") + 4
    events = conn.receive_data(data[:head_end])
    assert [type(e) for e in events] == [Response]
    assert conn.state is ConnectionState.HIJACKED
    assert conn.send_data(b"hello\n") == b"hello\n"
    assert conn.receive_data(data[head_end:]) == [Frame(Stream.STDOUT, b"out\n"), Frame(Stream.STDERR, b"err\n")]


def test_hijack_with_tty_is_raw(twin):
    conn, ev = check_every_split(exec_start(tty=True), recorded("exec_101_tty"), twin, eof=True, raw=True)
    assert b"".join(e[2] for e in ev if e[0] == "frame") == b"out\r\nerr\r\n"


def test_hijack_error_before_takeover(twin):
    # The daemon hijacks, then writes a plain-text 404 with no length.
    r = Request("POST", "/containers/{id}/attach", params={"id": "nope"}, query={"stream": True, "stdout": True},
                kind=ResponseKind.HIJACK, tty=False, version="1.41")
    conn, ev = check_every_split(r, recorded("attach_404"), twin, eof=True)
    assert ev[0][1] == 404 and ev[0][3] is ResponseKind.JSON
    assert ev[1] == ("data", b"No such container: nope\r\n")


def test_no_upgrade_headers_before_1_17():
    out = Connection().send_request(exec_start(version="1.16"))
    assert b"Upgrade" not in out
    out = Connection().send_request(exec_start(version="1.17"))
    assert b"Connection: Upgrade\r\nUpgrade: tcp\r\n" in out
