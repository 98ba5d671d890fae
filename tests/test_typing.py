"""Typed results: mypy --strict on code that uses the client sees the typed
views (tests/typing/*.py, checked with assert_type), and EndpointName lists
exactly the table's endpoints."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import typing

import pytest

from protocol import EndpointName, endpoint_names

HERE = pathlib.Path(__file__).resolve().parent / "typing"


def test_endpoint_name_literal_is_the_table():
    assert list(typing.get_args(EndpointName)) == list(endpoint_names())


def mypy(*files):
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11",
         "--show-error-codes", "--no-error-summary", *map(str, files)],
        capture_output=True, text=True, timeout=600, cwd=HERE,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_user_code_sees_the_typed_views():
    # Runs against the installed package (its py.typed), as a user's code would.
    rc, out = mypy(HERE / "check_client.py")
    assert rc == 0, out


def test_async_user_code_sees_the_same_typed_views():
    rc, out = mypy(HERE / "check_async_client.py")
    assert rc == 0, out


def test_misspelt_endpoint_names_are_type_errors():
    path = HERE / "check_call_names.py"
    expected = {(i, m.group(1)) for i, line in enumerate(path.read_text().splitlines(), 1)
                if (m := re.search(r"# E: ([\w-]+)", line))}
    assert expected  # the file marks at least one error
    rc, out = mypy(path)
    found = {(int(m.group(1)), m.group(2)) for m in re.finditer(r":(\d+): error: .*\[([\w-]+)\]", out)}
    assert rc == 1 and found == expected, out
