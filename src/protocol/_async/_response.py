"""An answered request whose body is read on demand, for asyncio.

The asyncio twin of the sync driver's ``StreamingResponse``, with the same
rules: bytes read from the transport go whole to the sans-I/O
:class:`~protocol.Connection`; the connection goes back to the pool only
when the body ended cleanly on a keep-alive connection; anything else (an
abandoned body, an error, a cancellation) closes it.

"From another thread" is "from another task" here: :meth:`aclose` wakes a
task waiting in a read, which then gets :class:`StreamClosed`.  A task
cancelled while it reads closes the connection at once (the transports
abort on cancellation) and the response lets go of it, so the pool can
never get a half-read connection back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeVar

from .._core._async_interface import AsyncTransport
from .._core._connection import Connection, ReceivedEvent
from .._core._errors import MessageTooLarge, ProtocolError, ReadTimeout, StreamClosed, TransportError
from .._core._events import ConnectionClosed, Data, EndOfMessage, Response, Stream, StreamError
from .._core._exchange import timed_out, whole_body
from .._core._sinks import write_to
from ._pool import AsyncPool

__all__ = ["AsyncStreamingResponse", "exc_items", "Sink"]

from .._core._sinks import Sink  # noqa: E402  (one definition, in the core)

# What iterating a response gives: Any for a raw response; the typed
# streams (logs, events, stats) name their items.
_I = TypeVar("_I")

_ENDS = (EndOfMessage, ConnectionClosed)


class _Owner(Protocol):
    """What a response needs of its client: the pool, the read timeout and
    the body bound."""

    @property
    def _pool(self) -> AsyncPool: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def max_body_size(self) -> int: ...


def exc_items(exc: BaseException) -> list[Any]:
    """The items a protocol error says its failing read completed."""
    items = getattr(exc, "items", None)
    return list(items) if isinstance(items, list) else []


def _ended(events: list[ReceivedEvent]) -> bool:
    return bool(events) and isinstance(events[-1], _ENDS)


class AsyncStreamingResponse(Generic[_I]):
    """An answered request whose body is read on demand (asyncio).

    Iterate it with ``async for`` for the body's events: :class:`Frame` and
    :class:`StreamError` for container output, decoded messages (dicts) and
    :class:`StreamError` for JSON streams, :class:`Data` for other bodies.
    The connection goes back to the pool once the body is complete, and is
    closed if the iteration is abandoned (:meth:`aclose`, or ``async with``).
    """

    # Applied to each item by iteration (typed views); None hands the
    # decoder's items out untouched.
    _map: Callable[[Any], Any] | None = None

    def __init__(
        self,
        owner: _Owner,
        stream: AsyncTransport,
        conn: Connection,
        response: Response,
        pending: list[ReceivedEvent],
        error: BaseException | None = None,
    ) -> None:
        self._owner = owner
        self._stream: AsyncTransport | None = stream
        self._conn = conn
        self.response = response
        self.request = conn.request
        self._pending = pending
        self._error = error  # raised once the pending items are handed out
        self._done = False
        self._aborted = False  # aclose() came before the end of the body
        self._unsettled: AsyncTransport | None = None  # to close or release in _settle()
        if error is not None:
            self._pending = [e for e in pending if not isinstance(e, _ENDS)]
            self._done = True  # the connection is broken: never reused
            self._unsettled, self._stream = stream, None
        elif _ended(pending):
            self._done = True
            self._unsettled, self._stream = stream, None

    async def _settle(self) -> None:
        """What the constructor could not await: close a broken connection,
        or release one whose whole body came with the head."""
        stream, self._unsettled = self._unsettled, None
        if stream is None:
            return
        if self._error is None and self._conn.reusable:
            await self._owner._pool.release(stream, self._conn)
        else:
            await stream.aclose()

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def transport(self) -> AsyncTransport | None:
        """The connection's transport while this response holds it."""
        return self._stream

    @property
    def socket_stream(self) -> AsyncTransport | None:
        """The sync driver's name for :attr:`transport`."""
        return self._stream

    def take_pending(self) -> list[ReceivedEvent]:
        """Events already decoded with the head (for a hijacked session)."""
        pending, self._pending = self._pending, []
        return pending

    def detach(self) -> AsyncTransport | None:
        """Hand the transport over (to a session): this response lets go of it."""
        stream, self._stream = self._stream, None
        self._done = True
        return stream

    async def _release(self) -> None:
        self._done = True
        stream, self._stream = self._stream, None
        if stream is None:
            return
        # Reused only when the sans-I/O side says the cycle ended cleanly on
        # a keep-alive connection (the pool also refuses it if any byte is
        # already waiting on it).
        if self._conn.reusable:
            await self._owner._pool.release(stream, self._conn)
        else:
            await stream.aclose()

    def _closed_error(self) -> StreamClosed:
        what = f"{self.request.method} {self.request.target}: " if self.request else ""
        return StreamClosed(f"{what}the response was closed before its body ended")

    def _check_open(self) -> None:
        if self._aborted:
            raise self._closed_error()

    def _take_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            error.items = []  # type: ignore[attr-defined]  # handed out already
            raise error

    async def read_batches(self) -> AsyncIterator[list[ReceivedEvent]]:
        """Every read's events as one list: the batch form, one list per read.

        An :meth:`aclose` from another task wakes a pending read; the reader
        then gets :class:`StreamClosed`, as it does when iterating again
        after a close.
        """
        try:
            if self._pending:
                batch, self._pending = self._pending, []
                yield batch
            self._take_error()
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = await stream.read()
                self._check_open()  # woken by aclose(): EOF that is not the daemon's
                events = self._conn.receive_data(data)
                if _ended(events):
                    await self._release()
                if events:
                    yield events
            self._check_open()
        except ReadTimeout:
            await self.aclose()
            raise timed_out(self.request, self._owner.timeout) from None
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                # A read or parse failing because aclose() pulled the transport away.
                raise self._closed_error() from None
            await self.aclose()
            raise
        except GeneratorExit:
            # The iteration was abandoned (its generator closed): as in the
            # sync driver, the connection is closed, not reused.
            await self.aclose()
            raise
        except BaseException:
            # Cancelled (the transport aborted itself already): the
            # connection is let go of at once, never handed on.
            self._forget()
            raise

    def _forget(self) -> None:
        """Let go of the connection without awaiting (a cancellation)."""
        if self._done and self._stream is None:
            return
        self._aborted = True
        self._done = True
        stream, self._stream = self._stream, None
        if stream is not None:
            _close_soon(stream)

    def __aiter__(self) -> AsyncIterator[_I]:
        # Items handed out from C by the compiled twin: no Python frame is
        # resumed per item, only a coroutine per read (AsyncItems, in the
        # core).  Ending the iteration closes read_batches(): an abandoned
        # iteration leaves no read behind it.
        return self._conn._async_items(self.read_batches(), self._map)

    def _typed(self, convert: Callable[[Any], Any] | None = None) -> Any:
        """This response, its items converted by ``convert`` when iterated
        (the caller states the resulting type)."""
        self._map = convert
        return self

    async def items(self) -> AsyncIterator[Any]:
        """Like iteration, but :class:`Data` events give their bytes."""
        async for ev in self:
            yield ev.data if isinstance(ev, Data) else ev

    async def read(self, limit: int | None = -1) -> bytes:
        """The whole body as bytes (for non-stream bodies).

        At most ``limit`` bytes (default: the client's ``max_body_size``;
        None: no limit): a longer body raises :class:`MessageTooLarge` before
        it is held, from its Content-Length when it has one.
        """
        return bytes(await self.read_buffer(limit))

    async def read_buffer(self, limit: int | None = -1) -> bytearray:
        """Like :meth:`read`, in one growing buffer."""
        if limit == -1:
            limit = self._owner.max_body_size
        if limit is not None:
            length = self.response.header(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit \
                    and self.request is not None and self.request.method != "HEAD":
                await self.aclose()
                raise MessageTooLarge(
                    f"the daemon announced a {int(length)}-byte body; the limit is {limit}"
                )
        if self._done and self._error is None and not self._aborted and self._unsettled is None:
            # The whole body came with the head (every small answer) and the
            # connection is settled: its bytes are the pending events', taken
            # here without the async generator of read_batches() (creating
            # one costs more than the rest of this call: asyncio registers
            # every async generator).
            whole = whole_body(self.response, self._pending, limit)
            if whole is not None:
                self._pending = []
                return whole if type(whole) is bytearray else bytearray(whole)
        buf = bytearray()
        try:
            async for batch in self.read_batches():
                for ev in batch:
                    if isinstance(ev, Data):
                        buf += ev.data
                if limit is not None and len(buf) > limit:
                    await self.aclose()
                    raise MessageTooLarge(f"the body passed the limit of {limit} bytes")
        except (ProtocolError, TransportError) as exc:
            # The body up to the fault is the caller's to see.
            buf += b"".join(e.data for e in exc_items(exc) if isinstance(e, Data))
            exc.received = bytes(buf)
            raise
        return buf

    async def drain(self, stdout: Sink, stderr: Sink) -> list[StreamError]:
        """The sink form of the whole body: items already decoded first,
        then every read straight into the sinks; the in-band errors, in order."""
        errors: list[StreamError] = []
        async with self:
            for ev in self.take_pending():
                if isinstance(ev, StreamError):
                    errors.append(ev)
                elif hasattr(ev, "stream"):
                    write_to(stdout if ev.stream == Stream.STDOUT else stderr, ev.data)
            await self.drain_into(stdout, stderr, errors)
        return errors

    async def drain_into(self, stdout: Sink, stderr: Sink, errors: list[StreamError]) -> None:
        """Read the rest of a container-output body straight into two sinks
        (the pending items are the caller's: :meth:`take_pending`)."""
        self._take_error()
        try:
            while not self._done:
                stream = self._stream
                if stream is None:
                    break
                data = await stream.read()
                self._check_open()
                events = self._conn.receive_data_into(data, stdout, stderr)
                for ev in events:
                    if isinstance(ev, StreamError):
                        errors.append(ev)
                if _ended(events):
                    await self._release()
            self._check_open()
        except ReadTimeout:
            await self.aclose()
            raise timed_out(self.request, self._owner.timeout) from None
        except Exception as exc:
            if self._aborted and not isinstance(exc, StreamClosed):
                raise self._closed_error() from None
            await self.aclose()
            raise
        except BaseException:
            self._forget()
            raise

    async def aclose(self) -> None:
        """Abandon the response: the connection is closed, not reused.

        From another task, it wakes a reader waiting on the connection,
        which gets :class:`StreamClosed`.
        """
        if not self._done:
            self._aborted = True
            self._done = True
            stream, self._stream = self._stream, None
            if stream is not None:
                await stream.aclose()
        elif self._unsettled is not None:
            await self._settle()

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` abandoned the body before its end."""
        return self._aborted

    async def __aenter__(self) -> AsyncStreamingResponse[_I]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        what = f"{self.request.method} {self.request.target}" if self.request else "?"
        return f"<AsyncStreamingResponse {what} {self.status}>"


def _close_soon(stream: AsyncTransport) -> None:
    """Close a transport from code that cannot await.

    After a cancellation the transport has aborted itself already (the
    interface's contract) and this ``aclose()`` only makes sure of it, for
    transports that do not keep the contract.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop any more: nothing can be awaited
        return
    task = loop.create_task(stream.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


# Tasks closing transports, referenced until done (the loop holds tasks weakly).
_CLOSING: set[asyncio.Task[None]] = set()
