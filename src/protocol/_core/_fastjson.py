"""orjson for whole JSON answers, when it is installed (the ``fastjson`` extra).

A container inspect (4 KB) decodes about four times faster with orjson than
with the stdlib's C scanner, and decoding is most of what such a call costs
the client.  orjson is optional: without it, answers are decoded by the
stdlib as before.

The value must be the one ``json.loads`` gives, and so must the error.
orjson refuses more than the stdlib (NaN and Infinity, lone surrogates, a
BOM, non-UTF-8 bytes, nesting past 1024): for all of those the caller goes
on with the stdlib, which gives its own value or error.  Where orjson
accepts a document, it gives the stdlib's value, with one exception: an
integer outside 64 bits (below -2**63, above 2**64-1) comes back as a float.
Such an integer has at least 20 digits, or a minus sign and at least 19,
so a body holding either run anywhere (in a string too: the check does not
parse) is left to the stdlib.  Nineteen digits alone are common (an
event's ``timeNano``) and within orjson's range.  ``bytes.translate`` and
two substring searches make that check (:func:`wide_int_py`); the
compiled twin has it as a C loop, which the stream layer installs here
when it uses that twin (:func:`use_scan`).

Memory: orjson's working memory while it parses is 13-16 times the
document (measured with tracemalloc on strings, dicts and lists of ints),
where the stdlib's peak is 2-6 times.  Only documents of at most
:data:`MAX_SIZE` bytes go to orjson: its extra memory stays under a few
MiB, and a large answer keeps the stdlib's peak.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

_orjson_loads: Any
try:
    from orjson import loads as _orjson_loads
except ImportError:  # the extra is not installed
    _orjson_loads = None

__all__ = ["MISS", "MAX_SIZE", "available", "fast_loads", "use_scan", "wide_int_py"]

#: What :func:`fast_loads` gives when the caller must use the stdlib.
MISS: Final = object()

#: The largest document given to orjson (see the module's docs: memory).
MAX_SIZE: Final = 256 * 1024

# Every digit to "0", "-" kept, every other byte to ".": a run of digits
# becomes a run of zeros, found by a substring search.
_DIGIT_MAP: Final = bytes(0x30 if 0x30 <= b <= 0x39 else b if b == 0x2D else 0x2E for b in range(256))
_LONG_RUN: Final = b"0" * 20  # above 2**64-1 (20 digits: 18446744073709551615 is orjson's)
_LONG_NEGATIVE: Final = b"-" + b"0" * 19  # below -2**63 (-9223372036854775808 is orjson's)

# Read at each call (not bound at import), so a test can switch it off.
loads: Any = _orjson_loads


def wide_int_py(body: bytes | bytearray) -> bool:
    """Whether ``body`` holds a run of 20 digits, or a minus sign and 19."""
    # find(), not "in": bytes.__contains__ first tries its operand as an
    # int, and the TypeError it makes and clears costs more than the search.
    digits = body.translate(_DIGIT_MAP)
    return digits.find(_LONG_RUN) >= 0 or digits.find(_LONG_NEGATIVE) >= 0


_wide_int: Callable[[bytes | bytearray], bool] = wide_int_py


def use_scan(scan: Callable[[bytes | bytearray], bool]) -> None:
    """Use ``scan`` (the compiled twin's, same answers) for :func:`wide_int_py`."""
    global _wide_int
    _wide_int = scan


def available() -> bool:
    """Whether whole answers are decoded with orjson."""
    return loads is not None


def fast_loads(body: bytes | bytearray) -> Any:
    """The value ``json.loads(body)`` gives, or :data:`MISS` when orjson is
    not installed, refused the body, the body is over :data:`MAX_SIZE`, or
    it may hold an integer that orjson would turn into a float: then the
    caller decodes with the stdlib (for its value or its error)."""
    decode = loads
    if decode is None or len(body) > MAX_SIZE:
        return MISS
    if _wide_int(body):
        return MISS
    try:
        return decode(body)
    except ValueError:  # orjson.JSONDecodeError, and anything else it refuses
        return MISS
