"""The test infrastructure itself: local registry with auth, swarm daemon.

Plain standard-library HTTP only (``_daemon.docker_request``), so these pass
or fail independently of the package under test.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from _daemon import docker_request, docker_request_json
from _infra import *  # noqa: F401,F403  (registry, swarm_daemon, ...)
from _infra import Registry

pytestmark = pytest.mark.integration


def _v2_status(host: str, auth: tuple[str, str] | None) -> int:
    req = urllib.request.Request(f"http://{host}/v2/")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _stream(body: bytes) -> list[dict[str, Any]]:
    """Decode a JSON-lines progress stream (push/pull)."""
    return [json.loads(line) for line in body.splitlines() if line.strip()]


@pytest.mark.podman
def test_registry_requires_auth(registry: Registry) -> None:
    assert _v2_status(registry.host, None) == 401
    assert _v2_status(registry.host, (registry.username, "wrong")) == 401
    assert _v2_status(registry.host, (registry.username, registry.password)) == 200


@pytest.fixture
def pushed_repo(docker_host: str, test_image: str, registry: Registry) -> Iterator[tuple[str, str]]:
    repo = f"{registry.host}/protocol/busybox"
    tag = f"test-{uuid.uuid4().hex[:8]}"
    query = urllib.parse.urlencode({"repo": repo, "tag": tag})
    status, body = docker_request(docker_host, "POST", f"/images/{test_image}/tag?{query}")
    assert status == 201, body
    yield repo, tag
    docker_request(docker_host, "DELETE", f"/images/{repo}:{tag}?force=1")


def test_push_and_pull_with_auth(docker_host: str, registry: Registry, pushed_repo: tuple[str, str]) -> None:
    repo, tag = pushed_repo
    push = f"/images/{repo}/push?tag={tag}"

    # Wrong password: HTTP 200, the error comes in-band at the end of the stream.
    status, body = docker_request(
        docker_host, "POST", push, headers={"X-Registry-Auth": registry.auth_header("wrong")}, timeout=120
    )
    assert status == 200, body
    events = _stream(body)
    assert "unauthorized" in events[-1]["error"]
    assert "unauthorized" in events[-1]["errorDetail"]["message"]

    # No X-Registry-Auth at all: rejected up front (400, Docker 20.10), or
    # an in-band error after the 200 (newer engines) -- never a success.
    status, body = docker_request(docker_host, "POST", push, timeout=120)
    assert status in (200, 400), body
    if status == 200:
        assert "error" in _stream(body)[-1], body

    status, body = docker_request(
        docker_host, "POST", push, headers={"X-Registry-Auth": registry.auth_header()}, timeout=120
    )
    assert status == 200, body
    events = _stream(body)
    assert not [e for e in events if "error" in e], events
    aux = [e["aux"] for e in events if "aux" in e]
    assert aux and aux[-1]["Tag"] == tag and aux[-1]["Digest"].startswith("sha256:")

    # Remove the local tag, then pull it back.
    status, body = docker_request(docker_host, "DELETE", f"/images/{repo}:{tag}")
    assert status == 200, body
    status, _ = docker_request(docker_host, "GET", f"/images/{repo}:{tag}/json")
    assert status == 404

    # Pull with a wrong password: fails before streaming, with the registry's
    # 401 passed on as a 500 (Docker 20.10) or as a 401 (newer engines).
    create = "/images/create?" + urllib.parse.urlencode({"fromImage": repo, "tag": tag})
    status, body = docker_request(
        docker_host, "POST", create, headers={"X-Registry-Auth": registry.auth_header("wrong")}, timeout=120
    )
    assert status in (401, 500), body
    assert "unauthorized" in json.loads(body)["message"]

    status, body = docker_request(
        docker_host, "POST", create, headers={"X-Registry-Auth": registry.auth_header()}, timeout=120
    )
    assert status == 200, body
    assert not [e for e in _stream(body) if "error" in e], body
    status, _ = docker_request(docker_host, "GET", f"/images/{repo}:{tag}/json")
    assert status == 200


def test_swarm_daemon_is_a_manager(swarm_daemon: str, docker_host: str) -> None:
    status, info = docker_request_json(swarm_daemon, "GET", "/info")
    assert status == 200
    assert info["Swarm"]["LocalNodeState"] == "active"
    assert info["Swarm"]["ControlAvailable"] is True
    # The shared daemon is left alone.
    status, shared = docker_request_json(docker_host, "GET", "/info")
    assert status == 200
    assert shared["Swarm"]["LocalNodeState"] == "inactive"


def test_swarm_service_logs(swarm_daemon: str, test_image: str) -> None:
    spec = {
        "Name": f"protocol-infra-{uuid.uuid4().hex[:8]}",
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": test_image,
                "Command": ["sh", "-c", "echo hello from service; sleep 1000"],
            },
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    status, created = docker_request_json(swarm_daemon, "POST", "/services/create", spec)
    assert status == 201, created
    service = created["ID"]
    try:
        filters = urllib.parse.quote(json.dumps({"service": [service]}))
        deadline = time.monotonic() + 60
        logs = b""
        states: list[Any] = []
        while time.monotonic() < deadline:
            status, tasks = docker_request_json(swarm_daemon, "GET", f"/tasks?filters={filters}")
            assert status == 200, tasks
            states = [(t["Status"]["State"], t["Status"].get("Err")) for t in tasks]
            if any(s == "running" for s, _ in states):
                status, logs = docker_request(swarm_daemon, "GET", f"/services/{service}/logs?stdout=1")
                assert status == 200, logs
                if b"hello from service" in logs:
                    break
            time.sleep(0.25)
        assert b"hello from service" in logs, (states, logs)
        # No TTY: the body is multiplexed (stdout frames start with 1).
        assert logs[0] == 1
    finally:
        docker_request(swarm_daemon, "DELETE", f"/services/{service}")
