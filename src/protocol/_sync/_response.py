"""Answers read on demand, on the sync driver.

A :class:`StreamingResponse` is an answered request whose head was read
and whose body comes as the caller asks for it: item by item, one list per
socket read (the batch form), whole, or into two sinks.  The connection goes
back to the pool only when the sans-I/O side says the exchange ended cleanly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from .._core._connection import Connection, ReceivedEvent
from .._core._errors import (
    MessageTooLarge,
    ProtocolError,
    ReadTimeout,
    StreamClosed,
    TransportError,
)
from .._core._events import ConnectionClosed, Data, EndOfMessage, Response, Stream, StreamError
from .._core._exchange import timed_out, whole_body
from .._core._interface import Transport
from .._core._sinks import write_to
from ._pool import Pool

__all__ = ["StreamingResponse", "exc_items"]

# What iterating a StreamingResponse gives: Any for a raw response; the
# typed streams (logs, events, stats) name their items.
_I = TypeVar("_I")


class _Owner(Protocol):
    """What a response needs of its client: the pool, the read timeout and
    the body bound."""

    @property
    def _pool(self) -> Pool: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def max_body_size(self) -> int: ...


def exc_items(exc: BaseException) -> list[Any]:
    """The items a protocol error says its failing read completed."""
    items = getattr(exc, "items", None)
    return list(items) if isinstance(items, list) else []


class StreamingResponse(Generic[_I]):
    """An answered request whose body is read on demand.

    Iterate it for the body's events: :class:`Frame` and :class:`StreamError`
    for container output, decoded messages (dicts) and :class:`StreamError`
    for JSON streams, :class:`Data` for other bodies.  The connection goes
    back to the pool once the body is complete, and is closed if the
    iteration is abandoned (:meth:`close`, or use it as a context manager).

    The type parameter is what iteration gives: ``StreamingResponse[Frame |
    StreamError]`` from :meth:`Client.logs`, ``StreamingResponse[Event]``
    from :meth:`Client.events`; ``Any`` for :meth:`Client.call`'s raw ones.
    """

    # Applied to each item by iteration (typed views); None hands the
    # decoder's items out untouched, from C, with no Python call per item.
    _map: Callable[[Any], Any] | None = None

    def __init__(
        self,
        owner: _Owner,
        stream: Transport,
        conn: Connection,
        response: Response,
        pending: list[ReceivedEvent],
        error: BaseException | None = None,
    ) -> None:
        self._owner = owner
        self._stream: Transport | None = stream
        self._conn = conn
        self.response = response
        self.request = conn.request
        self._pending = pending
        self._error = error  # raised once the pending items are handed out
        self._done = False
        self._aborted = False  # close() came before the end of the body
        if error is not None:
            self._pending = [e for e in pending if not isinstance(e, (EndOfMessage, ConnectionClosed))]
            self._done = True  # the connection is broken: never reused
            stream.close()
            self._stream = None
        elif self._ended(pending):
            self._release()

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def socket_stream(self) -> Transport | None:
        return self._stream

    def take_pending(self) -> list[ReceivedEvent]:
        """Events already decoded with the head (for a hijacked session)."""
        pending, self._pending = self._pending, []
        return pending

    def detach(self) -> None:
        """Hand the socket over (to a :class:`Session`): this response lets go of it."""
        self._stream = None
        self._done = True

    @staticmethod
    def _ended(events: list[ReceivedEvent]) -> bool:
        return bool(events) and isinstance(events[-1], (EndOfMessage, ConnectionClosed))

    def _release(self) -> None:
        self._done = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # Reused only when the sans-I/O side says the cycle ended cleanly on
        # a keep-alive connection (the pool also refuses it if any byte is
        # already waiting on the socket).
        if self._conn.reusable:
            self._owner._pool.release(stream, self._conn)
        else:
            stream.close()

    def _closed_error(self) -> StreamClosed:
        what = f"{self.request.method} {self.request.target}: " if self.request else ""
        return StreamClosed(f"{what}the response was closed before its body ended")

    def _check_open(self) -> None:
        if self._aborted:
            raise self._closed_error()

    def read_batches(self) -> Iterator[list[ReceivedEvent]]:
        """Every read's events as one list: the batch form, one call per read.

        A :meth:`close` from another thread wakes a blocked read; the
        reader then gets :class:`StreamClosed`, as it does when iterating
        again after a close.
        """
        try:
            if self._pending:
                batch, self._pending = self._pending, []
                yield batch
            if self._error is not None:
                error, self._error = self._error, None
                error.items = []  # type: ignore[attr-defined]  # handed out above
                raise error
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = stream.read()
                self._check_open()  # woken by close(): EOF that is not the daemon's
                events = self._conn.receive_data(data)
                if self._ended(events):
                    self._release()
                if events:
                    yield events
            self._check_open()
        except ReadTimeout:
            self.close()
            raise timed_out(self.request, self._owner.timeout) from None
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                # A read or parse failing because close() pulled the socket away.
                raise self._closed_error() from None
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def _item_batches(self) -> Iterator[list[ReceivedEvent]]:
        for batch in self.read_batches():
            # EndOfMessage / ConnectionClosed only ever end a batch: trim them
            # there instead of testing every frame on the hot path.
            while batch and isinstance(batch[-1], (EndOfMessage, ConnectionClosed)):
                batch.pop()
            yield batch

    def __iter__(self) -> Iterator[_I]:
        # chain.from_iterable hands out the items of each batch from C: no
        # Python frame is resumed per item, only once per socket read.
        items = itertools.chain.from_iterable(self._item_batches())
        if self._map is not None:
            return map(self._map, items)
        return items

    def _typed(self, convert: Callable[[Any], Any] | None = None) -> Any:
        """This response, its items converted by ``convert`` when iterated
        (the caller states the resulting type)."""
        self._map = convert
        return self

    def items(self) -> Iterator[Any]:
        """Like iteration, but :class:`Data` events give their bytes."""
        for ev in self:
            yield ev.data if isinstance(ev, Data) else ev

    def read(self, limit: int | None = -1) -> bytes:
        """The whole body as bytes (for non-stream bodies).

        At most ``limit`` bytes (default: the client's ``max_body_size``;
        None: no limit): a longer body raises :class:`MessageTooLarge` before
        it is held, from its Content-Length when it has one.
        """
        return bytes(self.read_buffer(limit))

    def read_buffer(self, limit: int | None = -1) -> bytearray:
        """Like :meth:`read`, in one growing buffer (no list of parts joined
        at the end, so the body is not held twice)."""
        if limit == -1:
            limit = self._owner.max_body_size
        if self._done and self._error is None:
            # The whole answer came with its head (a small answer's usual
            # shape) and the connection is back in the pool: the body is the
            # Data already decoded, no read loop to set up.
            whole = whole_body(self.response, self._pending, limit)
            if whole is not None:
                self._pending = []
                return whole if type(whole) is bytearray else bytearray(whole)
        if limit is not None:
            length = self.response.header(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit \
                    and self.request is not None and self.request.method != "HEAD":
                self.close()
                raise MessageTooLarge(
                    f"the daemon announced a {int(length)}-byte body; the limit is {limit}"
                )
        buf = bytearray()
        try:
            for ev in self:
                if isinstance(ev, Data):
                    buf += ev.data
                    if limit is not None and len(buf) > limit:
                        self.close()
                        raise MessageTooLarge(f"the body passed the limit of {limit} bytes")
        except (ProtocolError, TransportError) as exc:
            # The body up to the fault is the caller's to see.
            buf += b"".join(e.data for e in exc_items(exc) if isinstance(e, Data))
            exc.received = bytes(buf)
            raise
        return buf

    def drain(self, stdout: Any, stderr: Any) -> list[StreamError]:
        """The sink form of the whole body: items already decoded first,
        then every read straight into the sinks; the in-band errors, in order."""
        errors: list[StreamError] = []
        with self:
            for ev in self.take_pending():
                if isinstance(ev, StreamError):
                    errors.append(ev)
                elif hasattr(ev, "stream"):
                    write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
            self.drain_into(stdout, stderr, errors)
        return errors

    def drain_into(self, stdout: Any, stderr: Any, errors: list[StreamError]) -> None:
        """Read the rest of a container-output body straight into two sinks."""
        if self._error is not None:  # pending items were taken with take_pending()
            error, self._error = self._error, None
            error.items = []  # type: ignore[attr-defined]
            raise error
        try:
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = stream.read()
                self._check_open()
                events = self._conn.receive_data_into(data, stdout, stderr)
                for ev in events:
                    if isinstance(ev, StreamError):
                        errors.append(ev)
                if self._ended(events):
                    self._release()
            self._check_open()
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                raise self._closed_error() from None
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Abandon the response: the connection is closed, not reused.

        Safe from another thread: a reader blocked on the connection wakes
        at once and gets :class:`StreamClosed`.
        """
        if not self._done:
            self._aborted = True
            self._done = True
            stream, self._stream = self._stream, None
            if stream is not None:
                stream.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` abandoned the body before its end."""
        return self._aborted

    def __enter__(self) -> StreamingResponse[_I]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
