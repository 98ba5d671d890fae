"""The ``twin`` fixture: run a test on both stream-decoder implementations.

``twin`` is a module (``protocol._core._stream_py`` or ``protocol._core._speedups``)
offering ``MultiplexedStreamDecoder``, ``RawStreamDecoder``,
``JSONStreamDecoder``, ``Frame`` and ``IMPLEMENTATION``.  The "cython" case
skips when the extension is not built, unless ``PROTOCOL_REQUIRE_EXTENSIONS=1``
is set (CI wheels, release checks): then it fails, so a broken build cannot
pass as a skipped one.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

import protocol._core._stream_py as python_twin

REQUIRE_EXTENSIONS = os.environ.get("PROTOCOL_REQUIRE_EXTENSIONS") == "1"


def load_cython_twin() -> ModuleType | None:
    try:
        return importlib.import_module("protocol._core._speedups")
    except ImportError:
        return None


cython_twin = load_cython_twin()

TWINS = {"python": python_twin, "cython": cython_twin}


def get_twin(name: str) -> ModuleType:
    module = TWINS[name]
    if module is None:
        if REQUIRE_EXTENSIONS:
            pytest.fail("PROTOCOL_REQUIRE_EXTENSIONS=1 but protocol._core._speedups cannot be imported")
        pytest.skip("protocol._core._speedups is not built")
    return module


@pytest.fixture(params=["python", "cython"])
def twin(request: pytest.FixtureRequest) -> ModuleType:
    return get_twin(request.param)
