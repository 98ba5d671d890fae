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

Engines: the integration tests run against one engine per session, chosen by
``--engine NAME`` or ``$PROTOCOL_ENGINE`` (``system``, ``26.1``, ``28.5``,
``podman``; default ``system``), started by ``.ci/engine``.  The ``engine``
fixture says what it declares (``/version``).  Markers that scope a test:

* ``@pytest.mark.api(min="1.42")`` / ``api(max="1.23")``: an era test; it
  runs wherever the engine serves some API version in that range.
* ``@pytest.mark.podman``: part of the Podman subset; on the ``podman``
  engine, integration tests without it do not run.
* ``@pytest.mark.engines("podman", ...)``: runs on the named engines only.

A test that does not apply to the session's engine is deselected (never
skipped) and listed under "not applicable on this engine" at the end of the
run.  With ``$PROTOCOL_ENGINE_REPORT`` set to a file, each run appends one JSON
line (engine, what it declares, which integration tests passed, the era
tests collected and those that ran) for ``.ci/engines-check``, which fails
CI when an era test ran on no engine.

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
    "ENGINE_SCRIPT",
    "REPO_ROOT",
    "TEST_IMAGE",
    "DockerTLS",
    "Engine",
    "docker_cleanup",
    "docker_host",
    "docker_tls",
    "docker_request",
    "docker_request_json",
    "engine",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_runtest_logreport",
    "pytest_terminal_summary",
    "remove_containers",
    "test_image",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERD_SCRIPT = REPO_ROOT / ".ci" / "dockerd"
ENGINE_SCRIPT = REPO_ROOT / ".ci" / "engine"
ENGINE_ENV = "PROTOCOL_ENGINE"
REPORT_ENV = "PROTOCOL_ENGINE_REPORT"
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
        [str(ENGINE_SCRIPT), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    return int(major), int(minor or 0)


@dataclass(frozen=True)
class Engine:
    """The engine of this session and what it declares about itself."""

    name: str  # as selected: system, 26.1, 28.5, podman (or "external")
    host: str
    version: str  # /version "Version"
    api_version: str  # /version "ApiVersion": the newest API it serves
    min_api_version: str  # /version "MinAPIVersion": the oldest
    podman: bool  # Podman's compat service (it names itself in Components)
    described: str = ""  # .ci/engine describe: where its binaries come from

    @classmethod
    def from_version(cls, name: str, host: str, version: dict[str, Any], described: str = "") -> Engine:
        components = version.get("Components") or []
        podman = any("podman" in str(c.get("Name", "")).lower() for c in components)
        return cls(name, host, str(version.get("Version", "")), str(version["ApiVersion"]),
                   str(version.get("MinAPIVersion") or version["ApiVersion"]), podman, described)

    @property
    def max_api(self) -> tuple[int, int]:
        return _version_tuple(self.api_version)

    @property
    def min_api(self) -> tuple[int, int]:
        return _version_tuple(self.min_api_version)

    def serves(self, low: str | None = None, high: str | None = None) -> bool:
        """The engine serves some API version within [low, high]."""
        lo = _version_tuple(low) if low else (0, 0)
        hi = _version_tuple(high) if high else (99, 99)
        return max(lo, self.min_api) <= min(hi, self.max_api)

    def label(self) -> str:
        kind = "Podman" if self.podman else "Docker"
        return f"{self.name} ({kind} {self.version}, API {self.min_api_version}-{self.api_version})"


def _selected_engine(config: pytest.Config) -> str:
    return str(config.getoption("--engine", None) or os.environ.get(ENGINE_ENV) or "system")


class _EngineState:
    """Per-session engine bookkeeping, kept on the pytest config."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.engine: Engine | None = None
        self.error: str | None = None
        self.not_applicable: dict[str, str] = {}
        self.era: list[str] = []
        self.ran: list[str] = []
        self.integration: int = 0

    def start(self) -> Engine | None:
        """Start (idempotently) and describe the engine; None if impossible."""
        if self.engine is not None or self.error is not None:
            return self.engine
        override = os.environ.get(HOST_ENV)
        try:
            if override:
                host, described = override, f"{HOST_ENV}={override}"
            else:
                if not ENGINE_SCRIPT.exists():
                    raise RuntimeError(f"{ENGINE_SCRIPT} not found")
                started = _run_script("start", self.name, timeout=START_TIMEOUT)
                if started.returncode != 0:
                    raise RuntimeError(
                        f"{ENGINE_SCRIPT} start {self.name} exited {started.returncode}\n"
                        f"--- stdout ---\n{started.stdout}\n--- stderr ---\n{started.stderr}"
                    )
                host = _run_script("host", self.name, timeout=30).stdout.strip()
                if not host:
                    raise RuntimeError(f"{ENGINE_SCRIPT} host {self.name} printed nothing")
                described = _run_script("describe", self.name, timeout=30).stdout.strip()
            status, version = docker_request_json(host, "GET", "/version")
            if status != 200 or not isinstance(version, dict):
                raise RuntimeError(f"GET /version: {status} {version!r}")
            self.engine = Engine.from_version("external" if override else self.name, host, version, described)
        except (OSError, subprocess.TimeoutExpired, http.client.HTTPException, RuntimeError, KeyError) as exc:
            self.error = str(exc)
        return self.engine


def _state(config: pytest.Config) -> _EngineState:
    state = getattr(config, "_protocol_engine", None)
    if state is None:
        state = _EngineState(_selected_engine(config))
        config._protocol_engine = state  # type: ignore[attr-defined]
    return state


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> Engine:
    """The session's engine (started on demand) and what it declares."""
    state = _state(request.config)
    found = state.start()
    if found is None:
        _unavailable(f"engine {state.name}: {state.error}")
    return found


@pytest.fixture(scope="session")
def docker_host(engine: Engine) -> str:
    """``unix://`` host of the session's engine (started on demand)."""
    return engine.host


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
def docker_tls(engine: Engine) -> DockerTLS:
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
    # The engine's start has run `.ci/dockerd start`, which serves TLS as well.
    try:
        host = _run_script("tls-host", engine.name, timeout=30).stdout.strip()
        path = _run_script("cert-path", engine.name, timeout=30).stdout.strip()
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
# Hooks: engine selection, applicability, and the report of what ran where


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine", default=None,
        help=f"engine the integration tests run against: system, 26.1, 28.5, podman (default ${ENGINE_ENV} or system)",
    )
    parser.addoption(
        "--all-engine-tests", action="store_true", default=False,
        help="run every integration test whatever the engine (to explore an engine by hand; not for CI)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "api(min=None, max=None): an era test; runs where the engine serves that API range")
    config.addinivalue_line("markers", "podman: part of the subset that runs against Podman's Docker API")
    config.addinivalue_line("markers", "engines(*names): runs on the named engines only")
    _SESSION.append(_state(config))


def _not_applicable(item: pytest.Item, engine: Engine) -> str | None:
    """Why *item* does not apply to *engine*, or None when it does."""
    names = item.get_closest_marker("engines")
    if names is not None and engine.name not in names.args:
        return f"runs on {', '.join(names.args)} only"
    if engine.podman and item.get_closest_marker("podman") is None and names is None:
        return "not in the Podman subset"
    for era in item.iter_markers("api"):
        low, high = era.kwargs.get("min"), era.kwargs.get("max")
        if not engine.serves(low, high):
            return f"needs API {low or ''}..{high or ''}; engine serves {engine.min_api_version}..{engine.api_version}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state(config)
    integration = [item for item in items if item.get_closest_marker("integration") is not None]
    for item in integration:
        # @pytest.mark.integration implies the docker_host fixture.
        names = getattr(item, "fixturenames", None)
        if names is not None and "docker_host" not in names:
            names.insert(0, "docker_host")
    if not integration:
        return
    engine = state.start()
    if engine is None or config.getoption("--all-engine-tests"):
        return  # (no engine: the fixtures fail in CI, or skip, with the reason)
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        reason = _not_applicable(item, engine) if item in integration else None
        if item.get_closest_marker("api") is not None:
            state.era.append(item.nodeid)
        if reason is None:
            keep.append(item)
        else:
            state.not_applicable[item.nodeid] = reason
            dropped.append(item)
    state.integration = len(integration) - len(dropped)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str | None:
    state = _state(config)
    if state.engine is not None:
        return f"engine: {state.engine.label()} at {state.engine.host}; {state.engine.described}"
    return f"engine: {state.name}" + (f" (unavailable: {state.error.splitlines()[0]})" if state.error else "")


_SESSION: list[_EngineState] = []  # the state of the running session (hooks without config)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _SESSION and report.when == "call" and report.passed and "integration" in report.keywords:
        _SESSION[-1].ran.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if state.engine is None and not state.not_applicable:
        return
    tr = terminalreporter
    label = state.engine.label() if state.engine else state.name
    tr.write_sep("=", f"engine {label}")
    tr.write_line(f"{len(state.ran)} integration tests passed on {label}")
    era_ran = [n for n in state.era if n in set(state.ran)]
    for nodeid in era_ran:
        tr.write_line(f"  era test ran here: {nodeid}")
    if state.not_applicable:
        tr.write_sep("-", f"not applicable on this engine ({len(state.not_applicable)})")
        for nodeid, reason in sorted(state.not_applicable.items()):
            tr.write_line(f"{nodeid}: {reason}")
    path = os.environ.get(REPORT_ENV)
    if path and state.engine is not None:
        line = {
            "engine": state.engine.name, "label": state.engine.label(), "described": state.engine.described,
            "passed": state.ran, "era": state.era, "era_ran": era_ran,
            "not_applicable": state.not_applicable, "exitstatus": int(exitstatus),
        }
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
