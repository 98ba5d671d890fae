"""Sinks: where the sink forms of output reading write payloads."""

from __future__ import annotations

import os
from typing import Any, BinaryIO, Union

__all__ = ["Sink", "write_to"]

#: Where the sink forms write: a file descriptor, or an object with
#: ``write()`` or ``sendall()``.
Sink = Union[int, BinaryIO, Any]


def write_to(target: Any, data: bytes) -> None:
    """Write all of ``data`` to a sink: a file descriptor, or an object with
    ``write()`` (files) or ``sendall()`` (sockets)."""
    if isinstance(target, int):
        view = memoryview(data)
        while view:
            view = view[os.write(target, view):]
    elif hasattr(target, "write"):
        target.write(data)
    else:
        target.sendall(data)
