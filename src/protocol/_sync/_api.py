# Generated from src/protocol/_async/_api.py by .ci/generate_sync.py: do not edit.
"""The public methods of the clients, written once.

``src/protocol/_async/_api.py`` is the source of both drivers' method
surfaces: each method runs one operation of the engine (where all of the
Docker API's logic is) with the driver's ``run``.  ``src/protocol/_sync/_api.py`` is generated from it
by unasync (``python .ci/generate_sync.py``; a test fails when the generated file
is not current), so the two clients cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._about import USER_AGENT
from .._backends._context import client_target
from .._backends._hosts import HostConfig, TLSConfig
from .._core._engine import Engine, Operation
from .._core._events import StreamError
from .._core._models import (
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
from .._core._names import EndpointName
from .._core._output import ExecResult
from .._core._request import Request
from .._core._sinks import Sink
from .._core._stream import Frame
from .._core._version import VersionLike
from ._progress import ProgressStream
from ._response import StreamingResponse
from ._session import Session

__all__ = ["API"]


class API:
    """The client's methods, each one operation of its engine."""

    _engine: Engine
    host: HostConfig
    context: str | None

    def _configure(
        self,
        host: str | HostConfig | None,
        version: VersionLike | None,
        *,
        tls: TLSConfig | None,
        timeout: float | None,
        min_version: VersionLike,
        max_version: VersionLike,
        environ: Mapping[str, str] | None,
        stream_impl: Any,
        custom: str | None,
        ssh_options: Sequence[str],
        context: str | None,
        max_body_size: int,
    ) -> None:
        """What both constructors share: where the daemon is (the docker
        CLI's rules, for a caller-given transport only its headers and
        version) and the engine."""
        target = client_target(
            host, tls=tls, context=context, environ=environ, ssh_options=tuple(ssh_options),
            custom=custom, version=None if version is None else str(version), user_agent=USER_AGENT,
        )
        self.host = target.host
        self.context = target.context
        self._engine = Engine(
            version=target.version, min_version=min_version, max_version=max_version,
            headers=target.headers, max_body_size=max_body_size, timeout=timeout,
            stream_impl=stream_impl, fetch=True,
        )

    @property
    def timeout(self) -> float | None:
        """The read timeout applied to every response (None: never)."""
        return self._engine.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._engine.timeout = value

    @property
    def max_body_size(self) -> int:
        """The bound of every body held whole."""
        return self._engine.max_body_size

    @property
    def engine(self) -> Engine:
        """The sans-I/O engine whose operations this client runs."""
        return self._engine

    def run(self, op: Operation[Any]) -> Any:
        """Run an engine operation to its end (the driver performs its steps)."""
        raise NotImplementedError

    # -- sending -----------------------------------------------------------

    def send(self, request: Request, *, versioned: bool = True) -> StreamingResponse[Any]:
        """Send a request at the negotiated version; raise :class:`APIError` for error answers.

        The returned streaming response (:class:`StreamingResponse`, :class:`AsyncStreamingResponse`) has the head read and the body
        still to come.
        """
        return self.run(self._engine.send(request, versioned=versioned))  # type: ignore[no-any-return]

    def request_json(self, request: Request) -> Any:
        """Send and decode a JSON answer (None for an empty body)."""
        return self.run(self._engine.request_json(request))

    # -- the whole API, from the endpoint table ----------------------------

    def call(self, name: EndpointName, /, *, auth: Any = None, **kwargs: Any) -> Any:
        """Call any endpoint of the table by name at the negotiated version.

        ``name`` is a table name such as ``"containers.list"`` or
        ``"images.push"`` (see the README's endpoint table); keyword
        arguments are its path and query parameters by Python name, plus
        ``json=``/``body=``/``headers=``.  ``auth`` (an :class:`AuthConfig`
        or a dict) is sent the way the version wants it (``X-Registry-Auth``,
        or the v1.2-1.4 push body).  An endpoint or parameter the version
        does not have raises :class:`UnsupportedVersion` before anything is
        sent.

        The result follows the endpoint's response kind: JSON -> the decoded
        value; EMPTY -> None; TEXT -> str, or for v1.0's plain-text progress
        the list of progress messages later versions send as JSON;
        JSON_STREAM, STREAM and BINARY -> a :class:`StreamingResponse`
        (iterate it, or ``read()``); HIJACK -> a session (:class:`Session`, :class:`AsyncSession`), or None when
        the daemon answers with an ordinary response instead of taking the
        connection over (exec start with ``Detach: true``).
        """
        return self.run(self._engine.call(name, auth=auth, **kwargs))

    def archive_stat(self, container: str, path: str) -> Any:
        """``HEAD /containers/{id}/archive`` (API >= 1.20): the path's stat
        (name, size, mode, mtime, linkTarget) from ``X-Docker-Container-Path-Stat``."""
        return self.run(self._engine.archive_stat(container, path))

    # -- registry and build progress -------------------------------------

    def progress(self, resp: StreamingResponse[Any]) -> list[ProgressMessage]:
        """Consume a JSON progress stream; raise its in-band error as a typed exception.

        Returns the messages before the end.  An ``error`` / ``errorDetail``
        message raises :class:`Unauthorized` for registry refusals, else
        :class:`APIError`, carrying the message; its ``messages`` attribute
        holds every message received before it.
        """
        return ProgressStream.from_response(resp).collect()

    def pull_stream(self, image: str, tag: str | None = None, *, auth: Any = None,
                    platform: str | None = None) -> ProgressStream:
        """``POST /images/create?fromImage=``: the pull's progress as it happens.

        ``auth`` is an :class:`AuthConfig` or dict, or ``True`` to use the
        docker CLI's configuration for the image's registry.  Iterate the
        result for :class:`ProgressMessage`; an in-band error raises.  Any
        error (in-band, protocol or transport) carries the messages received
        before it in ``exc.messages`` (also ``exc.received``)."""
        return self.run(self._engine.pull(image, tag, auth=auth, platform=platform))  # type: ignore[no-any-return]

    def pull(self, image: str, tag: str | None = None, *, auth: Any = None,
             platform: str | None = None) -> list[ProgressMessage]:
        """Pull, returning every progress message (see :meth:`pull_stream`)."""
        return (self.pull_stream(image, tag, auth=auth, platform=platform)).collect()

    def push_stream(self, image: str, tag: str | None = None, *, auth: Any = None) -> ProgressStream:
        """``POST /images/{name}/push``: the push's progress as it happens
        (``auth`` as for :meth:`pull_stream`)."""
        return self.run(self._engine.push(image, tag, auth=auth))  # type: ignore[no-any-return]

    def push(self, image: str, tag: str | None = None, *, auth: Any = None) -> list[ProgressMessage]:
        """Push, returning every progress message (see :meth:`push_stream`)."""
        return (self.push_stream(image, tag, auth=auth)).collect()

    def build_stream(
        self,
        path: str | None = None,
        *,
        fileobj: Any = None,
        tag: str | list[str] | None = None,
        dockerfile: str | None = None,
        auth_configs: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> ProgressStream:
        """``POST /build`` from a directory (streamed as a tar honouring
        ``.dockerignore``, never written to disk or held in memory whole) or
        from a caller-given tar ``fileobj``: the build's output as it
        happens.  An in-band build error raises :class:`APIError`."""
        return self.run(self._engine.build(  # type: ignore[no-any-return]
            path, fileobj=fileobj, tag=tag, dockerfile=dockerfile, auth_configs=auth_configs, **params))

    def build(
        self,
        path: str | None = None,
        *,
        fileobj: Any = None,
        tag: str | list[str] | None = None,
        dockerfile: str | None = None,
        auth_configs: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> list[ProgressMessage]:
        """Build, returning every progress message (see :meth:`build_stream`)."""
        stream = self.build_stream(path, fileobj=fileobj, tag=tag, dockerfile=dockerfile,
                                         auth_configs=auth_configs, **params)
        return stream.collect()

    def load_stream(self, data: bytes | Any, *, quiet: bool = False) -> ProgressStream:
        """``POST /images/load`` (API >= 1.7) of a ``docker save`` tar given as
        bytes or a binary file object (streamed): the progress as it happens
        (none before API 1.23, whose answer has no body)."""
        return self.run(self._engine.load(data, quiet=quiet))  # type: ignore[no-any-return]

    def load(self, data: bytes | Any, *, quiet: bool = False) -> list[ProgressMessage]:
        """Load images, returning every progress message (see :meth:`load_stream`)."""
        return (self.load_stream(data, quiet=quiet)).collect()

    # -- system ------------------------------------------------------------

    def ping(self) -> str:
        """``GET /_ping`` (unversioned, so it works whatever the versions): 'OK'."""
        return self.run(self._engine.ping())  # type: ignore[no-any-return]

    def version(self) -> VersionInfo:
        """``GET /version``: the daemon's versions and platform."""
        return self.run(self._engine.version_info())  # type: ignore[no-any-return]

    def info(self) -> SystemInfo:
        """``GET /info``: system-wide information."""
        return self.run(self._engine.info())  # type: ignore[no-any-return]

    # -- containers --------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None,
                   filters: Mapping[str, Any] | None = None) -> list[ContainerSummary]:
        """``GET /containers/json``."""
        return self.run(self._engine.containers(all, limit, filters))  # type: ignore[no-any-return]

    def inspect_container(self, container: str) -> ContainerInspect:
        """``GET /containers/{id}/json``."""
        return self.run(self._engine.inspect_container(container))  # type: ignore[no-any-return]

    def create_container(self, image: str, command: list[str] | str | None = None, *, name: str | None = None,
                         **config: Any) -> ContainerCreated:
        """``POST /containers/create``; ``config`` keys are the API's (Tty, Env, HostConfig, ...)."""
        return self.run(self._engine.create_container(  # type: ignore[no-any-return]
            image, command, name=name, **config))

    def start_container(self, container: str) -> None:
        """``POST /containers/{id}/start``."""
        self.run(self._engine.start_container(container))

    def wait_container(self, container: str) -> ContainerWaitResult:
        """``POST /containers/{id}/wait``: blocks until the container stops."""
        return self.run(self._engine.wait_container(container))  # type: ignore[no-any-return]

    def remove_container(self, container: str, force: bool = False, volumes: bool = False) -> None:
        """``DELETE /containers/{id}``."""
        self.run(self._engine.remove_container(container, force, volumes))

    def logs(
        self,
        container: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        follow: bool = False,
        timestamps: bool = False,
        tail: int | str | None = None,
        since: int | None = None,
        until: int | None = None,
        tty: bool | None = None,
    ) -> StreamingResponse[Frame | StreamError]:
        """``GET /containers/{id}/logs`` as a stream of :class:`Frame` / :class:`StreamError`.

        ``tty`` is the container's TTY setting; when None and the daemon is
        older than API 1.42, it is looked up with an inspect call.
        """
        return self.run(self._engine.logs(  # type: ignore[no-any-return]
            container, stdout=stdout, stderr=stderr, follow=follow, timestamps=timestamps,
            tail=tail, since=since, until=until, tty=tty))

    def logs_into(
        self,
        container: str,
        stdout: Sink,
        stderr: Sink,
        *,
        follow: bool = False,
        timestamps: bool = False,
        tail: int | str | None = None,
        since: int | None = None,
        until: int | None = None,
        tty: bool | None = None,
    ) -> list[StreamError]:
        """The sink form of :meth:`logs`: write stdout and stderr payloads to
        two targets (file descriptors, or objects with ``write()`` or
        ``sendall()``) with no Python object per frame.  Returns the in-band
        errors (systemerr frames), in order."""
        return self.run(self._engine.logs_into(  # type: ignore[no-any-return]
            container, stdout, stderr, follow=follow, timestamps=timestamps, tail=tail,
            since=since, until=until, tty=tty))

    def events(
        self,
        *,
        since: int | str | None = None,
        until: int | str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> StreamingResponse[Event]:
        """``GET /events``: a stream of :class:`Event` (ends at ``until``, else
        never); an in-band error raises its typed exception."""
        return self.run(self._engine.events(since=since, until=until, filters=filters))  # type: ignore[no-any-return]

    def stats(self, container: str, *, stream: bool = True) -> StreamingResponse[ContainerStats]:
        """``GET /containers/{id}/stats`` (API >= 1.17): a stream of
        :class:`ContainerStats` (one sample with ``stream=False``)."""
        return self.run(self._engine.stats(container, stream=stream))  # type: ignore[no-any-return]

    # -- attach and exec (hijacked sessions) ------------------------------

    def attach(
        self,
        container: str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        logs: bool = False,
        stream: bool = True,
        detach_keys: str | None = None,
        tty: bool | None = None,
        require_running: bool = True,
    ) -> Session:
        """``POST /containers/{id}/attach``: a session (:class:`Session`, :class:`AsyncSession`) on the container.

        ``logs=True`` replays earlier output before the live output.  ``tty``
        is the container's Tty setting (looked up with an inspect when None).
        With ``stream=True`` a container that is not running is refused with
        :class:`ContainerNotRunning` (the daemon would wait for it to run);
        ``require_running=False`` allows attaching to a created container
        before starting it, as ``docker run`` does.
        """
        return self.run(self._engine.attach(  # type: ignore[no-any-return]
            container, stdin=stdin, stdout=stdout, stderr=stderr, logs=logs, stream=stream,
            detach_keys=detach_keys, tty=tty, require_running=require_running))

    def exec_create(
        self,
        container: str,
        command: list[str] | str,
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        tty: bool = False,
        env: list[str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        privileged: bool = False,
        detach_keys: str | None = None,
    ) -> str:
        """``POST /containers/{id}/exec`` (API >= 1.15): the exec id."""
        return self.run(self._engine.exec_create(  # type: ignore[no-any-return]
            container, command, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty, env=env,
            workdir=workdir, user=user, privileged=privileged, detach_keys=detach_keys))

    def exec_start(self, exec_id: str, *, tty: bool = False) -> Session:
        """``POST /exec/{id}/start``: a session (:class:`Session`, :class:`AsyncSession`) on the running command.

        ``tty`` must match the exec's creation (it decides raw vs multiplexed
        output below API 1.42).  The body is JSON, with the JSON Content-Type
        that API 1.22+ daemons require.
        """
        return self.run(self._engine.exec_start(exec_id, tty=tty))  # type: ignore[no-any-return]

    def exec_start_detached(self, exec_id: str, *, tty: bool = False) -> None:
        """``POST /exec/{id}/start`` with ``Detach: true``: the command runs in
        the background; the daemon answers an empty 200 (no hijack) and the
        connection is reused.  Its exit code comes from :meth:`inspect_exec`."""
        self.run(self._engine.exec_start_detached(exec_id, tty=tty))

    def inspect_exec(self, exec_id: str) -> ExecInspect:
        """``GET /exec/{id}/json`` (API >= 1.16)."""
        return self.run(self._engine.inspect_exec(exec_id))  # type: ignore[no-any-return]

    def exec_stream(self, container: str, command: list[str] | str, *, stdin: bool = False,
                    tty: bool = False, **options: Any) -> Session:
        """Create and start an exec; iterate the returned session for its output."""
        return self.run(self._engine.exec_stream(  # type: ignore[no-any-return]
            container, command, stdin=stdin, tty=tty, **options))

    def exec_run(
        self,
        container: str,
        command: list[str] | str,
        *,
        input: bytes | None = None,
        tty: bool = False,
        max_output: int | None = 64 * 1024 * 1024,
        tty_eof: bytes | None = b"\x04",
        wait_timeout: float | None = None,
        **options: Any,
    ) -> ExecResult:
        """Run a command to completion: its stdout, stderr and exit code.

        ``input`` is written to stdin (from a second thread, so a command
        that echoes it cannot deadlock), then the end of input is signalled:
        a half-close without a TTY; with ``tty=True`` the terminal's EOF
        character ``tty_eof`` (Ctrl-D; None sends nothing), because a pty
        reads a half-close as nothing at all (the daemon then ends the
        output at once while the command keeps running).  Output beyond
        ``max_output`` bytes raises :class:`OutputLimitExceeded` with what
        was received.  Once the output has ended, the exit code is awaited
        at most ``wait_timeout`` seconds (default: the client's timeout,
        else 30 s), then :class:`Timeout` (a ``TimeoutError``) says what the
        daemon last reported and carries the output in ``received``; below
        API 1.16, which has no exec inspect, ``exit_code`` is None.
        """
        return self.run(self._engine.exec_run(  # type: ignore[no-any-return]
            container, command, input=input, tty=tty, max_output=max_output, tty_eof=tty_eof,
            wait_timeout=wait_timeout, **options))

    # -- images ------------------------------------------------------------

    def images(self, all: bool = False, filters: Mapping[str, Any] | None = None) -> list[ImageSummary]:
        """``GET /images/json``."""
        return self.run(self._engine.images(all, filters))  # type: ignore[no-any-return]

    def inspect_image(self, image: str) -> ImageInspect:
        """``GET /images/{name}/json``."""
        return self.run(self._engine.inspect_image(image))  # type: ignore[no-any-return]
