"""Where the daemon is: host addresses (unix, tcp, tls, ssh) and TLS settings.

Plain data and parsing, shared by the sync and asyncio backends and by the
docker CLI configuration (contexts).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .._core._errors import LocalProtocolError, TransportError

__all__ = ["DEFAULT_UNIX_SOCKET", "TLSConfig", "HostConfig", "parse_host", "host_from_env"]

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class TLSConfig:
    """Client-side TLS settings, as the docker CLI builds them.

    ``verify`` checks the daemon's certificate against ``ca_cert`` (or the
    system store when it is None); ``client_cert``/``client_key`` authenticate
    us.  ``server_hostname`` overrides the name checked in the certificate.
    """

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    server_hostname: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_cert)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(f"cannot load the TLS client certificate: {exc}") from None
        return ctx


@dataclass(frozen=True)
class HostConfig:
    """Where the daemon is: ``scheme`` is 'unix', 'tcp' or 'ssh'; ``tls`` set for TLS.

    For ssh, ``address`` is the host, ``port`` 0 means ssh's own default,
    ``user`` is the login (None: ssh's default), ``path`` the daemon's
    socket on the remote side (None: the remote docker CLI's default) and
    ``ssh_options`` extra arguments for the ``ssh`` program (``-F``, ``-i``,
    ``-o Key=value``).
    """

    scheme: str
    address: str  # socket path for unix, host name for tcp and ssh
    port: int = 0
    tls: TLSConfig | None = field(default=None)
    user: str | None = None
    path: str | None = None
    ssh_options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.address}"
        if self.scheme == "custom":
            return self.address  # a description of a caller-given transport
        if self.scheme == "ssh":
            who = f"{self.user}@" if self.user else ""
            port = f":{self.port}" if self.port else ""
            return f"ssh://{who}{self.address}{port}{self.path or ''}"
        return f"{'https' if self.tls else 'tcp'}://{self.address}:{self.port}"


def parse_host(host: str, tls: TLSConfig | None = None) -> HostConfig:
    """Parse a DOCKER_HOST-style address.

    ``unix:///path``, ``tcp://host:port``, ``http://host:port`` (plain),
    ``https://host:port`` (TLS), ``ssh://[user@]host[:port][/socket]``.  As
    the docker CLI does: the default port is 2376 with TLS and 2375
    without, a bare ``host:port`` means ``tcp://host:port``, and a missing
    host (``tcp://``, ``tcp://:2375``) means localhost.
    """
    host = host.strip()
    if not host:
        return HostConfig("unix", DEFAULT_UNIX_SOCKET)
    if host.startswith("/"):
        return HostConfig("unix", host)
    if "://" not in host:
        host = "tcp://" + host  # the docker CLI's rule for a bare address
    parts = urlsplit(host)
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = (parts.netloc + parts.path) or DEFAULT_UNIX_SOCKET
        return HostConfig("unix", path)
    try:
        port = parts.port
    except ValueError:
        raise LocalProtocolError(f"bad port in {host!r}") from None
    if scheme in ("tcp", "http", "https"):
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise LocalProtocolError(f"a tcp host is host:port only, not {host!r}")
        if scheme == "https" and tls is None:
            tls = TLSConfig()
        if scheme == "http":
            tls = None
        return HostConfig("tcp", parts.hostname or "localhost", port or (2376 if tls else 2375), tls)
    if scheme == "ssh":
        if not parts.hostname:
            raise LocalProtocolError(f"no host name in {host!r}")
        if parts.password is not None:
            # The docker CLI refuses it too: a password in DOCKER_HOST would
            # end up in process listings and logs.
            raise LocalProtocolError("ssh:// hosts take no password (use keys or an agent)")
        if parts.query or parts.fragment:
            raise LocalProtocolError(f"extra parts in ssh host {host!r}")
        return HostConfig("ssh", parts.hostname, port or 0, None, user=parts.username or None,
                          path=parts.path or None)
    raise LocalProtocolError(
        f"unsupported Docker host {host!r} (use unix://, tcp://, https:// or ssh://)"
    )


def host_from_env(environ: Mapping[str, str] | None = None) -> HostConfig:
    """The host the docker CLI would use: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH."""
    env = os.environ if environ is None else environ
    host = env.get("DOCKER_HOST", "")
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0", "false", "False")
    cert_path = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
    tls: TLSConfig | None = None
    if verify or env.get("DOCKER_TLS", "") not in ("", "0", "false", "False"):
        def pem(name: str) -> str | None:
            path = os.path.join(cert_path, name)
            return path if os.path.exists(path) else None

        tls = TLSConfig(
            ca_cert=pem("ca.pem") if verify else None,
            client_cert=pem("cert.pem"),
            client_key=pem("key.pem"),
            verify=verify,
        )
    return parse_host(host, tls)
