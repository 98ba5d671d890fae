"""The sync driver's keep-alive pool: idle connections, checked clean before reuse."""

from __future__ import annotations

import threading

from .._core._connection import Connection
from .._core._errors import LocalProtocolError
from .._core._interface import ConnectFactory, Transport
from .._backends._hosts import HostConfig
from .._backends._sync_connect import connect

__all__ = ["Pool"]


class Pool:
    """Idle keep-alive connections, at most ``size`` kept."""

    def __init__(self, host: HostConfig, size: int = 4, connect_timeout: float | None = 10.0,
                 connect: ConnectFactory | None = None):
        self.host = host
        self.size = size
        self.connect_timeout = connect_timeout
        # A caller-given factory (any Transport) replaces the built-in connect().
        self._connect = connect
        # Each idle transport with the sans-I/O connection of its last cycle,
        # reused with it: a new Connection per request was constant work.
        self._idle: list[tuple[Transport, Connection | None]] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> tuple[Transport, Connection | None, bool]:
        """A connection, the sans-I/O connection it last used (None for a new
        one), and whether it was reused (it may still go stale).

        An idle connection on which anything arrived since it was released
        (stray bytes, or the daemon's EOF) is closed here, never used: its
        pending bytes would become the next request's answer.
        """
        while True:
            with self._lock:
                if self._closed:
                    raise LocalProtocolError("the client is closed")
                if not self._idle:
                    break
                stream, conn = self._idle.pop()
            check = getattr(stream, "is_clean_idle", None)  # is_clean_idle(), inline
            if check is None or check():
                return stream, conn, True
            stream.close()
        if self._connect is not None:
            return self._connect(), None, False
        return connect(self.host, self.connect_timeout), None, False

    def release(self, stream: Transport, conn: Connection | None = None) -> None:
        """Keep a connection whose cycle ended cleanly (the caller checked
        the sans-I/O state).

        It is not polled here: :meth:`acquire` polls it before any reuse,
        and bytes pending now are still pending then (nothing reads an idle
        connection), so one check per request keeps the guarantee.  Its
        read timeout is left as is: whoever takes it sets its own.
        """
        if conn is not None and not conn.worth_keeping:
            conn = None  # the transport is kept, its Connection not (see worth_keeping)
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append((stream, conn))
                return
        stream.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for stream, _ in idle:
            stream.close()
