"""ssh:// for real: the system ssh program, a private sshd on loopback, and
the remote docker CLI's ``system dial-stdio`` relaying to the private daemon,
on both drivers (``make_client``)."""

import os
import time

import pytest

import protocol
from protocol import AsyncSSHTransport, SSHTransport, StreamClosed, TransportError, parse_host, ssh_command

from _drivers import api_version

# The private sshd relays to the system engine's socket (.ci/sshd), not the session's.
pytestmark = [pytest.mark.integration, pytest.mark.engines("system")]


def test_argv_is_the_docker_clis():
    h = parse_host("ssh://me@example.com:2222/run/docker.sock")
    argv = ssh_command(h.address, user=h.user, port=h.port, socket_path=h.path,
                       options=["-F", "cfg"], connect_timeout=30)
    assert argv == ["ssh", "-o", "ConnectTimeout=30", "-T", "-F", "cfg", "-l", "me", "-p", "2222",
                    "--", "example.com", "docker", "--host", "unix:///run/docker.sock",
                    "system", "dial-stdio"]
    assert ssh_command("h", connect_timeout=None) == ["ssh", "-T", "--", "h", "docker", "system", "dial-stdio"]


@pytest.fixture
def ssh_client(make_client, ssh_docker, twin):
    with make_client(ssh_docker.host, ssh_options=ssh_docker.options, stream_impl=twin) as c:
        yield c


@pytest.fixture
def spawned(monkeypatch, driver):
    """Every SSHTransport (AsyncSSHTransport on the async driver) started
    during the test (so: every ssh process)."""
    made = []
    cls = SSHTransport if driver == "sync" else AsyncSSHTransport
    original = cls.__init__

    def counting(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(cls, "__init__", counting)
    return made


def running(transport) -> bool:
    """Whether the ssh process of a transport of either driver still runs."""
    if isinstance(transport, SSHTransport):
        return transport.process.poll() is None
    return transport.returncode is None


def test_ping_and_negotiation(make_client, ssh_client, docker_host):
    assert ssh_client.ping() == "OK"
    with make_client(docker_host) as direct:
        assert api_version(ssh_client) == api_version(direct)  # what the daemon declares
        assert ssh_client.version()["ApiVersion"] == direct.version()["ApiVersion"]


def test_pool_reuses_the_ssh_process(ssh_client, spawned):
    ssh_client.ping()
    assert len(spawned) == 1
    first = spawned[0].pid
    started = time.perf_counter()
    for _ in range(5):
        ssh_client.info()
    again = time.perf_counter() - started
    assert len(spawned) == 1, "a pooled request started a new ssh process"
    assert [s.pid for s, _ in ssh_client._pool._idle] == [first]
    assert running(spawned[0])  # still running, kept for the next request
    assert again < 5.0


def _container(client, image, cleanup, cmd):
    cid = client.create_container(image, cmd, HostConfig={"NetworkMode": "none"})["Id"]
    cleanup.append(cid)
    client.start_container(cid)
    return cid


def test_logs_over_ssh(ssh_client, test_image, docker_cleanup):
    cid = _container(ssh_client, test_image, docker_cleanup,
                     ["sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"])
    ssh_client.wait_container(cid)
    out, err = [], []
    for item in ssh_client.logs(cid):
        (out if item.stream is protocol.Stream.STDOUT else err).append(item.data)
    assert b"".join(out) == b"".join(b"o%d\n" % i for i in range(3000))
    assert b"".join(err) == b"".join(b"e%d\n" % i for i in range(3000))


def test_exec_with_half_close_over_ssh(ssh_client, test_image, docker_cleanup):
    cid = _container(ssh_client, test_image, docker_cleanup, ["sleep", "600"])
    # sort only answers after EOF on stdin: the half-close must cross ssh
    # and dial-stdio while the output direction stays open.
    with ssh_client.exec_stream(cid, ["sort"], stdin=True) as session:
        session.write(b"b\nc\na\n")
        session.close_stdin()
        assert b"".join(f.data for f in session) == b"a\nb\nc\n"
        assert session.wait() == 0
    data = os.urandom(2 * 1024 * 1024)
    result = ssh_client.exec_run(cid, ["cat"], input=data, max_output=None)
    assert result.exit_code == 0 and result.stdout == data


def test_ssh_failure_carries_stderr(make_client, ssh_docker):
    host = parse_host(ssh_docker.host)
    with make_client(f"ssh://nobody-here@127.0.0.1:{host.port}", ssh_options=ssh_docker.options) as c:
        with pytest.raises(TransportError, match="Permission denied") as info:
            c.ping()
    assert "exited with status 255" in str(info.value)


def test_remote_without_docker_cli_is_reported(make_client, ssh_docker):
    # A remote socket path that does not exist: dial-stdio fails on the far
    # side, and its message comes back through ssh's stderr.
    with make_client(ssh_docker.host + "/nonexistent/docker.sock", ssh_options=ssh_docker.options) as c:
        with pytest.raises(TransportError) as info:
            c.ping()
    assert "nonexistent" in str(info.value)


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def _children():
    """Our child processes, zombies included."""
    me = str(os.getpid())
    kids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            kids.append((int(pid), fields[0]))
    return kids


def test_close_reaps_every_ssh_process_and_fd(make_client, ssh_docker, spawned):
    before_fds, before_kids = _open_fds(), _children()
    with make_client(ssh_docker.host, ssh_options=ssh_docker.options, pool_size=4) as c:
        # Streams held open at once need a connection (a process) each.
        streams = [c.events() for _ in range(3)]
        c.ping()
        assert len(spawned) == 4
        for s in streams:  # closed while open: each process is ended at once
            s.close()
        ended = [not running(t) for t in spawned]
        assert ended.count(True) == 3  # the ping's connection is idle in the pool
    # The client's close ends the pooled one.
    assert not any(running(t) for t in spawned)
    time.sleep(0.1)
    assert _children() == before_kids, "zombie or leftover ssh process"
    assert _open_fds() == before_fds


def test_close_from_another_thread_wakes_an_ssh_reader(ssh_client):
    import threading

    resp = ssh_client.events()  # never ends by itself
    outcome = []

    def read():
        try:
            for _ in resp:
                pass
            outcome.append("ended")
        except StreamClosed as exc:
            outcome.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    time.sleep(0.3)
    assert t.is_alive()
    started = time.monotonic()
    resp.close()
    t.join(3)
    assert not t.is_alive() and time.monotonic() - started < 1.0
    assert isinstance(outcome[0], StreamClosed)


def test_docker_host_from_the_environment(make_client, ssh_docker, tmp_path):
    env = {"DOCKER_HOST": ssh_docker.host, "DOCKER_CONFIG": str(tmp_path)}
    with make_client(environ=env, ssh_options=ssh_docker.options) as c:
        assert c.host.scheme == "ssh" and c.context == "default"
        assert c.ping() == "OK"
