"""The transport interface: what the client needs from "a byte stream to the daemon".

Theory of operation.  The client's driver loop does four things with a
connection and nothing else: write the bytes the sans-I/O
:class:`~protocol.Connection` produced, read bytes and feed them back,
half-close the sending side (EOF on a hijacked session's stdin while the
output keeps coming), and close.  Anything that can do those four is a
transport: a unix or TCP socket, TLS on memory BIOs, an ``ssh`` process
running ``docker system dial-stdio``, a pair of in-memory pipes with a
scripted daemon on the other end, or a user's own object.

A :class:`~protocol.Client` is given either a ready ``transport=`` (one
connection, used once: enough for a test or a pre-opened channel) or a
``connect=`` factory that opens a new one whenever the pool has none idle.

The contract, which every built-in transport keeps and a custom one should:

* ``read()`` blocks until bytes arrive and returns them (``bytes``,
  ``bytearray`` or a ``memoryview`` valid until the next ``read``), or an
  empty value at end of stream.  It is only ever called from one thread at
  a time.
* ``write(data)`` sends all of ``data`` or raises.
* ``shutdown_write()`` ends the sending direction; reads go on.
* ``close()`` releases everything, is idempotent, and may be called from
  another thread while ``read()`` or ``write()`` is blocked: it must wake
  them (a socket is shut down before it is closed, a process is ended).
* Failures are raised as :class:`~protocol.TransportError`; other
  exceptions propagate to the caller unchanged.
* Optionally ``settimeout(seconds or None)``: a read timeout.  Transports
  without it simply never time out.

An asyncio twin of this interface has the same four operations as
coroutines (``await read()``, ``await write()``, ``await shutdown_write()``,
``await aclose()``); nothing here is specific to threads except that
``close()`` may come from another one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Union, runtime_checkable

__all__ = ["Transport", "ConnectFactory", "set_read_timeout"]

Buffer = Union[bytes, bytearray, memoryview]


@runtime_checkable
class Transport(Protocol):
    """A connected byte stream to the daemon (see the module docs for the contract)."""

    def read(self) -> Buffer:
        """The next bytes received; empty at end of stream."""

    def write(self, data: bytes) -> None:
        """Send all of ``data``."""

    def shutdown_write(self) -> None:
        """Half-close: no more bytes will be written; reading goes on."""

    def close(self) -> None:
        """Release the stream; wakes a read or write blocked in another thread."""


#: Opens a new connection to the daemon each time it is called.
ConnectFactory = Callable[[], Transport]


def set_read_timeout(transport: Transport, timeout: float | None) -> None:
    """Apply a read timeout when the transport supports one (``settimeout``)."""
    settimeout = getattr(transport, "settimeout", None)
    if settimeout is not None:
        settimeout(timeout)


# -- optional parts of a transport (either kind), read by both drivers ------


def is_clean_idle(transport: object) -> bool:
    """Whether an idle keep-alive connection may carry a new request: no
    byte (and no EOF) arrived since its last answer ended.  A transport
    that cannot tell (no ``is_clean_idle``) is taken at its word."""
    check = getattr(transport, "is_clean_idle", None)
    return True if check is None else bool(check())


def bytes_written(transport: object) -> int | None:
    """Bytes the transport accepted since ``reset_written()``; None when it
    does not count them (then anything may have been sent)."""
    written = getattr(transport, "written", None)
    return written if isinstance(written, int) else None


def reset_written(transport: object) -> None:
    reset = getattr(transport, "reset_written", None)
    if reset is not None:
        reset()
