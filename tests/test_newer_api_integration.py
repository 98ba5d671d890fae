"""What the engines serving API 1.42 and later must prove against the real
thing, on both drivers (``make_client``).

Every query parameter the endpoint table gates at 1.42 or later is listed
from the table itself (``_gated_params``): each one is either used against
the session's engine, when it serves that version, or refused before
sending, when it does not -- so a parameter added to the table without a
case here fails ``test_every_gated_parameter_has_a_case``.

The era tests carry ``@pytest.mark.api(min=...)``: on an engine that does not
serve that range they are reported "not applicable on this engine", and CI
runs them on the engines that do (28.5 serves up to 1.51, 26.1 up to 1.45).
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import tarfile
import time
import uuid

import pytest

from protocol import (
    APIError,
    APIVersion,
    NotFound,
    ServerError,
    Stream,
    StreamingResponse,
    UnsupportedVersion,
    VersionError,
)
from protocol._core._endpoints import _variants, build_request, endpoint_names

from _drivers import api_version, count_requests

LABEL = "protocol-test.newer"
IMG_PLATFORM = {"os": "linux", "architecture": "amd64"}
OTHER_PLATFORM = {"os": "linux", "architecture": "arm64"}
BOUNDARY = APIVersion("1.42")


def _gated_params() -> dict[str, str]:
    """``"endpoint.param" -> since`` for every query parameter gated at >= 1.42."""
    gated: dict[str, str] = {}
    for name in endpoint_names():
        for variant in _variants(name):
            # Only variants that exist at the parameter's version carry it.
            for p in variant.query:
                if p.since and APIVersion(p.since) >= BOUNDARY and variant.available(p.since):
                    gated[f"{name}.{p.name}"] = p.since
    return gated


def _below(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) - 1}"


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---------------------------------------------------------------------------
# Cases: one per gated parameter, run at the engine's negotiated version.


def _container(client, cleanup, image, script, **config):
    body = {"Image": image, "Cmd": ["sh", "-c", script], "HostConfig": {"NetworkMode": "none"}, **config}
    cid = client.call("containers.create", json=body)["Id"]
    cleanup.append(cid)
    return cid


# The shell is PID 1: without a handler SIGTERM is ignored and stop would
# end with SIGKILL (137); the trap proves the signal we asked for arrived.
_TRAP = 'trap "echo got-int >> /tmp/signals; exit 7" INT; while :; do sleep 0.1; done'


def case_stop_signal(ctx):
    cid = _container(ctx.client, ctx.cleanup, ctx.image, _TRAP)
    ctx.client.call("containers.start", id=cid)
    ctx.client.call("containers.stop", id=cid, signal="SIGINT", t=20)
    assert ctx.client.call("containers.inspect", id=cid)["State"]["ExitCode"] == 7


def case_restart_signal(ctx):
    cid = _container(ctx.client, ctx.cleanup, ctx.image, _TRAP)
    ctx.client.call("containers.start", id=cid)
    ctx.client.call("containers.restart", id=cid, signal="SIGINT", t=20)
    assert ctx.client.call("containers.inspect", id=cid)["State"]["Running"] is True
    with ctx.client.call("containers.get_archive", id=cid, path="/tmp/signals") as resp:
        data = resp.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("signals")
        assert member is not None and member.read() == b"got-int\n"


def case_images_list_shared_size(ctx):
    ref = {"reference": [ctx.image]}
    # Without the parameter the daemon reports -1 ("not computed").
    assert ctx.client.call("images.list", filters=ref)[0]["SharedSize"] == -1
    assert ctx.client.call("images.list", filters=ref, shared_size=True)[0]["SharedSize"] >= 0


def case_images_list_manifests(ctx):
    # Manifests are filled in by the containerd image store only; with the
    # graph-driver store our engines use, the call is accepted and lists
    # the same image.
    listed = ctx.client.call("images.list", filters={"reference": [ctx.image]}, manifests=True)
    assert [i["Id"] for i in listed] == [ctx.image_id]
    assert isinstance(listed[0].get("Manifests", []), list)


def case_build_prune_limits(ctx):
    for key in ("reserved_space", "max_used_space", "min_free_space"):
        pruned = ctx.client.call("build.prune", filters={"label": [f"{LABEL}=none"]}, **{key: 1 << 40})
        assert set(pruned) == {"CachesDeleted", "SpaceReclaimed"}


def case_images_inspect_manifests(ctx):
    info = ctx.client.call("images.inspect", name=ctx.image, manifests=True)
    assert info["Id"] == ctx.image_id


def case_images_inspect_platform(ctx):
    assert ctx.client.call("images.inspect", name=ctx.image, platform=IMG_PLATFORM)["Id"] == ctx.image_id
    with pytest.raises(NotFound, match="platform"):
        ctx.client.call("images.inspect", name=ctx.image, platform=OTHER_PLATFORM)


def case_images_history_platform(ctx):
    assert ctx.client.call("images.history", name=ctx.image, platform=IMG_PLATFORM)[0]["Id"] == ctx.image_id
    with pytest.raises(NotFound, match="platform"):
        ctx.client.call("images.history", name=ctx.image, platform=OTHER_PLATFORM)


def _export(ctx, endpoint, **kw):
    with ctx.client.call(endpoint, **kw) as resp:
        return resp.read()


def case_images_get_platform(ctx):
    data = _export(ctx, "images.get", name=ctx.image, platform=[IMG_PLATFORM])
    assert "manifest.json" in tarfile.open(fileobj=io.BytesIO(data)).getnames()
    with pytest.raises(ServerError, match="platform"):
        _export(ctx, "images.get", name=ctx.image, platform=[OTHER_PLATFORM])


def case_images_get_all_platform(ctx):
    data = _export(ctx, "images.get_all", names=[ctx.image], platform=[IMG_PLATFORM])
    assert "manifest.json" in tarfile.open(fileobj=io.BytesIO(data)).getnames()
    with pytest.raises(ServerError, match="platform"):
        _export(ctx, "images.get_all", names=[ctx.image], platform=[OTHER_PLATFORM])


def case_images_load_platform(ctx):
    data = _export(ctx, "images.get", name=ctx.image)
    loaded = ctx.client.progress(ctx.client.call("images.load", body=data, platform=[IMG_PLATFORM]))
    assert any(ctx.image in m.get("stream", "") for m in loaded), loaded


def case_images_push_platform(ctx):
    registry = ctx.registry()
    repo = f"{registry.host}/protocol/newer-push"
    auth = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    ctx.client.call("images.tag", name=ctx.image, repo=repo, tag=ctx.uid)
    try:
        pushed = ctx.client.progress(ctx.client.call("images.push", name=repo, tag=ctx.uid, auth=auth,
                                                     platform=IMG_PLATFORM))
        assert any("Digest" in (m.get("aux") or {}) for m in pushed), pushed
        with pytest.raises(APIError, match="platform"):
            ctx.client.progress(ctx.client.call("images.push", name=repo, tag=ctx.uid, auth=auth,
                                                platform=OTHER_PLATFORM))
    finally:
        ctx.client.call("images.remove", name=f"{repo}:{ctx.uid}")


def case_images_remove_platforms(ctx):
    tag = f"protocol-test/newer-remove:{ctx.uid}"
    ctx.client.call("images.tag", name=ctx.image, repo="protocol-test/newer-remove", tag=ctx.uid)
    try:
        # The image has linux/amd64 only: removing another platform's
        # content is refused; the tag stays.
        with pytest.raises(APIError):
            ctx.client.call("images.remove", name=tag, platforms=[OTHER_PLATFORM])
        assert ctx.client.call("images.inspect", name=tag)["Id"] == ctx.image_id
    finally:
        ctx.client.call("images.remove", name=tag)


def case_system_df_type(ctx):
    images_only = ctx.client.call("system.df", type=["image"])
    assert images_only["Images"] and not images_only["Containers"] and not images_only["Volumes"]
    volumes_only = ctx.client.call("system.df", type=["volume"])
    assert not volumes_only["Images"] and isinstance(volumes_only["Volumes"], list)


def _ws_attach_output(client, cid, **streams):
    """Attach over a real WebSocket (the client does not speak it; the bytes
    are written here): the request the table builds at the engine's version,
    plus the handshake headers; the output the daemon sends as WebSocket
    frames until it closes."""
    req = build_request("containers.attach_ws", api_version(client), id=cid, logs=True, stream=False,
                        **streams)
    key = base64.b64encode(uuid.uuid4().bytes).decode()
    head = (f"{req.method} {req.target} HTTP/1.1\r\nHost: docker\r\nOrigin: http://localhost\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(client.host.address)
        sock.sendall(head.encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    head_end = data.index(b"\r\n\r\n") + 4
    status = data[:head_end].split(b"\r\n")[0]
    assert b" 101 " in status, data[:head_end]
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert accept in data[:head_end]
    out, pos = b"", head_end
    while pos < len(data):  # server frames: unmasked, FIN, text/binary/close
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        pos += 2
        if length == 126:
            length, pos = int.from_bytes(data[pos:pos + 2], "big"), pos + 2
        elif length == 127:
            length, pos = int.from_bytes(data[pos:pos + 8], "big"), pos + 8
        if opcode in (0, 1, 2):
            out += data[pos:pos + length]
        pos += length
    return out


def case_attach_ws_streams(ctx):
    # From 1.42 the daemon honours stdin/stdout/stderr on the WebSocket
    # attach (before, it attached every stream whatever they said): replay
    # a finished container's output with one stream at a time.
    client = ctx.client
    cid = _container(client, ctx.cleanup, ctx.image, "echo out; echo err >&2")
    client.call("containers.start", id=cid)
    client.call("containers.wait", id=cid)
    assert _ws_attach_output(client, cid, stdout=True, stderr=False) == b"out\n"
    assert _ws_attach_output(client, cid, stdout=False, stderr=True) == b"err\n"
    both = _ws_attach_output(client, cid, stdout=True, stderr=True)
    assert sorted(both.splitlines()) == [b"err", b"out"]


CASES = {
    "containers.stop.signal": case_stop_signal,
    "containers.restart.signal": case_restart_signal,
    "containers.attach_ws.stdin": case_attach_ws_streams,
    "containers.attach_ws.stdout": case_attach_ws_streams,
    "containers.attach_ws.stderr": case_attach_ws_streams,
    "images.list.shared_size": case_images_list_shared_size,
    "images.list.manifests": case_images_list_manifests,
    "build.prune.reserved_space": case_build_prune_limits,
    "build.prune.max_used_space": case_build_prune_limits,
    "build.prune.min_free_space": case_build_prune_limits,
    "images.inspect.manifests": case_images_inspect_manifests,
    "images.inspect.platform": case_images_inspect_platform,
    "images.history.platform": case_images_history_platform,
    "images.push.platform": case_images_push_platform,
    "images.remove.platforms": case_images_remove_platforms,
    "images.get.platform": case_images_get_platform,
    "images.get_all.platform": case_images_get_all_platform,
    "images.load.platform": case_images_load_platform,
    "system.df.type": case_system_df_type,
}
# Parameters newer than every engine CI runs (1.52+: Docker 29): they are
# refused before sending on every engine here, which the test asserts.
NEWER_THAN_OUR_ENGINES = {"images.list.identity", "system.df.verbose"}


def test_every_gated_parameter_has_a_case():
    gated = set(_gated_params())
    assert gated == set(CASES) | NEWER_THAN_OUR_ENGINES, (
        f"without a case: {sorted(gated - set(CASES) - NEWER_THAN_OUR_ENGINES)}; "
        f"stale cases: {sorted((set(CASES) | NEWER_THAN_OUR_ENGINES) - gated)}"
    )
    assert all(APIVersion(since) > APIVersion("1.51") for k, since in _gated_params().items()
               if k in NEWER_THAN_OUR_ENGINES)


@pytest.mark.parametrize("key", sorted(_gated_params()))
def test_gated_parameter_refused_below_its_boundary(make_client, key, tmp_path):
    # Nothing is sent: the client has no daemon at all.
    since = _gated_params()[key]
    name, _, param = key.rpartition(".")
    ep = next(v for v in _variants(name) if v.available(since))
    kwargs = {p: "x" for p in ep.path_params}
    kwargs[param] = _SAMPLE.get(param, True)
    with pytest.raises(UnsupportedVersion) as info:
        build_request(name, _below(since), **kwargs)
    assert info.value.minimum == APIVersion(since)
    if ep.upgrade_protocol is None:  # (attach_ws is refused for its protocol anyway)
        with make_client(f"unix://{tmp_path}/none.sock", version=_below(since)) as c:
            with pytest.raises(UnsupportedVersion):
                c.call(name, **kwargs)


_SAMPLE = {"signal": "SIGINT", "platform": IMG_PLATFORM, "platforms": [IMG_PLATFORM], "type": ["image"],
           "reserved_space": 1, "max_used_space": 1, "min_free_space": 1}


class _Ctx:
    def __init__(self, client, cleanup, image, request, uid):
        self.client, self.cleanup, self.image, self.uid = client, cleanup, image, uid
        self.image_id = client.call("images.inspect", name=image)["Id"]
        self._request = request

    def registry(self):
        return self._request.getfixturevalue("registry")


@pytest.mark.integration
@pytest.mark.api(min="1.42")
@pytest.mark.parametrize("key", sorted(_gated_params()))
def test_gated_parameter_against_the_engine(make_client, key, engine, docker_host, docker_cleanup, test_image, request):
    since = APIVersion(_gated_params()[key])
    with make_client(docker_host, timeout=120) as client:
        if since > APIVersion(engine.api_version):
            # The engine does not have it: negotiated down to the engine's
            # maximum, the client refuses before sending.
            assert api_version(client) == APIVersion(engine.api_version)
            name, _, param = key.rpartition(".")
            with pytest.raises(UnsupportedVersion):
                client.call(name, **{p: "x" for p in _variants(name)[-1].path_params},
                            **{param: _SAMPLE.get(param, True)})
            return
        CASES[key](_Ctx(client, docker_cleanup, test_image, request, uuid.uuid4().hex[:12]))


# ---------------------------------------------------------------------------
# Output kind from the Content-Type (1.42+): no inspect call


class _Counting:
    """Counts the requests a client sends (either driver)."""

    def __init__(self, client):
        self._sent = count_requests(client)

    @property
    def targets(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self._sent]


@pytest.mark.integration
@pytest.mark.api(min="1.42")
@pytest.mark.parametrize("tty", [False, True])
def test_output_kind_from_content_type_without_inspect(make_client, docker_host, docker_cleanup, test_image, tty):
    with make_client(docker_host, timeout=60) as client:
        assert api_version(client) >= BOUNDARY
        cid = _container(client, docker_cleanup, test_image, "echo out; echo err >&2; sleep 1000",
                         Tty=tty, OpenStdin=True)
        client.call("containers.start", id=cid)
        counted = _Counting(client)

        # logs: one request, decoded by its label.
        deadline = time.monotonic() + 20
        while True:
            with client.call("containers.logs", id=cid, stdout=True, stderr=True) as resp:
                items = list(resp)
            if b"err" in b"".join(i.data for i in items) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if tty:  # one raw stream, as the terminal wrote it
            assert b"".join(i.data for i in items) == b"out\r\nerr\r\n"
            assert all(i.stream == Stream.STDOUT for i in items)
        else:
            # (the two streams' order is the log driver's, not the writer's)
            assert sorted((i.stream, i.data) for i in items) == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]

        # exec: create + start, no inspect of the exec.
        exec_id = client.call("exec.create", id=cid, json={
            "AttachStdout": True, "AttachStderr": True, "Tty": tty, "Cmd": ["sh", "-c", "echo x; echo y >&2"]})["Id"]
        with client.call("exec.start", id=exec_id, json={"Detach": False, "Tty": tty}) as session:
            got = list(session)
        if tty:
            assert b"".join(i.data for i in got) == b"x\r\ny\r\n"
        else:
            assert sorted((i.stream, i.data) for i in got) == [(Stream.STDOUT, b"x\n"), (Stream.STDERR, b"y\n")]

        # attach with logs replay: no inspect of the container.
        with client.call("containers.attach", id=cid, stdout=True, stderr=True, logs=True,
                         stream=False) as session:
            replay = b"".join(i.data for i in session)
        assert b"out" in replay and b"err" in replay and b"\x01\x00\x00\x00" not in replay

        assert not [t for t in counted.targets if t.endswith("/json")], counted.targets
        assert len([t for t in counted.targets if t.endswith("/logs")]) >= 1


# ---------------------------------------------------------------------------
# Semantics that changed


@pytest.mark.integration
@pytest.mark.api(min="1.42")
def test_volume_prune_anonymous_only_from_1_42(make_client, docker_host, engine, docker_cleanup):
    uid = uuid.uuid4().hex[:12]
    label = {LABEL: uid}
    only_ours = {"label": [f"{LABEL}={uid}"]}
    with make_client(docker_host, timeout=60) as client:
        named = f"protocol-newer-{uid}"
        try:
            client.call("volumes.create", json={"Name": named, "Labels": label})
            anonymous = client.call("volumes.create", json={"Labels": label})["Name"]
            # 1.42+: only the anonymous one goes.
            pruned = client.call("volumes.prune", filters=only_ours)
            assert pruned["VolumesDeleted"] == [anonymous]
            assert [v["Name"] for v in client.call("volumes.list", filters=only_ours)["Volumes"]] == [named]
            # all=true: named ones too.
            pruned = client.call("volumes.prune", filters={**only_ours, "all": ["true"]})
            assert pruned["VolumesDeleted"] == [named]
            # Pinned below 1.42 the same engine keeps the old meaning: all unused volumes.
            client.call("volumes.create", json={"Name": named, "Labels": label})
            with make_client(docker_host, version="1.41") as old:
                assert old.call("volumes.prune", filters=only_ours)["VolumesDeleted"] == [named]
        finally:
            try:
                client.call("volumes.remove", name=named, force=True)
            except NotFound:
                pass


@pytest.mark.integration
@pytest.mark.api(min="1.42")
def test_wait_error_field(make_client, docker_host, docker_cleanup, test_image):
    with make_client(docker_host, timeout=60) as client:
        cid = _container(client, docker_cleanup, test_image, "exit 3")
        client.call("containers.start", id=cid)
        waited = client.call("containers.wait", id=cid)
        # Error is only there (an object with Message) when waiting failed.
        assert waited["StatusCode"] == 3 and waited.get("Error") in (None, {"Message": ""})
        # Waiting for a container that is gone is a 404, not a result with Error.
        cid2 = _container(client, docker_cleanup, test_image, "true")
        client.call("containers.remove", id=cid2)
        with pytest.raises(NotFound):
            client.call("containers.wait", id=cid2)


@pytest.mark.integration
@pytest.mark.api(min="1.42")
def test_buildkit_build_answers_trace_messages(make_client, docker_host, docker_cleanup, test_image):
    uid = uuid.uuid4().hex[:12]
    tag = f"protocol-test/newer-buildkit:{uid}"
    context = tar_of({"Dockerfile": f"FROM {test_image}\nRUN echo {uid} > /marker\n".encode()})
    with make_client(docker_host, timeout=120) as client:
        try:
            resp = client.call("images.build", body=context, t=tag, builder_version="2", networkmode="none",
                               labels={LABEL: uid})
            assert isinstance(resp, StreamingResponse)
            messages = client.progress(resp)
            traces = [m for m in messages if m.get("id") == "moby.buildkit.trace"]
            assert traces, messages
            for m in traces:  # base64 of a BuildKit StatusResponse protobuf
                assert isinstance(m["aux"], str) and base64.b64decode(m["aux"], validate=True)
            assert client.call("images.inspect", name=tag)["Config"]["Labels"][LABEL] == uid
        finally:
            try:
                client.call("images.remove", name=tag, force=True)
            except NotFound:
                pass


# ---------------------------------------------------------------------------
# Version errors in the newer engines' wording


@pytest.mark.integration
@pytest.mark.api(min="1.42")
def test_version_errors_in_the_engines_wording(make_client, docker_host, engine):
    major, minor = engine.api_version.split(".")
    too_new = f"{major}.{int(minor) + 1}"
    with make_client(docker_host, version=too_new) as c:
        with pytest.raises(VersionError) as info:
            c.info()
    # e.g. "client version 1.52 is too new. Maximum supported API version is 1.51"
    assert f"client version {too_new} is too new" in info.value.message
    assert info.value.server_version == APIVersion(engine.api_version) and info.value.too_new
    with make_client(docker_host, version=_below(engine.min_api_version)) as c:
        with pytest.raises(VersionError) as info:
            c.info()
    assert "is too old" in info.value.message
    assert info.value.server_version == APIVersion(engine.min_api_version) and not info.value.too_new
