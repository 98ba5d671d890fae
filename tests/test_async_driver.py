"""The asyncio driver's I/O loop on the in-memory async transport: a scripted
daemon (a task of the test) on the other end, no socket, no daemon.

Covered: the exchange (keep-alive reuse, the retry rule, a fault after the
head), bodies (limits, ``received``), streams on both twins at every split
point, aclose() from another task, cancellation (the connection is gone and
never pooled), hijacked sessions (stdin, half-close, conversing while
reading), the sink form and the pool."""

import asyncio
import io
import struct

import pytest

from protocol import (
    ConnectionLost,
    Data,
    LocalProtocolError,
    MessageTooLarge,
    OutputLimitExceeded,
    RemoteProtocolError,
    Request,
    ResponseKind,
    Stream,
    StreamClosed,
    StreamError,
    TransportError,
    async_memory_pair,
)
from protocol._async._client import AsyncClient
from protocol._async._pool import AsyncPool
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
        resp = await client._open(ping())
        assert resp.status == 200 and resp.request.path == "/_ping"
        assert await client._read_body(resp) == b"OK"
        assert client._pool.idle == 1  # released: the cycle ended on keep-alive
        assert await client._read_body(await client._open(ping())) == b"again"
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
        assert await client._read_body(await client._open(ping())) == b"OK"
        assert await client._read_body(await client._open(ping())) == b"fresh"
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
        await client._read_body(await client._open(ping()))
        body = iter([b"tar", b"data"])
        post = Request("POST", "/build", body=body, content_type="application/x-tar", kind=ResponseKind.JSON_STREAM)
        with pytest.raises(ConnectionLost) as info:
            await client._open(post)
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
        assert await client._read_body(await client._open(post)) == b"{}"
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
            await client._open(ping())
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
        resp = await client._open(logs())
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
        resp = await client._open(ping())
        with pytest.raises(MessageTooLarge):
            await client._read_body(resp, -1)
        await server
        assert client._pool.idle == 0 and d.last_client_end.closed
        await client.aclose()

    run(main())


def test_chunked_body_over_an_explicit_limit_and_unbounded_read():
    async def main():
        d = Daemon()
        client = make_client(d)
        body = b"x" * 5000

        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        whole = head + chunked(body) + b"0\r\n\r\n"
        in_two = (head + chunked(body[:4500]), chunked(body[4500:]) + b"0\r\n\r\n")
        server = asyncio.create_task(serve(d, whole, in_two))
        assert await client._read_body(await client._open(ping()), None) == body
        with pytest.raises(MessageTooLarge):
            await client._read_body(await client._open(ping()), 4000)
        await server
        assert client._pool.idle == 0  # a body abandoned for its size is not reused
        server = asyncio.create_task(serve(d, whole))
        assert await client._read_body(await client._open(ping()), 5000) == body
        await server
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
        resp = await client._open(ping())
        with pytest.raises((RemoteProtocolError, TransportError)) as info:
            await client._read_body(resp)
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
            async with await client._open(logs()) as resp:
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


def test_typed_items_and_batches():
    parts = (STREAM_HEAD + chunked(frame(1, b"a"), frame(1, b"b")), chunked(frame(2, b"c")) + b"0\r\n\r\n")

    async def main():
        d = Daemon()
        client = make_client(d)
        server = asyncio.create_task(serve(d, parts, parts))
        resp = (await client._open(logs()))._typed(lambda f: f.data.upper())
        assert [x async for x in resp] == [b"A", b"B", b"C"]
        resp = await client._open(logs())  # the same connection, from the pool
        batches = [b async for b in resp.read_batches()]
        assert [[f.data for f in b if hasattr(f, "data")] for b in batches] == [[b"a", b"b"], [b"c"]]
        assert type(batches[-1][-1]).__name__ == "EndOfMessage"  # batches are untrimmed
        await server
        assert d.opened == 1
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
    resp = await client._open(logs(follow=True))
    return resp, await server


def test_aclose_from_another_task_wakes_the_reader():
    async def main():
        d = Daemon()
        client = make_client(d)
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
def test_cancelling_a_reader_closes_the_connection_at_once(how):
    async def main():
        d = Daemon()
        client = make_client(d)
        resp, end = await quiet_follow(d, client)

        async def reader():
            if how == "items":
                async for _ in resp:
                    pass
            elif how == "batches":
                async for _ in resp.read_batches():
                    pass
            else:
                await client._drain_into(resp, io.BytesIO(), io.BytesIO())

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
        task = asyncio.create_task(client._open(ping()))
        end = await server
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)  # the scheduled aclose() runs
        assert d.last_client_end.closed and client._pool.idle == 0
        await client.aclose()

    run(main())


def test_abandoned_iteration_closes_instead_of_pooling():
    async def main():
        d = Daemon()
        client = make_client(d)
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
        errors = await client._drain_into(await client._open(logs()), out, err)
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
    handle = await client._open(exec_start())
    end = await server
    session = client._start_session(handle, "e1", None, False)
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
        failure = await client._converse(session, big, True, collector)
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
            await client._converse(session, b"z" * (4 << 20), True, Collector(limit=100_000))
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
        failure = await client._converse(session, b"data", True, collector)
        await peer
        assert isinstance(failure, TransportError)
        assert bytes(collector.out) == b"hello\n"  # the output is still the caller's


def test_start_session_without_a_transport_is_an_error():
    async def main():
        d = Daemon()
        client = make_client(d)
        server = asyncio.create_task(serve(d, HIJACK_HEAD))
        handle = await client._open(exec_start())
        await server
        handle.detach()
        with pytest.raises(TransportError, match="right after the hijack"):
            client._start_session(handle, "e1", None, False)

    run(main())


# -- the pool ---------------------------------------------------------------------


def test_pool_skips_dirty_idle_connections_and_keeps_at_most_size():
    async def main():
        d = Daemon()
        pool = AsyncPool(None, size=1, connect=d.connect)
        a, reused = await pool.acquire()
        assert not reused
        b, _ = await pool.acquire()
        end_a, end_b = await d.accept(), await d.accept()
        await pool.release(a)
        await pool.release(b)  # over the size: closed
        assert pool.idle == 1 and b.closed and not a.closed
        await end_a.write(b"stray")  # bytes on an idle connection: never reused
        c, reused = await pool.acquire()
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
        assert await client._read_body(await client._open(ping())) == b"OK"
        assert await client._read_body(await client._open(ping())) == b"OK"  # kept alive
        await server
        with pytest.raises(TransportError, match="in use or was closed"):
            await client._open(ping())  # the daemon ended it; no second one to open
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
    resp = await client._open(pull())
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
        from protocol import Unauthorized
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
        resp = await client._open(pull())
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
