"""AsyncSocketStream against local peers (socketpairs and a unix server of
the test): the contract's edges that need no daemon."""

import asyncio
import socket

import pytest

from protocol import AsyncSocketStream, AsyncSSHTransport, AsyncTransport, ReadTimeout, TransportError


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return await AsyncSocketStream.from_socket(a), await AsyncSocketStream.from_socket(b)


def test_socketpair_moves_bytes_and_half_closes():
    async def main():
        a, b = await pair()
        assert isinstance(a, AsyncTransport)
        await a.write(b"ping")
        assert await b.read() == b"ping"
        await a.shutdown_write()
        assert await b.read() == b""  # EOF for b...
        await b.write(b"pong")  # ...which still answers
        assert await a.read() == b"pong"
        assert a.written == 4
        a.reset_written()
        assert a.written == 0
        with pytest.raises(TransportError, match="shut down"):
            await a.write(b"more")
        await a.aclose()
        await b.aclose()

    run(main())


def test_write_to_a_closed_peer_raises():
    # asyncio's transport.write() swallows EPIPE and closes the transport;
    # the stream must still raise, never return as if the bytes were sent.
    async def main():
        a, b = await pair()
        await b.aclose()
        assert await a.read() == b""
        with pytest.raises(TransportError, match="write failed"):
            for _ in range(3):  # the first send may still be accepted by the kernel
                await a.write(b"x" * 65536)
        await a.aclose()

    run(main())


def test_large_write_returns_when_the_kernel_took_it_all():
    async def main():
        a, b = await pair()
        data = bytes(range(256)) * 16384  # 4 MiB: more than the socket buffers hold
        writer = asyncio.create_task(a.write(data))
        await asyncio.sleep(0.05)
        assert not writer.done()  # waits for the reader, nothing is dropped
        got = bytearray()
        while len(got) < len(data):
            got += await b.read()
        await writer
        assert bytes(got) == data and a.written == len(data)
        await a.aclose()
        await b.aclose()

    run(main())


def test_unread_bytes_are_bounded_and_nothing_is_lost():
    async def main():
        a, b = await pair()
        data = b"y" * (3 * 1024 * 1024)
        writer = asyncio.create_task(a.write(data))
        await asyncio.sleep(0.1)
        # The reader stopped taking bytes from the kernel at its bound, so
        # the writer still waits: memory is bounded by flow control.
        assert not writer.done()
        got = 0
        while got < len(data):
            got += len(await b.read())
        await writer
        await a.aclose()
        await b.aclose()

    run(main())


def test_read_timeout_then_data():
    async def main():
        a, b = await pair()
        a.settimeout(0.05)
        with pytest.raises(ReadTimeout):
            await a.read()
        await b.write(b"late")
        assert await a.read() == b"late"
        await a.aclose()
        await b.aclose()

    run(main())


def test_missing_ssh_program_is_a_clear_error():
    async def main():
        with pytest.raises(TransportError, match="was not found"):
            await AsyncSSHTransport.start(["/nonexistent/ssh", "-T", "--", "h", "docker", "system", "dial-stdio"])

    run(main())
