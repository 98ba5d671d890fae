"""The sans-I/O core must not do I/O: no socket, ssl, select, asyncio or threading."""

import ast
import pathlib

import protocol

PKG = pathlib.Path(protocol.__file__).parent
# The folders are the layers: _core is the sans-I/O protocol (the engine
# included); _sync and _async are the drivers, _backends the transports,
# _cli the command line.  Only the core is held to "no I/O".
# _build_context reads the files it tars and _auth runs credential helpers:
# both stay free of sockets and threads, so they are checked too.
CORE = PKG / "_core"
FORBIDDEN = {"socket", "ssl", "select", "selectors", "asyncio", "threading"}
LAYERS = ("_core", "_sync", "_async", "_backends", "_cli")


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def package_imports(path):
    """The layers a module imports from (relative imports only)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            yield node.module.split(".")[0]


def test_core_modules_import_no_io():
    core = list(CORE.glob("*.py"))
    assert len(core) >= 15, core
    offenders = {
        p.name: sorted(set(imported_modules(p)) & FORBIDDEN) for p in core
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_package_is_only_layers():
    loose = sorted(p.name for p in PKG.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "_about.py"]
    assert sorted(p.name for p in PKG.iterdir() if p.is_dir() and not p.name.startswith("__")) == sorted(LAYERS)


def test_layers_import_downwards_only():
    # The core knows no driver or transport; the backends know the core
    # only; the drivers know the core and the backends, never each other.
    allowed = {
        "_core": set(),
        "_backends": {"_core"},
        "_sync": {"_core", "_backends"},
        "_async": {"_core", "_backends"},
        "_cli": {"_core", "_backends", "_sync"},
    }
    wrong = {}
    for layer, ok in allowed.items():
        for path in (PKG / layer).glob("*.py"):
            bad = sorted(set(package_imports(path)) - ok - {"_about"})
            if bad:
                wrong[f"{layer}/{path.name}"] = bad
    assert wrong == {}


def test_compiled_twin_imports_no_io():
    pyx = pathlib.Path(__file__).parent.parent / "src" / "_speedups" / "_speedups.pyx"
    if not pyx.exists():  # running against an installed wheel without sources
        return
    text = pyx.read_text()
    for name in FORBIDDEN:
        assert f"import {name}" not in text
        assert f"from {name} " not in text
