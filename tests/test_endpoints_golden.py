"""Golden tests: the exact bytes of every endpoint, at several API versions.

Expectations are written by hand from the API docs (moby docs/api v1.0-v1.24,
swagger 1.25+, version-history.md) and the wire facts, not derived from the
endpoint table: a wrong entry in the table fails here.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from protocol import Connection, LocalProtocolError, ResponseKind, UnsupportedVersion
from protocol._core._endpoints import (
    ENDPOINTS,
    BodyKind,
    build_request,
    encode_multipart,
    endpoint,
    endpoint_names,
    endpoint_table_markdown,
    parse_v1_0_progress,
)
from protocol._core._version import MAX_VERSION, APIVersion

LATEST = str(MAX_VERSION)
AUTH = base64.urlsafe_b64encode(
    json.dumps({"username": "u", "password": "p", "serveraddress": "r.example"}).encode()
).decode()
CFG = base64.urlsafe_b64encode(json.dumps({"r.example": {"username": "u"}}).encode()).decode()


def wire(name: str, version: str, /, **kw: Any) -> bytes:
    if "tty" not in kw:
        kw["tty"] = False
    return Connection().send_request(build_request(name, version, **kw))


def head(method: str, target: str, *headers: str, body: bytes | None = None,
         length: bool | None = None) -> bytes:
    """Expected bytes: request line, Host, the given headers, framing, body."""
    lines = [f"{method} {target} HTTP/1.1", "Host: docker", *headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif length if length is not None else method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


UPGRADE = ("Connection: Upgrade", "Upgrade: tcp")
JSON_CT = "Content-Type: application/json"
TAR_CT = "Content-Type: application/x-tar"

# ---------------------------------------------------------------------------
# Every endpoint: (name, method, concrete path, keywords, expected query, body,
# extra headers).  Checked at the first version of each variant, 1.24, 1.41
# and the latest version, wherever the endpoint has them.

CFG_BODY = {"Image": "alpine"}
ROUTES: list[tuple[str, str, str, dict[str, Any], str, bytes | None, tuple[str, ...]]] = [
    ("containers.ps", "GET", "/containers/ps", {"all": True}, "all=1", None, ()),
    ("containers.list", "GET", "/containers/json", {"all": True, "limit": 3}, "all=1&limit=3", None, ()),
    ("containers.create", "POST", "/containers/create", {"json": CFG_BODY},
     "", b'{"Image":"alpine"}', (JSON_CT,)),
    ("containers.inspect", "GET", "/containers/c1/json", {"id": "c1"}, "", None, ()),
    ("containers.top", "GET", "/containers/c1/top", {"id": "c1"}, "", None, ()),
    ("containers.logs", "GET", "/containers/c1/logs", {"id": "c1", "stdout": True, "follow": False},
     "follow=0&stdout=1", None, ()),
    ("containers.changes", "GET", "/containers/c1/changes", {"id": "c1"}, "", None, ()),
    ("containers.export", "GET", "/containers/c1/export", {"id": "c1"}, "", None, ()),
    ("containers.stats", "GET", "/containers/c1/stats", {"id": "c1"}, "", None, ()),
    ("containers.resize", "POST", "/containers/c1/resize", {"id": "c1", "h": 40, "w": 80},
     "h=40&w=80", None, ()),
    ("containers.start", "POST", "/containers/c1/start", {"id": "c1"}, "", None, ()),
    ("containers.stop", "POST", "/containers/c1/stop", {"id": "c1", "t": 5}, "t=5", None, ()),
    ("containers.restart", "POST", "/containers/c1/restart", {"id": "c1", "t": 5}, "t=5", None, ()),
    ("containers.kill", "POST", "/containers/c1/kill", {"id": "c1"}, "", None, ()),
    ("containers.update", "POST", "/containers/c1/update", {"id": "c1", "json": {"Memory": 1}},
     "", b'{"Memory":1}', (JSON_CT,)),
    ("containers.rename", "POST", "/containers/c1/rename", {"id": "c1", "name": "new"},
     "name=new", None, ()),
    ("containers.pause", "POST", "/containers/c1/pause", {"id": "c1"}, "", None, ()),
    ("containers.unpause", "POST", "/containers/c1/unpause", {"id": "c1"}, "", None, ()),
    ("containers.attach", "POST", "/containers/c1/attach",
     {"id": "c1", "stream": True, "stdout": True}, "stream=1&stdout=1", None, ()),
    ("containers.attach_ws", "GET", "/containers/c1/attach/ws", {"id": "c1", "stream": True},
     "stream=1", None, ()),
    ("containers.wait", "POST", "/containers/c1/wait", {"id": "c1"}, "", None, ()),
    ("containers.remove", "DELETE", "/containers/c1", {"id": "c1", "v": True}, "v=1", None, ()),
    ("containers.archive_info", "HEAD", "/containers/c1/archive", {"id": "c1", "path": "/etc/hosts"},
     "path=%2Fetc%2Fhosts", None, ()),
    ("containers.get_archive", "GET", "/containers/c1/archive", {"id": "c1", "path": "/etc"},
     "path=%2Fetc", None, ()),
    ("containers.put_archive", "PUT", "/containers/c1/archive",
     {"id": "c1", "path": "/tmp", "body": b"TAR"}, "path=%2Ftmp", b"TAR", (TAR_CT,)),
    ("containers.copy", "POST", "/containers/c1/copy", {"id": "c1", "json": {"Resource": "/etc"}},
     "", b'{"Resource":"/etc"}', (JSON_CT,)),
    ("containers.prune", "POST", "/containers/prune", {}, "", None, ()),
    ("images.list", "GET", "/images/json", {"all": False}, "all=0", None, ()),
    ("images.viz", "GET", "/images/viz", {}, "", None, ()),
    ("images.build", "POST", "/build", {"remote": "https://x/y.git"},
     "remote=https%3A%2F%2Fx%2Fy.git", None, ()),
    ("build.prune", "POST", "/build/prune", {}, "", None, ()),
    ("images.create", "POST", "/images/create", {"from_image": "alpine", "tag": "3"},
     "fromImage=alpine&tag=3", None, ()),
    ("images.insert", "POST", "/images/base/insert", {"name": "base", "url": "http://f", "path": "/f"},
     "url=http%3A%2F%2Ff&path=%2Ff", None, ()),
    ("images.inspect", "GET", "/images/library/alpine:3/json", {"name": "library/alpine:3"}, "", None, ()),
    ("images.history", "GET", "/images/alpine/history", {"name": "alpine"}, "", None, ()),
    ("images.push", "POST", "/images/me/app/push", {"name": "me/app"}, "", None, ()),
    ("images.tag", "POST", "/images/alpine/tag", {"name": "alpine", "repo": "me/a", "tag": "v1"},
     "repo=me%2Fa&tag=v1", None, ()),
    ("images.remove", "DELETE", "/images/alpine", {"name": "alpine"}, "", None, ()),
    ("images.search", "GET", "/images/search", {"term": "redis"}, "term=redis", None, ()),
    ("images.prune", "POST", "/images/prune", {}, "", None, ()),
    ("images.commit", "POST", "/commit", {"container": "c1", "repo": "me/snap"},
     "container=c1&repo=me%2Fsnap", None, ()),
    ("images.get", "GET", "/images/alpine/get", {"name": "alpine"}, "", None, ()),
    ("images.get_all", "GET", "/images/get", {"names": ["a", "b"]}, "names=a&names=b", None, ()),
    ("images.load", "POST", "/images/load", {"body": b"TAR"}, "", b"TAR", (TAR_CT,)),
    ("images.attestations", "GET", "/images/alpine/attestations", {"name": "alpine"}, "", None, ()),
    ("exec.create", "POST", "/containers/c1/exec", {"id": "c1", "json": {"Cmd": ["ls"]}},
     "", b'{"Cmd":["ls"]}', (JSON_CT,)),
    ("exec.start", "POST", "/exec/e1/start", {"id": "e1", "json": {"Detach": False, "Tty": False}},
     "", b'{"Detach":false,"Tty":false}', (JSON_CT,)),
    ("exec.resize", "POST", "/exec/e1/resize", {"id": "e1", "h": 1, "w": 2}, "h=1&w=2", None, ()),
    ("exec.inspect", "GET", "/exec/e1/json", {"id": "e1"}, "", None, ()),
    ("system.ping", "GET", "/_ping", {}, "", None, ()),
    ("system.ping_head", "HEAD", "/_ping", {}, "", None, ()),
    ("system.version", "GET", "/version", {}, "", None, ()),
    ("system.info", "GET", "/info", {}, "", None, ()),
    ("system.events", "GET", "/events", {"since": 100}, "since=100", None, ()),
    ("system.df", "GET", "/system/df", {}, "", None, ()),
    ("system.get_auth", "GET", "/auth", {}, "", None, ()),
    ("system.auth", "POST", "/auth", {"json": {"username": "u"}}, "", b'{"username":"u"}', (JSON_CT,)),
    ("system.session", "POST", "/session", {}, "", None, ("Connection: Upgrade", "Upgrade: h2c")),
    ("system.grpc", "POST", "/grpc", {}, "", None, ("Connection: Upgrade", "Upgrade: h2c")),
    ("networks.list", "GET", "/networks", {}, "", None, ()),
    ("networks.inspect", "GET", "/networks/n1", {"id": "n1"}, "", None, ()),
    ("networks.create", "POST", "/networks/create", {"json": {"Name": "n"}}, "", b'{"Name":"n"}', (JSON_CT,)),
    ("networks.connect", "POST", "/networks/n1/connect", {"id": "n1", "json": {"Container": "c"}},
     "", b'{"Container":"c"}', (JSON_CT,)),
    ("networks.disconnect", "POST", "/networks/n1/disconnect", {"id": "n1", "json": {"Container": "c"}},
     "", b'{"Container":"c"}', (JSON_CT,)),
    ("networks.remove", "DELETE", "/networks/n1", {"id": "n1"}, "", None, ()),
    ("networks.prune", "POST", "/networks/prune", {}, "", None, ()),
    ("volumes.list", "GET", "/volumes", {}, "", None, ()),
    ("volumes.create", "POST", "/volumes/create", {"json": {"Name": "v"}}, "", b'{"Name":"v"}', (JSON_CT,)),
    ("volumes.inspect", "GET", "/volumes/v1", {"name": "v1"}, "", None, ()),
    ("volumes.update", "PUT", "/volumes/v1", {"name": "v1", "version": 7, "json": {"Spec": {}}},
     "version=7", b'{"Spec":{}}', (JSON_CT,)),
    ("volumes.remove", "DELETE", "/volumes/v1", {"name": "v1"}, "", None, ()),
    ("volumes.prune", "POST", "/volumes/prune", {}, "", None, ()),
    ("distribution.inspect", "GET", "/distribution/docker.io/library/alpine:3/json",
     {"name": "docker.io/library/alpine:3"}, "", None, ()),
    ("plugins.list", "GET", "/plugins", {}, "", None, ()),
    ("plugins.privileges", "GET", "/plugins/privileges", {"remote": "vieux/sshfs"},
     "remote=vieux%2Fsshfs", None, ()),
    ("plugins.pull", "POST", "/plugins/pull", {"remote": "vieux/sshfs", "json": []},
     "remote=vieux%2Fsshfs", b"[]", (JSON_CT,)),
    ("plugins.inspect", "GET", "/plugins/vieux/sshfs:latest/json", {"name": "vieux/sshfs:latest"}, "", None, ()),
    ("plugins.remove", "DELETE", "/plugins/vieux/sshfs", {"name": "vieux/sshfs", "force": True},
     "force=1", None, ()),
    ("plugins.enable", "POST", "/plugins/p/enable", {"name": "p", "timeout": 0}, "timeout=0", None, ()),
    ("plugins.disable", "POST", "/plugins/p/disable", {"name": "p"}, "", None, ()),
    ("plugins.upgrade", "POST", "/plugins/p/upgrade", {"name": "p", "remote": "q", "json": []},
     "remote=q", b"[]", (JSON_CT,)),
    ("plugins.create", "POST", "/plugins/create", {"name": "p", "body": b"TAR"}, "name=p", b"TAR", (TAR_CT,)),
    ("plugins.push", "POST", "/plugins/p/push", {"name": "p"}, "", None, ()),
    ("plugins.set", "POST", "/plugins/p/set", {"name": "p", "json": ["DEBUG=1"]},
     "", b'["DEBUG=1"]', (JSON_CT,)),
    ("swarm.inspect", "GET", "/swarm", {}, "", None, ()),
    ("swarm.init", "POST", "/swarm/init", {"json": {"ListenAddr": "0.0.0.0"}},
     "", b'{"ListenAddr":"0.0.0.0"}', (JSON_CT,)),
    ("swarm.join", "POST", "/swarm/join", {"json": {"JoinToken": "t"}}, "", b'{"JoinToken":"t"}', (JSON_CT,)),
    ("swarm.leave", "POST", "/swarm/leave", {"force": True}, "force=1", None, ()),
    ("swarm.update", "POST", "/swarm/update", {"version": 3, "json": {}}, "version=3", b"{}", (JSON_CT,)),
    ("swarm.unlockkey", "GET", "/swarm/unlockkey", {}, "", None, ()),
    ("swarm.unlock", "POST", "/swarm/unlock", {"json": {"UnlockKey": "k"}}, "", b'{"UnlockKey":"k"}', (JSON_CT,)),
    ("nodes.list", "GET", "/nodes", {}, "", None, ()),
    ("nodes.inspect", "GET", "/nodes/n1", {"id": "n1"}, "", None, ()),
    ("nodes.update", "POST", "/nodes/n1/update", {"id": "n1", "version": 9, "json": {}},
     "version=9", b"{}", (JSON_CT,)),
    ("nodes.remove", "DELETE", "/nodes/n1", {"id": "n1"}, "", None, ()),
    ("services.list", "GET", "/services", {}, "", None, ()),
    ("services.create", "POST", "/services/create", {"json": {"Name": "s"}}, "", b'{"Name":"s"}', (JSON_CT,)),
    ("services.inspect", "GET", "/services/s1", {"id": "s1"}, "", None, ()),
    ("services.update", "POST", "/services/s1/update", {"id": "s1", "version": 2, "json": {}},
     "version=2", b"{}", (JSON_CT,)),
    ("services.remove", "DELETE", "/services/s1", {"id": "s1"}, "", None, ()),
    ("services.logs", "GET", "/services/s1/logs", {"id": "s1", "stdout": True}, "stdout=1", None, ()),
    ("tasks.list", "GET", "/tasks", {}, "", None, ()),
    ("tasks.inspect", "GET", "/tasks/t1", {"id": "t1"}, "", None, ()),
    ("tasks.logs", "GET", "/tasks/t1/logs", {"id": "t1", "stderr": True}, "stderr=1", None, ()),
    ("secrets.list", "GET", "/secrets", {}, "", None, ()),
    ("secrets.create", "POST", "/secrets/create", {"json": {"Name": "s"}}, "", b'{"Name":"s"}', (JSON_CT,)),
    ("secrets.inspect", "GET", "/secrets/s1", {"id": "s1"}, "", None, ()),
    ("secrets.update", "POST", "/secrets/s1/update", {"id": "s1", "version": 1, "json": {}},
     "version=1", b"{}", (JSON_CT,)),
    ("secrets.remove", "DELETE", "/secrets/s1", {"id": "s1"}, "", None, ()),
    ("configs.list", "GET", "/configs", {}, "", None, ()),
    ("configs.create", "POST", "/configs/create", {"json": {"Name": "c"}}, "", b'{"Name":"c"}', (JSON_CT,)),
    ("configs.inspect", "GET", "/configs/c1", {"id": "c1"}, "", None, ()),
    ("configs.update", "POST", "/configs/c1/update", {"id": "c1", "version": 1, "json": {}},
     "version=1", b"{}", (JSON_CT,)),
    ("configs.remove", "DELETE", "/configs/c1", {"id": "c1"}, "", None, ()),
]

# The versions each endpoint exists at, written from the docs (first, last).
RANGES: dict[str, tuple[str, str | None]] = {
    "containers.ps": ("1.0", "1.20"), "containers.list": ("1.1", None),
    "containers.create": ("1.0", None), "containers.inspect": ("1.0", None),
    "containers.top": ("1.3", None), "containers.logs": ("1.11", None),
    "containers.changes": ("1.0", None), "containers.export": ("1.0", None),
    "containers.stats": ("1.17", None), "containers.resize": ("1.1", None),
    "containers.start": ("1.0", None), "containers.stop": ("1.0", None),
    "containers.restart": ("1.0", None), "containers.kill": ("1.0", None),
    "containers.update": ("1.22", None), "containers.rename": ("1.17", None),
    "containers.pause": ("1.12", None), "containers.unpause": ("1.12", None),
    "containers.attach": ("1.0", None), "containers.attach_ws": ("1.4", None),
    "containers.wait": ("1.0", None), "containers.remove": ("1.0", None),
    "containers.archive_info": ("1.20", None), "containers.get_archive": ("1.20", None),
    "containers.put_archive": ("1.20", None), "containers.copy": ("1.4", "1.23"),
    "containers.prune": ("1.25", None), "images.list": ("1.0", None),
    "images.viz": ("1.0", "1.6"), "images.build": ("1.1", None), "build.prune": ("1.31", None),
    "images.create": ("1.0", None), "images.insert": ("1.0", "1.11"),
    "images.inspect": ("1.0", None), "images.history": ("1.0", None),
    "images.push": ("1.0", None), "images.tag": ("1.0", None), "images.remove": ("1.0", None),
    "images.search": ("1.0", None), "images.prune": ("1.25", None), "images.commit": ("1.0", None),
    "images.get": ("1.7", None), "images.get_all": ("1.15", None), "images.load": ("1.7", None),
    "images.attestations": ("1.55", None), "exec.create": ("1.15", None),
    "exec.start": ("1.15", None), "exec.resize": ("1.15", None), "exec.inspect": ("1.16", None),
    "system.ping": ("1.11", None), "system.ping_head": ("1.40", None),
    "system.version": ("1.0", None), "system.info": ("1.0", None), "system.events": ("1.3", None),
    "system.df": ("1.25", None), "system.get_auth": ("1.0", "1.1"), "system.auth": ("1.0", None),
    "system.session": ("1.39", None), "system.grpc": ("1.40", None),
    **{f"networks.{a}": ("1.21", None) for a in ("list", "inspect", "create", "connect", "disconnect", "remove")},
    "networks.prune": ("1.25", None),
    **{f"volumes.{a}": ("1.21", None) for a in ("list", "create", "inspect", "remove")},
    "volumes.update": ("1.42", None), "volumes.prune": ("1.25", None),
    "distribution.inspect": ("1.30", None),
    **{f"plugins.{a}": ("1.25", None) for a in (
        "list", "privileges", "pull", "inspect", "remove", "enable", "disable", "create", "push", "set")},
    "plugins.upgrade": ("1.26", None),
    **{f"swarm.{a}": ("1.24", None) for a in ("inspect", "init", "join", "leave", "update")},
    "swarm.unlockkey": ("1.25", None), "swarm.unlock": ("1.25", None),
    **{f"nodes.{a}": ("1.24", None) for a in ("list", "inspect", "update", "remove")},
    **{f"services.{a}": ("1.24", None) for a in ("list", "create", "inspect", "update", "remove")},
    "services.logs": ("1.29", None),
    "tasks.list": ("1.24", None), "tasks.inspect": ("1.24", None), "tasks.logs": ("1.29", None),
    **{f"secrets.{a}": ("1.25", None) for a in ("list", "create", "inspect", "remove")},
    "secrets.update": ("1.26", None),
    **{f"configs.{a}": ("1.30", None) for a in ("list", "create", "inspect", "update", "remove")},
}


def _in(v: str, lo: str, hi: str | None) -> bool:
    return APIVersion(lo) <= APIVersion(v) and (hi is None or APIVersion(v) <= APIVersion(hi))


def _cases() -> list[Any]:
    out = []
    for name, method, path, kw, query, body, extra in ROUTES:
        lo, hi = RANGES[name]
        versions = {lo, "1.24", "1.41", LATEST} | {e.since for e in ENDPOINTS if e.name == name}
        for v in sorted(versions, key=APIVersion):
            if name == "images.build" and APIVersion(v) < APIVersion("1.3"):
                continue  # multipart bytes: test_v1_1_multipart_build
            if _in(v, lo, hi):
                out.append(pytest.param(name, v, method, path, kw, query, body, extra, id=f"{name}@{v}"))
    return out


@pytest.mark.parametrize("name,version,method,path,kw,query,body,extra", _cases())
def test_every_endpoint_golden(name: str, version: str, method: str, path: str, kw: dict[str, Any],
                               query: str, body: bytes | None, extra: tuple[str, ...]) -> None:
    kw = dict(kw)
    if name == "plugins.privileges" and APIVersion(version) < APIVersion("1.27"):
        kw, query = {"name": "vieux/sshfs"}, "name=vieux%2Fsshfs"  # renamed remote in 1.27
    target = f"/v{version}{path}" + (f"?{query}" if query else "")
    headers = list(extra)
    if name in ("containers.attach", "exec.start") and APIVersion(version) >= APIVersion("1.17"):
        headers += UPGRADE
    assert wire(name, version, **kw) == head(method, target, *headers, body=body)


def test_every_endpoint_is_covered() -> None:
    assert {r[0] for r in ROUTES} == set(endpoint_names()) == set(RANGES)


@pytest.mark.parametrize("name", sorted(RANGES))
def test_endpoint_ranges_match_docs(name: str) -> None:
    lo, hi = RANGES[name]
    variants = [e for e in ENDPOINTS if e.name == name]
    assert variants[0].since == lo
    assert variants[-1].until == hi
    # Variants are contiguous: no hole between eras.
    for a, b in zip(variants, variants[1:]):
        assert a.until is not None
        assert (APIVersion(a.until).major, APIVersion(a.until).minor + 1) == APIVersion(b.since).as_tuple()


# ---------------------------------------------------------------------------
# Endpoint boundaries: just below -> UnsupportedVersion, at -> allowed; and
# just above the last version for removed endpoints.

def _below(v: str) -> str | None:
    a = APIVersion(v)
    return None if a.minor == 0 else f"{a.major}.{a.minor - 1}"


def _above(v: str) -> str:
    a = APIVersion(v)
    return f"{a.major}.{a.minor + 1}"


_ROUTE_KW = {r[0]: r[3] for r in ROUTES}


@pytest.mark.parametrize("name", sorted(RANGES))
def test_endpoint_version_boundaries(name: str) -> None:
    lo, hi = RANGES[name]
    kw = dict(_ROUTE_KW[name])
    if name == "images.build":
        kw = {"body": {"Dockerfile": b"FROM x\n"}}
    if name == "plugins.privileges":
        kw = {"name": "p"}
    build_request(name, lo, **kw)
    below = _below(lo)
    if below is not None:
        with pytest.raises(UnsupportedVersion) as info:
            build_request(name, below, **kw)
        assert f"needs API >= {lo}; the daemon speaks {below}" in str(info.value)
        assert info.value.minimum == APIVersion(lo)
    if hi is not None:
        build_request(name, hi, **{k: v for k, v in kw.items() if k != "t"})
        with pytest.raises(UnsupportedVersion) as info:
            build_request(name, _above(hi), **kw)
        assert f"was removed after API {hi}" in str(info.value)


# ---------------------------------------------------------------------------
# Parameter boundaries, written from version-history.md / the old docs:
# (endpoint, keywords without the gated one, gated keyword and value, since, until)

GATED: list[tuple[str, dict[str, Any], str, Any, str | None, str | None]] = [
    ("containers.ps", {}, "size", True, "1.3", None),
    ("containers.ps", {}, "filters", {"status": ["exited"]}, "1.12", None),
    ("containers.list", {}, "size", True, "1.3", None),
    ("containers.list", {}, "filters", {"status": ["exited"]}, "1.12", None),
    ("containers.list", {}, "since", "abc", None, "1.24"),
    ("containers.list", {}, "before", "abc", None, "1.24"),
    ("containers.create", {"json": {}}, "name", "web", "1.6", None),
    ("containers.create", {"json": {}}, "platform", "linux/arm64", "1.41", None),
    ("containers.inspect", {"id": "c"}, "size", True, "1.21", None),
    ("containers.top", {"id": "c"}, "ps_args", "aux", "1.4", None),
    ("containers.logs", {"id": "c"}, "tail", "10", "1.13", None),
    ("containers.logs", {"id": "c"}, "since", 5, "1.19", None),
    ("containers.logs", {"id": "c"}, "details", True, "1.23", None),
    ("containers.logs", {"id": "c"}, "until", 5, "1.35", None),
    ("containers.stats", {"id": "c"}, "stream", False, "1.19", None),
    ("containers.stats", {"id": "c"}, "one_shot", True, "1.41", None),
    ("containers.start", {"id": "c"}, "detach_keys", "ctrl-x", "1.22", None),
    ("containers.stop", {"id": "c"}, "signal", "SIGINT", "1.42", None),
    ("containers.restart", {"id": "c"}, "signal", "SIGINT", "1.42", None),
    ("containers.kill", {"id": "c"}, "signal", "SIGHUP", "1.6", None),
    ("containers.attach", {"id": "c"}, "detach_keys", "ctrl-x", "1.22", None),
    ("containers.attach_ws", {"id": "c"}, "detach_keys", "ctrl-x", "1.22", None),
    ("containers.attach_ws", {"id": "c"}, "stdin", True, "1.42", None),
    ("containers.attach_ws", {"id": "c"}, "stdout", True, "1.42", None),
    ("containers.attach_ws", {"id": "c"}, "stderr", True, "1.42", None),
    ("containers.wait", {"id": "c"}, "condition", "removed", "1.30", None),
    ("containers.remove", {"id": "c"}, "force", True, "1.10", None),
    ("containers.remove", {"id": "c"}, "link", True, "1.6", None),
    ("containers.put_archive", {"id": "c", "path": "/", "body": b"x"}, "copy_uid_gid", True, "1.30", None),
    ("images.list", {}, "filter", "alpine", None, "1.40"),
    ("images.list", {}, "filters", {"dangling": ["true"]}, "1.12", None),
    ("images.list", {}, "digests", True, "1.18", None),
    ("images.list", {}, "shared_size", True, "1.42", None),
    ("images.list", {}, "manifests", True, "1.47", None),
    ("images.list", {}, "identity", True, "1.54", None),
    ("images.build", {}, "remote", "https://x", "1.3", None),
    ("images.build", {}, "q", True, "1.3", None),
    ("images.build", {}, "nocache", True, "1.4", None),
    ("images.build", {}, "rm", True, "1.5", None),
    ("images.build", {}, "forcerm", True, "1.12", None),
    ("images.build", {}, "pull", True, "1.16", None),
    ("images.build", {}, "dockerfile", "Dockerfile.dev", "1.17", None),
    ("images.build", {}, "memory", 1, "1.18", None),
    ("images.build", {}, "memswap", -1, "1.18", None),
    ("images.build", {}, "cpushares", 512, "1.18", None),
    ("images.build", {}, "cpusetcpus", "0-1", "1.18", None),
    ("images.build", {}, "cpuperiod", 1, "1.19", None),
    ("images.build", {}, "cpuquota", 1, "1.19", None),
    ("images.build", {}, "squash", True, "1.25", None),
    ("images.build", {}, "buildargs", {"A": "1"}, "1.21", None),
    ("images.build", {}, "shmsize", 1, "1.22", None),
    ("images.build", {}, "labels", {"a": "b"}, "1.23", None),
    ("images.build", {}, "cachefrom", ["a"], "1.25", None),
    ("images.build", {}, "networkmode", "host", "1.25", None),
    ("images.build", {}, "extrahosts", ["h:1.2.3.4"], "1.28", None),
    ("images.build", {}, "platform", "linux/arm64", "1.32", None),
    ("images.build", {}, "target", "stage", "1.37", None),
    ("images.build", {}, "builder_version", "2", "1.38", None),
    ("images.build", {}, "outputs", [{"Type": "local"}], "1.40", None),
    ("build.prune", {}, "keep_storage", 1, "1.39", "1.51"),
    ("build.prune", {}, "all", True, "1.39", None),
    ("build.prune", {}, "filters", {"until": ["24h"]}, "1.39", None),
    ("build.prune", {}, "reserved_space", 1, "1.48", None),
    ("build.prune", {}, "max_used_space", 1, "1.48", None),
    ("build.prune", {}, "min_free_space", 1, "1.48", None),
    ("images.create", {"from_image": "a"}, "registry", "r", None, "1.3"),
    ("images.create", {"from_image": "a"}, "platform", "linux/arm64", "1.32", None),
    ("images.create", {"from_src": "-"}, "message", "m", "1.39", None),
    ("images.create", {"from_src": "-"}, "changes", ["ENV A=1"], "1.40", None),
    ("images.inspect", {"name": "a"}, "manifests", True, "1.48", None),
    ("images.inspect", {"name": "a"}, "platform", {"os": "linux"}, "1.49", None),
    ("images.history", {"name": "a"}, "platform", {"os": "linux"}, "1.48", None),
    ("images.push", {"name": "a"}, "registry", "r", None, "1.3"),
    ("images.push", {"name": "a"}, "tag", "v1", "1.10", None),
    ("images.push", {"name": "a"}, "platform", {"os": "linux"}, "1.46", None),
    ("images.tag", {"name": "a", "repo": "b"}, "force", True, None, "1.23"),
    ("images.remove", {"name": "a"}, "force", True, "1.10", None),
    ("images.remove", {"name": "a"}, "noprune", True, "1.10", None),
    ("images.remove", {"name": "a"}, "platforms", [{"os": "linux"}], "1.50", None),
    ("images.search", {"term": "a"}, "limit", 5, "1.24", None),
    ("images.search", {"term": "a"}, "filters", {"stars": ["3"]}, "1.24", None),
    ("images.commit", {"container": "c"}, "pause", False, "1.13", None),
    ("images.commit", {"container": "c"}, "changes", ["CMD x"], "1.20", None),
    ("images.get", {"name": "a"}, "platform", [{"os": "linux"}], "1.48", None),
    ("images.get_all", {"names": ["a"]}, "platform", [{"os": "linux"}], "1.48", None),
    ("images.load", {"body": b"x"}, "quiet", True, "1.23", None),
    ("images.load", {"body": b"x"}, "platform", [{"os": "linux"}], "1.48", None),
    ("system.events", {}, "until", 5, "1.11", None),
    ("system.events", {}, "filters", {"type": ["container"]}, "1.16", None),
    ("system.df", {}, "type", ["image"], "1.42", None),
    ("system.df", {}, "verbose", True, "1.52", None),
    ("networks.inspect", {"id": "n"}, "verbose", True, "1.28", None),
    ("networks.inspect", {"id": "n"}, "scope", "swarm", "1.31", None),
    ("volumes.remove", {"name": "v"}, "force", True, "1.25", None),
    ("plugins.list", {}, "filters", {"enable": ["true"]}, "1.28", None),
    ("plugins.privileges", {}, "name", "p", None, "1.26"),
    ("plugins.disable", {"name": "p"}, "force", True, "1.28", None),
    ("swarm.update", {"version": 1, "json": {}}, "rotate_manager_unlock_key", True, "1.25", None),
    ("services.list", {}, "status", True, "1.41", None),
    ("services.inspect", {"id": "s"}, "insert_defaults", True, "1.29", None),
    ("services.update", {"id": "s", "version": 1, "json": {}}, "registry_auth_from", "spec", "1.25", None),
    ("services.update", {"id": "s", "version": 1, "json": {}}, "rollback", "previous", "1.28", None),
]


def _ok(name: str, version: str, kw: dict[str, Any]) -> None:
    kw = dict(kw)
    ep = endpoint(name, version)
    if ep.body is BodyKind.MULTIPART:
        kw.setdefault("body", {"Dockerfile": b"FROM x\n"})
    build_request(name, version, **kw)


@pytest.mark.parametrize("name,base,key,value,since,until", GATED,
                         ids=[f"{g[0]}:{g[2]}" for g in GATED])
def test_parameter_boundaries(name: str, base: dict[str, Any], key: str, value: Any,
                              since: str | None, until: str | None) -> None:
    if since is not None:
        _ok(name, since, {**base, key: value})
        below = _below(since)
        if below is not None and endpoint(name).since != since:
            first = [e for e in ENDPOINTS if e.name == name][0].since
            if APIVersion(below) >= APIVersion(first):
                with pytest.raises(UnsupportedVersion) as info:
                    _ok(name, below, {**base, key: value})
                assert info.value.minimum == APIVersion(since)
                assert f"needs API >= {since}" in str(info.value)
                _ok(name, below, base)  # the endpoint itself is fine there
    if until is not None:
        _ok(name, until, {**base, key: value})
        after = _above(until)
        with pytest.raises(UnsupportedVersion) as info:
            _ok(name, after, {**base, key: value})
        assert f"was removed after API {until}" in str(info.value)


def test_every_gated_parameter_is_tested() -> None:
    tested = {(g[0], g[2]) for g in GATED}
    for ep in ENDPOINTS:
        first = [e for e in ENDPOINTS if e.name == ep.name][0].since
        for p in ep.query:
            gated = (p.since is not None and APIVersion(p.since) > APIVersion(first)) or (
                p.until is not None and (ep.until is None or APIVersion(p.until) < APIVersion(ep.until)))
            if gated and not p.form:
                assert (ep.name, p.name) in tested, (ep.name, p.name)


# ---------------------------------------------------------------------------
# Spot checks: the eras of the old API (wire facts sections 1, 4, 5).

def test_v1_0_push_uses_stored_auth_and_answers_text() -> None:
    req = build_request("images.push", "1.0", name="me/app", registry="r.example")
    assert req.kind is ResponseKind.TEXT
    assert Connection().send_request(req) == head(
        "POST", "/v1.0/images/me/app/push?registry=r.example")
    with pytest.raises(UnsupportedVersion, match=r"registry_auth \(images.push\) needs API >= 1.2"):
        build_request("images.push", "1.0", name="me/app", registry_auth=AUTH)


def test_v1_1_push_is_a_json_stream_with_stored_auth() -> None:
    req = build_request("images.push", "1.1", name="me/app")
    assert req.kind is ResponseKind.JSON_STREAM
    with pytest.raises(UnsupportedVersion):
        build_request("images.push", "1.1", name="me/app", registry_auth=AUTH)


def test_v1_2_push_sends_auth_config_as_body() -> None:
    cfg = b'{"username":"u","password":"p","email":"e@x"}'
    enc = base64.urlsafe_b64encode(cfg).decode().rstrip("=")  # padding optional
    assert wire("images.push", "1.2", name="me/app", registry_auth=enc) == head(
        "POST", "/v1.2/images/me/app/push", JSON_CT, body=cfg)
    # Same with the config given directly.
    assert wire("images.push", "1.4", name="me/app", json={"username": "u"}) == head(
        "POST", "/v1.4/images/me/app/push", JSON_CT, body=b'{"username":"u"}')
    with pytest.raises(LocalProtocolError, match="base64url"):
        build_request("images.push", "1.3", name="me/app", registry_auth="%%%")


def test_v1_5_push_sends_x_registry_auth() -> None:
    assert wire("images.push", "1.5", name="me/app", registry_auth=AUTH) == head(
        "POST", "/v1.5/images/me/app/push", f"X-Registry-Auth: {AUTH}")
    assert wire("images.push", "1.41", name="me/app", tag="v1", registry_auth=AUTH) == head(
        "POST", "/v1.41/images/me/app/push?tag=v1", f"X-Registry-Auth: {AUTH}")


def test_v1_0_get_auth_and_post_auth() -> None:
    assert wire("system.get_auth", "1.0") == head("GET", "/v1.0/auth")
    assert wire("system.get_auth", "1.1") == head("GET", "/v1.1/auth")
    with pytest.raises(UnsupportedVersion, match="was removed after API 1.1; the daemon speaks 1.2"):
        build_request("system.get_auth", "1.2")
    body = b'{"username":"u","password":"p","email":"e@x"}'
    for v in ("1.0", "1.2", LATEST):
        assert wire("system.auth", v, json={"username": "u", "password": "p", "email": "e@x"}) == head(
            "POST", f"/v{v}/auth", JSON_CT, body=body)
    assert "stores" in endpoint("system.auth", "1.1").doc
    assert "check" in endpoint("system.auth", "1.2").doc


def test_v1_1_multipart_build() -> None:
    req = build_request("images.build", "1.1", t="me/app:1",
                        body={"Dockerfile": b"FROM base\nRUN true\n", "Context": b"TARDATA"})
    assert req.kind is ResponseKind.TEXT
    assert req.query == ""  # t travels as a form field
    raw = Connection().send_request(req)
    headers, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"Content-Type: multipart/form-data; boundary=(\S+)", headers)
    assert m is not None
    b = m.group(1)
    assert headers.startswith(b"POST /v1.1/build HTTP/1.1\r\nHost: docker\r\n")
    assert body == (
        b"--" + b + b'\r\nContent-Disposition: form-data; name="t"\r\n\r\nme/app:1\r\n'
        b"--" + b + b'\r\nContent-Disposition: form-data; name="Dockerfile"; filename="Dockerfile"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nFROM base\nRUN true\n\r\n"
        b"--" + b + b'\r\nContent-Disposition: form-data; name="Context"; filename="Context"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nTARDATA\r\n"
        b"--" + b + b"--\r\n"
    )
    assert f"Content-Length: {len(body)}".encode() in headers
    # Deterministic: the same input gives the same bytes.
    assert Connection().send_request(build_request(
        "images.build", "1.2", t="me/app:1",
        body={"Dockerfile": b"FROM base\nRUN true\n", "Context": b"TARDATA"})).split(b"\r\n", 1)[1] == \
        raw.split(b"\r\n", 1)[1]
    with pytest.raises(LocalProtocolError, match="multipart"):
        build_request("images.build", "1.2", body=b"a tar")
    with pytest.raises(LocalProtocolError, match="Dockerfile"):
        build_request("images.build", "1.2", body={"Context": b"x"})
    with pytest.raises(UnsupportedVersion, match="remote"):
        build_request("images.build", "1.2", remote="https://x", body={"Dockerfile": b""})
    with pytest.raises(UnsupportedVersion, match="needs API >= 1.1; the daemon speaks 1.0"):
        build_request("images.build", "1.0", body={"Dockerfile": b""})


def test_encode_multipart_rejects_bad_names() -> None:
    with pytest.raises(LocalProtocolError):
        encode_multipart({'a"b': b""})


def test_v1_3_tar_build() -> None:
    req = build_request("images.build", "1.3", t="me/app", q=True, body=b"TAR")
    assert req.kind is ResponseKind.TEXT
    assert Connection().send_request(req) == head(
        "POST", "/v1.3/build?t=me%2Fapp&q=1", TAR_CT, body=b"TAR")
    assert build_request("images.build", "1.7", body=b"x").kind is ResponseKind.TEXT
    assert build_request("images.build", "1.8", body=b"x").kind is ResponseKind.JSON_STREAM


def test_build_registry_headers_by_version() -> None:
    assert wire("images.build", "1.7", body=b"T", registry_auth=AUTH) == head(
        "POST", "/v1.7/build", f"X-Registry-Auth: {AUTH}", TAR_CT, body=b"T")
    assert wire("images.build", "1.8", body=b"T", registry_auth=AUTH) == head(
        "POST", "/v1.8/build", f"X-Registry-Auth: {AUTH}", TAR_CT, body=b"T")
    with pytest.raises(UnsupportedVersion, match="registry_auth"):
        build_request("images.build", "1.9", body=b"T", registry_auth=AUTH)
    with pytest.raises(UnsupportedVersion, match="registry_auth .* needs API >= 1.7"):
        build_request("images.build", "1.6", body=b"T", registry_auth=AUTH)
    assert wire("images.build", "1.9", body=b"T", registry_config=CFG) == head(
        "POST", "/v1.9/build", f"X-Registry-Config: {CFG}", TAR_CT, body=b"T")
    with pytest.raises(UnsupportedVersion, match="registry_config .* needs API >= 1.9"):
        build_request("images.build", "1.8", body=b"T", registry_config=CFG)
    # A modern build, several tags, build args and labels as JSON.
    assert wire("images.build", "1.41", body=b"T", t=["a:1", "b:2"], buildargs={"X": "1"},
                labels={"k": "v"}, rm=True, registry_config=CFG) == head(
        "POST", "/v1.41/build?t=a%3A1&t=b%3A2&rm=1&buildargs=%7B%22X%22%3A%221%22%7D"
        "&labels=%7B%22k%22%3A%22v%22%7D",
        f"X-Registry-Config: {CFG}", TAR_CT, body=b"T")


def test_v1_0_pull_progress_is_text_and_parses() -> None:
    req = build_request("images.create", "1.0", from_image="base", registry="r.example")
    assert req.kind is ResponseKind.TEXT
    assert Connection().send_request(req) == head(
        "POST", "/v1.0/images/create?fromImage=base&registry=r.example")
    text = (
        "Pulling repository base from https://index.docker.io/v1\r\n"
        "Pulling b750fe79269d metadata\r\n"
        "Pulling b750fe79269d fs layer\r\n"
        "Downloading 4096/10240 (40%)\rDownloading 10240/10240 (100%)\r\n"
        "Downloading 512/? (n/a)\r\n"
        "Error: something broke\n"
    )
    assert parse_v1_0_progress(text) == [
        {"status": "Pulling repository base from https://index.docker.io/v1"},
        {"status": "Pulling b750fe79269d metadata"},
        {"status": "Pulling b750fe79269d fs layer"},
        {"status": "Downloading", "progress": "4096/10240 (40%)"},
        {"status": "Downloading", "progress": "10240/10240 (100%)"},
        {"status": "Downloading", "progress": "512/? (n/a)"},
        {"error": "something broke", "errorDetail": {"message": "something broke"}},
    ]
    assert parse_v1_0_progress(b"a\rb\n\n") == [{"status": "a"}, {"status": "b"}]
    assert build_request("images.create", "1.1", from_image="base").kind is ResponseKind.JSON_STREAM


def test_pull_auth_and_platform() -> None:
    assert wire("images.create", "1.32", from_image="alpine", tag="3", platform="linux/arm64",
                registry_auth=AUTH) == head(
        "POST", "/v1.32/images/create?fromImage=alpine&tag=3&platform=linux%2Farm64",
        f"X-Registry-Auth: {AUTH}")
    with pytest.raises(UnsupportedVersion, match=r"platform \(images.create\) needs API >= 1.32; the daemon speaks 1.30"):
        build_request("images.create", "1.30", from_image="alpine", platform="linux/arm64")
    with pytest.raises(UnsupportedVersion, match="registry_auth .* needs API >= 1.5"):
        build_request("images.create", "1.4", from_image="alpine", registry_auth=AUTH)


def test_import_from_request_body() -> None:
    assert wire("images.create", "1.24", from_src="-", repo="me/imp", body=b"TARBYTES") == head(
        "POST", "/v1.24/images/create?fromSrc=-&repo=me%2Fimp", body=b"TARBYTES")


def test_insert_eras() -> None:
    assert build_request("images.insert", "1.0", name="b", url="u", path="/p").kind is ResponseKind.TEXT
    assert build_request("images.insert", "1.11", name="b", url="u", path="/p").kind is ResponseKind.JSON_STREAM
    with pytest.raises(UnsupportedVersion, match="was removed after API 1.11"):
        build_request("images.insert", "1.12", name="b", url="u", path="/p")
    with pytest.raises(LocalProtocolError, match="'url'"):
        build_request("images.insert", "1.5", name="b", path="/p")


def test_image_delete_eras() -> None:
    assert build_request("images.remove", "1.1", name="a").kind is ResponseKind.EMPTY
    assert build_request("images.remove", "1.2", name="a").kind is ResponseKind.JSON
    assert wire("images.remove", "1.50", name="a", force=True,
                platforms=[{"os": "linux", "architecture": "arm64"}]) == head(
        "DELETE", "/v1.50/images/a?force=1&platforms=%7B%22architecture%22%3A%22arm64%22%2C%22os%22%3A%22linux%22%7D")
    with pytest.raises(UnsupportedVersion, match=r"force \(images.remove\) needs API >= 1.10"):
        build_request("images.remove", "1.1", name="a", force=True)


def test_containers_ps_alias_and_list() -> None:
    assert wire("containers.ps", "1.0", all=True, limit=5) == head("GET", "/v1.0/containers/ps?all=1&limit=5")
    with pytest.raises(UnsupportedVersion, match="needs API >= 1.1"):
        build_request("containers.list", "1.0")
    with pytest.raises(UnsupportedVersion, match="was removed after API 1.20"):
        build_request("containers.ps", "1.21")
    assert wire("containers.list", "1.41", all=True, size=True, filters={"status": ["exited"]}) == head(
        "GET", "/v1.41/containers/json?all=1&size=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D")


def test_start_body_until_1_23() -> None:
    assert wire("containers.start", "1.23", id="c", json={"Binds": []}) == head(
        "POST", "/v1.23/containers/c/start", JSON_CT, body=b'{"Binds":[]}')
    with pytest.raises(LocalProtocolError, match="takes no request body"):
        build_request("containers.start", "1.24", id="c", json={"Binds": []})


def test_archive_endpoints() -> None:
    assert wire("containers.archive_info", "1.20", id="c", path="/etc") == head(
        "HEAD", "/v1.20/containers/c/archive?path=%2Fetc", length=False)
    assert wire("containers.put_archive", "1.41", id="c", path="/tmp", no_overwrite_dir_non_dir=True,
                copy_uid_gid=True, body=b"TAR") == head(
        "PUT", "/v1.41/containers/c/archive?path=%2Ftmp&noOverwriteDirNonDir=1&copyUIDGID=1",
        TAR_CT, body=b"TAR")
    with pytest.raises(LocalProtocolError, match="needs a request body"):
        build_request("containers.put_archive", "1.41", id="c", path="/tmp")
    with pytest.raises(LocalProtocolError, match="'path'"):
        build_request("containers.get_archive", "1.41", id="c")
    with pytest.raises(UnsupportedVersion, match="needs API >= 1.20; the daemon speaks 1.19"):
        build_request("containers.get_archive", "1.19", id="c", path="/")


def test_logs_and_attach_spot_checks() -> None:
    req = build_request("containers.logs", "1.41", id="c", stdout=True, stderr=True, since=1.5,
                        until=10, timestamps=True, tail=100, tty=True)
    assert req.kind is ResponseKind.STREAM and req.tty is True
    assert req.target == "/v1.41/containers/c/logs?stdout=1&stderr=1&since=1.5&until=10&timestamps=1&tail=100"
    assert wire("containers.attach", "1.22", id="c", stream=True, stdin=True, detach_keys="ctrl-p,ctrl-q") == head(
        "POST", "/v1.22/containers/c/attach?detachKeys=ctrl-p%2Cctrl-q&stream=1&stdin=1", *UPGRADE)
    # No Upgrade header below 1.17: the daemon hijacks a 200.
    assert wire("containers.attach", "1.16", id="c", stream=True) == head(
        "POST", "/v1.16/containers/c/attach?stream=1")


def test_stop_signal_and_timeout() -> None:
    assert wire("containers.stop", "1.42", id="c", signal="SIGINT", t=3) == head(
        "POST", "/v1.42/containers/c/stop?signal=SIGINT&t=3")
    with pytest.raises(UnsupportedVersion) as info:
        build_request("containers.stop", "1.41", id="c", signal="SIGINT")
    assert str(info.value) == "signal (containers.stop) needs API >= 1.42; the daemon speaks 1.41"


def test_plugin_privileges_rename() -> None:
    assert wire("plugins.privileges", "1.25", name="vieux/sshfs") == head(
        "GET", "/v1.25/plugins/privileges?name=vieux%2Fsshfs")
    with pytest.raises(LocalProtocolError, match="'remote'"):
        build_request("plugins.privileges", "1.27")


def test_registry_auth_headers_on_modern_endpoints() -> None:
    for name, kw in (("plugins.pull", {"remote": "p", "json": []}), ("plugins.push", {"name": "p"}),
                     ("plugins.upgrade", {"name": "p", "remote": "q", "json": []}),
                     ("services.create", {"json": {}}),
                     ("services.update", {"id": "s", "version": 1, "json": {}}),
                     ("distribution.inspect", {"name": "alpine"}),
                     ("images.search", {"term": "x"})):
        assert (b"X-Registry-Auth: " + AUTH.encode()) in wire(name, LATEST, registry_auth=AUTH, **kw)
    with pytest.raises(LocalProtocolError, match="does not take registry_auth"):
        build_request("images.inspect", LATEST, name="a", registry_auth=AUTH)
    with pytest.raises(UnsupportedVersion, match="needs API >= 1.9"):
        build_request("images.search", "1.8", term="x", registry_auth=AUTH)


def test_extra_headers_and_swarm_version_keyword() -> None:
    assert wire("nodes.update", "1.24", id="n", version=4, json={"Role": "worker"},
                headers={"X-Meta-Test": "1"}) == head(
        "POST", "/v1.24/nodes/n/update?version=4", "X-Meta-Test: 1", JSON_CT, body=b'{"Role":"worker"}')


def test_validation_errors() -> None:
    with pytest.raises(LocalProtocolError) as info:
        build_request("containers.stop", "1.41", id="c", timeout=3)
    assert "valid: id, signal, t" in str(info.value)
    with pytest.raises(LocalProtocolError, match="unknown endpoint 'containers.stopp'; did you mean containers.stop"):
        build_request("containers.stopp", "1.41", id="c")
    with pytest.raises(LocalProtocolError, match="must be a bool"):
        build_request("containers.list", "1.41", all="yes")
    with pytest.raises(LocalProtocolError, match="must be an int"):
        build_request("containers.stop", "1.41", id="c", t=True)
    with pytest.raises(LocalProtocolError, match="path parameter"):
        build_request("containers.inspect", "1.41")
    with pytest.raises(LocalProtocolError, match="escape"):
        build_request("containers.inspect", "1.41", id="../version")
    with pytest.raises(LocalProtocolError, match="takes no request body"):
        build_request("containers.inspect", "1.41", id="c", json={})
    with pytest.raises(LocalProtocolError, match="needs a request body"):
        build_request("containers.create", "1.41")
    with pytest.raises(LocalProtocolError, match="not json="):
        build_request("images.load", "1.41", json={})
    # None means "not given", even for a parameter outside its range.
    build_request("containers.stop", "1.41", id="c", signal=None)
    # Parameters are validated before anything is built.
    with pytest.raises(UnsupportedVersion):
        build_request("containers.stop", "1.41", id="../x", signal="SIGINT")


def test_endpoint_object_and_lookup() -> None:
    ep = endpoint("images.push", "1.3")
    assert ep.body is BodyKind.AUTH_BODY and ep.since == "1.2" and ep.until == "1.4"
    assert endpoint("images.push").since == "1.5"
    # An Endpoint object resolves to the variant in force at the version.
    assert build_request(ep, "1.41", name="a").kind is ResponseKind.JSON_STREAM
    assert build_request(ep, "1.41", name="a").version == APIVersion("1.41")
    with pytest.raises(UnsupportedVersion, match="needs API >= 1.55; the daemon speaks 1.54"):
        endpoint("images.attestations", "1.54")


def test_markdown_table() -> None:
    table = endpoint_table_markdown()
    assert table == endpoint_table_markdown()
    lines = table.splitlines()
    assert lines[0] == "| Endpoint | Method | Path | API versions | Response |"
    assert len(lines) == 2 + len(ENDPOINTS)
    assert "| `images.push` | POST | `/images/{name}/push` | 1.2-1.4 | json-stream |" in lines
    assert "| `images.insert` | POST | `/images/{name}/insert` | 1.0 | text |" in lines
    assert "| `containers.prune` | POST | `/containers/prune` | 1.25+ | json |" in lines
