"""The stream decoders: the compiled twin when available, else the Python twin.

``protocol._core._speedups`` (built from ``src/_speedups/_speedups.pyx``) and
``protocol._stream_py`` implement one contract with identical behaviour; the
test suite runs every test on both.  The Python twin is used when the
environment variable ``PROTOCOL_NO_EXTENSIONS`` is set to a non-empty value,
on interpreters other than CPython, or when the extension cannot be imported
(not built, or built for another interpreter).  ``IMPLEMENTATION`` says which
one is active ("cython" or "python").  Type checkers always see the Python
twin.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

# One object for both twins: the compiled twin reads it from there too.
from ._stream_py import MAX_JSON_DEPTH

__all__ = [
    "IMPLEMENTATION",
    "MultiplexedStreamDecoder",
    "RawStreamDecoder",
    "JSONStreamDecoder",
    "Frame",
    "DEFAULT_MAX_SIZE",
    "MAX_JSON_DEPTH",
    "parse_head",
    "AsyncItems",
]

DEFAULT_MAX_SIZE = 64 * 1024 * 1024

if TYPE_CHECKING:
    # "cython" or "python" at run time, whichever twin the checker saw.
    IMPLEMENTATION: str
    from ._stream_py import (
        AsyncItems,
        Frame,
        JSONStreamDecoder,
        MultiplexedStreamDecoder,
        RawStreamDecoder,
        parse_head,
    )
else:
    _impl = None
    if not os.environ.get("PROTOCOL_NO_EXTENSIONS") and sys.implementation.name == "cpython":
        try:
            from . import _speedups as _impl
        except ImportError:
            _impl = None
    if _impl is None:
        from . import _stream_py as _impl
    else:
        from . import _fastjson

        _fastjson.use_scan(_impl.wide_int)  # orjson's guard as a C loop

    IMPLEMENTATION = _impl.IMPLEMENTATION
    MultiplexedStreamDecoder = _impl.MultiplexedStreamDecoder
    RawStreamDecoder = _impl.RawStreamDecoder
    JSONStreamDecoder = _impl.JSONStreamDecoder
    Frame = _impl.Frame
    parse_head = _impl.parse_head
    AsyncItems = _impl.AsyncItems
    del _impl
