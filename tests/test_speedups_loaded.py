"""Guard: the compiled stream twin must not fall back to Python silently.

Like aiohttp's ``test_c_parser_loaded``: when the extension was built (or is
required), the switch in ``protocol._core._stream`` must have picked it.
"""

from __future__ import annotations

import os
import pathlib

import protocol
import protocol._core._stream


def compiled_files():
    pkg = pathlib.Path(protocol.__file__).parent
    return sorted(pkg.glob("_speedups*.so")) + sorted(pkg.glob("_speedups*.pyd"))


def test_required_extension_is_loaded():
    if os.environ.get("PROTOCOL_REQUIRE_EXTENSIONS") == "1":
        assert protocol.IMPLEMENTATION == "cython", (
            "PROTOCOL_REQUIRE_EXTENSIONS=1 but the Python twin is in use"
        )


def test_built_extension_is_not_silently_ignored():
    if os.environ.get("PROTOCOL_NO_EXTENSIONS"):
        assert protocol.IMPLEMENTATION == "python"
        return
    files = compiled_files()
    if files:
        assert protocol.IMPLEMENTATION == "cython", (
            f"{files[0].name} is installed but could not be imported: "
            "the Python twin was picked silently"
        )


def test_switch_exports_the_active_twin():
    assert protocol._core._stream.IMPLEMENTATION == protocol.IMPLEMENTATION
    assert protocol._core._stream.DEFAULT_MAX_SIZE == 64 * 1024 * 1024
    module = "protocol._core._speedups" if protocol.IMPLEMENTATION == "cython" else "protocol._core._stream_py"
    assert protocol._core._stream.MultiplexedStreamDecoder.__module__ == module
    assert protocol._core._stream.JSONStreamDecoder.__module__ == module
    assert protocol._core._stream.RawStreamDecoder.__module__ == module
    items_module = "protocol._core._speedups" if protocol.IMPLEMENTATION == "cython" else "protocol._core._items_py"
    assert protocol._core._stream.AsyncItems.__module__ == items_module
    frame_module = "protocol._core._speedups" if protocol.IMPLEMENTATION == "cython" else "protocol._core._events"
    assert protocol.Frame.__module__ == frame_module
