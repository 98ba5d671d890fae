"""``ssh://`` hosts: the system ``ssh`` program running ``docker system dial-stdio``.

This is what the docker CLI does for ``DOCKER_HOST=ssh://[user@]host[:port][/socket]``
(its ``connhelper`` package): it starts
``ssh [-l user] [-p port] -- host docker [--host unix://socket] system dial-stdio``
and speaks HTTP over the process's stdin and stdout; the remote ``docker``
CLI relays them to the remote daemon's socket.  No SSH library is needed,
and the user's ``~/.ssh/config``, agent and known hosts apply as for the
CLI.

One process is one connection: the pool keeps idle ones, so only the first
request pays for ssh's start-up and key exchange.

Why a socketpair rather than two pipes for the process's stdin and
stdout: it makes the ssh channel a socket like every other transport.
``shutdown(SHUT_WR)`` is the half-close (ssh sends EOF on the channel, and
``dial-stdio`` half-closes its connection to the daemon), and
``shutdown(SHUT_RDWR)`` from another thread wakes a reader blocked in
``recv``, which closing one end of a pipe does not.  ssh's stderr goes to
an unlinked temporary file, so a chatty ssh can never block on a full pipe
and the tail of what it said is there for the error message.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

from .._core._errors import TransportError
from ._hosts import HostConfig
from ._sync_socket import SocketStream

__all__ = ["SSHTransport", "ssh_command", "host_ssh_command", "stderr_tail"]

#: How much of ssh's stderr an error message quotes (the end of it).
STDERR_TAIL = 4096
#: Seconds ssh gets to exit by itself once its stdin is closed.
EXIT_GRACE = 2.0


def ssh_command(
    host: str,
    *,
    user: str | None = None,
    port: int | None = None,
    socket_path: str | None = None,
    options: Sequence[str] = (),
    connect_timeout: float | None = 30.0,
    ssh: str = "ssh",
) -> list[str]:
    """The argument vector the docker CLI builds for an ssh:// host.

    ``options`` go before the destination (``-F``, ``-i``, ``-o Key=value``);
    ``--`` keeps a host name that starts with ``-`` from being read as an
    option.  ``-T``: no terminal, the channel carries bytes only.
    """
    argv = [ssh]
    if connect_timeout is not None:
        argv += ["-o", f"ConnectTimeout={max(1, int(connect_timeout))}"]
    argv.append("-T")
    argv += list(options)
    if user:
        argv += ["-l", user]
    if port:
        argv += ["-p", str(port)]
    argv += ["--", host, "docker"]
    if socket_path:
        argv += ["--host", f"unix://{socket_path}"]
    argv += ["system", "dial-stdio"]
    return argv


def host_ssh_command(host: HostConfig, connect_timeout: float | None) -> list[str]:
    """:func:`ssh_command` for a parsed ``ssh://`` host (both drivers use it)."""
    return ssh_command(
        host.address, user=host.user, port=host.port or None, socket_path=host.path,
        options=host.ssh_options, connect_timeout=connect_timeout,
    )


def stderr_tail(stderr: IO[bytes]) -> str:
    """The last :data:`STDERR_TAIL` bytes ssh wrote to its stderr file, as text."""
    try:
        size = os.fstat(stderr.fileno()).st_size
        data = os.pread(stderr.fileno(), STDERR_TAIL, max(0, size - STDERR_TAIL))
    except (OSError, ValueError):
        return ""
    return data.decode("utf-8", errors="replace").strip()


def check_ssh_program(argv: Sequence[str]) -> None:
    """A clear error when the ssh program is missing (before anything starts)."""
    if shutil.which(argv[0]) is None:
        raise TransportError(
            f"cannot connect over ssh: the {argv[0]!r} program was not found "
            "(install an OpenSSH client)"
        )


class SSHTransport(SocketStream):
    """One ``ssh ... docker system dial-stdio`` process as a byte stream."""

    __slots__ = ("process", "argv", "_stderr", "_closing", "_lock", "_reaped")

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.process: subprocess.Popen[bytes]
        check_ssh_program(self.argv)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                self.argv, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=self._stderr,
                close_fds=True,
            )
        except OSError as exc:
            ours.close()
            self._stderr.close()
            raise TransportError(f"cannot start {self.argv[0]!r}: {exc}") from None
        finally:
            theirs.close()  # the child has its copy
        super().__init__(ours)
        self._closing = False
        self._reaped = False
        self._lock = threading.Lock()

    # -- errors that say what ssh said ---------------------------------------

    def stderr_text(self) -> str:
        """The tail of what ssh wrote to stderr so far."""
        return stderr_tail(self._stderr)

    def _failure(self, what: str) -> TransportError:
        """An error naming ssh's exit status and stderr, once the process has ended."""
        try:
            code = self.process.wait(timeout=EXIT_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        detail = self.stderr_text() or "(nothing on stderr)"
        status = "is still running" if code is None else f"exited with status {code}"
        return TransportError(f"ssh {status}: {detail} [{what}; command: {' '.join(self.argv)}]")

    # -- the interface ---------------------------------------------------------

    def read(self) -> memoryview:
        try:
            data = super().read()
        except TransportError as exc:
            if self._closing:
                raise
            raise self._failure(str(exc)) from None
        if not data and not self._closing:
            # EOF: either the daemon closed the connection (dial-stdio then
            # exits 0), or ssh itself failed (auth, host, remote docker
            # missing: a nonzero status and a message on stderr).
            try:
                code = self.process.wait(timeout=EXIT_GRACE)
            except subprocess.TimeoutExpired:
                code = 0  # the channel ended but ssh lingers: a plain EOF
            if code != 0:
                raise self._failure("the connection ended")
        return data

    def write(self, data: bytes) -> None:
        try:
            super().write(data)
        except TransportError as exc:
            if self._closing:
                raise
            raise self._failure(str(exc)) from None

    def close(self) -> None:
        """Wake any blocked reader, end ssh, reap it, and release every fd."""
        with self._lock:
            if self._reaped:
                return
            self._closing = True
        super().close()  # shutdown + close: ssh sees EOF on stdin at once
        proc = self.process
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=EXIT_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._stderr.close()
        with self._lock:
            self._reaped = True

    @property
    def pid(self) -> int:
        return int(self.process.pid)
