"""pytest-benchmark suite for the stream decoders, per twin, with docker-py as reference.

    PYTHONPATH=src python3 -m pytest benchmarks/bench_stream.py
    BENCH_MB=100 BENCH_MESSAGES=1000000 PYTHONPATH=src python3 -m pytest benchmarks/bench_stream.py

Quick sizes by default (BENCH_MB=4 MB of frames, BENCH_MESSAGES=20000 JSON
messages; 1-byte pieces use at most 5000 messages).  compare_stream.py
measures the same workloads in one run and prints rates and ratios.
"""

from __future__ import annotations

import importlib
import json
import os

import pytest
from compare_stream import (
    PROGRESS,
    dockerpy_buffer_helper,
    dockerpy_json_stream,
    json_body,
    json_feed,
    json_loads_only,
    logs_body,
    mux_feed,
    mux_feed_into,
    pieces_of,
    scan_only,
)

MB = int(os.environ.get("BENCH_MB", "4"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "20000"))
READ = int(os.environ.get("BENCH_READ", str(256 * 1024)))


def load_twin(name: str):
    if name == "python":
        return importlib.import_module("protocol._core._stream_py")
    try:
        return importlib.import_module("protocol._core._speedups")
    except ImportError:
        if os.environ.get("PROTOCOL_REQUIRE_EXTENSIONS") == "1":
            pytest.fail("protocol._core._speedups cannot be imported")
        pytest.skip("protocol._core._speedups is not built")


@pytest.fixture(params=["python", "cython"])
def bench_twin(request):
    return load_twin(request.param)


@pytest.fixture(scope="module", params=[53, 32 * 1024], ids=["61B-frames", "32KiB-frames"])
def logs(request):
    body, payload, nframes = logs_body(MB * 1_000_000, request.param)
    return pieces_of(body, READ), payload, nframes


def test_logs_feed(benchmark, bench_twin, logs):
    pieces, _, nframes = logs
    assert benchmark(mux_feed, bench_twin, pieces) == nframes


def test_logs_feed_into(benchmark, bench_twin, logs):
    pieces, _, _ = logs
    benchmark(mux_feed_into, bench_twin, pieces)


def test_logs_dockerpy_buffer_helper(benchmark, logs):
    pytest.importorskip("docker")
    _, payload, nframes = logs
    # docker-py gets the de-chunked payload: it leaves chunk decoding to urllib3.
    assert benchmark(dockerpy_buffer_helper, payload) == nframes


@pytest.fixture(scope="module", params=[1, 1024, 64 * 1024], ids=["1B", "1KiB", "64KiB"])
def json_pieces(request):
    count = min(MESSAGES, 5000) if request.param == 1 else MESSAGES
    return pieces_of(json_body(count), request.param), count


def test_json_feed(benchmark, bench_twin, json_pieces):
    pieces, count = json_pieces
    assert benchmark(json_feed, bench_twin, pieces) == count


def test_json_dockerpy(benchmark, json_pieces):
    pytest.importorskip("docker")
    pieces, count = json_pieces
    if len(pieces[0]) == 1:
        count = min(count, 1000)  # quadratic per message in 1-byte pieces
        pieces = pieces[: count * len(PROGRESS)]
    assert benchmark(dockerpy_json_stream, pieces) == count


@pytest.fixture(scope="module")
def split_messages():
    return [PROGRESS[:-2]] * MESSAGES


def test_json_loads_floor(benchmark, split_messages):
    assert json.loads(split_messages[0])["status"] == "Downloading"
    benchmark(json_loads_only, split_messages)


def test_json_decode_floor(benchmark, split_messages):
    benchmark(scan_only, split_messages)


@pytest.mark.parametrize("count", [1_000, 10_000, 100_000])
def test_json_linearity(benchmark, bench_twin, count):
    pieces = pieces_of(json_body(count), 64 * 1024)
    benchmark.extra_info["messages"] = count
    assert benchmark(json_feed, bench_twin, pieces) == count
