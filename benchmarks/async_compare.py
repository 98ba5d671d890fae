"""The asyncio driver against the sync driver and the peers, side by side in one run.

    .venv/bin/python benchmarks/async_compare.py --quick      # CI: under 2 minutes, checks the script works
    .venv/bin/python benchmarks/async_compare.py              # default sizes
    .venv/bin/python benchmarks/async_compare.py --profile    # + cProfile of the asyncio rows

Three workloads, one table each (the baseline row, every row's time as a
ratio to it, the peers), then the issue's targets as ratios of this run:

* logs: client-bound log reading.  The replay server of
  ``benchmarks/e2e_logs.py`` (a separate process) answers with the captured
  bytes of a real daemon's logs response, sent with ``sendfile`` over a unix
  socket, so the client is the bottleneck.  ``AsyncClient`` per item and in
  the sink form (``logs_into``) against ``Client``'s, and against
  aiodocker's ``container.log()`` (list form, and per item with
  ``follow=True``).  Baseline: a blocking socket loop that reads and
  discards.  Targets: async per item >= 0.6x sync per item, async sink >=
  0.8x sync sink (as speeds), async >= 10x aiodocker.
* ping: ``GET /_ping`` round trips on one kept-alive connection, against
  the replay server of ``benchmarks/e2e_requests.py``: ``Client.ping()``
  against a blocking raw socket loop (the baseline; target <= 1.3x), and
  ``AsyncClient.ping()`` against a raw asyncio loop (an ``asyncio.Protocol``
  that writes a fixed request and waits for Content-Length bytes; target <=
  2x); docker-py and aiodocker as peers.
* ssh: the private daemon's logs read with ``logs_into``, and an exec's output
  (``head -c N /dev/zero``: a pipe, no log file, so the transport shows),
  over ``ssh://``
  (ssh + ``docker system dial-stdio`` on the private sshd, ``.ci/sshd``)
  and over the unix socket, on both drivers; and connection set-up: a new
  client's first request against its second, on a pooled connection (which
  must be free of ssh start-up).

Every table's rows are measured round-robin (``--repeat`` rounds; the ping
table in five times as many short rounds), the order rotated each round,
and a ratio between two rows is the median of their ratios within each
round: the machine is shared, so only ratios within one run are compared.  The asyncio rows run on one event loop that lives for the whole
run; every client is created once and kept warm, sync and async alike.
Needs the private daemon (``.ci/dockerd start``), for the ssh table the
private sshd (``.ci/sshd start``), and for the peers ``pip install .[bench]``
(docker-py, aiodocker).  Nothing here asserts a speed; the script fails
only if a client misreads (every row's item or byte count is checked).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import io
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import e2e_logs  # noqa: E402  (the logs replay server, the finished container with N lines)
import calibration  # noqa: E402  (the rounds' rotation)
import e2e_requests  # noqa: E402  (the small-requests replay server, the blocking raw loop)
import ssh_transport  # noqa: E402  (the harness's services, the ssh options)

import protocol  # noqa: E402

REPO = HERE.parent
API = "1.41"  # what the replay servers declare; pinned everywhere, so no row negotiates

Row = Callable[[], Any]


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------
# Measuring: sync rows are called, async rows run on the one loop.
# ---------------------------------------------------------------------------


class Runner:
    """Turns every row into a plain callable: an async row's coroutine is run
    to completion on the loop that every async client of the run lives on."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def sync(self, make: Callable[[], Awaitable[Any]]) -> Row:
        return lambda: self.loop.run_until_complete(make())

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class Medians:
    """Median wall and CPU seconds per row, and every round's.  CPU is this
    process's (user + system): the client's own work, whatever the other
    processes of the shared machine do; a replay server, the daemon or an
    ssh child are not in it.  Ratios between two rows are the medians of
    their ratios within each round (a slow phase hits both sides of a pair)."""

    def __init__(self, walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> None:
        self.walls = walls
        self.cpus = cpus
        self.wall = {name: statistics.median(ts) for name, ts in walls.items()}
        self.cpu = {name: statistics.median(ts) for name, ts in cpus.items()}

    def speed(self, a: str, b: str) -> tuple[float, float]:
        """How fast row ``a`` is against row ``b`` (wall, CPU): b's time over a's."""
        return self._paired(b, a)

    def time(self, a: str, b: str) -> tuple[float, float]:
        """Row ``a``'s time over row ``b``'s (wall, CPU)."""
        return self._paired(a, b)

    def _paired(self, a: str, b: str) -> tuple[float, float]:
        return (statistics.median(x / y for x, y in zip(self.walls[a], self.walls[b])),
                statistics.median(x / max(y, 1e-9) for x, y in zip(self.cpus[a], self.cpus[b])))


def interleaved(rows: dict[str, Row], repeat: int) -> Medians:
    """Every row once per round, ``repeat`` rounds after one warm-up round;
    the order rotated each round (see calibration.rotation)."""
    walls: dict[str, list[float]] = {name: [] for name in rows}
    cpus: dict[str, list[float]] = {name: [] for name in rows}
    for fn in rows.values():
        fn()
    names = list(rows)
    for r in range(repeat):
        for name in calibration.rotation(names, r):
            fn = rows[name]
            c = time.process_time()
            t = time.perf_counter()
            fn()
            walls[name].append(time.perf_counter() - t)
            cpus[name].append(time.process_time() - c)
    return Medians(walls, cpus)


def table(title: str, m: Medians, baseline: str, per: int, unit: str,
          notes: dict[str, str] | None = None) -> None:
    print(f"\n{title}")
    print(f"  baseline: {baseline}; ratio = time / baseline's (lower is faster); cpu: this process's")
    print(f"  {'row':44} {'wall ratio':>10} {'cpu ratio':>10} {'wall s':>9} {'cpu s':>9} "
          f"{'µs/' + unit:>10} {'k ' + unit + '/s':>10}")
    for name, t in m.wall.items():
        note = f"  ({notes[name]})" if notes and name in notes else ""
        c = m.cpu[name]
        wall_ratio, cpu_ratio = m.time(name, baseline)
        print(f"  {name:44} {wall_ratio:9.2f}x {cpu_ratio:9.2f}x {t:9.4f} {c:9.4f} "
              f"{t / per * 1e6:10.3f} {per / t / 1e3:10.1f}{note}")


def targets(lines: list[tuple[str, tuple[float, float], str, float]]) -> None:
    """(what, (wall ratio, cpu ratio), comparison, bound): printed, never asserted."""
    print("  targets (ratios of this run, wall and cpu; informational: the machine is shared):")
    for what, (wall, cpu), op, bound in lines:
        def met(v: float) -> str:
            return "met" if (v >= bound if op == ">=" else v <= bound) else "MISSED"
        print(f"    {what:58} {op} {bound:<4} wall {wall:6.2f}x {met(wall):6}  cpu {cpu:6.2f}x {met(cpu)}")


# ---------------------------------------------------------------------------
# (a) client-bound logs through the replay server
# ---------------------------------------------------------------------------


def capture_logs(sock: str, cid: str, tmp: Path) -> tuple[Path, Path, int]:
    """The daemon's exact logs response bytes and an inspect answer, as the
    replay server serves them; and the number of frames in the body."""
    capture = tmp / "logs.http"
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(f"GET /v{API}/containers/{cid}/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
    raw = bytearray()
    while not raw.endswith(b"0\r\n\r\n"):
        data = s.recv(1 << 20)
        if not data:
            break
        raw += data
    s.close()
    capture.write_bytes(raw)
    frames = len(protocol.MultiplexedStreamDecoder(chunked=True).feed(bytes(raw[raw.index(b"\r\n\r\n") + 4:])))
    status, body = e2e_logs.docker_api(sock, "GET", f"/v{API}/containers/{cid}/json")
    assert status == 200, body
    inspect = tmp / "inspect.http"
    inspect.write_bytes(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return capture, inspect, frames


def bare_logs(path: str, cid: str) -> int:
    """The baseline: send the request, read and discard up to the last chunk."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(f"GET /v{API}/containers/{cid}/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
    buf = bytearray(262144)
    tail = b""
    total = 0
    while True:
        n = s.recv_into(buf)
        if not n:
            break
        total += n
        tail = (tail + bytes(buf[max(0, n - 5):n]))[-5:]
        if tail == b"0\r\n\r\n":
            break
    s.close()
    return total


class Counter:
    """A sink that counts bytes (the rows' check), for the check runs only."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, data: Any) -> None:
        self.n += len(data)


def logs_workload(args: argparse.Namespace, runner: Runner, dockerd_sock: str) -> None:
    print(f"\n== logs: a finished container with {args.lines} lines of {e2e_logs.LINE + 1} bytes, "
          "replayed from a separate process (sendfile, unix socket)", flush=True)
    cid = e2e_logs.make_container(dockerd_sock, args.lines)
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            capture, inspect, frames = capture_logs(dockerd_sock, cid, tmp)
            rsock = str(tmp / "replay.sock")
            server = subprocess.Popen([sys.executable, "-c", e2e_logs.REPLAY_SERVER, rsock, str(capture),
                                       str(inspect)], stdout=subprocess.PIPE)
            try:
                assert server.stdout is not None
                server.stdout.readline()
                run_logs(args, runner, f"unix://{rsock}", rsock, cid, frames)
            finally:
                server.kill()
                server.wait()
    finally:
        e2e_logs.docker_api(dockerd_sock, "DELETE", f"/v{API}/containers/{cid}?force=1")


def run_logs(args: argparse.Namespace, runner: Runner, host: str, path: str, cid: str, frames: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    sync = protocol.Client(host, version=API)
    aclient = protocol.AsyncClient(host, version=API)
    payload = args.lines * (e2e_logs.LINE + 1)

    def sync_items() -> int:
        n = 0
        for _ in sync.logs(cid, tty=False):
            n += 1
        return n

    async def async_items() -> int:
        n = 0
        async with await aclient.logs(cid, tty=False) as resp:
            async for _ in resp:
                n += 1
        return n

    rows: dict[str, Row] = {
        "raw socket loop (blocking, no parsing)": lambda: bare_logs(path, cid),
        "Client per item": sync_items,
        "Client sink (logs_into)": lambda: sync.logs_into(cid, devnull, devnull, tty=False),
        "AsyncClient per item": runner.sync(async_items),
        "AsyncClient sink (logs_into)": runner.sync(lambda: aclient.logs_into(cid, devnull, devnull, tty=False)),
    }
    checks: dict[str, Row] = {
        "Client per item": sync_items,
        "AsyncClient per item": runner.sync(async_items),
    }
    counted_sync, counted_async = Counter(), Counter()
    sync.logs_into(cid, counted_sync, counted_sync, tty=False)
    runner.loop.run_until_complete(aclient.logs_into(cid, counted_async, counted_async, tty=False))
    assert counted_sync.n == counted_async.n == payload, (counted_sync.n, counted_async.n, payload)

    docker = None
    if have("aiodocker"):
        import aiodocker

        async def make_docker() -> Any:
            return aiodocker.Docker(url=host, api_version=f"v{API}")

        docker = runner.loop.run_until_complete(make_docker())
        container = docker.containers.container(cid)

        async def aiodocker_list() -> int:
            return len(await container.log(stdout=True, stderr=True))

        async def aiodocker_items() -> int:
            n = 0
            async for _ in container.log(stdout=True, stderr=True, follow=True):
                n += 1
            return n

        rows["aiodocker log() (list)"] = runner.sync(aiodocker_list)
        rows["aiodocker log(follow=True) per item"] = runner.sync(aiodocker_items)
        checks["aiodocker log() (list)"] = rows["aiodocker log() (list)"]
        checks["aiodocker log(follow=True) per item"] = rows["aiodocker log(follow=True) per item"]
    else:
        print("  (aiodocker not installed: pip install .[bench]; its rows are left out)")
    for name, fn in checks.items():  # every client saw every frame
        got = fn()
        if got != frames:
            raise AssertionError(f"{name}: {got} items, expected {frames}")
    try:
        medians = interleaved(rows, args.repeat)
    finally:
        if docker is not None:
            runner.loop.run_until_complete(docker.close())
    table(f"logs, client-bound: {frames} frames ({payload / 1e6:.1f} MB payload), median of {args.repeat}",
          medians, "raw socket loop (blocking, no parsing)", frames, "frame")
    goals = [
        ("AsyncClient per item, speed vs Client per item",
         medians.speed("AsyncClient per item", "Client per item"), ">=", 0.6),
        ("AsyncClient sink, speed vs Client sink",
         medians.speed("AsyncClient sink (logs_into)", "Client sink (logs_into)"), ">=", 0.8),
    ]
    if docker is not None:
        goals += [
            ("AsyncClient per item, speed vs aiodocker per item",
             medians.speed("AsyncClient per item", "aiodocker log(follow=True) per item"), ">=", 10),
            ("AsyncClient sink, speed vs aiodocker log() (list)",
             medians.speed("AsyncClient sink (logs_into)", "aiodocker log() (list)"), ">=", 10),
        ]
    targets(goals)
    if args.profile:
        profile(runner, "AsyncClient per item", rows["AsyncClient per item"])
        profile(runner, "AsyncClient sink (logs_into)", rows["AsyncClient sink (logs_into)"])
    sync.close()
    runner.loop.run_until_complete(aclient.aclose())
    os.close(devnull)


# ---------------------------------------------------------------------------
# (b) /_ping round trips on one kept-alive connection
# ---------------------------------------------------------------------------


class RawAsyncLoop(asyncio.Protocol):
    """The asyncio baseline: write a fixed request, wait until the answer's
    head and Content-Length bytes are in (no parsing beyond that)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        i = head.index(b"content-length:") + 15
        stop = head.find(b"\r\n", i)
        total = end + 4 + int(head[i:stop if stop >= 0 else len(head)])
        if len(self.buf) >= total:
            body = bytes(self.buf[end + 4:total])
            del self.buf[:total]
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    async def get(self, request: bytes) -> bytes:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def ping_workload(args: argparse.Namespace, runner: Runner) -> None:
    calls = args.calls
    print(f"\n== ping: GET /_ping x {calls} on one kept-alive connection, replay server", flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "inspect.json").write_bytes(json.dumps({"Id": e2e_requests.CID}).encode())
        (tmp / "events.http").write_bytes(e2e_requests.events_body(1))
        path = str(tmp / "replay.sock")
        server = subprocess.Popen([sys.executable, "-c", e2e_requests.REPLAY, path, str(tmp / "inspect.json"),
                                   str(tmp / "events.http")], stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            server.stdout.readline()
            run_ping(args, runner, path, calls)
        finally:
            server.kill()
            server.wait()


def run_ping(args: argparse.Namespace, runner: Runner, path: str, calls: int) -> None:
    host = f"unix://{path}"
    loop = runner.loop
    request = b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
    raw = e2e_requests.RawLoop(path)
    sync = protocol.Client(host, version=API)
    aclient = protocol.AsyncClient(host, version=API)

    async def raw_connect() -> RawAsyncLoop:
        _, proto = await asyncio.get_running_loop().create_unix_connection(RawAsyncLoop, path)
        return proto

    araw = loop.run_until_complete(raw_connect())

    def sync_raw() -> None:
        for _ in range(calls):
            if raw.get(request) != b"OK":
                raise AssertionError("raw loop: not OK")

    def sync_client() -> None:
        for _ in range(calls):
            if sync.ping() != "OK":
                raise AssertionError("Client.ping(): not OK")

    async def async_raw() -> None:
        for _ in range(calls):
            if await araw.get(request) != b"OK":
                raise AssertionError("raw asyncio loop: not OK")

    async def async_client() -> None:
        for _ in range(calls):
            if await aclient.ping() != "OK":
                raise AssertionError("AsyncClient.ping(): not OK")

    rows: dict[str, Row] = {
        "raw socket loop (blocking, fixed request)": sync_raw,
        "Client.ping()": sync_client,
        "raw asyncio loop (Protocol, fixed request)": runner.sync(async_raw),
        "AsyncClient.ping()": runner.sync(async_client),
    }
    notes: dict[str, str] = {}
    api = docker = None
    if have("docker"):
        import docker as docker_py

        api = docker_py.APIClient(base_url=host, version=API)

        def dockerpy() -> None:
            for _ in range(calls):
                api.ping()

        rows["docker-py APIClient.ping()"] = dockerpy
    else:
        print("  (docker-py not installed: pip install .[bench]; its row is left out)")
    if have("aiodocker"):
        import aiodocker

        async def make_docker() -> Any:
            return aiodocker.Docker(url=host, api_version=f"v{API}")

        docker = loop.run_until_complete(make_docker())

        async def aiodocker_ping() -> None:
            for _ in range(calls):
                # aiodocker has no ping(): its request method, as its own calls use it.
                async with docker._query("_ping") as resp:
                    if await resp.read() != b"OK":
                        raise AssertionError("aiodocker: not OK")

        rows["aiodocker _query('_ping')"] = runner.sync(aiodocker_ping)
        notes["aiodocker _query('_ping')"] = "no public ping; the request method its calls use"
    else:
        print("  (aiodocker not installed: pip install .[bench]; its row is left out)")
    try:
        # Short rounds, five times as many: each row's ratio is the median
        # of its per-round ratios, paired closely in time.
        medians = interleaved(rows, args.repeat * 5)
    finally:
        if docker is not None:
            loop.run_until_complete(docker.close())
    table(f"ping, client-bound: GET /_ping x {calls}, {args.repeat * 5} rounds", medians,
          "raw socket loop (blocking, fixed request)", calls, "call", notes)
    print("  the asyncio rows against the raw asyncio loop (wall, cpu):")
    araw_row = "raw asyncio loop (Protocol, fixed request)"
    for name in rows:
        if name.startswith(("AsyncClient", "aiodocker")):
            wall, cpu = medians.time(name, araw_row)
            print(f"    {name:44} {wall:7.2f}x {cpu:7.2f}x")
    targets([
        ("Client.ping(), time vs the blocking raw loop",
         medians.time("Client.ping()", "raw socket loop (blocking, fixed request)"), "<=", 1.3),
        ("AsyncClient.ping(), time vs the raw asyncio loop",
         medians.time("AsyncClient.ping()", araw_row), "<=", 2.0),
    ])
    if args.profile:
        profile(runner, "AsyncClient.ping()", rows["AsyncClient.ping()"])
    raw.close()
    araw.transport.close()  # type: ignore[union-attr]
    sync.close()
    loop.run_until_complete(aclient.aclose())
    if api is not None:
        api.close()


# ---------------------------------------------------------------------------
# (c) ssh against unix, both drivers
# ---------------------------------------------------------------------------


def ssh_workload(args: argparse.Namespace, runner: Runner, dockerd_host: str) -> None:
    print(f"\n== ssh: logs_into of {args.ssh_lines} lines of 61 bytes and {args.exec_mb} MB of exec output "
          "from the private daemon, over unix and over ssh://; connection set-up", flush=True)
    try:
        ssh_host, ssh_options = ssh_transport.ssh_settings()
    except subprocess.CalledProcessError as exc:
        print(f"  (the private sshd did not start, the ssh table is left out: {exc.stderr!r})")
        return
    loop = runner.loop
    cid = ssh_transport.make_logs(dockerd_host, args.ssh_lines)
    size = args.ssh_lines * 61
    devnull = os.open(os.devnull, os.O_WRONLY)
    makers: dict[str, Callable[[], Any]] = {
        "Client unix": lambda: protocol.Client(dockerd_host, version=API),
        "Client ssh": lambda: protocol.Client(ssh_host, version=API, ssh_options=ssh_options),
        "AsyncClient unix": lambda: protocol.AsyncClient(dockerd_host, version=API),
        "AsyncClient ssh": lambda: protocol.AsyncClient(ssh_host, version=API, ssh_options=ssh_options),
    }
    with protocol.Client(dockerd_host) as c:
        runner_cid = c.create_container(ssh_transport.IMAGE, ["sleep", "3600"],
                                        HostConfig={"NetworkMode": "none"})["Id"]
        c.start_container(runner_cid)
    exec_size = args.exec_mb * 1_000_000
    exec_cmd = ["head", "-c", str(exec_size), "/dev/zero"]
    try:
        clients = {name: make() for name, make in makers.items()}
        logs_rows: dict[str, Row] = {}
        exec_rows: dict[str, Row] = {}
        for name, c in clients.items():
            if name.startswith("Async"):
                logs_rows[name] = runner.sync(lambda c=c: c.logs_into(cid, devnull, devnull, tty=False))
                exec_rows[name] = runner.sync(lambda c=c, sink=devnull: async_exec_output(c, runner_cid, exec_cmd, sink))
            else:
                logs_rows[name] = lambda c=c: c.logs_into(cid, devnull, devnull, tty=False)
                exec_rows[name] = lambda c=c, sink=devnull: sync_exec_output(c, runner_cid, exec_cmd, sink)
        for name, c in clients.items():  # every transport carries every byte
            logs_count, exec_count = Counter(), Counter()
            if name.startswith("Async"):
                loop.run_until_complete(c.logs_into(cid, logs_count, logs_count, tty=False))
                loop.run_until_complete(async_exec_output(c, runner_cid, exec_cmd, exec_count))
            else:
                c.logs_into(cid, logs_count, logs_count, tty=False)
                sync_exec_output(c, runner_cid, exec_cmd, exec_count)
            if (logs_count.n, exec_count.n) != (size, exec_size):
                raise AssertionError(f"{name}: {logs_count.n} log bytes, {exec_count.n} exec bytes, "
                                     f"expected {size} and {exec_size}")
        logs = interleaved(logs_rows, args.repeat)
        execs = interleaved(exec_rows, args.repeat)
        for name, c in clients.items():
            if name.startswith("Async"):
                loop.run_until_complete(c.aclose())
            else:
                c.close()
        table(f"ssh, logs_into of {size / 1e6:.1f} MB (daemon-bound: dockerd decodes its log file), "
              f"median of {args.repeat}", logs, "Client unix", args.ssh_lines, "line")
        for driver in ("Client", "AsyncClient"):
            t_unix, t_ssh = logs.wall[f"{driver} unix"], logs.wall[f"{driver} ssh"]
            print(f"    {driver:12} ssh {size / t_ssh / 1e6:7.1f} MB/s, unix {size / t_unix / 1e6:7.1f} MB/s: "
                  f"ssh at {t_unix / t_ssh:.2f}x the unix speed")
        table(f"ssh, exec output of {exec_size / 1e6:.0f} MB (`head -c`, a pipe: the transport shows), "
              f"median of {args.repeat}; cpu excludes the ssh process", execs, "Client unix",
              exec_size // 1000, "KB")
        for driver in ("Client", "AsyncClient"):
            t_unix, t_ssh = execs.wall[f"{driver} unix"], execs.wall[f"{driver} ssh"]
            print(f"    {driver:12} ssh {exec_size / t_ssh / 1e6:7.1f} MB/s, unix {exec_size / t_unix / 1e6:7.1f} "
                  f"MB/s: ssh at {t_unix / t_ssh:.2f}x the unix speed")

        # Set-up: a new client's first request (connect; for ssh the ssh
        # process, key exchange and the remote CLI's start) against its
        # second (the pooled connection).
        firsts: dict[str, list[float]] = {name: [] for name in makers}
        seconds: dict[str, list[float]] = {name: [] for name in makers}
        for _ in range(args.repeat):
            for name, make in makers.items():
                first, second = setup_once(runner, name, make)
                firsts[name].append(first)
                seconds[name].append(second)
        print(f"\nssh, connection set-up: a new client's first ping and second ping, median of {args.repeat}")
        print(f"  {'client':20} {'first ms (connect)':>20} {'second ms (pooled)':>20} {'second/first':>13}")
        for name in makers:
            f, s = statistics.median(firsts[name]), statistics.median(seconds[name])
            print(f"  {name:20} {f * 1e3:20.2f} {s * 1e3:20.3f} {s / f:12.3f}x")
        for driver in ("Client", "AsyncClient"):
            s_ssh = statistics.median(seconds[f"{driver} ssh"])
            s_unix = statistics.median(seconds[f"{driver} unix"])
            f_ssh = statistics.median(firsts[f"{driver} ssh"])
            print(f"    {driver:12} pooled ssh ping {s_ssh * 1e3:.2f} ms vs unix {s_unix * 1e3:.2f} ms; "
                  f"ssh start-up {(f_ssh - s_ssh) * 1e3:.0f} ms paid once")
    finally:
        os.close(devnull)
        with protocol.Client(dockerd_host) as c:
            c.remove_container(cid, force=True)
            c.remove_container(runner_cid, force=True)


def sync_exec_output(client: Any, cid: str, cmd: list[str], sink: Any) -> None:
    with client.exec_stream(cid, cmd) as session:
        session.copy_to(sink, sink)


async def async_exec_output(client: Any, cid: str, cmd: list[str], sink: Any) -> None:
    async with await client.exec_stream(cid, cmd) as session:
        await session.copy_to(sink, sink)


def setup_once(runner: Runner, name: str, make: Callable[[], Any]) -> tuple[float, float]:
    if not name.startswith("Async"):
        with make() as c:
            t0 = time.perf_counter()
            c.ping()
            t1 = time.perf_counter()
            c.ping()
            t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    async def go() -> tuple[float, float]:
        async with make() as c:
            t0 = time.perf_counter()
            await c.ping()
            t1 = time.perf_counter()
            await c.ping()
            t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    return runner.loop.run_until_complete(go())


# ---------------------------------------------------------------------------


def profile(runner: Runner, name: str, fn: Row) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print(f"\n  cProfile of one '{name}' round, by own time:")
    print("\n".join("    " + line for line in out.getvalue().splitlines()[:32]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, few rounds: checks that the script works")
    ap.add_argument("--lines", type=int, help="log lines for the logs table (default 1 000 000, --quick 20 000)")
    ap.add_argument("--ssh-lines", type=int, help="log lines for the ssh table (default 100 000, --quick 20 000)")
    ap.add_argument("--exec-mb", type=int, help="exec output for the ssh table, MB (default 100, --quick 5)")
    ap.add_argument("--calls", type=int, help="pings per round (default 1 000, --quick 100)")
    ap.add_argument("--repeat", type=int, help="interleaved rounds, medians (default 5, --quick 3)")
    ap.add_argument("--only", choices=["logs", "ping", "ssh"], action="append", help="one workload (repeatable)")
    ap.add_argument("--profile", action="store_true", help="cProfile the asyncio rows")
    args = ap.parse_args()
    args.lines = args.lines or (20_000 if args.quick else 1_000_000)
    args.ssh_lines = args.ssh_lines or (20_000 if args.quick else 100_000)
    args.exec_mb = args.exec_mb or (5 if args.quick else 100)
    args.calls = args.calls or (100 if args.quick else 1_000)
    args.repeat = args.repeat or (3 if args.quick else 5)
    only = set(args.only or ["logs", "ping", "ssh"])
    started = time.perf_counter()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"protocol {protocol.__version__} ({protocol.IMPLEMENTATION} twin); peers: "
          f"docker-py {'yes' if have('docker') else 'not installed'}, "
          f"aiodocker {'yes' if have('aiodocker') else 'not installed'}")
    dockerd_host = ssh_transport.script("dockerd")
    runner = Runner()
    try:
        if "logs" in only:
            logs_workload(args, runner, dockerd_host[len("unix://"):])
        if "ping" in only:
            ping_workload(args, runner)
        if "ssh" in only:
            ssh_workload(args, runner, dockerd_host)
    finally:
        runner.close()
    print(f"\n(done in {time.perf_counter() - started:.0f} s; load now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
