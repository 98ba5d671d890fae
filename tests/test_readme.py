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


@pytest.mark.integration
def test_sessions_example(docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    block = block_with("exec_run")
    printed, expected = run_block(block), inline_expectations(block)
    assert len(printed) == len(expected) == 4
    assert all(matches(p, e) for p, e in zip(printed, expected)), (printed, expected)


@pytest.mark.integration
def test_client_example(docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    printed = run_block(block_with("client.logs(c[\"Id\"])"))
    assert printed[:2] == ["1.41", "OK"]
    assert sorted(printed[2:]) == ["STDERR b'err\\n'", "STDOUT b'out\\n'"]


def test_endpoint_table_is_generated():
    from protocol._endpoints import endpoint_table_markdown

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
