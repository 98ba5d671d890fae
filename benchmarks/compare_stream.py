"""Measure the stream decoders and print one table (medians, rates, ratios).

    PYTHONPATH=src python3 benchmarks/compare_stream.py            # quick sizes
    PYTHONPATH=src python3 benchmarks/compare_stream.py --full     # issue sizes

Workloads (in memory, so the decoder is the bottleneck):

* ``logs-61``: container logs as dockerd 20.10 sends them: 61-byte
  multiplexed frames (8-byte header + 53-byte line), stdout and stderr
  alternating, every frame its own HTTP chunk (``35\\r\\n`` frame ``\\r\\n``),
  ending with ``0\\r\\n\\r\\n``.  Fed in 256 KiB reads (``--read``).
* ``logs-32k``: the same with 32 KiB payloads.
* ``json-*``: a JSON stream of progress messages (``{"status":"Downloading",
  ...}\\r\\n``) fed in 1-byte, 1 KiB and 64 KiB pieces.
* ``json.loads``: ``json.loads`` alone on the pre-split messages, the floor
  for any JSON-stream decoder; the "split overhead" line is decoder time over
  that floor.
* linearity: ns per message for 1 k .. 1 M messages (64 KiB pieces).

Rates: frames/s (or messages/s), and GB/s of *input* bytes (chunk framing
included).  Every time is the median of ``--repeat`` runs.  Items are
dropped after each feed(), as a consumer that handles them as they come
would; feed_into() writes to a null sink (an object whose write() discards).

docker-py (7.1) reference: it has no chunk decoder of its own (urllib3 does
that), so its frame functions get the de-chunked payload: an advantage to
docker-py.  ``frames_iter`` runs over an in-memory fake socket (it polls the
socket before every read, as it does on a real one); it and ``json_stream``
are quadratic or slow enough that they run on a smaller count, given in the
table.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

LINE = b"x" * 52 + b"\n"  # 53-byte line: 61-byte frame
PROGRESS = (
    b'{"status":"Downloading","progressDetail":{"current":123,"total":4567},'
    b'"progress":"[==>   ] 123B/4.567kB","id":"abc123def456"}\r\n'
)


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


def frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def logs_body(total_bytes: int, payload_size: int) -> tuple[bytes, bytes, int]:
    """(chunked body, de-chunked payload, frame count) for about total_bytes of frames."""
    line = (LINE * (payload_size // len(LINE) + 1))[:payload_size]
    f_out = frame(1, line)
    f_err = frame(2, line)
    pair_chunked = b"%x\r\n" % len(f_out) + f_out + b"\r\n" + b"%x\r\n" % len(f_err) + f_err + b"\r\n"
    pairs = max(1, total_bytes // (2 * len(f_out)))
    body = pair_chunked * pairs + b"0\r\n\r\n"
    payload = (f_out + f_err) * pairs
    return body, payload, 2 * pairs


def pieces_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def json_body(messages: int) -> bytes:
    return PROGRESS * messages


# ---------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------


def twins() -> dict[str, Any]:
    out: dict[str, Any] = {"python": importlib.import_module("protocol._stream_py")}
    try:
        out["cython"] = importlib.import_module("protocol._speedups")
    except ImportError:
        print("(protocol._speedups is not built: Python twin only)", file=sys.stderr)
    return out


class NullSink:
    def write(self, data: Any) -> None:
        pass


def mux_feed(module: Any, pieces: list[bytes]) -> int:
    d = module.MultiplexedStreamDecoder(chunked=True)
    n = 0
    for p in pieces:
        n += len(d.feed(p))
    d.end()
    return n


def mux_feed_into(module: Any, pieces: list[bytes]) -> int:
    d = module.MultiplexedStreamDecoder(chunked=True)
    sink = NullSink()
    for p in pieces:
        d.feed_into(p, sink, sink)
    d.end()
    return 0


def json_feed(module: Any, pieces: list[bytes]) -> int:
    d = module.JSONStreamDecoder()
    n = 0
    for p in pieces:
        n += len(d.feed(p))
    d.end()
    return n


class FakeSocket:
    """Enough of a socket for docker.utils.socket.read(): recv() and fileno()."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)
        self._fd = os.open(os.devnull, os.O_RDONLY)  # always "readable" for poll()

    def recv(self, n: int) -> bytes:
        return self._io.read(n)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        os.close(self._fd)


def dockerpy_frames_iter(payload: bytes) -> int:
    from docker.utils.socket import frames_iter

    sock = FakeSocket(payload)
    n = 0
    try:
        for _ in frames_iter(sock, False):
            n += 1
    finally:
        sock.close()
    return n


def dockerpy_buffer_helper(payload: bytes) -> int:
    from docker.api.client import APIClient

    class Fake:
        def _result(self, response: Any, binary: bool = False) -> bytes:
            return payload

    n = 0
    for _ in APIClient._multiplexed_buffer_helper(Fake(), None):  # type: ignore[arg-type]
        n += 1
    return n


def dockerpy_json_stream(pieces: list[bytes]) -> int:
    from docker.utils.json_stream import json_stream

    from docker.errors import StreamParseError

    n = 0
    try:
        for _ in json_stream(iter(pieces)):
            n += 1
    except StreamParseError:
        # docker-py 7.1 fails at the end of a CRLF-separated stream read in
        # pieces that leave the final "\r\n" on its own: every message was
        # yielded before that, so count them and go on.
        if n != len(b"".join(pieces)) // len(PROGRESS):
            raise
    return n


def scan_only(messages: list[bytes]) -> int:
    """What the decoders do per message once it is split: UTF-8 decode + json's C scanner."""
    scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    for m in messages:
        scan_once(m.decode("utf-8", "surrogatepass"), 0)
    return len(messages)


def json_loads_only(messages: list[bytes]) -> int:
    loads = json.loads
    for m in messages:
        loads(m)
    return len(messages)


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, int, float, str, str]] = []
        self.by_key: dict[tuple[str, str], float] = {}

    def add(self, workload: str, impl: str, items: int, nbytes: int, seconds: float) -> None:
        rate = items / seconds
        self.by_key[(workload, impl)] = rate
        vs_py = self.by_key.get((workload, "python"))
        vs_docker = self.by_key.get((workload, "docker-py"))
        self.rows.append(
            (
                workload,
                impl,
                items,
                nbytes,
                seconds,
                f"{rate / vs_py:.1f}x" if vs_py and impl != "python" else "",
                f"{rate / vs_docker:.1f}x" if vs_docker and impl != "docker-py" else "",
            )
        )
        print(self._fmt(self.rows[-1]), flush=True)

    @staticmethod
    def header() -> str:
        return (
            f"{'workload':<26} {'implementation':<24} {'items':>9} {'MB in':>8} "
            f"{'median s':>9} {'M items/s':>10} {'GB/s':>7} {'vs py':>7} {'vs docker-py':>12}"
        )

    @staticmethod
    def _fmt(row: tuple[str, str, int, int, float, str, str]) -> str:
        workload, impl, items, nbytes, seconds, vs_py, vs_docker = row
        return (
            f"{workload:<26} {impl:<24} {items:>9} {nbytes / 1e6:>8.1f} {seconds:>9.4f} "
            f"{items / seconds / 1e6:>10.3f} {nbytes / seconds / 1e9:>7.3f} {vs_py:>7} {vs_docker:>12}"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="issue sizes: 100 MB of logs, 1 M JSON messages")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    ap.add_argument("--read", type=int, default=256 * 1024, help="input piece size for the log workloads")
    ap.add_argument("--no-docker-py", action="store_true", help="skip the docker-py reference")
    ap.add_argument("--no-python", action="store_true", help="skip the Python twin on the big workloads")
    args = ap.parse_args(argv)

    mb = 100 if args.full else int(os.environ.get("BENCH_MB", "10"))
    messages = 1_000_000 if args.full else int(os.environ.get("BENCH_MESSAGES", "50000"))
    # Smaller counts for the slow paths (stated in the table).
    dockerpy_frames = min(200_000, mb * 1_000_000 // 61)
    one_byte_messages = min(messages, 20_000)
    dockerpy_json_messages = min(messages, 50_000)

    impls = twins()
    table = Table()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of {args.repeat}; reads of {args.read} bytes")
    print(Table.header())

    for name, payload_size in (("logs-61", 53), ("logs-32k", 32 * 1024)):
        body, payload, nframes = logs_body(mb * 1_000_000, payload_size)
        pieces = pieces_of(body, args.read)
        if not args.no_docker_py:
            if name == "logs-61":
                small = payload[: dockerpy_frames * 61]
                t = median_time(lambda: dockerpy_frames_iter(small), max(1, args.repeat // 2))
                table.add(f"{name} [{dockerpy_frames} fr]", "docker-py frames_iter", dockerpy_frames, len(small), t)
            else:
                t = median_time(lambda: dockerpy_frames_iter(payload), max(1, args.repeat // 2))
                table.add(name, "docker-py frames_iter", nframes, len(body), t)
            t = median_time(lambda: dockerpy_buffer_helper(payload), args.repeat)
            table.add(name, "docker-py", nframes, len(body), t)
        for impl, module in impls.items():
            if impl == "python" and args.no_python:
                continue
            for label, fn in (("feed", mux_feed), ("feed_into", mux_feed_into)):
                t = median_time(lambda: fn(module, pieces), args.repeat if impl != "python" else max(1, args.repeat // 2))
                key = f"{name} {label}"
                # Ratios: each form against the same form of the Python twin.
                if impl == "python":
                    table.by_key[(key, "python")] = nframes / t
                table.by_key[(key, "docker-py")] = table.by_key.get((name, "docker-py"), 0.0)
                table.add(key, impl, nframes, len(body), t)
        del body, payload, pieces
        gc.collect()

    # JSON streams.
    body = json_body(messages)
    split = [PROGRESS[:-2]] * messages
    t_loads = median_time(lambda: json_loads_only(split), args.repeat)
    table.add("json.loads (pre-split)", "stdlib json.loads", messages, len(body), t_loads)
    t_scan = median_time(lambda: scan_only(split), args.repeat)
    table.add("decode+scan (pre-split)", "utf-8 + json scan_once", messages, len(body), t_scan)
    for piece in (1, 1024, 64 * 1024):
        count = one_byte_messages if piece == 1 else messages
        data = body[: count * len(PROGRESS)]
        pieces = pieces_of(data, piece)
        key = f"json {piece} B pieces" + (f" [{count}]" if count != messages else "")
        if not args.no_docker_py:
            dcount = min(count, dockerpy_json_messages if piece != 1 else 2_000)
            dpieces = pieces_of(data[: dcount * len(PROGRESS)], piece)
            t = median_time(lambda: dockerpy_json_stream(dpieces), max(1, args.repeat // 2))
            table.by_key[(key, "docker-py")] = dcount / t
            table.add(key + f" (docker-py: {dcount})", "docker-py json_stream", dcount, len(data[: dcount * len(PROGRESS)]), t)
        for impl, module in impls.items():
            if impl == "python" and args.no_python and piece == 1:
                continue
            t = median_time(lambda: json_feed(module, pieces), args.repeat)
            table.add(key, impl, count, len(data), t)
            if piece == 64 * 1024:
                print(
                    f"  -> {impl}: {(t / t_loads - 1) * 100:+.1f}% vs json.loads on pre-split messages, "
                    f"{(t / t_scan - 1) * 100:+.1f}% vs its own per-message decode (utf-8 + scan_once) on them"
                )

    print("\nLinearity (64 KiB pieces): ns per message")
    counts = [1_000, 10_000, 100_000] + ([1_000_000] if args.full else [])
    for impl, module in impls.items():
        cells = []
        for count in counts:
            pieces = pieces_of(json_body(count), 64 * 1024)
            reps = max(3, min(args.repeat, 5))
            t = median_time(lambda: json_feed(module, pieces), reps)
            cells.append(f"{count:>9}: {t / count * 1e9:8.0f}")
        print(f"  {impl:<8}" + "  ".join(cells))


if __name__ == "__main__":
    main()
