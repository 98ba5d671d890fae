"""Where the daemon is, by the docker CLI's rules: DOCKER_HOST, contexts, config.json.

The docker CLI picks its context in this order (``resolveContextName`` in
docker/cli's ``cli/command/cli.go``); we follow it with the explicit
arguments standing in for its flags:

1. an explicit context (``Client(context=...)``, the CLI's ``--context``);
2. an explicit host (``Client(host=...)``, ``--host``): the "default" context;
3. ``DOCKER_HOST`` set and non-empty: the "default" context;
4. ``DOCKER_CONTEXT`` set and non-empty: that context;
5. ``currentContext`` in ``config.json``;
6. "default".

Giving both an explicit context and an explicit host is ambiguous, and an
error (as ``--context`` with ``--host`` is for the CLI).  DOCKER_HOST beating
DOCKER_CONTEXT is not: the CLI uses DOCKER_HOST then, and so do we.

The "default" context is the environment: ``DOCKER_HOST`` (else the local
socket), ``DOCKER_TLS_VERIFY`` / ``DOCKER_TLS`` and ``DOCKER_CERT_PATH``.
A named context lives in the config folder (``$DOCKER_CONFIG``, else
``~/.docker``): ``contexts/meta/<sha256 of the name>/meta.json`` holds
``Endpoints.docker.Host`` and ``SkipTLSVerify``, and
``contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem`` its TLS
material.  A context endpoint uses TLS when it has TLS material or skips
verification, as the CLI's context loader decides.

``config.json`` also gives ``HttpHeaders``, sent with every request (the
CLI's custom headers), and ``DOCKER_API_VERSION`` pins the API version.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._core._auth import parse_json_object
from .._core._errors import LocalProtocolError
from ._hosts import HostConfig, TLSConfig, host_from_env, parse_host

__all__ = [
    "DEFAULT_CONTEXT",
    "DockerContextError",
    "DockerEnvironment",
    "config_dir",
    "context_dir",
    "client_settings",
    "resolve_environment",
]

DEFAULT_CONTEXT = "default"


class DockerContextError(LocalProtocolError):
    """A docker context that does not exist or cannot be read, or an ambiguous choice."""


def config_dir(environ: Mapping[str, str] | None = None) -> str:
    """The docker CLI's config folder: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    env = os.environ if environ is None else environ
    return env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _context_id(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def context_dir(name: str, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(metadata folder, TLS folder) of a named context in the config folder."""
    base = os.path.join(config_dir(environ), "contexts")
    ident = _context_id(name)
    return os.path.join(base, "meta", ident), os.path.join(base, "tls", ident)


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DockerContextError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return parse_json_object(data, f"{what} {path}", DockerContextError)


@dataclass(frozen=True)
class DockerEnvironment:
    """What the docker CLI's configuration says about reaching the daemon.

    ``host`` is where the daemon is (with TLS settings), ``context`` the
    context it came from ("default" for the environment), ``api_version``
    the version ``DOCKER_API_VERSION`` pins (None: negotiate), and
    ``headers`` the ``HttpHeaders`` of ``config.json``.
    """

    host: HostConfig
    context: str = DEFAULT_CONTEXT
    api_version: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())


def _load_context(name: str, environ: Mapping[str, str]) -> HostConfig:
    meta_dir, tls_dir = context_dir(name, environ)
    meta = _read_json(os.path.join(meta_dir, "meta.json"), f"context {name!r}:")
    if meta is None:
        raise DockerContextError(
            f"context {name!r} does not exist (no {os.path.join(meta_dir, 'meta.json')})"
        )
    endpoint = (meta.get("Endpoints") or {}).get("docker")
    if not isinstance(endpoint, dict) or not isinstance(endpoint.get("Host"), str):
        raise DockerContextError(f"context {name!r} has no docker endpoint with a Host")
    docker_tls = os.path.join(tls_dir, "docker")

    def pem(file: str) -> str | None:
        path = os.path.join(docker_tls, file)
        return path if os.path.isfile(path) else None

    ca, cert, key = pem("ca.pem"), pem("cert.pem"), pem("key.pem")
    skip_verify = bool(endpoint.get("SkipTLSVerify"))
    tls: TLSConfig | None = None
    if ca or cert or key or skip_verify:
        tls = TLSConfig(ca_cert=ca, client_cert=cert, client_key=key, verify=not skip_verify)
    host = parse_host(endpoint["Host"], tls)
    if host.scheme != "tcp" and tls is not None:
        host = HostConfig(host.scheme, host.address, host.port, None, user=host.user, path=host.path)
    return host


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _headers(config: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    raw = config.get("HttpHeaders") or {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise DockerContextError(f"{where}: 'HttpHeaders' must map header names to strings")
    for name, value in raw.items():
        # Checked here, once: a CR or LF in a value would let the file
        # inject headers (or a whole request) into every request we send.
        if not name or not set(name) <= _TOKEN:
            raise DockerContextError(f"{where}: HttpHeaders has an invalid header name {name!r}")
        if any(c in value for c in "\r\n\0"):
            raise DockerContextError(f"{where}: HttpHeaders[{name!r}] contains CR, LF or NUL")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise DockerContextError(f"{where}: HttpHeaders[{name!r}] is not latin-1 text") from None
    return tuple(raw.items())


def _config(env: Mapping[str, str]) -> tuple[Mapping[str, Any], str]:
    path = os.path.join(config_dir(env), "config.json")
    return _read_json(path, "docker config") or {}, path


def client_settings(environ: Mapping[str, str] | None = None) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """What applies whichever way the daemon is reached: (DOCKER_API_VERSION, HttpHeaders)."""
    env = os.environ if environ is None else environ
    config, path = _config(env)
    return env.get("DOCKER_API_VERSION") or None, _headers(config, path)


def resolve_environment(
    environ: Mapping[str, str] | None = None,
    *,
    context: str | None = None,
    host: str | None = None,
) -> DockerEnvironment:
    """Apply the docker CLI's rules (see the module docs) to an environment.

    ``context`` and ``host`` stand for the CLI's ``--context`` and
    ``--host``; giving both raises :class:`DockerContextError`.
    """
    env = os.environ if environ is None else environ
    if context and host:
        raise DockerContextError(
            "a host and a context were both given; the docker CLI refuses --host with --context too"
        )
    config, config_path = _config(env)
    headers = _headers(config, config_path)
    api_version = env.get("DOCKER_API_VERSION") or None

    if context:
        name = context
    elif host or env.get("DOCKER_HOST"):
        name = DEFAULT_CONTEXT
    elif env.get("DOCKER_CONTEXT"):
        name = env["DOCKER_CONTEXT"]
    else:
        current = config.get("currentContext")
        if current is not None and not isinstance(current, str):
            raise DockerContextError(f"{config_path}: 'currentContext' must be a string")
        name = current or DEFAULT_CONTEXT

    if name == DEFAULT_CONTEXT:
        resolved = parse_host(host) if host else host_from_env(env)
    else:
        resolved = _load_context(name, env)
    return DockerEnvironment(resolved, name, api_version, headers)


@dataclass(frozen=True)
class ClientTarget:
    """Where a client's connections go and what its requests carry: the
    rules above applied to a client's arguments, the same for both drivers."""

    host: HostConfig
    context: str | None
    version: str | None  # the version given, else DOCKER_API_VERSION
    headers: tuple[tuple[bytes, bytes], ...]  # HttpHeaders, and a User-Agent


def client_target(
    host: str | HostConfig | None,
    *,
    tls: TLSConfig | None = None,
    context: str | None = None,
    custom: str | None = None,
    version: str | None = None,
    environ: Mapping[str, str] | None = None,
    ssh_options: tuple[str, ...] = (),
    user_agent: str,
) -> ClientTarget:
    """Apply the docker CLI's rules to a client's arguments.

    ``custom`` describes a caller-given transport or connect factory (then
    only the configuration's headers and version apply).
    """
    given = sum(x is not None for x in (host or None, custom, context))
    if given > 1:
        raise LocalProtocolError("give at most one of host=, context=, transport= or connect=")
    found_context: str | None = None
    if custom is not None:
        target = HostConfig("custom", custom)
        api_version, http_headers = client_settings(environ)
    elif isinstance(host, HostConfig):
        target = host
        api_version, http_headers = client_settings(environ)
    elif host:
        target = parse_host(host, tls)
        api_version, http_headers = client_settings(environ)
    else:
        found = resolve_environment(environ, context=context)
        target, found_context = found.host, found.context
        api_version, http_headers = found.api_version, found.headers
        if tls is not None:
            target = replace(target, tls=tls)
    if ssh_options:
        target = replace(target, ssh_options=tuple(ssh_options))
    headers = dict(http_headers)
    if not any(k.lower() == "user-agent" for k in headers):
        headers["User-Agent"] = user_agent
    return ClientTarget(
        host=target,
        context=found_context,
        version=version if version is not None else api_version,  # DOCKER_API_VERSION pins it, as for the CLI
        headers=tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    )
