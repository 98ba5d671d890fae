"""Tests of the test harness itself: the private dockerd and its test image."""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import time
import urllib.parse

import pytest

from _daemon import (
    DOCKERD_SCRIPT,
    HOST_ENV,
    REPO_ROOT,
    DockerTLS,
    docker_request,
    docker_request_json,
    remove_containers,
)

pytestmark = pytest.mark.integration

private_daemon_only = pytest.mark.skipif(
    bool(os.environ.get(HOST_ENV)), reason=f"{HOST_ENV} points at another daemon"
)


@pytest.mark.podman
def test_ping(docker_host: str) -> None:
    status, body = docker_request(docker_host, "GET", "/_ping")
    assert (status, body) == (200, b"OK")


@pytest.mark.podman
def test_version_declares_an_api_range(docker_host: str) -> None:
    status, version = docker_request_json(docker_host, "GET", "/version")
    assert status == 200
    newest = tuple(int(p) for p in version["ApiVersion"].split("."))
    oldest = tuple(int(p) for p in version["MinAPIVersion"].split("."))
    assert (1, 12) <= oldest <= newest
    assert version["Os"] == "linux"


@pytest.mark.podman
def test_image_exists(docker_host: str, test_image: str) -> None:
    quoted = urllib.parse.quote(test_image, safe="")
    status, image = docker_request_json(docker_host, "GET", f"/images/{quoted}/json")
    assert status == 200, image
    # Podman names a short reference after its "localhost" registry.
    assert test_image in image["RepoTags"] or f"localhost/{test_image}" in image["RepoTags"]
    assert image["Config"]["Cmd"] == ["sh"]


@pytest.mark.podman
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


@pytest.mark.podman
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
@pytest.mark.engines("system")  # .ci/dockerd's default instance
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
@pytest.mark.engines("system")  # .ci/dockerd's default instance
def test_status_host_and_env(docker_host: str) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(DOCKERD_SCRIPT), *args], capture_output=True, text=True, timeout=60)

    status = run("status")
    assert status.returncode == 0
    assert status.stdout.strip() == docker_host
    assert run("host").stdout.strip() == docker_host
    assert run("env").stdout.strip() == f"export DOCKER_HOST={docker_host}"


@private_daemon_only
@pytest.mark.podman
def test_not_the_system_socket(docker_host: str) -> None:
    parsed = urllib.parse.urlsplit(docker_host)
    assert parsed.scheme == "unix"
    path = os.path.realpath(parsed.path)
    system = {os.path.realpath(p) for p in ("/var/run/docker.sock", "/run/docker.sock")}
    assert path not in system
    assert len(path.encode()) < 108  # fits in sockaddr_un.sun_path


# ---------------------------------------------------------------------------
# TCP+TLS endpoint (stdlib ssl + http.client only, never the package under test)


def _tls_get(tls: DockerTLS, path: str, context: ssl.SSLContext) -> tuple[int, bytes]:
    parsed = urllib.parse.urlsplit(tls.host)
    assert parsed.scheme == "https" and parsed.hostname and parsed.port
    conn = http.client.HTTPSConnection(parsed.hostname, parsed.port, context=context, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_tls_ping_with_client_certificate(docker_tls: DockerTLS) -> None:
    assert _tls_get(docker_tls, "/_ping", docker_tls.ssl_context()) == (200, b"OK")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_refuses_client_without_certificate(docker_tls: DockerTLS, version: ssl.TLSVersion) -> None:
    # TLS 1.2 fails the handshake; with TLS 1.3 the client may finish its side
    # first and see the daemon's alert (or a closed connection) on reading.
    context = docker_tls.ssl_context(client_cert=False)
    context.minimum_version = context.maximum_version = version
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _tls_get(docker_tls, "/_ping", context)


@private_daemon_only
def test_tls_listens_on_loopback_only(docker_tls: DockerTLS) -> None:
    port = urllib.parse.urlsplit(docker_tls.host).port
    assert port is not None
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except FileNotFoundError:
            continue
        for row in rows:
            local, state = row[1], row[3]
            addr, _, hexport = local.rpartition(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A = LISTEN
                listening.append(addr)
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


@private_daemon_only
@pytest.mark.engines("system")  # .ci/dockerd's default instance
def test_tls_env_cert_path_and_host(docker_tls: DockerTLS) -> None:
    def run(*args: str) -> str:
        proc = subprocess.run([str(DOCKERD_SCRIPT), *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    port = urllib.parse.urlsplit(docker_tls.host).port
    assert docker_tls.host == f"https://127.0.0.1:{port}"
    assert run("tls-host").strip() == docker_tls.host
    assert run("cert-path").strip() == str(docker_tls.cert_path)
    assert run("tls-env").splitlines() == [
        f"export DOCKER_HOST=tcp://127.0.0.1:{port}",
        "export DOCKER_TLS_VERIFY=1",
        f"export DOCKER_CERT_PATH={docker_tls.cert_path}",
    ]
    for name in ("ca.pem", "cert.pem", "key.pem", "server-cert.pem", "server-key.pem"):
        assert (docker_tls.cert_path / name).is_file(), name
