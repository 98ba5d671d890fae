"""Coverage-guided fuzzing of the stream decoders and Connection.receive_data (atheris).

    python fuzz/fuzz.py NEW_DIR fuzz/corpus -max_total_time=60

runs the targets of ``fuzz/harness.py`` (every input: both twins, every form,
compared); libFuzzer options pass through (``-help=1`` lists them).  New
interesting inputs go to NEW_DIR, the first directory (keep the checked-in
corpus second so it is only read); a crash or finding stops the run with
the traceback and writes the input to ``crash-*`` (``-artifact_prefix=DIR/``
picks where).  ``python fuzz/fuzz.py --replay FILE...`` runs inputs without
the fuzzer and says what they are; ``python fuzz/fuzz.py --minimize FILE OUT``
shrinks a finding.  See the README's "Fuzzing" section.

Coverage comes from the Python code (the Python twin, the connection, h11,
the harness), instrumented at import; the compiled twin runs uninstrumented
and is held to the Python twin's answers on every input.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def replay(paths: list[str]) -> int:
    import harness

    failed = 0
    for path in paths:
        data = open(path, "rb").read()
        try:
            harness.check(data)
        except Exception as exc:  # report every input, then fail
            failed += 1
            print(f"FAIL {path}: {harness.describe(data)}\n  {type(exc).__name__}: {exc}")
        else:
            print(f"ok   {path}: {harness.describe(data)}")
    return 1 if failed else 0


def _signature(data: bytes) -> str | None:
    """The kind of finding ``data`` gives (exception type and first words), or None."""
    import harness

    try:
        harness.check(data)
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split()[:3])}"
    return None


def minimize(path: str, out: str) -> int:
    """Shrink a finding greedily: drop pieces of the input while it still gives
    the same kind of finding.  (libFuzzer's -minimize_crash re-executes
    argv[0], which a Python script in a venv is not.)"""
    data = open(path, "rb").read()
    want = _signature(data)
    if want is None:
        print(f"{path} gives no finding")
        return 1
    step = len(data) // 2
    while step:
        i, shrunk = 3, False  # keep the target and flags bytes
        while i < len(data):
            candidate = data[:i] + data[i + step :]
            if _signature(candidate) == want:
                data, shrunk = candidate, True
            else:
                i += step
        if not shrunk:
            step //= 2
    open(out, "wb").write(data)
    print(f"{len(data)} bytes, {want}: written to {out}")
    return 0


def main() -> None:
    if sys.argv[1:2] == ["--replay"]:
        sys.exit(replay(sys.argv[2:]))
    if sys.argv[1:2] == ["--minimize"] and len(sys.argv) == 4:
        sys.exit(minimize(sys.argv[2], sys.argv[3]))
    import atheris

    with atheris.instrument_imports(include=["protocol", "h11", "harness"]):
        import harness

    def test_one_input(data: bytes) -> None:
        harness.check(data)

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
