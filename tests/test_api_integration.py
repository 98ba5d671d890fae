"""The endpoint table against the session's engine, at the version it
negotiates, on both drivers (``make_client``).

Every endpoint of ``protocol._core._endpoints`` that the engine serves and that can
run without a network beyond loopback is called here through
``Client.call(name, ...)``; versions are the ones the engine declares
(``engine`` fixture), and era tests say which API range they need.  Swarm endpoints, and push/pull through
the registry, are in ``test_swarm_registry_integration.py``.

Everything a test creates carries a unique name (uuid) and the label
``protocol-test.api=<uuid>``; prunes are always filtered by that label so
concurrent sessions on the shared daemon never lose anything.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import time
import urllib.parse
import uuid

import pytest

from protocol import LocalProtocolError

import protocol
from protocol import (
    APIError,
    Conflict,
    Frame,
    NotFound,
    NotModified,
    ServerError,
    Stream,
    StreamError,
    StreamingResponse,
    Unauthorized,
    UnsupportedVersion,
)
from protocol._core._endpoints import build_request
from protocol._core._models import ContainerInspect, ExecInspect, ImageInspect, SystemInfo, VersionInfo

from _daemon import docker_request

pytestmark = pytest.mark.integration

LABEL = "protocol-test.api"
NO_NET = {"NetworkMode": "none"}


# ---------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def client(make_client, docker_host):
    # A read timeout so that a protocol bug fails a test instead of hanging it.
    with make_client(docker_host, timeout=120) as c:
        yield c


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:12]


@pytest.fixture
def label(uid):
    return {LABEL: uid}


@pytest.fixture
def label_filter(uid):
    return {"label": [f"{LABEL}={uid}"]}


class _Leftovers:
    """Images, networks and volumes removed after the test (stdlib HTTP only)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.images: list[str] = []
        self.networks: list[str] = []
        self.volumes: list[str] = []

    def cleanup(self) -> None:
        q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
        for ref in reversed(self.images):
            docker_request(self.host, "DELETE", f"/images/{q(ref)}?force=1", timeout=60)
        for net in self.networks:
            docker_request(self.host, "DELETE", f"/networks/{q(net)}", timeout=60)
        for vol in self.volumes:
            docker_request(self.host, "DELETE", f"/volumes/{q(vol)}?force=1", timeout=60)


@pytest.fixture
def leftovers(docker_host, docker_cleanup):
    # Depends on docker_cleanup so containers go first (they hold images,
    # networks and volumes).
    left = _Leftovers(docker_host)
    yield left
    from _daemon import remove_containers

    remove_containers(docker_host, reversed(docker_cleanup))
    docker_cleanup.clear()
    left.cleanup()


def create(client, cleanup, image, cmd, *, name=None, host_config=None, **config):
    body = {"Image": image, "Cmd": cmd, "HostConfig": host_config or dict(NO_NET), **config}
    created = client.call("containers.create", name=name, json=body)
    assert set(created) >= {"Id", "Warnings"}
    cleanup.append(created["Id"])
    return created["Id"]


def output(client, cid, **kw):
    """stdout and stderr of a (finished) container, through containers.logs."""
    out, err = b"", b""
    resp = client.call("containers.logs", id=cid, stdout=True, stderr=True, **kw)
    assert isinstance(resp, StreamingResponse)
    with resp:
        for item in resp:
            assert isinstance(item, Frame), item
            if item.stream == Stream.STDOUT:
                out += item.data
            else:
                err += item.data
    return out, err


def run_to_end(client, cleanup, image, cmd, **config):
    cid = create(client, cleanup, image, cmd, **config)
    client.call("containers.start", id=cid)
    status = client.call("containers.wait", id=cid)
    return cid, status["StatusCode"]


def read_until(session, needle: bytes, limit: int = 1 << 20) -> bytes:
    """Read a session's output until ``needle`` shows up."""
    got = b""
    for item in session:
        if isinstance(item, StreamError):
            raise AssertionError(f"in-band error: {item.message}")
        got += item.data
        if needle in got or len(got) > limit:
            break
    return got


def path_stat(value: bytes | None) -> dict:
    """X-Docker-Container-Path-Stat: standard base64 of a JSON object."""
    assert value is not None, "no X-Docker-Container-Path-Stat header"
    return json.loads(base64.b64decode(value))


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def tar_file(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


# ---------------------------------------------------------------------------
# Containers


def test_container_lifecycle(client, docker_cleanup, test_image, uid, label, label_filter):
    name = f"protocol-api-{uid}"
    cid = create(client, docker_cleanup, test_image, ["sleep", "1000"], name=name, Labels=label)

    listed = client.call("containers.list", all=True, filters=label_filter)
    assert [c["Id"] for c in listed] == [cid]
    assert listed[0]["State"] == "created"
    assert client.call("containers.list", filters=label_filter) == []  # not running

    info = ContainerInspect.from_json(client.call("containers.inspect", id=cid, size=True))
    assert info.id == cid and info.name == f"/{name}"
    assert info.labels.items() >= label.items() and info.running is False
    assert "SizeRootFs" in info.raw

    assert client.call("containers.start", id=cid) is None
    with pytest.raises(NotModified):
        client.call("containers.start", id=cid)
    assert client.call("containers.list", filters=label_filter)[0]["Id"] == cid

    top = client.call("containers.top", id=cid)
    assert "PID" in top["Titles"]
    assert any("sleep 1000" in " ".join(p) for p in top["Processes"])

    stats = client.call("containers.stats", id=cid, stream=False)
    assert isinstance(stats, StreamingResponse)
    with stats:
        items = list(stats)
    assert len(items) == 1 and isinstance(items[0], dict)
    assert items[0]["id"] == cid and "memory_stats" in items[0] and "cpu_stats" in items[0]

    assert client.call("containers.pause", id=cid) is None
    assert client.call("containers.inspect", id=cid)["State"]["Paused"] is True
    with pytest.raises(Conflict):  # a paused container cannot be paused again
        client.call("containers.pause", id=cid)
    assert client.call("containers.unpause", id=cid) is None
    assert client.call("containers.inspect", id=cid)["State"]["Paused"] is False

    updated = client.call(
        "containers.update", id=cid,
        json={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}, "CpuShares": 512},
    )
    assert "Warnings" in updated
    host_config = client.call("containers.inspect", id=cid)["HostConfig"]
    assert host_config["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert host_config["CpuShares"] == 512

    assert client.call("containers.rename", id=cid, name=f"{name}-renamed") is None
    assert client.call("containers.inspect", id=f"{name}-renamed")["Id"] == cid
    with pytest.raises(NotFound):
        client.call("containers.inspect", id=name)

    pid = client.call("containers.inspect", id=cid)["State"]["Pid"]
    assert client.call("containers.restart", id=cid, t=1) is None
    state = client.call("containers.inspect", id=cid)["State"]
    assert state["Running"] is True and state["Pid"] != pid

    assert client.call("containers.stop", id=cid, t=1) is None
    with pytest.raises(NotModified):
        client.call("containers.stop", id=cid, t=1)

    client.call("containers.start", id=cid)
    assert client.call("containers.kill", id=cid, signal="SIGKILL") is None
    waited = client.call("containers.wait", id=cid)
    # Error is null up to 28.x's 1.4x and omitted when empty by newer engines.
    assert waited["StatusCode"] == 137 and waited.get("Error") is None
    with pytest.raises(Conflict):  # killing a stopped container
        client.call("containers.kill", id=cid)

    assert client.call("containers.remove", id=cid, v=True) is None
    with pytest.raises(NotFound):
        client.call("containers.inspect", id=cid)
    with pytest.raises(NotFound):
        client.call("containers.remove", id=cid)


def test_logs_changes_export(client, docker_cleanup, test_image):
    cid, code = run_to_end(
        client, docker_cleanup, test_image,
        ["sh", "-c", "echo out; sleep 0.3; echo err >&2; echo data > /created.txt; rm /bin/true; exit 3"],
    )
    assert code == 3
    assert output(client, cid) == (b"out\n", b"err\n")
    assert output(client, cid, tail="1") == (b"", b"err\n")  # tail counts both streams

    frames = list(client.call("containers.logs", id=cid, stdout=True, timestamps=True))
    assert len(frames) == 1 and frames[0].stream == Stream.STDOUT
    assert frames[0].data.endswith(b" out\n") and frames[0].data[:4].isdigit()

    changes = client.call("containers.changes", id=cid)
    assert {"Path": "/created.txt", "Kind": 1} in changes  # added
    assert {"Path": "/bin/true", "Kind": 2} in changes  # deleted

    export = client.call("containers.export", id=cid)
    assert isinstance(export, StreamingResponse)
    # Docker labels the export application/octet-stream (archives are x-tar).
    assert export.response.header(b"content-type") == b"application/octet-stream"
    exported = export.read()
    members = tar_members(exported)
    assert "created.txt" in members and "bin/sh" in members and "bin/true" not in members
    assert tar_file(exported, "created.txt") == b"data\n"


def test_attach_write_and_read(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["cat"], OpenStdin=True, StdinOnce=True,
                 AttachStdin=True)
    client.call("containers.start", id=cid)
    session = client.call("containers.attach", id=cid, stdin=True, stdout=True, stderr=True,
                          stream=True)
    assert isinstance(session, protocol.Session)
    with session:
        assert session.tty is False  # multiplexed frames
        session.write(b"hello through attach\n")
        assert read_until(session, b"\n") == b"hello through attach\n"
        session.write(b"second line\n")
        session.close_stdin()  # StdinOnce: cat gets EOF and the container exits
        rest = b"".join(item.data for item in session)
    assert rest == b"second line\n"
    assert client.call("containers.wait", id=cid)["StatusCode"] == 0
    # logs=True replays the output of a stopped container, no stream.
    with client.call("containers.attach", id=cid, stdout=True, logs=True, stream=False) as replay:
        assert b"".join(item.data for item in replay) == b"hello through attach\nsecond line\n"


@pytest.mark.podman
def test_resize_tty_container(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["sh"], Tty=True, OpenStdin=True)
    client.call("containers.start", id=cid)
    assert client.call("containers.resize", id=cid, h=41, w=123) is None
    with client.call("containers.attach", id=cid, stdin=True, stdout=True, stream=True) as session:
        assert session.tty is True  # raw output
        session.write(b"stty size\n")
        assert b"41 123" in read_until(session, b"41 123")
        client.call("containers.resize", id=cid, h=25, w=80)
        session.write(b"stty size; exit 4\n")
        assert b"25 80" in read_until(session, b"25 80")
    assert client.call("containers.wait", id=cid)["StatusCode"] == 4
    with pytest.raises(NotFound):
        client.call("containers.resize", id="protocol-no-such-container", h=1, w=1)


def test_archive_put_head_get(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["true"])  # archives work on created containers
    payload = b"archived payload\n" * 100
    assert client.call("containers.put_archive", id=cid, path="/tmp",
                       body=tar_of({"hello.txt": payload, "sub/inner.txt": b"inner"})) is None

    # HEAD: the answer is the header only; call() gives the response head.
    head = client.call("containers.archive_info", id=cid, path="/tmp/hello.txt")
    assert path_stat(head.header(b"x-docker-container-path-stat"))["size"] == len(payload)
    # The same through send(), the lower level.
    request = build_request("containers.archive_info", client.api_version, id=cid,
                            path="/tmp/hello.txt")
    with client.send(request) as head:
        assert head.status == 200
        stat = path_stat(head.response.header(b"x-docker-container-path-stat"))
        assert head.read() == b""
    assert stat["name"] == "hello.txt" and stat["size"] == len(payload)
    assert stat["mode"] & 0o777 == 0o640 and stat["linkTarget"] == ""

    with client.call("containers.get_archive", id=cid, path="/tmp/hello.txt") as resp:
        stat = path_stat(resp.response.header(b"x-docker-container-path-stat"))
        data = resp.read()
    assert stat["name"] == "hello.txt" and stat["size"] == len(payload)
    assert tar_file(data, "hello.txt") == payload

    with client.call("containers.get_archive", id=cid, path="/tmp/sub") as resp:
        stat = path_stat(resp.response.header(b"x-docker-container-path-stat"))
        data = resp.read()
    assert stat["name"] == "sub" and stat["mode"] & 0x80000000  # Go's os.ModeDir
    assert tar_file(data, "sub/inner.txt") == b"inner"

    with client.call("containers.get_archive", id=cid, path="/bin/sh") as resp:
        stat = path_stat(resp.response.header(b"x-docker-container-path-stat"))
        resp.read()
    assert stat["name"] == "sh" and stat["linkTarget"]  # applet symlink

    with pytest.raises(NotFound):
        client.call("containers.get_archive", id=cid, path="/no/such/path")
    with pytest.raises(NotFound):
        client.call("containers.put_archive", id=cid, path="/no/such/dir", body=tar_of({"x": b"x"}))


@pytest.mark.podman
def test_archive_info_missing_path_is_not_found(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["true"])
    with pytest.raises(NotFound):
        client.call("containers.archive_info", id=cid, path="/no/such/path")


@pytest.mark.podman
def test_archive_info_call_gives_the_stat(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["true"])
    head = client.call("containers.archive_info", id=cid, path="/bin")
    assert head.status_code == 200
    assert head.header(b"x-docker-container-path-stat")
    stat = client.archive_stat(cid, "/bin")
    assert stat["name"] == "bin" and stat["mode"] & (1 << 31)  # os.ModeDir in Go's FileMode


@pytest.mark.podman
def test_attach_ws_is_refused_clearly(client, docker_cleanup, test_image):
    # The WebSocket protocol after the 101 is not spoken by this client: the
    # call says so before sending anything; the request itself is modelled.
    cid = create(client, docker_cleanup, test_image, ["true"])
    with pytest.raises(LocalProtocolError, match="websocket"):
        client.call("containers.attach_ws", id=cid, stream=True)
    request = build_request("containers.attach_ws", client.api_version, id=cid, stream=True, logs=True)
    assert request.target == f"/v{client.api_version}/containers/{cid}/attach/ws?logs=1&stream=1"


@pytest.mark.podman
def test_containers_prune(client, docker_cleanup, test_image, label, label_filter):
    exited, _ = run_to_end(client, docker_cleanup, test_image, ["true"], Labels=label)
    running = create(client, docker_cleanup, test_image, ["sleep", "1000"], Labels=label)
    client.call("containers.start", id=running)
    pruned = client.call("containers.prune", filters=label_filter)
    assert pruned["ContainersDeleted"] == [exited]
    assert isinstance(pruned["SpaceReclaimed"], int)
    with pytest.raises(NotFound):
        client.call("containers.inspect", id=exited)
    assert client.call("containers.inspect", id=running)["State"]["Running"] is True


# ---------------------------------------------------------------------------
# Images


def test_build_directory_with_dockerignore(client, docker_cleanup, leftovers, test_image, tmp_path,
                                           uid, label):
    tag = f"protocol-test/api-build:{uid}"
    leftovers.images.append(tag)
    (tmp_path / "Dockerfile").write_text(
        f"FROM {test_image}\nLABEL {LABEL}={uid}\nCOPY . /ctx/\nCMD [\"find\", \"/ctx\", \"-type\", \"f\"]\n"
    )
    (tmp_path / ".dockerignore").write_text("secret.txt\nlogs/*.log\n!logs/important.log\n")
    (tmp_path / "keep.txt").write_text("keep\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "debug.log").write_text("debug\n")
    (tmp_path / "logs" / "important.log").write_text("important\n")
    (tmp_path / "logs" / "notes.txt").write_text("notes\n")

    messages = client.build(str(tmp_path), tag=tag, rm=True)
    assert any("Successfully tagged " + tag in m.get("stream", "") for m in messages)
    image_id = next(m["aux"]["ID"] for m in messages if "aux" in m)

    cid, code = run_to_end(client, docker_cleanup, tag, None)
    assert code == 0
    found = set(output(client, cid)[0].decode().split())
    assert {"/ctx/keep.txt", "/ctx/logs/important.log", "/ctx/logs/notes.txt"} <= found
    assert "/ctx/secret.txt" not in found and "/ctx/logs/debug.log" not in found

    inspected = ImageInspect.from_json(client.call("images.inspect", name=tag))
    assert inspected.raw["Id"] == image_id
    assert inspected.raw["Config"]["Labels"].items() >= label.items()
    assert tag in inspected.raw["RepoTags"]

    history = client.call("images.history", name=tag)
    assert history[0]["Id"] == image_id
    assert any("COPY" in h["CreatedBy"] and "/ctx/" in h["CreatedBy"] for h in history)

    # images.list, and tag / remove.
    listed = client.call("images.list", filters={"reference": [tag]})
    assert [i["Id"] for i in listed] == [image_id]
    other = f"protocol-test/api-build-other:{uid}"
    leftovers.images.append(other)
    assert client.call("images.tag", name=image_id, repo="protocol-test/api-build-other", tag=uid) is None
    assert set(client.call("images.inspect", name=image_id)["RepoTags"]) == {tag, other}
    assert client.call("images.remove", name=other) == [{"Untagged": other}]
    client.call("containers.remove", id=cid)
    removed = client.call("images.remove", name=tag)
    assert {"Untagged": tag} in removed
    assert {"Deleted": image_id} in removed
    with pytest.raises(NotFound):
        client.call("images.inspect", name=image_id)


def test_build_from_tar_fileobj(client, docker_cleanup, leftovers, test_image, uid):
    context = tar_of({
        "Dockerfile": f"FROM {test_image}\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n".encode(),
        "hello.txt": f"hello {uid}\n".encode(),
    })
    # Directly through the table: the body is the tar as bytes.
    tag1 = f"protocol-test/api-tar:{uid}-1"
    leftovers.images.append(tag1)
    resp = client.call("images.build", body=context, t=tag1, labels={LABEL: uid}, q=True)
    assert isinstance(resp, StreamingResponse)
    messages = client.progress(resp)
    assert any(m.get("stream", "").startswith("sha256:") for m in messages)  # q=1: only the id
    # Through Client.build with a file object (streamed in chunks).
    tag2 = f"protocol-test/api-tar:{uid}-2"
    leftovers.images.append(tag2)
    client.build(fileobj=io.BytesIO(context), tag=tag2)
    for tag in (tag1, tag2):
        cid, code = run_to_end(client, docker_cleanup, tag, None)
        assert code == 0 and output(client, cid) == (f"hello {uid}\n".encode(), b"")
    assert client.call("images.inspect", name=tag1)["Config"]["Labels"][LABEL] == uid

    # A failing build is an in-band error: typed by progress().
    bad = tar_of({"Dockerfile": f"FROM {test_image}\nRUN exit 7\n".encode()})
    with pytest.raises(APIError) as info:
        client.progress(client.call("images.build", body=bad, rm=True, forcerm=True))
    assert "returned a non-zero code: 7" in info.value.message


def test_images_prune(client, leftovers, test_image, uid, label_filter):
    context = tar_of({"Dockerfile": f"FROM {test_image}\nLABEL {LABEL}={uid}\n".encode()})
    messages = client.progress(client.call("images.build", body=context))  # no tag: dangling
    image_id = next(m["aux"]["ID"] for m in messages if "aux" in m)
    leftovers.images.append(image_id)
    assert client.call("images.list", filters={"dangling": ["true"], **label_filter})[0]["Id"] == image_id
    pruned = client.call("images.prune", filters=label_filter)
    assert {"Deleted": image_id} in pruned["ImagesDeleted"]
    with pytest.raises(NotFound):
        client.call("images.inspect", name=image_id)


def test_images_search_needs_the_network(client):
    # No network beyond loopback here: the daemon cannot reach Docker Hub
    # and answers 500 with Go's dial error.
    with pytest.raises(ServerError) as info:
        client.call("images.search", term="busybox", limit=1)
    assert info.value.status == 500
    assert "index.docker.io" in info.value.message


def test_commit_save_load(client, docker_cleanup, leftovers, test_image, uid):
    src, code = run_to_end(client, docker_cleanup, test_image, ["sh", "-c", f"echo {uid} > /marker"])
    assert code == 0
    repo = "protocol-test/api-commit"
    committed = f"{repo}:{uid}"
    leftovers.images.append(committed)
    result = client.call(
        "images.commit", container=src, repo=repo, tag=uid, comment="from the api test",
        author="docker-protocol", changes=['CMD ["cat", "/marker"]', f"LABEL {LABEL}={uid}"],
        json={},
    )
    image_id = result["Id"]
    info = client.call("images.inspect", name=committed)
    assert info["Id"] == image_id
    assert info["Comment"] == "from the api test" and info["Author"] == "docker-protocol"
    assert info["Config"]["Cmd"] == ["cat", "/marker"]
    run, code = run_to_end(client, docker_cleanup, committed, None)
    assert code == 0 and output(client, run)[0] == f"{uid}\n".encode()

    second = f"{repo}-second:{uid}"
    leftovers.images.append(second)
    client.call("images.tag", name=committed, repo=f"{repo}-second", tag=uid)

    # images.get: one image.
    with client.call("images.get", name=committed) as resp:
        assert resp.response.header(b"content-type") == b"application/x-tar"
        one = resp.read()
    manifest = json.loads(tar_file(one, "manifest.json"))
    assert len(manifest) == 1 and manifest[0]["RepoTags"] == [committed]

    # images.get_all: several (repeated names= keys).
    with client.call("images.get_all", names=[committed, test_image]) as resp:
        several = resp.read()
    manifest = json.loads(tar_file(several, "manifest.json"))
    assert sorted(t for m in manifest for t in m["RepoTags"]) == sorted([committed, test_image])

    # Remove it, then load it back: a JSON stream at 1.41.
    client.call("containers.remove", id=run)
    client.call("images.remove", name=second)
    removed = client.call("images.remove", name=committed)
    assert {"Deleted": image_id} in removed
    with pytest.raises(NotFound):
        client.call("images.inspect", name=committed)
    resp = client.call("images.load", body=one)
    assert isinstance(resp, StreamingResponse)
    loaded = client.progress(resp)
    assert {"stream": f"Loaded image: {committed}\n"} in loaded
    assert client.call("images.inspect", name=committed)["Id"] == image_id

    quiet = client.progress(client.call("images.load", body=one, quiet=True))
    assert all("progressDetail" not in m for m in quiet)

    with pytest.raises(NotFound):
        client.call("images.get", name=f"protocol-test/no-such-image:{uid}").read()


# ---------------------------------------------------------------------------
# Exec


def test_exec_create_start_resize_inspect(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["sleep", "1000"])
    client.call("containers.start", id=cid)

    # Without a TTY: multiplexed frames.
    exec_id = client.call("exec.create", id=cid, json={
        "AttachStdout": True, "AttachStderr": True, "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 5"],
    })["Id"]
    with client.call("exec.start", id=exec_id, json={"Detach": False, "Tty": False}, tty=False) as session:
        items = list(session)
    assert b"".join(i.data for i in items if i.stream == Stream.STDOUT) == b"out\n"
    assert b"".join(i.data for i in items if i.stream == Stream.STDERR) == b"err\n"
    info = ExecInspect.from_json(_exec_done(client, exec_id))
    assert info.raw["ExitCode"] == 5 and info.raw["ContainerID"] == cid
    assert info.raw["ProcessConfig"]["entrypoint"] == "sh"

    # With a TTY: raw output, resizable while it runs.
    exec_id = client.call("exec.create", id=cid, json={
        "AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": True, "Cmd": ["sh"],
    })["Id"]
    assert client.call("exec.inspect", id=exec_id)["Running"] is False
    with client.call("exec.start", id=exec_id, json={"Detach": False, "Tty": True}, tty=True) as session:
        assert session.tty is True
        assert client.call("exec.inspect", id=exec_id)["Running"] is True
        assert client.call("exec.resize", id=exec_id, h=33, w=111) is None
        session.write(b"stty size; exit 3\n")
        assert b"33 111" in read_until(session, b"33 111")
        list(session)
    assert _exec_done(client, exec_id)["ExitCode"] == 3

    with pytest.raises(NotFound):
        client.call("exec.inspect", id="protocol-no-such-exec")
    with pytest.raises(NotFound):
        client.call("exec.resize", id="protocol-no-such-exec", h=1, w=1)
    client.call("containers.kill", id=cid)
    with pytest.raises(Conflict):  # not running
        client.call("exec.create", id=cid, json={"Cmd": ["true"]})


def _exec_done(client, exec_id):
    deadline = time.monotonic() + 30
    while True:
        info = client.call("exec.inspect", id=exec_id)
        if not info["Running"] or time.monotonic() > deadline:
            return info
        time.sleep(0.05)


@pytest.mark.podman
def test_exec_start_session_knows_its_exec(client, docker_cleanup, test_image):
    cid = create(client, docker_cleanup, test_image, ["sleep", "1000"])
    client.call("containers.start", id=cid)
    exec_id = client.call("exec.create", id=cid, json={"AttachStdout": True, "Cmd": ["sh", "-c", "exit 2"]})["Id"]
    with client.call("exec.start", id=exec_id, json={"Detach": False, "Tty": False}, tty=False) as session:
        list(session)
        assert session.exec_id == exec_id
        assert session.wait() == 2


# ---------------------------------------------------------------------------
# System


def test_ping_version_info_df(client, engine):
    assert client.call("system.ping") == "OK"
    head = client.call("system.ping_head")
    assert head.status_code == 200 and head.header(b"api-version") == engine.api_version.encode()
    version = VersionInfo.from_json(client.call("system.version"))
    assert (version.api_version, version.min_api_version) == (engine.api_version, engine.min_api_version)
    assert version.version == engine.version
    info = SystemInfo.from_json(client.call("system.info"))
    assert info.raw["OSType"] == "linux" and "Containers" in info.raw
    df = client.call("system.df")
    assert set(df) >= {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"}
    assert any("docker-protocol/busybox:latest" in (i["RepoTags"] or []) for i in df["Images"])


def test_events_since_until_filters(client, docker_cleanup, test_image, uid, label):
    since = time.time()
    cid, _ = run_to_end(client, docker_cleanup, test_image, ["true"], Labels=label)
    client.call("containers.remove", id=cid)
    until = time.time() + 1
    resp = client.call("system.events", since=since - 1, until=until,
                       filters={"type": ["container"], "label": [f"{LABEL}={uid}"]})
    assert isinstance(resp, StreamingResponse)
    with resp:
        events = list(resp)  # finite: ends at `until`
    assert all(e["Type"] == "container" and e["Actor"]["ID"] == cid for e in events)
    actions = [e["Action"] for e in events]
    for action in ("create", "start", "die", "destroy"):
        assert action in actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    # Integer timestamps, and a filter that matches nothing.
    with client.call("system.events", since=int(since) - 1, until=int(until) + 1,
                     filters={"label": [f"{LABEL}=nothing-{uid}"]}) as resp:
        assert list(resp) == []
    # The convenience method goes through the same table entry.
    with client.events(since=int(since) - 1, until=int(until) + 1,
                       filters={"container": [cid]}) as resp:
        assert [e["Action"] for e in resp if e.get("Type") == "container"] == actions


def test_auth_against_the_local_registry(client, registry):
    ok = client.call("system.auth", json={
        "username": registry.username, "password": registry.password, "serveraddress": registry.host,
    })
    assert ok["Status"] == "Login Succeeded"
    # The daemon answers 500 with the registry's 401 in the message.
    with pytest.raises(Unauthorized) as info:
        client.call("system.auth", json={
            "username": registry.username, "password": "wrong", "serveraddress": registry.host,
        })
    assert info.value.status == 500 and "401 Unauthorized" in info.value.message


# ---------------------------------------------------------------------------
# Networks and volumes


def test_networks(client, docker_cleanup, leftovers, test_image, uid, label, label_filter):
    # The daemon runs with --bridge=none --iptables=false: creating bridge
    # networks works (no NAT/iptables rules are set up), and internal=True
    # says we never want traffic to leave anyway.  Containers are only
    # created (never started) on them.
    nets = []
    for i in (1, 2):
        created = client.call("networks.create", json={
            "Name": f"protocol-api-{uid}-{i}", "Driver": "bridge", "Internal": True,
            "CheckDuplicate": True, "Labels": label,
        })
        assert set(created) == {"Id", "Warning"}
        leftovers.networks.append(created["Id"])
        nets.append(created["Id"])
    with pytest.raises(Conflict):
        client.call("networks.create", json={"Name": f"protocol-api-{uid}-1", "CheckDuplicate": True})

    listed = client.call("networks.list", filters=label_filter)
    assert sorted(n["Id"] for n in listed) == sorted(nets)
    info = client.call("networks.inspect", id=nets[0], verbose=True)
    assert info["Name"] == f"protocol-api-{uid}-1" and info["Internal"] is True
    assert info["Driver"] == "bridge" and info["Labels"] == label
    assert client.call("networks.inspect", id=f"protocol-api-{uid}-2", scope="local")["Id"] == nets[1]

    cid = create(client, docker_cleanup, test_image, ["true"],
                 host_config={"NetworkMode": f"protocol-api-{uid}-1"})
    assert client.call("networks.connect", id=nets[1], json={
        "Container": cid, "EndpointConfig": {"Aliases": [f"alias-{uid}"]},
    }) is None
    networks = client.call("containers.inspect", id=cid)["NetworkSettings"]["Networks"]
    assert set(networks) == {f"protocol-api-{uid}-1", f"protocol-api-{uid}-2"}
    assert f"alias-{uid}" in networks[f"protocol-api-{uid}-2"]["Aliases"]
    assert client.call("networks.disconnect", id=nets[1], json={"Container": cid, "Force": False}) is None
    assert set(client.call("containers.inspect", id=cid)["NetworkSettings"]["Networks"]) == {
        f"protocol-api-{uid}-1"}

    client.call("containers.remove", id=cid)
    assert client.call("networks.remove", id=nets[0]) is None
    with pytest.raises(NotFound):
        client.call("networks.inspect", id=nets[0])
    pruned = client.call("networks.prune", filters=label_filter)
    assert pruned == {"NetworksDeleted": [f"protocol-api-{uid}-2"]}
    with pytest.raises(NotFound):
        client.call("networks.remove", id=nets[1])


@pytest.mark.podman
def test_volumes(client, docker_cleanup, leftovers, test_image, uid, label, label_filter):
    name = f"protocol-api-{uid}"
    leftovers.volumes += [name, f"{name}-pruned"]
    created = client.call("volumes.create", json={"Name": name, "Driver": "local", "Labels": label})
    assert created["Name"] == name and created["Labels"] == label and created["Driver"] == "local"
    assert client.call("volumes.inspect", name=name)["Mountpoint"] == created["Mountpoint"]
    listed = client.call("volumes.list", filters=label_filter)
    assert [v["Name"] for v in listed["Volumes"]] == [name]

    # In use by a container: refused, unless forced away with the container.
    cid, _ = run_to_end(client, docker_cleanup, test_image, ["sh", "-c", "echo kept > /v/file"],
                        host_config={"NetworkMode": "none", "Binds": [f"{name}:/v"]})
    with pytest.raises(Conflict):
        client.call("volumes.remove", name=name)
    client.call("containers.remove", id=cid)
    assert client.call("volumes.remove", name=name) is None
    with pytest.raises(NotFound):
        client.call("volumes.inspect", name=name)

    client.call("volumes.create", json={"Name": f"{name}-pruned", "Labels": label})
    if client.api_version >= "1.42":
        # From 1.42 prune removes anonymous volumes only, unless all=true.
        assert client.call("volumes.prune", filters=label_filter)["VolumesDeleted"] in ([], None)
        pruned = client.call("volumes.prune", filters={**label_filter, "all": ["true"]})
    else:
        pruned = client.call("volumes.prune", filters=label_filter)
    assert pruned["VolumesDeleted"] == [f"{name}-pruned"]
    assert client.call("volumes.list", filters=label_filter)["Volumes"] == []


# ---------------------------------------------------------------------------
# Distribution (needs a pushed image: the local registry)


def test_distribution_inspect(client, leftovers, test_image, registry, uid):
    repo = f"{registry.host}/protocol/api-dist"
    ref = f"{repo}:{uid}"
    leftovers.images.append(ref)
    auth = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    client.call("images.tag", name=test_image, repo=repo, tag=uid)
    pushed = client.progress(client.call("images.push", name=repo, tag=uid, auth=auth))
    digest = next(m["aux"]["Digest"] for m in pushed if "aux" in m)

    info = client.call("distribution.inspect", name=ref, auth=auth)
    assert info["Descriptor"]["digest"] == digest
    assert info["Descriptor"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert info["Platforms"] and all(p["os"] == "linux" for p in info["Platforms"])
    with pytest.raises(Unauthorized):
        client.call("distribution.inspect", name=ref, auth={**auth, "password": "wrong"})
    with pytest.raises(Unauthorized):
        client.call("distribution.inspect", name=ref)


# ---------------------------------------------------------------------------
# Plugins (installing one needs the network; the routes answer typed errors)


def test_plugins(client, uid):
    assert isinstance(client.call("plugins.list"), list)
    assert isinstance(client.call("plugins.list", filters={"capability": ["volumedriver"]}), list)
    # Docker 20.10.24 answers privileges of a well-formed remote name with an
    # empty list without asking the registry (seen: for Docker Hub and for an
    # unreachable 127.0.0.1:1); a malformed reference is a typed 500.
    assert client.call("plugins.privileges", remote="vieux/sshfs:latest") == []
    with pytest.raises(ServerError) as info:
        client.call("plugins.privileges", remote="Not/A Valid:ref")
    assert "invalid reference format" in info.value.message
    # Pulling needs the network: a typed error, not a hang.
    with pytest.raises(ServerError) as info:
        client.progress(client.call("plugins.pull", remote="127.0.0.1:1/protocol/plugin:latest", json=[]))
    assert "connection refused" in info.value.message
    missing = f"protocol-test/no-such-plugin-{uid}:latest"
    for name, kwargs in [
        ("plugins.inspect", {}),
        ("plugins.remove", {"force": True}),
        ("plugins.enable", {"timeout": 0}),
        ("plugins.disable", {"force": True}),
        ("plugins.set", {"json": ["DEBUG=1"]}),
        ("plugins.upgrade", {"remote": "127.0.0.1:1/protocol/plugin:latest", "json": []}),
        ("plugins.push", {}),
    ]:
        with pytest.raises(NotFound) as info:
            result = client.call(name, name=missing, **kwargs)
            if isinstance(result, StreamingResponse):
                client.progress(result)
        assert "not found" in info.value.message, name


def _plugin_tar() -> bytes:
    """A plugin that is never enabled: config.json and an empty rootfs."""
    config = {
        "Description": "docker-protocol test plugin",
        "Documentation": "https://example.invalid",
        "Interface": {"Types": ["docker.volumedriver/1.0"], "Socket": "p.sock"},
        "Entrypoint": ["/bin/sh"],
        "Env": [{"Name": "DEBUG", "Description": "", "Settable": ["value"], "Value": "0"}],
        "Network": {"Type": "none"},
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = json.dumps(config).encode()
        info = tarfile.TarInfo("config.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        rootfs = tarfile.TarInfo("rootfs")
        rootfs.type, rootfs.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(rootfs)
    return buf.getvalue()


def test_plugin_lifecycle_through_the_local_registry(client, registry, uid):
    # Installing a plugin from Docker Hub needs the network, but a plugin
    # made here (plugins.create) can go through the local registry.
    name = f"{registry.host}/protocol/plugin:{uid}"
    auth = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    try:
        assert client.call("plugins.create", name=name, body=_plugin_tar()) is None
        info = client.call("plugins.inspect", name=name)
        assert info["Name"] == name and info["Enabled"] is False
        assert info["Settings"]["Env"] == ["DEBUG=0"]
        assert client.call("plugins.set", name=name, json=["DEBUG=1"]) is None
        assert client.call("plugins.inspect", name=name)["Settings"]["Env"] == ["DEBUG=1"]
        assert name in [p["Name"] for p in client.call("plugins.list", filters={"capability": ["volumedriver"]})]
        with pytest.raises(APIError):  # already disabled
            client.call("plugins.disable", name=name)

        pushed = client.progress(client.call("plugins.push", name=name, auth=auth))
        digest = next(m["aux"]["Digest"] for m in pushed if "aux" in m)
        # A wrong password: an in-band error (the daemon then retries over
        # HTTPS and reports that failure, so it is not typed Unauthorized).
        with pytest.raises(APIError) as info:
            client.progress(client.call("plugins.push", name=name, auth={**auth, "password": "wrong"}))
        assert info.value.status == 200
        assert client.call("plugins.remove", name=name) is None
        with pytest.raises(NotFound):
            client.call("plugins.inspect", name=name)

        privileges = client.call("plugins.privileges", remote=name, auth=auth)
        assert privileges == [{"Name": "network", "Description": "permissions to access a network",
                               "Value": ["none"]}]
        pulled = client.progress(client.call("plugins.pull", remote=name, name=name, json=privileges,
                                             auth=auth))
        assert {"status": f"Digest: {digest}"} in pulled
        assert client.call("plugins.inspect", name=name)["Enabled"] is False
        upgraded = client.progress(client.call("plugins.upgrade", name=name, remote=name,
                                               json=privileges, auth=auth))
        assert {"status": f"Digest: {digest}"} in upgraded
        assert client.call("plugins.remove", name=name, force=True) is None
    finally:
        try:
            client.call("plugins.remove", name=name, force=True)
        except NotFound:
            pass


# ---------------------------------------------------------------------------
# Build cache


def test_build_prune(client, uid):
    pruned = client.call("build.prune", filters={"label": [f"{LABEL}={uid}"]})
    assert set(pruned) == {"CachesDeleted", "SpaceReclaimed"}


# ---------------------------------------------------------------------------
# Version gating


@pytest.fixture
def unreachable(make_client, tmp_path):
    """A pinned-version client whose host does not exist: anything that
    reached the wire would be a TransportError, not UnsupportedVersion."""
    def make(version):
        return make_client(f"unix://{tmp_path}/no-daemon.sock", version=version, connect_timeout=1)
    return make


@pytest.mark.podman
def test_version_gating_raises_before_sending(make_client, docker_host, unreachable):
    with unreachable("1.24") as c:
        with pytest.raises(UnsupportedVersion) as info:
            c.call("configs.list")
        assert str(info.value.minimum) == "1.30" and str(info.value.version) == "1.24"
        with pytest.raises(UnsupportedVersion):
            c.call("system.df")  # 1.25
        with pytest.raises(UnsupportedVersion):
            c.call("containers.prune")  # 1.25
        with pytest.raises(protocol.TransportError):
            c.call("containers.list")  # exists at 1.24: it is really sent, and fails
    with unreachable("1.41") as c:
        with pytest.raises(UnsupportedVersion) as info:
            c.call("volumes.update", name="v", version=1, json={})
        assert str(info.value.minimum) == "1.42"
        with pytest.raises(UnsupportedVersion):
            c.call("containers.stop", id="x", signal="SIGINT")  # signal= is 1.42
        with pytest.raises(UnsupportedVersion) as info:
            c.call("containers.copy", id="x", json={"Resource": "/etc"})  # removed after 1.23
        assert str(info.value.maximum) == "1.23"
        with pytest.raises(UnsupportedVersion):
            c.call("images.list", filter="busybox")  # removed in 1.41
        with pytest.raises(UnsupportedVersion):
            c.call("images.attestations", name="busybox")

    # The same on the real daemon: nothing went out (no connection was opened).
    with make_client(docker_host, version="1.24") as c:
        with pytest.raises(UnsupportedVersion):
            c.call("configs.list")
        with pytest.raises(UnsupportedVersion):
            c.call("containers.stop", id="x", signal="SIGINT")
        assert c._pool._idle == []
        assert isinstance(c.call("containers.list"), list)


@pytest.mark.api(max="1.23")
def test_old_versions_the_daemon_still_serves(make_client, docker_host, engine, test_image, docker_cleanup):
    oldest = engine.min_api_version  # the engine's own minimum, below 1.24 here
    with make_client(docker_host, version=oldest) as c:
        containers = c.call("containers.list", all=True)
        assert isinstance(containers, list)
        images = c.call("images.list")
        assert any(test_image in (i.get("RepoTags") or []) for i in images)
        assert c.call("system.version")["ApiVersion"] == engine.api_version
        with pytest.raises(UnsupportedVersion):
            c.call("containers.prune")
    with make_client(docker_host, version="1.20") as c:
        # /containers/ps was an alias until docker 1.8 (API 1.20): a 20.10
        # daemon does not route it at any version.
        with pytest.raises(NotFound) as info:
            c.call("containers.ps")
        assert info.value.message == "page not found"
        with pytest.raises(NotFound) as info:
            c.call("containers.inspect", id="protocol-no-such-container")
        # Below 1.24 versioned errors are plain text, not JSON.
        assert info.value.message == "No such container: protocol-no-such-container"
        assert dict(info.value.headers)[b"content-type"].startswith(b"text/plain")
    with make_client(docker_host, version="1.23") as c:
        # POST /containers/{id}/copy (removed from the API in 1.24) is still served at 1.23.
        cid = create(c, docker_cleanup, test_image, ["true"])
        with c.call("containers.copy", id=cid, json={"Resource": "/bin/sh"}) as resp:
            data = resp.read()
        members = tar_members(data)
        # The old copy follows the /bin/sh symlink and names the entry after its target.
        assert list(members) == ["busybox"]
        assert members["busybox"].isfile() and members["busybox"].size > 100_000


@pytest.mark.podman
def test_errors_are_json_from_1_24(make_client, docker_host, engine):
    with make_client(docker_host, version=max(engine.min_api_version, "1.24", key=_api)) as c:
        with pytest.raises(NotFound) as info:
            c.call("containers.inspect", id="protocol-no-such-container")
        assert dict(info.value.headers)[b"content-type"] == b"application/json"


def _api(text):
    major, minor = text.split(".")
    return int(major), int(minor)


def test_below_the_engine_minimum_is_a_version_error(make_client, docker_host, engine):
    major, minor = _api(engine.min_api_version)
    below = f"{major}.{minor - 1}"
    with make_client(docker_host, version=below) as c:
        with pytest.raises(protocol.VersionError) as verr:
            c.call("containers.list")
        assert verr.value.too_new is False
        assert str(verr.value.server_version) == engine.min_api_version
