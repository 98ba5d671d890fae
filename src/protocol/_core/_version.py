"""API version values.

Docker versions are dotted integers compared component-wise: 1.10 > 1.9.
Comparing them as floats is the classic bug (daemons up to 0.8 did exactly
that, so ``/v1.10/`` meant v1.1 there), so this type never exposes a float.
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Union

__all__ = ["APIVersion", "VersionLike", "MIN_VERSION", "MAX_VERSION"]

_VERSION_RE = re.compile(r"\A(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\Z")

#: Strings already parsed, and how many are kept.
_PARSED: dict[str, APIVersion] = {}
_PARSED_MAX = 1024


@total_ordering
class APIVersion:
    """An Engine API version such as ``1.41``.

    >>> APIVersion("1.10") > APIVersion("1.9")
    True
    >>> str(APIVersion("1.41"))
    '1.41'
    """

    __slots__ = ("major", "minor")

    major: int
    minor: int

    def __new__(cls, value: VersionLike) -> APIVersion:
        # Immutable, so equal versions can be one object: a version given as
        # a version is returned as it is, and a string parsed once.  The
        # endpoint table compares against its "since"/"until" strings on
        # every request; parsing them each time was most of a call's cost.
        if type(value) is cls:
            return value
        if isinstance(value, str):
            known = _PARSED.get(value)
            if known is not None:
                return known
        self = object.__new__(cls)
        if isinstance(value, APIVersion):
            major, minor = value.major, value.minor
        elif isinstance(value, str):
            m = _VERSION_RE.match(value.strip())
            if m is None:
                raise ValueError(
                    f"not an API version: {value!r} (expected MAJOR.MINOR, e.g. '1.41')"
                )
            major, minor = int(m.group(1)), int(m.group(2))
        elif isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
        ):
            major, minor = value
        else:
            # Floats are refused on purpose: 1.10 == 1.1 as a float.
            raise TypeError(
                f"API versions are given as 'MAJOR.MINOR' strings, not {type(value).__name__}"
            )
        object.__setattr__(self, "major", major)
        object.__setattr__(self, "minor", minor)
        if isinstance(value, str) and len(_PARSED) < _PARSED_MAX:
            _PARSED[value] = self  # bounded: strings can come from the wire
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("APIVersion is immutable")

    def as_tuple(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __repr__(self) -> str:
        return f"APIVersion('{self.major}.{self.minor}')"

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = APIVersion(other)
            except ValueError:
                return False
        if not isinstance(other, APIVersion):
            return NotImplemented
        return (self.major, self.minor) == (other.major, other.minor)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, str):
            other = APIVersion(other)
        if not isinstance(other, APIVersion):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __reduce__(self) -> tuple[type[APIVersion], tuple[str]]:
        return (APIVersion, (str(self),))


VersionLike = Union[APIVersion, str, "tuple[int, int]"]

#: The oldest version this package models: the original Remote API (docker 0.3.3).
MIN_VERSION = APIVersion("1.0")
#: The newest version this package models (docker 29.6-29.7).
MAX_VERSION = APIVersion("1.55")
