"""Registry credentials: the auth config, its encodings on the wire, and where
the docker CLI finds it.

On the wire (wire facts, section 5):

* API 1.2-1.4: ``POST /images/{name}/push`` takes the auth config JSON as its
  body (:func:`auth_body`).
* API 1.5+: the ``X-Registry-Auth`` header carries it as base64url JSON, in
  the URL-safe alphabet with padding, which is what the daemon decodes
  (:func:`encode_registry_auth`).
* Builds: ``X-Registry-Config`` carries every known registry's auth config
  (:func:`encode_registry_config`); ``{"configs": {...}}`` for API 1.9-1.18,
  the bare map from API 1.19 (docker 1.7).

Where credentials come from, as in the docker CLI: ``config.json`` in
``$DOCKER_CONFIG`` or ``~/.docker``; a registry's ``credHelpers`` entry wins
over ``credsStore``, and either runs ``docker-credential-<name> get``;
without a helper the ``auths`` entry is used (its ``auth`` field is base64
``user:password``).

Secrets (password, tokens, ``auth``) never appear in a repr, a log record or
an exception message: a failing helper's output is withheld because helpers
may echo what they were given.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Union
from urllib.parse import urlsplit

from ._version import APIVersion, VersionLike

__all__ = [
    "AuthConfig",
    "CredentialHelperError",
    "DockerConfig",
    "DockerConfigError",
    "INDEX_SERVER",
    "RegistryAuthError",
    "auth_body",
    "encode_registry_auth",
    "encode_registry_config",
    "registry_for_image",
]

log = logging.getLogger(__name__)

#: The key Docker Hub credentials are stored under, in ``config.json`` and in
#: credential helpers (the v1 index address, kept for compatibility).
INDEX_SERVER = "https://index.docker.io/v1/"
# Names the reference parser treats as Docker Hub.
_HUB_NAMES = frozenset({"docker.io", "index.docker.io"})
#: X-Registry-Config is a bare map from API 1.19; before, ``{"configs": map}``.
_REGISTRY_CONFIG_MAP_VERSION = APIVersion("1.19")
#: A credential helper's answer for "no credentials for this server"
#: (docker-credential-helpers, credentials/error.go), printed on stdout.
_NOT_FOUND_MESSAGE = "credentials not found in native keychain"
#: Other helper answers that carry no secret and can be shown as they are.
_SAFE_HELPER_MESSAGES = frozenset({"no credentials server URL", "no credentials username"})
#: The username a helper returns when the secret is an identity token.
_TOKEN_USERNAME = "<token>"
DEFAULT_HELPER_TIMEOUT = 30.0

_SECRET_FIELDS = ("password", "auth", "identitytoken", "registrytoken")


class RegistryAuthError(Exception):
    """Base of the errors about registry credentials."""


def parse_json_object(data: str | bytes, where: str, error: type[Exception]) -> dict[str, Any]:
    """A JSON object from one of the docker CLI's files (``config.json``, a
    context's ``meta.json``); an empty file is ``{}``.  Anything else raises
    ``error`` naming ``where``.

    The error is raised outside the except clauses: a JSONDecodeError keeps
    the whole document (``.doc``), which may hold credentials, and must not
    ride along as the context of ours.
    """
    problem = None
    doc: Any = None
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        doc = json.loads(text) if text.strip() else {}
    except UnicodeDecodeError:
        problem = f"{where} is not UTF-8"
    except (json.JSONDecodeError, RecursionError) as exc:
        line = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        problem = f"{where} is not valid JSON{line}"
    if problem is not None:
        raise error(problem)
    if not isinstance(doc, dict):
        raise error(f"{where}: expected a JSON object at the top")
    return doc


class DockerConfigError(RegistryAuthError, ValueError):
    """``config.json`` cannot be read or is malformed."""


class CredentialHelperError(RegistryAuthError):
    """A ``docker-credential-*`` helper is missing, timed out or failed.

    ``helper`` is the program name, ``registry`` the server asked about,
    ``returncode`` the exit status when it ran to the end.  The helper's
    output is not kept: it may contain secrets.
    """

    def __init__(
        self, message: str, helper: str, registry: str, returncode: int | None = None
    ) -> None:
        super().__init__(message)
        self.helper = helper
        self.registry = registry
        self.returncode = returncode


@dataclass(frozen=True, slots=True, repr=False)
class AuthConfig:
    """Credentials for one registry, as the Engine API's ``AuthConfig``.

    Field names are the JSON keys.  ``auth`` is base64 ``user:password`` as
    stored in ``config.json``; ``identitytoken`` is the OAuth refresh token
    ``POST /auth`` returns (API 1.23+); ``registrytoken`` a bearer token
    passed to the registry as it is.  ``email`` is deprecated but still
    accepted by daemons.
    """

    username: str = ""
    password: str = ""
    email: str = ""
    serveraddress: str = ""
    identitytoken: str = ""
    registrytoken: str = ""
    auth: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str):
                # The value may be a secret: name the field, not the value.
                raise TypeError(f"AuthConfig.{f.name} must be a str, not {type(value).__name__}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthConfig:
        """Build from a JSON-style mapping.  Keys match case-insensitively
        (as Go's JSON decoding does); ``None`` means empty; unknown keys are
        refused."""
        names = {f.name for f in fields(cls)}
        values: dict[str, str] = {}
        for key, value in data.items():
            name = str(key).lower()
            if name not in names:
                raise ValueError(f"unknown AuthConfig field {key!r}")
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"AuthConfig field {key!r} must be a string, not {type(value).__name__}")
            values[name] = value
        return cls(**values)

    @property
    def is_empty(self) -> bool:
        """True when no credential at all is set (address and email aside)."""
        return not (self.username or self.password or self.identitytoken
                    or self.registrytoken or self.auth)

    def to_json_dict(self) -> dict[str, str]:
        """The JSON object the daemon expects: Go's field order, empty
        fields left out (they are ``omitempty`` in the Engine's type)."""
        order = ("username", "password", "auth", "email", "serveraddress",
                 "identitytoken", "registrytoken")
        return {name: getattr(self, name) for name in order if getattr(self, name)}

    def __repr__(self) -> str:
        shown = [f"{name}={getattr(self, name)!r}"
                 for name in ("username", "email", "serveraddress") if getattr(self, name)]
        shown += [f"{name}=<hidden>" for name in _SECRET_FIELDS if getattr(self, name)]
        return f"AuthConfig({', '.join(shown)})"

    __str__ = __repr__


AuthLike = Union[AuthConfig, Mapping[str, Any]]


def _as_auth(auth: AuthLike) -> AuthConfig:
    if isinstance(auth, AuthConfig):
        return auth
    if isinstance(auth, Mapping):
        return AuthConfig.from_dict(auth)
    raise TypeError(f"expected an AuthConfig or a mapping, not {type(auth).__name__}")


def _b64url_json(value: object) -> str:
    data = json.dumps(value, separators=(",", ":")).encode("utf-8")
    # The daemon decodes with Go's base64.URLEncoding: URL-safe and padded.
    return base64.urlsafe_b64encode(data).decode("ascii")


def encode_registry_auth(auth: AuthLike) -> str:
    """The ``X-Registry-Auth`` header value (API 1.5+) for ``auth``.

    >>> encode_registry_auth({"username": "u"})
    'eyJ1c2VybmFtZSI6InUifQ=='
    """
    return _b64url_json(_as_auth(auth).to_json_dict())


def encode_registry_config(
    configs: Mapping[str, AuthLike], *, api_version: VersionLike | None = None
) -> str:
    """The ``X-Registry-Config`` header value for a build: every registry
    the build may pull from, keyed like ``config.json`` (``INDEX_SERVER``
    for Docker Hub, else the host[:port]).

    From API 1.19 the daemon decodes a bare map; for an older
    ``api_version`` (1.9-1.18) the map is wrapped as ``{"configs": map}``.
    (Builds on API 1.7-1.8 took one auth config in X-Registry-Auth instead.)
    """
    body: dict[str, Any] = {
        str(registry): _as_auth(auth).to_json_dict() for registry, auth in configs.items()
    }
    if api_version is not None and APIVersion(api_version) < _REGISTRY_CONFIG_MAP_VERSION:
        body = {"configs": body}
    return _b64url_json(body)


def auth_body(auth: AuthLike) -> bytes:
    """The push request body of API 1.2-1.4: the auth config as JSON."""
    return json.dumps(_as_auth(auth).to_json_dict(), separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------ registries


def registry_for_image(image: str) -> str:
    """The ``config.json`` key holding the credentials for ``image``.

    The first path component names a registry when it contains ``.`` or
    ``:``, is ``localhost``, or has upper-case letters (repository names
    cannot); anything else is on Docker Hub, whose key is
    :data:`INDEX_SERVER` (as are ``docker.io/...`` and
    ``index.docker.io/...``).

    >>> registry_for_image("busybox"), registry_for_image("localhost:5000/x")
    ('https://index.docker.io/v1/', 'localhost:5000')
    """
    if not isinstance(image, str) or not image:
        raise ValueError("an image reference is a non-empty string")
    if "://" in image:
        raise ValueError(f"image references have no scheme: {image!r}")
    first, slash, _ = image.partition("/")
    if not slash:
        return INDEX_SERVER
    if first == "localhost" or "." in first or ":" in first or first.lower() != first:
        return INDEX_SERVER if first in _HUB_NAMES else first
    return INDEX_SERVER


def _normalize_registry(registry: str) -> str:
    return INDEX_SERVER if registry in _HUB_NAMES else registry


def _hostname_of(key: str) -> str:
    """The docker CLI's ``ConvertToHostname``: ``https://host:port/v1/`` to
    ``host:port``, for config files that key registries by URL."""
    if "://" in key:
        try:
            parts = urlsplit(key)
            host = parts.hostname
            port = parts.port
        except ValueError:
            host = None
            port = None
        if host:
            if ":" in host:  # IPv6 literal
                host = f"[{host}]"
            return f"{host}:{port}" if port is not None else host
    return key.partition("/")[0]


# ----------------------------------------------------------- config.json


def _default_config_path(env: Mapping[str, str]) -> str:
    directory = env.get("DOCKER_CONFIG")
    if not directory:
        directory = os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(directory, "config.json")


def _decode_auth_field(registry: str, value: str, where: str) -> tuple[str, str]:
    """Split a ``config.json`` ``auth`` value (base64 ``user:password``).
    Errors name the registry only, never the value."""
    problem = f"{where}: auths[{registry!r}].auth is not base64 of 'username:password'"
    text: str | None
    try:
        decoded = base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        text = None
    if text is None:
        # Raised out here so that no exception holding the value is chained.
        raise DockerConfigError(problem)
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise DockerConfigError(problem)
    return username, password.strip("\x00")


@dataclass(frozen=True, repr=False)
class DockerConfig:
    """The credential parts of a docker CLI ``config.json``.

    ``auths`` maps each registry key to its :class:`AuthConfig`, with the
    ``auth`` field already decoded into username and password (and cleared,
    as the docker CLI does); ``creds_store`` is the default credential
    helper, ``cred_helpers`` the per-registry ones; ``path`` the file read
    (None when built from text, or when the file does not exist).
    """

    auths: Mapping[str, AuthConfig] = field(default_factory=dict)
    creds_store: str | None = None
    cred_helpers: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
    ) -> DockerConfig:
        """Read ``path`` (a file, or a directory holding ``config.json``),
        by default ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``.
        A missing file is an empty configuration, as for the docker CLI."""
        if path is None:
            file = _default_config_path(os.environ if env is None else env)
        else:
            file = os.fspath(path)
            if os.path.isdir(file):
                file = os.path.join(file, "config.json")
        try:
            with open(file, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise DockerConfigError(f"cannot read {file}: {exc.strerror or exc}") from None
        return cls.parse(data, path=file)

    @classmethod
    def parse(cls, data: str | bytes, *, path: str | None = None) -> DockerConfig:
        """Parse the text of a ``config.json``."""
        where = path or "config.json"
        doc = parse_json_object(data, where, DockerConfigError)

        raw_auths = doc.get("auths") or {}
        if not isinstance(raw_auths, dict):
            raise DockerConfigError(f"{where}: 'auths' must be an object")
        auths: dict[str, AuthConfig] = {}
        for registry, entry in raw_auths.items():
            if entry is None:
                entry = {}
            if not isinstance(entry, dict):
                raise DockerConfigError(f"{where}: auths[{registry!r}] must be an object")
            values: dict[str, str] = {}
            for key, value in entry.items():
                name = key.lower()
                if name not in _AUTH_FIELDS or value is None:
                    continue  # unknown fields are ignored, as by Go's decoder
                if not isinstance(value, str):
                    raise DockerConfigError(f"{where}: auths[{registry!r}].{key} must be a string")
                values[name] = value
            encoded = values.pop("auth", "")
            if encoded:
                values["username"], values["password"] = _decode_auth_field(registry, encoded, where)
            values["serveraddress"] = registry
            auths[registry] = AuthConfig(**values)

        store = doc.get("credsStore")
        if store is not None and not isinstance(store, str):
            raise DockerConfigError(f"{where}: 'credsStore' must be a string")
        helpers = doc.get("credHelpers") or {}
        if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
            raise DockerConfigError(f"{where}: 'credHelpers' must map registries to helper names")
        return cls(auths=auths, creds_store=store or None, cred_helpers=dict(helpers), path=path)

    def helper_for(self, registry: str) -> str | None:
        """The credential helper suffix used for ``registry``, if any: its
        ``credHelpers`` entry, else ``credsStore`` (an empty entry means
        "use the file")."""
        key = _normalize_registry(registry)
        if key in self.cred_helpers:
            return self.cred_helpers[key] or None
        return self.creds_store

    def _file_entry(self, key: str) -> AuthConfig | None:
        entry = self.auths.get(key)
        if entry is None:
            # Older files key registries by URL ("https://host/v1/").
            for registry, candidate in self.auths.items():
                if _hostname_of(registry) == key:
                    return candidate
        return entry

    def credentials_for(
        self, registry: str, *, timeout: float = DEFAULT_HELPER_TIMEOUT
    ) -> AuthConfig | None:
        """The credentials for ``registry`` (a ``config.json`` key, e.g.
        from :func:`registry_for_image`), or None when there are none.

        With a credential helper configured for the registry the helper is
        asked, and the file's entry only contributes the email (as in the
        docker CLI); "not found" from the helper is None, any other failure
        a :class:`CredentialHelperError`.
        """
        key = _normalize_registry(registry)
        entry = self._file_entry(key)
        helper = self.helper_for(key)
        if helper is None:
            if entry is None or entry.is_empty:
                return None
            return entry
        found = _ask_helper(helper, key, timeout)
        if found is None:
            return None
        username, secret = found
        email = entry.email if entry is not None else ""
        if username == _TOKEN_USERNAME:
            return AuthConfig(identitytoken=secret, serveraddress=key, email=email)
        if not username and not secret:
            return None
        return AuthConfig(username=username, password=secret, serveraddress=key, email=email)

    def __repr__(self) -> str:
        return (
            f"DockerConfig(path={self.path!r}, registries={sorted(self.auths)!r}, "
            f"creds_store={self.creds_store!r}, cred_helpers={dict(self.cred_helpers)!r})"
        )


_AUTH_FIELDS = frozenset(f.name for f in fields(AuthConfig))


def _ask_helper(helper: str, server: str, timeout: float) -> tuple[str, str] | None:
    """Run ``docker-credential-<helper> get`` with ``server`` on stdin.

    Returns (username, secret), or None when the helper has no credentials
    for the server.  The helper's output never goes into an error or a log
    record."""
    program = "docker-credential-" + helper
    executable = shutil.which(program)
    if executable is None:
        raise CredentialHelperError(
            f"credential helper {program} (configured for {server}) was not found on PATH",
            program, server,
        )
    log.debug("asking credential helper %s for %s", program, server)
    # Errors are raised outside the except clauses so that nothing holding
    # the helper's output (TimeoutExpired keeps it) is chained to ours.
    failure = None
    try:
        proc = subprocess.run(
            [executable, "get"],
            input=server.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        failure = f"credential helper {program} did not answer for {server} within {timeout:g} s"
    except OSError as exc:
        failure = f"cannot run credential helper {program}: {exc.strerror or type(exc).__name__}"
    if failure is not None:
        raise CredentialHelperError(failure, program, server)

    if proc.returncode != 0:
        # Helpers report errors on stdout (docker-credential-helpers).
        message = proc.stdout.decode("utf-8", "replace").strip()
        if message == _NOT_FOUND_MESSAGE:
            log.debug("credential helper %s has no credentials for %s", program, server)
            return None
        detail = (
            f": {message}" if message in _SAFE_HELPER_MESSAGES
            else "; its output is not shown as it may contain secrets"
        )
        raise CredentialHelperError(
            f"credential helper {program} failed for {server} "
            f"(exit status {proc.returncode}){detail}",
            program, server, proc.returncode,
        )

    try:
        answer = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = None
    if not isinstance(answer, dict):
        raise CredentialHelperError(
            f"credential helper {program} gave an answer for {server} that is not a JSON object",
            program, server, proc.returncode,
        )
    # Go decodes "Username"/"Secret" case-insensitively.
    lowered = {str(k).lower(): v for k, v in answer.items()}
    username = lowered.get("username") or ""
    secret = lowered.get("secret") or ""
    if not isinstance(username, str) or not isinstance(secret, str):
        raise CredentialHelperError(
            f"credential helper {program} gave non-string Username/Secret for {server}",
            program, server, proc.returncode,
        )
    return username, secret
