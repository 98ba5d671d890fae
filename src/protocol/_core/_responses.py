"""Turning the daemon's error answers into typed exceptions.

Error bodies changed over the years (wire facts, section 2): plain text
until docker 1.12, and since then JSON ``{"message": ...}`` for unversioned
paths and versions above 1.23, while versioned requests below 1.24 still get
plain text.  Version refusals came in four wordings; all become
:class:`VersionError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ._errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    NotAcceptable,
    NotFound,
    NotModified,
    RemoteProtocolError,
    ServerError,
    Unauthorized,
    UnexpectedRedirect,
    UnsupportedEndpoint,
    VersionError,
)
from ._events import Response, StreamError
from ._fastjson import MISS, fast_loads
from ._request import Request
from ._stream_py import _scan_once
from ._version import APIVersion

__all__ = [
    "error_from_response",
    "decode_error_message",
    "decode_json",
    "parse_version_error",
    "error_from_stream",
    "decode_path_stat",
]


# A whole answer is one value: orjson decodes it when it is installed and
# may (see _fastjson).  Else the stdlib's C scanner is called directly, as
# the stream layer does (its _scan_once), since json.loads's Python layers
# around it (BOM and whitespace checks by regex) cost as much as parsing a
# small answer.  Anything the direct call does not take as a plain value
# followed by JSON whitespace goes to json.loads, for its value or its error.
def decode_json(body: bytes | bytearray | str, what: str | Request) -> Any:
    """Decode JSON the daemon sent; any failure is a RemoteProtocolError.

    Peer-controlled input can fail in more ways than ValueError: invalid
    UTF-8 (UnicodeDecodeError), nesting deep enough to exhaust the
    interpreter's recursion limit (RecursionError).  None may escape as a
    builtin error.  ``what`` names the body in the message (a request: the
    answer to it, named only when it fails).
    """
    try:
        if isinstance(body, str):
            text = body
        else:
            value = fast_loads(body)
            if value is not MISS:
                return value
            text = body.decode("utf-8")
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:  # leading whitespace, a BOM, or no value
            return json.loads(text)
        if end == len(text) or not text[end:].strip(" \t\n\r"):  # json.loads's whitespace
            return value
        return json.loads(text)  # its "Extra data" error
    except (ValueError, RecursionError) as exc:
        snippet = bytes(body[:200]) if not isinstance(body, str) else body[:200]
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
        if not isinstance(what, str):
            what = f"the answer to {what.method} {what.path}"
        raise RemoteProtocolError(f"{what} is {reason}: {snippet!r}") from None

# Registry refusals keep their meaning whatever status carries them: pull
# answers 500 "unauthorized: authentication required", push reports it
# in-band under a 200 (seen on Docker 20.10 with a registry using htpasswd).
_UNAUTHORIZED_RE = re.compile(
    r"unauthorized|authentication required|no basic auth credentials|denied: requested access",
    re.IGNORECASE,
)

# Podman's compat API answers 500 where Docker answers 409/400, with libpod's
# error at the end of the message (seen on Podman 4.3): "... cannot be
# removed without force: container state improper", "the container name
# "x" is already in use by ...", "network name x already used: network
# already exists", "...: invalid argument".
_LIBPOD_CONFLICT_RE = re.compile(
    r"(container state improper|is already in use by|already exists|already in use)\s*$", re.IGNORECASE
)
_LIBPOD_BAD_REQUEST_RE = re.compile(r"invalid argument\s*$", re.IGNORECASE)
# What routers answer for a path they do not route: Go's net/http and
# gorilla/mux ("404 page not found"), Docker's router at 1.24+ as JSON
# ("page not found"), Podman ("Not Found").  A missing object is explained.
_ROUTER_MISS = frozenset({"not found", "404 not found", "page not found", "404 page not found"})

_BY_STATUS: dict[int, type[APIError]] = {
    304: NotModified,
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    406: NotAcceptable,
    409: Conflict,
}

_V = r"([0-9]+\.[0-9]+)"
# Each pattern: (regex, too_new, group of client version, group of server version)
_VERSION_PATTERNS: list[tuple[re.Pattern[str], bool | None, int, int]] = [
    # docker 17.11+: 400 "client version 1.50 is too new. Maximum supported API version is 1.41"
    (re.compile(rf"client version {_V} is too new\. Maximum supported API version is {_V}"), True, 1, 2),
    # docker 1.8+: 400 "client version 1.5 is too old. Minimum supported API version is 1.12, ..."
    (re.compile(rf"client version {_V} is too old\. Minimum supported API version is {_V}"), False, 1, 2),
    # docker 1.8-1.12: 400 "client is newer than server (client API version: X, server API version: Y)"
    (re.compile(rf"client is newer than server \(client API version: {_V}, server API version: {_V}\)"), True, 1, 2),
    # docker 0.8-1.6: 404 "client and server don't have same version (client : X, server: Y)"
    (re.compile(rf"client and server don't have same version \(client ?: {_V}, server ?: {_V}\)"), None, 1, 2),
    # docker 1.7: 400 "client and server don't have same version (client API version: X, server API version: Y)"
    (re.compile(rf"client and server don't have same version \(client API version: {_V}, server API version: {_V}\)"), None, 1, 2),
]


def decode_error_message(body: bytes, content_type: str = "") -> str:
    """The daemon's explanation from an error body, JSON or plain text.

    A body labelled ``application/json`` that does not decode (bad JSON,
    nesting too deep) raises :class:`RemoteProtocolError`; an unlabelled one
    that merely starts with ``{`` is taken as plain text (older daemons
    answer text/plain).
    """
    text = body.decode("utf-8", errors="replace")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            if "json" in content_type.lower() or isinstance(exc, RecursionError):
                raise RemoteProtocolError(
                    f"the daemon's error body is not valid JSON: {body[:200]!r}"
                ) from None
        else:
            if isinstance(doc, dict):
                msg = doc.get("message")
                if isinstance(msg, str):
                    return msg
    return stripped


def parse_version_error(
    message: str,
) -> tuple[bool | None, APIVersion | None, APIVersion | None] | None:
    """Recognise a version refusal: ``(too_new, client, server)``, or None."""
    for pattern, too_new, cg, sg in _VERSION_PATTERNS:
        m = pattern.search(message)
        if m:
            client, server = APIVersion(m.group(cg)), APIVersion(m.group(sg))
            if too_new is None:
                too_new = client > server
            return too_new, client, server
    return None


def error_from_response(
    response: Response, body: bytes, request: Request | None = None
) -> APIError:
    """The exception for an error answer (status >= 400, or 304)."""
    status = response.status_code
    if 300 <= status < 400 and status != 304:
        location = response.header(b"location")
        where = "" if location is None else f" to {location.decode('latin-1')!r}"
        return UnexpectedRedirect(
            status,
            f"unexpected redirect{where}: the Docker daemon never redirects "
            f"({response.reason.decode('latin-1')})",
            request,
            response.headers,
            location=None if location is None else location.decode("latin-1"),
            body=body,
        )
    message = decode_error_message(body, response.content_type)
    parsed = parse_version_error(message)
    if parsed is not None:
        too_new, client, server = parsed
        return VersionError(
            status,
            message,
            request,
            response.headers,
            client_version=client,
            server_version=server,
            too_new=too_new,
        )
    api = response.header(b"api-version")
    if (
        status == 404
        and not body.strip()
        and request is not None
        and request.version is not None
        # HEAD answers never have a body, and a daemon that sends Api-Version
        # (API >= 1.25) explains version refusals in words.
        and request.method != "HEAD"
        and not api
    ):
        # Docker 0.3.3-0.7.x answered a too-new versioned path with a bare
        # 404 and no body; every later daemon explains its 404s.
        return VersionError(
            status,
            f"404 with an empty body for API version {request.version}: the daemon "
            "(docker <= 0.7) does not speak this version",
            request,
            response.headers,
            client_version=request.version,
            server_version=None,
            too_new=True,
        )
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    if status >= 400 and _UNAUTHORIZED_RE.search(message):
        cls = Unauthorized
    elif status == 500 and _LIBPOD_CONFLICT_RE.search(message):
        cls = Conflict
    elif status == 500 and _LIBPOD_BAD_REQUEST_RE.search(message):
        cls = BadRequest
    elif status == 404 and message.strip().lower() in _ROUTER_MISS:
        cls = UnsupportedEndpoint
    if not message:
        message = response.reason.decode("latin-1") or f"HTTP {status}"
    return cls(status, message, request, response.headers)


def error_from_stream(item: StreamError, request: Request | None = None, status: int = 200) -> APIError:
    """The exception for an in-band error of a JSON stream (pull, push, build, load).

    The HTTP status was a success, so the class comes from the message:
    registry refusals are :class:`Unauthorized`, others plain :class:`APIError`.
    ``status`` stays the HTTP status that carried the stream.
    """
    cls: type[APIError] = Unauthorized if _UNAUTHORIZED_RE.search(item.message) else APIError
    exc = cls(status, item.message, request)
    exc.stream_error = item  # type: ignore[attr-defined]
    return exc


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def decode_path_stat(value: bytes) -> Any:
    """The JSON object in an ``X-Docker-Container-Path-Stat`` header.

    Docker sends standard base64; Podman's compat API (4.3) sends the URL-safe
    alphabet (``-``/``_``), and padding has been seen both ways: both decode.
    Raises ``ValueError`` for anything that is not base64 of a JSON object.
    """
    text = value.strip().translate(_URLSAFE_TO_STANDARD)
    text += b"=" * (-len(text) % 4)
    try:
        doc = json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not base64 of JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc
