"""The typed result models: common fields, old and new forms, never breaking."""

from __future__ import annotations

from typing import Any

import pytest

from protocol._core._models import (
    ContainerInspect,
    ContainerSummary,
    Event,
    ExecInspect,
    ImageInspect,
    ImageSummary,
    ProgressMessage,
    SystemInfo,
    VersionInfo,
)

ALL = [VersionInfo, SystemInfo, ContainerSummary, ContainerInspect, ImageSummary, ImageInspect,
       ExecInspect, Event, ProgressMessage]


@pytest.mark.parametrize("cls", ALL)
def test_empty_and_odd_documents_never_break(cls: Any) -> None:
    for doc in ({}, {"Id": 5, "State": "x", "Config": [], "Labels": "no", "Ports": "80/tcp",
                     "progressDetail": None, "Actor": 3, "Created": None, "Names": [1, "a"]}):
        m = cls.from_json(doc)
        for attr in dir(cls):
            if isinstance(getattr(cls, attr, None), property):
                getattr(m, attr)  # no exception, whatever the field types
        assert m.raw == doc


@pytest.mark.parametrize("cls", ALL)
def test_immutable_keeps_unknown_fields(cls: Any) -> None:
    m = cls.from_json({"Future": {"x": 1}})
    assert m.get("Future") == {"x": 1}
    with pytest.raises(AttributeError):
        m.raw = {}
    assert m == cls.from_json({"Future": {"x": 1}})
    assert "Future" in repr(m)
    with pytest.raises(TypeError):
        cls.from_json([1, 2])


@pytest.mark.parametrize("cls", ALL)
def test_a_view_owns_its_document(cls: Any) -> None:
    """A plain dict (the fast construction) and any other Mapping alike:
    changing the caller's document afterwards does not change the view."""
    from types import MappingProxyType

    for make in (dict, MappingProxyType):
        doc = {"Id": "a"}
        m = cls(make(doc) if make is MappingProxyType else doc)
        doc["Id"] = "b"
        assert m["Id"] == "a" and type(m.raw) is dict
    for wrong in ([("Id", "a")], "Id", None):
        with pytest.raises(TypeError, match="takes a JSON object"):
            cls(wrong)


def test_version_info() -> None:
    v = VersionInfo.from_json({"Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
                               "GitCommit": "297e128", "GoVersion": "go1.19", "Os": "linux",
                               "Arch": "amd64", "KernelVersion": "6.1", "Experimental": False,
                               "Components": [{"Name": "Engine"}, "junk"]})
    assert (v.version, v.api_version, v.min_api_version) == ("20.10.24", "1.41", "1.12")
    assert (v.os, v.arch, v.experimental, v.git_commit, v.go_version) == (
        "linux", "amd64", False, "297e128", "go1.19")
    assert v.components == [{"Name": "Engine"}]
    # API 1.2: only Version, GitCommit, GoVersion.
    old = VersionInfo.from_json({"Version": "0.4.4", "GitCommit": "abc", "GoVersion": "go1.1"})
    assert old.api_version is None and old.min_api_version is None and old.version == "0.4.4"


def test_system_info() -> None:
    i = SystemInfo.from_json({"ID": "X", "Containers": 3, "ContainersRunning": 1, "Images": 2,
                              "ServerVersion": "20.10", "NCPU": 8, "MemTotal": 1024, "Debug": True,
                              "OSType": "linux", "Swarm": {"LocalNodeState": "inactive"},
                              "Warnings": ["w"]})
    assert (i.id, i.containers, i.containers_running, i.images, i.ncpu) == ("X", 3, 1, 2, 8)
    assert i.debug is True and i.swarm["LocalNodeState"] == "inactive" and i.warnings == ["w"]
    assert SystemInfo.from_json({"Debug": 1}).debug is True  # int before API 1.19


def test_container_summary() -> None:
    c = ContainerSummary.from_json({"Id": "abc", "Names": ["/web"], "Image": "nginx", "ImageID": "sha",
                                    "Command": "nginx", "Created": 1, "State": "running",
                                    "Status": "Up", "Ports": [{"PrivatePort": 80}],
                                    "Labels": {"a": "b"}, "SizeRw": 5})
    assert (c.id, c.names, c.image, c.state, c.status) == ("abc", ["/web"], "nginx", "running", "Up")
    assert c.ports == [{"PrivatePort": 80}] and c.labels == {"a": "b"} and c.size_rw == 5
    # v1.2: Ports is a string.
    assert ContainerSummary.from_json({"Id": "x", "Ports": "80/tcp"}).ports == []


def test_container_inspect() -> None:
    c = ContainerInspect.from_json({"Id": "abc", "Name": "/web", "State": {"Status": "exited",
                                    "Running": False, "ExitCode": 3, "Pid": 0},
                                    "Config": {"Tty": True, "Labels": {"k": "v"}},
                                    "HostConfig": {"Memory": 0}, "Mounts": [{"Type": "bind"}]})
    assert (c.id, c.name, c.status, c.running, c.exit_code, c.tty) == (
        "abc", "/web", "exited", False, 3, True)
    assert c.labels == {"k": "v"} and c.mounts == [{"Type": "bind"}] and c.host_config == {"Memory": 0}
    # Before API 1.21 there is no State.Status; pre-1.12 keys were "ID".
    old = ContainerInspect.from_json({"ID": "x", "State": {"Running": True}})
    assert old.id == "x" and old.status == "running"


def test_image_models() -> None:
    s = ImageSummary.from_json({"Id": "sha256:1", "RepoTags": ["a:1"], "RepoDigests": ["a@sha"],
                                "Created": 5, "Size": 10, "SharedSize": -1, "Containers": 2})
    assert (s.id, s.repo_tags, s.repo_digests, s.size, s.containers) == (
        "sha256:1", ["a:1"], ["a@sha"], 10, 2)
    # Before API 1.7: one entry per repository:tag.
    assert ImageSummary.from_json({"Repository": "ubuntu", "Tag": "12.04", "Id": "8d"}).repo_tags == ["ubuntu:12.04"]
    i = ImageInspect.from_json({"Id": "sha256:1", "RepoTags": ["a:1"], "Architecture": "amd64",
                                "Os": "linux", "Size": 3, "Config": {"Labels": {"x": "y"}}})
    assert (i.id, i.architecture, i.os, i.size, i.labels) == ("sha256:1", "amd64", "linux", 3, {"x": "y"})
    # API <= 1.11 used lower-case keys.
    old = ImageInspect.from_json({"id": "b750", "parent": "27cf", "created": "2013", "size": 0,
                                  "config": {"Cmd": None}})
    assert (old.id, old.parent, old.created, old.size, old.config) == ("b750", "27cf", "2013", 0, {"Cmd": None})


def test_exec_inspect() -> None:
    e = ExecInspect.from_json({"ID": "e1", "Running": False, "ExitCode": 0, "Pid": 42,
                               "ContainerID": "c1", "ProcessConfig": {"tty": False}})
    assert (e.id, e.running, e.exit_code, e.pid, e.container_id, e.tty) == ("e1", False, 0, 42, "c1", False)


def test_event_new_form() -> None:
    e = Event.from_json({"Type": "container", "Action": "start",
                         "Actor": {"ID": "abc", "Attributes": {"image": "alpine", "name": "w"}},
                         "scope": "local", "time": 1700000000, "timeNano": 1700000000123456789})
    assert (e.type, e.action, e.actor_id, e.scope) == ("container", "start", "abc", "local")
    assert e.attributes["name"] == "w" and e.from_ == "alpine"
    assert (e.time, e.time_nano) == (1700000000, 1700000000123456789)
    assert (e.status, e.id) == ("start", "abc")


def test_event_old_form() -> None:
    e = Event.from_json({"status": "die", "id": "dfdf82bd3881", "from": "base:latest", "time": 1374067970})
    assert (e.type, e.action, e.actor_id, e.from_) == ("container", "die", "dfdf82bd3881", "base:latest")
    assert e.attributes == {"image": "base:latest"}
    assert e.time_nano == 1374067970 * 1_000_000_000
    assert Event.from_json({"status": "untag", "id": "sha"}).type == "image"
    # Both forms at once (API 1.22-1.51): the new one wins.
    both = Event.from_json({"status": "start", "id": "abc", "from": "alpine", "Type": "container",
                            "Action": "start", "Actor": {"ID": "abc", "Attributes": {"image": "alpine"}}})
    assert (both.type, both.action, both.actor_id) == ("container", "start", "abc")


def test_progress_message() -> None:
    p = ProgressMessage.from_json({"status": "Downloading", "id": "a1b2",
                                   "progressDetail": {"current": 10, "total": 100},
                                   "progress": "[=>   ] 10B/100B"})
    assert (p.status, p.id, p.current, p.total, p.progress) == ("Downloading", "a1b2", 10, 100, "[=>   ] 10B/100B")
    assert not p.is_error
    err = ProgressMessage.from_json({"errorDetail": {"code": 1, "message": "boom"}, "error": "boom"})
    assert err.is_error and err.error == "boom" and err.error_code == 1
    assert ProgressMessage.from_json({"error": "legacy only"}).error == "legacy only"
    assert ProgressMessage.from_json({"stream": "Step 1/2\n"}).stream == "Step 1/2\n"
    assert ProgressMessage.from_json({"aux": {"ID": "sha256:x"}}).aux == {"ID": "sha256:x"}
    assert ProgressMessage.from_json({"progressDetail": {}}).current is None


def test_adopt_takes_a_decoded_dict_without_a_copy_and_the_constructor_copies() -> None:
    import protocol

    from protocol._core._models import adopt

    raw = {"Id": "abc", "State": {"Running": True}}
    adopted = adopt(protocol.ContainerInspect, raw)
    built = protocol.ContainerInspect(raw)
    assert adopted.raw is raw and built.raw is not raw  # a caller's dict may change later
    assert adopted == built == raw and adopted.id == "abc"
    with pytest.raises(TypeError, match="takes a JSON object"):
        adopt(protocol.ContainerInspect, ["not", "an", "object"])  # through the constructor's check
