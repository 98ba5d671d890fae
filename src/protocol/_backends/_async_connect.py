"""Opening an asyncio connection to the daemon a :class:`HostConfig` names."""

from __future__ import annotations

import asyncio

from .._core._async_interface import AsyncTransport
from .._core._errors import TransportError
from ._async_socket import AsyncSocketStream, AsyncTLSStream
from ._async_ssh import AsyncSSHTransport
from ._hosts import HostConfig
from ._sync_ssh import host_ssh_command

__all__ = ["async_connect"]


async def async_connect(host: HostConfig, connect_timeout: float | None = 10.0) -> AsyncTransport:
    """Open a new connection to the daemon ``host`` names, on the running loop.

    The async twin of :func:`~protocol.connect`: unix, TCP, TLS (the
    handshake is inside ``connect_timeout``) and ssh.
    """
    if host.scheme == "ssh":
        return await AsyncSSHTransport.start(host_ssh_command(host, connect_timeout))
    ctx = host.tls.context() if host.tls is not None else None  # before any socket exists
    try:
        async with asyncio.timeout(connect_timeout):
            if host.scheme == "unix":
                return await AsyncSocketStream.open_unix(host.address)
            if host.scheme != "tcp":
                raise TransportError(f"async_connect() cannot open {host.url}")
            stream = await AsyncSocketStream.open_tcp(host.address, host.port)
            if ctx is None or host.tls is None:
                return stream
            return await AsyncTLSStream.wrap(stream, ctx, host.tls.server_hostname or host.address,
                                             peer=host.url)
    except TimeoutError as exc:
        if isinstance(exc, TransportError):
            raise
        raise TransportError(
            f"cannot connect to the Docker daemon at {host.url}: no answer within {connect_timeout}s"
        ) from None
    except OSError as exc:
        raise TransportError(f"cannot connect to the Docker daemon at {host.url}: {exc}") from None
