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
