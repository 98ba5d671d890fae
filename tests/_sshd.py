"""The ``ssh_docker`` fixture: a private sshd whose sessions reach the private dockerd.

``.ci/sshd start`` installs openssh-server when missing, generates its own
host and client keys and starts sshd on a loopback port; the remote side's
``docker system dial-stdio`` talks to the private daemon.  Like the daemon
fixture, it fails instead of skipping when ``$CI`` is true.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import pytest

from _daemon import REPO_ROOT, _unavailable

__all__ = ["SSHDocker", "ssh_docker"]

SSHD_SCRIPT = REPO_ROOT / ".ci" / "sshd"


@dataclass(frozen=True)
class SSHDocker:
    host: str  # ssh://USER@127.0.0.1:PORT
    options: tuple[str, ...]  # ssh options that find our key and known hosts


@pytest.fixture(scope="session")
def ssh_docker(docker_host: str) -> SSHDocker:
    try:
        started = subprocess.run([str(SSHD_SCRIPT), "start"], cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"{SSHD_SCRIPT} start: {exc}")
    if started.returncode != 0:
        _unavailable(f"{SSHD_SCRIPT} start exited {started.returncode}\n{started.stdout}\n{started.stderr}")
    options = subprocess.run([str(SSHD_SCRIPT), "options"], capture_output=True, text=True, check=True)
    return SSHDocker(started.stdout.strip().splitlines()[-1], tuple(options.stdout.split()))
