"""The client against a hostile daemon: a scripted server on a unix socket
and on loopback TCP, with both twins of the stream layer and both drivers
(``make_client``: the sync ``Client``, or an ``AsyncClient`` behind the test
bridge).

Every case says which typed error the caller gets AND what must be kept
(the items a failing read completed, the progress or output received before
a fault), and checks what the daemon saw (a request is never sent twice
unless that is safe).  Timeouts are short: the whole module runs in seconds.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from protocol import (
    APIError,
    Client,
    ConnectionLost,
    Data,
    ExecResult,
    LocalProtocolError,
    MessageTooLarge,
    ReadTimeout,
    RemoteProtocolError,
    StreamError,
    Timeout,
    TransportError,
    UnexpectedRedirect,
)

from _drivers import api_version

VERSION = "1.41"
GUARD = 5.0  # every client has a read timeout: a regression fails, never hangs


# ---------------------------------------------------------------------------
# The scripted daemon


class Peer:
    """One accepted connection, as the script sees it."""

    def __init__(self, sock: socket.socket, server: Hostile, index: int) -> None:
        self.sock = sock
        self.server = server
        self.index = index  # 0 for the first connection, 1 for the second, ...
        self._buf = b""

    def request(self) -> tuple[str, str, bytes] | None:
        """The next request (method, path without query, body); None at EOF."""
        while b"\r\n\r\n" not in self._buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self._buf += data
        head, _, self._buf = self._buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].decode().split(" ", 2)
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(self._buf) < length:
            self._buf += self.sock.recv(65536)
        body, self._buf = self._buf[:length], self._buf[length:]
        path = target.split("?", 1)[0]
        if path.startswith("/v1."):
            path = "/" + path.split("/", 2)[2]
        self.server.seen.append(f"{method} {path}")
        return method, path, body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reset(self) -> None:
        """Abort: a TCP RST where the transport has one, else a close."""
        if self.sock.family == socket.AF_INET:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Script = Callable[[Peer], None]


class Hostile:
    """Runs ``script(peer)`` for every connection, in a thread of its own."""

    def __init__(self, kind: str, path: str, script: Script) -> None:
        self.script = script
        self.seen: list[str] = []
        self.connections = 0
        self.errors: list[BaseException] = []
        if kind == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            self.host = f"unix://{path}"
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.host = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.sock.listen(8)
        self._peers: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._peers.append(conn)
            index, self.connections = self.connections, self.connections + 1
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn: socket.socket, index: int) -> None:
        try:
            self.script(Peer(conn, self, index))
        except OSError:
            pass  # the client went away: part of several scripts
        except BaseException as exc:  # pragma: no cover - a broken script
            self.errors.append(exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for p in self._peers:
            try:
                p.close()
            except OSError:
                pass


@pytest.fixture(params=["unix", "tcp"])
def daemon(request: pytest.FixtureRequest, tmp_path: Any, twin: Any, make_client: Any) -> Any:
    """``daemon(script, **client_options)`` -> (server, client) on the
    transport of the test's parameter, with the twin and the driver of the
    test's."""
    made: list[tuple[Hostile, Client]] = []

    def make(script: Script, **options: Any) -> tuple[Hostile, Client]:
        server = Hostile(request.param, str(tmp_path / f"d{len(made)}.sock"), script)
        options.setdefault("timeout", GUARD)
        client = make_client(server.host, version=VERSION, stream_impl=twin, **options)
        made.append((server, client))
        return server, client

    yield make
    for server, client in made:
        client.close()
        server.close()
        assert not server.errors, server.errors


def answer(status: str = "200 OK", body: bytes = b"", headers: dict[str, str] | None = None,
           length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Api-Version: 1.41"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_answer(doc: Any, status: str = "200 OK") -> bytes:
    return answer(status, json.dumps(doc).encode(), {"Content-Type": "application/json"})


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


CHUNKED_HEAD = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: %s\r\n\r\n")
LOGS_HEAD = CHUNKED_HEAD % b"application/vnd.docker.multiplexed-stream"
JSON_STREAM_HEAD = CHUNKED_HEAD % b"application/json"


def serve(routes: dict[str, Callable[[Peer, bytes], bool | None]]) -> Script:
    """A script answering requests by route until one returns False."""

    def script(peer: Peer) -> None:
        while True:
            req = peer.request()
            if req is None:
                return
            method, path, body = req
            handler = routes[f"{method} {path}"]
            if handler(peer, body) is False:
                return

    return script


def echo_inspect(peer: Peer, body: bytes) -> None:
    """A container inspect naming the container asked for (so a stale answer shows)."""
    name = peer.server.seen[-1].split("/")[2]
    peer.send(json_answer({"Id": name, "connection": peer.index}))


# ---------------------------------------------------------------------------
# 1. A dirty connection is never reused


def test_bytes_arriving_on_an_idle_pooled_connection_make_it_unusable(daemon):
    sent_stray = threading.Event()

    def script(peer: Peer) -> None:
        while (req := peer.request()) is not None:
            echo_inspect(peer, req[2])
            if peer.index == 0:
                # A second, unsolicited answer after the first one.
                time.sleep(0.05)
                peer.send(json_answer({"Id": "stray"}))
                sent_stray.set()

    server, client = daemon(script)
    assert client.inspect_container("a") == {"Id": "a", "connection": 0}
    assert sent_stray.wait(GUARD)
    time.sleep(0.05)  # the stray answer is in our socket buffer now
    assert client.inspect_container("b") == {"Id": "b", "connection": 1}
    assert client.inspect_container("c") == {"Id": "c", "connection": 1}
    assert server.connections == 2


def test_junk_after_a_complete_answer_is_an_error_that_keeps_the_answer(daemon):
    def script(peer: Peer) -> None:
        while (req := peer.request()) is not None:
            body = json.dumps({"Id": "a"}).encode()
            peer.send(answer(body=body) + (b"HTTP/1.1 200 OK\r\n\r\n" if req[1].endswith("/a/json") else b""))

    server, client = daemon(script)
    with pytest.raises(RemoteProtocolError, match="unexpected bytes") as info:
        client.inspect_container("a")
    assert info.value.received == b'{"Id": "a"}'  # the body, complete
    # The connection was dropped: the next call is answered on a new one.
    assert client.inspect_container("b") == {"Id": "a"}
    assert server.connections == 2


# ---------------------------------------------------------------------------
# 2. Only requests safe to repeat are sent again


def _second_request_dies(how: str) -> Script:
    """Answers the first request of connection 0, then breaks on the second;
    later connections answer everything."""

    def script(peer: Peer) -> None:
        n = 0
        while (req := peer.request()) is not None:
            n += 1
            if peer.index == 0 and n == 2:
                if how == "partial-head":
                    peer.send(b"HTTP/1.1 201 Cre")
                return  # and the connection is closed
            if req[0] == "POST":
                peer.send(json_answer({"Id": "new"}, "201 Created"))
            else:
                peer.send(json_answer([]))

    return script


@pytest.mark.parametrize("how", ["silent-close", "partial-head"])
def test_a_post_is_never_sent_twice(daemon, how):
    server, client = daemon(_second_request_dies(how))
    assert client.containers() == []
    with pytest.raises(ConnectionLost) as info:
        client.create_container("busybox")
    assert info.value.may_have_been_processed is True
    assert info.value.request is not None and info.value.request.method == "POST"
    assert server.seen == ["GET /containers/json", "POST /containers/create"]
    # The client is still usable, on a new connection.
    assert client.create_container("busybox") == {"Id": "new"}


def test_a_get_on_a_stale_connection_is_retried_once(daemon):
    server, client = daemon(_second_request_dies("silent-close"))
    assert client.containers() == []
    assert client.containers() == []
    assert server.seen == ["GET /containers/json"] * 3
    assert server.connections == 2


def test_a_get_after_part_of_an_answer_is_not_retried(daemon):
    server, client = daemon(_second_request_dies("partial-head"))
    client.containers()
    with pytest.raises(ConnectionLost) as info:
        client.containers()
    assert info.value.may_have_been_processed is True
    assert server.seen == ["GET /containers/json"] * 2


def test_a_fresh_connection_is_never_retried(daemon):
    def script(peer: Peer) -> None:
        peer.request()  # read the request, then close without a byte

    server, client = daemon(script)
    with pytest.raises(ConnectionLost):
        client.containers()
    assert server.seen == ["GET /containers/json"]


# ---------------------------------------------------------------------------
# 3. A hijack request answered by an ordinary response


def test_detached_exec_start_is_an_ordinary_answer(daemon):
    server, client = daemon(serve({
        "POST /exec/e1/start": lambda p, b: p.send(answer("200 OK", b"")),
        "GET /exec/e1/json": lambda p, b: p.send(json_answer({"Running": False, "ExitCode": 0})),
    }))
    t = time.monotonic()
    assert client.exec_start_detached("e1") is None
    assert client.inspect_exec("e1")["ExitCode"] == 0
    assert time.monotonic() - t < GUARD / 2
    assert server.connections == 1  # the empty 200 left the connection reusable


def test_plain_200_to_an_attached_exec_start_is_an_error_not_a_hang(daemon):
    server, client = daemon(serve({
        "POST /exec/e1/start": lambda p, b: p.send(json_answer({"odd": True})),
    }))
    with pytest.raises(RemoteProtocolError, match="instead of taking the connection over"):
        client.exec_start("e1")


# ---------------------------------------------------------------------------
# 4. Peer-controlled JSON: every decode failure is a RemoteProtocolError

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deep_json_answer(daemon):
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(answer(body=DEEP))}))
    with pytest.raises(RemoteProtocolError, match="nested too deeply"):
        client.info()


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b"{not json"])
def test_undecodable_json_answer(daemon, body):
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(answer(body=body))}))
    with pytest.raises(RemoteProtocolError):
        client.info()


def test_deep_json_error_body(daemon):
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(
        answer("500 Internal Server Error", b'{"message":' + DEEP + b"}",
               {"Content-Type": "application/json"}))}))
    with pytest.raises(RemoteProtocolError, match="error body"):
        client.info()


def test_deep_json_version_body_during_negotiation(tmp_path, twin, make_client):
    server = Hostile("unix", str(tmp_path / "v.sock"), serve({
        "HEAD /_ping": lambda p, b: p.send(answer("404 Not Found")),
        "GET /_ping": lambda p, b: p.send(answer("404 Not Found")),
        "GET /version": lambda p, b: p.send(answer(body=DEEP)),
    }))
    try:
        with make_client(server.host, stream_impl=twin, timeout=GUARD) as client:
            with pytest.raises(RemoteProtocolError, match="/version"):
                api_version(client)
    finally:
        server.close()


def test_deep_json_path_stat_header(daemon):
    stat = base64.b64encode(b"[" * 5000 + b"]" * 5000).decode()
    _, client = daemon(serve({"HEAD /containers/c/archive": lambda p, b: p.send(
        answer(headers={"X-Docker-Container-Path-Stat": stat}))}))
    with pytest.raises(RemoteProtocolError, match="Path-Stat"):
        client.archive_stat("c", "/etc")


# ---------------------------------------------------------------------------
# 5. Bounded memory for every body held whole


def test_announced_oversized_body_is_refused_before_reading(daemon):
    def big(p: Peer, b: bytes) -> bool:
        p.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n[")
        time.sleep(GUARD)  # never sends the rest: a read would time out
        return False

    _, client = daemon(serve({"GET /info": big}), max_body_size=1 << 20)
    t = time.monotonic()
    with pytest.raises(MessageTooLarge, match="10000000000"):
        client.info()
    assert time.monotonic() - t < GUARD / 2


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_growing_body_is_cut_at_the_limit(daemon, framing):
    piece = b"x" * 65536

    def big(p: Peer, b: bytes) -> bool:
        if framing == "chunked":
            p.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(64):
                p.send(chunk(piece))
        else:
            p.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            for _ in range(64):
                p.send(piece)
        return False

    _, client = daemon(serve({"GET /info": big}), max_body_size=1 << 20)
    with pytest.raises(MessageTooLarge, match="max_body_size"):
        client.info()


def test_oversized_error_body(daemon):
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(
        answer("500 Internal Server Error", b"e" * (2 << 20)))}), max_body_size=1 << 20)
    with pytest.raises(MessageTooLarge):
        client.info()


def test_binary_read_is_bounded_but_iteration_is_not(daemon):
    body = b"t" * (3 << 20)
    _, client = daemon(serve({"GET /containers/c/export": lambda p, b: p.send(answer(body=body))}),
                       max_body_size=1 << 20)
    with pytest.raises(MessageTooLarge):
        client.call("containers.export", id="c").read()
    with client.call("containers.export", id="c") as resp:
        assert b"".join(resp.items()) == body  # streamed by the caller: no cap
    assert client.call("containers.export", id="c").read(limit=None) == body


# ---------------------------------------------------------------------------
# 6. What a failing read completed is kept


def test_junk_after_a_logs_body_keeps_its_last_frames(daemon, twin):
    body = chunk(frame(1, b"one\n") + frame(2, b"two\n")) + b"0\r\n\r\n" + b"JUNK"
    _, client = daemon(serve({"GET /containers/c/logs": lambda p, b: p.send(LOGS_HEAD + body)}))
    got: list[Any] = []
    with pytest.raises(RemoteProtocolError, match="unexpected bytes") as info:
        for item in client.logs("c", tty=False):
            got.append(item)
    got += [i for i in info.value.items if isinstance(i, twin.Frame)]
    assert [(f.stream.value, f.data) for f in got] == [(1, b"one\n"), (2, b"two\n")]


# ---------------------------------------------------------------------------
# 7. Redirects are errors


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_redirect_is_never_a_success(daemon, status):
    redirect = answer(status, b'{"ID":"other"}', {"Location": "http://elsewhere/info"})
    _, client = daemon(serve({
        "GET /info": lambda p, b: p.send(redirect),
        "POST /images/create": lambda p, b: p.send(redirect),
        "GET /containers/c/logs": lambda p, b: p.send(redirect),
    }))
    for call in (client.info, lambda: client.pull("busybox"), lambda: client.logs("c", tty=False)):
        with pytest.raises(UnexpectedRedirect) as info:
            call()
        assert info.value.status == int(status[:3])
        assert info.value.location == "http://elsewhere/info"
        assert info.value.body == b'{"ID":"other"}'


# ---------------------------------------------------------------------------
# 8. Faults keep what arrived before them

PROGRESS = [{"status": "Pulling from library/busybox"}, {"status": "Downloading", "id": "a1"}]


@pytest.mark.parametrize("fault", ["truncated-chunk", "truncated-message", "reset", "bad-chunk-size"])
def test_pull_fault_keeps_the_progress_received(daemon, fault):
    def pull(p: Peer, b: bytes) -> bool:
        p.send(JSON_STREAM_HEAD + b"".join(chunk(json.dumps(m).encode() + b"\n") for m in PROGRESS))
        if fault == "truncated-chunk":
            p.send(b"40\r\n{\"status\":")
        elif fault == "truncated-message":
            p.send(chunk(b'{"status":"Extract'))
        elif fault == "bad-chunk-size":
            p.send(b"zz\r\n")
        time.sleep(0.05)
        p.reset()
        return False

    _, client = daemon(serve({"POST /images/create": pull}))
    with pytest.raises((RemoteProtocolError, TransportError)) as info:
        client.pull("busybox")
    assert info.value.received == PROGRESS


def test_pull_in_band_error_keeps_the_progress_received(daemon):
    msgs = PROGRESS + [{"error": "boom", "errorDetail": {"message": "boom"}}]
    _, client = daemon(serve({"POST /images/create": lambda p, b: p.send(
        JSON_STREAM_HEAD + b"".join(chunk(json.dumps(m).encode()) for m in msgs) + b"0\r\n\r\n")}))
    with pytest.raises(APIError, match="boom") as info:
        client.pull("busybox")
    assert info.value.received == PROGRESS


def _exec_routes(output: bytes, running: bool = False) -> dict[str, Callable[[Peer, bytes], Any]]:
    def start(p: Peer, b: bytes) -> bool:
        p.send(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
               b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + output)
        return False  # the daemon closes the hijacked stream

    return {
        "POST /containers/c/exec": lambda p, b: p.send(json_answer({"Id": "e1"}, "201 Created")),
        "POST /exec/e1/start": start,
        "GET /exec/e1/json": lambda p, b: p.send(json_answer(
            {"Running": running, "ExitCode": None if running else 3, "Pid": 42})),
    }


def test_exec_run_truncated_output_keeps_what_arrived(daemon):
    output = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"cut")[:-1]
    _, client = daemon(serve(_exec_routes(output)))
    with pytest.raises(RemoteProtocolError) as info:
        client.exec_run("c", ["x"])
    assert info.value.received == ExecResult(None, b"out\n", b"err\n")


def test_exec_run_complete(daemon):
    _, client = daemon(serve(_exec_routes(frame(1, b"out\n") + frame(2, b"err\n"))))
    assert client.exec_run("c", ["x"]) == ExecResult(3, b"out\n", b"err\n")


# ---------------------------------------------------------------------------
# 9. Read timeouts are typed and say what was waited for


def test_stalled_head_times_out_with_a_typed_error(daemon):
    _, client = daemon(serve({"GET /info": lambda p, b: time.sleep(2)}), timeout=0.2)
    with pytest.raises(ReadTimeout) as info:
        client.info()
    assert isinstance(info.value, TransportError) and isinstance(info.value, TimeoutError)
    assert info.value.timeout == 0.2 and "GET /v1.41/info" in str(info.value)
    assert info.value.request is not None and info.value.request.path == "/info"


def test_stalled_stream_times_out_keeping_what_arrived(daemon, twin):
    def logs(p: Peer, b: bytes) -> bool:
        p.send(LOGS_HEAD + chunk(frame(1, b"early\n")))
        time.sleep(2)
        return False

    _, client = daemon(serve({"GET /containers/c/logs": logs}), timeout=0.2)
    got = []
    with pytest.raises(ReadTimeout, match="logs"):
        for item in client.logs("c", tty=False, follow=True):
            got.append(item.data)
    assert got == [b"early\n"]


def test_stall_without_a_timeout_waits_for_the_data(daemon):
    def logs(p: Peer, b: bytes) -> bool:
        p.send(LOGS_HEAD + chunk(frame(1, b"early\n")))
        time.sleep(0.5)
        p.send(chunk(frame(1, b"late\n")) + b"0\r\n\r\n")
        return True

    _, client = daemon(serve({"GET /containers/c/logs": logs}), timeout=None)
    assert [i.data for i in client.logs("c", tty=False, follow=True)] == [b"early\n", b"late\n"]


# ---------------------------------------------------------------------------
# 10. One chunk-size rule for every body

BIG_SIZE = b"1" + b"0" * 16  # 17 hex digits: 2**64


@pytest.mark.parametrize("route, call", [
    ("GET /info", lambda c: c.info()),  # JSON through h11 until now
    ("GET /containers/c/export", lambda c: c.call("containers.export", id="c").read()),  # binary
    ("GET /containers/c/logs", lambda c: list(c.logs("c", tty=False))),  # stream layer
])
def test_chunk_size_of_17_hex_digits_is_refused_everywhere(daemon, route, call):
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    _, client = daemon(serve({route: lambda p, b: p.send(head + BIG_SIZE + b"\r\nx")}))
    with pytest.raises(RemoteProtocolError, match="chunk"):
        call(client)


def test_chunked_json_body_with_16_digit_sizes_and_trailers(daemon):
    body = b'{"ok": true}'
    wire = b"%016x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(body), body)
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + wire)}))
    assert client.info() == {"ok": True}
    assert client.info() == {"ok": True}  # and the connection was reusable


# ---------------------------------------------------------------------------
# 11. exec_run's exit-code polling is bounded


def test_exec_run_polling_is_bounded_and_says_what_it_saw(daemon):
    _, client = daemon(serve(_exec_routes(frame(1, b"out\n"), running=True)), timeout=0.3)
    t = time.monotonic()
    with pytest.raises(Timeout, match=r"Running=True.*Pid=42") as info:
        client.exec_run("c", ["x"])
    assert time.monotonic() - t < 3
    assert isinstance(info.value, TimeoutError)
    assert info.value.received == ExecResult(None, b"out\n", b"")


# ---------------------------------------------------------------------------
# 12. Bad caller input: a clear error before anything is sent


@pytest.mark.parametrize("call, error", [
    (lambda c: c.pull(None), TypeError),
    (lambda c: c.pull(123), TypeError),
    (lambda c: c.pull("busybox", tag=5), TypeError),
    (lambda c: c.push(None), TypeError),
    (lambda c: c.inspect_container("a\udcffb"), LocalProtocolError),
    (lambda c: c.logs("c", tty=False, tail="\ud800"), LocalProtocolError),
])
def test_bad_caller_input_is_refused_before_sending(daemon, call, error):
    server, client = daemon(serve({}))
    with pytest.raises(error):
        call(client)
    assert server.seen == []


# ---------------------------------------------------------------------------
# Truncation at every stage, resets, oversized heads, bad chunk sizes


@pytest.mark.parametrize("wire, error", [
    (b"HTTP/1.1 200 OK\r\nContent-Le", ConnectionLost),  # mid-head
    (LOGS_HEAD + b"1", RemoteProtocolError),  # mid chunk size
    (LOGS_HEAD + b"20\r\n" + frame(1, b"x")[:5], RemoteProtocolError),  # mid chunk
    (LOGS_HEAD + chunk(frame(1, b"whole\n") + frame(1, b"cut here")[:10]) + b"0\r\n\r\n",
     RemoteProtocolError),  # mid frame, at the end of the body
    (LOGS_HEAD + chunk(frame(1, b"whole\n")), RemoteProtocolError),  # before the last chunk
])
def test_logs_truncated_at_every_stage(daemon, twin, wire, error):
    _, client = daemon(serve({"GET /containers/c/logs": lambda p, b: (p.send(wire), False)[1]}))
    got: list[Any] = []
    with pytest.raises(error) as info:
        for item in client.logs("c", tty=False):
            got.append(item)
    got += [i for i in getattr(info.value, "items", []) if isinstance(i, twin.Frame)]
    expected = [b"whole\n"] if b"whole" in wire else []
    assert [f.data for f in got] == expected


def test_json_answer_truncated_mid_body(daemon):
    _, client = daemon(serve({"GET /info": lambda p, b: (p.send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":"), False)[1]}))
    with pytest.raises(RemoteProtocolError) as info:
        client.info()
    assert info.value.received == b'{"a":'  # what arrived of the body


def test_reset_mid_stream_keeps_the_frames_already_read(daemon):
    go = threading.Event()

    def logs(p: Peer, b: bytes) -> bool:
        p.send(LOGS_HEAD + chunk(frame(1, b"first\n")))
        go.wait(GUARD)
        p.reset()
        return False

    _, client = daemon(serve({"GET /containers/c/logs": logs}))
    got = []
    with pytest.raises((TransportError, RemoteProtocolError)):
        for item in client.logs("c", tty=False, follow=True):
            got.append(item.data)
            go.set()
    assert got == [b"first\n"]


@pytest.mark.parametrize("whole", [True, False])
def test_oversized_head(daemon, whole):
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 100_000 + b"\r\n\r\n"

    def send(p: Peer, b: bytes) -> None:
        if whole:
            p.send(head)
        else:  # in small writes, as a slow peer would
            for i in range(0, len(head), 4096):
                p.send(head[i:i + 4096])
                time.sleep(0.001)

    _, client = daemon(serve({"GET /info": send}))
    with pytest.raises(RemoteProtocolError):
        client.info()


@pytest.mark.parametrize("size", [b"zz", b"-1", b"", b" 5"])
def test_bad_chunk_sizes(daemon, size):
    _, client = daemon(serve({"GET /info": lambda p, b: p.send(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n")}))
    with pytest.raises(RemoteProtocolError):
        client.info()


# ---------------------------------------------------------------------------
# 5 (memory): a JSON answer is not held three times


def test_json_answer_peak_memory_is_about_twice_the_body(tmp_path, make_client):
    import tracemalloc

    size = 16 << 20
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (size + 11)

    def script(peer: Peer) -> None:
        if peer.request() is None:
            return
        peer.send(head + b'{"Data":"')
        piece = b"x" * (1 << 20)
        for _ in range(16):
            peer.send(piece)
        peer.send(b'"}')

    server = Hostile("unix", str(tmp_path / "m.sock"), script)
    try:
        with make_client(server.host, version=VERSION, timeout=GUARD) as client:
            # (tracemalloc counts every thread: on the async driver, the loop's.)
            tracemalloc.start()
            try:
                info = client.info()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert len(info["Data"]) == size
        # The text and the decoded result (16 MiB each) are the floor; the
        # list of parts + joined bytes + decoded text + result was 4x.
        assert peak < 2.5 * size, peak / size
    finally:
        server.close()


# ---------------------------------------------------------------------------
# 2 (continued): a request of which nothing was written is sent again, POST too


class _ScriptedTransport:
    """A transport answering from a list; ``fail_write`` makes the next
    write fail before any byte is taken (the case a retry is always safe in)."""

    def __init__(self, answers: list[bytes], log: list[bytes]) -> None:
        self.answers = answers
        self.log = log
        self.fail_write = False
        self.written = 0
        self._out: list[bytes] = []

    def reset_written(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        if self.fail_write:
            raise TransportError("write failed: [Errno 32] Broken pipe")
        self.written += len(data)
        self.log.append(data)
        if data.endswith(b"\r\n\r\n") or b"\r\n\r\n{" in data:
            self._out.append(self.answers.pop(0))

    def read(self) -> bytes:
        return self._out.pop(0) if self._out else b""

    def shutdown_write(self) -> None:
        pass

    def close(self) -> None:
        pass


class _AsyncScriptedTransport:
    """The same script as an :class:`~protocol.AsyncTransport`."""

    def __init__(self, scripted: _ScriptedTransport) -> None:
        self.scripted = scripted

    @property
    def written(self) -> int:
        return self.scripted.written

    def reset_written(self) -> None:
        self.scripted.reset_written()

    async def write(self, data: bytes) -> None:
        self.scripted.write(data)

    async def read(self) -> bytes:
        return self.scripted.read()

    async def shutdown_write(self) -> None:
        self.scripted.shutdown_write()

    async def aclose(self) -> None:
        self.scripted.close()


def test_nothing_written_is_retried_even_for_a_post(driver, make_client):
    log: list[bytes] = []
    made: list[_ScriptedTransport] = []

    def scripted() -> _ScriptedTransport:
        t = _ScriptedTransport([json_answer({"Id": "x"}, "201 Created")] * 2, log)
        made.append(t)
        return t

    if driver == "sync":
        connect: Any = scripted
    else:

        async def connect() -> _AsyncScriptedTransport:
            return _AsyncScriptedTransport(scripted())

    with make_client(connect=connect, version=VERSION) as client:
        assert client.create_container("busybox") == {"Id": "x"}
        made[0].fail_write = True  # the pooled connection broke while idle
        assert client.create_container("busybox") == {"Id": "x"}
    assert len(made) == 2
    assert sum(entry.startswith(b"POST") for entry in log) == 2  # one per call
