"""Push/pull through the real local registry, and the swarm endpoints on the
second (swarm-mode) private daemon, through ``Client.call(name, ...)``, on
both drivers (``make_client``).

The registry (``registry`` fixture) is a distribution v2 registry on
127.0.0.1 with htpasswd basic auth.  The swarm daemon (``swarm_daemon``) is a
single-node swarm; the shared daemon of ``docker_host`` is never put in
swarm mode.  Everything created has a uuid in its name and is removed.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
import uuid

import pytest

from protocol import (
    APIError,
    BadRequest,
    Frame,
    NotFound,
    ServerError,
    Stream,
    StreamingResponse,
    Unauthorized,
)

from _daemon import docker_request

pytestmark = pytest.mark.integration

LABEL = "protocol-test.swarm"


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:12]


# ---------------------------------------------------------------------------
# Registry: push and pull


@pytest.fixture
def client(make_client, docker_host):
    with make_client(docker_host, timeout=120) as c:
        yield c


@pytest.fixture
def pushed_ref(docker_host, registry, uid):
    """``<registry>/protocol/busybox`` and a fresh tag; the local tag is removed after."""
    repo = f"{registry.host}/protocol/busybox"
    yield repo, uid
    ref = urllib.parse.quote(f"{repo}:{uid}", safe="")
    docker_request(docker_host, "DELETE", f"/images/{ref}?force=1", timeout=60)


def test_push_and_pull_through_the_registry(client, registry, test_image, pushed_ref):
    repo, tag = pushed_ref
    ref = f"{repo}:{tag}"
    good = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    bad = {**good, "password": "not-the-password"}
    image_id = client.call("images.inspect", name=test_image)["Id"]
    assert client.call("images.tag", name=test_image, repo=repo, tag=tag) is None

    # Wrong password: the daemon reports the registry's refusal in-band
    # (HTTP 200, then an error message), typed as Unauthorized.
    with pytest.raises(Unauthorized) as info:
        client.push(repo, tag, auth=bad)
    assert info.value.status == 200

    # Right password, through the table: progress ends with the aux digest.
    resp = client.call("images.push", name=repo, tag=tag, auth=good)
    assert isinstance(resp, StreamingResponse)
    messages = client.progress(resp)
    aux = [m["aux"] for m in messages if "aux" in m]
    assert len(aux) == 1 and aux[0]["Tag"] == tag and aux[0]["Digest"].startswith("sha256:")
    assert messages[-1]["aux"] == aux[0]
    digest = aux[0]["Digest"]
    assert any(m.get("status", "").startswith(f"{tag}: digest: {digest}") for m in messages)
    assert f"{repo}@{digest}" in client.call("images.inspect", name=ref)["RepoDigests"]

    # A second push of the same content: every layer already exists.
    again = client.push(ref, auth=good)
    assert any(m.get("status") == "Layer already exists" for m in again)
    assert [m["aux"]["Digest"] for m in again if "aux" in m] == [digest]

    # Drop the local tag; the image itself stays (test_image holds it).
    assert client.call("images.remove", name=ref) == [
        {"Untagged": ref}, {"Untagged": f"{repo}@{digest}"}
    ]
    with pytest.raises(NotFound):
        client.call("images.inspect", name=ref)

    # Pull with a wrong password, or none: Docker 20.10 answers 500 with the
    # registry's 401 in the message, newer engines a 401; typed Unauthorized.
    with pytest.raises(Unauthorized) as info:
        client.pull(repo, tag, auth=bad)
    assert info.value.status in (401, 500) and "unauthorized" in info.value.message.lower()
    with pytest.raises(Unauthorized):
        client.call("images.create", from_image=repo, tag=tag)
    with pytest.raises(NotFound):
        client.call("images.inspect", name=ref)

    # Pull with the right password, through the table.
    resp = client.call("images.create", from_image=repo, tag=tag, auth=good)
    assert isinstance(resp, StreamingResponse)
    pulled = client.progress(resp)
    assert {"status": f"Digest: {digest}"} in pulled
    assert pulled[-1]["status"] == f"Status: Downloaded newer image for {ref}"
    back = client.call("images.inspect", name=ref)
    assert back["Id"] == image_id and f"{repo}@{digest}" in back["RepoDigests"]

    # And the convenience method, by digest this time.
    by_digest = client.pull(f"{repo}@{digest}", auth=good)
    assert any(m.get("status", "").startswith("Status: Image is up to date") for m in by_digest)


def test_pull_of_a_missing_tag_is_typed(client, registry, uid):
    auth = {"username": registry.username, "password": registry.password, "serveraddress": registry.host}
    with pytest.raises(NotFound) as info:
        client.pull(f"{registry.host}/protocol/busybox", f"missing-{uid}", auth=auth)
    assert "manifest unknown" in info.value.message


# ---------------------------------------------------------------------------
# Swarm


@pytest.fixture
def swarm(make_client, swarm_daemon):
    with make_client(swarm_daemon, timeout=120) as c:
        yield c


@pytest.fixture
def swarm_leftovers(swarm_daemon):
    """(kind, id) pairs removed from the swarm daemon after the test."""
    items: list[tuple[str, str]] = []
    yield items
    for kind, ident in reversed(items):
        quoted = urllib.parse.quote(ident, safe="")
        docker_request(swarm_daemon, "DELETE", f"/{kind}/{quoted}", timeout=60)


def test_swarm_inspect_update_unlockkey(swarm, uid):
    info = swarm.call("swarm.inspect")
    assert info["ID"] and info["JoinTokens"]["Manager"].startswith("SWMTKN-")
    version = info["Version"]["Index"]
    spec = info["Spec"]
    key = f"{LABEL}.{uid}"

    # Update with the current version: a label appears, the index moves on.
    labels = dict(spec.get("Labels") or {})
    assert swarm.call("swarm.update", version=version, json={**spec, "Labels": {**labels, key: uid}}) is None
    after = swarm.call("swarm.inspect")
    assert after["Spec"]["Labels"][key] == uid and after["Version"]["Index"] > version

    # The old version is out of sequence now.
    with pytest.raises(APIError) as stale:
        swarm.call("swarm.update", version=version, json=spec)
    assert "update out of sequence" in stale.value.message

    # Put the labels back as they were (rotating nothing).
    swarm.call("swarm.update", version=after["Version"]["Index"], json={**after["Spec"], "Labels": labels},
               rotate_worker_token=False, rotate_manager_token=False, rotate_manager_unlock_key=False)
    assert key not in (swarm.call("swarm.inspect")["Spec"].get("Labels") or {})

    # No autolock: the unlock key is empty, and there is nothing to unlock.
    assert swarm.call("swarm.unlockkey") == {"UnlockKey": ""}
    with pytest.raises(APIError) as info:
        swarm.call("swarm.unlock", json={"UnlockKey": "SWMKEY-1-nothing"})
    assert "swarm is not locked" in info.value.message

    # Already in a swarm: init and join are refused (503), and leaving
    # without force is refused for the last manager (the swarm stays).
    with pytest.raises(ServerError) as info:
        swarm.call("swarm.init", json={"ListenAddr": "127.0.0.1:2377", "AdvertiseAddr": "127.0.0.1"})
    assert info.value.status == 503 and "already part of a swarm" in info.value.message
    with pytest.raises(ServerError) as info:
        swarm.call("swarm.join", json={"ListenAddr": "127.0.0.1:2377", "RemoteAddrs": ["127.0.0.1:2377"],
                                       "JoinToken": after["JoinTokens"]["Worker"]})
    assert info.value.status == 503 and "already part of a swarm" in info.value.message
    with pytest.raises(ServerError) as info:
        swarm.call("swarm.leave", force=False)
    assert info.value.status == 503 and "--force" in info.value.message
    assert swarm.call("system.info")["Swarm"]["LocalNodeState"] == "active"


def test_nodes(swarm, uid):
    nodes = swarm.call("nodes.list")
    assert len(nodes) == 1
    node = nodes[0]
    assert node["Spec"]["Role"] == "manager" and node["ManagerStatus"]["Leader"] is True
    assert swarm.call("nodes.list", filters={"role": ["manager"]})[0]["ID"] == node["ID"]
    assert swarm.call("nodes.list", filters={"role": ["worker"]}) == []

    info = swarm.call("nodes.inspect", id=node["ID"])
    assert info["ID"] == node["ID"] and info["Status"]["State"] == "ready"
    assert swarm.call("nodes.inspect", id=info["Description"]["Hostname"])["ID"] == node["ID"]
    assert info["ID"] == swarm.call("system.info")["Swarm"]["NodeID"]

    # nodes.update with the version index: add a label, then take it away.
    key = f"{LABEL}.{uid}"
    spec = info["Spec"]
    labels = dict(spec.get("Labels") or {})
    assert swarm.call("nodes.update", id=node["ID"], version=info["Version"]["Index"],
                      json={**spec, "Labels": {**labels, key: uid}}) is None
    after = swarm.call("nodes.inspect", id=node["ID"])
    assert after["Spec"]["Labels"][key] == uid
    swarm.call("nodes.update", id=node["ID"], version=after["Version"]["Index"],
               json={**after["Spec"], "Labels": labels})
    assert key not in (swarm.call("nodes.inspect", id=node["ID"])["Spec"].get("Labels") or {})
    with pytest.raises(NotFound):
        swarm.call("nodes.inspect", id=f"no-such-node-{uid}")
    with pytest.raises(NotFound):
        swarm.call("nodes.remove", id=f"no-such-node-{uid}", force=True)


def _wait_for(what, check, timeout=90.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def _log_text(resp: StreamingResponse) -> tuple[bytes, bytes]:
    out, err = b"", b""
    with resp:
        for item in resp:
            assert isinstance(item, Frame), item
            if item.stream == Stream.STDOUT:
                out += item.data
            else:
                err += item.data
    return out, err


def test_services_and_tasks(swarm, swarm_leftovers, test_image, uid):
    name = f"protocol-svc-{uid}"
    spec = {
        "Name": name,
        "Labels": {LABEL: uid},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": test_image,
                "Command": ["sh", "-c", "echo hello from service; sleep 1000"],
            },
            "RestartCondition": {"Condition": "none"},
        },
        "Mode": {"Replicated": {"Replicas": 1}},
        # No Networks: the task joins no swarm (overlay) network, so nothing
        # needs iptables on this daemon (--iptables=false --bridge=none).
    }
    created = swarm.call("services.create", json=spec)
    service_id = created["ID"]
    swarm_leftovers.append(("services", service_id))

    info = swarm.call("services.inspect", id=service_id)
    assert info["Spec"]["Name"] == name and info["Spec"]["Labels"] == {LABEL: uid}
    defaults = swarm.call("services.inspect", id=name, insert_defaults=True)
    assert defaults["ID"] == service_id and "UpdateConfig" in defaults["Spec"]

    listed = swarm.call("services.list", filters={"label": [f"{LABEL}={uid}"]}, status=True)
    assert [s["ID"] for s in listed] == [service_id]
    assert listed[0]["ServiceStatus"]["DesiredTasks"] == 1
    assert [s["ID"] for s in swarm.call("services.list", filters={"name": [name]})] == [service_id]

    # The task runs and logs (multiplexed frames through services.logs).
    def running_task():
        tasks = swarm.call("tasks.list", filters={"service": [service_id]})
        return [t for t in tasks if t["Status"]["State"] == "running"]

    task = _wait_for("a running task", running_task)[0]
    logs = _wait_for(
        "the service's output",
        lambda: (lambda o: o if b"hello from service" in o[0] else None)(
            _log_text(swarm.call("services.logs", id=service_id, stdout=True, stderr=True))
        ),
    )
    assert logs[0] == b"hello from service\n" and logs[1] == b""

    inspected = swarm.call("tasks.inspect", id=task["ID"])
    assert inspected["ServiceID"] == service_id and inspected["DesiredState"] == "running"
    assert inspected["Spec"]["ContainerSpec"]["Image"].startswith(test_image)
    out, _ = _log_text(swarm.call("tasks.logs", id=task["ID"], stdout=True, timestamps=True))
    assert out.endswith(b" hello from service\n")

    # Update a label with the current version index.
    version = info["Version"]["Index"]
    new_spec = {**info["Spec"], "Labels": {LABEL: uid, "changed": "yes"}}
    result = swarm.call("services.update", id=service_id, version=version, json=new_spec)
    assert result.get("Warnings") in (None, [])
    updated = swarm.call("services.inspect", id=service_id)
    assert updated["Spec"]["Labels"] == {LABEL: uid, "changed": "yes"}
    assert updated["Version"]["Index"] > version
    assert updated["PreviousSpec"]["Labels"] == {LABEL: uid}
    with pytest.raises(APIError) as stale:
        swarm.call("services.update", id=service_id, version=version, json=info["Spec"])
    assert "update out of sequence" in stale.value.message

    assert swarm.call("services.remove", id=service_id) is None
    with pytest.raises(NotFound):
        swarm.call("services.inspect", id=service_id)
    with pytest.raises(NotFound):
        swarm.call("services.remove", id=service_id)
    with pytest.raises(NotFound):
        swarm.call("tasks.inspect", id=f"no-such-task-{uid}")


@pytest.mark.parametrize("kind", ["secrets", "configs"])
def test_secrets_and_configs(swarm, swarm_leftovers, uid, kind):
    name = f"protocol-{kind}-{uid}"
    data = base64.b64encode(f"payload {uid}".encode()).decode()
    created = swarm.call(f"{kind}.create", json={"Name": name, "Data": data, "Labels": {LABEL: uid}})
    ident = created["ID"]
    swarm_leftovers.append((kind, ident))

    info = swarm.call(f"{kind}.inspect", id=ident)
    assert info["Spec"]["Name"] == name and info["Spec"]["Labels"] == {LABEL: uid}
    if kind == "secrets":
        assert "Data" not in info["Spec"]  # secrets never come back
    else:
        assert info["Spec"]["Data"] == data
    assert swarm.call(f"{kind}.inspect", id=name)["ID"] == ident
    listed = swarm.call(f"{kind}.list", filters={"label": [f"{LABEL}={uid}"]})
    assert [x["ID"] for x in listed] == [ident]
    assert [x["ID"] for x in swarm.call(f"{kind}.list", filters={"name": [name]})] == [ident]

    # Only the labels may change (Docker 20.10): new labels are accepted...
    version = info["Version"]["Index"]
    spec = {**info["Spec"], "Labels": {LABEL: uid, "changed": "yes"}}
    if kind == "configs":
        spec["Data"] = data  # the whole spec is sent back
    assert swarm.call(f"{kind}.update", id=ident, version=version, json=spec) is None
    after = swarm.call(f"{kind}.inspect", id=ident)
    assert after["Spec"]["Labels"] == {LABEL: uid, "changed": "yes"}
    assert after["Version"]["Index"] > version
    # ...other changes (the data) are refused with InvalidArgument (400).
    changed = {**after["Spec"], "Data": base64.b64encode(b"other").decode()}
    with pytest.raises(BadRequest) as info_err:
        swarm.call(f"{kind}.update", id=ident, version=after["Version"]["Index"], json=changed)
    assert "only updates to Labels are allowed" in info_err.value.message
    # A duplicate name is a conflict.
    with pytest.raises(APIError) as dup:
        swarm.call(f"{kind}.create", json={"Name": name, "Data": data})
    assert dup.value.status == 409

    assert swarm.call(f"{kind}.remove", id=ident) is None
    with pytest.raises(NotFound):
        swarm.call(f"{kind}.inspect", id=ident)
    with pytest.raises(NotFound):
        swarm.call(f"{kind}.remove", id=ident)


def test_swarm_endpoints_on_a_daemon_not_in_a_swarm(client):
    # The shared daemon is never in swarm mode: 503 "not a swarm manager".
    for name in ("swarm.inspect", "nodes.list", "services.list", "secrets.list", "configs.list"):
        with pytest.raises(ServerError) as info:
            client.call(name)
        assert info.value.status == 503 and "not a swarm manager" in info.value.message, name


def test_push_and_pull_with_the_docker_cli_config(client, registry, test_image, pushed_ref, tmp_path, monkeypatch):
    # auth=True reads credentials the way the docker CLI does: here from a
    # config.json with an "auths" entry (base64 "user:password").
    repo, tag = pushed_ref
    import base64
    import json

    config = {"auths": {registry.host: {"auth": base64.b64encode(
        f"{registry.username}:{registry.password}".encode()).decode()}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client.call("images.tag", name=test_image, repo=repo, tag=tag)
    messages = client.push(f"{repo}:{tag}", auth=True)
    assert any("aux" in m for m in messages)
    client.call("images.remove", name=f"{repo}:{tag}")
    client.pull(f"{repo}:{tag}", auth=True)
    assert client.call("images.inspect", name=f"{repo}:{tag}")["Id"]
    # A config without this registry: no credentials, and the registry says no.
    (tmp_path / "config.json").write_text(json.dumps({"auths": {}}))
    client.call("images.remove", name=f"{repo}:{tag}")
    with pytest.raises(Unauthorized):
        client.pull(f"{repo}:{tag}", auth=True)
