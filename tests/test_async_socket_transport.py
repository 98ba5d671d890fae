"""AsyncSocketStream against local peers (socketpairs and a unix server of
the test): the contract's edges that need no daemon."""

import asyncio
import socket

import pytest

from protocol import AsyncSocketStream, AsyncSSHTransport, AsyncTransport, ReadTimeout, TransportError
from protocol._backends._async_socket import PAUSE_SIZE


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
        # More than the socket buffers and the reader's bound hold together.
        data = bytes(range(256)) * (3 * PAUSE_SIZE // 256)
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
        data = bytes(range(256)) * (3 * PAUSE_SIZE // 256)  # three times the bound
        writer = asyncio.create_task(a.write(data))
        await asyncio.sleep(0.2)
        # The reader stopped taking bytes from the kernel at its bound, so
        # the writer still waits: memory is bounded by flow control.
        assert not writer.done()
        held = b._proto.pending
        assert b._proto.paused and PAUSE_SIZE <= held < PAUSE_SIZE + 256 * 1024
        got = bytearray()
        while len(got) < len(data):
            got += await b.read()
        await writer
        assert bytes(got) == data
        await a.aclose()
        await b.aclose()

    run(main())


def test_a_fast_body_is_read_without_pausing_the_socket():
    # The event loop receives at most 256 KiB at a time: with a bound of that
    # size every read paused and resumed the socket (an epoll_ctl pair).
    # Below the bound the socket is never paused.
    async def main():
        a, b = await pair()
        pauses = 0
        pause = b._transport.pause_reading

        def counting_pause():
            nonlocal pauses
            pauses += 1
            pause()

        b._transport.pause_reading = counting_pause
        data = b"z" * (2 * 1024 * 1024)
        writer = asyncio.create_task(a.write(data))
        got = 0
        while got < len(data):
            while b._proto.pending < min(1024 * 1024, len(data) - got) and not b._proto.paused:
                await asyncio.sleep(0.001)  # let chunks pile up: more than 256 KiB
            got += len(await b.read())
        await writer
        assert got == len(data) and pauses == 0
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
