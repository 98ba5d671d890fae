"""Live follow latency: how long a log line takes from the server's write to the reader's hands.

    .venv/bin/python benchmarks/follow_latency.py --quick   # CI: a few seconds, checks the script works
    .venv/bin/python benchmarks/follow_latency.py           # 3000 lines per round, 5 rounds

A follow server (a separate process on a unix socket) answers ``GET
/containers/{id}/logs?follow=1`` as dockerd does for a non-TTY container:
a multiplexed stream, every frame its own HTTP chunk, one line per
millisecond.  Each line's payload is the server's ``CLOCK_MONOTONIC`` (one
clock for every process of the machine) at the moment of its write; the
reader subtracts it from its own clock when the line is in its hands.

Readers: a raw socket loop that strips the chunk and frame headers by hand
(the baseline: no parsing beyond that), ``Client.logs(follow=True)`` per
item and ``Client.logs_into`` (the sink form; its sink stamps each write).
Rounds are interleaved and the median of each reader's per-round p50 and
p99 is taken; the machine is shared, so only ratios within one run are
compared.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

import protocol

SERVER = textwrap.dedent("""
    import socket, struct, sys, time
    path, lines = sys.argv[1], int(sys.argv[2])
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        buf = b""
        while b"\\r\\n\\r\\n" not in buf:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
        if not data:
            conn.close()
            continue
        conn.sendall(b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\n"
                     b"Content-Type: application/vnd.docker.multiplexed-stream\\r\\n"
                     b"Transfer-Encoding: chunked\\r\\n\\r\\n")
        tick = time.monotonic()
        for i in range(lines):
            tick += 0.001
            delay = tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload = b"%d\\n" % time.monotonic_ns()
            frame = struct.pack(">BxxxL", 1, len(payload)) + payload
            conn.sendall(b"%x\\r\\n" % len(frame) + frame + b"\\r\\n")
        conn.sendall(b"0\\r\\n\\r\\n")
        conn.close()
""")

TARGET = "/v1.41/containers/bench/logs?follow=1&stdout=1&stderr=1"


def raw_reader(path: str) -> list[int]:
    """The baseline: recv, chunk-size line, frame header, payload; nothing else."""
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.sendall(b"GET %s HTTP/1.1\r\nHost: docker\r\n\r\n" % TARGET.encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    buf = buf.partition(b"\r\n\r\n")[2]
    out: list[int] = []
    clock = time.monotonic_ns
    while True:
        nl = buf.find(b"\r\n")
        if nl >= 0:
            size = int(buf[:nl], 16)
            if size == 0:
                break
            if len(buf) >= nl + 2 + size + 2:
                payload = buf[nl + 2 + 8:nl + 2 + size]
                out.append(clock() - int(payload))
                buf = buf[nl + 2 + size + 2:]
                continue
        data = sock.recv(65536)
        if not data:
            break
        buf += data
    sock.close()
    return out


def per_item(path: str) -> list[int]:
    out: list[int] = []
    clock = time.monotonic_ns
    with protocol.Client(f"unix://{path}", version="1.41") as client:
        for frame in client.logs("bench", follow=True, tty=False):
            out.append(clock() - int(frame.data))
    return out


class _Sink:
    """A sink that stamps each write (one frame per write here)."""

    def __init__(self) -> None:
        self.out: list[int] = []

    def write(self, data: bytes) -> None:
        now = time.monotonic_ns()
        for line in bytes(data).splitlines():
            self.out.append(now - int(line))


def sink_form(path: str) -> list[int]:
    sink = _Sink()
    with protocol.Client(f"unix://{path}", version="1.41") as client:
        client.logs_into("bench", sink, sink, follow=True, tty=False)
    return sink.out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 lines, 3 rounds: checks the script works")
    ap.add_argument("--lines", type=int, help="lines per round (one per ms; default 3000)")
    ap.add_argument("--repeat", type=int, help="interleaved rounds (default 5, --quick 3)")
    args = ap.parse_args()
    lines = args.lines or (300 if args.quick else 3000)
    repeat = args.repeat or (3 if args.quick else 5)
    readers: dict[str, Callable[[str], list[int]]] = {
        "raw socket loop (baseline)": raw_reader,
        "Client.logs(follow=True), per item": per_item,
        "Client.logs_into(follow=True), sink": sink_form,
    }
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, protocol {protocol.IMPLEMENTATION} twin; "
          f"{lines} lines at 1 per ms per round, {repeat} interleaved rounds, medians of per-round percentiles")
    p50: dict[str, list[float]] = {k: [] for k in readers}
    p99: dict[str, list[float]] = {k: [] for k in readers}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "follow.sock")
        server = subprocess.Popen([sys.executable, "-c", SERVER, path, str(lines)], stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            server.stdout.readline()
            for _ in range(repeat):
                for name, reader in readers.items():
                    got = sorted(reader(path))
                    if len(got) != lines:
                        raise AssertionError(f"{name}: {len(got)} lines, expected {lines}")
                    p50[name].append(got[len(got) // 2] / 1e3)
                    p99[name].append(got[min(len(got) - 1, len(got) * 99 // 100)] / 1e3)
        finally:
            server.kill()
            server.wait()
    base = "raw socket loop (baseline)"
    b50, b99 = statistics.median(p50[base]), statistics.median(p99[base])
    print(f"\nfollow latency, server write -> reader ({lines} lines, 1 per ms)")
    print(f"  {'':42} {'p50 / base':>10} {'p99 / base':>10} {'p50 µs':>8} {'p99 µs':>8}")
    for name in readers:
        m50, m99 = statistics.median(p50[name]), statistics.median(p99[name])
        print(f"  {name:42} {m50 / b50:9.2f}x {m99 / b99:9.2f}x {m50:8.0f} {m99:8.0f}")


if __name__ == "__main__":
    main()
