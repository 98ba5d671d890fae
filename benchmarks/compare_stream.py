"""The stream decoders in memory, against compiled floors measured in the same run.

    .venv/bin/python benchmarks/compare_stream.py --quick        # CI: under a minute, checks the script works
    .venv/bin/python benchmarks/compare_stream.py                # default sizes (10 MB, 200 k messages)
    .venv/bin/python benchmarks/compare_stream.py --full         # 100 MB of frames, 1 M messages
    .venv/bin/python benchmarks/compare_stream.py --callgrind    # + instructions per item (valgrind)

One table per workload; every row's time is divided by the baseline row's,
measured in the same run, interleaved, medians of ``--repeat`` rounds (see
``calibration.py``).  The pure-Python twin's rows are measured in a table
of their own, each round with the same baseline: interleaved with the
compiled rows, the heap its many objects leave behind slowed the compiled
rows that ran after it.  Nothing here asserts a speed.

Workloads (in memory, so the decoder is the bottleneck):

* ``logs-61``: container logs as dockerd 20.10 sends them: 61-byte
  multiplexed frames (8-byte header + 53-byte line), stdout and stderr
  alternating, every frame its own HTTP chunk (``3d\\r\\n`` frame ``\\r\\n``),
  ending with ``0\\r\\n\\r\\n``, fed in pieces of about 256 KiB cut at
  chunk boundaries (``--read``).  Baseline: ``walk + 1 object/frame``, a
  minimal compiled loop over the same pieces that builds a list of one
  payload ``bytes`` per frame (``_calibrate.pyx``): the least any per-item
  decoder must do.  Also shown: the walk alone and a ``memcpy`` of the input.
* ``logs-32k``: the same with 32 KiB payloads.  Baseline: ``memcpy`` of the
  input (the decoders copy every payload byte once).
* ``json``: a JSON stream of progress messages (``{"status":"Downloading",
  ...}\\r\\n``) in 64 KiB and 1 KiB pieces.  Baseline: ``json.loads`` on the
  messages already split (the floor for any JSON-stream decoder that returns
  what ``json.loads`` returns).

Peers: the pure-Python twin, and docker-py (7.x) when installed (``pip
install .[bench]``).  docker-py has no chunk decoder of its own (urllib3 does
that), so its frame function gets the de-chunked payload: an advantage to
docker-py.  ``json_stream`` is slow in small pieces and runs on fewer
messages (given in the row).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration  # noqa: E402
from calibration import print_table  # noqa: E402

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
    out: dict[str, Any] = {"python": importlib.import_module("protocol._core._stream_py")}
    try:
        out["cython"] = importlib.import_module("protocol._core._speedups")
    except ImportError:
        print("(protocol._core._speedups is not built: Python twin only)", file=sys.stderr)
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
# Tables
# ---------------------------------------------------------------------------


def logs_table(name: str, payload_size: int, total: int, read: int, repeat: int, impls: dict[str, Any],
               cal: Any, docker_py: bool, python: bool) -> None:
    body, payload, nframes = logs_body(total, payload_size)
    pieces = calibration.chunk_aligned_pieces(body, read)
    rows: dict[str, Callable[[], Any]] = {
        "memcpy of the input": lambda: cal.copy(pieces),
        "bytes.find pass (memchr)": lambda: [p.find(b"\xff") for p in pieces],
        "walk": lambda: cal.walk(pieces),
        "walk + 1 object/frame": lambda: cal.walk_objects(pieces),
    }
    baseline = "walk + 1 object/frame" if payload_size < 1024 else "memcpy of the input"
    # The Python twin's rows are measured apart, each round with the
    # baseline: interleaved with the compiled rows, the heap its hundreds
    # of thousands of objects leave behind slowed the compiled feed() that
    # ran after it (logs-61: 1.16x-1.20x of the baseline alone, 1.2x-1.4x
    # mixed, on this project's machine).
    slow: dict[str, Callable[[], Any]] = {baseline: rows[baseline]}
    for impl, module in impls.items():
        if impl == "python" and not python:
            continue
        group = slow if impl == "python" else rows
        group[f"{impl} feed()"] = lambda m=module: mux_feed(m, pieces)
        group[f"{impl} feed_into()"] = lambda m=module: mux_feed_into(m, pieces)
    if docker_py:
        rows["docker-py (de-chunked input)"] = lambda: dockerpy_buffer_helper(payload)
    # Every row must see every frame (the floors too): a check, not a speed assertion.
    assert cal.walk(pieces) == cal.walk_objects(pieces) == nframes
    for impl, module in impls.items():
        assert mux_feed(module, pieces) == nframes
    medians = calibration.interleaved(rows, repeat)
    title = f"{name}: {nframes} frames, {len(body) / 1e6:.1f} MB, pieces of ~{read // 1024} KiB"
    print_table(title, nframes, "frames", medians, baseline, len(body))
    if len(slow) > 1:
        print_table(f"{name}, the Python twin (measured apart, with the same baseline)", nframes, "frames",
                    calibration.interleaved(slow, repeat), baseline, len(body))


def json_table(messages: int, repeat: int, impls: dict[str, Any], docker_py: bool, python: bool) -> None:
    body = json_body(messages)
    split = [PROGRESS[:-2]] * messages
    rows: dict[str, Callable[[], Any]] = {
        "json.loads (pre-split)": lambda: json_loads_only(split),
        "utf-8 + scan_once (pre-split)": lambda: scan_only(split),
    }
    notes: dict[str, str] = {}
    baseline = "json.loads (pre-split)"
    slow: dict[str, Callable[[], Any]] = {baseline: rows[baseline]}  # the Python twin, apart (see logs_table)
    for piece in (64 * 1024, 1024):
        pieces = pieces_of(body, piece)
        for impl, module in impls.items():
            if impl == "python" and not python:
                continue
            group = slow if impl == "python" else rows
            group[f"{impl} feed(), {piece // 1024} KiB pieces"] = lambda m=module, p=pieces: json_feed(m, p)
            assert json_feed(module, pieces) == messages
    medians = calibration.interleaved(rows, repeat)
    if docker_py:
        # Slower by far: fewer messages, scaled to the table's count.
        small = min(messages, 50_000)
        dpieces = pieces_of(body[: small * len(PROGRESS)], 64 * 1024)
        t = calibration.interleaved({"d": lambda: dockerpy_json_stream(dpieces)}, max(1, repeat // 2))["d"]
        medians["docker-py json_stream, 64 KiB"] = t * messages / small
        notes["docker-py json_stream, 64 KiB"] = f"(on {small} messages, scaled)"
    print_table(f"json: {messages} progress messages, {len(body) / 1e6:.1f} MB", messages, "msgs",
                medians, baseline, len(body), notes)
    if len(slow) > 1:
        print_table("json, the Python twin (measured apart, with the same baseline)", messages, "msgs",
                    calibration.interleaved(slow, repeat), baseline, len(body))


# ---------------------------------------------------------------------------
# callgrind
# ---------------------------------------------------------------------------

CG_FRAMES = 20_000
CG_MESSAGES = 5_000
CG_WORKLOADS = (
    # (name, items, the name of its baseline)
    ("walk", CG_FRAMES, "walk + 1 object/frame"),
    ("walk + 1 object/frame", CG_FRAMES, "walk + 1 object/frame"),
    ("cython feed()", CG_FRAMES, "walk + 1 object/frame"),
    ("cython feed_into()", CG_FRAMES, "walk + 1 object/frame"),
    ("json.loads (pre-split)", CG_MESSAGES, "json.loads (pre-split)"),
    ("cython json feed(), 64 KiB pieces", CG_MESSAGES, "json.loads (pre-split)"),
)


def callgrind_child() -> None:
    """Run every CG_WORKLOADS entry once inside ``measured`` (under valgrind, by the parent)."""
    import protocol._core._speedups as cy

    cal = calibration.load()
    body, _, nframes = logs_body(CG_FRAMES * 61, 53)
    assert nframes == CG_FRAMES
    pieces = calibration.chunk_aligned_pieces(body, 256 * 1024)
    jpieces = pieces_of(json_body(CG_MESSAGES), 64 * 1024)
    split = [PROGRESS[:-2]] * CG_MESSAGES
    fns: dict[str, Callable[[], Any]] = {
        "walk": lambda: cal.walk(pieces),
        "walk + 1 object/frame": lambda: cal.walk_objects(pieces),
        "cython feed()": lambda: mux_feed(cy, pieces),
        "cython feed_into()": lambda: mux_feed_into(cy, pieces),
        "json.loads (pre-split)": lambda: json_loads_only(split),
        "cython json feed(), 64 KiB pieces": lambda: json_feed(cy, jpieces),
    }
    for fn in fns.values():  # warm: first calls fill caches and free lists
        fn()
    for name, _, _ in CG_WORKLOADS:
        cal.measured(fns[name])


def callgrind_table() -> None:
    if not calibration.have_callgrind():
        print("\n(callgrind: valgrind is not installed; `apt-get install valgrind` to count instructions)")
        return
    # The child loads the module compiled here instead of compiling under valgrind.
    env = dict(os.environ, CALIBRATE_SO=calibration.load().__file__)
    counts = calibration.callgrind_runs([sys.executable, str(Path(__file__).resolve()), "--callgrind-child"], env)
    if len(counts) != len(CG_WORKLOADS):
        raise RuntimeError(f"callgrind: {len(counts)} profiles for {len(CG_WORKLOADS)} workloads")
    per_item = {name: ir / items for (name, items, _), ir in zip(CG_WORKLOADS, counts)}
    print(f"\ncallgrind: instructions per item ({CG_FRAMES} 61-byte frames, {CG_MESSAGES} JSON messages; "
          "exact from run to run)")
    print(f"  {'':44} {'x baseline':>10} {'Ir/item':>10}")
    for name, _, base in CG_WORKLOADS:
        label = name + (" (baseline)" if name == base else "")
        print(f"  {label:44} {per_item[name] / per_item[base]:9.2f}x {per_item[name]:10.1f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, 3 rounds: checks that the script works")
    size.add_argument("--full", action="store_true", help="100 MB of frames, 1 M JSON messages")
    ap.add_argument("--repeat", type=int, help="interleaved rounds per table (median); default 7, --quick 3")
    ap.add_argument("--read", type=int, default=256 * 1024, help="input piece size for the log workloads")
    ap.add_argument("--no-docker-py", action="store_true", help="skip the docker-py peer")
    ap.add_argument("--no-python", action="store_true", help="skip the Python twin")
    ap.add_argument("--callgrind", action="store_true", help="also count instructions per item (valgrind)")
    ap.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.callgrind_child:
        callgrind_child()
        return

    mb = 100 if args.full else (1 if args.quick else 10)
    messages = 1_000_000 if args.full else (5_000 if args.quick else 200_000)
    repeat = args.repeat or (3 if args.quick else 7)
    impls = twins()
    docker_py = not args.no_docker_py and importlib.util.find_spec("docker") is not None
    if not args.no_docker_py and not docker_py:
        print("(docker-py is not installed: pip install .[bench] for the docker-py rows)")
    cal = calibration.load()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {repeat} interleaved rounds, medians; "
          f"ratios are of times measured in this run")
    logs_table("logs-61", 53, mb * 1_000_000, args.read, repeat, impls, cal, docker_py, not args.no_python)
    logs_table("logs-32k", 32 * 1024, mb * 1_000_000, args.read, repeat, impls, cal, docker_py, not args.no_python)
    json_table(messages, repeat, impls, docker_py, not args.no_python)
    if args.callgrind:
        callgrind_table()


if __name__ == "__main__":
    main()
