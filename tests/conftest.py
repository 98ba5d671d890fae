"""Shared fixtures: both twins of the stream layer, both drivers, the private dockerd, and
the registry / swarm-daemon infrastructure."""

from _daemon import *  # noqa: F401,F403  (docker_host, docker_tls, test_image, docker_cleanup, hooks)
from _infra import *  # noqa: F401,F403  (registry, swarm_daemon)
from _sshd import ssh_docker  # noqa: F401
from _twins import twin  # noqa: F401
from _drivers import driver, make_client  # noqa: F401
