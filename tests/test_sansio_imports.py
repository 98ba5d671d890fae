"""The sans-I/O core must not do I/O: no socket, ssl, select, asyncio or threading."""

import ast
import pathlib

import protocol

PKG = pathlib.Path(protocol.__file__).parent
# Network glue is allowed to do I/O; everything else is the core.
# _build_context reads the files it tars and _auth runs credential helpers:
# both stay free of sockets and threads, so they are checked too.
IO_MODULES = {"_transport.py", "_client.py", "_session.py", "__main__.py", "_cli.py",
              "_ssh.py", "_memory.py",  # transports: a process, in-memory pipes with locks
              # their asyncio twins (_async_interface.py is core: it only names shapes)
              "_async_transport.py", "_async_ssh.py", "_async_memory.py"}
FORBIDDEN = {"socket", "ssl", "select", "selectors", "asyncio", "threading"}


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_core_modules_import_no_io():
    core = [p for p in PKG.glob("*.py") if p.name not in IO_MODULES and p.name != "__init__.py"]
    assert len(core) >= 8, core
    offenders = {
        p.name: sorted(set(imported_modules(p)) & FORBIDDEN) for p in core
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_compiled_twin_imports_no_io():
    pyx = pathlib.Path(__file__).parent.parent / "src" / "_speedups" / "_speedups.pyx"
    if not pyx.exists():  # running against an installed wheel without sources
        return
    text = pyx.read_text()
    for name in FORBIDDEN:
        assert f"import {name}" not in text
        assert f"from {name} " not in text
