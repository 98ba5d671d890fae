"""The ssh:// transport against the unix socket, in one run.

* logs throughput: a finished container's logs (``--lines`` lines of 61
  bytes) read with ``logs_into`` (the sink form), over the unix socket and
  over ``ssh://`` (ssh + ``docker system dial-stdio`` on the private sshd);
* connection set-up: a new client's first request (ssh start-up, key
  exchange, the remote CLI's start) against its second (a pooled
  connection: no ssh start-up at all), and the same for unix.

    python benchmarks/ssh_transport.py [--lines N] [--repeat R]

Needs the private daemon and sshd (``.ci/dockerd start``, ``.ci/sshd start``).
Prints medians and ratios; not a timed test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import protocol

REPO = Path(__file__).resolve().parent.parent
IMAGE = "docker-protocol/busybox:latest"


def script(name: str) -> str:
    """Start a harness service (idempotent) and return its host."""
    run = ["bash", str(REPO / ".ci" / name)]
    subprocess.run([*run, "start"], check=True, capture_output=True)
    return subprocess.run([*run, "host"], check=True, capture_output=True, text=True).stdout.strip()


def ssh_settings() -> tuple[str, list[str]]:
    host = script("sshd")
    options = subprocess.run(["bash", str(REPO / ".ci" / "sshd"), "options"], check=True,
                             capture_output=True, text=True).stdout.split()
    return host, options


def make_logs(unix: str, lines: int) -> str:
    with protocol.Client(unix) as c:
        payload = "x" * 60
        cid = c.create_container(IMAGE, ["sh", "-c", f"yes {payload} | head -n {lines}"],
                                 HostConfig={"NetworkMode": "none"})["Id"]
        c.start_container(cid)
        c.wait_container(cid)
        return str(cid)


def read_logs(client: protocol.Client, cid: str) -> float:
    fd = os.open(os.devnull, os.O_WRONLY)
    try:
        started = time.perf_counter()
        client.logs_into(cid, fd, fd, tty=False)
        return time.perf_counter() - started
    finally:
        os.close(fd)


def exec_output(client: protocol.Client, cid: str, size: int) -> float:
    """Seconds to receive ``size`` bytes of exec output (no log files in the
    way: the daemon copies a pipe, so the transport's cost shows)."""
    fd = os.open(os.devnull, os.O_WRONLY)
    try:
        started = time.perf_counter()
        with client.exec_stream(cid, ["head", "-c", str(size), "/dev/zero"]) as session:
            session.copy_to(fd, fd)
        return time.perf_counter() - started
    finally:
        os.close(fd)


def setup_times(make_client, repeat: int) -> tuple[float, float]:
    firsts, seconds = [], []
    for _ in range(repeat):
        with make_client() as c:
            t0 = time.perf_counter()
            c.ping()
            t1 = time.perf_counter()
            c.ping()
            t2 = time.perf_counter()
        firsts.append(t1 - t0)
        seconds.append(t2 - t1)
    return statistics.median(firsts), statistics.median(seconds)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--exec-mb", type=int, default=200)
    args = ap.parse_args()

    unix = script("dockerd")
    ssh_host, ssh_options = ssh_settings()
    cid = make_logs(unix, args.lines)
    size = args.lines * 61
    exec_size = args.exec_mb * 1_000_000
    with protocol.Client(unix) as c:
        runner = c.create_container(IMAGE, ["sleep", "3600"], HostConfig={"NetworkMode": "none"})["Id"]
        c.start_container(runner)
    try:
        def unix_client() -> protocol.Client:
            return protocol.Client(unix, version="1.41")

        def ssh_client() -> protocol.Client:
            return protocol.Client(ssh_host, version="1.41", ssh_options=ssh_options)

        # Runs alternate between the transports, so that a shared machine's
        # load falls on both alike; the ratio is the figure to read.
        times: dict[str, list[float]] = {"unix": [], "ssh": []}
        with unix_client() as u, ssh_client() as s:
            read_logs(u, cid), read_logs(s, cid)  # warm-up: page cache, pooled connections
            for _ in range(args.repeat):
                times["unix"].append(read_logs(u, cid))
                times["ssh"].append(read_logs(s, cid))
        results = {name: statistics.median(t) for name, t in times.items()}
        exec_times: dict[str, list[float]] = {"unix": [], "ssh": []}
        with unix_client() as u, ssh_client() as s:
            for _ in range(args.repeat):
                exec_times["unix"].append(exec_output(u, runner, exec_size))
                exec_times["ssh"].append(exec_output(s, runner, exec_size))
        exec_results = {name: statistics.median(t) for name, t in exec_times.items()}
        firsts: dict[str, list[float]] = {"unix": [], "ssh": []}
        seconds: dict[str, list[float]] = {"unix": [], "ssh": []}
        for _ in range(args.repeat):
            for name, make in (("unix", unix_client), ("ssh", ssh_client)):
                first, second = setup_times(make, 1)
                firsts[name].append(first)
                seconds[name].append(second)
        setup = {name: (statistics.median(firsts[name]), statistics.median(seconds[name]))
                 for name in firsts}
    finally:
        with protocol.Client(unix) as c:
            c.remove_container(cid, force=True)
            c.remove_container(runner, force=True)

    print(f"protocol {protocol.__version__} ({protocol.IMPLEMENTATION}), {args.lines} lines "
          f"({size / 1e6:.0f} MB), median of {args.repeat}, python {sys.version.split()[0]}")
    print()
    print("| transport | logs_into s | MB/s | vs unix |")
    print("|---|---|---|---|")
    for name in ("unix", "ssh"):
        t = results[name]
        print(f"| {name} | {t:.3f} | {size / t / 1e6:.0f} | {results['unix'] / t:.2f}x |")
    print()
    print(f"| transport | exec output {exec_size / 1e6:.0f} MB s | MB/s | vs unix |")
    print("|---|---|---|---|")
    for name in ("unix", "ssh"):
        t = exec_results[name]
        print(f"| {name} | {t:.3f} | {exec_size / t / 1e6:.0f} | {exec_results['unix'] / t:.2f}x |")
    print()
    print("| transport | first request ms (new connection) | second request ms (pooled) |")
    print("|---|---|---|")
    for name in ("unix", "ssh"):
        first, second = setup[name]
        print(f"| {name} | {first * 1e3:.1f} | {second * 1e3:.2f} |")


if __name__ == "__main__":
    main()
