"""Checked by mypy --strict (tests/test_typing.py), never run: the types a
user's code sees from the client's convenience methods."""

from __future__ import annotations

from typing import Any, assert_type

import protocol
from protocol import (
    Client,
    ContainerCreated,
    ContainerInspect,
    ContainerStats,
    ContainerSummary,
    ContainerWaitResult,
    Event,
    ExecInspect,
    Frame,
    ImageInspect,
    ImageSummary,
    ProgressMessage,
    ProgressStream,
    StreamError,
    SystemInfo,
    VersionInfo,
)


def check(client: Client) -> None:
    assert_type(client.version(), VersionInfo)
    assert_type(client.version().api_version, str | None)
    assert_type(client.info(), SystemInfo)
    assert_type(client.info().ncpu, int | None)
    assert_type(client.containers(all=True), list[ContainerSummary])
    assert_type(client.containers()[0].names, list[str])
    assert_type(client.inspect_container("x"), ContainerInspect)
    assert_type(client.inspect_container("x").running, bool | None)
    assert_type(client.create_container("busybox", ["true"]), ContainerCreated)
    assert_type(client.create_container("busybox").id, str)
    assert_type(client.wait_container("x"), ContainerWaitResult)
    assert_type(client.wait_container("x").status_code, int | None)
    assert_type(client.images(), list[ImageSummary])
    assert_type(client.inspect_image("busybox"), ImageInspect)
    assert_type(client.inspect_exec("e"), ExecInspect)
    # The raw document stays at hand.
    assert_type(client.version().raw, dict[str, Any])
    assert_type(client.version()["Version"], Any)

    for item in client.logs("x"):
        assert_type(item, Frame | StreamError)
        if isinstance(item, Frame):
            assert_type(item.data, bytes)
    with client.events(filters={"type": ["container"]}) as events:
        for event in events:
            assert_type(event, Event)
            assert_type(event.action, str | None)
    for sample in client.stats("x", stream=False):
        assert_type(sample, ContainerStats)
        assert_type(sample.cpu_percent, float)

    assert_type(client.pull("busybox"), list[ProgressMessage])
    assert_type(client.push("busybox"), list[ProgressMessage])
    assert_type(client.build("."), list[ProgressMessage])
    assert_type(client.load(b""), list[ProgressMessage])
    assert_type(client.pull_stream("busybox"), ProgressStream)
    with client.pull_stream("busybox") as progress:
        for message in progress:
            assert_type(message, ProgressMessage)
            assert_type(message.current, int | None)
    assert_type(client.build_stream(".").run(print), ProgressMessage | None)

    # call() returns plain JSON, but the endpoint's name is checked.
    assert_type(client.call("containers.list", all=True), Any)
    assert_type(protocol.IMPLEMENTATION, str)
