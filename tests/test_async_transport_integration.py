"""The asyncio transports against the real private daemon, on unix, TLS and
ssh: requests built by the sans-I/O Connection, an exec whose stdin is
half-closed while its output is read to EOF (TLS half-close on memory BIOs
included), cancellation of a pending read, and aclose() from another task.
File descriptors are counted around every close."""

import asyncio
import dataclasses
import hashlib
import json
import os

import pytest

from _daemon import docker_request_json
from protocol import (
    AsyncSSHTransport,
    AsyncTLSStream,
    AsyncTransport,
    ConnectionClosed,
    Connection,
    Data,
    EndOfMessage,
    Frame,
    ReadTimeout,
    Request,
    Response,
    ResponseKind,
    Stream,
    TLSConfig,
    TransportError,
    async_connect,
    parse_host,
)

pytestmark = pytest.mark.integration

#: How fast a cancelled or woken reader must return (the daemon is quiet,
#: so only the cancellation or the close can end the read).
WAKE_BOUND = 1.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def open_fds():
    return len(os.listdir("/proc/self/fd"))


# The private sshd relays to the system engine's socket (.ci/sshd), not the session's.
SSH_ENGINE = pytest.mark.engines("system")


@pytest.fixture(params=["unix", "tls", pytest.param("ssh", marks=SSH_ENGINE)])
def host(request, docker_host):
    if request.param == "unix":
        return parse_host(docker_host)
    if request.param == "tls":
        tls = request.getfixturevalue("docker_tls")
        return parse_host(tls.host, TLSConfig(ca_cert=str(tls.ca), client_cert=str(tls.cert),
                                              client_key=str(tls.key)))
    ssh = request.getfixturevalue("ssh_docker")
    return dataclasses.replace(parse_host(ssh.host), ssh_options=ssh.options)


@pytest.fixture(scope="module")
def declared_version(docker_host):
    status, body = docker_request_json(docker_host, "GET", "/version")
    assert status == 200
    return body["ApiVersion"]


async def exchange(t, conn, request):
    """Send ``request`` and read its whole answer: (head, body bytes)."""
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


def test_ping_and_version_on_one_connection(host, declared_version):
    async def main():
        t = await async_connect(host)
        assert isinstance(t, AsyncTransport)
        if host.tls is not None:
            assert isinstance(t, AsyncTLSStream)
        if host.scheme == "ssh":
            assert isinstance(t, AsyncSSHTransport)
        try:
            conn = Connection()
            head, body = await exchange(t, conn, Request("GET", "/_ping", kind=ResponseKind.TEXT))
            assert (head.status_code, body) == (200, b"OK")
            assert head.header("api-version").decode() == declared_version
            assert conn.reusable and t.is_clean_idle()
            # The same connection carries the next request (keep-alive).
            head, body = await exchange(t, conn, Request("GET", "/version", version=declared_version))
            assert head.status_code == 200
            assert json.loads(body)["ApiVersion"] == declared_version
            assert conn.reusable
        finally:
            await t.aclose()
            await t.aclose()  # idempotent
        if host.scheme == "ssh":
            assert t.returncode is not None  # reaped

    run(main())


@pytest.fixture
def sleeper(docker_host, docker_cleanup, test_image):
    """A running container to exec into."""
    status, body = docker_request_json(docker_host, "POST", "/containers/create", {
        "Image": test_image, "Cmd": ["sleep", "600"], "HostConfig": {"NetworkMode": "none"}})
    assert status == 201, body
    docker_cleanup.append(body["Id"])
    status, _ = docker_request_json(docker_host, "POST", f"/containers/{body['Id']}/start")
    assert status == 204
    return body["Id"]


async def start_exec(t, conn, version, cid, cmd):
    """Create an exec over ``t`` and start it with a hijack; return its id
    and the events that came with the 101 head."""
    head, body = await exchange(t, conn, Request(
        "POST", "/containers/{id}/exec", params={"id": cid}, version=version,
        json={"AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Cmd": cmd}))
    assert head.status_code == 201, body
    exec_id = json.loads(body)["Id"]
    await t.write(conn.send_request(Request(
        "POST", "/exec/{id}/start", params={"id": exec_id}, version=version,
        json={"Detach": False, "Tty": False}, kind=ResponseKind.HIJACK, tty=False)))
    early = []
    while True:
        data = await t.read()
        assert data, "EOF before the hijack answer"
        events = conn.receive_data(data)
        heads = [ev for ev in events if isinstance(ev, Response)]
        early += [ev for ev in events if not isinstance(ev, Response)]
        if heads:
            assert heads[0].status_code == 101, heads[0]
            return exec_id, early


def test_exec_stdin_half_close_output_to_eof(host, declared_version, sleeper, docker_host):
    data = os.urandom(2 * 1024 * 1024)

    async def main():
        t = await async_connect(host)
        try:
            conn = Connection()
            exec_id, events = await start_exec(t, conn, declared_version, sleeper,
                                               ["sh", "-c", "cat; echo after-eof >&2"])

            async def feed():
                # cat echoes while we write: reads and writes run at once on
                # one connection (on TLS: one SSL object, two tasks).
                for i in range(0, len(data), 100_000):
                    await t.write(conn.send_data(data[i:i + 100_000]))
                conn.send_eof()
                await t.shutdown_write()  # TLS: close_notify, without waiting for the daemon's

            writer = asyncio.create_task(feed())
            while not any(isinstance(ev, ConnectionClosed) for ev in events):
                chunk = await t.read()
                events += conn.receive_data(chunk)  # b"" at EOF gives ConnectionClosed
            await writer
        finally:
            await t.aclose()
        return exec_id, events

    exec_id, events = run(main())
    frames = [ev for ev in events if isinstance(ev, Frame)]
    out = b"".join(f.data for f in frames if f.stream is Stream.STDOUT)
    err = b"".join(f.data for f in frames if f.stream is Stream.STDERR)
    assert hashlib.sha256(out).hexdigest() == hashlib.sha256(data).hexdigest()
    assert err == b"after-eof\n"  # written after cat saw EOF: the half-close arrived
    status, info = docker_request_json(docker_host, "GET", f"/exec/{exec_id}/json")
    assert status == 200 and info["ExitCode"] == 0 and not info["Running"]


#: An /events filter no event matches: the stream stays quiet.
NOTHING = {"type": ["plugin"], "event": ["nothing-ever"]}


async def quiet_stream(host, version, filters=NOTHING):
    """A connection whose answer (a /events stream) has begun and then
    stays quiet: the next read waits."""
    t = await async_connect(host)
    conn = Connection()
    await t.write(conn.send_request(Request(
        "GET", "/events", version=version, kind=ResponseKind.JSON_STREAM,
        query={"filters": filters})))
    while True:
        data = await t.read()
        assert data, "EOF before the events head"
        if any(isinstance(ev, Response) and ev.status_code == 200 for ev in conn.receive_data(data)):
            return t


def test_cancelling_a_pending_read_closes_at_once(host, declared_version):
    async def main():
        before = open_fds()
        t = await quiet_stream(host, declared_version)
        assert open_fds() > before
        reader = asyncio.create_task(t.read())
        await asyncio.sleep(0.2)
        assert not reader.done()  # waiting on a quiet connection
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert loop.time() - started < WAKE_BOUND
        assert t.closed
        # Counted before anyone calls aclose(): the cancellation itself
        # released the socket (and, for ssh, ended the process).
        assert open_fds() == before
        if isinstance(t, AsyncSSHTransport):
            async with asyncio.timeout(5):
                while t.returncode is None:
                    await asyncio.sleep(0.01)
        assert await t.read() == b""
        with pytest.raises(TransportError):
            await t.write(b"GET /_ping HTTP/1.1\r\n\r\n")
        await t.aclose()
        assert open_fds() == before

    run(main())


def test_aclose_from_another_task_wakes_a_pending_read(host, declared_version):
    async def main():
        before = open_fds()
        t = await quiet_stream(host, declared_version)
        reader = asyncio.create_task(t.read())
        await asyncio.sleep(0.2)
        assert not reader.done()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await t.aclose()
        assert len(await asyncio.wait_for(reader, WAKE_BOUND)) == 0  # woken with the end
        assert loop.time() - started < WAKE_BOUND
        assert open_fds() == before
        if isinstance(t, AsyncSSHTransport):
            assert t.returncode is not None  # aclose reaped it

    run(main())


def test_read_timeout_keeps_the_connection(host, declared_version, docker_host, docker_cleanup, test_image):
    label = f"protocol-async-test={os.urandom(6).hex()}"  # only our container's event

    async def main():
        t = await quiet_stream(host, declared_version,
                               {"type": ["container"], "event": ["create"], "label": [label]})
        try:
            t.settimeout(0.3)
            with pytest.raises(ReadTimeout):
                await t.read()
            # Still usable, nothing lost: a container is created now and its
            # event arrives on the same connection.
            t.settimeout(30)
            key, value = label.split("=")
            status, body = await asyncio.to_thread(
                docker_request_json, docker_host, "POST", "/containers/create",
                {"Image": test_image, "Labels": {key: value}, "HostConfig": {"NetworkMode": "none"}})
            assert status == 201, body
            docker_cleanup.append(body["Id"])
            data = await t.read()
            assert body["Id"].encode() in bytes(data)
        finally:
            await t.aclose()

    run(main())


def test_tls_client_certificate_is_required(docker_tls):
    async def main():
        bare = parse_host(docker_tls.host, TLSConfig(ca_cert=str(docker_tls.ca)))
        with pytest.raises(TransportError):
            t = await async_connect(bare)
            try:
                # TLS 1.3: the daemon refuses the missing certificate after
                # the client's side of the handshake is done.
                await exchange(t, Connection(), Request("GET", "/_ping", kind=ResponseKind.TEXT))
            finally:
                await t.aclose()

    run(main())


@SSH_ENGINE
def test_ssh_failure_carries_ssh_stderr(ssh_docker):
    async def main():
        host = dataclasses.replace(parse_host(ssh_docker.host), user="no-such-user-here",
                                   ssh_options=ssh_docker.options)
        before = open_fds()
        t = await async_connect(host)
        try:
            with pytest.raises(TransportError) as info:
                await exchange(t, Connection(), Request("GET", "/_ping", kind=ResponseKind.TEXT))
        finally:
            await t.aclose()
        assert open_fds() == before
        return str(info.value)

    message = run(main())
    assert "ssh exited with status 255" in message
    assert "Permission denied" in message


def test_readme_async_example(docker_host, monkeypatch):
    from test_readme import block_with, inline_expectations, run_block

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    block = block_with("protocol.async_connect(host)")
    printed, expected = run_block(block), inline_expectations(block)
    assert printed == expected == ["b'OK'"]
