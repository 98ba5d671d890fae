"""Packaging: the package installs and imports with and without the compiled
stream parser, and says which twin it uses."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def run_python(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, check=True).stdout.strip()


def test_import_forced_pure_python():
    out = run_python("import protocol; print(protocol.IMPLEMENTATION)", PROTOCOL_NO_EXTENSIONS="1")
    assert out == "python"


def fresh_source(tmp):
    """A copy of the sources without build products: pip builds in the tree,
    and a build/ folder left by an earlier build would be reused."""
    src = tmp / "source"
    shutil.copytree(REPO / "src", src / "src", ignore=shutil.ignore_patterns(
        "*.so", "*.c", "__pycache__", "*.egg-info"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    return src


def pip_install(target, **env):
    full = dict(os.environ, **env)
    full.pop("PROTOCOL_REQUIRE_EXTENSIONS", None)
    source = fresh_source(target.parent)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        capture_output=True, text=True, env=full,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def installed_impl(target):
    # h11 comes from the test environment; the package itself from the target.
    code = ("import sys; sys.path.insert(0, %r); import protocol; "
            "assert protocol.__file__.startswith(%r), protocol.__file__; print(protocol.IMPLEMENTATION)"
            % (str(target), str(target)))
    env = dict(os.environ)
    env.pop("PROTOCOL_NO_EXTENSIONS", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.strip()


def compiled_files(target):
    return sorted(p.name for p in (target / "protocol").glob("_speedups*") if p.suffix in (".so", ".pyd"))


@pytest.mark.skipif(not REPO.joinpath("setup.py").exists(), reason="needs the source tree")
def test_install_without_extensions(tmp_path):
    target = tmp_path / "site"
    pip_install(target, PROTOCOL_NO_EXTENSIONS="1")
    assert compiled_files(target) == []
    assert (target / "protocol" / "py.typed").exists()
    assert installed_impl(target) == "python"


@pytest.mark.skipif(not REPO.joinpath("setup.py").exists(), reason="needs the source tree")
def test_install_with_a_broken_compiler_falls_back(tmp_path):
    target = tmp_path / "site"
    pip_install(target, CC="false", PROTOCOL_NO_EXTENSIONS="")
    assert compiled_files(target) == []
    assert installed_impl(target) == "python"


@pytest.mark.skipif(not REPO.joinpath("setup.py").exists(), reason="needs the source tree")
def test_install_with_compiler_builds_the_extension(tmp_path):
    target = tmp_path / "site"
    pip_install(target, PROTOCOL_NO_EXTENSIONS="")
    assert len(compiled_files(target)) == 1
    assert installed_impl(target) == "cython"
