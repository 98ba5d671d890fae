"""docker-protocol: the Docker Engine API at the wire level.

A sans-I/O core in the style of h11 (:class:`Connection`, :class:`Request`,
typed events and errors), the stream layer that decodes container output
and JSON streams (compiled, with a pure-Python twin), version negotiation,
the engine that holds every high-level operation without I/O
(:class:`Engine`), and two drivers of it: the sync :class:`Client` and the
asyncio :class:`AsyncClient`, on unix, TCP, TLS, ssh and in-memory
transports behind one small interface (:class:`Transport`,
:class:`AsyncTransport`).
"""

from ._async._client import AsyncClient
from ._async._progress import AsyncProgressStream
from ._async._response import AsyncStreamingResponse
from ._async._session import AsyncSession
from ._core._async_interface import AsyncConnectFactory, AsyncTransport
from ._backends._async_memory import AsyncMemoryTransport, async_memory_pair
from ._backends._async_ssh import AsyncSSHTransport
from ._backends._async_socket import AsyncSocketStream, AsyncTLSStream
from ._backends._async_connect import async_connect
from ._core._auth import (
    AuthConfig,
    CredentialHelperError,
    DockerConfig,
    DockerConfigError,
    RegistryAuthError,
    auth_body,
    encode_registry_auth,
    encode_registry_config,
    registry_for_image,
)
from ._core._build_context import (
    BuildContextError,
    DockerIgnore,
    InvalidIgnorePattern,
    parse_dockerignore,
    tar_context,
    tar_from_fileobj,
)
from ._sync._client import Client, ExecResult, Session, StreamingResponse
from ._core._connection import Connection, ConnectionState
from ._core._engine import (
    AsProgress,
    Clock,
    Close,
    Converse,
    DrainInto,
    Engine,
    Fetch,
    FetchOp,
    MapItems,
    NeedVersion,
    Open,
    Operation,
    ReadBody,
    Sleep,
    StartSession,
    Step,
)
from ._core._exchange import connection_lost, may_send_again
from ._core._output import OutputCollector
from ._core._progress import ProgressTracker
from ._core._errors import (
    APIError,
    BadRequest,
    Conflict,
    ConnectionLost,
    ContainerNotRunning,
    Forbidden,
    LocalProtocolError,
    MessageTooLarge,
    OutputLimitExceeded,
    NotAcceptable,
    NotFound,
    UnsupportedEndpoint,
    NotModified,
    ProtocolError,
    ReadTimeout,
    RemoteProtocolError,
    ServerError,
    StreamClosed,
    Timeout,
    TransportError,
    Unauthorized,
    UnexpectedRedirect,
    UnsupportedVersion,
    VersionError,
)
from ._core._events import ConnectionClosed, Data, EndOfMessage, Response, Stream, StreamError
from ._core._endpoints import (
    ENDPOINTS,
    BodyKind,
    Endpoint,
    HeaderSpec,
    Param,
    build_request,
    endpoint,
    endpoint_names,
    endpoint_table_markdown,
    parse_v1_0_progress,
)
from ._core._lines import LineAssembler, LogLine
from ._core._models import (
    ContainerCreated,
    ContainerInspect,
    ContainerStats,
    ContainerSummary,
    ContainerWaitResult,
    Event,
    ExecInspect,
    ImageInspect,
    ImageSummary,
    ProgressMessage,
    SystemInfo,
    VersionInfo,
)
from ._core._names import EndpointName
from ._core._negotiation import VersionRange, choose_version
from ._sync._progress import ProgressStream
from ._cli._render import ProgressRenderer
from ._core._request import Request, ResponseKind, encode_query
from ._core._responses import error_from_response, error_from_stream
from ._core._stream import (
    DEFAULT_MAX_SIZE,
    IMPLEMENTATION,
    Frame,
    MAX_JSON_DEPTH,
    JSONStreamDecoder,
    MultiplexedStreamDecoder,
    RawStreamDecoder,
)
from ._backends._context import DockerContextError, DockerEnvironment, resolve_environment
from ._core._interface import ConnectFactory, Transport
from ._backends._sync_memory import MemoryTransport, memory_pair
from ._backends._sync_ssh import SSHTransport, ssh_command
from ._backends._hosts import HostConfig, TLSConfig, host_from_env, parse_host
from ._backends._sync_socket import SocketStream, TLSStream
from ._backends._sync_connect import connect
from ._core._version import MAX_VERSION, MIN_VERSION, APIVersion

from ._about import __version__

__all__ = [
    "AsProgress",
    "Clock",
    "Close",
    "Converse",
    "DrainInto",
    "Engine",
    "Fetch",
    "FetchOp",
    "MapItems",
    "NeedVersion",
    "Open",
    "Operation",
    "ReadBody",
    "Sleep",
    "StartSession",
    "Step",
    "connection_lost",
    "may_send_again",
    "OutputCollector",
    "ProgressTracker",
    "APIError",
    "APIVersion",
    "async_connect",
    "async_memory_pair",
    "AsyncClient",
    "AsyncConnectFactory",
    "AsyncMemoryTransport",
    "AsyncProgressStream",
    "AsyncSession",
    "AsyncSocketStream",
    "AsyncSSHTransport",
    "AsyncStreamingResponse",
    "AsyncTLSStream",
    "AsyncTransport",
    "auth_body",
    "AuthConfig",
    "BadRequest",
    "BodyKind",
    "build_request",
    "BuildContextError",
    "choose_version",
    "Client",
    "Conflict",
    "connect",
    "ConnectFactory",
    "Connection",
    "ConnectionClosed",
    "ConnectionLost",
    "ConnectionState",
    "ContainerCreated",
    "ContainerInspect",
    "ContainerNotRunning",
    "ContainerStats",
    "ContainerSummary",
    "ContainerWaitResult",
    "CredentialHelperError",
    "Data",
    "DEFAULT_MAX_SIZE",
    "MAX_JSON_DEPTH",
    "DockerConfig",
    "DockerConfigError",
    "DockerContextError",
    "DockerEnvironment",
    "DockerIgnore",
    "encode_query",
    "encode_registry_auth",
    "encode_registry_config",
    "EndOfMessage",
    "Endpoint",
    "endpoint",
    "EndpointName",
    "endpoint_names",
    "endpoint_table_markdown",
    "ENDPOINTS",
    "error_from_response",
    "error_from_stream",
    "Event",
    "ExecInspect",
    "ExecResult",
    "Forbidden",
    "Frame",
    "HeaderSpec",
    "host_from_env",
    "HostConfig",
    "ImageInspect",
    "ImageSummary",
    "IMPLEMENTATION",
    "InvalidIgnorePattern",
    "JSONStreamDecoder",
    "LineAssembler",
    "LocalProtocolError",
    "LogLine",
    "MAX_VERSION",
    "memory_pair",
    "MemoryTransport",
    "MessageTooLarge",
    "MIN_VERSION",
    "MultiplexedStreamDecoder",
    "NotAcceptable",
    "NotFound",
    "UnsupportedEndpoint",
    "NotModified",
    "OutputLimitExceeded",
    "Param",
    "parse_dockerignore",
    "parse_host",
    "parse_v1_0_progress",
    "ProgressMessage",
    "ProgressRenderer",
    "ProgressStream",
    "ProtocolError",
    "ReadTimeout",
    "RawStreamDecoder",
    "registry_for_image",
    "RegistryAuthError",
    "RemoteProtocolError",
    "Request",
    "Response",
    "resolve_environment",
    "ResponseKind",
    "ServerError",
    "Session",
    "SocketStream",
    "ssh_command",
    "SSHTransport",
    "Stream",
    "StreamClosed",
    "StreamError",
    "StreamingResponse",
    "SystemInfo",
    "tar_context",
    "tar_from_fileobj",
    "Timeout",
    "TLSConfig",
    "TLSStream",
    "Transport",
    "TransportError",
    "Unauthorized",
    "UnexpectedRedirect",
    "UnsupportedVersion",
    "VersionError",
    "VersionInfo",
    "VersionRange",
]
