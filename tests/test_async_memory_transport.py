"""The asyncio transport interface and the async in-memory pair, with a
scripted daemon as a task on the other end: no socket, no daemon."""

import asyncio
import json

import pytest

from protocol import (
    AsyncMemoryTransport,
    AsyncSocketStream,
    AsyncSSHTransport,
    AsyncTLSStream,
    AsyncTransport,
    Connection,
    Data,
    EndOfMessage,
    MemoryTransport,
    ReadTimeout,
    Request,
    Response,
    ResponseKind,
    Transport,
    TransportError,
    async_connect,
    async_memory_pair,
    memory_pair,
    parse_host,
)

#: How fast a woken or cancelled reader must return (nothing else can end it).
WAKE_BOUND = 1.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_the_interfaces_tell_sync_and_async_apart():
    a, _ = async_memory_pair()
    s, _ = memory_pair()
    assert isinstance(a, AsyncTransport) and not isinstance(a, Transport)
    assert isinstance(s, Transport) and not isinstance(s, AsyncTransport)
    for cls in (AsyncSocketStream, AsyncTLSStream, AsyncSSHTransport, AsyncMemoryTransport):
        for name in ("read", "write", "shutdown_write", "aclose"):
            assert asyncio.iscoroutinefunction(getattr(cls, name)), (cls, name)


def test_pair_moves_bytes_both_ways_and_half_closes():
    async def main():
        a, b = async_memory_pair()
        await a.write(b"hello")
        assert await b.read() == b"hello"
        await b.write(b"back")
        await a.shutdown_write()
        assert await a.read() == b"back"
        assert await b.read() == b""  # a's half-close is b's EOF...
        await b.write(b"still")  # ...and b can still answer
        assert await a.read() == b"still"
        with pytest.raises(TransportError):
            await a.write(b"after shutdown")
        await b.aclose()
        await b.aclose()  # idempotent
        assert await a.read() == b""
        with pytest.raises(TransportError):
            await a.write(b"to a closed peer")
        assert a.written == 5

    run(main())


def test_aclose_from_another_task_wakes_a_pending_read():
    async def main():
        a, _b = async_memory_pair()
        reader = asyncio.create_task(a.read())
        await asyncio.sleep(0.05)
        assert not reader.done()  # pending: nothing was written
        loop = asyncio.get_running_loop()
        started = loop.time()
        await a.aclose()
        assert await asyncio.wait_for(reader, WAKE_BOUND) == b""
        assert loop.time() - started < WAKE_BOUND

    run(main())


def test_cancelled_read_closes_the_end():
    async def main():
        a, b = async_memory_pair()
        reader = asyncio.create_task(a.read())
        await asyncio.sleep(0.01)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert a.closed
        assert await b.read() == b""  # the peer sees the end at once
        with pytest.raises(TransportError):
            await b.write(b"nobody reads this")

    run(main())


def test_writer_waits_for_room_and_memory_stays_bounded():
    async def main():
        a, b = async_memory_pair(limit=4)
        writer = asyncio.create_task(a.write(b"0123456789"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not writer.done()  # 4 bytes in the pipe, the rest waits
        got = b""
        while len(got) < 10:
            got += await b.read()
        await writer
        assert got == b"0123456789"

    run(main())


def test_cancelled_write_closes_the_end():
    async def main():
        a, b = async_memory_pair(limit=4)
        writer = asyncio.create_task(a.write(b"0123456789"))
        await asyncio.sleep(0.01)
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        assert a.closed
        assert await b.read() == b"0123"  # what was in the pipe, then the end
        assert await b.read() == b""

    run(main())


def test_read_timeout_is_a_transport_error_and_loses_nothing():
    async def main():
        a, b = async_memory_pair()
        a.settimeout(0.05)
        with pytest.raises(ReadTimeout) as info:
            await a.read()
        assert isinstance(info.value, TransportError) and isinstance(info.value, TimeoutError)
        assert info.value.timeout == 0.05
        await b.write(b"late")
        assert await a.read() == b"late"  # still usable
        a.settimeout(None)

    run(main())


async def fake_daemon(end):
    """Answers two requests on one keep-alive connection, as dockerd would."""
    chunks = [b'{"ApiVersion":"1.', b'43"}\n']
    answers = [
        b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n",
    ]
    buf = b""
    for answer in answers:
        while b"\r\n\r\n" not in buf:
            data = await end.read()
            assert data, "the client hung up before its request was complete"
            buf += data
        head, _, buf = buf.partition(b"\r\n\r\n")
        for i in range(0, len(answer), 7):  # the answer in small pieces
            await end.write(answer[i:i + 7])
    assert await end.read() == b""  # the client half-closed
    await end.aclose()


async def exchange(t, conn, request):
    await t.write(conn.send_request(request))
    head, body = None, b""
    while True:
        data = await t.read()
        for ev in conn.receive_data(data):
            if isinstance(ev, Response):
                head = ev
            elif isinstance(ev, Data):
                body += ev.data
            elif isinstance(ev, EndOfMessage):
                return head, body
        assert data, "EOF before the end of the answer"


def test_sans_io_connection_over_the_pair():
    async def main():
        client, daemon = async_memory_pair()
        server = asyncio.create_task(fake_daemon(daemon))
        conn = Connection()
        head, body = await exchange(client, conn, Request("GET", "/_ping", kind=ResponseKind.TEXT))
        assert (head.status_code, body, head.header("api-version")) == (200, b"OK", b"1.43")
        assert conn.reusable and client.is_clean_idle()
        head, body = await exchange(client, conn, Request("GET", "/version", version="1.43"))
        assert json.loads(body) == {"ApiVersion": "1.43"}
        assert conn.reusable
        await client.shutdown_write()
        await server
        assert not client.is_clean_idle()  # the daemon's EOF is waiting
        assert await client.read() == b""
        await client.aclose()

    run(main())


def test_async_connect_errors_are_transport_errors(tmp_path):
    async def main():
        with pytest.raises(TransportError, match="cannot connect to the Docker daemon at unix://"):
            await async_connect(parse_host(f"unix://{tmp_path}/nothing.sock"))
        with pytest.raises(TransportError, match="cannot connect"):
            await async_connect(parse_host("tcp://127.0.0.1:1"))  # port 1: nothing listens

    run(main())
