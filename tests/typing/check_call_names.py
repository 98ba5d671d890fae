"""Checked by mypy (tests/test_typing.py): a misspelt endpoint name is a type
error.  The test expects exactly the errors marked ``# E:`` below."""

from __future__ import annotations

from protocol import Client


def check(client: Client) -> None:
    client.call("containers.lst")  # E: arg-type
    client.call("images.create", from_image="busybox")
