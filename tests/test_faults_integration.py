"""Faults of a real daemon: dockerd stopped (SIGTERM) and killed (SIGKILL)
during a logs follow and during a request loop, and the same client
working again once the daemon is back; on both drivers (``make_client``).

These tests stop and kill a daemon, so they use a private instance of
their own (``.ci/dockerd`` with its own state folder and TLS port), never
the shared one; it is stopped at the end of the module.

Environment:
  PROTOCOL_FAULTS_DOCKERD_DIR       state folder (default /tmp/docker-protocol-faults)
  PROTOCOL_FAULTS_DOCKERD_TLS_PORT  its TLS port (default 23790)
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _daemon import DOCKERD_SCRIPT, REPO_ROOT, TEST_IMAGE, docker_request
from protocol import Client, ConnectionLost, ProtocolError, StreamClosed, TransportError

# Their daemon is .ci/dockerd's (the system engine), whatever engine the
# session tests: run them in the system engine's pass only.
pytestmark = [pytest.mark.integration, pytest.mark.engines("system")]

FAULTS_DIR = Path(os.environ.get("PROTOCOL_FAULTS_DOCKERD_DIR", "/tmp/docker-protocol-faults"))
FAULTS_TLS_PORT = os.environ.get("PROTOCOL_FAULTS_DOCKERD_TLS_PORT", "23790")
START_TIMEOUT = 900  # a first start builds the test image


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PROTOCOL_DOCKERD_DIR"] = str(FAULTS_DIR)
    env["PROTOCOL_DOCKERD_TLS_PORT"] = FAULTS_TLS_PORT
    return env


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DOCKERD_SCRIPT), *args], cwd=REPO_ROOT, env=_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=START_TIMEOUT)


def _start() -> str:
    done = _script("start")
    if done.returncode != 0:
        message = f"fault dockerd did not start:\n{done.stdout}\n{done.stderr}"
        if _ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return _script("host").stdout.strip()


def _pid() -> int:
    text = (FAULTS_DIR / "docker.pid").read_text()
    pid = int("".join(c for c in text if c.isdigit()))
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    # Never signal anything but our own instance.
    assert b"dockerd" in cmd and str(FAULTS_DIR / "docker.sock").encode() in cmd, cmd
    return pid


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _signal(sig: signal.Signals) -> None:
    pid = _pid()
    os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while not _gone(pid):
        assert time.monotonic() < deadline, f"dockerd {pid} still alive after {sig.name}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def fault_daemon() -> Iterator[str]:
    """``unix://`` host of the private dockerd these tests may stop and kill."""
    FAULTS_DIR.mkdir(parents=True, exist_ok=True)
    host = _start()
    try:
        yield host
    finally:
        _script("stop")


@pytest.fixture
def client(make_client, fault_daemon: str) -> Iterator[Client]:
    # One twin (the active one): the faults are in the transport; both
    # twins' handling of cut streams is covered by test_hostile.py.
    with make_client(fault_daemon, timeout=30) as c:
        yield c


def _counter(client: Client) -> str:
    # Prints 0, 1, 2, ... every 20 ms; exits at once on SIGTERM, so a
    # daemon shutdown does not wait its 5 s grace period.
    script = "trap 'exit 0' TERM; i=0; while :; do echo $i; i=$((i+1)); sleep 0.02; done"
    cid = client.create_container(TEST_IMAGE, ["sh", "-c", script],
                                  HostConfig={"NetworkMode": "none"})["Id"]
    client.start_container(cid)
    # Follow only once the container is producing output (a loaded machine
    # can take a moment to run it).
    deadline = time.monotonic() + 20
    while not client.inspect_container(cid)["State"].get("Running"):
        assert time.monotonic() < deadline, "the counter container did not start"
        time.sleep(0.05)
    return str(cid)


def _remove(host: str, cid: str) -> None:
    try:
        docker_request(host, "DELETE", f"/containers/{cid}?force=1", timeout=60)
    except OSError:
        pass


def _check_lines(data: bytes) -> int:
    """The output is 0, 1, 2, ... with nothing lost or repeated (the last
    line may be cut by the fault); returns how many complete lines."""
    lines = data.split(b"\n")[:-1]
    assert lines == [b"%d" % i for i in range(len(lines))]
    return len(lines)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_daemon_dies_during_logs_follow(fault_daemon, client, sig):
    cid = _counter(client)
    received = bytearray()
    fired = False
    caught: BaseException | None = None
    try:
        try:
            for item in client.logs(cid, follow=True, tty=False):
                received += item.data
                if len(received) > 60 and not fired:
                    fired = True
                    threading.Thread(target=_signal, args=(sig,), daemon=True).start()
        except (ProtocolError, TransportError) as exc:
            caught = exc
        assert fired, f"the follow ended after {bytes(received)!r}: {caught!r}"
        if sig is signal.SIGKILL:
            # Killed mid-body: the follow must fail, never look like an end.
            assert caught is not None
        # SIGTERM stops the container too: the daemon may end the body
        # cleanly (the container exited) or cut it; both are right.
        assert not isinstance(caught, StreamClosed)
        # Nothing lost or repeated before the fault; what the failing read
        # completed is in the error's items.
        tail = getattr(caught, "items", None) or []
        data = bytes(received) + b"".join(getattr(i, "data", b"") for i in tail)
        assert _check_lines(data) > 10
    finally:
        _start()
    # The same client works again: its pooled connections to the dead
    # daemon are never handed out.
    assert client.ping() == "OK"
    assert cid in {c["Id"] for c in client.containers(all=True)}
    _remove(fault_daemon, cid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_daemon_dies_during_a_request_loop(fault_daemon, client, sig):
    assert client.ping() == "OK"
    errors: list[BaseException] = []
    ok_after: list[int] = []
    stop = threading.Event()
    down = threading.Event()

    def loop() -> None:
        n = 0
        while not stop.is_set():
            try:
                client.containers(all=True)
                client.ping()
                n += 1
                if down.is_set():
                    ok_after.append(n)
            except (ProtocolError, TransportError) as exc:
                errors.append(exc)
                time.sleep(0.05)
            except BaseException as exc:  # anything else is a defect
                errors.append(exc)
                return

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    time.sleep(0.5)
    _signal(sig)
    time.sleep(0.3)  # requests now fail: the daemon is gone
    _start()
    down.set()
    deadline = time.monotonic() + 20
    while not ok_after and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(30)
    assert errors, "no request failed while the daemon was down"
    # Every failure is typed; a request that may have been processed says so.
    for exc in errors:
        assert isinstance(exc, (ProtocolError, TransportError)), repr(exc)
        if isinstance(exc, ConnectionLost):
            assert exc.request is not None and exc.request.method == "GET"
    assert ok_after, "the client did not recover once the daemon was back"
