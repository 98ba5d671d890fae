"""Tests of the test harness itself: the private dockerd and its test image."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse

import pytest

from _daemon import (
    DOCKERD_SCRIPT,
    HOST_ENV,
    REPO_ROOT,
    docker_request,
    docker_request_json,
    remove_containers,
)

pytestmark = pytest.mark.integration

private_daemon_only = pytest.mark.skipif(
    bool(os.environ.get(HOST_ENV)), reason=f"{HOST_ENV} points at another daemon"
)


def test_ping(docker_host: str) -> None:
    status, body = docker_request(docker_host, "GET", "/_ping")
    assert (status, body) == (200, b"OK")


@private_daemon_only
def test_version_is_1_41(docker_host: str) -> None:
    status, version = docker_request_json(docker_host, "GET", "/version")
    assert status == 200
    assert version["ApiVersion"] == "1.41"
    assert version["Os"] == "linux"


def test_image_exists(docker_host: str, test_image: str) -> None:
    quoted = urllib.parse.quote(test_image, safe="")
    status, image = docker_request_json(docker_host, "GET", f"/images/{quoted}/json")
    assert status == 200, image
    assert test_image in image["RepoTags"]
    assert image["Config"]["Cmd"] == ["sh"]


def test_container_runs(docker_host: str, test_image: str, docker_cleanup: list[str]) -> None:
    status, created = docker_request_json(
        docker_host,
        "POST",
        "/containers/create",
        {
            "Image": test_image,
            "Cmd": ["sh", "-c", "echo hello from $(cat /proc/self/comm); sleep 0"],
            "HostConfig": {"NetworkMode": "none"},
        },
    )
    assert status == 201, created
    cid = created["Id"]
    docker_cleanup.append(cid)
    status, _ = docker_request(docker_host, "POST", f"/containers/{cid}/start")
    assert status == 204
    status, waited = docker_request_json(docker_host, "POST", f"/containers/{cid}/wait", timeout=60)
    assert status == 200
    assert waited["StatusCode"] == 0
    status, logs = docker_request(docker_host, "GET", f"/containers/{cid}/logs?stdout=1")
    assert status == 200
    # Multiplexed stream: 8-byte header (stream 1 = stdout), then the payload.
    assert logs[:1] == b"\x01"
    assert logs[8:] == b"hello from cat\n"


def test_remove_containers(docker_host: str, test_image: str) -> None:
    # The helper behind the docker_cleanup fixture's teardown.
    status, created = docker_request_json(
        docker_host, "POST", "/containers/create", {"Image": test_image, "Cmd": ["true"]}
    )
    assert status == 201, created
    remove_containers(docker_host, [created["Id"], "no-such-container-for-cleanup"])
    status, _ = docker_request(docker_host, "GET", f"/containers/{created['Id']}/json")
    assert status == 404


@private_daemon_only
def test_second_start_is_quick_noop(docker_host: str) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [str(DOCKERD_SCRIPT), "start"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 10, f"second start took {elapsed:.1f}s"
    assert docker_request(docker_host, "GET", "/_ping") == (200, b"OK")


@private_daemon_only
def test_status_host_and_env(docker_host: str) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(DOCKERD_SCRIPT), *args], capture_output=True, text=True, timeout=60)

    status = run("status")
    assert status.returncode == 0
    assert status.stdout.strip() == docker_host
    assert run("host").stdout.strip() == docker_host
    assert run("env").stdout.strip() == f"export DOCKER_HOST={docker_host}"


@private_daemon_only
def test_not_the_system_socket(docker_host: str) -> None:
    parsed = urllib.parse.urlsplit(docker_host)
    assert parsed.scheme == "unix"
    path = os.path.realpath(parsed.path)
    system = {os.path.realpath(p) for p in ("/var/run/docker.sock", "/run/docker.sock")}
    assert path not in system
    assert len(path.encode()) < 108  # fits in sockaddr_un.sun_path
