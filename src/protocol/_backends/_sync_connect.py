"""Opening a sync connection to the daemon a :class:`HostConfig` names."""

from __future__ import annotations

import socket
import ssl

from .._core._errors import TransportError
from ._hosts import HostConfig
from ._sync_socket import SocketStream, TLSStream
from ._sync_ssh import SSHTransport, host_ssh_command

__all__ = ["connect"]


def connect(host: HostConfig, connect_timeout: float | None = 10.0) -> SocketStream | SSHTransport:
    """Open a new connection to the daemon."""
    if host.scheme == "ssh":
        return SSHTransport(host_ssh_command(host, connect_timeout))
    try:
        if host.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(connect_timeout)
            try:
                sock.connect(host.address)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host.address, host.port), timeout=connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if host.tls is not None:
                ctx = host.tls.context()
                name = host.tls.server_hostname or host.address
                try:
                    stream = TLSStream(sock, ctx, name)
                except BaseException:
                    sock.close()
                    raise
                sock.settimeout(None)
                return stream
    except ssl.SSLError as exc:
        raise TransportError(f"TLS handshake with {host.url} failed: {exc}") from None
    except OSError as exc:
        raise TransportError(f"cannot connect to the Docker daemon at {host.url}: {exc}") from None
    sock.settimeout(None)
    return SocketStream(sock)
