"""docker-protocol: the Docker Engine API at the wire level.

A sans-I/O core in the style of h11 (:class:`Connection`, :class:`Request`,
typed events and errors), the stream layer that decodes container output
and JSON streams (compiled, with a pure-Python twin), version negotiation,
and a sync client on unix, TCP and TLS transports.
"""

from ._client import Client, ExecResult, Session, StreamingResponse
from ._connection import Connection, ConnectionState
from ._errors import (
    APIError,
    BadRequest,
    Conflict,
    ContainerNotRunning,
    Forbidden,
    LocalProtocolError,
    MessageTooLarge,
    OutputLimitExceeded,
    NotAcceptable,
    NotFound,
    NotModified,
    ProtocolError,
    RemoteProtocolError,
    ServerError,
    TransportError,
    Unauthorized,
    UnsupportedVersion,
    VersionError,
)
from ._events import ConnectionClosed, Data, EndOfMessage, Response, Stream, StreamError
from ._lines import LineAssembler, LogLine
from ._negotiation import VersionRange, choose_version
from ._request import Request, ResponseKind, encode_query
from ._responses import error_from_response
from ._stream import (
    DEFAULT_MAX_SIZE,
    IMPLEMENTATION,
    Frame,
    JSONStreamDecoder,
    MultiplexedStreamDecoder,
    RawStreamDecoder,
)
from ._transport import HostConfig, TLSConfig, host_from_env, parse_host
from ._version import MAX_VERSION, MIN_VERSION, APIVersion

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "APIVersion",
    "BadRequest",
    "Client",
    "Conflict",
    "Connection",
    "ContainerNotRunning",
    "ConnectionClosed",
    "ConnectionState",
    "DEFAULT_MAX_SIZE",
    "Data",
    "EndOfMessage",
    "ExecResult",
    "Forbidden",
    "Frame",
    "HostConfig",
    "IMPLEMENTATION",
    "JSONStreamDecoder",
    "LineAssembler",
    "LocalProtocolError",
    "LogLine",
    "MAX_VERSION",
    "MIN_VERSION",
    "MessageTooLarge",
    "MultiplexedStreamDecoder",
    "NotAcceptable",
    "NotFound",
    "NotModified",
    "OutputLimitExceeded",
    "ProtocolError",
    "RawStreamDecoder",
    "RemoteProtocolError",
    "Request",
    "Response",
    "ResponseKind",
    "ServerError",
    "Session",
    "Stream",
    "StreamError",
    "StreamingResponse",
    "TLSConfig",
    "TransportError",
    "Unauthorized",
    "UnsupportedVersion",
    "VersionError",
    "VersionRange",
    "choose_version",
    "encode_query",
    "error_from_response",
    "host_from_env",
    "parse_host",
]
