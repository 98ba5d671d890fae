"""Same-run baselines for the benchmarks: compiled floors, medians, callgrind.

The machine these benchmarks run on is shared and its speed varies from run
to run, so no absolute figure is compared with another run's.  Every table
prints a *baseline measured in the same run* and each row's time as a ratio
to it; measurements of one table are interleaved (round-robin over the rows,
``repeat`` rounds, the order rotated each round so that no row always runs
after the same other row), and a row's ratio is the median over the rounds
of its time over the baseline's in the same round, so a slow phase of the
machine or of the daemon hits both sides of each ratio alike.  Instruction counts (callgrind) repeat
exactly where wall time does not: ``callgrind_per_item`` gives them.

``load()`` compiles ``_calibrate.pyx`` (the compiled floors) into a
temporary directory with the same compiler and flags as the package's
extension.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
_module: Any = None


def load() -> Any:
    """The compiled calibration module (built once per process, in a temporary directory)."""
    global _module
    if _module is not None:
        return _module
    prebuilt = os.environ.get("CALIBRATE_SO")  # set for callgrind children by their parent
    if prebuilt:
        return _import(Path(prebuilt))
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    tmp = Path(tempfile.mkdtemp(prefix="calibrate-"))
    atexit.register(shutil.rmtree, tmp, True)  # a loaded module keeps working once its file is gone
    src = tmp / "_calibrate.pyx"
    shutil.copyfile(HERE / "_calibrate.pyx", src)
    ext = Extension("_calibrate", [str(src)], extra_compile_args=["-O3"])
    dist = Distribution({"ext_modules": cythonize([ext], quiet=True, language_level=3)})
    cmd = build_ext(dist)
    cmd.build_lib = str(tmp)
    cmd.build_temp = str(tmp / "build")
    cmd.ensure_finalized()
    # The compiler's chatter goes to stderr; keep the tables readable.
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(1)
    os.dup2(devnull, 1)
    try:
        cmd.run()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return _import(next(tmp.glob("_calibrate*.so")))


def _import(built: Path) -> Any:
    global _module
    spec = importlib.util.spec_from_file_location("_calibrate", built)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _module = module
    return module


def chunk_aligned_pieces(body: bytes, size: int) -> list[bytes]:
    """``body`` (a chunked body) cut into pieces of about ``size`` bytes at chunk boundaries.

    The calibration loops do not carry state across pieces; the decoders
    get the same pieces, so every row of a table reads the same bytes the
    same way.  (Reads cut at arbitrary points are tested elsewhere; their
    cost is per read, not per frame.)
    """
    pieces = []
    start = 0
    n = len(body)
    while start < n:
        pos = start
        while pos < n and pos - start < size:
            nl = body.index(b"\r\n", pos)
            chunk = int(body[pos:nl], 16)
            pos = nl + 2 + chunk + 2  # the CRLF after the data (after the last chunk: the empty trailer)
        pieces.append(body[start:pos])
        start = pos
    return pieces


class Timings(dict[str, float]):
    """Median seconds per row (the dict), with every round's times kept in
    :attr:`rounds` so that a row's ratio to the baseline is the median of
    the ratios *within* each round (see :func:`ratio`)."""

    def __init__(self, rounds: dict[str, list[float]]) -> None:
        super().__init__({name: statistics.median(ts) for name, ts in rounds.items()})
        self.rounds = rounds


def ratio(timings: dict[str, float], name: str, baseline: str) -> float:
    """Row ``name``'s time over the baseline's: the median over the rounds
    of the two rows' ratio in the same round when the rounds are known (a
    slow phase of the machine or of the daemon then cancels out, pair by
    pair), else the ratio of the medians."""
    rounds = getattr(timings, "rounds", None)
    if rounds is not None and name in rounds and baseline in rounds and len(rounds[name]) == len(rounds[baseline]):
        return statistics.median(a / b for a, b in zip(rounds[name], rounds[baseline]))
    return timings[name] / timings[baseline]


def rotation(names: list[str], round_no: int) -> list[str]:
    """The rows' order in round ``round_no``: rotated by one each round, so
    that no row always follows the same other row (one that leaves the
    caches cold, or the daemon busy collecting garbage, would bias it)."""
    k = round_no % len(names) if names else 0
    return names[k:] + names[:k]


def interleaved(rows: dict[str, Callable[[], Any]], repeat: int) -> Timings:
    """Seconds per row, measured round-robin: ``repeat`` rounds, every row
    once per round, the order rotated each round; medians, and the rounds."""
    times: dict[str, list[float]] = {name: [] for name in rows}
    for name, fn in rows.items():  # warm up (imports, caches, first-touch page faults)
        fn()
    names = list(rows)
    for r in range(repeat):
        for name in rotation(names, r):
            fn = rows[name]
            gc.collect()
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return Timings(times)


def print_table(title: str, items: int, unit: str, medians: dict[str, float], baseline: str,
                nbytes: int = 0, notes: dict[str, str] | None = None) -> None:
    """One table: every row's ratio to the baseline row first (the median of
    the per-round ratios when ``medians`` is a :class:`Timings`), then
    medians and rates."""
    print(f"\n{title}")
    print(f"  {'':44} {'x baseline':>10} {'median':>10} {'M ' + unit + '/s':>13}" + (f" {'GB/s':>7}" if nbytes else ""))
    for name, t in medians.items():
        label = name + (" (baseline)" if name == baseline else "")
        note = f"  {notes[name]}" if notes and name in notes else ""
        rate = f" {nbytes / t / 1e9:7.2f}" if nbytes else ""
        print(f"  {label:44} {ratio(medians, name, baseline):9.2f}x {t * 1e3:8.2f}ms {items / t / 1e6:13.3f}{rate}{note}")


# ---------------------------------------------------------------------------
# callgrind: instructions per item, exact from run to run
# ---------------------------------------------------------------------------

def have_callgrind() -> bool:
    return shutil.which("valgrind") is not None


def callgrind_runs(argv: list[str], env: dict[str, str] | None = None) -> list[int]:
    """Instructions (Ir) of every ``_calibrate.measured(fn)`` call made by one process, in order.

    Collection is on only inside ``measured`` (``--toggle-collect``) and a
    profile is dumped after each call, so interpreter start-up, imports and
    building the inputs are not counted, and one run under valgrind serves
    every workload.
    """
    # --dump-after takes no wildcard: the C name of measured() from the module's symbol table.
    found = re.search(rb"__pyx_pw_\w*_calibrate_\d+measured", Path(load().__file__).read_bytes())
    if found is None:
        raise RuntimeError("no symbol for _calibrate.measured (stripped module?)")
    symbol = found.group().decode()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no",
             f"--toggle-collect={symbol}", f"--dump-after={symbol}", *argv],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        counts = []
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        for dump in dumps:
            text = dump.read_text()
            if "\ntrigger: Program termination" in text:
                continue
            for line in text.splitlines():
                if line.startswith(("totals:", "summary:")):
                    counts.append(int(line.split()[1]))
                    break
        return counts
