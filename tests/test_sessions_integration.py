"""Attach and exec sessions against the real daemon, on both stream twins and both drivers."""

import hashlib
import io
import os
import time

import pytest

from protocol import (
    Conflict,
    ContainerNotRunning,
    NotFound,
    OutputLimitExceeded,
    Stream,
    StreamError,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def client(docker_host, twin, make_client):
    with make_client(docker_host, stream_impl=twin) as c:
        yield c


@pytest.fixture
def sleeper(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sleep", "600"], HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    return cid


@pytest.mark.podman
def test_exec_cat_50mb_binary_with_half_close(client, sleeper):
    data = os.urandom(50 * 1024 * 1024)
    result = client.exec_run(sleeper, ["cat"], input=data, max_output=None)
    assert result.exit_code == 0
    assert result.stderr == b""
    assert len(result.stdout) == len(data)
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(data).digest()


@pytest.mark.podman
def test_exec_interleaved_streams_and_exit_code(client, sleeper):
    script = "i=0; while [ $i -lt 2000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done; exit 42"
    result = client.exec_run(sleeper, ["sh", "-c", script])
    assert result.exit_code == 42
    assert result.stdout == b"".join(b"o%d\n" % i for i in range(2000))
    assert result.stderr == b"".join(b"e%d\n" % i for i in range(2000))


@pytest.mark.podman
def test_exec_items_in_order_per_stream(client, sleeper):
    with client.exec_stream(sleeper, ["sh", "-c", "echo a; echo b >&2; echo c; exit 1"]) as session:
        items = list(session)
        assert session.wait() == 1
    # Frame boundaries follow the daemon's pipe reads (it may read "a\nc\n"
    # at once), so compare each stream's bytes.
    assert b"".join(i.data for i in items if i.stream is Stream.STDOUT) == b"a\nc\n"
    assert b"".join(i.data for i in items if i.stream is Stream.STDERR) == b"b\n"


@pytest.mark.podman
def test_tty_exec_is_raw_with_resize(client, sleeper):
    with client.exec_stream(sleeper, ["sh", "-c", "sleep 0.5; stty size; printf 'x\\ny\\n'"], tty=True) as session:
        assert session.response.status_code == 101
        session.resize(height=33, width=77)
        out = b"".join(f.data for f in session)
        assert session.wait() == 0
    # One raw stream (no frame headers), resized, with the TTY's \n -> \r\n.
    assert out == b"33 77\r\nx\r\ny\r\n"


@pytest.mark.podman
def test_exec_output_cap(client, sleeper):
    with pytest.raises(OutputLimitExceeded) as info:
        client.exec_run(sleeper, ["sh", "-c", "seq 1 100000"], max_output=1000)
    assert info.value.limit == 1000
    assert len(info.value.stdout) == 1000
    assert info.value.stdout == b"".join(b"%d\n" % i for i in range(1, 400))[:1000]


@pytest.mark.podman
def test_exec_sink_form(client, sleeper):
    out, err = io.BytesIO(), io.BytesIO()
    with client.exec_stream(sleeper, ["sh", "-c", "seq 1 5000; echo done >&2"]) as session:
        errors = session.copy_to(out, err)
    assert errors == []
    assert out.getvalue() == b"".join(b"%d\n" % i for i in range(1, 5001))
    assert err.getvalue() == b"done\n"


@pytest.mark.podman
def test_attach_send_input_until_exit(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sh", "-c", "read line; echo got:$line; echo bye >&2"],
                                  OpenStdin=True, StdinOnce=True, HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    with client.attach(cid, stdin=True) as session:
        session.write(b"hello\n")
        items = list(session)
        assert session.wait() == 0
    assert [(i.stream, i.data) for i in items if not isinstance(i, StreamError)] in (
        [(Stream.STDOUT, b"got:hello\n"), (Stream.STDERR, b"bye\n")],
        [(Stream.STDERR, b"bye\n"), (Stream.STDOUT, b"got:hello\n")],
    )


@pytest.mark.podman
def test_attach_half_close_gives_eof_and_output_keeps_flowing(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sh", "-c", "cat; echo after-eof"],
                                  OpenStdin=True, StdinOnce=True, HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    with client.attach(cid, stdin=True) as session:
        session.write(b"line1\nline2\n")
        session.close_stdin()
        out = b"".join(i.data for i in session)
        assert session.wait() == 0
    assert out == b"line1\nline2\nafter-eof\n"


def test_attach_tty_detach_keys(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["cat"], Tty=True, OpenStdin=True,
                                  HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    out = b""
    with client.attach(cid, stdin=True, detach_keys="ctrl-x") as session:
        session.write(b"hi\n")
        for frame in session:  # ends when the daemon detaches us
            out += frame.data
            if b"hi\r\n" in out:
                session.write(b"\x18")  # ctrl-x, once the echo proves we are attached
    assert b"hi\r\n" in out
    assert client.inspect_container(cid)["State"]["Running"] is True  # still running after detach


def test_attach_logs_replay_before_live(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sh", "-c", "echo early; sleep 1; echo late"],
                                  HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    time.sleep(0.5)  # "early" is in the log before we attach
    with client.attach(cid, logs=True) as session:
        out = b"".join(f.data for f in session)
    assert out == b"early\nlate\n"


def test_attach_missing_container_is_not_found(client):
    # tty given, so no inspect: the 404 comes from the hijacked head itself.
    with pytest.raises(NotFound, match="No such container"):
        client.attach("no-such-container", tty=False, require_running=False)


@pytest.mark.podman
def test_attach_stopped_container_is_refused(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["true"], HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    client.wait_container(cid)
    with pytest.raises(ContainerNotRunning) as info:
        client.attach(cid)
    assert info.value.status == "exited"


@pytest.mark.api(max="1.16")
def test_old_api_hijack_without_upgrade(docker_host, twin, make_client, sleeper):
    # API 1.16 predates the Upgrade handshake: the daemon answers 200 and
    # hijacks; the same session API works.
    with make_client(docker_host, version="1.16", stream_impl=twin) as old:
        with old.exec_stream(sleeper, ["sh", "-c", "echo legacy; echo err >&2"]) as session:
            assert session.response.status_code == 200
            items = list(session)
    assert sorted((i.stream, i.data) for i in items) == [(Stream.STDOUT, b"legacy\n"), (Stream.STDERR, b"err\n")]


def test_paused_container_refuses_attach_and_exec(client, sleeper):
    # 409 before the hijack: the daemon writes a plain-text error after a
    # raw-stream head (attach) or a JSON error (exec start).
    client.call("containers.pause", id=sleeper)
    try:
        with pytest.raises(Conflict, match="paused"):
            client.attach(sleeper, stdin=True)
        with pytest.raises(Conflict, match="paused"):
            client.exec_run(sleeper, ["true"])
    finally:
        client.call("containers.unpause", id=sleeper)
    assert client.exec_run(sleeper, ["true"]).exit_code == 0


def test_detached_exec_start_answers_without_hanging(docker_host, twin, make_client, sleeper):
    # The daemon answers Detach: true with an empty 200 (Content-Length: 0)
    # on a kept-alive connection, not a hijack: read as a hijacked stream
    # until EOF it would never end (the guard timeout makes that a failure).
    with make_client(docker_host, stream_impl=twin, timeout=10) as c:
        exec_id = c.exec_create(sleeper, ["sh", "-c", "exit 7"])
        t = time.monotonic()
        assert c.exec_start_detached(exec_id) is None
        assert time.monotonic() - t < 5
        deadline = time.monotonic() + 10
        while (info := c.inspect_exec(exec_id))["Running"] or info["ExitCode"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert info["ExitCode"] == 7
        # The connection of the detached start went back to the pool and
        # carries the next requests.
        assert len(c._pool._idle) == 1
        assert c.ping() == "OK"
        # The generic call gives the same ordinary answer.
        exec_id = c.exec_create(sleeper, ["true"])
        assert c.call("exec.start", id=exec_id, json={"Detach": True, "Tty": False}) is None
