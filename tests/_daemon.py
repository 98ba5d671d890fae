"""Pytest helpers for tests that talk to a real Docker daemon.

Imported by ``tests/conftest.py`` with ``from _daemon import *  # noqa``,
which re-exports the fixtures and the collection hook below.

* ``docker_host`` (session): ``unix://...`` of the private dockerd started by
  ``.ci/dockerd start``, or ``$PROTOCOL_TEST_DOCKER_HOST`` as is when set.  If
  the daemon cannot be started the tests are skipped, or failed when ``$CI``
  is ``true``/``1``.
* ``test_image``: name of the busybox test image built by ``.ci/dockerd``.
* ``docker_cleanup``: a list; container ids/names appended to it are force
  removed after the test.
* Tests marked ``@pytest.mark.integration`` get ``docker_host`` automatically.

Everything here speaks HTTP through the standard library only, never through
the package under test, so setup and cleanup keep working when it is broken.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "DOCKERD_SCRIPT",
    "REPO_ROOT",
    "TEST_IMAGE",
    "docker_cleanup",
    "docker_host",
    "docker_request",
    "docker_request_json",
    "pytest_collection_modifyitems",
    "remove_containers",
    "test_image",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERD_SCRIPT = REPO_ROOT / ".ci" / "dockerd"
TEST_IMAGE = "docker-protocol/busybox:latest"
HOST_ENV = "PROTOCOL_TEST_DOCKER_HOST"
START_TIMEOUT = 900  # seconds; a cold start may include apt-get install


# ---------------------------------------------------------------------------
# Minimal HTTP client (stdlib only)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._unix_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _connection(host: str, timeout: float) -> http.client.HTTPConnection:
    parsed = urllib.parse.urlsplit(host)
    if parsed.scheme == "unix":
        path = parsed.path or parsed.netloc
        return _UnixHTTPConnection(path, timeout)
    if parsed.scheme in ("tcp", "http"):
        return http.client.HTTPConnection(parsed.hostname or "localhost", parsed.port or 2375, timeout=timeout)
    raise ValueError(f"unsupported docker host for the test helpers: {host!r}")


def docker_request(
    host: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, bytes]:
    """Send one request to the daemon at *host*; return (status, body)."""
    conn = _connection(host, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def docker_request_json(
    host: str, method: str, path: str, payload: Any = None, timeout: float = 30.0
) -> tuple[int, Any]:
    """Like docker_request, with a JSON request body and a decoded JSON reply."""
    body = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    status, data = docker_request(host, method, path, body, headers, timeout)
    try:
        return status, json.loads(data) if data else None
    except ValueError:
        return status, data


def remove_containers(host: str, containers: Iterable[str]) -> None:
    """Force-remove containers (and their anonymous volumes); ignore errors."""
    for ident in containers:
        quoted = urllib.parse.quote(ident, safe="")
        try:
            docker_request(host, "DELETE", f"/containers/{quoted}?force=1&v=1", timeout=60)
        except (OSError, http.client.HTTPException):
            pass  # daemon gone or confused; nothing more we can do


# ---------------------------------------------------------------------------
# Fixtures


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _unavailable(reason: str) -> NoReturn:
    if _ci():
        pytest.fail(f"private dockerd unavailable (CI): {reason}", pytrace=False)
    pytest.skip(f"private dockerd unavailable: {reason}")


def _run_script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DOCKERD_SCRIPT), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def docker_host() -> str:
    """``unix://`` host of the private test daemon (started on demand)."""
    override = os.environ.get(HOST_ENV)
    if override:
        return override
    if not DOCKERD_SCRIPT.exists():
        _unavailable(f"{DOCKERD_SCRIPT} not found")
    try:
        started = _run_script("start", timeout=START_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"{DOCKERD_SCRIPT} start: {exc}")
    if started.returncode != 0:
        _unavailable(
            f"{DOCKERD_SCRIPT} start exited {started.returncode}\n"
            f"--- stdout ---\n{started.stdout}\n--- stderr ---\n{started.stderr}"
        )
    host = _run_script("host", timeout=30).stdout.strip()
    if not host:
        _unavailable(f"{DOCKERD_SCRIPT} host printed nothing")
    return host


@pytest.fixture(scope="session")
def test_image() -> str:
    """Name of the busybox image (sh, cat, echo, sleep, ...) in the daemon."""
    return TEST_IMAGE


@pytest.fixture
def docker_cleanup(docker_host: str) -> Iterator[list[str]]:
    """A list of container ids/names force-removed after the test."""
    containers: list[str] = []
    yield containers
    remove_containers(docker_host, reversed(containers))


# ---------------------------------------------------------------------------
# Hook: @pytest.mark.integration implies the docker_host fixture


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("integration") is None:
            continue
        names = getattr(item, "fixturenames", None)
        if names is not None and "docker_host" not in names:
            names.insert(0, "docker_host")
