"""Pytest fixtures for tests that need more than the shared private dockerd.

Meant to be imported by ``tests/conftest.py`` with ``from _infra import *``.

* ``registry`` (session): a real distribution v2 registry started by
  ``.ci/registry start`` (plain HTTP on ``127.0.0.1:PORT``, htpasswd basic
  auth); a :class:`Registry` with ``host``, ``username``, ``password`` and
  :meth:`Registry.auth_header` for ``X-Registry-Auth``.  The registry is left
  running at the end (like the shared dockerd); ``.ci/registry stop`` stops it.
* ``swarm_daemon`` (session): ``unix://`` host of a *second* private dockerd
  (``.ci/dockerd`` with its own state folder and TLS port) in swarm mode.
  Swarm mode never touches the shared daemon of ``docker_host``.  At the end
  of the last session using it, it leaves the swarm and the daemon is stopped.

If something cannot be started the tests are skipped, or failed when ``$CI``
is ``true``/``1`` (as in ``_daemon``).  HTTP goes through the standard library
only (``_daemon.docker_request``), never through the package under test.

Environment:
  PROTOCOL_REGISTRY_PORT / PROTOCOL_REGISTRY_DIR     read by .ci/registry
  PROTOCOL_SWARM_DOCKERD_DIR       state folder of the swarm daemon
                                   (default /tmp/docker-protocol-swarm)
  PROTOCOL_SWARM_DOCKERD_TLS_PORT  its TLS port (default 23761)
  PROTOCOL_SWARM_LISTEN_PORT       swarm listen port on 127.0.0.1 (default 2377)
On an engine other than ``system`` (``--engine``), the swarm daemon runs that
engine's binaries too, in /tmp/docker-protocol-swarm-ENGINE with TLS port
2381N and swarm listen port 2382N (26.1: N=1, 28.5: N=2).
"""

from __future__ import annotations

import base64
import fcntl
import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn

import pytest

from _daemon import DOCKERD_SCRIPT, ENGINE_SCRIPT, REPO_ROOT, Engine, docker_request, docker_request_json

__all__ = [
    "REGISTRY_SCRIPT",
    "Registry",
    "registry",
    "registry_auth",
    "swarm_daemon",
]

REGISTRY_SCRIPT = REPO_ROOT / ".ci" / "registry"
REGISTRY_USERNAME = "protocol"  # test credentials set up by .ci/registry
REGISTRY_PASSWORD = "protocol-secret"
START_TIMEOUT = 900  # seconds; a cold start may include apt-get install

SWARM_DIR = Path(os.environ.get("PROTOCOL_SWARM_DOCKERD_DIR", "/tmp/docker-protocol-swarm"))
SWARM_TLS_PORT = os.environ.get("PROTOCOL_SWARM_DOCKERD_TLS_PORT", "23761")
SWARM_LISTEN_PORT = os.environ.get("PROTOCOL_SWARM_LISTEN_PORT", "2377")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def _unavailable(what: str, reason: str) -> NoReturn:
    if _ci():
        pytest.fail(f"{what} unavailable (CI): {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable: {reason}")


def _run(
    script: Path, *args: str, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def _start(what: str, script: Path, env: dict[str, str] | None = None) -> None:
    if not script.exists():
        _unavailable(what, f"{script} not found")
    try:
        done = _run(script, "start", timeout=START_TIMEOUT, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(what, f"{script} start: {exc}")
    if done.returncode != 0:
        _unavailable(
            what,
            f"{script} start exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}",
        )


# ---------------------------------------------------------------------------
# Registry


def registry_auth(username: str, password: str, serveraddress: str) -> str:
    """The ``X-Registry-Auth`` value: base64url of the JSON auth config."""
    config = {"username": username, "password": password, "serveraddress": serveraddress}
    return base64.urlsafe_b64encode(json.dumps(config).encode()).decode()


@dataclass(frozen=True)
class Registry:
    """A running test registry: ``host`` is the ``127.0.0.1:PORT`` name part."""

    host: str
    username: str
    password: str

    def auth_header(self, password: str | None = None) -> str:
        """``X-Registry-Auth`` for this registry (optionally a wrong password)."""
        return registry_auth(self.username, self.password if password is None else password, self.host)


@pytest.fixture(scope="session")
def registry() -> Registry:
    """Local registry with basic auth (started on demand, left running)."""
    _start("test registry", REGISTRY_SCRIPT)
    host = _run(REGISTRY_SCRIPT, "host", timeout=30).stdout.strip()
    if not host:
        _unavailable("test registry", f"{REGISTRY_SCRIPT} host printed nothing")
    return Registry(host, REGISTRY_USERNAME, REGISTRY_PASSWORD)


# ---------------------------------------------------------------------------
# Swarm daemon


# Ports of the swarm daemons of the versioned engines (within 23800-23899).
_SWARM_PORTS = {"26.1": ("23811", "23821"), "28.5": ("23812", "23822"), "20.10": ("23813", "23823")}


def _swarm_settings(engine: Engine) -> None:
    """Point the swarm daemon at the session's engine (binaries and ports)."""
    global SWARM_DIR, SWARM_TLS_PORT, SWARM_LISTEN_PORT, _SWARM_BIN_DIR
    if engine.podman:
        _unavailable("swarm dockerd", "Podman has no swarm mode")
    if engine.name in ("system", "external"):
        return
    bin_dir = _run(ENGINE_SCRIPT, "bin-dir", engine.name, timeout=START_TIMEOUT)
    if bin_dir.returncode != 0:
        _unavailable("swarm dockerd", f"{ENGINE_SCRIPT} bin-dir {engine.name}: {bin_dir.stderr}")
    _SWARM_BIN_DIR = bin_dir.stdout.strip()
    if not _SWARM_BIN_DIR:
        return  # the engine is the system one here
    SWARM_DIR = Path(f"/tmp/docker-protocol-swarm-{engine.name}")
    SWARM_TLS_PORT, SWARM_LISTEN_PORT = _SWARM_PORTS[engine.name]


_SWARM_BIN_DIR = ""


def _swarm_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PROTOCOL_DOCKERD_DIR"] = str(SWARM_DIR)
    env["PROTOCOL_DOCKERD_TLS_PORT"] = SWARM_TLS_PORT
    if _SWARM_BIN_DIR:
        env["PROTOCOL_DOCKERD_BIN_DIR"] = _SWARM_BIN_DIR
    # Inherited by dockerd: service tasks use the local image instead of
    # first trying (and failing) to pull it from a registry.
    env["DOCKER_SERVICE_PREFER_OFFLINE_IMAGE"] = "1"
    return env


def _swarm_state(host: str) -> str:
    status, info = docker_request_json(host, "GET", "/info")
    if status != 200 or not isinstance(info, dict):
        raise RuntimeError(f"GET /info: {status} {info!r}")
    return str((info.get("Swarm") or {}).get("LocalNodeState", ""))


def _ensure_swarm(host: str) -> None:
    state = _swarm_state(host)
    if state == "active":
        return
    if state in ("pending", "locked", "error"):
        # A half-joined or broken node: start from scratch.
        docker_request(host, "POST", "/swarm/leave?force=1", timeout=60)
    spec = {"ListenAddr": f"127.0.0.1:{SWARM_LISTEN_PORT}", "AdvertiseAddr": "127.0.0.1"}
    status, body = docker_request_json(host, "POST", "/swarm/init", spec, timeout=120)
    if status != 200:
        raise RuntimeError(f"POST /swarm/init: {status} {body!r}")
    deadline = time.monotonic() + 30
    while _swarm_state(host) != "active":
        if time.monotonic() > deadline:
            raise RuntimeError("swarm did not become active within 30 s")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _read_pid(path: Path) -> int | None:
    try:
        text = "".join(c for c in path.read_text() if c.isdigit())
    except OSError:
        return None
    return int(text) if text else None


def _terminate(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while _alive(pid):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            return
        time.sleep(0.1)


def _stop_swarm_daemon(host: str) -> None:
    """Stop the swarm dockerd, touching nothing of the shared daemon.

    Not ``.ci/dockerd stop``: it kills every containerd-shim whose command
    line has ``-namespace docker-protocol``, and every instance of the script
    uses that namespace, so it would kill the shared daemon's containers too.
    """
    exec_root = SWARM_DIR / "exec"
    sock = SWARM_DIR / "docker.sock"
    # Containers first (SIGKILL via the API), as the script does.
    try:
        status, containers = docker_request_json(host, "GET", "/containers/json?all=1")
        if status == 200 and isinstance(containers, list):
            for c in containers:
                docker_request(host, "DELETE", f"/containers/{c['Id']}?force=1", timeout=60)
    except (OSError, http.client.HTTPException):
        pass
    pid = _read_pid(SWARM_DIR / "docker.pid")
    if pid is not None and "dockerd" in _cmdline(pid) and str(sock) in _cmdline(pid):
        _terminate(pid, 30)
    cpid = _read_pid(exec_root / "containerd" / "containerd.pid")
    if cpid is not None and str(exec_root / "containerd") in _cmdline(cpid):
        _terminate(cpid, 10)
    marker = f"-address {exec_root}/containerd/"
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            cmd = _cmdline(int(entry.name))
            if "containerd-shim" in cmd and marker in cmd:
                try:
                    os.kill(int(entry.name), signal.SIGKILL)
                except OSError:
                    pass
    # Lazily unmount whatever is left under the state folder.
    prefix = f"{SWARM_DIR}/"
    try:
        mounts = [line.split()[1].replace("\\040", " ") for line in Path("/proc/self/mounts").read_text().splitlines()]
    except OSError:
        mounts = []
    for mnt in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True, check=False)
    for leftover in (sock, SWARM_DIR / "docker.pid"):
        try:
            leftover.unlink()
        except OSError:
            pass


@pytest.fixture(scope="session")
def swarm_daemon(engine: Engine) -> Iterator[str]:
    """``unix://`` host of a second private dockerd in swarm mode."""
    what = "swarm dockerd"
    _swarm_settings(engine)
    SWARM_DIR.mkdir(parents=True, exist_ok=True)
    # Every session using the daemon holds a shared lock; only the last one
    # out (an exclusive lock succeeds) tears it down.
    users: IO[bytes] = open(SWARM_DIR / "users.lock", "ab")  # noqa: SIM115
    try:
        fcntl.flock(users, fcntl.LOCK_SH)
        env = _swarm_env()
        _start(what, DOCKERD_SCRIPT, env)
        host = _run(DOCKERD_SCRIPT, "host", timeout=30, env=env).stdout.strip()
        if not host:
            _unavailable(what, f"{DOCKERD_SCRIPT} host printed nothing")
        try:
            _ensure_swarm(host)
        except (OSError, http.client.HTTPException, RuntimeError) as exc:
            _unavailable(what, f"swarm init failed: {exc}")
        yield host
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another session still uses it
        try:
            docker_request(host, "POST", "/swarm/leave?force=1", timeout=60)
        except (OSError, http.client.HTTPException):
            pass
        _stop_swarm_daemon(host)
    finally:
        users.close()
