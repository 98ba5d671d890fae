"""The request model.

A :class:`Request` is everything needed to put one Engine API call on the
wire: method, path template and parameters, query, headers, body, and the
kind of response it gets.  It is validated when built, so unsafe input (a CR
or LF that would split a header, a path parameter that would climb out of
its segment) is refused before a single byte is produced.

Query conventions follow the daemon's parsers (``httputils.BoolValue``,
``filters.FromJSON``): booleans are ``1``/``0``, mappings (filters, labels,
build args) are compact JSON, lists are repeated keys, ``None`` is omitted.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union
from urllib.parse import quote

from ._errors import LocalProtocolError
from ._version import APIVersion, VersionLike

__all__ = ["Request", "ResponseKind", "encode_query", "UPGRADE_MIN_VERSION"]

#: HTTP Upgrade for attach/exec arrived with docker 1.5 (API 1.17); older
#: daemons answer 200 and hijack anyway, so we only ask from there on.
UPGRADE_MIN_VERSION = APIVersion("1.17")


class ResponseKind(enum.Enum):
    """How the body of a successful response is delivered."""

    #: A JSON document, delivered as :class:`Data` and decoded by the caller.
    JSON = "json"
    #: No body (204, or an ignored body).
    EMPTY = "empty"
    #: Plain text (``/_ping``'s ``OK``, v1.0 progress, old build logs).
    TEXT = "text"
    #: Binary data to pass through untouched (export, save, archive tar).
    BINARY = "binary"
    #: A stream of JSON messages (pull, push, build, events, stats).
    JSON_STREAM = "json-stream"
    #: Container output: multiplexed stdout/stderr frames, or raw with a TTY.
    STREAM = "stream"
    #: The connection is taken over (attach, exec start).
    HIJACK = "hijack"


QueryValue = Union[str, int, bool, None, Mapping[str, Any], Sequence[Any], APIVersion]
Body = Union[bytes, bytearray, memoryview, Iterable[bytes], None]

_TOKEN_RE = re.compile(rb"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")
_UNSAFE = ("\r", "\n", "\x00")


def _check_text(what: str, value: str) -> None:
    for ch in _UNSAFE:
        if ch in value:
            raise LocalProtocolError(
                f"{what} contains {ch!r}, which cannot be sent safely: {value!r}"
            )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (e.g. from os.fsdecode of undecodable bytes)
            # has no UTF-8 form to percent-encode.
            raise LocalProtocolError(
                f"{what} contains a lone surrogate, which has no UTF-8 form: {value!r}"
            ) from None


def _encode_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, APIVersion)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    raise LocalProtocolError(
        f"query parameter {key!r}: cannot encode a {type(value).__name__} ({value!r})"
    )


def encode_query(query: Mapping[str, QueryValue] | Sequence[tuple[str, QueryValue]] | None) -> str:
    """Encode query parameters with the daemon's conventions (no leading ``?``).

    >>> encode_query({"all": True, "filters": {"status": ["exited"]}, "limit": None})
    'all=1&filters=%7B%22status%22%3A%5B%22exited%22%5D%7D'
    """
    if not query:
        return ""
    items = query.items() if isinstance(query, Mapping) else query
    parts: list[str] = []
    for key, value in items:
        if not isinstance(key, str) or not key:
            raise LocalProtocolError(f"query parameter names must be non-empty strings, not {key!r}")
        _check_text("query parameter name", key)
        if value is None:
            continue
        values: Iterable[Any]
        if isinstance(value, (list, tuple)):
            values = value  # repeated keys, e.g. build's cachefrom in old APIs, ?t=a&t=b
        else:
            values = (value,)
        for v in values:
            if v is None:
                continue
            text = _encode_value(key, v)
            _check_text(f"query parameter {key!r}", text)
            parts.append(f"{quote(key, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def _encode_path(template: str, params: Mapping[str, Any]) -> str:
    if not template.startswith("/"):
        raise LocalProtocolError(f"path template must start with '/': {template!r}")
    if not params and "{" not in template and "}" not in template:
        return template  # nothing to fill in (/_ping, /version, /info)
    used: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        name, multi = m.group(1), m.group(2)
        if name not in params:
            raise LocalProtocolError(f"path parameter {name!r} is missing for {template!r}")
        used.add(name)
        value = params[name]
        if not isinstance(value, str):
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            else:
                raise LocalProtocolError(
                    f"path parameter {name!r} must be a string, not {type(value).__name__}"
                )
        if not value:
            raise LocalProtocolError(f"path parameter {name!r} is empty")
        _check_text(f"path parameter {name!r}", value)
        segments = value.split("/")
        if multi is None and len(segments) > 1:
            # A '/' here would move the request to another route
            # (e.g. id="x/../../version").
            raise LocalProtocolError(
                f"path parameter {name!r} contains '/', which would escape its path segment: {value!r}"
            )
        for seg in segments:
            if seg in ("", ".", ".."):
                raise LocalProtocolError(
                    f"path parameter {name!r} has an empty, '.' or '..' segment: {value!r}"
                )
        # Image and plugin names keep '/' and ':' literal: the daemon routes
        # /images/{name:.*}/json on the decoded path, as the Go client sends it.
        return quote(value, safe="/:@" if multi else ":@")

    path = _PARAM_RE.sub(replace, template)
    extra = set(params) - used
    if extra:
        raise LocalProtocolError(f"unknown path parameters for {template!r}: {sorted(extra)}")
    if "{" in path or "}" in path:
        raise LocalProtocolError(f"malformed path template {template!r}")
    return path


#: Methods the endpoint table uses: valid tokens, no need to match them again.
_COMMON_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD"})


class Request:
    """One API call.

    ``path`` is a template such as ``/containers/{id}/json`` (``{name:path}``
    allows ``/`` inside the value, for image names); ``params`` fills it in.
    ``json`` (any JSON value) or ``body`` (bytes, or an iterable of byte
    chunks sent with chunked encoding) is the request body.  ``kind`` is the
    :class:`ResponseKind` a success gets; ``tty`` says, for STREAM and HIJACK
    kinds, whether the container/exec has a TTY (raw output) or not
    (multiplexed): daemons below API 1.42 do not say so in the response.
    ``version`` is the API version to put in the path (``None`` = unversioned,
    which the daemon serves at its maximum).
    """

    __slots__ = (
        "method",
        "path",
        "query",
        "headers",
        "body",
        "kind",
        "tty",
        "version",
        "_content_type",
        "_target",
    )

    method: str
    path: str
    query: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: Body
    kind: ResponseKind
    tty: bool | None
    version: APIVersion | None
    _target: str | None

    def __init__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        query: Mapping[str, QueryValue] | Sequence[tuple[str, QueryValue]] | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        body: Body = None,
        content_type: str | None = None,
        kind: ResponseKind = ResponseKind.JSON,
        tty: bool | None = None,
        version: VersionLike | None = None,
    ) -> None:
        if not isinstance(method, str) or (
            method not in _COMMON_METHODS and not _TOKEN_RE.match(method.encode("ascii", "replace"))
        ):
            raise LocalProtocolError(f"invalid HTTP method {method!r}")
        if not isinstance(kind, ResponseKind):
            raise LocalProtocolError(f"kind must be a ResponseKind, not {kind!r}")
        if json is not None and body is not None:
            raise LocalProtocolError("give either json= or body=, not both")
        set_ = object.__setattr__
        set_(self, "method", method.upper())
        set_(self, "path", _encode_path(path, params or {}))
        set_(self, "query", encode_query(query))
        hdrs: list[tuple[bytes, bytes]] = []
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        for name, value in items:
            if not isinstance(name, str) or not isinstance(value, str):
                raise LocalProtocolError(f"header names and values must be str: {name!r}")
            _check_text(f"header {name!r}", value)
            bname = name.encode("ascii", "replace")
            if not _TOKEN_RE.match(bname):
                raise LocalProtocolError(f"invalid header name {name!r}")
            try:
                bvalue = value.encode("latin-1")
            except UnicodeEncodeError:
                raise LocalProtocolError(f"header {name!r} value is not latin-1 text") from None
            hdrs.append((bname, bvalue))
        if json is not None:
            body = _dumps(json)
            content_type = content_type or "application/json"
        if content_type is not None:
            _check_text("content type", content_type)
            hdrs.append((b"Content-Type", content_type.encode("latin-1")))
        if isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        elif body is not None and not isinstance(body, bytes):
            if isinstance(body, Mapping):
                # A dict iterates its keys: it would go out as a chunked body
                # of str and fail half-sent.
                raise LocalProtocolError(
                    f"body must be bytes or an iterable of bytes, not {type(body).__name__}; "
                    "give a JSON body as json="
                )
            if isinstance(body, str) or not isinstance(body, Iterable):
                raise LocalProtocolError(
                    f"body must be bytes or an iterable of bytes, not {type(body).__name__}"
                )
        set_(self, "headers", tuple(hdrs))
        set_(self, "body", body)
        set_(self, "kind", kind)
        set_(self, "tty", tty)
        set_(self, "version", None if version is None else APIVersion(version))
        set_(self, "_content_type", content_type)
        set_(self, "_target", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Request is immutable; use .with_version() or build a new one")

    def with_version(self, version: VersionLike | None) -> Request:
        """The same request, addressed to API ``version``."""
        new = object.__new__(Request)
        for slot in Request.__slots__:
            object.__setattr__(new, slot, getattr(self, slot))
        object.__setattr__(new, "version", None if version is None else APIVersion(version))
        object.__setattr__(new, "_target", None)
        return new

    @property
    def target(self) -> str:
        """The request target: versioned path plus query string."""
        target = self._target
        if target is None:
            # Built once: every send (and every error message) asks for it.
            prefix = f"/v{self.version}" if self.version is not None else ""
            target = prefix + self.path + (("?" + self.query) if self.query else "")
            object.__setattr__(self, "_target", target)
        return target

    def header_list(self, host: bytes = b"docker") -> list[tuple[bytes, bytes]]:
        """All headers to send, including Host, framing and upgrade headers."""
        hdrs = [(b"Host", host), *self.headers]
        if self.kind is ResponseKind.HIJACK and (
            self.version is None or self.version >= UPGRADE_MIN_VERSION
        ):
            hdrs += [(b"Connection", b"Upgrade"), (b"Upgrade", b"tcp")]
        if isinstance(self.body, bytes):
            hdrs.append((b"Content-Length", str(len(self.body)).encode("ascii")))
        elif self.body is not None:
            hdrs.append((b"Transfer-Encoding", b"chunked"))
        elif self.method in ("POST", "PUT"):
            # Go's server is fine without it, but proxies and old daemons
            # want an explicit empty body for POST.
            hdrs.append((b"Content-Length", b"0"))
        return hdrs

    def body_chunks(self) -> Iterator[bytes]:
        """The body as chunks to send (nothing for bodiless requests)."""
        if self.body is None:
            return iter(())
        if isinstance(self.body, bytes):
            return iter((self.body,) if self.body else ())
        return iter(self.body)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        # Headers are left out on purpose: X-Registry-Auth carries secrets.
        return f"<Request {self.method} {self.target} kind={self.kind.value}>"


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"request body is not JSON-serialisable: {exc}") from None
