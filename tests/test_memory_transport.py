"""The transport interface and the in-memory transport, with a scripted daemon
on the other end of the pipes: no socket, no daemon, no sleep-based timing
except the bound on how fast a closed reader wakes."""

import threading
import time

import pytest

from _fakedaemon import FakeDaemon, http_response
from protocol import (
    Client,
    LocalProtocolError,
    MemoryTransport,
    StreamClosed,
    Transport,
    TransportError,
    memory_pair,
)

PING = {"GET /_ping": http_response("200 OK", b"OK", {"Api-Version": "1.41"}),
        "HEAD /_ping": http_response("200 OK", b"", {"Api-Version": "1.41"})}

# A followed log stream: the head and one chunk, then nothing (the body
# never ends, as with logs(follow=True) on a quiet container).
FOLLOW_HEAD = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
               b"Content-Type: application/vnd.docker.multiplexed-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"c\r\n\x01\x00\x00\x00\x00\x00\x00\x04one\n\r\n")
EVENTS_HEAD = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"d\r\n{\"Type\":\"x\"}\n\r\n")


def test_pair_moves_bytes_both_ways_and_half_closes():
    a, b = memory_pair()
    assert isinstance(a, Transport) and isinstance(b, Transport)
    a.write(b"hello")
    assert b.read() == b"hello"
    b.write(b"back")
    a.shutdown_write()
    assert a.read() == b"back"
    assert b.read() == b""  # a's half-close is b's EOF...
    b.write(b"still")  # ...and b can still answer
    assert a.read() == b"still"
    with pytest.raises(TransportError):
        a.write(b"after shutdown")
    b.close()
    assert a.read() == b""
    with pytest.raises(TransportError):
        a.write(b"to a closed peer")


def test_close_wakes_a_blocked_reader():
    a, _b = memory_pair()
    got = []
    reader = threading.Thread(target=lambda: got.append(a.read()))
    reader.start()
    time.sleep(0.05)
    assert reader.is_alive()  # blocked: nothing was written
    a.close()
    reader.join(2)
    assert not reader.is_alive() and got == [b""]


def test_memory_is_bounded_a_writer_waits_for_the_reader():
    a, b = memory_pair(limit=10)
    done = threading.Event()

    def write():
        a.write(b"x" * 25)
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert not done.wait(0.1)  # 10 bytes buffered, the writer waits
    received = b""
    while len(received) < 25:
        received += b.read()
    assert done.wait(2) and received == b"x" * 25


def test_client_on_one_given_transport():
    daemon = FakeDaemon(PING, memory=True)
    with Client(transport=daemon.connect()) as c:
        assert c.ping() == "OK"
        assert c.api_version == "1.41"
        assert c.ping() == "OK"  # kept alive on the same pipes
    assert daemon.seen == ["GET /_ping", "HEAD /_ping", "GET /_ping"]
    assert daemon.connections == 1


def test_given_transport_is_used_once():
    # The daemon closes after each answer: a second connection is needed,
    # and a single given transport cannot provide one.
    daemon = FakeDaemon(PING, memory=True, close_after=True)
    with Client(transport=daemon.connect(), version="1.41") as c:
        assert c.ping() == "OK"
        with pytest.raises(TransportError, match="connect="):
            c.ping()


def test_client_with_a_connect_factory_reconnects():
    daemon = FakeDaemon(PING, memory=True, close_after=True)
    with Client(connect=daemon.connect, version="1.41") as c:
        for _ in range(3):
            assert c.ping() == "OK"
    assert daemon.connections >= 3


def test_one_way_to_reach_the_daemon():
    daemon = FakeDaemon(PING, memory=True)
    with pytest.raises(LocalProtocolError):
        Client("unix:///x", connect=daemon.connect)
    with pytest.raises(LocalProtocolError):
        Client(transport=daemon.connect(), connect=daemon.connect)


def test_transport_errors_propagate_typed():
    class Broken:
        def read(self):
            raise TransportError("the line is down")

        def write(self, data):
            pass

        def shutdown_write(self):
            pass

        def close(self):
            pass

    with Client(connect=Broken, version="1.41") as c:
        with pytest.raises(TransportError, match="line is down"):
            c.ping()


def _read_in_thread(target):
    """Run ``target`` in a thread; return (thread, outcome list)."""
    outcome = []

    def run():
        try:
            outcome.append(("returned", target()))
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcome.append(("raised", exc))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, outcome


@pytest.mark.parametrize("route, path, items", [
    ("GET /v1.41/containers/c/logs", "logs", 1),
    ("GET /v1.41/events", "events", 1),
])
def test_close_from_another_thread_stops_a_stream(route, path, items):
    routes = {"GET /v1.41/containers/c/logs": FOLLOW_HEAD, "GET /v1.41/events": EVENTS_HEAD}
    daemon = FakeDaemon(routes, memory=True)
    with Client(connect=daemon.connect, version="1.41") as c:
        resp = c.logs("c", follow=True, tty=False) if path == "logs" else c.events()
        received = []

        def consume():
            for item in resp:
                received.append(item)

        t, outcome = _read_in_thread(consume)
        deadline = time.monotonic() + 2
        while len(received) < items and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(received) == items and t.is_alive()  # blocked on the quiet stream
        started = time.monotonic()
        resp.close()
        t.join(2)
        assert not t.is_alive(), "close() did not wake the reader"
        assert time.monotonic() - started < 1.0
        kind, value = outcome[0]
        assert kind == "raised" and isinstance(value, StreamClosed), outcome
        assert resp.closed
        # Iterating again says the same, it never looks like a complete body.
        with pytest.raises(StreamClosed):
            list(resp)


def test_logs_into_stopped_from_another_thread():
    daemon = FakeDaemon({"GET /v1.41/containers/c/logs": FOLLOW_HEAD}, memory=True)
    with Client(connect=daemon.connect, version="1.41") as c:
        resp = c.logs("c", follow=True, tty=False)
        out = []

        class Sink:
            def write(self, data):
                out.append(bytes(data))

        # The first frame came with the head (logs_into writes these first).
        assert [ev.data for ev in resp.take_pending()] == [b"one\n"]
        t, outcome = _read_in_thread(lambda: resp.drain_into(Sink(), Sink(), []))
        time.sleep(0.1)
        assert t.is_alive()  # blocked on the quiet stream
        resp.close()
        t.join(2)
        assert not t.is_alive()
        assert outcome[0][0] == "raised" and isinstance(outcome[0][1], StreamClosed)
        assert out == []


def test_closing_after_the_end_is_not_an_error():
    body = b'{"Id":"x"}'
    daemon = FakeDaemon({"GET /v1.41/containers/c/json":
                         http_response("200 OK", body, {"Content-Type": "application/json"})}, memory=True)
    with Client(connect=daemon.connect, version="1.41") as c:
        assert c.inspect_container("c") == {"Id": "x"}


def test_memory_transport_has_the_interface_methods():
    for name in ("read", "write", "shutdown_write", "close"):
        assert callable(getattr(MemoryTransport, name))
