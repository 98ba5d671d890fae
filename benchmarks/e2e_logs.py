"""End-to-end log reading: this toolkit against its peers, in one run.

Two setups, each printing medians and ratios:

* client-bound: a replay server (a separate process) answers with the
  captured bytes of a real daemon's logs response, sent with ``sendfile``
  over a unix socket, so the client is the bottleneck;
* daemon-bound: the real private dockerd serves the logs of a finished
  container, ``follow=0``; wall and client CPU per client.

Clients, each run as its own process: this toolkit (per-item iteration,
batch form and sink form; compiled and Python twins), docker-py
``logs(stream=True)``, the docker CLI (``docker logs``), curl (no parsing),
and a bare Python socket loop that reads and discards.

    python benchmarks/e2e_logs.py [--lines N] [--repeat R] [--only client|daemon] [--quick]

The default is 3 M lines of 61 bytes (as in the issue); ``--lines`` makes
it smaller for a quick look.  Needs the private daemon (``.ci/dockerd start``)
and, for the peers, ``pip install .[bench]``, ``docker`` and ``curl``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMAGE = "docker-protocol/busybox:latest"
LINE = 60  # payload characters; with "\n" each log line is 61 bytes

# -- what each client runs (a small program, so every client pays its own
#    start-up and is measured as a separate process) -------------------------

TOOLKIT = textwrap.dedent("""
    import os, sys, protocol
    mode, host, cid = sys.argv[1:4]
    n = 0
    with protocol.Client(host, version="1.41") as c:
        if mode == "items":
            for item in c.logs(cid, tty=False):
                n += 1
        elif mode == "batches":
            with c.logs(cid, tty=False) as resp:
                for batch in resp.read_batches():
                    n += len(batch)
        else:
            fd = os.open(os.devnull, os.O_WRONLY)
            c.logs_into(cid, fd, fd, tty=False)
    print(n, protocol.IMPLEMENTATION, file=sys.stderr)
""")

ASYNC_TOOLKIT = textwrap.dedent("""
    import asyncio, os, sys, protocol
    mode, host, cid = sys.argv[1:4]
    async def main():
        n = 0
        async with protocol.AsyncClient(host, version="1.41") as c:
            if mode == "items":
                async with await c.logs(cid, tty=False) as resp:
                    async for item in resp:
                        n += 1
            elif mode == "batches":
                async with await c.logs(cid, tty=False) as resp:
                    async for batch in resp.read_batches():
                        n += len(batch)
            else:
                fd = os.open(os.devnull, os.O_WRONLY)
                await c.logs_into(cid, fd, fd, tty=False)
        return n
    print(asyncio.run(main()), protocol.IMPLEMENTATION, file=sys.stderr)
""")

AIODOCKER = textwrap.dedent("""
    import asyncio, sys, aiodocker
    host, cid = sys.argv[1:3]
    async def main():
        n = 0
        docker = aiodocker.Docker(url=host, api_version="v1.41")
        try:
            container = docker.containers.container(cid)
            async for _ in container.log(stdout=True, stderr=True, follow=True):
                n += 1
        finally:
            await docker.close()
        return n
    print(asyncio.run(main()), file=sys.stderr)
""")

DOCKER_PY = textwrap.dedent("""
    import sys, docker
    host, cid = sys.argv[1:3]
    api = docker.APIClient(base_url=host, version="1.41")
    n = 0
    for chunk in api.logs(cid, stream=True, follow=False):
        n += 1
    print(n, file=sys.stderr)
""")

BARE = textwrap.dedent("""
    import socket, sys
    path, cid = sys.argv[1:3]
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"GET /v1.41/containers/%s/logs?stdout=1&stderr=1 HTTP/1.1\\r\\nHost: docker\\r\\n\\r\\n" % cid.encode())
    buf = bytearray(262144)
    tail = b""
    while True:
        n = s.recv_into(buf)
        if not n:
            break
        tail = (tail + bytes(buf[max(0, n - 5):n]))[-5:]
        if tail == b"0\\r\\n\\r\\n":
            break
""")

REPLAY_SERVER = textwrap.dedent("""
    # Serve captured daemon responses over a unix socket, keep-alive, with
    # sendfile for the big logs body.
    import os, socket, sys, threading
    path, logs_file, inspect_file = sys.argv[1:4]
    ping = (b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n"
            b"Content-Length: 2\\r\\n\\r\\nOK")
    head_ping = ping[:-2].replace(b"Content-Length: 2", b"Content-Length: 0")
    inspect = open(inspect_file, "rb").read()
    version = (b'{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24","Os":"linux","Arch":"amd64"}')
    version = (b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n"
               % len(version)) + version
    size = os.path.getsize(logs_file)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(16)
    def handle(conn):
        f = open(logs_file, "rb")
        buf = b""
        try:
            while True:
                while b"\\r\\n\\r\\n" not in buf:
                    d = conn.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\\r\\n\\r\\n")
                line = head.split(b"\\r\\n", 1)[0]
                method, target = line.split(b" ")[:2]
                path_only = target.split(b"?")[0]
                if path_only.endswith(b"/_ping"):
                    conn.sendall(head_ping if method == b"HEAD" else ping)
                elif path_only.endswith(b"/version"):
                    conn.sendall(version)
                elif path_only.endswith(b"/logs"):
                    offset = 0
                    while offset < size:
                        offset += os.sendfile(conn.fileno(), f.fileno(), offset, size - offset)
                elif path_only.endswith(b"/json"):
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


def run_client(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one client process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed: {proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def clients(host: str, sock_path: str, cid: str) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    py = sys.executable
    env_py = dict(os.environ, PROTOCOL_NO_EXTENSIONS="1")
    out: dict[str, tuple[list[str], dict[str, str] | None]] = {}
    for mode in ("items", "batches", "sink"):
        out[f"protocol cython {mode}"] = ([py, "-c", TOOLKIT, mode, host, cid], None)
    for mode in ("items", "batches", "sink"):
        out[f"protocol async cython {mode}"] = ([py, "-c", ASYNC_TOOLKIT, mode, host, cid], None)
    for mode in ("items", "sink"):
        out[f"protocol python {mode}"] = ([py, "-c", TOOLKIT, mode, host, cid], env_py)
    try:
        import docker  # noqa: F401

        out["docker-py logs(stream=True)"] = ([py, "-c", DOCKER_PY, host, cid], None)
    except ImportError:
        print("(docker-py not installed: pip install .[bench])")
    try:
        import aiodocker  # noqa: F401

        out["aiodocker log()"] = ([py, "-c", AIODOCKER, host, cid], None)
    except ImportError:
        print("(aiodocker not installed: pip install .[bench])")
    docker_cli = shutil.which("docker")
    if docker_cli:
        out["docker CLI"] = ([docker_cli, "-H", host, "logs", cid], None)
    curl = shutil.which("curl")
    if curl:
        out["curl (no parsing)"] = (
            [curl, "-s", "--unix-socket", sock_path, "-o", os.devnull,
             f"http://docker/v1.41/containers/{cid}/logs?stdout=1&stderr=1"], None)
    out["bare socket loop"] = ([py, "-c", BARE, sock_path, cid], None)
    return out


def measure(name: str, table: dict[str, tuple[list[str], dict[str, str] | None]], repeat: int,
            frames: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU per client, the clients interleaved (round-robin, ``repeat`` rounds):
    the machine is shared, and a slow phase then hits every client alike."""
    walls: dict[str, list[float]] = {label: [] for label in table}
    cpus: dict[str, list[float]] = {label: [] for label in table}
    for _ in range(repeat):
        for label, (argv, env) in table.items():
            w, c = run_client(argv, env)
            walls[label].append(w)
            cpus[label].append(c)
    results: dict[str, tuple[float, float]] = {}
    for label in table:
        results[label] = (statistics.median(walls[label]), statistics.median(cpus[label]))
        w, c = results[label]
        print(f"  {label:32} wall {w:7.2f} s  cpu {c:7.2f} s  {frames / w / 1e6:6.2f} M frames/s", flush=True)
    return results


def report(title: str, results: dict[str, tuple[float, float]], frames: int) -> None:
    """Ratios first: every client's wall and CPU time over the bare socket loop's (the baseline)."""
    print(f"\n{title}: medians; ratios to the bare socket loop (baseline) measured in this run")
    ref_w, ref_c = results["bare socket loop"]
    print(f"  {'client':32} {'wall/bare':>10} {'cpu/bare':>9} {'wall s':>8} {'cpu s':>8} {'M frames/s':>11}")
    for label, (w, c) in results.items():
        print(f"  {label:32} {w / ref_w:9.2f}x {c / ref_c:8.2f}x {w:8.2f} {c:8.2f} {frames / w / 1e6:11.2f}")


def docker_api(sock: str, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    out = b""
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        out += d
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if b"chunked" in head.lower():
        body_out, pos = b"", 0
        while True:
            nl = rest.index(b"\r\n", pos)
            size = int(rest[pos:nl].split(b";")[0], 16)
            if size == 0:
                break
            body_out += rest[nl + 2:nl + 2 + size]
            pos = nl + 2 + size + 2
        rest = body_out
    return status, rest


def make_container(sock: str, lines: int) -> str:
    """A finished container whose log has ``lines`` lines of 61 bytes, half on stderr."""
    script = (f"yes {'o' * LINE} | head -n {lines // 2} & "
              f"yes {'e' * LINE} | head -n {lines - lines // 2} >&2; wait")
    status, body = docker_api(sock, "POST", "/v1.41/containers/create",
                              {"Image": IMAGE, "Cmd": ["sh", "-c", script], "HostConfig": {"NetworkMode": "none"}})
    assert status == 201, body
    cid = json.loads(body)["Id"]
    docker_api(sock, "POST", f"/v1.41/containers/{cid}/start")
    docker_api(sock, "POST", f"/v1.41/containers/{cid}/wait")
    return cid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["client", "daemon"])
    ap.add_argument("--quick", action="store_true", help="20 000 lines, one run each: checks that the script works")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.repeat = 20_000, 1
    host = subprocess.run(["bash", str(REPO / ".ci" / "dockerd"), "host"], capture_output=True, text=True,
                          check=True).stdout.strip()
    sock = host[len("unix://"):]
    print(f"creating a finished container with {args.lines} log lines of {LINE + 1} bytes ...", flush=True)
    cid = make_container(sock, args.lines)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # Capture the daemon's exact response bytes (head + chunked body).
            capture = Path(tmp) / "logs.http"
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(f"GET /v1.41/containers/{cid}/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n\r\n".encode())
            with open(capture, "wb") as f:
                tail = b""
                while not tail.endswith(b"0\r\n\r\n"):
                    d = s.recv(1 << 20)
                    if not d:
                        break
                    f.write(d)
                    tail = (tail + d)[-5:]
            s.close()
            import protocol

            dec = protocol.MultiplexedStreamDecoder(chunked=True)
            raw = capture.read_bytes()
            frames = len(dec.feed(raw[raw.index(b"\r\n\r\n") + 4:]))
            print(f"captured {len(raw) / 1e6:.1f} MB, {frames} frames "
                  f"({protocol.IMPLEMENTATION} twin in this process)\n", flush=True)
            inspect = Path(tmp) / "inspect.http"
            status, body = docker_api(sock, "GET", f"/v1.41/containers/{cid}/json")
            inspect.write_bytes(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                                b"Content-Length: %d\r\n\r\n" % len(body) + body)
            if args.only in (None, "client"):
                rsock = str(Path(tmp) / "replay.sock")
                server = subprocess.Popen([sys.executable, "-c", REPLAY_SERVER, rsock, str(capture), str(inspect)],
                                          stdout=subprocess.PIPE)
                assert server.stdout is not None
                server.stdout.readline()
                try:
                    print("client-bound (replay server, sendfile over a unix socket):")
                    res = measure("client", clients(f"unix://{rsock}", rsock, cid), args.repeat, frames)
                finally:
                    server.kill()
                report("client-bound", res, frames)
            if args.only in (None, "daemon"):
                print("\ndaemon-bound (the real dockerd, follow=0):")
                res = measure("daemon", clients(host, sock, cid), args.repeat, frames)
                report("daemon-bound", res, frames)
                bare_w, bare_c = res["bare socket loop"]
                ours_w, ours_c = res["protocol cython sink"]
                print(f"\n  ours vs bare loop: wall {ours_w / bare_w:.3f}x, client cpu {ours_c / bare_c:.2f}x")
    finally:
        docker_api(sock, "DELETE", f"/v1.41/containers/{cid}?force=1")


if __name__ == "__main__":
    main()
