"""exec_run on every engine and both drivers: end of input on a TTY, a bounded
wait, and the 1.15 era without exec inspect."""

import time

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def client(docker_host, make_client):
    with make_client(docker_host, timeout=60) as c:
        yield c


@pytest.fixture
def sleeper(client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sleep", "600"], HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    client.start_container(cid)
    return cid


@pytest.mark.podman
def test_tty_input_ends_with_the_terminal_eof(client, sleeper):
    # A half-close is not end of input on a pty: `read` got nothing and the
    # output ended at once.  Ctrl-D on an empty line is.
    result = client.exec_run(sleeper, ["sh", "-c", "read x; echo got $x"], input=b"hello\n", tty=True)
    assert result.exit_code == 0
    assert b"got hello" in result.stdout


@pytest.mark.podman
def test_tty_cat_returns_and_a_partial_line_is_delivered(client, sleeper):
    started = time.monotonic()
    result = client.exec_run(sleeper, ["cat"], input=b"no newline", tty=True)
    assert time.monotonic() - started < 20
    assert result.exit_code == 0
    assert b"no newline" in result.stdout  # (the pty echoes input too)


@pytest.mark.podman
def test_the_wait_for_the_exit_code_is_bounded(client, sleeper):
    exec_id = client.exec_create(sleeper, ["sleep", "5"])
    with client.exec_start(exec_id) as session:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            session.wait(timeout=0.3)
        assert time.monotonic() - started < 5


@pytest.mark.podman
def test_no_tty_input_still_ends_with_a_half_close(client, sleeper):
    result = client.exec_run(sleeper, ["sh", "-c", "cat; echo done"], input=b"abc")
    assert (result.exit_code, result.stdout) == (0, b"abcdone\n")


@pytest.mark.api(max="1.15")
def test_exec_run_at_1_15_returns_the_output_without_an_exit_code(docker_host, make_client, sleeper):
    # Exec arrived in 1.15, its inspect in 1.16: no exit code to ask for.
    with make_client(docker_host, version="1.15", timeout=60) as old:
        result = old.exec_run(sleeper, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert result == (None, b"out\n", b"err\n")
