"""Shared fixtures: both twins of the stream layer, and the private dockerd."""

from _daemon import *  # noqa: F401,F403  (docker_host, test_image, docker_cleanup, hooks)
from _twins import twin  # noqa: F401
