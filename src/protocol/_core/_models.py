"""Typed views of the daemon's JSON answers.

Each model keeps the decoded document as ``.raw`` and exposes the fields
most callers want as read-only properties.  A missing field, or one of an
unexpected type, reads as ``None`` (or an empty container): daemons from
2013 to today answer these endpoints, fields come and go by version
(``ApiVersion`` since docker 0.10, ``MinAPIVersion`` since API 1.25, event
``Type``/``Action``/``Actor`` since 1.22), and an unknown field must never
break a client.  Everything else is in ``.raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = [
    "VersionInfo",
    "SystemInfo",
    "ContainerSummary",
    "ContainerInspect",
    "ImageSummary",
    "ImageInspect",
    "ExecInspect",
    "Event",
    "ProgressMessage",
    "ContainerCreated",
    "ContainerWaitResult",
    "ContainerStats",
]

_M = TypeVar("_M", bound="_Model")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _strs(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _first(raw: Mapping[str, Any], *keys: str) -> Any:
    """The first present key: field names changed case over the years
    (``Id``/``ID``, v1.12 moved inspect keys to CamelCase)."""
    for key in keys:
        if key in raw and raw[key] is not None:
            return raw[key]
    return None


class _Model:
    __slots__ = ("raw",)

    raw: dict[str, Any]

    def __init__(self, raw: Mapping[str, Any]) -> None:
        # A view per message of a JSON stream (events, stats) is built as
        # often as the decoder yields: the common case, a plain dict, skips
        # the Mapping ABC check (slower than the copy) and copies with
        # dict.copy, and the slot is set through its descriptor.
        if type(raw) is dict:
            _set_raw(self, raw.copy())
            return
        if not isinstance(raw, Mapping):
            raise TypeError(f"{type(self).__name__} takes a JSON object, not {type(raw).__name__}")
        _set_raw(self, dict(raw))

    @classmethod
    def from_json(cls: type[_M], data: Mapping[str, Any]) -> _M:
        """Wrap a decoded JSON object (unknown fields are kept in ``raw``)."""
        return cls(data)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def get(self, key: str, default: Any = None) -> Any:
        """``raw.get``: any field, including those without a property."""
        return self.raw.get(key, default)

    # Read-only mapping access to the raw document, so code written against
    # the plain dicts (``c["Id"]``, ``"State" in info``) keeps working.
    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __contains__(self, key: object) -> bool:
        return key in self.raw

    def __eq__(self, other: object) -> bool:
        # Equal to the same view of an equal document, and to the plain
        # dict itself: code that compared the answers as dicts still works.
        if isinstance(other, Mapping) and not isinstance(other, _Model):
            return self.raw == other
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Model)
        return self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"


#: Sets a view's ``raw`` slot (its own __setattr__ refuses, on purpose).
_set_raw = _Model.raw.__set__  # type: ignore[misc, attr-defined]


def adopt(model: type[_M], raw: Any) -> _M:
    """A view of a JSON object this library has just decoded and hands to
    no one else (a stream's message, an answer's body): it becomes the
    view's ``raw`` without the copy the public constructor makes to keep a
    caller's dict from changing under the view.  Anything but a plain dict
    goes through the constructor (and its TypeError)."""
    if type(raw) is not dict:
        return model(raw)
    view = object.__new__(model)
    _set_raw(view, raw)
    return view


class VersionInfo(_Model):
    """``GET /version``."""

    __slots__ = ()

    @property
    def version(self) -> str | None:
        return _str(self.raw.get("Version"))

    @property
    def api_version(self) -> str | None:
        """Since docker 0.10; older daemons do not say."""
        return _str(self.raw.get("ApiVersion"))

    @property
    def min_api_version(self) -> str | None:
        """Since API 1.25."""
        return _str(self.raw.get("MinAPIVersion"))

    @property
    def git_commit(self) -> str | None:
        return _str(self.raw.get("GitCommit"))

    @property
    def go_version(self) -> str | None:
        return _str(self.raw.get("GoVersion"))

    @property
    def os(self) -> str | None:
        return _str(self.raw.get("Os"))

    @property
    def arch(self) -> str | None:
        return _str(self.raw.get("Arch"))

    @property
    def kernel_version(self) -> str | None:
        return _str(self.raw.get("KernelVersion"))

    @property
    def experimental(self) -> bool | None:
        return _bool(self.raw.get("Experimental"))

    @property
    def components(self) -> list[dict[str, Any]]:
        """Since API 1.35."""
        value = self.raw.get("Components")
        return [dict(c) for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []


class SystemInfo(_Model):
    """``GET /info``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return _str(self.raw.get("ID"))

    @property
    def name(self) -> str | None:
        return _str(self.raw.get("Name"))

    @property
    def containers(self) -> int | None:
        return _int(self.raw.get("Containers"))

    @property
    def containers_running(self) -> int | None:
        return _int(self.raw.get("ContainersRunning"))

    @property
    def images(self) -> int | None:
        return _int(self.raw.get("Images"))

    @property
    def server_version(self) -> str | None:
        return _str(self.raw.get("ServerVersion"))

    @property
    def operating_system(self) -> str | None:
        return _str(self.raw.get("OperatingSystem"))

    @property
    def os_type(self) -> str | None:
        return _str(self.raw.get("OSType"))

    @property
    def architecture(self) -> str | None:
        return _str(self.raw.get("Architecture"))

    @property
    def ncpu(self) -> int | None:
        return _int(self.raw.get("NCPU"))

    @property
    def mem_total(self) -> int | None:
        return _int(self.raw.get("MemTotal"))

    @property
    def driver(self) -> str | None:
        return _str(self.raw.get("Driver"))

    @property
    def debug(self) -> bool | None:
        # An int (0/1) before API 1.19, a bool after.
        value = self.raw.get("Debug")
        if isinstance(value, int) and not isinstance(value, bool):
            return bool(value)
        return _bool(value)

    @property
    def swarm(self) -> dict[str, Any]:
        return _dict(self.raw.get("Swarm"))

    @property
    def warnings(self) -> list[str]:
        return _strs(self.raw.get("Warnings"))


class ContainerSummary(_Model):
    """One entry of ``GET /containers/json``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return _str(_first(self.raw, "Id", "ID"))

    @property
    def names(self) -> list[str]:
        return _strs(self.raw.get("Names"))

    @property
    def image(self) -> str | None:
        return _str(self.raw.get("Image"))

    @property
    def image_id(self) -> str | None:
        """Since API 1.21."""
        return _str(self.raw.get("ImageID"))

    @property
    def command(self) -> str | None:
        return _str(self.raw.get("Command"))

    @property
    def created(self) -> int | None:
        return _int(self.raw.get("Created"))

    @property
    def state(self) -> str | None:
        """Since API 1.23 ("running", "exited", ...)."""
        return _str(self.raw.get("State"))

    @property
    def status(self) -> str | None:
        return _str(self.raw.get("Status"))

    @property
    def ports(self) -> list[dict[str, Any]]:
        """Port mappings; empty before API 1.5, where Ports was a string."""
        value = self.raw.get("Ports")
        return [dict(p) for p in value if isinstance(p, Mapping)] if isinstance(value, list) else []

    @property
    def labels(self) -> dict[str, Any]:
        return _dict(self.raw.get("Labels"))

    @property
    def size_rw(self) -> int | None:
        return _int(self.raw.get("SizeRw"))

    @property
    def size_root_fs(self) -> int | None:
        return _int(self.raw.get("SizeRootFs"))


class ContainerInspect(_Model):
    """``GET /containers/{id}/json``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        # v1.0-1.11 used lower-case keys ("ID"/"Id" both seen); 1.12 CamelCase.
        return _str(_first(self.raw, "Id", "ID"))

    @property
    def name(self) -> str | None:
        return _str(self.raw.get("Name"))

    @property
    def image(self) -> str | None:
        return _str(self.raw.get("Image"))

    @property
    def created(self) -> str | None:
        return _str(self.raw.get("Created"))

    @property
    def state(self) -> dict[str, Any]:
        return _dict(self.raw.get("State"))

    @property
    def status(self) -> str | None:
        """``State.Status`` (API 1.21+), else derived from ``Running``."""
        state = self.state
        status = _str(state.get("Status"))
        if status is None and isinstance(state.get("Running"), bool):
            status = "running" if state["Running"] else "exited"
        return status

    @property
    def running(self) -> bool | None:
        return _bool(self.state.get("Running"))

    @property
    def exit_code(self) -> int | None:
        return _int(self.state.get("ExitCode"))

    @property
    def pid(self) -> int | None:
        return _int(self.state.get("Pid"))

    @property
    def config(self) -> dict[str, Any]:
        return _dict(self.raw.get("Config"))

    @property
    def host_config(self) -> dict[str, Any]:
        return _dict(self.raw.get("HostConfig"))

    @property
    def network_settings(self) -> dict[str, Any]:
        return _dict(self.raw.get("NetworkSettings"))

    @property
    def tty(self) -> bool | None:
        """``Config.Tty``: whether output is raw (True) or multiplexed."""
        return _bool(self.config.get("Tty"))

    @property
    def labels(self) -> dict[str, Any]:
        return _dict(self.config.get("Labels"))

    @property
    def mounts(self) -> list[dict[str, Any]]:
        value = self.raw.get("Mounts")
        return [dict(m) for m in value if isinstance(m, Mapping)] if isinstance(value, list) else []


class ImageSummary(_Model):
    """One entry of ``GET /images/json`` (one per image from API 1.7; before
    that one per repository:tag, with ``Repository`` and ``Tag``)."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return _str(_first(self.raw, "Id", "ID"))

    @property
    def repo_tags(self) -> list[str]:
        tags = _strs(self.raw.get("RepoTags"))
        if not tags and isinstance(self.raw.get("Repository"), str):
            repo, tag = self.raw["Repository"], self.raw.get("Tag")
            tags = [f"{repo}:{tag}" if isinstance(tag, str) and tag else repo]
        return tags

    @property
    def repo_digests(self) -> list[str]:
        return _strs(self.raw.get("RepoDigests"))

    @property
    def parent_id(self) -> str | None:
        return _str(self.raw.get("ParentId"))

    @property
    def created(self) -> int | None:
        return _int(self.raw.get("Created"))

    @property
    def size(self) -> int | None:
        return _int(self.raw.get("Size"))

    @property
    def shared_size(self) -> int | None:
        return _int(self.raw.get("SharedSize"))

    @property
    def labels(self) -> dict[str, Any]:
        return _dict(self.raw.get("Labels"))

    @property
    def containers(self) -> int | None:
        return _int(self.raw.get("Containers"))


class ImageInspect(_Model):
    """``GET /images/{name}/json``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return _str(_first(self.raw, "Id", "id", "ID"))

    @property
    def repo_tags(self) -> list[str]:
        return _strs(self.raw.get("RepoTags"))

    @property
    def repo_digests(self) -> list[str]:
        return _strs(self.raw.get("RepoDigests"))

    @property
    def parent(self) -> str | None:
        return _str(_first(self.raw, "Parent", "parent"))

    @property
    def created(self) -> str | None:
        return _str(_first(self.raw, "Created", "created"))

    @property
    def architecture(self) -> str | None:
        return _str(_first(self.raw, "Architecture", "architecture"))

    @property
    def os(self) -> str | None:
        return _str(self.raw.get("Os"))

    @property
    def size(self) -> int | None:
        return _int(_first(self.raw, "Size", "size"))

    @property
    def config(self) -> dict[str, Any]:
        return _dict(_first(self.raw, "Config", "config"))

    @property
    def labels(self) -> dict[str, Any]:
        return _dict(self.config.get("Labels"))


class ExecInspect(_Model):
    """``GET /exec/{id}/json``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        return _str(_first(self.raw, "ID", "Id"))

    @property
    def running(self) -> bool | None:
        return _bool(self.raw.get("Running"))

    @property
    def exit_code(self) -> int | None:
        return _int(self.raw.get("ExitCode"))

    @property
    def pid(self) -> int | None:
        """Since API 1.25."""
        return _int(self.raw.get("Pid"))

    @property
    def container_id(self) -> str | None:
        return _str(self.raw.get("ContainerID"))

    @property
    def open_stdin(self) -> bool | None:
        return _bool(self.raw.get("OpenStdin"))

    @property
    def process_config(self) -> dict[str, Any]:
        return _dict(self.raw.get("ProcessConfig"))

    @property
    def tty(self) -> bool | None:
        return _bool(self.process_config.get("tty"))


class Event(_Model):
    """One ``GET /events`` message, in either form.

    Before API 1.22 an event was ``{status, id, from, time}`` (container
    events only); from 1.22 it is ``{Type, Action, Actor{ID, Attributes},
    scope, time, timeNano}`` (daemons kept sending the old keys beside the
    new ones until API 1.52).  The properties read the new form and fall
    back to the old one.
    """

    __slots__ = ()

    @property
    def type(self) -> str | None:
        """``Type``; old-form events are container events, or image events
        when they carry no ``from`` (image delete/untag)."""
        t = _str(self.raw.get("Type"))
        if t is None and ("status" in self.raw or "id" in self.raw):
            t = "container" if "from" in self.raw else "image"
        return t

    @property
    def action(self) -> str | None:
        return _str(_first(self.raw, "Action", "status"))

    @property
    def actor(self) -> dict[str, Any]:
        return _dict(self.raw.get("Actor"))

    @property
    def actor_id(self) -> str | None:
        return _str(_first(self.actor, "ID")) or _str(self.raw.get("id"))

    @property
    def attributes(self) -> dict[str, Any]:
        attrs = _dict(self.actor.get("Attributes"))
        if not attrs and isinstance(self.raw.get("from"), str):
            attrs = {"image": self.raw["from"]}
        return attrs

    @property
    def scope(self) -> str | None:
        return _str(self.raw.get("scope"))

    @property
    def time(self) -> int | None:
        return _int(self.raw.get("time"))

    @property
    def time_nano(self) -> int | None:
        """``timeNano`` (API 1.21+), else ``time`` in nanoseconds."""
        nano = _int(self.raw.get("timeNano"))
        if nano is None and self.time is not None:
            nano = self.time * 1_000_000_000
        return nano

    # The old names, for code written against pre-1.22 events.
    @property
    def status(self) -> str | None:
        return self.action

    @property
    def id(self) -> str | None:
        return self.actor_id

    @property
    def from_(self) -> str | None:
        return _str(self.raw.get("from")) or _str(self.attributes.get("image"))


class ProgressMessage(_Model):
    """One message of a JSON progress stream (pull, push, build, load...).

    Fields of docker's ``jsonmessage``: ``stream`` (build output, 1.8+),
    ``status``, ``progressDetail{current,total}`` (1.8+), ``id``,
    ``errorDetail{code,message}`` (1.4+), ``aux`` (e.g. the built image ID,
    1.30+), and the legacy strings ``progress`` and ``error``
    (deprecated in 1.48).
    """

    __slots__ = ()

    @property
    def stream(self) -> str | None:
        return _str(self.raw.get("stream"))

    @property
    def status(self) -> str | None:
        return _str(self.raw.get("status"))

    @property
    def id(self) -> str | None:
        return _str(self.raw.get("id"))

    @property
    def progress(self) -> str | None:
        return _str(self.raw.get("progress"))

    @property
    def progress_detail(self) -> dict[str, Any]:
        return _dict(self.raw.get("progressDetail"))

    @property
    def current(self) -> int | None:
        return _int(self.progress_detail.get("current"))

    @property
    def total(self) -> int | None:
        return _int(self.progress_detail.get("total"))

    @property
    def error_detail(self) -> dict[str, Any]:
        return _dict(self.raw.get("errorDetail"))

    @property
    def error(self) -> str | None:
        """The error message: ``errorDetail.message``, else ``error``."""
        return _str(self.error_detail.get("message")) or _str(self.raw.get("error"))

    @property
    def error_code(self) -> int | None:
        return _int(self.error_detail.get("code"))

    @property
    def is_error(self) -> bool:
        return self.error is not None

    @property
    def aux(self) -> Any:
        return self.raw.get("aux")


class ContainerCreated(_Model):
    """``POST /containers/create``: ``{Id, Warnings}``."""

    __slots__ = ()

    @property
    def id(self) -> str:
        # The daemon always sends Id on success; an answer without one is
        # not a container we could use.
        value = _str(_first(self.raw, "Id", "ID"))
        if value is None:
            raise KeyError("Id")
        return value

    @property
    def warnings(self) -> list[str]:
        return _strs(self.raw.get("Warnings"))


class ContainerWaitResult(_Model):
    """``POST /containers/{id}/wait``: ``{StatusCode, Error{Message}}``
    (``Error`` since API 1.30)."""

    __slots__ = ()

    @property
    def status_code(self) -> int | None:
        return _int(self.raw.get("StatusCode"))

    @property
    def error(self) -> str | None:
        return _str(_dict(self.raw.get("Error")).get("Message")) or None


class ContainerStats(_Model):
    """One ``GET /containers/{id}/stats`` sample.

    ``cpu_percent`` and ``memory_percent`` are computed as the docker CLI
    computes them (``cli/command/container/stats_helpers.go``): the
    container's CPU time delta over the system's CPU time delta between this
    sample and ``precpu_stats`` (the daemon's previous one), times the number
    of online CPUs; memory usage minus the page cache (cgroup v1
    ``total_inactive_file``, v2 ``inactive_file``) over the limit.
    """

    __slots__ = ()

    @property
    def read(self) -> str | None:
        return _str(self.raw.get("read"))

    @property
    def name(self) -> str | None:
        return _str(self.raw.get("name"))

    @property
    def id(self) -> str | None:
        return _str(self.raw.get("id"))

    @property
    def cpu_percent(self) -> float:
        cpu, pre = _dict(self.raw.get("cpu_stats")), _dict(self.raw.get("precpu_stats"))
        usage, pre_usage = _dict(cpu.get("cpu_usage")), _dict(pre.get("cpu_usage"))
        total, pre_total = _int(usage.get("total_usage")), _int(pre_usage.get("total_usage"))
        system, pre_system = _int(cpu.get("system_cpu_usage")), _int(pre.get("system_cpu_usage"))
        if total is None or pre_total is None or system is None or pre_system is None:
            return 0.0
        cpu_delta, system_delta = total - pre_total, system - pre_system
        online = _int(cpu.get("online_cpus")) or len(_strs_or_ints(usage.get("percpu_usage")))
        if cpu_delta <= 0 or system_delta <= 0 or not online:
            return 0.0
        return cpu_delta / system_delta * online * 100.0

    @property
    def memory_usage(self) -> int | None:
        """Usage without the page cache, as ``docker stats`` shows it."""
        mem = _dict(self.raw.get("memory_stats"))
        usage = _int(mem.get("usage"))
        if usage is None:
            return None
        stats = _dict(mem.get("stats"))
        # cgroup v1 reports total_inactive_file, v2 inactive_file.
        for key in ("total_inactive_file", "inactive_file"):
            cache = _int(stats.get(key))
            if cache is not None and cache < usage:
                return usage - cache
        return usage

    @property
    def memory_limit(self) -> int | None:
        return _int(_dict(self.raw.get("memory_stats")).get("limit"))

    @property
    def memory_percent(self) -> float:
        usage, limit = self.memory_usage, self.memory_limit
        if usage is None or not limit:
            return 0.0
        return usage / limit * 100.0

    @property
    def pids(self) -> int | None:
        return _int(_dict(self.raw.get("pids_stats")).get("current"))

    @property
    def network_io(self) -> tuple[int, int]:
        """Bytes received and sent, summed over the interfaces."""
        rx = tx = 0
        for iface in _dict(self.raw.get("networks")).values():
            if isinstance(iface, Mapping):
                rx += _int(iface.get("rx_bytes")) or 0
                tx += _int(iface.get("tx_bytes")) or 0
        return rx, tx

    @property
    def block_io(self) -> tuple[int, int]:
        """Bytes read and written (``blkio_stats.io_service_bytes_recursive``)."""
        read = write = 0
        entries = _dict(self.raw.get("blkio_stats")).get("io_service_bytes_recursive")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping):
                op = str(entry.get("op", "")).lower()
                value = _int(entry.get("value")) or 0
                if op == "read":
                    read += value
                elif op == "write":
                    write += value
        return read, write


def _strs_or_ints(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
