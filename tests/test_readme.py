"""The README's sans-I/O example runs and prints what the README says."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).parent.parent / "README.md"


def test_sansio_example_output_matches_readme():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    example = next(b for b in blocks if "Connection()" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    printed = out.getvalue().splitlines()
    # The README shows the expected output as "# ..." comments after the loop,
    # plus the state in a trailing comment.
    expected = [line[2:] for line in example.splitlines() if line.startswith("# ")]
    assert printed[: len(expected)] == expected
    assert printed[-1] == "ConnectionState.IDLE"


def inline_expectations(block):
    """(code, expected lines) for a block whose print() lines end in '# output'."""
    expected = []
    for line in block.splitlines():
        code, sep, comment = line.partition("  # ")
        if sep and code.strip().startswith("print("):
            expected.append(comment.strip())
    return expected


def run_block(block):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    return out.getvalue().splitlines()


def matches(printed, expected):
    alternatives = [expected]
    if " (or " in expected:
        first, _, rest = expected.partition(" (or ")
        alternatives = [first, rest.rstrip(")")]
    return printed in alternatives


def block_with(text):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if text in b)


def test_streams_example():
    block = block_with("MultiplexedStreamDecoder(chunked=True)")
    printed, expected = run_block(block), inline_expectations(block)
    assert len(printed) == len(expected) == 5
    assert all(matches(p, e) for p, e in zip(printed, expected)), (printed, expected)


import pytest  # noqa: E402


@pytest.mark.podman
@pytest.mark.integration
def test_sessions_example(docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    block = block_with("exec_run")
    printed, expected = run_block(block), inline_expectations(block)
    assert len(printed) == len(expected) == 4
    assert all(matches(p, e) for p, e in zip(printed, expected)), (printed, expected)


@pytest.mark.podman
@pytest.mark.integration
def test_client_example(docker_host, engine, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    printed = run_block(block_with("client.logs(cid)"))
    assert printed[:3] == [engine.api_version, "OK", "0"]
    assert sorted(printed[3:]) == ["STDERR b'err\\n'", "STDOUT b'out\\n'"]


@pytest.mark.integration
def test_progress_example(docker_host, registry, test_image, tmp_path, monkeypatch):
    import base64
    import json
    import uuid

    from protocol import Client

    # The example pulls from a registry with the docker CLI's credentials:
    # here the test registry, and a config.json that has its password.
    config = {"auths": {registry.host: {"auth": base64.b64encode(
        f"{registry.username}:{registry.password}".encode()).decode()}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    from _fresh_image import push_fresh_image

    with Client(docker_host) as client:
        ref = push_fresh_image(client, registry)
        try:
            printed = run_block(block_with("pull_stream(").replace("127.0.0.1:5000/me/busybox:1", ref))
        finally:
            client.call("images.remove", name=ref, force=True)
    repo, tag = ref.rsplit(":", 1)
    # Not a terminal: plain lines, no bar redraws.
    assert printed[0] == f"{tag}: Pulling from protocol/fresh"
    assert any(line.endswith(": Pull complete") for line in printed), printed
    assert printed[-1] == f"Status: Downloaded newer image for {repo}:{tag}"
    assert not [line for line in printed if "\x1b" in line or "Downloading" in line]


def test_endpoint_table_is_generated():
    from protocol._core._endpoints import endpoint_table_markdown

    text = README.read_text()
    start = text.index("<!-- endpoints:start -->\n") + len("<!-- endpoints:start -->\n")
    end = text.index("<!-- endpoints:end -->")
    assert text[start:end] == endpoint_table_markdown()


@pytest.mark.integration
def test_custom_transport_example(docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    block = block_with("class CountingTransport")
    printed, expected = run_block(block), inline_expectations(block)
    assert printed == expected == ["OK", "True", "1 True"]


@pytest.mark.integration
def test_own_driver_example(docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    block = block_with("class TinyDriver")
    printed, expected = run_block(block), inline_expectations(block)
    assert printed == expected == ["OK", "SystemInfo", "True", "404"]


@pytest.mark.podman
@pytest.mark.integration
def test_async_client_example(docker_host, engine, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    printed = run_block(block_with("protocol.AsyncClient()"))
    assert printed[:3] == [engine.api_version, "OK", "0"]
    assert sorted(printed[3:]) == ["STDERR b'err\\n'", "STDOUT b'out\\n'"]
