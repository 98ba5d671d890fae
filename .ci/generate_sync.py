"""Generate the sync driver's method surface from the async one.

    python .ci/generate_sync.py            # writes src/protocol/_sync/_api.py
    python .ci/generate_sync.py --check    # exits 1 when the file is not current

The public methods of both clients are written once, as coroutines, in
src/protocol/_async/_api.py; unasync (a test dependency) turns them into
their sync twins.  tests/test_generated.py runs the check.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

import unasync

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "protocol" / "_async" / "_api.py"
TARGET = ROOT / "src" / "protocol" / "_sync" / "_api.py"
HEADER = (
    "# Generated from src/protocol/_async/_api.py by .ci/generate_sync.py: do not edit.\n"
)
REPLACEMENTS = {
    "AsyncAPI": "API",
    "AsyncClient": "Client",
    "AsyncStreamingResponse": "StreamingResponse",
    "AsyncSession": "Session",
    "AsyncProgressStream": "ProgressStream",
}


def generate() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "_async" / "_api.py"
        src.parent.mkdir()
        src.write_text(SOURCE.read_text())
        rule = unasync.Rule(fromdir="/_async/", todir="/_sync/", additional_replacements=REPLACEMENTS)
        unasync.unasync_files([str(src)], rules=[rule])
        return HEADER + (pathlib.Path(tmp) / "_sync" / "_api.py").read_text()


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is not current: run python .ci/generate_sync.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
