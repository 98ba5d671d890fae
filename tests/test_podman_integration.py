"""The Podman defects, against a real Podman service (``--engine podman``), on
both drivers (``make_client``).

Recorded and scripted bytes of the same answers are in test_podman_compat.py.
"""

import io
import tarfile
import uuid

import pytest

from protocol import APIVersion, BadRequest, Conflict, NotFound, Stream, UnsupportedEndpoint

pytestmark = [pytest.mark.integration, pytest.mark.engines("podman")]


@pytest.fixture
def client(make_client, docker_host):
    with make_client(docker_host, timeout=60) as c:
        yield c


def _create(client, cleanup, image, cmd, **config):
    cid = client.create_container(image, cmd, HostConfig={"NetworkMode": "none"}, **config)["Id"]
    cleanup.append(cid)
    return cid


@pytest.mark.parametrize("pinned", ["1.44", "1.51"])
def test_pinned_above_1_42_output_has_no_frame_headers(make_client, docker_host, docker_cleanup, test_image, engine, pinned):
    # Podman accepts any /vX.Y/, answers as 1.41 and labels non-TTY output
    # raw-stream (exec, attach) or octet-stream (logs).
    with make_client(docker_host, version=pinned, timeout=60) as c:
        cid = _create(c, docker_cleanup, test_image, ["sh", "-c", "echo out; echo err >&2; sleep 600"])
        c.start_container(cid)
        with c.call("containers.logs", id=cid, stdout=True, stderr=True) as resp:
            items = sorted((i.stream, i.data) for i in resp)
        assert items == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]
        result = c.exec_run(cid, ["sh", "-c", "echo x; echo y >&2"])
        assert (result.exit_code, result.stdout, result.stderr) == (0, b"x\n", b"y\n")
        exec_id = c.exec_create(cid, ["sh", "-c", "echo raw"])
        with c.call("exec.start", id=exec_id, json={"Detach": False, "Tty": False}) as session:
            assert [(i.stream, i.data) for i in session] == [(Stream.STDOUT, b"raw\n")]


def test_state_conflicts_and_bad_input_are_typed(client, docker_cleanup, test_image):
    name = f"protocol-podman-{uuid.uuid4().hex[:12]}"
    cid = _create(client, docker_cleanup, test_image, ["sleep", "600"], name=name)
    client.start_container(cid)
    with pytest.raises(Conflict) as info:  # removing a running container
        client.call("containers.remove", id=cid)
    assert info.value.status == 500
    with pytest.raises(Conflict):  # a duplicate name
        _create(client, docker_cleanup, test_image, ["true"], name=name)
    client.call("containers.kill", id=cid)
    client.call("containers.wait", id=cid)
    with pytest.raises(Conflict):  # killing a stopped container
        client.call("containers.kill", id=cid)
    with pytest.raises(Conflict):  # exec in a stopped container
        client.exec_run(cid, ["true"])
    net = f"{name}-net"
    client.call("networks.create", json={"Name": net, "Internal": True})
    try:
        with pytest.raises(Conflict):  # a duplicate network
            client.call("networks.create", json={"Name": net, "Internal": True})
    finally:
        client.call("networks.remove", id=net)
    with pytest.raises(BadRequest):  # an invalid name
        _create(client, docker_cleanup, test_image, ["true"], name="bad name!")


def test_unimplemented_endpoint_is_unsupported_not_missing(client, docker_cleanup, test_image):
    cid = _create(client, docker_cleanup, test_image, ["true"])
    with pytest.raises(UnsupportedEndpoint) as info:
        client.call("containers.update", id=cid, json={"CpuShares": 512})
    assert info.value.status == 404
    with pytest.raises(NotFound) as missing:
        client.call("containers.inspect", id="protocol-no-such-container")
    assert type(missing.value) is NotFound


def test_path_stat_in_url_safe_base64(client, docker_cleanup, test_image):
    cid = _create(client, docker_cleanup, test_image, ["true"])
    names = ["a>b?~", "??>>", "x~~~>>>?"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for n in names:
            info = tarfile.TarInfo(n)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    client.call("containers.put_archive", id=cid, path="/tmp", body=buf.getvalue())
    seen_urlsafe = False
    for n in names:
        head = client.call("containers.archive_info", id=cid, path=f"/tmp/{n}")
        raw = head.header(b"x-docker-container-path-stat")
        seen_urlsafe |= b"-" in raw or b"_" in raw
        stat = client.archive_stat(cid, f"/tmp/{n}")
        assert stat["name"] == n and stat["size"] == 3
    assert seen_urlsafe, "no header used the URL-safe alphabet: the case was not exercised"


def test_negotiation_clamps_and_pinned_versions_never_fail(make_client, docker_host, engine):
    with make_client(docker_host) as c:
        assert c.api_version == APIVersion(engine.api_version)
    # Podman serves any version in the URL: documented, not an error.
    for pinned in ("1.5", "1.99"):
        with make_client(docker_host, version=pinned) as c:
            assert c.ping() == "OK" and "Containers" in c.info()
