"""Coverage-guided fuzzing of the stream decoders and Connection.receive_data (atheris).

    python fuzz/fuzz.py NEW_DIR fuzz/corpus -max_total_time=60

runs the targets of ``fuzz/harness.py`` (every input: both twins, every form,
compared); libFuzzer options pass through (``-help=1`` lists them).  New
interesting inputs go to NEW_DIR, the first directory (keep the checked-in
corpus second so it is only read); a crash or finding stops the run with
the traceback and writes the input to ``crash-*`` (``-artifact_prefix=DIR/``
picks where).  ``python fuzz/fuzz.py --replay FILE...`` runs inputs without
the fuzzer and says what they are.  See the README's "Fuzzing" section.

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


def main() -> None:
    if sys.argv[1:2] == ["--replay"]:
        sys.exit(replay(sys.argv[2:]))
    import atheris

    with atheris.instrument_imports(include=["protocol", "h11", "harness"]):
        import harness

    def test_one_input(data: bytes) -> None:
        harness.check(data)

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
