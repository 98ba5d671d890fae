"""Small requests and JSON streams end to end, against same-run baselines.

    .venv/bin/python benchmarks/e2e_requests.py --quick     # CI: under half a minute, checks the script works
    .venv/bin/python benchmarks/e2e_requests.py             # default counts
    .venv/bin/python benchmarks/e2e_requests.py --profile   # + where ping()'s time goes (cProfile)

Two servers: a replay server (a separate process answering from fixed bytes
over a unix socket, so the client is the bottleneck) and, unless
``--no-daemon``, the private dockerd of the tests (``.ci/dockerd``).

Small requests on one kept-alive connection, ``GET /_ping``, ``GET
/version`` and ``GET /containers/{id}/json``: µs per call, as the ratio to
the baseline, a raw-socket loop that sends a fixed request and reads the
answer up to its Content-Length (no parsing beyond that); the sync
``Client`` and the asyncio ``AsyncClient`` (one event loop kept for the
whole table); stdlib ``http.client`` and docker-py (``pip install
.[bench]``) as peers.

JSON stream: ``GET /events`` answered by the replay server with N events
(each its own HTTP chunk, as dockerd sends them).  Baseline: a raw loop
that reads the socket, strips the chunk framing and calls ``json.loads``
per line; peers: docker-py ``events(decode=True)``.

Rows are interleaved (round-robin, ``--repeat`` rounds; the small requests
in five times as many rounds of a fifth of the calls), the order rotated
each round; a row's ratio is the median over the rounds of its time over
the baseline's in the same round.  The machine is shared, so only ratios
within one run are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.client
import importlib.util
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration  # noqa: E402

import protocol  # noqa: E402
from protocol._core import _fastjson  # noqa: E402  (orjson on or off, for the stdlib rows)

REPO = Path(__file__).resolve().parent.parent
CID = "0123456789ab" * 5 + "0123"

REPLAY = textwrap.dedent("""
    import os, socket, sys, threading
    path, inspect_file, events_file = sys.argv[1:4]
    def answer(ctype, body):
        return (b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\nContent-Type: " + ctype +
                b"\\r\\nDocker-Experimental: false\\r\\nOstype: linux\\r\\nServer: Docker/20.10.24 (linux)\\r\\n"
                b"Date: Wed, 02 Dec 2026 00:00:00 GMT\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body)) + body
    ping = answer(b"text/plain; charset=utf-8", b"OK")
    version = answer(b"application/json", json_version := (
        b'{"Platform":{"Name":""},"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12",'
        b'"GitCommit":"5d6db84","GoVersion":"go1.19.7","Os":"linux","Arch":"amd64",'
        b'"KernelVersion":"6.1.0","BuildTime":"2023-04-04T00:00:00.000000000+00:00"}\\n'))
    inspect = answer(b"application/json", open(inspect_file, "rb").read())
    events_size = os.path.getsize(events_file)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(16)
    def handle(conn):
        f = open(events_file, "rb")
        buf = b""
        try:
            while True:
                while b"\\r\\n\\r\\n" not in buf:
                    d = conn.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\\r\\n\\r\\n")
                target = head.split(b" ", 2)[1].split(b"?")[0]
                if target.endswith(b"/_ping"):
                    conn.sendall(ping)
                elif target.endswith(b"/version"):
                    conn.sendall(version)
                elif target.endswith(b"/events"):
                    offset = 0
                    while offset < events_size:
                        offset += os.sendfile(conn.fileno(), f.fileno(), offset, events_size - offset)
                elif target.endswith(b"/json"):
                    conn.sendall(inspect)
                else:
                    conn.sendall(b"HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\n\\r\\n")
        except OSError:
            pass
        finally:
            conn.close()
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
""")

EVENT = {
    "status": "start", "id": CID, "from": "busybox:latest", "Type": "container", "Action": "start",
    "Actor": {"ID": CID, "Attributes": {"image": "busybox:latest", "name": "bench"}},
    "scope": "local", "time": 1700000000, "timeNano": 1700000000123456789,
}


def events_body(count: int) -> bytes:
    """A /events response: head, then every event its own chunk (dockerd 20.10 flushes per event)."""
    line = json.dumps(EVENT, separators=(",", ":")).encode() + b"\n"
    chunk = b"%x\r\n" % len(line) + line + b"\r\n"
    head = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    return head + chunk * count + b"0\r\n\r\n"


# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------


class RawLoop:
    """The baseline: a fixed request, the answer read up to its Content-Length."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)

    def get(self, request: bytes) -> bytes:
        self.sock.sendall(request)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            # Large JSON answers come chunked: read up to the last chunk (no trailers from dockerd).
            while not body.endswith(b"0\r\n\r\n"):
                body += self.sock.recv(65536)
            return body
        i = lower.index(b"content-length:") + 15
        end = head.find(b"\r\n", i)
        length = int(head[i:end if end >= 0 else len(head)])
        while len(body) < length:
            body += self.sock.recv(65536)
        return body

    def close(self) -> None:
        self.sock.close()


class LayerLoops:
    """``GET /_ping`` through the toolkit's layers below the client, on
    connections of their own: what each layer adds to the raw loop."""

    def __init__(self, path: str) -> None:
        from protocol._backends._sync_socket import SocketStream
        from protocol._core._negotiation import ping_requests

        def stream() -> Any:
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            return SocketStream(sock)

        self.bare, self.framed = stream(), stream()
        self.request = ping_requests()[1]
        self.wire = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
        self.conn = protocol.Connection()

    def transport(self) -> None:
        s = self.bare
        s.is_clean_idle()
        s.write(self.wire)
        data = s.read()
        while not data.tobytes().endswith(b"OK"):  # the whole answer (it comes in one read)
            data = s.read()

    def connection(self) -> None:
        s, conn = self.framed, self.conn
        s.is_clean_idle()
        s.write(conn.send_request(self.request))
        while conn.state is not protocol.ConnectionState.IDLE:
            conn.receive_data(s.read())


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def stdlib_get(conn: http.client.HTTPConnection, target: str) -> bytes:
    conn.request("GET", target)
    return conn.getresponse().read()


def raw_events(path: str, target: str) -> int:
    """Baseline for JSON streams: recv, strip chunk framing, json.loads per line."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: docker\r\n\r\n" % target.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(262144)
    buf = buf.partition(b"\r\n\r\n")[2]
    n = 0
    loads = json.loads
    done = False
    while not done:
        pos = 0
        while True:
            nl = buf.find(b"\r\n", pos)
            if nl < 0:
                break
            size = int(buf[pos:nl], 16)
            if size == 0:
                done = True
                break
            end = nl + 2 + size
            if end + 2 > len(buf):
                break
            loads(buf[nl + 2:end])
            n += 1
            pos = end + 2
        buf = buf[pos:]
        if not done:
            data = sock.recv(262144)
            if not data:
                break
            buf += data
    sock.close()
    return n


def stdlib_json(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with orjson switched off (the ``fastjson`` extra): JSON decoded
    by the stdlib, as without the extra."""
    def run() -> Any:
        saved, _fastjson.loads = _fastjson.loads, None
        try:
            return fn()
        finally:
            _fastjson.loads = saved
    return run


# ---------------------------------------------------------------------------


def small_requests_table(where: str, path: str, host: str, cid: str, calls: int, repeat: int,
                         docker_py: bool) -> None:
    raw = RawLoop(path)
    std = UnixHTTPConnection(path)
    client = protocol.Client(host, version="1.41")
    # The asyncio client on one loop kept for the whole table, as an
    # application would keep it: each round runs its calls in one task.
    loop = asyncio.new_event_loop()
    aclient = protocol.AsyncClient(host, version="1.41")

    async def sequential(make: Callable[[], Any]) -> list[Any]:
        return [await make() for _ in range(calls)]

    theirs: dict[str, Callable[[], Any]] = {
        "ping": aclient.ping, "version": aclient.version, "inspect": lambda: aclient.inspect_container(cid),
    }
    api = None
    if docker_py:
        import docker

        api = docker.APIClient(base_url=host, version="1.41")
    targets = {"ping": "/_ping", "version": "/v1.41/version", "inspect": f"/v1.41/containers/{cid}/json"}
    ours: dict[str, Callable[[], Any]] = {
        "ping": client.ping, "version": client.version, "inspect": lambda: client.inspect_container(cid),
    }
    for name, target in targets.items():
        request = b"GET %s HTTP/1.1\r\nHost: docker\r\n\r\n" % target.encode()
        rows: dict[str, Callable[[], Any]] = {
            "raw socket, fixed request": lambda r=request: [raw.get(r) for _ in range(calls)],
            "http.client": lambda t=target: [stdlib_get(std, t) for _ in range(calls)],
            f"protocol Client.{'inspect_container' if name == 'inspect' else name}()":
                lambda f=ours[name]: [f() for _ in range(calls)],
            f"protocol AsyncClient.{'inspect_container' if name == 'inspect' else name}()":
                lambda f=theirs[name]: loop.run_until_complete(sequential(f)),
        }
        if name == "inspect" and _fastjson.available():
            rows["protocol Client.inspect_container(), stdlib JSON"] = stdlib_json(
                lambda f=ours[name]: [f() for _ in range(calls)])
        if name == "ping":
            # Where Client.ping()'s time goes, in two cumulative layers below
            # it: the transport alone (the pool's clean-idle poll, write,
            # read: no parsing), then the transport with the sans-I/O
            # Connection framing the request and parsing the answer.  The
            # rest of Client.ping() is the engine and the driver.
            layers = LayerLoops(path)
            rows["layer: transport only (poll, write, read)"] = lambda: [layers.transport() for _ in range(calls)]
            rows["layer: transport + Connection"] = lambda: [layers.connection() for _ in range(calls)]
        if api is not None:
            dp = {"ping": api.ping, "version": api.version, "inspect": lambda: api.inspect_container(cid)}[name]
            rows["docker-py"] = lambda f=dp: [f() for _ in range(calls)]
        medians = calibration.interleaved(rows, repeat)
        calibration.print_table(f"{where}: GET {targets[name]} x {calls}, one kept-alive connection",
                                calls, "calls", medians, "raw socket, fixed request")
        for k, v in medians.items():
            print(f"    {k:42} {v / calls * 1e6:8.1f} µs/call")
    raw.close()
    std.close()
    client.close()
    loop.run_until_complete(aclient.aclose())
    loop.close()


def events_table(path: str, host: str, count: int, repeat: int, docker_py: bool) -> None:
    def ours() -> int:
        with protocol.Client(host, version="1.41") as c:
            return sum(1 for _ in c.events())

    async def ours_async() -> int:
        async with protocol.AsyncClient(host, version="1.41") as c:
            n = 0
            async with await c.events() as events:
                async for _ in events:
                    n += 1
            return n

    rows: dict[str, Callable[[], Any]] = {
        "raw recv + json.loads": lambda: raw_events(path, "/v1.41/events"),
        "protocol Client.events()": ours,
        "protocol AsyncClient.events()": lambda: asyncio.run(ours_async()),
    }
    if _fastjson.available():
        rows["protocol Client.events(), stdlib JSON"] = stdlib_json(ours)
    if docker_py:
        import docker

        def dockerpy() -> int:
            api = docker.APIClient(base_url=host, version="1.41")
            return sum(1 for _ in api.events(decode=True))

        rows["docker-py events(decode=True)"] = dockerpy
    for name, fn in rows.items():  # every client sees every event
        got = fn()
        if got != count:
            raise AssertionError(f"{name}: {got} events, expected {count}")
    medians = calibration.interleaved(rows, repeat)
    calibration.print_table(f"replay: GET /events, {count} events (each its own chunk)", count, "events",
                            medians, "raw recv + json.loads")


def profile_ping(host: str, calls: int) -> None:
    with protocol.Client(host, version="1.41") as c:
        c.ping()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            c.ping()
        prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
    print(f"\ncProfile of {calls} Client.ping() calls (replay server), by own time:")
    print("\n".join(out.getvalue().splitlines()[:40]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few calls and events: checks that the script works")
    ap.add_argument("--repeat", type=int, help="interleaved rounds (median); default 7, --quick 3")
    ap.add_argument("--no-daemon", action="store_true", help="replay server only")
    ap.add_argument("--no-docker-py", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile Client.ping() against the replay server")
    args = ap.parse_args()
    calls = 100 if args.quick else 2000
    count = 2_000 if args.quick else 200_000
    repeat = args.repeat or (3 if args.quick else 7)
    docker_py = not args.no_docker_py and importlib.util.find_spec("docker") is not None
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, protocol {protocol.IMPLEMENTATION} twin; "
          f"{repeat} interleaved rounds ({repeat * 5} of the small requests), rotated; ratios are medians "
          f"of per-round ratios to the baseline, times are medians"
          + ("" if docker_py else "; docker-py not installed (pip install .[bench])")
          + ("; whole JSON answers and JSON streams decoded with orjson (the fastjson extra; "
             "'stdlib JSON' rows without it)" if _fastjson.available() else "; orjson not installed: stdlib JSON"))
    with tempfile.TemporaryDirectory() as tmp:
        inspect = Path(tmp) / "inspect.json"
        inspect.write_bytes(json.dumps({"Id": CID, "Name": "/bench", "State": {"Status": "exited"},
                                        "Config": {"Tty": False, "Image": "busybox"}}).encode())
        events = Path(tmp) / "events.http"
        events.write_bytes(events_body(count))
        sock = str(Path(tmp) / "replay.sock")
        server = subprocess.Popen([sys.executable, "-c", REPLAY, sock, str(inspect), str(events)],
                                  stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            server.stdout.readline()
            # Small requests in short rounds, five times as many: a row's
            # ratio is the median of its per-round ratios to the baseline,
            # and a short round pairs the two measurements closely in time.
            small_requests_table("replay", sock, f"unix://{sock}", CID, calls // 5, repeat * 5, docker_py)
            events_table(sock, f"unix://{sock}", count, repeat, docker_py)
            if args.profile:
                profile_ping(f"unix://{sock}", calls * 5)
        finally:
            server.kill()
            server.wait()
    if not args.no_daemon:
        host = subprocess.run(["bash", str(REPO / ".ci" / "dockerd"), "host"], capture_output=True, text=True,
                              check=True).stdout.strip()
        with protocol.Client(host) as c:
            cid = c.call("containers.create", json={"Image": "docker-protocol/busybox:latest", "Cmd": ["true"],
                                                    "HostConfig": {"NetworkMode": "none"}})["Id"]
            try:
                small_requests_table("dockerd", host[len("unix://"):], host, cid, calls // 20, repeat * 5,
                                     docker_py)
            finally:
                c.call("containers.remove", id=cid, force=True)


if __name__ == "__main__":
    main()
