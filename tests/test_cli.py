"""The command line against the real daemon (both twins)."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("no_ext", ["", "1"], ids=["default-twin", "python-twin"])
def test_demo(docker_host, no_ext):
    env = dict(os.environ, DOCKER_HOST=docker_host, PROTOCOL_NO_EXTENSIONS=no_ext)
    proc = subprocess.run([sys.executable, "-m", "protocol", "demo"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "API version: 1.41" in out
    for i in (1, 2, 3):
        assert f"[stdout] stdout line {i}" in out
        assert f"[stderr] stderr line {i}" in out
    assert "exit code:   7" in out
    assert "removed the container." in out


def test_logs_keep_streams_apart(docker_host, docker_cleanup, test_image):
    from protocol import Client

    with Client(docker_host) as c:
        cid = c.create_container(test_image, ["sh", "-c", "echo to-out; echo to-err >&2"],
                                 HostConfig={"NetworkMode": "none"})["Id"]
        docker_cleanup.append(cid)
        c.start_container(cid)
        c.wait_container(cid)
    proc = subprocess.run([sys.executable, "-m", "protocol", "-H", docker_host, "logs", cid],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == b"to-out\n"
    assert proc.stderr == b"to-err\n"


def test_endpoints_table_needs_no_daemon():
    proc = subprocess.run([sys.executable, "-m", "protocol", "-H", "unix:///nonexistent.sock", "endpoints"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "| `containers.list` | GET | `/containers/json` |" in proc.stdout


def test_unreachable_daemon_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "protocol", "-H", "unix:///nonexistent.sock", "ping"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot connect to the Docker daemon" in proc.stderr
