"""The asyncio driver's keep-alive pool: idle connections, checked clean before reuse."""

from __future__ import annotations

from .._backends._async_connect import async_connect
from .._backends._hosts import HostConfig
from .._core._async_interface import AsyncConnectFactory, AsyncTransport, set_async_read_timeout
from .._core._connection import Connection
from .._core._errors import LocalProtocolError
from .._core._interface import is_clean_idle

__all__ = ["AsyncPool"]


class AsyncPool:
    """Idle keep-alive connections, at most ``size`` kept.

    Nothing here awaits between taking a connection out of the idle list
    and handing it to the caller, or between deciding to keep one and
    putting it there: a cancellation can never leave a connection both in
    the pool and in someone's hands.
    """

    def __init__(self, host: HostConfig, size: int = 4, connect_timeout: float | None = 10.0,
                 connect: AsyncConnectFactory | None = None) -> None:
        self.host = host
        self.size = size
        self.connect_timeout = connect_timeout
        # A caller-given factory (any AsyncTransport) replaces async_connect().
        self._connect = connect
        # Each idle transport with the sans-I/O connection of its last cycle,
        # reused with it: a new Connection per request was constant work.
        self._idle: list[tuple[AsyncTransport, Connection | None]] = []
        self._closed = False

    @property
    def idle(self) -> int:
        """How many connections wait for reuse."""
        return len(self._idle)

    async def acquire(self) -> tuple[AsyncTransport, Connection | None, bool]:
        """A connection, the sans-I/O connection it last used (None for a new
        one), and whether it was reused (it may still go stale).

        An idle connection on which anything arrived since it was released
        (stray bytes, or the daemon's EOF) is closed here, never used: its
        pending bytes would become the next request's answer.
        """
        while self._idle:
            if self._closed:
                break
            stream, conn = self._idle.pop()
            if is_clean_idle(stream):
                return stream, conn, True
            await stream.aclose()
        if self._closed:
            raise LocalProtocolError("the client is closed")
        if self._connect is not None:
            stream = await self._connect()
        else:
            stream = await async_connect(self.host, self.connect_timeout)
        if self._closed:  # closed while connecting: nobody would close this one
            await stream.aclose()
            raise LocalProtocolError("the client is closed")
        return stream, None, False

    async def release(self, stream: AsyncTransport, conn: Connection | None = None) -> None:
        """Keep a connection whose cycle ended cleanly (the caller checked
        the sans-I/O state); one with bytes already pending is closed."""
        if not self._closed and len(self._idle) < self.size and is_clean_idle(stream):
            set_async_read_timeout(stream, None)
            # The transport is kept, its Connection only when worth keeping.
            self._idle.append((stream, conn if conn is not None and conn.worth_keeping else None))
            return
        await stream.aclose()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for stream, _ in idle:
            await stream.aclose()
