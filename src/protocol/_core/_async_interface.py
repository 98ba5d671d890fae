"""The asyncio twin of the transport interface (:mod:`protocol._interface`).

Theory of operation.  An asyncio driver does with a connection what the sync
one does: write the bytes the sans-I/O :class:`~protocol.Connection`
produced, read bytes and feed them back, half-close the sending side, and
close.  The four operations are coroutines here, and "from another thread"
becomes "from another task".

The contract, which every built-in async transport keeps and a custom one
should:

* ``await read()`` waits until bytes arrive and returns them (``bytes``,
  ``bytearray`` or a ``memoryview`` valid until the next ``read``), or an
  empty value at end of stream.  One task reads at a time.
* ``await write(data)`` sends all of ``data`` (the built-in transports
  return once the kernel, or the peer's pipe, took every byte) or raises.
* ``await shutdown_write()`` ends the sending direction; reads go on.  On
  TLS this sends close_notify without waiting for the daemon's.
* ``await aclose()`` releases everything and is idempotent.  Called from
  another task while a ``read()`` is pending, it wakes that read, which
  returns an empty value (the task that closed knows why the stream ended).
* Cancellation: a task cancelled while it awaits ``read()``, ``write()`` or
  ``shutdown_write()`` closes the transport at once (the socket is aborted,
  an ssh process ended) before ``CancelledError`` propagates.  A half-read
  HTTP answer or a half-written request leaves the connection in a state
  nobody can resume, so it is never handed on; and the descriptor is
  released even if nobody calls ``aclose()`` afterwards.  To give up on a
  quiet peer without losing the connection use the read timeout instead.
* Failures are raised as :class:`~protocol.TransportError`; other
  exceptions propagate unchanged.
* Optionally ``settimeout(seconds or None)`` (a plain method): a read that
  waits longer raises :class:`~protocol.ReadTimeout`, and the transport
  stays usable (nothing received is lost).  Transports without it never
  time out.

This module is part of the sans-I/O core: it only names the shapes, and
imports no asyncio.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._interface import Buffer

__all__ = ["AsyncTransport", "AsyncConnectFactory", "set_async_read_timeout"]


@runtime_checkable
class AsyncTransport(Protocol):
    """A connected byte stream to the daemon, for asyncio (see the module docs)."""

    async def read(self) -> Buffer:
        """The next bytes received; empty at end of stream or after aclose()."""

    async def write(self, data: bytes) -> None:
        """Send all of ``data``."""

    async def shutdown_write(self) -> None:
        """Half-close: no more bytes will be written; reading goes on."""

    async def aclose(self) -> None:
        """Release the stream; wakes a read pending in another task."""


#: Opens a new connection to the daemon each time it is awaited.
AsyncConnectFactory = Callable[[], Awaitable[AsyncTransport]]


def set_async_read_timeout(transport: AsyncTransport, timeout: float | None) -> None:
    """Apply a read timeout when the transport supports one (``settimeout``)."""
    settimeout = getattr(transport, "settimeout", None)
    if settimeout is not None:
        settimeout(timeout)
