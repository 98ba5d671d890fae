"""Stopping a stream from another thread, against the real daemon, on every
built-in transport and both drivers: ``close()`` wakes a reader blocked in
``recv`` (on a quiet ``logs(follow=True)``, ``events()`` and an exec
session), the reader gets :class:`StreamClosed` within a bound, and nothing
leaks.  On the async driver the reader is a task awaiting the next item and
the close is ``aclose()`` from another task (the bridge of ``make_client``)."""

import os
import threading
import time

import pytest

from protocol import StreamClosed, TLSConfig

pytestmark = pytest.mark.integration

#: How fast a blocked reader must return after close() (the daemon is
#: quiet, so only the wake-up can end the read).
WAKE_BOUND = 1.0


@pytest.fixture(params=["unix", "tls", "ssh"])
def client(request, docker_host, make_client):
    if request.param == "unix":
        c = make_client(docker_host)
    elif request.param == "tls":
        tls = request.getfixturevalue("docker_tls")
        c = make_client(tls.host, tls=TLSConfig(ca_cert=tls.ca, client_cert=tls.cert, client_key=tls.key))
    else:
        ssh = request.getfixturevalue("ssh_docker")
        c = make_client(ssh.host, ssh_options=ssh.options)
    with c:
        yield c


@pytest.fixture
def quiet(client, docker_cleanup, test_image):
    """A running container that printed one line and then stays silent."""
    cid = client.create_container(test_image, ["sh", "-c", "echo ready; exec sleep 600"],
                                  HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    return cid


def stop_blocked_reader(stream, consume, first_item):
    """Start ``consume`` in a thread, wait for its first item, close ``stream``
    from here, and return what the reader ended with."""
    outcome = []
    got_first = threading.Event()

    def run():
        try:
            consume(got_first)
            outcome.append("ended normally")
        except BaseException as exc:  # noqa: BLE001 - the outcome is what we check
            outcome.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert got_first.wait(30), "the stream's first item never came"
    time.sleep(0.2)  # the reader is now blocked on a quiet connection
    assert t.is_alive()
    started = time.monotonic()
    stream.close()
    t.join(10)
    took = time.monotonic() - started
    assert not t.is_alive(), "close() did not wake the reader"
    assert took < WAKE_BOUND, f"the reader took {took:.2f}s to return"
    assert len(outcome) == 1 and isinstance(outcome[0], StreamClosed), outcome
    return outcome[0]


def test_logs_follow(client, quiet):
    fds = len(os.listdir("/proc/self/fd"))
    resp = client.logs(quiet, follow=True)

    def consume(got_first):
        for item in resp:
            assert item.data == b"ready\n"
            got_first.set()

    stop_blocked_reader(resp, consume, b"ready\n")
    assert resp.closed
    assert len(os.listdir("/proc/self/fd")) <= fds + 1  # at most a pooled idle connection


def test_events(client, quiet, docker_host):
    resp = client.events()

    def consume(got_first):
        got_first.set()  # events() has its head: the stream is open and quiet
        for _ in resp:
            pass

    stop_blocked_reader(resp, consume, None)
    # The client still works on other connections afterwards.
    assert client.ping() == "OK"


def test_exec_session(client, quiet):
    session = client.exec_stream(quiet, ["sh", "-c", "echo started; exec sleep 600"])

    def consume(got_first):
        for item in session:
            assert item.data == b"started\n"
            got_first.set()

    stop_blocked_reader(session, consume, b"started\n")
    with pytest.raises(StreamClosed):
        list(session)
