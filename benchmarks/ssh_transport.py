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


def script(name: str) -> list[str]:
    out = subprocess.run(["bash", str(REPO / ".ci" / name), "start"], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip().splitlines()


def ssh_settings() -> tuple[str, list[str]]:
    host = script("sshd")[-1]
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
    args = ap.parse_args()

    unix = script("dockerd")[-1]
    ssh_host, ssh_options = ssh_settings()
    cid = make_logs(unix, args.lines)
    size = args.lines * 61
    try:
        def unix_client() -> protocol.Client:
            return protocol.Client(unix, version="1.41")

        def ssh_client() -> protocol.Client:
            return protocol.Client(ssh_host, version="1.41", ssh_options=ssh_options)

        results = {}
        for name, make in (("unix", unix_client), ("ssh", ssh_client)):
            with make() as c:
                read_logs(c, cid)  # warm-up: page cache, the pooled connection
                times = [read_logs(c, cid) for _ in range(args.repeat)]
            results[name] = statistics.median(times)
        setup = {"unix": setup_times(unix_client, args.repeat), "ssh": setup_times(ssh_client, args.repeat)}
    finally:
        with protocol.Client(unix) as c:
            c.remove_container(cid, force=True)

    print(f"protocol {protocol.__version__} ({protocol.IMPLEMENTATION}), {args.lines} lines "
          f"({size / 1e6:.0f} MB), median of {args.repeat}, python {sys.version.split()[0]}")
    print()
    print("| transport | logs_into s | MB/s | vs unix |")
    print("|---|---|---|---|")
    for name in ("unix", "ssh"):
        t = results[name]
        print(f"| {name} | {t:.3f} | {size / t / 1e6:.0f} | {results['unix'] / t:.2f}x |")
    print()
    print("| transport | first request ms (new connection) | second request ms (pooled) |")
    print("|---|---|---|")
    for name in ("unix", "ssh"):
        first, second = setup[name]
        print(f"| {name} | {first * 1e3:.1f} | {second * 1e3:.2f} |")


if __name__ == "__main__":
    main()
