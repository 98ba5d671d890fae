"""The package's exceptions.

Two families, kept apart on purpose:

* ``ProtocolError`` (with ``LocalProtocolError`` / ``RemoteProtocolError``, as
  in h11) means the conversation itself is broken: the caller asked for
  something that cannot be sent, or the peer sent bytes that do not follow the
  protocol.  h11's own errors are translated into these at the boundary.
* ``APIError`` and its subclasses mean the daemon understood the request and
  said no (an HTTP status >= 400, or 304).  ``VersionError`` is the daemon
  refusing our API version, in any of the forms it has used since 2013.
"""

from __future__ import annotations

from typing import Any, Protocol


class Request(Protocol):
    """What an error needs of the request it is about (a :class:`~protocol.Request`).

    Named structurally so that this module, which every other imports,
    imports none of them.
    """

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def target(self) -> str: ...

__all__ = [
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "MessageTooLarge",
    "APIError",
    "NotModified",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "UnsupportedEndpoint",
    "NotAcceptable",
    "Conflict",
    "ServerError",
    "VersionError",
    "TransportError",
    "StreamClosed",
    "ConnectionLost",
    "Timeout",
    "ReadTimeout",
    "UnexpectedRedirect",
    "OutputLimitExceeded",
    "ContainerNotRunning",
    "UnsupportedVersion",
]


class ProtocolError(Exception):
    """Base of every error about the wire conversation itself.

    A :class:`RemoteProtocolError` raised while decoding a read has an
    ``items`` attribute: what that read completed before the failure
    (decoded frames, messages, :class:`Data` events), so nothing the peer
    sent correctly is lost.  ``received`` is set by the high-level calls
    that consume a whole answer (pull/push/build: the progress messages;
    exec_run: an :class:`ExecResult` with the output so far).
    """

    received: Any = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalProtocolError(ProtocolError):
    """The caller asked for something that cannot be sent safely or correctly.

    Raised *before* any byte of the offending request is produced.
    """


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol.

    ``offset`` is the position in the decoded stream (counted from the first
    byte handed to the decoder) where the problem was found, when known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class MessageTooLarge(RemoteProtocolError):
    """A frame, chunk or JSON message announced or grew past the size limit."""


class OutputLimitExceeded(LocalProtocolError):
    """More output arrived than the caller's cap allows.

    Nothing is truncated silently: what was received up to the cap is kept
    in ``stdout`` and ``stderr``, and ``limit`` is the cap.
    """

    def __init__(self, message: str, limit: int, stdout: bytes = b"", stderr: bytes = b"") -> None:
        super().__init__(message)
        self.limit = limit
        self.stdout = stdout
        self.stderr = stderr


class UnsupportedVersion(LocalProtocolError):
    """An endpoint or parameter used outside the API versions that have it.

    Raised before anything is sent, e.g. "platform needs API >= 1.32; the
    daemon speaks 1.30".  ``feature`` names the endpoint or parameter,
    ``minimum``/``maximum`` bound the versions that have it (either may be
    None), ``version`` is the version in use.
    """

    def __init__(self, feature: str, version: Any, minimum: Any = None, maximum: Any = None) -> None:
        if minimum is not None and version < minimum:
            why = f"needs API >= {minimum}"
        elif maximum is not None:
            why = f"was removed after API {maximum}"
        else:
            why = "is not available"
        super().__init__(f"{feature} {why}; the daemon speaks {version}")
        self.feature = feature
        self.version = version
        self.minimum = minimum
        self.maximum = maximum


class ContainerNotRunning(LocalProtocolError):
    """Refused before sending: attaching with ``stream=1`` to a container that
    is not running would hang, because the daemon (20.10 seen) upgrades the
    connection and then waits for the container to be started again.
    ``status`` is the container's state ("exited", "created", ...)."""

    def __init__(self, message: str, container: str, status: str) -> None:
        super().__init__(message)
        self.container = container
        self.status = status


class TransportError(Exception):
    """A socket-level failure: connect refused, connection reset, TLS failure.

    ``received`` is set as for :class:`ProtocolError` by the calls that
    consume a whole answer.
    """

    received: Any = None


class ConnectionLost(TransportError):
    """The connection broke after (some of) the request was written and
    before the answer head was complete, and the request was not sent again.

    Only requests that are safe to repeat (GET and HEAD without a streamed
    body, on a reused keep-alive connection, with no byte of the answer
    received), and requests of which no byte was written, are retried
    automatically, as Go's net/http does.  ``may_have_been_processed`` is
    False only when no byte of the request reached the socket; otherwise
    the daemon may have acted on it (a container may have been created).
    ``request`` is the request.
    """

    def __init__(self, message: str, request: Request | None, may_have_been_processed: bool) -> None:
        super().__init__(message)
        self.request = request
        self.may_have_been_processed = may_have_been_processed


class Timeout(TransportError, TimeoutError):
    """A limit on waiting passed (``except TimeoutError`` catches it too).

    ``request`` is the request waited on (None when unknown), ``timeout``
    the limit in seconds.
    """

    def __init__(self, message: str, request: Request | None = None, timeout: float | None = None) -> None:
        TransportError.__init__(self, message)
        self.request = request
        self.timeout = timeout

    def __str__(self) -> str:
        return str(self.args[0])


class ReadTimeout(Timeout):
    """No byte arrived from the daemon within the client's read timeout."""


class StreamClosed(TransportError):
    """The stream was closed by the caller while it was being read.

    What a reader gets when :meth:`StreamingResponse.close` or
    :meth:`Session.close` stopped it, from another thread or between two
    items: the body did not end, so the reader must not take what it has
    for all of it.  Items handed out before the close were complete.
    """


class APIError(Exception):
    """The daemon answered with an error status.

    ``status`` is the HTTP status, ``message`` the daemon's explanation
    (from a JSON ``{"message": ...}`` body or a plain-text body), ``request``
    the request that was answered (its secrets are never part of its repr).
    """

    status: int
    received: Any = None

    def __init__(
        self,
        status: int,
        message: str,
        request: Request | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.status = status
        self.message = message
        self.request = request
        self.headers = headers
        super().__init__(status, message)

    def __str__(self) -> str:
        where = ""
        if self.request is not None:
            where = f" ({self.request.method} {self.request.target})"
        return f"{self.status}{where}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class UnexpectedRedirect(APIError):
    """A 3xx answer other than 304: the daemon never redirects, so the answer
    is not the one asked for.  ``location`` is the Location header (or None),
    ``body`` the (size-limited) body that came with it."""

    def __init__(
        self,
        status: int,
        message: str,
        request: Request | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        *,
        location: str | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(status, message, request, headers)
        self.location = location
        self.body = body


class NotModified(APIError):
    """304: start of a running container, stop of a stopped one (API >= 1.13)."""


class BadRequest(APIError):
    """400."""


class Unauthorized(APIError):
    """401: registry credentials were refused."""


class Forbidden(APIError):
    """403."""


class NotFound(APIError):
    """404: no such container, image, exec, ..."""


class UnsupportedEndpoint(NotFound):
    """404 from the server's router: it does not implement this endpoint.

    Distinct from a missing object (a :class:`NotFound` subclass, so
    ``except NotFound`` still catches it): the body is the router's bare
    "not found" text, not the daemon's explanation -- e.g. Podman's compat
    API for ``POST /containers/{id}/update`` in 4.3, or a Docker daemon
    asked for a path it never routed (``/containers/ps`` after 1.20).
    """


class NotAcceptable(APIError):
    """406: old daemons' "Impossible to ..." answers."""


class Conflict(APIError):
    """409: name in use, container paused or running, image in use."""


class ServerError(APIError):
    """5xx."""


class VersionError(APIError):
    """The daemon does not speak the API version of the request.

    ``client_version`` and ``server_version`` are :class:`APIVersion` values
    when the daemon's answer gave them (docker >= 0.8 does), else ``None``.
    ``too_new`` is True when our version is above the daemon's, False when it
    is below its minimum, None when the answer does not say.
    """

    def __init__(
        self,
        status: int,
        message: str,
        request: Request | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        *,
        client_version: Any = None,
        server_version: Any = None,
        too_new: bool | None = None,
    ) -> None:
        super().__init__(status, message, request, headers)
        self.client_version = client_version
        self.server_version = server_version
        self.too_new = too_new
