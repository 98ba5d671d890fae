"""The sync driver's method surface is generated from the async one
(``python .ci/generate_sync.py``): the checked-in file must be current."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent


def test_sync_api_is_generated_from_the_async_one():
    script = ROOT / ".ci" / "generate_sync.py"
    if not script.exists():  # an installed sdist without the tooling
        return
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_both_clients_have_the_same_methods():
    import inspect

    import protocol

    def public(cls):
        return {n: inspect.signature(f) for n, f in vars(cls).items() if callable(f) and not n.startswith("_")}

    sync_api = public(protocol.Client.__mro__[1])
    async_api = public(protocol.AsyncClient.__mro__[1])
    assert sync_api.keys() == async_api.keys() and len(sync_api) >= 35
    for name, sig in sync_api.items():
        assert list(sig.parameters) == list(async_api[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(protocol.AsyncClient, name)), name
        assert not inspect.iscoroutinefunction(getattr(protocol.Client, name)), name
