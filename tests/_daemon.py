"""Pytest helpers for tests that talk to a real Docker daemon.

Imported by ``tests/conftest.py`` with ``from _daemon import *  # noqa``,
which re-exports the fixtures and the collection hook below.

* ``docker_host`` (session): ``unix://...`` of the private dockerd started by
  ``.ci/dockerd start``, or ``$PROTOCOL_TEST_DOCKER_HOST`` as is when set.  If
  the daemon cannot be started the tests are skipped, or failed when ``$CI``
  is ``true``/``1``.
* ``docker_tls`` (session): a :class:`DockerTLS` for the same daemon's
  TCP+TLS endpoint (``https://127.0.0.1:PORT``, client certificate required)
  and the CA / client certificate / key paths.  With ``$PROTOCOL_TEST_DOCKER_HOST``
  set it comes from ``$PROTOCOL_TEST_DOCKER_TLS_HOST`` and
  ``$PROTOCOL_TEST_DOCKER_TLS_CERT_PATH`` (a folder with ``ca.pem``,
  ``cert.pem``, ``key.pem``), and the tests using it are skipped without them.
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
import ssl
import subprocess
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

__all__ = [
    "DOCKERD_SCRIPT",
    "REPO_ROOT",
    "TEST_IMAGE",
    "DockerTLS",
    "docker_cleanup",
    "docker_host",
    "docker_tls",
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
TLS_HOST_ENV = "PROTOCOL_TEST_DOCKER_TLS_HOST"
TLS_CERT_PATH_ENV = "PROTOCOL_TEST_DOCKER_TLS_CERT_PATH"
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


@dataclass(frozen=True)
class DockerTLS:
    """The daemon's TCP+TLS endpoint and the client material to reach it."""

    host: str  # https://127.0.0.1:PORT
    cert_path: Path  # what DOCKER_CERT_PATH would be
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def from_cert_path(cls, host: str, cert_path: str | os.PathLike[str]) -> DockerTLS:
        folder = Path(cert_path)
        return cls(host, folder, folder / "ca.pem", folder / "cert.pem", folder / "key.pem")

    def ssl_context(self, client_cert: bool = True) -> ssl.SSLContext:
        """A client context trusting our CA; with the client certificate unless told not to."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if client_cert:
            ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def _https_host(host: str) -> str:
    parsed = urllib.parse.urlsplit(host)
    if parsed.scheme == "tcp":  # DOCKER_HOST spelling of the same endpoint
        return urllib.parse.urlunsplit(parsed._replace(scheme="https"))
    return host


@pytest.fixture(scope="session")
def docker_tls(docker_host: str) -> DockerTLS:
    """TCP+TLS endpoint (client certificate required) of the test daemon."""
    if os.environ.get(HOST_ENV):
        host, path = os.environ.get(TLS_HOST_ENV), os.environ.get(TLS_CERT_PATH_ENV)
        if not (host and path):
            pytest.skip(f"{HOST_ENV} is set but not both {TLS_HOST_ENV} and {TLS_CERT_PATH_ENV}")
        tls = DockerTLS.from_cert_path(_https_host(host), path)
        missing = [str(p) for p in (tls.ca, tls.cert, tls.key) if not p.is_file()]
        if missing:
            pytest.fail(f"{TLS_CERT_PATH_ENV}: missing {', '.join(missing)}", pytrace=False)
        return tls
    # docker_host has run `.ci/dockerd start`, which serves TLS as well.
    try:
        host = _run_script("tls-host", timeout=30).stdout.strip()
        path = _run_script("cert-path", timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"{DOCKERD_SCRIPT} tls-host/cert-path: {exc}")
    if not (host and path):
        _unavailable(f"{DOCKERD_SCRIPT} tls-host/cert-path printed nothing")
    tls = DockerTLS.from_cert_path(host, path)
    unreadable = [str(p) for p in (tls.ca, tls.cert, tls.key) if not os.access(p, os.R_OK)]
    if unreadable:
        _unavailable(f"TLS client material missing or unreadable: {', '.join(unreadable)}")
    return tls


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
