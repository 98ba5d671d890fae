"""The asyncio driver at scale and under cancellation, against the real
private daemon: many ``logs(follow=True)`` streams on one event loop, each
getting exactly its container's lines, with no thread used for I/O and no
file descriptor left behind; a task cancelled while it waits on a follow
stream, on ``events()`` or on a session closes its connection at once (the
daemon's end of the socket goes away too) and the client keeps working;
negotiation happens once when many tasks make their first request together.

File descriptors are counted in /proc/self/fd; the daemon's end of a
connection is found with ``ss -x`` (the peer inode of our socket) and
watched in /proc/net/unix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from _daemon import docker_request, docker_request_json
from protocol import AsyncClient, Frame, Stream, async_connect, parse_host

pytestmark = pytest.mark.integration

#: How fast a cancelled task must have closed its connection, and the
#: daemon its end (nothing else ends these waits: the streams are quiet).
CLOSE_BOUND = 2.0

#: 200 streams over this many containers.  A container costs the daemon a
#: containerd shim and about half a second of a core to create and start:
#: 200 of them would take minutes on the 2-core CI machine, so each
#: container here is followed by 200 / CONTAINERS streams at once, and each
#: stream must still get exactly its own container's lines.
CONTAINERS = 20
STREAMS = 200
LINES = 40  # per container, on stdout and on stderr each

# The scale test's containers wait for SIGUSR1 before printing: every stream
# is open (its response head read) before the first line exists, so the
# lines are delivered live to 200 followers, not replayed from the log file.
# The lines are numbered and tagged with the container, so a line lost,
# repeated, reordered or delivered to the wrong stream is seen.  The
# container lives a second after its last line: with more followers than
# inotify instances (128 by default) dockerd 20.10 follows the log file by
# polling, and a container that exits right after writing loses its last
# lines to some followers (seen with a raw-socket client too, never with a
# second's grace); the follow streams still end when the container does.
WAIT_THEN_PRINT = (
    'trap "go=1" USR1; while [ -z "$go" ]; do sleep 0.05; done; '
    'i=1; while [ $i -le {lines} ]; do echo "$TAG out $i"; echo "$TAG err $i" >&2; '
    'i=$((i+1)); sleep 0.02; done; sleep 1'
)


def run(coro, timeout=180):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def socket_inodes():
    """Inodes of this process's sockets."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed while listing (the listing's own descriptor)
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            found.add(int(m.group(1)))
    return found


def unix_socket_inodes():
    """Inodes of every unix socket on this network namespace (the daemon's included)."""
    with open("/proc/net/unix") as f:
        next(f)
        return {int(line.split()[6]) for line in f if len(line.split()) > 6}


def peer_inode(inode):
    """The inode of the other end of our connected unix socket ``inode``."""
    out = subprocess.run(["ss", "-xn"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        # Netid State Recv-Q Send-Q Local-Address Local-Port Peer-Address Peer-Port
        if len(fields) >= 8 and fields[5] == str(inode):
            return int(fields[7])
    raise AssertionError(f"socket {inode} not listed by ss -x")


class NoExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor: any use (a blocking call pushed to a
    thread) is recorded and fails the caller."""

    def __init__(self):
        super().__init__(max_workers=1)
        self.used = []

    def submit(self, fn, /, *args, **kwargs):
        self.used.append(getattr(fn, "__qualname__", repr(fn)))
        raise AssertionError(f"the default executor was used for {fn!r}")


def create(docker_host, cleanup, image, cmd, env=(), **config):
    status, body = docker_request_json(docker_host, "POST", "/containers/create", {
        "Image": image, "Cmd": cmd, "Env": list(env), "HostConfig": {"NetworkMode": "none"}, **config,
    })
    assert status == 201, body
    cleanup.append(body["Id"])
    return body["Id"]


def start(docker_host, cid):
    status, body = docker_request(docker_host, "POST", f"/containers/{cid}/start")
    assert status == 204, body


@pytest.fixture(scope="module")
def declared_version(docker_host):
    status, body = docker_request_json(docker_host, "GET", "/version")
    assert status == 200
    return body["ApiVersion"]


# -- 200 follow streams on one loop ---------------------------------------


# The driver's behaviour under load is the client's, not the engine's: run
# on the system engine only, so the other engines' runs stay short.
@pytest.mark.engines("system")
def test_200_follow_streams_on_one_loop_each_get_exactly_their_lines(docker_host, docker_cleanup, test_image):
    script = WAIT_THEN_PRINT.format(lines=LINES)
    cids = []
    for k in range(CONTAINERS):
        cid = create(docker_host, docker_cleanup, test_image, ["sh", "-c", script], env=[f"TAG=c{k}"])
        start(docker_host, cid)
        cids.append(cid)
    expected = {
        k: ("".join(f"c{k} out {i}\n" for i in range(1, LINES + 1)).encode(),
            "".join(f"c{k} err {i}\n" for i in range(1, LINES + 1)).encode())
        for k in range(CONTAINERS)
    }

    async def main():
        loop = asyncio.get_running_loop()
        executor = NoExecutor()
        loop.set_default_executor(executor)
        threads = threading.active_count()
        fds = open_fds()
        client = AsyncClient(docker_host)
        got = {s: ([], []) for s in range(STREAMS)}
        first_line_at = {}

        async def follow(s, resp):
            out, err = got[s]
            async with resp:
                async for item in resp:
                    assert isinstance(item, Frame), f"stream {s}: {item!r}"
                    first_line_at.setdefault(s, loop.time())
                    (out if item.stream == Stream.STDOUT else err).append(item.data)

        # Every stream's head is read before any container prints.
        responses = await asyncio.gather(*(
            client.logs(cids[s % CONTAINERS], follow=True) for s in range(STREAMS)))
        assert open_fds() >= fds + STREAMS  # 200 connections open together
        assert threading.active_count() == threads
        readers = [asyncio.create_task(follow(s, resp)) for s, resp in enumerate(responses)]
        await asyncio.sleep(0.2)
        assert not first_line_at  # nobody printed yet: the lines below are live
        triggered = loop.time()
        for cid in cids:
            await client.call("containers.kill", id=cid, signal="USR1")
        await asyncio.gather(*readers)
        assert threading.active_count() == threads
        for s in range(STREAMS):
            k = s % CONTAINERS
            out, err = got[s]
            assert (b"".join(out), b"".join(err)) == expected[k], f"stream {s} (container c{k})"
            assert first_line_at[s] >= triggered
        for resp in responses:
            assert resp.transport is None  # let go of (here: pooled or closed) at the end
        await client.aclose()
        assert open_fds() == fds
        assert threading.active_count() == threads
        assert executor.used == []

    run(main())


# -- cancellation ------------------------------------------------------------


@pytest.fixture
def quiet(docker_host, docker_cleanup, test_image):
    """A running container that prints nothing."""
    cid = create(docker_host, docker_cleanup, test_image, ["sleep", "3600"])
    start(docker_host, cid)
    return cid


async def cancel_and_check(baseline, opened, wait, daemon_closes=True):
    """Cancel a task blocked in ``wait`` (a coroutine reading a quiet
    stream) and check that its connection is closed at once, and that no
    connection of the client stays open; with ``daemon_closes``, that the
    daemon closes its end too.

    ``baseline``: our sockets before the client existed; ``opened``: the
    stream's own socket inode."""
    daemon_end = peer_inode(opened)
    assert daemon_end in unix_socket_inodes()
    task = wait if isinstance(wait, asyncio.Task) else asyncio.create_task(wait)
    await asyncio.sleep(0.3)
    assert not task.done()  # blocked: nothing arrives on these streams
    fds = open_fds()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Closed before the cancellation reached us, not by a later cleanup;
    # and nothing of it went back to the pool (a pooled connection would
    # keep its descriptor).
    assert opened not in socket_inodes()
    assert open_fds() == fds - 1
    assert socket_inodes() - baseline == set()
    if not daemon_closes:
        return
    # The daemon saw the close and let go of its end.
    deadline = time.monotonic() + CLOSE_BOUND
    while daemon_end in unix_socket_inodes():
        assert time.monotonic() < deadline, "the daemon kept its end of the cancelled connection"
        await asyncio.sleep(0.02)


async def first_item(stream):
    async for item in stream:
        return item
    return None


def only_new_socket(baseline):
    new = socket_inodes() - baseline
    assert len(new) == 1, new  # the stream's connection, and no other
    return new.pop()


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_cancelling_logs_follow_events_and_a_session_closes_their_connection(
        docker_host, declared_version, quiet):
    async def main():
        fds = open_fds()
        baseline = socket_inodes()

        def new_client():
            # The version is pinned and tty given: the only request of each
            # stream is its own (no negotiation, no TTY lookup), so the
            # client's one socket is the stream's.
            return AsyncClient(docker_host, version=declared_version)

        async def works_on(client):
            # The same client goes on: a request, and a stream read to its end.
            assert await client.ping() == "OK"
            async with await client.logs(quiet, tty=False) as done:
                assert [item async for item in done] == []

        # logs(follow=True), iterated per item.
        async with new_client() as client:
            resp = await client.logs(quiet, follow=True, tty=False)
            await cancel_and_check(baseline, only_new_socket(baseline), first_item(resp))
            assert resp.transport is None
            await works_on(client)
        assert socket_inodes() - baseline == set()

        # logs_into(follow=True): the sink form, cancelled while it waits.
        async with new_client() as client:
            sink = asyncio.create_task(client.logs_into(quiet, devnull, devnull, follow=True, tty=False))
            await asyncio.sleep(0.3)  # connected and waiting
            await cancel_and_check(baseline, only_new_socket(baseline), sink)
            await works_on(client)

        # events(), filtered to a label nobody uses: a quiet stream.
        async with new_client() as client:
            label = f"protocol.test.quiet={uuid.uuid4().hex}"
            events = await client.events(filters={"label": [label]})
            await cancel_and_check(baseline, only_new_socket(baseline), first_item(events))
            assert events.transport is None
            await works_on(client)

        # A session on `cat` with stdin: the daemon sees our close as the end
        # of stdin, and cat exits (we never wrote nor half-closed).  (dockerd
        # 20.10 keeps its end of a hijacked socket after the exec ended, so
        # the exit, not that socket, is what shows it saw the close.)
        async with new_client() as client:
            session = await client.exec_stream(quiet, ["cat"], stdin=True)
            sock = only_new_socket(baseline)

            async def read_session():
                async for _ in session:
                    pass

            await cancel_and_check(baseline, sock, read_session(), daemon_closes=False)
            assert session.closed
            inspect = await client.inspect_exec(session.exec_id)
            for _ in range(int(CLOSE_BOUND / 0.05)):
                if not inspect.running:
                    break
                await asyncio.sleep(0.05)
                inspect = await client.inspect_exec(session.exec_id)
            assert (inspect.running, inspect.exit_code) == (False, 0)
            await works_on(client)
        assert open_fds() == fds

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        run(main())
    finally:
        os.close(devnull)


# -- negotiation once --------------------------------------------------------


class Recording:
    """An AsyncTransport that passes everything on and notes each request line written."""

    def __init__(self, inner, lines):
        self._inner = inner
        self._lines = lines

    async def read(self):
        return await self._inner.read()

    async def write(self, data):
        # Request heads start a write; bodies never start with a method and a
        # space followed by "/" and end with " HTTP/1.1".
        m = re.match(rb"([A-Z]+) (/\S*) HTTP/1\.1\r\n", bytes(data[:2048]))
        if m:
            self._lines.append((m.group(1).decode(), m.group(2).decode()))
        await self._inner.write(data)

    async def shutdown_write(self):
        await self._inner.shutdown_write()

    async def aclose(self):
        await self._inner.aclose()

    def __getattr__(self, name):  # settimeout, is_clean_idle, written, ...
        return getattr(self._inner, name)


def test_negotiation_happens_once_when_50_tasks_start_together(docker_host, declared_version):
    host = parse_host(docker_host)

    async def first_requests(tasks):
        lines = []

        async def connect():
            return Recording(await async_connect(host), lines)

        async with AsyncClient(connect=connect, environ={}) as client:
            infos = await asyncio.gather(*(client.info() for _ in range(tasks)))
            assert len(infos) == tasks
        versioned = re.compile(r"/v\d+\.\d+/")
        unversioned = [line for line in lines if not versioned.match(line[1])]
        return unversioned, [line for line in lines if versioned.match(line[1])]

    async def main():
        # What one task's first request costs in negotiation requests ...
        alone, _ = await first_requests(1)
        assert alone and all(target.startswith(("/_ping", "/version")) for _, target in alone)
        # ... is what 50 together cost: the others wait for it.
        together, versioned = await first_requests(50)
        assert together == alone
        assert len(versioned) == 50
        # One version for all, and no newer than the daemon declares.
        (target,) = {target for _, target in versioned}
        used = re.match(r"/v(\d+)\.(\d+)/info$", target)
        assert used, target
        assert (int(used[1]), int(used[2])) <= tuple(int(x) for x in declared_version.split("."))

    run(main())
