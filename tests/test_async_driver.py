"""The asyncio driver (AsyncClient).

Its I/O loop on the in-memory async transport, with a scripted daemon (a
task of the test) on the other end: the exchange (keep-alive reuse, the
retry rule, a fault after the head), bodies (limits, ``received``), streams
on both twins at every split point, aclose() from another task,
cancellation (the connection is gone and never pooled), hijacked sessions
(stdin, half-close, conversing while reading), the sink form, progress
streams and the pool.

Then the public client against the private daemon, on its unix socket and
its TLS port: negotiation once for many concurrent first requests, logs
(follow and sink form too), events, exec with stdin and half-close (over
TLS: close_notify on memory BIOs; ssh:// too), attach with half-close, TTY
and resize, exec_run with its output cap, stats, push and pull through the
local registry, build (200 concurrent follows: test_async_scale_integration.py), no thread used
for I/O, and cancellation of a task waiting on a stream or a session (its
connection closed at once, no file descriptor left behind)."""

import asyncio
import io
import os
import struct
import sys
import threading
import time
import uuid

import pytest

from protocol import (
    APIError,
    APIVersion,
    AsyncClient,
    ConnectionLost,
    Data,
    LocalProtocolError,
    MessageTooLarge,
    NotFound,
    OutputLimitExceeded,
    RemoteProtocolError,
    Request,
    ResponseKind,
    Stream,
    StreamClosed,
    StreamError,
    TLSConfig,
    TransportError,
    Unauthorized,
    async_connect,
    async_memory_pair,
    parse_host,
)
from protocol._async._pool import AsyncPool
from protocol._core._engine import Converse, DrainInto, ReadBody, StartSession
from protocol._async._progress import AsyncProgressStream
from protocol._async._session import AsyncSession

#: How fast a woken or cancelled reader must return (nothing else ends it).
WAKE_BOUND = 1.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class Daemon:
    """The daemon ends of the connections a client opens (one per connect)."""

    def __init__(self):
        self.ends = asyncio.Queue()
        self.opened = 0
        self.served = []  # daemon ends serve() answered on

    async def connect(self):
        client_end, daemon_end = async_memory_pair()
        self.opened += 1
        self.last_client_end = client_end
        await self.ends.put(daemon_end)
        return client_end

    async def accept(self):
        return await asyncio.wait_for(self.ends.get(), 5)


async def read_request(end, buffered=b""):
    """One request head and its Content-Length body from the daemon end;
    (head bytes, body bytes, what was read past it)."""
    buf = bytearray(buffered)
    while b"\r\n\r\n" not in buf:
        data = await end.read()
        if not data:
            return None, None, b""
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += await end.read()
    return head, rest[:length], rest[length:]


def ok(body=b"OK", content_type=b"text/plain", extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def chunked(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)


def frame(stream, payload):
    return struct.pack(">BxxxL", stream, len(payload)) + payload


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
HIJACK_HEAD = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
               b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")


async def serve(d, *answers):
    """Accept one connection and answer one request per item of
    ``answers`` on it (bytes, or a tuple of parts written with pauses)."""
    end = await d.accept()
    d.served.append(end)
    for answer in answers:
        await read_request(end)
        for part in answer if isinstance(answer, tuple) else (answer,):
            try:
                await end.write(part)
            except TransportError:  # the client closed its end: the answer is cut
                return end
            await asyncio.sleep(0.01)
    return end


def ping():
    return Request("GET", "/_ping", kind=ResponseKind.TEXT)


def logs(follow=False):
    return Request("GET", "/containers/{id}/logs", params={"id": "c1"},
                   query={"stdout": True, "stderr": True, "follow": follow},
                   kind=ResponseKind.STREAM, tty=False, version="1.41")


async def read_body(client, resp, limit=-1):
    """The ReadBody step: the whole body, the connection released after."""
    return await client._perform(ReadBody(resp, limit))


async def body(client, request, limit=-1):
    return await read_body(client, await client._exchange(request), limit)


async def drain(client, resp, out, err):
    """The DrainInto step."""
    return await client._perform(DrainInto(resp, out, err))


def make_client(daemon, **kw):
    return AsyncClient(connect=daemon.connect, version="1.41", environ={}, **kw)


# -- the exchange ------------------------------------------------------------


def test_body_read_and_connection_reused():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve():
            end = await d.accept()
            for body in (b"OK", b"again"):
                head, _, _ = await read_request(end)
                assert head.startswith(b"GET /_ping HTTP/1.1")
                assert b"user-agent: docker-protocol/" in head.lower()
                await end.write(ok(body))

        server = asyncio.create_task(serve())
        resp = await client._exchange(ping())
        assert resp.status == 200 and resp.request.path == "/_ping"
        assert await read_body(client, resp) == b"OK"
        assert client._pool.idle == 1  # released: the cycle ended on keep-alive
        assert await body(client, ping()) == b"again"
        await server
        assert d.opened == 1  # one connection carried both
        await client.aclose()
        assert d.last_client_end.closed

    run(main())


def test_stale_keep_alive_get_is_sent_again_on_a_new_connection():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve():
            first = await d.accept()
            await read_request(first)
            await first.write(ok())
            # The daemon drops the idle connection only once the client
            # wrote the next request on it: is_clean_idle cannot see it.
            await read_request(first)
            await first.aclose()
            second = await d.accept()
            head, _, _ = await read_request(second)
            assert head.startswith(b"GET /_ping")
            await second.write(ok(b"fresh"))

        server = asyncio.create_task(serve())
        assert await body(client, ping()) == b"OK"
        assert await body(client, ping()) == b"fresh"
        await server
        assert d.opened == 2
        await client.aclose()

    run(main())


def test_a_post_with_a_streamed_body_is_never_sent_twice():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve():
            first = await d.accept()
            await read_request(first)
            await first.write(ok())
            await first.read()  # part of the next request arrived...
            await first.aclose()  # ...and the daemon is gone

        server = asyncio.create_task(serve())
        await body(client, ping())
        chunks = iter([b"tar", b"data"])
        post = Request("POST", "/build", body=chunks, content_type="application/x-tar", kind=ResponseKind.JSON_STREAM)
        with pytest.raises(ConnectionLost) as info:
            await client._exchange(post)
        assert info.value.may_have_been_processed
        assert "not sent again" in str(info.value)
        await server
        assert d.opened == 1
        await client.aclose()

    run(main())


def test_streamed_request_body_is_chunked_on_the_wire():
    async def main():
        d = Daemon()
        client = make_client(d)
        got = bytearray()

        async def serve():
            end = await d.accept()
            while b"0\r\n\r\n" not in got:
                got.extend(await end.read())
            await end.write(ok(b"{}", b"application/json"))

        server = asyncio.create_task(serve())
        post = Request("POST", "/build", body=iter([b"abc", b"", b"defg"]),
                       content_type="application/x-tar", kind=ResponseKind.JSON)
        assert await body(client, post) == b"{}"
        await server
        assert got.endswith(b"\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
        await client.aclose()

    run(main())


def test_malformed_answer_is_not_retried():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve():
            end = await d.accept()
            await read_request(end)
            await end.write(b"NOT HTTP AT ALL\r\n\r\n")

        server = asyncio.create_task(serve())
        with pytest.raises(RemoteProtocolError):
            await client._exchange(ping())
        await server
        assert d.opened == 1 and d.last_client_end.closed
        await client.aclose()

    run(main())


def test_fault_after_the_head_gives_the_items_then_the_error(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)

        async def serve():
            end = await d.accept()
            await read_request(end)
            # Head, one frame, then the connection dies mid-chunk.
            await end.write(STREAM_HEAD + chunked(frame(1, b"one\n")) + b"ff\r\nxx")
            await end.aclose()

        server = asyncio.create_task(serve())
        resp = await client._exchange(logs())
        await server
        items = []
        with pytest.raises((RemoteProtocolError, TransportError)):
            async for item in resp:
                items.append(item)
        assert [(i.stream, i.data) for i in items] == [(Stream.STDOUT, b"one\n")]
        assert client._pool.idle == 0 and d.last_client_end.closed
        await client.aclose()

    run(main())


# -- bodies ------------------------------------------------------------------


def test_announced_body_over_the_limit_is_refused_before_reading():
    async def main():
        d = Daemon()
        client = make_client(d, max_body_size=10)

        async def serve():
            end = await d.accept()
            await read_request(end)
            await end.write(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")

        server = asyncio.create_task(serve())
        resp = await client._exchange(ping())
        with pytest.raises(MessageTooLarge):
            await read_body(client, resp, -1)
        await server
        assert client._pool.idle == 0 and d.last_client_end.closed
        await client.aclose()

    run(main())


def test_chunked_body_over_an_explicit_limit_and_unbounded_read():
    async def main():
        d = Daemon()
        client = make_client(d)
        payload = b"x" * 5000

        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        whole = head + chunked(payload) + b"0\r\n\r\n"
        in_two = (head + chunked(payload[:4500]), chunked(payload[4500:]) + b"0\r\n\r\n")
        server = asyncio.create_task(serve(d, whole, in_two))
        assert await body(client, ping(), None) == payload
        with pytest.raises(MessageTooLarge):
            await body(client, ping(), 4000)
        await server
        assert client._pool.idle == 0  # a body abandoned for its size is not reused
        server = asyncio.create_task(serve(d, whole))
        assert await body(client, ping(), 5000) == payload
        await server
        await client.aclose()

    run(main())


def test_a_body_that_came_with_its_head_is_read_without_an_async_generator():
    # asyncio registers every async generator when it first runs (a WeakSet
    # entry and a finalizer): for a small answer such as /_ping that was a
    # large part of the round trip.  The body is taken from the pending events.
    async def main():
        d = Daemon()
        client = make_client(d)
        payload = b"x" * 5000
        whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(payload) + b"0\r\n\r\n"
        server = asyncio.create_task(serve(d, ok(b"fast"), whole, whole))
        started = []
        hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(firstiter=started.append, finalizer=hooks.finalizer)
        try:
            assert await body(client, ping()) == b"fast"
            with pytest.raises(MessageTooLarge):  # the bound holds on this path too
                await body(client, ping(), 4000)
            assert await body(client, ping(), 5000) == payload
        finally:
            sys.set_asyncgen_hooks(*hooks)
        assert started == []
        await server
        assert d.opened == 1  # each whole body left its connection clean for the next
        await client.aclose()

    run(main())


def test_a_cut_body_keeps_what_arrived_in_received():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve():
            end = await d.accept()
            await read_request(end)
            await end.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            await asyncio.sleep(0.01)
            await end.write(b"partial")
            await asyncio.sleep(0.01)
            await end.aclose()

        server = asyncio.create_task(serve())
        resp = await client._exchange(ping())
        with pytest.raises((RemoteProtocolError, TransportError)) as info:
            await read_body(client, resp)
        assert info.value.received == b"partial"
        await server
        await client.aclose()

    run(main())


# -- streams -------------------------------------------------------------------


def test_stream_items_at_every_split_point(twin):
    frames = [frame(1, b"out-1\n"), frame(2, b"err\n"), frame(1, b"out-2\n")]
    wire = STREAM_HEAD + chunked(*frames) + b"0\r\n\r\n"
    expected = [(Stream.STDOUT, b"out-1\n"), (Stream.STDERR, b"err\n"), (Stream.STDOUT, b"out-2\n")]

    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        for split in range(1, len(wire)):
            async def serve():
                end = await d.accept()
                await read_request(end)
                await end.write(wire[:split])
                await asyncio.sleep(0)
                await end.write(wire[split:])

            server = asyncio.create_task(serve())
            async with await client._exchange(logs()) as resp:
                got = [(f.stream, f.data) async for f in resp]
            assert got == expected, split
            await server
            # Released at the end of the body, then taken again by the next
            # round: the daemon side must see one connection per round only
            # if the pool gave it back: drop it so each round connects anew.
            assert client._pool.idle == 1
            await client._pool.aclose()
            client._pool = AsyncPool(client.host, connect=d.connect)
        await client.aclose()

    run(main())


def test_typed_items_and_batches(twin):
    parts = (STREAM_HEAD + chunked(frame(1, b"a"), frame(1, b"b")), chunked(frame(2, b"c")) + b"0\r\n\r\n")

    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        server = asyncio.create_task(serve(d, parts, parts))
        resp = (await client._exchange(logs()))._typed(lambda f: f.data.upper())
        assert [x async for x in resp] == [b"A", b"B", b"C"]
        resp = await client._exchange(logs())  # the same connection, from the pool
        batches = [b async for b in resp.read_batches()]
        assert [[f.data for f in b if hasattr(f, "data")] for b in batches] == [[b"a", b"b"], [b"c"]]
        assert type(batches[-1][-1]).__name__ == "EndOfMessage"  # batches are untrimmed
        await server
        assert d.opened == 1
        await client.aclose()

    run(main())


def test_a_conversion_error_ends_the_reads_at_once():
    """A typed view that raises (an in-band error) stops the stream there:
    the connection is closed before the error reaches the caller, not when
    the garbage collector finds the reads' generator."""
    async def main():
        d = Daemon()
        client = make_client(d)
        parts = (STREAM_HEAD + chunked(frame(1, b"ok"), frame(1, b"bad"), frame(1, b"never")),)
        server = asyncio.create_task(serve(d, *parts))

        def convert(f):
            if f.data == b"bad":
                raise ValueError("in-band error")
            return f.data

        resp = (await client._exchange(logs(follow=True)))._typed(convert)
        got = []
        with pytest.raises(ValueError):
            async for item in resp:
                got.append(item)
        assert got == [b"ok"]
        assert resp.closed and d.last_client_end.closed and client._pool.idle == 0
        await server
        await client.aclose()

    run(main())


# -- stopping a stream: aclose() from another task, cancellation ---------------


async def quiet_follow(d, client, **kw):
    """A logs(follow=True) whose daemon sent the head and one frame, then
    stays quiet; (response, daemon end)."""
    async def serve_head():
        end = await d.accept()
        await read_request(end)
        await end.write(STREAM_HEAD + chunked(frame(1, b"first\n")))
        return end

    server = asyncio.create_task(serve_head())
    resp = await client._exchange(logs(follow=True))
    return resp, await server


def test_aclose_from_another_task_wakes_the_reader(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        resp, end = await quiet_follow(d, client)
        got = []

        async def reader():
            async for item in resp:
                got.append(item.data)

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        assert got == [b"first\n"] and not task.done()
        loop = asyncio.get_running_loop()
        start = loop.time()
        await resp.aclose()
        with pytest.raises(StreamClosed, match="closed before its body ended"):
            await task
        assert loop.time() - start < WAKE_BOUND
        assert resp.closed and d.last_client_end.closed and client._pool.idle == 0
        # Iterating again says the same, it does not pretend the body ended.
        with pytest.raises(StreamClosed):
            async for _ in resp:
                pass
        await client.aclose()

    run(main())


@pytest.mark.parametrize("how", ["items", "batches", "drain"])
def test_cancelling_a_reader_closes_the_connection_at_once(how, twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        resp, end = await quiet_follow(d, client)

        async def reader():
            if how == "items":
                async for _ in resp:
                    pass
            elif how == "batches":
                async for _ in resp.read_batches():
                    pass
            else:
                await drain(client, resp, io.BytesIO(), io.BytesIO())

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Closed before the cancellation propagated: the daemon's end sees it.
        assert d.last_client_end.closed
        assert resp.transport is None and client._pool.idle == 0
        with pytest.raises(TransportError):
            await end.write(b"more")
        await client.aclose()

    run(main())


def test_cancelling_while_the_request_is_answered_never_pools_the_connection():
    async def main():
        d = Daemon()
        client = make_client(d)

        async def serve_nothing():
            end = await d.accept()
            await read_request(end)  # and never answer
            return end

        server = asyncio.create_task(serve_nothing())
        task = asyncio.create_task(client._exchange(ping()))
        end = await server
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # the scheduled aclose() runs
        assert d.last_client_end.closed and client._pool.idle == 0
        await client.aclose()

    run(main())


def test_abandoned_iteration_closes_instead_of_pooling(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        resp, end = await quiet_follow(d, client)
        async with resp:
            async for item in resp:
                assert item.data == b"first\n"
                break
        assert d.last_client_end.closed and client._pool.idle == 0
        await client.aclose()

    run(main())


def test_read_timeout_names_the_request_and_closes():
    async def main():
        d = Daemon()
        client = make_client(d, timeout=0.05)
        resp, end = await quiet_follow(d, client)
        from protocol import ReadTimeout
        with pytest.raises(ReadTimeout, match=r"GET /v1.41/containers/c1/logs.*0.05s"):
            async for _ in resp:
                pass
        assert d.last_client_end.closed and client._pool.idle == 0
        await client.aclose()

    run(main())


# -- the sink form ---------------------------------------------------------------


def test_drain_into_writes_pending_and_later_frames_to_the_sinks(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        error = b'{"message":"log driver failed"}'
        parts = (STREAM_HEAD + chunked(frame(1, b"o1"), frame(2, b"e1")),
                 chunked(frame(3, error), frame(1, b"o2")) + b"0\r\n\r\n")
        server = asyncio.create_task(serve(d, parts))
        out, err = io.BytesIO(), io.BytesIO()
        errors = await drain(client, await client._exchange(logs()), out, err)
        assert (out.getvalue(), err.getvalue()) == (b"o1o2", b"e1")
        assert len(errors) == 1 and isinstance(errors[0], StreamError)
        assert "log driver failed" in errors[0].message
        await server
        assert client._pool.idle == 1
        await client.aclose()

    run(main())


# -- hijacked sessions -------------------------------------------------------------


def exec_start():
    return Request("POST", "/exec/{id}/start", params={"id": "e1"}, json={"Detach": False, "Tty": False},
                   kind=ResponseKind.HIJACK, tty=False, version="1.41")


async def open_session(d, client):
    async def serve_hijack():
        end = await d.accept()
        await read_request(end)
        await end.write(HIJACK_HEAD + frame(1, b"hello\n"))
        return end

    server = asyncio.create_task(serve_hijack())
    handle = await client._exchange(exec_start())
    end = await server
    session = await client._perform(StartSession(handle, "e1", None, False))
    assert handle.transport is None  # the session owns it now
    return session, end


def test_session_stdin_half_close_and_output(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        session, end = await open_session(d, client)
        assert isinstance(session, AsyncSession)
        assert (session.exec_id, session.container, session.tty) == ("e1", None, False)
        assert session.response.status_code == 101

        async def echo():
            # The daemon: echo stdin until its EOF, then a last frame and close.
            while True:
                data = await end.read()
                if not data:
                    break
                await end.write(frame(1, data.upper()))
            await end.write(frame(2, b"done"))
            await end.aclose()

        peer = asyncio.create_task(echo())
        await session.write(b"abc")
        await session.close_stdin()
        await session.close_stdin()  # once is enough; twice is harmless
        with pytest.raises(LocalProtocolError):
            await session.write(b"late")
        got = [(f.stream, f.data) async for f in session]
        await peer
        assert got[0] == (Stream.STDOUT, b"hello\n") and got[-1] == (Stream.STDERR, b"done")
        assert b"".join(d for s, d in got[1:-1]) == b"ABC"
        await session.aclose()
        await client.aclose()

    run(main())


def test_session_aclose_from_another_task_and_cancellation():
    async def main():
        d = Daemon()
        client = make_client(d)
        session, end = await open_session(d, client)
        got = []

        async def reader():
            async for f in session:
                got.append(f.data)

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.02)
        await session.aclose()
        with pytest.raises(StreamClosed, match="exec e1: the session was closed"):
            await task
        assert got == [b"hello\n"] and d.last_client_end.closed

        session, end = await open_session(d, client)
        task = asyncio.create_task(session.copy_to(io.BytesIO(), io.BytesIO()))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert d.last_client_end.closed and session.closed
        with pytest.raises(StreamClosed):
            async for _ in session:
                pass
        await client.aclose()

    run(main())


class Collector:
    """What the engine's collector does: keep output, raise past a cap."""

    def __init__(self, limit=None):
        self.out = bytearray()
        self.limit = limit

    def feed(self, batch):
        for item in batch:
            self.out += item.data
        if self.limit is not None and len(self.out) > self.limit:
            raise OutputLimitExceeded("too much", self.limit, bytes(self.out), b"")


def test_converse_writes_stdin_while_reading():
    """The peer echoes only while its output is read, with a small pipe:
    writing all stdin before reading would deadlock."""
    async def main():
        d = Daemon()
        client = make_client(d)
        session, end = await open_session(d, client)
        big = bytes(range(256)) * 4096  # 1 MiB, more than the pipes hold

        async def echo():
            while True:
                data = await end.read()
                if not data:
                    break
                await end.write(frame(1, data))
            await end.aclose()

        peer = asyncio.create_task(echo())
        collector = Collector()
        failure = await client._perform(Converse(session, [big], True, collector))
        await peer
        assert failure is None
        assert bytes(collector.out) == b"hello\n" + big

    run(main())


def test_converse_output_cap_closes_the_session_and_stops_the_writer():
    async def main():
        d = Daemon()
        client = make_client(d)
        session, end = await open_session(d, client)

        async def flood():
            try:
                while True:
                    await end.write(frame(1, b"y" * 4096))
            except TransportError:
                pass

        peer = asyncio.create_task(flood())
        with pytest.raises(OutputLimitExceeded):
            # stdin is never read by this peer: the writer blocks until cancelled.
            await client._perform(Converse(session, [b"z" * (4 << 20)], True, Collector(limit=100_000)))
        await peer
        assert session.closed and d.last_client_end.closed

    run(main())


def test_converse_reports_the_writers_failure():
    async def main():
        d = Daemon()
        client = make_client(d)
        session, end = await open_session(d, client)

        async def gone():
            # The process stops reading stdin (its end refuses bytes) and
            # its output ends a little later.
            end._incoming.close_reader()
            await asyncio.sleep(0.05)
            await end.aclose()

        peer = asyncio.create_task(gone())
        collector = Collector()
        failure = await client._perform(Converse(session, [b"data"], True, collector))
        await peer
        assert isinstance(failure, TransportError)
        assert bytes(collector.out) == b"hello\n"  # the output is still the caller's


def test_start_session_without_a_transport_is_an_error():
    async def main():
        d = Daemon()
        client = make_client(d)
        server = asyncio.create_task(serve(d, HIJACK_HEAD))
        handle = await client._exchange(exec_start())
        await server
        handle.detach()
        with pytest.raises(TransportError, match="right after the hijack"):
            await client._perform(StartSession(handle, "e1", None, False))

    run(main())


# -- the pool ---------------------------------------------------------------------


def test_pool_skips_dirty_idle_connections_and_keeps_at_most_size():
    async def main():
        d = Daemon()
        pool = AsyncPool(None, size=1, connect=d.connect)
        a, conn, reused = await pool.acquire()
        assert not reused and conn is None
        b, _, _ = await pool.acquire()
        end_a, end_b = await d.accept(), await d.accept()
        await pool.release(a)
        await pool.release(b)  # over the size: closed
        assert pool.idle == 1 and b.closed and not a.closed
        await end_a.write(b"stray")  # bytes on an idle connection: never reused
        c, _, reused = await pool.acquire()
        assert c is not a and not reused and a.closed
        await pool.release(c)
        await pool.aclose()
        assert c.closed
        with pytest.raises(LocalProtocolError, match="closed"):
            await pool.acquire()

    run(main())


def test_single_use_transport():
    async def main():
        client_end, daemon_end = async_memory_pair()
        client = AsyncClient(transport=client_end, version="1.41", environ={})

        async def serve1():
            await read_request(daemon_end)
            await daemon_end.write(ok())
            await read_request(daemon_end)
            await daemon_end.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK")

        server = asyncio.create_task(serve1())
        assert await body(client, ping()) == b"OK"
        assert await body(client, ping()) == b"OK"  # kept alive
        await server
        with pytest.raises(TransportError, match="in use or was closed"):
            await client._exchange(ping())  # the daemon ended it; no second one to open
        await client.aclose()

    run(main())


# -- progress streams ----------------------------------------------------------------

JSON_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n")


def pull():
    return Request("POST", "/images/create", query={"fromImage": "busybox"}, kind=ResponseKind.JSON_STREAM,
                   version="1.41")


async def progress_over(d, client, *parts):
    server = asyncio.create_task(serve(d, *parts))
    resp = await client._exchange(pull())
    return AsyncProgressStream(resp, request=resp.request, status=resp.status, close=resp.aclose), server


def test_progress_messages_then_the_in_band_error(twin):
    async def main():
        d = Daemon()
        client = make_client(d, stream_impl=twin)
        stream, server = await progress_over(
            d, client, (JSON_HEAD + chunked(b'{"status":"Pulling"}\r\n{"status":"Waiting","id":"a"}\r\n'),
                        chunked(b'{"errorDetail":{"message":"unauthorized: no"},"error":"unauthorized: no"}\r\n')
                        + b"0\r\n\r\n"))
        seen = []
        with pytest.raises(Unauthorized) as info:
            async with stream:
                async for msg in stream:
                    seen.append(msg["status"])
        assert seen == ["Pulling", "Waiting"]
        assert [m["status"] for m in info.value.messages] == seen and info.value.received is info.value.messages
        assert stream.count == 2
        await server
        with pytest.raises(RuntimeError, match="once"):
            async for _ in stream:
                pass
        await client.aclose()

    run(main())


def test_progress_collect_and_a_cut_stream_keeps_the_messages():
    async def main():
        d = Daemon()
        client = make_client(d)
        stream, server = await progress_over(d, client, (JSON_HEAD + chunked(b'{"status":"one"}\r\n'),
                                                        chunked(b'{"status":"two"}\r\n{"sta')))
        end = await server
        await end.aclose()  # the daemon dies mid-message
        with pytest.raises((RemoteProtocolError, TransportError)) as info:
            await stream.collect()
        assert [m["status"] for m in info.value.messages] == ["one", "two"]
        assert info.value.received == info.value.messages
        assert d.last_client_end.closed
        await client.aclose()

    run(main())


def test_progress_run_awaits_a_coroutine_callback_and_early_stop_closes():
    async def main():
        d = Daemon()
        client = make_client(d)
        body = b'{"stream":"Step 1"}\r\n{"aux":{"ID":"sha256:abc"}}\r\n'
        stream, server = await progress_over(d, client, JSON_HEAD + chunked(body) + b"0\r\n\r\n")
        got = []

        async def callback(msg):
            await asyncio.sleep(0)
            got.append(msg.raw)

        last = await stream.run(callback)
        assert got == [{"stream": "Step 1"}, {"aux": {"ID": "sha256:abc"}}] and last["aux"]["ID"] == "sha256:abc"
        await server
        assert client._pool.idle == 1  # the whole stream was read: the connection is reused

        # Stopping early: the context manager closes the connection.
        forever = JSON_HEAD + chunked(b'{"status":"first"}\r\n')
        server = asyncio.create_task(serve_on(end_of(d), forever))
        resp = await client._exchange(pull())
        async with AsyncProgressStream(resp, request=resp.request, close=resp.aclose) as stream:
            async for msg in stream:
                assert msg["status"] == "first"
                break
        await server
        assert resp.closed and client._pool.idle == 0
        await client.aclose()

    def end_of(d):
        return d.served[-1]

    async def serve_on(end, answer):
        await read_request(end)
        await end.write(answer)

    run(main())


def test_progress_from_a_list():
    async def main():
        stream = AsyncProgressStream([{"status": "Downloading"}, {"status": "Done"}])
        assert [m["status"] for m in await stream.collect()] == ["Downloading", "Done"]

    run(main())


# -- against the private daemon ---------------------------------------------------
#
# The public AsyncClient on the real engine: what it declares (/version) is
# what is asserted.  File descriptors are counted around every cancellation.

integration = pytest.mark.integration


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def irun(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


# The private sshd relays to the system engine's socket (.ci/sshd), not the session's.
SSH_ENGINE = pytest.mark.engines("system")


def client_args(kind, request, docker_host):
    """How AsyncClient reaches the private daemon: its unix socket, its
    TCP+TLS port with a client certificate, or ssh:// through the private sshd."""
    if kind == "unix":
        return {"host": docker_host}
    if kind == "tls":
        tls = request.getfixturevalue("docker_tls")
        return {"host": tls.host, "tls": TLSConfig(ca_cert=str(tls.ca), client_cert=str(tls.cert),
                                                     client_key=str(tls.key))}
    ssh = request.getfixturevalue("ssh_docker")
    return {"host": ssh.host, "ssh_options": ssh.options}


# Podman's compat service has the unix socket only (no TLS port, no sshd).
UNIX = pytest.param("unix", marks=pytest.mark.podman)


@pytest.fixture(params=[UNIX, "tls"])
def daemon_args(request, docker_host):
    return client_args(request.param, request, docker_host)


@pytest.fixture(params=[UNIX, "tls", pytest.param("ssh", marks=SSH_ENGINE)])
def every_transport(request, docker_host):
    return client_args(request.param, request, docker_host)


async def start(client, cleanup, image, cmd, **config):
    created = await client.create_container(image, cmd, HostConfig={"NetworkMode": "none"}, **config)
    cleanup.append(created["Id"])
    await client.start_container(created["Id"])
    return created["Id"]


class CountingTransport:
    """A transport that records the request lines written through it."""

    def __init__(self, inner, lines):
        self._inner = inner
        self._lines = lines

    async def read(self):
        return await self._inner.read()

    async def write(self, data):
        if data[:4] in (b"GET ", b"HEAD", b"POST"):
            self._lines.append(bytes(data).split(b"\r\n", 1)[0].decode())
        await self._inner.write(data)

    async def shutdown_write(self):
        await self._inner.shutdown_write()

    async def aclose(self):
        await self._inner.aclose()

    def is_clean_idle(self):
        return self._inner.is_clean_idle()

    def settimeout(self, timeout):
        self._inner.settimeout(timeout)


def counting_client(docker_host, **kw):
    lines = []
    host = parse_host(docker_host)

    async def connect():
        return CountingTransport(await async_connect(host), lines)

    return AsyncClient(connect=connect, environ={}, **kw), lines


def probes(lines):
    return [line for line in lines if line.split()[1] in ("/_ping", "/version")]


@integration
def test_ping_version_info(every_transport, engine):
    async def main():
        async with AsyncClient(**every_transport) as c:
            assert await c.ping() == "OK"
            version = await c.version()
            assert (version["ApiVersion"], version["MinAPIVersion"]) == (engine.api_version, engine.min_api_version)
            assert await c.api_version == APIVersion(engine.api_version)
            assert "Containers" in await c.info()

    irun(main())


@integration
@pytest.mark.podman
def test_negotiation_happens_once_for_20_concurrent_first_requests(docker_host, engine):
    async def main():
        # What one negotiation sends on this engine, from a lone request.
        alone, alone_lines = counting_client(docker_host)
        await alone.version()
        await alone.aclose()
        one_negotiation = probes(alone_lines)
        assert one_negotiation  # unversioned probes: /_ping (and /version before 1.25)

        c, lines = counting_client(docker_host, pool_size=20)
        answers = await asyncio.gather(*(c.version() for _ in range(20)))
        await c.aclose()
        assert all(a["ApiVersion"] == engine.api_version for a in answers)
        assert probes(lines) == one_negotiation
        versioned = [line for line in lines if line.startswith(f"GET /v{engine.api_version}/version ")]
        assert len(versioned) == 20

    irun(main())


@integration
@pytest.mark.podman
def test_logs_items_sink_and_follow(docker_host, docker_cleanup, test_image, tmp_path):
    async def main():
        async with AsyncClient(docker_host) as c:
            cid = await start(c, docker_cleanup, test_image,
                              ["sh", "-c", "seq 1 2000; echo oops >&2"])
            await c.wait_container(cid)
            async with await c.logs(cid) as resp:
                frames = [(f.stream, f.data) async for f in resp]
            out = b"".join(d for s, d in frames if s == Stream.STDOUT)
            assert out == b"".join(b"%d\n" % i for i in range(1, 2001))
            assert [d for s, d in frames if s == Stream.STDERR] == [b"oops\n"]
            with open(tmp_path / "out", "wb") as fo, open(tmp_path / "err", "wb") as fe:
                assert await c.logs_into(cid, fo, fe) == []
            assert (tmp_path / "out").read_bytes() == out
            assert (tmp_path / "err").read_bytes() == b"oops\n"

            ticker = await start(c, docker_cleanup, test_image,
                                 ["sh", "-c", "for i in 1 2 3; do echo tick$i; sleep 0.4; done"])
            loop = asyncio.get_running_loop()
            began = loop.time()
            arrivals = [(loop.time() - began, f.data) async for f in await c.logs(ticker, follow=True)]
            assert [d for _, d in arrivals] == [b"tick1\n", b"tick2\n", b"tick3\n"]
            # Delivered as written, not at the end.
            assert arrivals[2][0] - arrivals[0][0] > 0.4

    irun(main())


@integration
def test_events_since_until(docker_host, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(docker_host) as c:
            since = int(time.time()) - 1
            cid = await start(c, docker_cleanup, test_image, ["true"])
            await c.wait_container(cid)
            async with await c.events(since=since, until=int(time.time()) + 1,
                                      filters={"container": [cid]}) as events:
                actions = [e["Action"] async for e in events]
            assert actions[:2] == ["create", "start"] and "die" in actions

    irun(main())


@integration
def test_exec_stdin_half_close_and_exit_code(every_transport, docker_cleanup, test_image):
    """stdin written while output is read, EOF by half-close (on TLS: a
    close_notify on memory BIOs; on ssh: the socketpair's write_eof), output
    to the end, then the exit code."""
    async def main():
        async with AsyncClient(**every_transport) as c:
            cid = await start(c, docker_cleanup, test_image, ["sleep", "600"])
            data = bytes(range(256)) * 2048  # 512 KiB: more than the pipes hold
            async with await c.exec_stream(cid, ["sh", "-c", "cat; echo end >&2; exit 3"], stdin=True) as session:
                assert session.exec_id and not session.tty

                async def feed():
                    await session.write(data)
                    await session.close_stdin()

                writer = asyncio.create_task(feed())
                out, err = bytearray(), bytearray()
                async for f in session:
                    (out if f.stream == Stream.STDOUT else err).extend(f.data)
                await writer
                assert bytes(out) == data and bytes(err) == b"end\n"
                assert await session.wait() == 3

    irun(main())


@integration
def test_exec_tty_and_resize(daemon_args, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(**daemon_args) as c:
            cid = await start(c, docker_cleanup, test_image, ["sleep", "600"])
            async with await c.exec_stream(cid, ["sh", "-c", "read x; stty size"], stdin=True, tty=True) as s:
                assert s.tty
                await s.resize(height=33, width=77)
                await s.write(b"go\n")
                out = b"".join([f.data async for f in s])
            assert b"33 77" in out
            assert await s.wait() == 0

    irun(main())


@integration
def test_exec_run_input_and_output_cap(daemon_args, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(**daemon_args) as c:
            cid = await start(c, docker_cleanup, test_image, ["sleep", "600"])
            data = b"x" * 300_000
            result = await c.exec_run(cid, ["cat"], input=data)
            assert (result.exit_code, result.stdout, result.stderr) == (0, data, b"")
            with pytest.raises(OutputLimitExceeded) as info:
                await c.exec_run(cid, ["sh", "-c", "head -c 200000 /dev/zero"], max_output=1000)
            assert info.value.limit == 1000 and info.value.stdout == b"\0" * 1000

    irun(main())


async def cancel_while_waiting(get_stream, consume):
    """Start ``consume(stream)`` in a task, cancel it while it waits on a
    quiet connection, and check the connection was closed before the
    cancellation reached the caller."""
    stream = await get_stream()
    transport = stream.transport if hasattr(stream, "transport") else stream._stream
    task = asyncio.create_task(consume(stream))
    await asyncio.sleep(0.3)  # the task now waits on the quiet daemon
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert getattr(transport, "closed", True)


@integration
@pytest.mark.parametrize("what", ["logs", "events", "session"])
def test_cancelling_a_waiting_task_closes_its_connection_and_leaks_nothing(
        what, every_transport, docker_host, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(docker_host) as setup:
            cid = await start(setup, docker_cleanup, test_image, ["sh", "-c", "echo ready; exec sleep 600"])
        before = open_fds()
        c = AsyncClient(**every_transport)

        async def get_stream():
            if what == "logs":
                return await c.logs(cid, follow=True)
            if what == "events":
                return await c.events(filters={"container": [cid]})
            return await c.exec_stream(cid, ["sleep", "600"])

        async def consume(stream):
            async for _ in stream:
                pass

        await cancel_while_waiting(get_stream, consume)
        await c.aclose()
        await asyncio.sleep(0.05)  # the loop's callbacks that release descriptors
        assert open_fds() == before

    irun(main())


@integration
def test_attach_half_close_gives_eof_and_output_keeps_flowing(daemon_args, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(**daemon_args) as c:
            created = await c.create_container(test_image, ["sh", "-c", "cat; echo after-eof"], OpenStdin=True,
                                               StdinOnce=True, HostConfig={"NetworkMode": "none"})
            docker_cleanup.append(created.id)
            await c.start_container(created.id)
            async with await c.attach(created.id, stdin=True) as session:
                assert session.container == created.id and session.exec_id is None
                await session.write(b"line1\nline2\n")
                await session.close_stdin()
                out = b"".join([i.data async for i in session])
                assert await session.wait() == 0
            assert out == b"line1\nline2\nafter-eof\n"

    irun(main())


@integration
def test_no_thread_does_the_io(daemon_args, docker_cleanup, test_image):
    """exec_run with stdin, a follow and a negotiation: the loop's default
    executor is never started and no thread appears."""
    async def main():
        threads = threading.active_count()
        loop = asyncio.get_running_loop()
        async with AsyncClient(**daemon_args) as c:
            cid = await start(c, docker_cleanup, test_image, ["sh", "-c", "echo hi; exec sleep 600"])
            result = await c.exec_run(cid, ["sh", "-c", "cat; echo err >&2"], input=b"in" * 100_000)
            assert (result.exit_code, result.stdout, result.stderr) == (0, b"in" * 100_000, b"err\n")
            async with await c.logs(cid, follow=True) as logs:
                async for item in logs:
                    assert item.data == b"hi\n"
                    break
            assert threading.active_count() == threads
            assert getattr(loop, "_default_executor", None) is None

    irun(main())


@integration
@pytest.mark.podman
def test_stats_stream_and_one_sample(docker_host, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(docker_host) as c:
            cid = await start(c, docker_cleanup, test_image, ["sleep", "30"])
            async with await c.stats(cid) as stats:
                async for first in stats:
                    break
            assert "memory_stats" in first and "read" in first
            one = [s async for s in await c.stats(cid, stream=False)]
            assert len(one) == 1 and "cpu_stats" in one[0]

    irun(main())


@integration
def test_push_and_pull_through_the_registry(docker_host, registry, test_image):
    """Progress streams of a push and a pull as async iterators; a wrong
    password is the typed in-band (push) or HTTP (pull) refusal."""
    async def main():
        repo, tag = f"{registry.host}/protocol/async-{uuid.uuid4().hex[:8]}", "t1"
        ref = f"{repo}:{tag}"
        good = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
        bad = {**good, "password": "not-the-password"}
        async with AsyncClient(docker_host) as c:
            await c.call("images.tag", name=test_image, repo=repo, tag=tag)
            try:
                with pytest.raises(Unauthorized) as info:
                    await c.push(repo, tag, auth=bad)
                assert info.value.status == 200
                async with await c.push_stream(ref, auth=good) as stream:
                    messages = [m async for m in stream]
                aux = [m["aux"] for m in messages if "aux" in m]
                assert len(aux) == 1 and aux[0]["Tag"] == tag and aux[0]["Digest"].startswith("sha256:")
                await c.call("images.remove", name=ref)
                with pytest.raises(Unauthorized):
                    await c.pull(repo, tag, auth=bad)
                seen = []
                last = await (await c.pull_stream(ref, auth=good)).run(seen.append)
                assert seen and last is seen[-1]
                assert any(aux[0]["Digest"] in m.get("status", "") for m in seen)
                assert (await c.inspect_image(ref))["Id"] == (await c.inspect_image(test_image))["Id"]
            finally:
                try:
                    await c.call("images.remove", name=ref)
                except NotFound:
                    pass

    irun(main())


@integration
def test_build_from_a_directory_and_the_in_band_error(docker_host, test_image, tmp_path):
    async def main():
        tag = f"protocol-test/async-build:{uuid.uuid4().hex[:8]}"
        (tmp_path / "Dockerfile").write_text(f"FROM {test_image}\nCOPY hello.txt /\nRUN cat /hello.txt\n")
        (tmp_path / "hello.txt").write_text("hello from the async build\n")
        async with AsyncClient(docker_host) as c:
            try:
                messages = await c.build(str(tmp_path), tag=tag, rm=True)
                assert any("hello from the async build" in m.get("stream", "") for m in messages)
                assert any("aux" in m for m in messages)
                (tmp_path / "Dockerfile").write_text(f"FROM {test_image}\nRUN exit 7\n")
                with pytest.raises(APIError) as info:
                    await c.build(str(tmp_path), rm=True, forcerm=True)
                assert "returned a non-zero code: 7" in info.value.message
                assert info.value.messages  # what the build printed before
            finally:
                await c.call("images.remove", name=tag, force=True)

    irun(main())


@integration
@pytest.mark.parametrize("what", ["logs", "events", "session"])
def test_aclose_from_another_task_wakes_the_reader(what, every_transport, docker_host, docker_cleanup,
                                                   test_image):
    """A task waiting on a quiet stream or session is woken by aclose() from
    another task within a bound and gets StreamClosed; nothing leaks."""
    async def main():
        async with AsyncClient(docker_host) as setup:
            cid = await start(setup, docker_cleanup, test_image, ["sh", "-c", "echo ready; exec sleep 600"])
        before = open_fds()
        c = AsyncClient(**every_transport)
        if what == "logs":
            stream = await c.logs(cid, follow=True)
        elif what == "events":
            stream = await c.events(filters={"container": [cid]})
        else:
            stream = await c.exec_stream(cid, ["sleep", "600"])
        got = []

        async def consume():
            async for item in stream:
                got.append(item)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)  # the task now waits on the quiet daemon
        assert not task.done()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await stream.aclose()
        with pytest.raises(StreamClosed):
            await task
        assert loop.time() - began < WAKE_BOUND
        if what == "logs":
            assert [f.data for f in got] == [b"ready\n"]
        await c.aclose()
        await asyncio.sleep(0.05)
        assert open_fds() == before

    irun(main())


@integration
@pytest.mark.podman
def test_exec_run_tty_input_ends_with_the_terminal_eof_and_the_wait_is_bounded(docker_host, docker_cleanup,
                                                                              test_image):
    async def main():
        async with AsyncClient(docker_host, timeout=60) as c:
            cid = await start(c, docker_cleanup, test_image, ["sleep", "600"])
            # A pty reads a half-close as nothing: Ctrl-D on an empty line is the end of input.
            result = await c.exec_run(cid, ["sh", "-c", "read x; echo got $x"], input=b"hello\n", tty=True)
            assert result.exit_code == 0 and b"got hello" in result.stdout
            result = await c.exec_run(cid, ["cat"], input=b"no newline", tty=True)
            assert result.exit_code == 0 and b"no newline" in result.stdout
            # The exit code is polled at most wait_timeout seconds after the output ended.
            exec_id = await c.exec_create(cid, ["sleep", "5"])
            async with await c.exec_start(exec_id) as session:
                loop = asyncio.get_running_loop()
                began = loop.time()
                with pytest.raises(TimeoutError):
                    await session.wait(timeout=0.3)
                assert loop.time() - began < 5

    irun(main())


@integration
@pytest.mark.api(max="1.15")
def test_exec_run_at_1_15_returns_the_output_without_an_exit_code(docker_host, docker_cleanup, test_image):
    async def main():
        async with AsyncClient(docker_host) as setup:
            cid = await start(setup, docker_cleanup, test_image, ["sleep", "600"])
        async with AsyncClient(docker_host, version="1.15", timeout=60) as old:
            result = await old.exec_run(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert result == (None, b"out\n", b"err\n")

    irun(main())


@integration
@pytest.mark.podman
def test_cancelling_exec_run_closes_the_session_and_its_stdin_writer(docker_host, docker_cleanup, test_image):
    """A task cancelled in exec_run (reading output while a second task
    writes stdin) ends both: no task is left, no descriptor leaks, and the
    client keeps working."""
    async def main():
        async with AsyncClient(docker_host) as setup:
            cid = await start(setup, docker_cleanup, test_image, ["sleep", "600"])
        before = open_fds()
        c = AsyncClient(docker_host)
        # The command reads nothing: 8 MiB of stdin fill the pipes, so the
        # writer task waits too when the cancellation comes.
        existing = asyncio.all_tasks()
        task = asyncio.create_task(c.exec_run(cid, ["sleep", "600"], input=b"x" * (8 << 20)))
        await asyncio.sleep(1.0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        assert [t for t in asyncio.all_tasks() - existing if not t.done()] == []
        assert await c.ping() == "OK"
        await c.aclose()
        await asyncio.sleep(0.05)
        assert open_fds() == before

    irun(main())
