"""The Engine API as data.

Theory of operation
-------------------
Every endpoint is declared once, below, as an :class:`Endpoint`: method,
path template, the API versions that have it, its query parameters (each a
:class:`Param` with its own version range), what its request body is
(:class:`BodyKind`), which registry-auth headers it takes and when, and how
its success answer is delivered (:class:`~protocol.ResponseKind`).

When the wire form of an endpoint changed between versions, the endpoint is
declared several times under the same name, once per era (a *variant*), with
disjoint version ranges.  ``POST /images/{name}/push`` for example is four
variants: v1.0 answers plain-text progress and uses the credentials stored
on the server, v1.1 answers a JSON stream, v1.2-1.4 take the auth config as
the request body, and from v1.5 it travels in ``X-Registry-Auth``.  Call
sites never test versions: :func:`build_request` picks the variant in force
and the data says the rest.

:func:`build_request` validates before it builds anything: an unknown
keyword is a :class:`LocalProtocolError` that lists the valid ones; an
endpoint, parameter or header used outside its versions is an
:class:`UnsupportedVersion`.

Sources for the ranges: moby's ``docs/api/version-history.md``, the
per-version swagger files (1.25+) and API docs (1.0-1.24), and, where those
disagree with what the daemon actually read, the daemon code of that era
(noted on the declaration, "code:").  Versions are those of the API, not of
docker releases (see the wire-facts table: 0.6.5 = API 1.6, 1.12 = 1.24).
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import json as _json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import LocalProtocolError, UnsupportedVersion
from ._request import Request, ResponseKind
from ._version import MAX_VERSION, APIVersion, VersionLike

__all__ = [
    "BodyKind",
    "Param",
    "HeaderSpec",
    "Endpoint",
    "ENDPOINTS",
    "endpoint",
    "endpoint_names",
    "build_request",
    "endpoint_table_markdown",
    "parse_v1_0_progress",
    "encode_multipart",
]


class BodyKind(enum.Enum):
    """What an endpoint takes as its request body."""

    #: No body.
    NONE = "none"
    #: A JSON document (``json=``), sent as ``application/json``.
    JSON = "json"
    #: A tar archive (``body=``), sent as ``application/x-tar``.
    TAR = "tar"
    #: Opaque bytes (``body=``), no Content-Type (image import from ``-``).
    BYTES = "bytes"
    #: ``multipart/form-data`` (``body=`` a mapping of file parts): v1.1-1.2 build.
    MULTIPART = "multipart"
    #: The registry auth config as a JSON body (v1.2-1.4 push): from
    #: ``registry_auth=`` (decoded) or ``json=``.
    AUTH_BODY = "auth-body"


#: Value kinds of query parameters and what they accept:
#: ``str`` (str, int), ``bool``, ``int``, ``time`` (int, float or str
#: timestamps), ``json`` (mapping or list, sent as compact JSON; a str is
#: taken as already encoded), ``list`` (str or sequence of str, sent as
#: repeated keys), ``json_list`` (sequence of mappings or str, each sent
#: JSON-encoded as a repeated key).
PARAM_KINDS = frozenset({"str", "bool", "int", "time", "json", "list", "json_list"})

_HEADER_SOURCES = {"registry_auth": "X-Registry-Auth", "registry_config": "X-Registry-Config"}


def _v(value: str | None) -> APIVersion | None:
    return None if value is None else APIVersion(value)


def _in_range(version: APIVersion, since: str | None, until: str | None) -> bool:
    if since is not None and version < APIVersion(since):
        return False
    if until is not None and version > APIVersion(until):
        return False
    return True


@functools.lru_cache(maxsize=1024)  # the table's paths, and any an embedder adds
def _path_params(path: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::path)?\}", path))


def _range_text(since: str | None, until: str | None) -> str:
    if until is None:
        return f"{since or '1.0'}+"
    if since == until:
        return since
    return f"{since or '1.0'}-{until}"


_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _python_name(wire: str) -> str:
    return _CAMEL_RE.sub("_", wire).replace("-", "_").lower()


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter.

    ``name`` is the Python keyword, ``wire`` the key on the wire when it
    differs (``detach_keys`` -> ``detachKeys``).  ``kind`` is one of
    :data:`PARAM_KINDS`.  ``since``/``until`` bound the API versions that
    have it (inclusive; None = unbounded).  ``form`` puts it in the multipart
    form instead of the query (v1.1-1.2 build).
    """

    name: str
    wire: str | None = None
    kind: str = "str"
    since: str | None = None
    until: str | None = None
    required: bool = False
    doc: str = ""
    form: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        _v(self.since), _v(self.until)  # validate early

    @property
    def key(self) -> str:
        """The key sent on the wire."""
        return self.wire if self.wire is not None else self.name

    def available(self, version: VersionLike) -> bool:
        return _in_range(APIVersion(version), self.since, self.until)


def P(wire: str, kind: str = "str", since: str | None = None, until: str | None = None,
      required: bool = False, doc: str = "", *, name: str | None = None, form: bool = False) -> Param:
    """Shorthand: a Param named after its wire key (snake_cased)."""
    py = name if name is not None else _python_name(wire)
    return Param(py, None if py == wire else wire, kind, since, until, required, doc, form)


@dataclass(frozen=True, slots=True)
class HeaderSpec:
    """A request header the endpoint reads in a version range.

    ``source`` is the :func:`build_request` keyword that fills it:
    ``registry_auth`` (``X-Registry-Auth``) or ``registry_config``
    (``X-Registry-Config``).
    """

    source: str
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        if self.source not in _HEADER_SOURCES:
            raise ValueError(f"unknown header source {self.source!r}")
        _v(self.since), _v(self.until)

    @property
    def header(self) -> str:
        return _HEADER_SOURCES[self.source]

    def available(self, version: VersionLike) -> bool:
        return _in_range(APIVersion(version), self.since, self.until)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint (or one era of an endpoint: a variant).

    ``path`` is a :class:`Request` path template (``{name:path}`` keeps
    ``/``, for image, plugin and reference names).  ``since``/``until`` bound
    the API versions of this variant, inclusive.  ``body_required`` says the
    body must be given; ``fixed_headers`` are sent on every request (the
    ``h2c`` upgrade of ``/session``).
    """

    name: str
    method: str
    path: str
    since: str
    until: str | None = None
    query: tuple[Param, ...] = ()
    body: BodyKind = BodyKind.NONE
    response: ResponseKind = ResponseKind.JSON
    headers: tuple[HeaderSpec, ...] = ()
    doc: str = ""
    body_required: bool = False
    fixed_headers: tuple[tuple[str, str], ...] = ()
    #: The TEXT body is v1.0 plain-text progress (``\r``/``\r\n`` lines):
    #: clients turn it into the progress messages later versions send as
    #: JSON (:func:`parse_v1_0_progress`).
    text_progress: bool = False
    #: The connection switches to another protocol after ``101`` ("websocket",
    #: "h2c"): the request is modelled, the protocol after it is not.
    upgrade_protocol: str | None = None

    def __post_init__(self) -> None:
        _v(self.since), _v(self.until)

    @property
    def versions(self) -> str:
        """The version range as text: ``1.25+``, ``1.0-1.11``."""
        return _range_text(self.since, self.until)

    def available(self, version: VersionLike) -> bool:
        return _in_range(APIVersion(version), self.since, self.until)

    @property
    def path_params(self) -> tuple[str, ...]:
        return _path_params(self.path)

    def param(self, name: str) -> Param | None:
        for p in self.query:
            if p.name == name:
                return p
        return None



# ---------------------------------------------------------------------------
# The table.  Shorthands keep it readable.

J, E, T, B = ResponseKind.JSON, ResponseKind.EMPTY, ResponseKind.TEXT, ResponseKind.BINARY
JS, ST, HJ = ResponseKind.JSON_STREAM, ResponseKind.STREAM, ResponseKind.HIJACK
AUTH = HeaderSpec("registry_auth")


FILTERS = P("filters", "json", doc="filters as a mapping (JSON-encoded)")

# Container list: /containers/ps (v1.0, an alias the daemon kept until docker
# 1.8) and /containers/json (from v1.1; code: absent in v0.3.3).
_LIST_PARAMS = (
    P("all", "bool"),
    P("limit", "int"),
    P("since", until="1.24", doc="container ID; use filters from 1.25"),
    P("before", until="1.24", doc="container ID; use filters from 1.25"),
    P("size", "bool", "1.3"),
    P("filters", "json", "1.12"),
)

_LOG_PARAMS = (
    P("details", "bool"),
    P("follow", "bool"),
    P("stdout", "bool"),
    P("stderr", "bool"),
    P("since", "time"),
    P("timestamps", "bool"),
    P("tail", "str"),
)

_BUILD_CORE = (
    P("dockerfile", since="1.17"),
    P("t", "list", doc="name[:tag]; several from 1.21 (repeated key)"),
    P("extrahosts", "list", "1.28"),
    P("remote", since="1.3"),  # wire facts: not in 1.2, whatever the docs say
    P("q", "bool", "1.3"),
    P("nocache", "bool", "1.4"),
    P("cachefrom", "json", "1.25"),
    P("pull", "bool", "1.16"),
    P("rm", "bool", "1.5"),
    P("forcerm", "bool", "1.12"),
    P("memory", "int", "1.18"),
    P("memswap", "int", "1.18"),
    P("cpushares", "int", "1.18"),
    P("cpusetcpus", "str", "1.18"),
    P("cpuperiod", "int", "1.19"),
    P("cpuquota", "int", "1.19"),
    P("buildargs", "json", "1.21"),
    P("shmsize", "int", "1.22"),
    P("squash", "bool", "1.25", doc="experimental daemons only"),
    P("labels", "json", "1.23"),
    P("networkmode", "str", "1.25"),
    # code: the daemon reads platform from 1.32; the swagger lists it from 1.34.
    P("platform", "str", "1.32"),
    P("target", "str", "1.37"),
    P("version", "str", "1.38", doc="builder version: '1' (classic) or '2' (BuildKit)", name="builder_version"),
    P("outputs", "json", "1.40"),
)

_PULL_PARAMS = (
    P("fromImage"),
    P("fromSrc", doc="URL, or '-' to read the image from the request body"),
    P("repo"),
    P("tag"),
    # code: the daemon stopped reading registry in docker 0.5.0 (API 1.3).
    P("registry", until="1.3"),
    P("platform", since="1.32", doc="os[/arch[/variant]]"),
    P("message", since="1.39", doc="commit message of an imported image"),
    P("changes", "list", "1.40", doc="Dockerfile instructions for an imported image"),
)

_PUSH_PARAMS = (
    P("registry", until="1.3"),
    P("tag", since="1.10"),
    P("platform", "json", "1.46", doc="OCI platform (JSON)"),
)

_AUTH_V1_0_DOC = (
    "v1.0-1.1: the daemon stores the credentials and uses them for later pushes"
)


ENDPOINTS: tuple[Endpoint, ...] = (
    # -- containers -----------------------------------------------------------
    Endpoint("containers.ps", "GET", "/containers/ps", "1.0", "1.20", _LIST_PARAMS,
        doc="list containers; the original route, an alias until docker 1.8 (code)"),
    Endpoint("containers.list", "GET", "/containers/json", "1.1", None, _LIST_PARAMS,
        doc="list containers"),
    Endpoint("containers.create", "POST", "/containers/create", "1.0", None,
        (P("name", since="1.6"), P("platform", since="1.41", doc="os[/arch[/variant]]")),
        BodyKind.JSON, J, body_required=True, doc="create a container (201 {Id, Warnings})"),
    Endpoint("containers.inspect", "GET", "/containers/{id}/json", "1.0", None,
        (P("size", "bool", "1.21"),), doc="low-level information on a container"),
    Endpoint("containers.top", "GET", "/containers/{id}/top", "1.3", None,
        (P("ps_args", since="1.4"),), doc="processes running inside a container"),
    Endpoint("containers.logs", "GET", "/containers/{id}/logs", "1.11", None,
        (P("details", "bool", "1.23"), P("follow", "bool"), P("stdout", "bool"),
         P("stderr", "bool"), P("since", "time", "1.19"), P("until", "time", "1.35"),
         P("timestamps", "bool"), P("tail", "str", "1.13")),
        response=ST, doc="container logs: multiplexed frames, or raw with a TTY"),
    Endpoint("containers.changes", "GET", "/containers/{id}/changes", "1.0", None,
        doc="filesystem changes of a container"),
    Endpoint("containers.export", "GET", "/containers/{id}/export", "1.0", None,
        response=B, doc="export a container's filesystem as a tar archive"),
    Endpoint("containers.stats", "GET", "/containers/{id}/stats", "1.17", None,
        (P("stream", "bool", "1.19"), P("one-shot", "bool", "1.41")),
        response=JS, doc="resource usage statistics, newline-separated JSON"),
    Endpoint("containers.resize", "POST", "/containers/{id}/resize", "1.1", None,
        (P("h", "int"), P("w", "int")), response=E,
        doc="resize the container's TTY (code: from docker 0.3.4, API 1.1)"),
    Endpoint("containers.start", "POST", "/containers/{id}/start", "1.0", "1.23",
        (P("detachKeys", since="1.22"),), BodyKind.JSON, E,
        doc="start a container; the body was the host config until 1.23"),
    Endpoint("containers.start", "POST", "/containers/{id}/start", "1.24", None,
        (P("detachKeys"),), response=E, doc="start a container (204, or 304 if running)"),
    Endpoint("containers.stop", "POST", "/containers/{id}/stop", "1.0", None,
        (P("signal", since="1.42"), P("t", "int")), response=E, doc="stop a container"),
    Endpoint("containers.restart", "POST", "/containers/{id}/restart", "1.0", None,
        (P("signal", since="1.42"), P("t", "int")), response=E, doc="restart a container"),
    Endpoint("containers.kill", "POST", "/containers/{id}/kill", "1.0", None,
        (P("signal", since="1.6"),), response=E, doc="kill a container (code: signal from docker 0.6.5)"),
    Endpoint("containers.update", "POST", "/containers/{id}/update", "1.22", None,
        body=BodyKind.JSON, body_required=True, doc="update resources and restart policy"),
    Endpoint("containers.rename", "POST", "/containers/{id}/rename", "1.17", None,
        (P("name", required=True),), response=E, doc="rename a container"),
    Endpoint("containers.pause", "POST", "/containers/{id}/pause", "1.12", None, response=E,
        doc="pause all processes of a container"),
    Endpoint("containers.unpause", "POST", "/containers/{id}/unpause", "1.12", None, response=E,
        doc="resume a paused container"),
    Endpoint("containers.attach", "POST", "/containers/{id}/attach", "1.0", None,
        (P("detachKeys", since="1.22"), P("logs", "bool"), P("stream", "bool"),
         P("stdin", "bool"), P("stdout", "bool"), P("stderr", "bool")),
        response=HJ, doc="attach to a container: the connection is hijacked"),
    Endpoint("containers.attach_ws", "GET", "/containers/{id}/attach/ws", "1.4", None,
        (P("detachKeys", since="1.22"), P("logs", "bool"), P("stream", "bool"),
         # version-history 1.42: documented before, but only honoured from 1.42.
         P("stdin", "bool", "1.42"), P("stdout", "bool", "1.42"), P("stderr", "bool", "1.42")),
        response=B, upgrade_protocol="websocket",
        doc="attach over a WebSocket (code: from docker 0.6.0, API 1.4); the caller adds "
            "the WebSocket handshake headers"),
    Endpoint("containers.wait", "POST", "/containers/{id}/wait", "1.0", None,
        (P("condition", since="1.30"),), doc="block until a container stops; {StatusCode}"),
    Endpoint("containers.remove", "DELETE", "/containers/{id}", "1.0", None,
        (P("v", "bool"), P("force", "bool", "1.10"),
         P("link", "bool", "1.6", doc="code: from docker 0.6.5")),
        response=E, doc="remove a container"),
    Endpoint("containers.archive_info", "HEAD", "/containers/{id}/archive", "1.20", None,
        (P("path", required=True),), response=E,
        doc="stat a path: the X-Docker-Container-Path-Stat response header (base64 JSON)"),
    Endpoint("containers.get_archive", "GET", "/containers/{id}/archive", "1.20", None,
        (P("path", required=True),), response=B,
        doc="a tar archive of a path (and X-Docker-Container-Path-Stat)"),
    Endpoint("containers.put_archive", "PUT", "/containers/{id}/archive", "1.20", None,
        (P("path", required=True), P("noOverwriteDirNonDir", "bool"),
         # version-history 1.30 (the swagger lists it from 1.39).
         P("copyUIDGID", "bool", "1.30", name="copy_uid_gid")),
        BodyKind.TAR, E, body_required=True, doc="extract a tar archive into a directory"),
    Endpoint("containers.copy", "POST", "/containers/{id}/copy", "1.4", "1.23",
        body=BodyKind.JSON, response=B, body_required=True,
        doc="copy files out of a container, body {Resource}; removed in 1.24 (use archive)"),
    Endpoint("containers.prune", "POST", "/containers/prune", "1.25", None, (FILTERS,),
        doc="remove stopped containers"),
    # -- images -----------------------------------------------------------
    Endpoint("images.list", "GET", "/images/json", "1.0", None,
        (P("all", "bool"), P("filter", until="1.40", doc="repository name; removed in 1.41"),
         P("filters", "json", "1.12"),
         # first documented with RepoDigests (1.18); the daemon ignores it.
         P("digests", "bool", "1.18"),
         P("shared-size", "bool", "1.42"), P("manifests", "bool", "1.47"),
         P("identity", "bool", "1.54")),
        doc="list images (one entry per repo:tag before 1.7)"),
    Endpoint("images.viz", "GET", "/images/viz", "1.0", "1.6", response=T,
        doc="image graph in graphviz format; removed in 1.7"),
    Endpoint("images.build", "POST", "/build", "1.1", "1.2",
        (P("t", form=True, doc="repo[:tag], a form field"),),
        BodyKind.MULTIPART, T, body_required=True,
        doc="build from multipart parts Dockerfile (required) and Context (tar); plain-text log"),
    Endpoint("images.build", "POST", "/build", "1.3", "1.7", _BUILD_CORE, BodyKind.TAR, T,
        (HeaderSpec("registry_auth", "1.7"),),
        doc="build from a tar context (or remote); plain-text log"),
    Endpoint("images.build", "POST", "/build", "1.8", None, _BUILD_CORE, BodyKind.TAR, JS,
        (HeaderSpec("registry_auth", None, "1.8"), HeaderSpec("registry_config", "1.9")),
        doc="build from a tar context (or remote); JSON progress stream"),
    Endpoint("build.prune", "POST", "/build/prune", "1.31", None,
        (P("keep-storage", "int", "1.39", "1.51", doc="renamed reserved-space in 1.48"),
         P("reserved-space", "int", "1.48"), P("max-used-space", "int", "1.48"),
         P("min-free-space", "int", "1.48"), P("all", "bool", "1.39"),
         P("filters", "json", "1.39")),
        doc="remove build cache"),
    Endpoint("images.create", "POST", "/images/create", "1.0", "1.0", _PULL_PARAMS,
        BodyKind.BYTES, T, doc="pull or import; v1.0 answers plain-text progress",
        text_progress=True),
    Endpoint("images.create", "POST", "/images/create", "1.1", None, _PULL_PARAMS,
        BodyKind.BYTES, JS, (HeaderSpec("registry_auth", "1.5"),),
        doc="pull (fromImage) or import (fromSrc; '-' = the request body)"),
    Endpoint("images.insert", "POST", "/images/{name:path}/insert", "1.0", "1.0",
        (P("url", required=True), P("path", required=True)), response=T,
        doc="insert a file from a URL; v1.0 answers plain-text progress", text_progress=True),
    Endpoint("images.insert", "POST", "/images/{name:path}/insert", "1.1", "1.11",
        (P("url", required=True), P("path", required=True)), response=JS,
        doc="insert a file from a URL into an image; removed in 1.12"),
    Endpoint("images.inspect", "GET", "/images/{name:path}/json", "1.0", None,
        (P("manifests", "bool", "1.48"), P("platform", "json", "1.49", doc="OCI platform")),
        doc="low-level information on an image"),
    Endpoint("images.history", "GET", "/images/{name:path}/history", "1.0", None,
        (P("platform", "json", "1.48", doc="OCI platform"),), doc="history of an image"),
    Endpoint("images.push", "POST", "/images/{name:path}/push", "1.0", "1.0", _PUSH_PARAMS,
        response=T, doc="push with the credentials stored by POST /auth; plain-text progress",
        text_progress=True),
    Endpoint("images.push", "POST", "/images/{name:path}/push", "1.1", "1.1", _PUSH_PARAMS,
        response=JS, doc="push with the credentials stored by POST /auth"),
    Endpoint("images.push", "POST", "/images/{name:path}/push", "1.2", "1.4", _PUSH_PARAMS,
        BodyKind.AUTH_BODY, JS, doc="push; the auth config is the JSON body"),
    Endpoint("images.push", "POST", "/images/{name:path}/push", "1.5", None, _PUSH_PARAMS,
        response=JS, headers=(AUTH,), doc="push; the auth config in X-Registry-Auth"),
    Endpoint("images.tag", "POST", "/images/{name:path}/tag", "1.0", None,
        (P("repo"), P("tag"), P("force", "bool", until="1.23")), response=E,
        doc="tag an image (201)"),
    Endpoint("images.remove", "DELETE", "/images/{name:path}", "1.0", "1.1",
        response=E, doc="remove an image (204)"),
    Endpoint("images.remove", "DELETE", "/images/{name:path}", "1.2", None,
        (P("force", "bool", "1.10"), P("noprune", "bool", "1.10"),
         P("platforms", "json_list", "1.50", doc="OCI platforms")),
        doc="remove an image; [{Untagged}, {Deleted}]"),
    Endpoint("images.search", "GET", "/images/search", "1.0", None,
        (P("term", required=True), P("limit", "int", "1.24"), P("filters", "json", "1.24")),
        headers=(HeaderSpec("registry_auth", "1.9"),),
        doc="search a registry (code: X-Registry-Auth read from docker 0.8, API 1.9)"),
    Endpoint("images.prune", "POST", "/images/prune", "1.25", None, (FILTERS,),
        doc="remove unused images"),
    Endpoint("images.commit", "POST", "/commit", "1.0", None,
        (P("container"), P("repo"), P("tag"),
         # code reads `comment` from v1.0; the docs called it `m` until 1.11.
         P("comment"), P("author"), P("pause", "bool", "1.13"),
         P("changes", "list", "1.20")),
        BodyKind.JSON, J, doc="create an image from a container (201 {Id}); body = Config"),
    Endpoint("images.get", "GET", "/images/{name:path}/get", "1.7", None,
        (P("platform", "json_list", "1.48", doc="OCI platform; several from 1.52"),),
        response=B, doc="export an image as a tar archive"),
    Endpoint("images.get_all", "GET", "/images/get", "1.15", None,
        (P("names", "list"), P("platform", "json_list", "1.48")),
        response=B, doc="export several images as one tar archive"),
    Endpoint("images.load", "POST", "/images/load", "1.7", "1.22", (), BodyKind.TAR, E,
        body_required=True, doc="load images from a tar archive"),
    Endpoint("images.load", "POST", "/images/load", "1.23", None,
        (P("quiet", "bool"), P("platform", "json_list", "1.48")), BodyKind.TAR, JS,
        body_required=True, doc="load images from a tar archive; JSON progress stream"),
    Endpoint("images.attestations", "GET", "/images/{name:path}/attestations", "1.55", None,
        (P("platform", "json_list"), P("type", "list"), P("statement", "bool")),
        doc="in-toto attestation statements of an image"),
    # -- exec ---------------------------------------------------------------
    Endpoint("exec.create", "POST", "/containers/{id}/exec", "1.15", None, body=BodyKind.JSON,
        body_required=True, doc="create an exec instance (201 {Id})"),
    Endpoint("exec.start", "POST", "/exec/{id}/start", "1.15", None, body=BodyKind.JSON,
        body_required=True, response=HJ,
        doc="start an exec instance, body {Detach, Tty}; the connection is hijacked"),
    Endpoint("exec.resize", "POST", "/exec/{id}/resize", "1.15", None,
        (P("h", "int"), P("w", "int")), response=E, doc="resize an exec's TTY"),
    Endpoint("exec.inspect", "GET", "/exec/{id}/json", "1.16", None, doc="inspect an exec instance"),
    # -- system -----------------------------------------------------------
    Endpoint("system.ping", "GET", "/_ping", "1.11", None, response=T, doc="'OK'"),
    Endpoint("system.ping_head", "HEAD", "/_ping", "1.40", None, response=E,
        doc="ping without a body (headers only)"),
    Endpoint("system.version", "GET", "/version", "1.0", None, doc="version information"),
    Endpoint("system.info", "GET", "/info", "1.0", None, doc="system-wide information"),
    Endpoint("system.events", "GET", "/events", "1.3", None,
        (P("since", "time"), P("until", "time", "1.11"), P("filters", "json", "1.16")),
        response=JS, doc="real-time events (code: the route arrived with docker 0.5.1)"),
    Endpoint("system.df", "GET", "/system/df", "1.25", None,
        (P("type", "list", "1.42"), P("verbose", "bool", "1.52")), doc="disk usage"),
    Endpoint("system.get_auth", "GET", "/auth", "1.0", "1.1",
        doc="the credentials stored on the server {username, email}; gone from 1.2"),
    Endpoint("system.auth", "POST", "/auth", "1.0", "1.1", body=BodyKind.JSON, body_required=True,
        doc=_AUTH_V1_0_DOC),
    Endpoint("system.auth", "POST", "/auth", "1.2", None, body=BodyKind.JSON, body_required=True,
        doc="check credentials against a registry (IdentityToken from 1.23)"),
    Endpoint("system.session", "POST", "/session", "1.39", None, response=B,
        fixed_headers=(("Connection", "Upgrade"), ("Upgrade", "h2c")), upgrade_protocol="h2c",
        doc="interactive session (HTTP/2 after 101); experimental 1.31-1.38, deprecated 1.53"),
    Endpoint("system.grpc", "POST", "/grpc", "1.40", None, response=B,
        fixed_headers=(("Connection", "Upgrade"), ("Upgrade", "h2c")), upgrade_protocol="h2c",
        doc="gRPC (BuildKit) over h2c after 101; docker 19.03+, deprecated 1.53"),
    # -- networks ---------------------------------------------------------
    Endpoint("networks.list", "GET", "/networks", "1.21", None, (FILTERS,), doc="list networks"),
    Endpoint("networks.inspect", "GET", "/networks/{id}", "1.21", None,
        (P("verbose", "bool", "1.28"), P("scope", since="1.31")), doc="inspect a network"),
    Endpoint("networks.create", "POST", "/networks/create", "1.21", None, body=BodyKind.JSON,
        body_required=True, doc="create a network (201 {Id, Warning})"),
    Endpoint("networks.connect", "POST", "/networks/{id}/connect", "1.21", None,
        body=BodyKind.JSON, body_required=True, response=E, doc="connect a container"),
    Endpoint("networks.disconnect", "POST", "/networks/{id}/disconnect", "1.21", None,
        body=BodyKind.JSON, body_required=True, response=E, doc="disconnect a container"),
    Endpoint("networks.remove", "DELETE", "/networks/{id}", "1.21", None, response=E,
        doc="remove a network"),
    Endpoint("networks.prune", "POST", "/networks/prune", "1.25", None, (FILTERS,),
        doc="remove unused networks"),
    # -- volumes ----------------------------------------------------------
    Endpoint("volumes.list", "GET", "/volumes", "1.21", None, (FILTERS,), doc="list volumes"),
    Endpoint("volumes.create", "POST", "/volumes/create", "1.21", None, body=BodyKind.JSON,
        body_required=True, doc="create a volume (201)"),
    Endpoint("volumes.inspect", "GET", "/volumes/{name}", "1.21", None, doc="inspect a volume"),
    Endpoint("volumes.update", "PUT", "/volumes/{name}", "1.42", None,
        (P("version", "int", required=True, doc="the volume's object version"),),
        BodyKind.JSON, E, body_required=True, doc="update a cluster volume"),
    Endpoint("volumes.remove", "DELETE", "/volumes/{name}", "1.21", None,
        (P("force", "bool", "1.25"),), response=E, doc="remove a volume"),
    Endpoint("volumes.prune", "POST", "/volumes/prune", "1.25", None, (FILTERS,),
        doc="remove unused volumes (anonymous only from 1.42 unless all=true)"),
    # -- distribution -----------------------------------------------------
    Endpoint("distribution.inspect", "GET", "/distribution/{name:path}/json", "1.30", None,
        headers=(AUTH,), doc="image manifest descriptor and platforms, from the registry"),
    # -- plugins ----------------------------------------------------------
    Endpoint("plugins.list", "GET", "/plugins", "1.25", None, (P("filters", "json", "1.28"),),
        doc="list plugins"),
    Endpoint("plugins.privileges", "GET", "/plugins/privileges", "1.25", "1.26",
        (P("name", required=True),), headers=(AUTH,),
        doc="privileges a plugin needs; the reference is `name` until 1.26"),
    Endpoint("plugins.privileges", "GET", "/plugins/privileges", "1.27", None,
        (P("remote", required=True),), headers=(AUTH,),
        doc="privileges a plugin needs (the reference is `remote` from 1.27)"),
    Endpoint("plugins.pull", "POST", "/plugins/pull", "1.25", None,
        (P("remote", required=True), P("name")), BodyKind.JSON, JS, (AUTH,),
        doc="install a plugin; body = the granted privileges"),
    Endpoint("plugins.inspect", "GET", "/plugins/{name:path}/json", "1.25", None,
        doc="inspect a plugin"),
    Endpoint("plugins.remove", "DELETE", "/plugins/{name:path}", "1.25", None,
        (P("force", "bool"),), doc="remove a plugin"),
    Endpoint("plugins.enable", "POST", "/plugins/{name:path}/enable", "1.25", None,
        (P("timeout", "int"),), response=E, doc="enable a plugin"),
    Endpoint("plugins.disable", "POST", "/plugins/{name:path}/disable", "1.25", None,
        (P("force", "bool", "1.28"),), response=E, doc="disable a plugin"),
    Endpoint("plugins.upgrade", "POST", "/plugins/{name:path}/upgrade", "1.26", None,
        (P("remote", required=True),), BodyKind.JSON, JS, (AUTH,),
        doc="upgrade a plugin; body = the granted privileges"),
    Endpoint("plugins.create", "POST", "/plugins/create", "1.25", None,
        (P("name", required=True),), BodyKind.TAR, E, body_required=True,
        doc="create a plugin from a tar (rootfs + config.json)"),
    Endpoint("plugins.push", "POST", "/plugins/{name:path}/push", "1.25", None,
        response=JS, headers=(AUTH,), doc="push a plugin"),
    Endpoint("plugins.set", "POST", "/plugins/{name:path}/set", "1.25", None,
        body=BodyKind.JSON, body_required=True, response=E,
        doc='configure a plugin; body = ["KEY=value", ...]'),
    # -- swarm ------------------------------------------------------------
    Endpoint("swarm.inspect", "GET", "/swarm", "1.24", None, doc="inspect the swarm"),
    Endpoint("swarm.init", "POST", "/swarm/init", "1.24", None, body=BodyKind.JSON,
        body_required=True, doc="initialize a swarm; the node ID (JSON string)"),
    Endpoint("swarm.join", "POST", "/swarm/join", "1.24", None, body=BodyKind.JSON,
        body_required=True, response=E, doc="join a swarm"),
    Endpoint("swarm.leave", "POST", "/swarm/leave", "1.24", None, (P("force", "bool"),),
        response=E, doc="leave the swarm"),
    Endpoint("swarm.update", "POST", "/swarm/update", "1.24", None,
        (P("version", "int", required=True), P("rotateWorkerToken", "bool"),
         P("rotateManagerToken", "bool"), P("rotateManagerUnlockKey", "bool", "1.25")),
        BodyKind.JSON, E, body_required=True, doc="update the swarm"),
    Endpoint("swarm.unlockkey", "GET", "/swarm/unlockkey", "1.25", None, doc="the unlock key"),
    Endpoint("swarm.unlock", "POST", "/swarm/unlock", "1.25", None, body=BodyKind.JSON,
        body_required=True, response=E, doc="unlock a locked manager"),
    # -- nodes ------------------------------------------------------------
    Endpoint("nodes.list", "GET", "/nodes", "1.24", None, (FILTERS,), doc="list nodes"),
    Endpoint("nodes.inspect", "GET", "/nodes/{id}", "1.24", None, doc="inspect a node"),
    Endpoint("nodes.update", "POST", "/nodes/{id}/update", "1.24", None,
        (P("version", "int", required=True),), BodyKind.JSON, E, body_required=True,
        doc="update a node"),
    Endpoint("nodes.remove", "DELETE", "/nodes/{id}", "1.24", None, (P("force", "bool"),),
        response=E, doc="remove a node"),
    # -- services ---------------------------------------------------------
    Endpoint("services.list", "GET", "/services", "1.24", None,
        (FILTERS, P("status", "bool", "1.41")), doc="list services"),
    Endpoint("services.create", "POST", "/services/create", "1.24", None, (), BodyKind.JSON, J,
        (AUTH,), body_required=True, doc="create a service (201 {ID, Warnings})"),
    Endpoint("services.inspect", "GET", "/services/{id}", "1.24", None,
        (P("insertDefaults", "bool", "1.29"),), doc="inspect a service"),
    Endpoint("services.update", "POST", "/services/{id}/update", "1.24", None,
        (P("version", "int", required=True), P("registryAuthFrom", since="1.25"),
         P("rollback", since="1.28")),
        BodyKind.JSON, J, (AUTH,), body_required=True, doc="update a service {Warnings}"),
    Endpoint("services.remove", "DELETE", "/services/{id}", "1.24", None, response=E,
        doc="remove a service"),
    Endpoint("services.logs", "GET", "/services/{id}/logs", "1.29", None, _LOG_PARAMS,
        response=ST, doc="service logs (experimental daemons had it from 1.25)"),
    # -- tasks ------------------------------------------------------------
    Endpoint("tasks.list", "GET", "/tasks", "1.24", None, (FILTERS,), doc="list tasks"),
    Endpoint("tasks.inspect", "GET", "/tasks/{id}", "1.24", None, doc="inspect a task"),
    Endpoint("tasks.logs", "GET", "/tasks/{id}/logs", "1.29", None, _LOG_PARAMS, response=ST,
        doc="task logs"),
    # -- secrets ----------------------------------------------------------
    Endpoint("secrets.list", "GET", "/secrets", "1.25", None, (FILTERS,), doc="list secrets"),
    Endpoint("secrets.create", "POST", "/secrets/create", "1.25", None, body=BodyKind.JSON,
        body_required=True, doc="create a secret (201 {ID})"),
    Endpoint("secrets.inspect", "GET", "/secrets/{id}", "1.25", None, doc="inspect a secret"),
    Endpoint("secrets.update", "POST", "/secrets/{id}/update", "1.26", None,
        (P("version", "int", required=True),), BodyKind.JSON, E, body_required=True,
        doc="update a secret (labels only)"),
    Endpoint("secrets.remove", "DELETE", "/secrets/{id}", "1.25", None, response=E,
        doc="remove a secret"),
    # -- configs ----------------------------------------------------------
    Endpoint("configs.list", "GET", "/configs", "1.30", None, (FILTERS,), doc="list configs"),
    Endpoint("configs.create", "POST", "/configs/create", "1.30", None, body=BodyKind.JSON,
        body_required=True, doc="create a config (201 {ID})"),
    Endpoint("configs.inspect", "GET", "/configs/{id}", "1.30", None, doc="inspect a config"),
    Endpoint("configs.update", "POST", "/configs/{id}/update", "1.30", None,
        (P("version", "int", required=True),), BodyKind.JSON, E, body_required=True,
        doc="update a config (labels only)"),
    Endpoint("configs.remove", "DELETE", "/configs/{id}", "1.30", None, response=E,
        doc="remove a config"),
)

_BY_NAME: dict[str, tuple[Endpoint, ...]] = {}
for _e in ENDPOINTS:
    _BY_NAME[_e.name] = _BY_NAME.get(_e.name, ()) + (_e,)
del _e


#: endpoint()'s answers: the table is fixed, and every request asks it.
_CHOSEN: dict[tuple[str, APIVersion], Endpoint] = {}
_CHOSEN_MAX = 8192


def endpoint_names() -> tuple[str, ...]:
    """Every endpoint name, in declaration order."""
    return tuple(_BY_NAME)


def _variants(name: str) -> tuple[Endpoint, ...]:
    try:
        return _BY_NAME[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _BY_NAME, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise LocalProtocolError(f"unknown endpoint {name!r}{hint}") from None


def endpoint(name: str, version: VersionLike | None = None) -> Endpoint:
    """The variant of endpoint ``name`` in force at ``version``.

    Without ``version``, the newest variant.  Raises
    :class:`UnsupportedVersion` when no variant covers ``version``.
    """
    if version is None:
        return _variants(name)[-1]
    v = APIVersion(version)
    key = (name, v)
    found = _CHOSEN.get(key)
    if found is not None:
        return found
    variants = _variants(name)
    for ep in variants:
        if ep.available(v):
            if len(_CHOSEN) < _CHOSEN_MAX:
                _CHOSEN[key] = ep
            return ep
    first, last = variants[0], variants[-1]
    raise UnsupportedVersion(
        f"{name} ({first.method} {_display_path(first.path)})", v,
        _v(first.since) if v < APIVersion(first.since) else None,
        _v(last.until) if last.until is not None and v > APIVersion(last.until) else None,
    )


def _display_path(path: str) -> str:
    return path.replace(":path}", "}")


# ---------------------------------------------------------------------------
# Building requests


def _json_text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return _json.dumps(value, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise LocalProtocolError(f"{what}: not JSON-serialisable: {exc}") from None
    raise LocalProtocolError(f"{what}: expected a mapping, list or JSON text, not {type(value).__name__}")


def _encode_param(p: Param, value: Any, what: str) -> str | list[str]:
    kind = p.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise LocalProtocolError(f"{what} must be a bool, not {type(value).__name__}")
        return "1" if value else "0"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise LocalProtocolError(f"{what} must be an int, not {type(value).__name__}")
        return str(value)
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise LocalProtocolError(f"{what} must be a str, not {type(value).__name__}")
        return str(value)
    if kind == "time":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise LocalProtocolError(
                f"{what} must be a timestamp (int, float or str), not {type(value).__name__}"
            )
        if isinstance(value, float):
            return f"{value:.9f}".rstrip("0").rstrip(".")
        return str(value)
    if kind == "json":
        return _json_text(value, what)
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise LocalProtocolError(f"{what} must be a str or a list of str")
        return list(items)
    # json_list
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, (list, tuple)):
        raise LocalProtocolError(f"{what} must be a list of mappings or JSON texts")
    return [_json_text(i, what) for i in items]


def encode_multipart(
    files: Mapping[str, bytes], fields: Iterable[tuple[str, str]] = ()
) -> tuple[bytes, str]:
    """``multipart/form-data`` body and Content-Type for v1.1-1.2 ``/build``.

    ``files`` are file parts (``Dockerfile``, ``Context``), ``fields`` plain
    form fields (``t``).  The boundary is derived from the content, so the
    same input always gives the same bytes, and is checked not to occur in it.
    """
    fields = list(fields)
    digest = hashlib.sha256()
    for name, data in files.items():
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise LocalProtocolError(f"multipart part {name!r} must be bytes")
        digest.update(name.encode() + b"\0" + bytes(data) + b"\0")
    for name, value in fields:
        digest.update(name.encode() + b"\0" + value.encode() + b"\0")
    boundary = "docker-protocol-" + digest.hexdigest()[:32]
    blobs = [bytes(d) for d in files.values()] + [v.encode() for _, v in fields]
    while any(boundary.encode() in b for b in blobs):  # pragma: no cover - astronomically rare
        boundary += "x"
    out = bytearray()
    for name, value in fields:
        _check_part_name(name)
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        ).encode() + value.encode("utf-8") + b"\r\n"
    for name, data in files.items():
        _check_part_name(name)
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode() + bytes(data) + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _check_part_name(name: str) -> None:
    if not name or any(c in name for c in '"\r\n\\'):
        raise LocalProtocolError(f"invalid multipart part name {name!r}")


def _decode_registry_auth(value: str) -> bytes:
    """The JSON behind an X-Registry-Auth value (base64url, padding optional)."""
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        _json.loads(raw)
    except (binascii.Error, ValueError):
        raise LocalProtocolError(
            "registry_auth is not base64url-encoded JSON; v1.2-1.4 push sends it as the body"
        ) from None
    return raw


def _effective(
    items: list[tuple[str | None, str | None, Endpoint]],
) -> list[tuple[APIVersion, APIVersion | None]]:
    """Version ranges of parameters or headers, clipped to their variants."""
    out: list[tuple[APIVersion, APIVersion | None]] = []
    for since, until, ep in items:
        lo = max(APIVersion(since or "1.0"), APIVersion(ep.since))
        highs = [APIVersion(u) for u in (until, ep.until) if u is not None]
        out.append((lo, min(highs) if highs else None))
    return out


def _unsupported(
    feature: str, v: APIVersion, ranges: list[tuple[APIVersion, APIVersion | None]]
) -> UnsupportedVersion:
    lowest = min(lo for lo, _ in ranges)
    if v < lowest:
        return UnsupportedVersion(feature, v, lowest, None)
    highs = [hi for _, hi in ranges if hi is not None]
    top = max(highs) if len(highs) == len(ranges) else None
    return UnsupportedVersion(feature, v, None, top if top is not None and v > top else None)


def build_request(
    endpoint_or_name: Endpoint | str,
    version: VersionLike,
    /,
    *,
    body: Any = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    registry_auth: str | None = None,
    registry_config: str | None = None,
    tty: bool | None = None,
    **params: Any,
) -> Request:
    """Build the :class:`Request` for an endpoint at API ``version``.

    ``params`` are the path parameters (``id``, ``name``) and query
    parameters under their Python names; ``None`` values are left out.
    ``json``/``body`` is the request body as the endpoint's
    :class:`BodyKind` wants it (a mapping of file parts for the v1.1-1.2
    multipart build).  ``registry_auth`` is an encoded ``X-Registry-Auth``
    value (sent as the JSON body to v1.2-1.4 push), ``registry_config`` an
    encoded ``X-Registry-Config``.  ``tty`` is passed to the request for
    container output kinds.

    Raises :class:`LocalProtocolError` for unknown or missing parameters and
    :class:`UnsupportedVersion` for anything outside its API versions.
    """
    v = APIVersion(version)
    name = endpoint_or_name.name if isinstance(endpoint_or_name, Endpoint) else endpoint_or_name
    if not isinstance(name, str):
        raise LocalProtocolError(f"expected an Endpoint or an endpoint name, not {name!r}")
    ep = endpoint(name, v)
    siblings = _variants(name)

    # Sort the keywords into path and query parameters, rejecting strangers.
    path_names = ep.path_params
    path_params: dict[str, Any] = {}
    given: dict[str, Any] = {}
    for key, value in params.items():
        if key in path_names:
            path_params[key] = value
        elif ep.param(key) is not None:
            if value is not None:
                given[key] = value
        else:
            elsewhere = _effective(
                [(p.since, p.until, s) for s in siblings if s is not ep for p in s.query if p.name == key]
            )
            if elsewhere:
                if value is None:
                    continue
                raise _unsupported(f"{key} ({name})", v, elsewhere)
            valid = sorted(set(path_names) | {p.name for p in ep.query})
            raise LocalProtocolError(
                f"{name} has no parameter {key!r}; valid: {', '.join(valid) or '(none)'}"
            )
    missing = [n for n in path_names if path_params.get(n) is None]
    if missing:
        raise LocalProtocolError(f"{name} needs path parameter(s) {', '.join(missing)}")

    # Versions of parameters, then values.
    query: list[tuple[str, Any]] = []
    form: list[tuple[str, str]] = []
    for p in ep.query:
        if p.name not in given:
            if p.required and p.available(v):
                raise LocalProtocolError(f"{name} needs the {p.name!r} parameter")
            continue
        if not p.available(v):
            raise UnsupportedVersion(
                f"{p.name} ({name})", v,
                _v(p.since) if p.since is not None and v < APIVersion(p.since) else None,
                _v(p.until),
            )
        encoded = _encode_param(p, given[p.name], f"{name}: {p.name}")
        if p.form:
            form += [(p.key, e) for e in ([encoded] if isinstance(encoded, str) else encoded)]
        else:
            query.append((p.key, encoded))

    # Headers: registry auth and config, as this variant takes them.
    hdrs: list[tuple[str, str]] = list(ep.fixed_headers)
    auth_body: bytes | None = None
    for source, value in (("registry_auth", registry_auth), ("registry_config", registry_config)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise LocalProtocolError(f"{source} must be the encoded header value (str)")
        if source == "registry_auth" and ep.body is BodyKind.AUTH_BODY:
            auth_body = _decode_registry_auth(value)
            continue
        spec = next((h for h in ep.headers if h.source == source and h.available(v)), None)
        if spec is not None:
            hdrs.append((spec.header, value))
            continue
        ranges = _effective(
            [(h.since, h.until, s) for s in siblings for h in s.headers if h.source == source]
        )
        if source == "registry_auth":
            ranges += [(APIVersion(s.since), _v(s.until)) for s in siblings if s.body is BodyKind.AUTH_BODY]
        if not ranges:
            raise LocalProtocolError(f"{name} does not take {source} ({_HEADER_SOURCES[source]})")
        raise _unsupported(f"{source} ({name})", v, ranges)
    if headers:
        hdrs += list(headers.items())

    # Body, as the variant takes it.
    content_type: str | None = None
    kind = ep.body
    if kind is BodyKind.NONE:
        if body is not None or json is not None:
            raise LocalProtocolError(f"{name} takes no request body at API {v}")
    elif kind is BodyKind.JSON or kind is BodyKind.AUTH_BODY:
        if kind is BodyKind.AUTH_BODY and auth_body is not None:
            if json is not None or body is not None:
                raise LocalProtocolError(f"{name}: give registry_auth or a body, not both")
            body, content_type = auth_body, "application/json"
        elif body is not None:
            content_type = "application/json"
    elif kind is BodyKind.TAR:
        if json is not None:
            raise LocalProtocolError(f"{name} takes a tar archive (body=), not json=")
        if body is not None:
            content_type = "application/x-tar"
    elif kind is BodyKind.BYTES:
        if json is not None:
            raise LocalProtocolError(f"{name} takes raw bytes (body=), not json=")
    elif kind is BodyKind.MULTIPART:
        if json is not None:
            raise LocalProtocolError(f"{name} takes multipart file parts (body=), not json=")
        if body is not None:
            if not isinstance(body, Mapping):
                raise LocalProtocolError(
                    f"{name} at API {v} is a multipart upload: pass body={{'Dockerfile': ..., "
                    "'Context': ...}}"
                )
            if "Dockerfile" not in body:
                raise LocalProtocolError(f"{name} at API {v} needs a 'Dockerfile' part")
            body, content_type = encode_multipart(body, form)
    if ep.body_required and body is None and json is None:
        raise LocalProtocolError(f"{name} needs a request body ({kind.value})")

    return Request(
        ep.method,
        ep.path,
        params=path_params,
        query=query,
        headers=hdrs,
        json=json,
        body=body,
        content_type=content_type,
        kind=ep.response,
        tty=tty,
        version=v,
    )


# ---------------------------------------------------------------------------
# Documentation and v1.0 helpers


def endpoint_table_markdown() -> str:
    """A Markdown table of every endpoint variant, in declaration order."""
    lines = [
        "| Endpoint | Method | Path | API versions | Response |",
        "|---|---|---|---|---|",
    ]
    for ep in ENDPOINTS:
        lines.append(
            f"| `{ep.name}` | {ep.method} | `{_display_path(ep.path)}` | {ep.versions} "
            f"| {ep.response.value} |"
        )
    return "\n".join(lines) + "\n"


_PROGRESS_RE = re.compile(r"\A(?P<status>.*?) ?(?P<progress>\d+/(?:\d+|\?) \((?:\d+%|n/a)\))\Z")


def parse_v1_0_progress(text: str | bytes) -> list[dict[str, Any]]:
    """Turn a v1.0 plain-text progress body into JSON-stream style dicts.

    Docker 0.3.3 wrote pull/push/import/insert progress as text lines ended
    by ``\\r\\n``, ``\\n`` or a bare ``\\r`` (progress counters overwrite
    themselves), e.g. ``Downloading 4096/8192 (50%)\\r``, and errors after
    the start as ``Error: ...``.  Each line becomes what v1.1+ sends for it:
    ``{"status": ...}``, with ``progress`` split out of counter lines and
    ``error``/``errorDetail`` for error lines.  Empty lines are dropped.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    out: list[dict[str, Any]] = []
    for line in re.split(r"\r\n|\r|\n", text):
        line = line.strip()
        if not line:
            continue
        if line.startswith("Error: "):
            msg = line[len("Error: "):]
            out.append({"error": msg, "errorDetail": {"message": msg}})
            continue
        m = _PROGRESS_RE.match(line)
        if m and m.group("status"):
            out.append({"status": m.group("status"), "progress": m.group("progress")})
        else:
            out.append({"status": line})
    return out


def _check_table() -> None:
    # Invariants the data must keep; run at import so a bad edit fails fast.
    for name, variants in _BY_NAME.items():
        for a, b in zip(variants, variants[1:]):
            if a.until is None or APIVersion(a.until) >= APIVersion(b.since):
                raise AssertionError(f"{name}: overlapping or unordered variants")
        for ep in variants:
            assert ep.path.startswith("/"), ep
            assert APIVersion(ep.since) <= MAX_VERSION, ep
            names = [p.name for p in ep.query]
            assert len(names) == len(set(names)), ep
            assert not set(names) & set(ep.path_params), ep
            assert not set(names) & {"body", "json", "headers", "registry_auth",
                                     "registry_config", "tty"}, ep


_check_table()
