"""The fuzzing corpus, replayed without the fuzzer; and a short fuzzing run.

Every file of ``fuzz/corpus`` (seeds, and the inputs that once found a bug)
goes through ``fuzz/harness.py``'s ``check``: both twins, feed() and
feed_into(), the whole input and the fuzzer's pieces, compared.  The harness
itself is checked to catch what it is there to catch.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
sys.path.insert(0, str(ROOT / "fuzz"))

import harness  # noqa: E402

import protocol._core._stream_py as python_twin  # noqa: E402


def test_both_twins_are_compared():
    if harness.cython_twin is None:
        if os.environ.get("PROTOCOL_REQUIRE_EXTENSIONS") == "1":
            pytest.fail("the compiled twin is not built")
        pytest.skip("protocol._core._speedups is not built: only the Python twin is fuzzed")
    assert harness.TWINS == [python_twin, harness.cython_twin]


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_entry(name):
    harness.check((CORPUS / name).read_bytes())


def test_corpus_reaches_every_target():
    seen = {harness.parse((CORPUS / name).read_bytes())[0] for name in os.listdir(CORPUS)}
    assert seen == set(range(len(harness.TARGETS)))


class _BrokenTwin:
    """The Python twin with one deliberate bug per decoder."""

    IMPLEMENTATION = "broken"
    Frame = python_twin.Frame

    class MultiplexedStreamDecoder(python_twin.MultiplexedStreamDecoder):
        __slots__ = ()

        def feed(self, data):
            items = super().feed(data)
            return items[:-1] if len(items) > 1 else items  # loses a frame

    class RawStreamDecoder(python_twin.RawStreamDecoder):
        __slots__ = ()

        def feed(self, data):
            if bytes(data[:1]) == b"\xff":
                raise IndexError("a crash")
            return super().feed(data)

    class JSONStreamDecoder(python_twin.JSONStreamDecoder):
        __slots__ = ()

        def feed(self, data):
            try:
                return super().feed(data)
            except python_twin.RemoteProtocolError as exc:
                exc.offset += 1  # a wrong offset
                raise


@pytest.mark.parametrize(
    "data, expected",
    [
        (bytes([0, 0x40, 0]) + b"\x01\0\0\0\0\0\0\1a\x02\0\0\0\0\0\0\1b", "disagree"),
        (bytes([1, 0x40, 0]) + b"\xffabc", "a crash"),
        (bytes([2, 0x40, 0]) + b'{"a":1}x', "disagree"),
    ],
)
def test_the_harness_catches_a_broken_twin(monkeypatch, data, expected):
    monkeypatch.setattr(harness, "TWINS", [python_twin, _BrokenTwin])
    with pytest.raises(Exception, match=expected):
        harness.check(data)


def test_the_harness_catches_a_split_dependent_answer(monkeypatch):
    class SplitDependent(python_twin.JSONStreamDecoder):
        __slots__ = ()

        def feed(self, data):
            return super().feed(data)[:1]  # drops all but the first message of each piece

    class Twin:
        JSONStreamDecoder = SplitDependent

    monkeypatch.setattr(harness, "TWINS", [Twin])
    harness.check(bytes([2, 0x40, 0]) + b'{"a":1}\n')
    with pytest.raises(harness.Finding, match="depends on the split"):
        harness.check(bytes([2, 0x40, 1, 8]) + b'{"a":1}\n{"b":2}\n')  # one message per piece


def test_fuzz_smoke_run(tmp_path):
    """A short atheris run over the corpus (the long run is in the README).

    ``PROTOCOL_FUZZ_SECONDS`` sets its length (CI: 60; 0 skips it locally).
    ``PROTOCOL_FUZZ_SEED`` fixes libFuzzer's seed (default 1), so a run is
    repeatable and a landing is never decided by the luck of a random seed;
    the long runs of the README use random seeds to find new inputs.
    """
    seed = int(os.environ.get("PROTOCOL_FUZZ_SEED", "1"))
    seconds = int(os.environ.get("PROTOCOL_FUZZ_SECONDS", "20"))
    if seconds <= 0:
        pytest.skip("PROTOCOL_FUZZ_SECONDS=0")
    try:
        import atheris  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("atheris is not installed (it comes with the test extra)")
        pytest.skip("atheris is not installed")
    new = tmp_path / "new"
    new.mkdir()
    proc = subprocess.run(
        [
            sys.executable, str(ROOT / "fuzz" / "fuzz.py"), str(new), str(CORPUS),
            f"-max_total_time={seconds}", f"-seed={seed}", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1",
        ],
        capture_output=True, text=True, timeout=seconds + 300,
    )
    tail = proc.stderr[-6000:]
    assert proc.returncode == 0, tail
    runs = [line for line in proc.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[0].split(":")[-1]) > 100, tail
    assert not list(tmp_path.glob("crash-*")), tail
