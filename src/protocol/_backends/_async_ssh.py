"""``ssh://`` hosts for asyncio: the system ``ssh`` running ``docker system dial-stdio``.

The asyncio twin of :mod:`protocol._ssh`, and built the same way: the same
command line (:func:`~protocol.ssh_command`), one process per connection,
the process's stdin and stdout on one end of a socketpair (so the channel
is a socket: ``write_eof`` is the half-close, and the loop watches it like
any other), its stderr in an unlinked temporary file quoted in errors.  The
process is started and reaped by the event loop (``loop.subprocess_exec``);
no thread waits on a pipe.

Closing ends the socket first (ssh sees EOF and exits by itself), then
waits a little, then terminates and finally kills it; a cancelled read or
write kills it at once, as the contract wants the connection gone before
the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import Sequence
from typing import IO

from ._async_socket import AsyncSocketStream, _StreamProtocol
from .._core._errors import ReadTimeout, TransportError
from ._sync_ssh import EXIT_GRACE, check_ssh_program, stderr_tail

__all__ = ["AsyncSSHTransport"]

#: Seconds ssh gets to exit by itself once its channel is closed, before
#: it is sent SIGTERM.
CLOSE_GRACE = 0.2


class _ProcessProtocol(asyncio.SubprocessProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


class AsyncSSHTransport(AsyncSocketStream):
    """One ``ssh ... docker system dial-stdio`` process as an async byte stream.

    Start one with ``await AsyncSSHTransport.start(argv)``, ``argv`` as
    :func:`~protocol.ssh_command` builds it (or :func:`~protocol.async_connect`
    with an ``ssh://`` host).
    """

    __slots__ = ("argv", "_process", "_exit", "_stderr", "_reaped")

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol, argv: Sequence[str],
                 process: asyncio.SubprocessTransport, exit_protocol: _ProcessProtocol,
                 stderr: IO[bytes]) -> None:
        super().__init__(transport, protocol)
        self.argv = list(argv)
        self._process = process
        self._exit = exit_protocol
        self._stderr = stderr
        self._reaped = False

    @classmethod
    async def start(cls, argv: Sequence[str]) -> AsyncSSHTransport:
        argv = list(argv)
        check_ssh_program(argv)
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stderr: IO[bytes] = tempfile.TemporaryFile()
        process: asyncio.SubprocessTransport | None = None
        try:
            try:
                process, exit_protocol = await loop.subprocess_exec(
                    lambda: _ProcessProtocol(loop), *argv,
                    stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=stderr, close_fds=True,
                )
            except OSError as exc:
                raise TransportError(f"cannot start {argv[0]!r}: {exc}") from None
            finally:
                theirs.close()  # the child has its copy
            transport, proto = await loop.create_unix_connection(lambda: _StreamProtocol(loop), sock=ours)
        except BaseException:
            ours.close()
            if process is not None:
                process.close()  # kills it if it still runs; the loop reaps it
            stderr.close()
            raise
        return cls(transport, proto, argv, process, exit_protocol, stderr)

    # -- errors that say what ssh said ---------------------------------------

    @property
    def pid(self) -> int:
        return self._process.get_pid()

    @property
    def returncode(self) -> int | None:
        """ssh's exit status once it ended (None while it runs)."""
        return self._process.get_returncode()

    def stderr_text(self) -> str:
        """The tail of what ssh wrote to stderr so far."""
        return stderr_tail(self._stderr)

    async def _wait_exit(self, timeout: float) -> int | None:
        """ssh's exit status, or None if it still runs after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._exit.exited)
        except TimeoutError:
            return None
        return self._process.get_returncode()

    async def _failure(self, what: str) -> TransportError:
        """An error naming ssh's exit status and stderr, once the process has ended."""
        code = await self._wait_exit(EXIT_GRACE)
        detail = self.stderr_text() or "(nothing on stderr)"
        status = "is still running" if code is None else f"exited with status {code}"
        return TransportError(f"ssh {status}: {detail} [{what}; command: {' '.join(self.argv)}]")

    # -- the interface ---------------------------------------------------------

    async def read(self) -> bytes:
        try:
            try:
                data = await super().read()
            except ReadTimeout:
                raise  # a quiet daemon, not a failed ssh
            except TransportError as exc:
                if self.closed:
                    raise
                raise await self._failure(str(exc)) from None
            if not data and not self.closed:
                # EOF: either the daemon closed the connection (dial-stdio then
                # exits 0), or ssh itself failed (auth, host, remote docker
                # missing: a nonzero status and a message on stderr).
                code = await self._wait_exit(EXIT_GRACE)
                if code is not None and code != 0:  # None: ssh lingers, a plain EOF
                    raise await self._failure("the connection ended")
            return data
        except asyncio.CancelledError:
            self._abort()
            raise

    async def write(self, data: bytes) -> None:
        try:
            try:
                await super().write(data)
            except TransportError as exc:
                if self.closed:
                    raise
                raise await self._failure(str(exc)) from None
        except asyncio.CancelledError:
            self._abort()
            raise

    def _abort(self) -> None:
        """Close the channel and kill ssh now (cancellation: no time to wait)."""
        super()._abort()
        self._release()

    def _release(self) -> None:
        if self._reaped:
            return
        self._reaped = True
        self._process.close()  # kills ssh if it still runs; the loop reaps it
        self._stderr.close()

    async def aclose(self) -> None:
        """End the channel, let ssh exit (or end it), reap it, release every fd."""
        if self._reaped:
            return
        AsyncSocketStream._abort(self)  # ssh sees EOF on stdin at once
        try:
            await asyncio.shield(self._proto.closed)
            if await self._wait_exit(CLOSE_GRACE) is None:
                try:
                    self._process.terminate()
                except ProcessLookupError:
                    pass
                if await self._wait_exit(EXIT_GRACE) is None:
                    try:
                        self._process.kill()
                    except ProcessLookupError:
                        pass
                    await self._wait_exit(EXIT_GRACE)
        finally:
            self._release()
