"""Version negotiation, without I/O.

The Go client's rules, which the daemon was built against: probe
``/_ping`` (HEAD first since API 1.40, GET as the fallback), read the
``Api-Version`` header (sent on every response since API 1.25), and use
min(client max, daemon max).  Daemons without the header are asked
``GET /version``; before docker 0.10 that has no ``ApiVersion`` either, so
the docker release is mapped to its API version (wire facts, section 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import VersionError
from ._responses import decode_json
from ._events import Response
from ._request import Request, ResponseKind
from ._version import MAX_VERSION, MIN_VERSION, APIVersion

__all__ = [
    "VersionRange",
    "ping_requests",
    "version_request",
    "version_from_ping",
    "version_from_version_body",
    "choose_version",
    "api_version_for_release",
]


@dataclass(frozen=True, slots=True)
class VersionRange:
    """The versions a side speaks, both ends included (``minimum`` may be unknown)."""

    minimum: APIVersion | None
    maximum: APIVersion


# Requests are immutable: built once, not on every ping().
_PING_REQUESTS = (
    Request("HEAD", "/_ping", kind=ResponseKind.EMPTY),
    Request("GET", "/_ping", kind=ResponseKind.TEXT),
)


def ping_requests() -> tuple[Request, Request]:
    """HEAD /_ping then GET /_ping, unversioned (a versioned /_ping can be
    refused by a daemon that does not speak that version: docker-py#2639)."""
    return _PING_REQUESTS


def version_request() -> Request:
    """Unversioned GET /version: the daemon answers at its own maximum."""
    return Request("GET", "/version", kind=ResponseKind.JSON)


def version_from_ping(response: Response) -> APIVersion | None:
    """The daemon's maximum from a ping (or any) response's Api-Version header."""
    value = response.header(b"api-version")
    if not value:
        return None
    try:
        return APIVersion(value.decode("ascii"))
    except ValueError:
        return None


# Docker release -> API version, for daemons whose /version predates
# ApiVersion (docker < 0.10).  (first release, API) pairs, ascending.
_RELEASES: list[tuple[tuple[int, int, int], str]] = [
    ((0, 3, 3), "1.0"),
    ((0, 3, 4), "1.1"),
    ((0, 4, 1), "1.2"),
    ((0, 4, 5), "1.3"),
    ((0, 5, 1), "1.4"),
    ((0, 6, 2), "1.5"),
    ((0, 6, 4), "1.6"),
    ((0, 6, 7), "1.7"),
    ((0, 7, 1), "1.8"),
    ((0, 8, 0), "1.9"),
    ((0, 9, 0), "1.10"),
    ((0, 11, 0), "1.11"),
    ((0, 12, 0), "1.12"),
]


def api_version_for_release(release: str) -> APIVersion | None:
    """The API version of an old docker release ('0.6.7' -> 1.7), or None."""
    m = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", release)
    if not m:
        return None
    key = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if key >= (0, 12, 0) or key < _RELEASES[0][0]:
        return None
    found = None
    for first, api in _RELEASES:
        if key >= first:
            found = api
    return APIVersion(found) if found else None


def version_from_version_body(body: bytes) -> VersionRange | None:
    """The daemon's range from a GET /version body (ApiVersion, MinAPIVersion).

    None when the body says nothing usable; a body that is not JSON at all
    (or nested too deeply to decode) is a :class:`RemoteProtocolError`.
    """
    doc = decode_json(body, "the /version body")
    if not isinstance(doc, dict):
        return None
    maximum: APIVersion | None = None
    minimum: APIVersion | None = None
    try:
        if isinstance(doc.get("ApiVersion"), str):
            maximum = APIVersion(doc["ApiVersion"])
        if isinstance(doc.get("MinAPIVersion"), str):
            minimum = APIVersion(doc["MinAPIVersion"])
    except ValueError:
        return None
    if maximum is None and isinstance(doc.get("Version"), str):
        maximum = api_version_for_release(doc["Version"])
    if maximum is None:
        return None
    return VersionRange(minimum, maximum)


def choose_version(client: VersionRange, daemon: VersionRange) -> APIVersion:
    """min(client max, daemon max), refusing ranges that do not overlap."""
    assert client.minimum is not None
    chosen = min(client.maximum, daemon.maximum)
    if daemon.maximum < client.minimum:
        raise VersionError(
            0,
            f"the daemon speaks API up to {daemon.maximum}, below this client's "
            f"minimum {client.minimum}",
            client_version=client.minimum,
            server_version=daemon.maximum,
            too_new=True,
        )
    if daemon.minimum is not None and daemon.minimum > chosen:
        raise VersionError(
            0,
            f"the daemon needs API >= {daemon.minimum}, this client speaks up to {client.maximum}",
            client_version=chosen,
            server_version=daemon.minimum,
            too_new=False,
        )
    return chosen


DEFAULT_CLIENT_RANGE = VersionRange(MIN_VERSION, MAX_VERSION)
