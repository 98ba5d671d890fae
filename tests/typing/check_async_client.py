"""Checked by mypy --strict (tests/test_typing.py), never run: the types a
user's code sees from the asyncio client, the same as from Client."""

from __future__ import annotations

from typing import Any, assert_type

from protocol import (
    APIVersion,
    AsyncClient,
    AsyncProgressStream,
    AsyncSession,
    AsyncStreamingResponse,
    ContainerCreated,
    ContainerInspect,
    ContainerStats,
    ContainerSummary,
    ContainerWaitResult,
    Event,
    ExecInspect,
    ExecResult,
    Frame,
    ImageInspect,
    ImageSummary,
    ProgressMessage,
    StreamError,
    SystemInfo,
    VersionInfo,
)


async def check(client: AsyncClient) -> None:
    assert_type(await client.api_version, APIVersion)
    assert_type(await client.ping(), str)
    assert_type(await client.version(), VersionInfo)
    assert_type(await client.info(), SystemInfo)
    assert_type(await client.containers(all=True), list[ContainerSummary])
    assert_type(await client.inspect_container("x"), ContainerInspect)
    assert_type(await client.create_container("busybox", ["true"]), ContainerCreated)
    assert_type(await client.wait_container("x"), ContainerWaitResult)
    assert_type(await client.images(), list[ImageSummary])
    assert_type(await client.inspect_image("busybox"), ImageInspect)
    assert_type(await client.inspect_exec("e"), ExecInspect)
    assert_type(await client.exec_run("x", ["true"]), ExecResult)

    logs = await client.logs("x", follow=True)
    assert_type(logs, AsyncStreamingResponse[Frame | StreamError])
    async with logs:
        async for item in logs:
            assert_type(item, Frame | StreamError)
    async with await client.events(filters={"type": ["container"]}) as events:
        async for event in events:
            assert_type(event, Event)
    async for sample in await client.stats("x", stream=False):
        assert_type(sample, ContainerStats)

    session = await client.exec_stream("x", ["cat"], stdin=True)
    assert_type(session, AsyncSession)
    async with session:
        await session.write(b"data")
        await session.close_stdin()
        async for out in session:
            assert_type(out, Any)
        assert_type(await session.wait(), int | None)

    assert_type(await client.pull("busybox"), list[ProgressMessage])
    progress = await client.pull_stream("busybox")
    assert_type(progress, AsyncProgressStream)
    async with progress:
        async for message in progress:
            assert_type(message, ProgressMessage)
    assert_type(await (await client.build_stream(".")).run(print), ProgressMessage | None)
    assert_type(await client.call("containers.list", all=True), Any)
