"""Build contexts: .dockerignore semantics (moby/patternmatcher) and the
streamed tar, parsed back with tarfile."""

import io
import os
import tarfile
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol._core._build_context import (
    CHUNK_SIZE,
    BuildContextError,
    DockerIgnore,
    IgnorePattern,
    InvalidIgnorePattern,
    parse_dockerignore,
    tar_context,
    tar_from_fileobj,
)


# ------------------------------------------------------------ the file


def test_parse_comments_blank_lines_and_trimming():
    text = "# comment\n\n  foo  \n\t\n  # not a comment\n!  bar \r\nbaz\r\n"
    assert parse_dockerignore(text) == ["foo", "# not a comment", "!bar", "baz"]


def test_parse_strips_bom_and_takes_bytes():
    assert parse_dockerignore(b"\xef\xbb\xbf*.pyc\n") == ["*.pyc"]
    assert parse_dockerignore("\ufeff*.pyc") == ["*.pyc"]


@pytest.mark.parametrize("line, pattern", [
    ("./a//b/../c", "a/c"),
    ("/foo", "foo"),
    ("/foo/", "foo"),
    ("foo/", "foo"),
    ("!/foo/./bar/", "!foo/bar"),
    ("!foo/../bar", "!bar"),
    ("a/../..", ".."),
    ("/../x", "x"),  # a rooted ".." stays at the root
    ("../x", "../x"),
    ("/", "/"),
    (".", "."),
    ("**/", "**"),
])
def test_parse_cleans_like_go(line, pattern):
    assert parse_dockerignore(line) == [pattern]


@pytest.mark.parametrize("pattern", ["[", "a[", "[]", "[^]", "a\\", "[a-]", "[-a]", "[a", "!", "x[\\"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(InvalidIgnorePattern) as info:
        DockerIgnore([pattern])
    assert isinstance(info.value, ValueError)


# -------------------------------------------------------- matching table

# (pattern, path, excluded).  Paths are relative and '/'-separated, as the
# walker tests them; parent-directory matching applies.
SINGLE = [
    ("*", "file", True),
    ("*", "dir/file", True),  # "*" matches the parent "dir"
    ("*.go", "main.go", True),
    ("*.go", "pkg/main.go", False),
    ("**/*.go", "main.go", True),
    ("**/*.go", "a/b/c/main.go", True),
    ("**", "anything/at/all", True),
    ("dir/**", "dir", False),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/a/b", True),
    ("**/dir", "dir/file", True),
    ("**/dir", "x/y/dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**file", "dir/myfile", True),  # suffix test, as in patternmatcher
    ("abc**", "abcdef/x", True),  # prefix test
    ("a**b", "a/x/b", True),
    ("a**b", "axb", False),  # mid-pattern ** is (.*/)?
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("*/temp*", "somedir/temporary.txt", True),
    ("*/temp*", "somedir/temp", True),
    ("*/temp*", "temp", False),
    ("*/temp*", "a/b/temp", False),
    ("*/temp*", "somedir/temp/inside", True),  # via the parent
    ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("*/*/temp*", "somedir/temporary.txt", False),
    ("temp?", "tempa", True),
    ("temp?", "tempb", True),
    ("temp?", "temp", False),
    ("temp?", "temp12", False),
    ("temp?", "x/tempa", False),
    ("a?b", "a/b", False),  # ? does not cross "/"
    ("a*b", "a/b", False),  # nor does *
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    ("a[^b-d]e", "ace", False),
    ("a[\\]]b", "a]b", True),
    ("a[z-a]b", "azb", False),  # an inverted range is valid and empty
    ("[!a]", "!", True),  # Go classes negate with ^ only
    (".*", ".git", True),
    (".*", "git", False),
    ("abc.def", "abcZdef", False),  # '.' is literal
    ("a(b)c/def", "a(b)c/def", True),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("a^b", "a^b", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("/leading", "leading", True),
    ("./dot/../clean", "clean", True),
    ("docs/", "docs/README.md", True),
    ("docs", "docsx", False),
    ("..", "x", False),
]


@pytest.mark.parametrize("pattern, path, excluded", SINGLE)
def test_single_pattern(pattern, path, excluded):
    assert DockerIgnore([pattern]).matches(path) is excluded


MULTI = [
    # the last matching pattern wins
    (["*.go", "!main.go"], "main.go", False),
    (["!main.go", "*.go"], "main.go", True),
    # exceptions re-include files below an excluded directory
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs", "!docs/README.md"], "docs/other.md", True),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    (["**", "!keep/**"], "keep/a/b", False),
    (["**", "!keep/**"], "other", True),
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    # the documented README example, in both orders
    (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
    (["*.md", "!README*.md", "README-secret.md"], "README-public.md", False),
    (["*.md", "!README*.md", "README-secret.md"], "notes.md", True),
    (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False),
    # an exception matching a parent re-includes what is below it...
    (["foo/x", "!foo/x"], "foo/x/y", False),
    # ...but results carry down the walk as in the docker CLI and BuildKit:
    # "!foo" was not tried at "foo" (nothing was excluded there), and at
    # "foo/x" only "foo/x" itself is tried against it
    (["foo/x", "!foo"], "foo/x/y", True),
    (["foo/x", "!foo"], "foo/z", False),
    (["node_modules", "!node_modules/pkg", "node_modules/pkg/test"], "node_modules/pkg/index.js", False),
    (["node_modules", "!node_modules/pkg", "node_modules/pkg/test"], "node_modules/pkg/test/t.js", True),
]


@pytest.mark.parametrize("patterns, path, excluded", MULTI)
def test_pattern_sequences(patterns, path, excluded):
    assert DockerIgnore(patterns).matches(path) is excluded


def test_root_is_never_excluded():
    assert DockerIgnore(["**", "."]).matches(".") is False


def test_exception_reach_below_directories():
    ignore = DockerIgnore(["foo", "bar", "!foo/keep", "!foo/*/deep"])
    assert ignore.may_reinclude_below("foo")
    assert ignore.may_reinclude_below("foo/sub")  # via !foo/*/deep
    assert not ignore.may_reinclude_below("bar")
    assert not ignore.may_reinclude_below("foo/sub/deeper")
    assert DockerIgnore(["a", "!**/keep"]).may_reinclude_below("a/b/c")
    assert not DockerIgnore(["a"]).may_reinclude_below("a")
    # a class holding "/" cannot be judged per component: assume it may
    assert DockerIgnore(["a", "!x[/]y"]).may_reinclude_below("a")
    # nor can a negated class, which may match "/" ("a[^x]b" matches "a/b")
    assert DockerIgnore(["a", "!a[^x]b"]).matches("a/b") is False
    assert DockerIgnore(["a", "!a[^x]b"]).may_reinclude_below("a")


def test_pattern_objects():
    p = IgnorePattern.parse("  !/a/b/  ")
    assert p == IgnorePattern("a/b", exception=True)
    assert str(p) == "!a/b"
    ignore = DockerIgnore.from_text("a\n!a/b\n")
    assert [str(x) for x in ignore] == ["a", "!a/b"] and len(ignore) == 2
    assert ignore.has_exceptions
    assert "DockerIgnore(['a', '!a/b'])" == repr(ignore)


# ---------------------------------------------------------------- the tar


def read_tar(chunks):
    data = b"".join(chunks)
    return data, tarfile.open(fileobj=io.BytesIO(data), mode="r:")


def names(path, **kw):
    _, tf = read_tar(tar_context(path, **kw))
    return [m.name + ("/" if m.isdir() else "") for m in tf.getmembers()]


def make_tree(root, files, dirs=()):
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)


def test_dockerignore_applied_to_a_tree(tmp_path):
    make_tree(tmp_path, {
        "Dockerfile": b"FROM scratch\n",
        ".dockerignore": b"# build context rules\n*/temp*\ntemp?\n**/*.log\nsecret\n!secret/public.txt\n"
                         b"vendor\n!vendor/*/keep\nDockerfile\n.dockerignore\n/abs\n",
        "app/main.py": b"print()\n",
        "app/temp.txt": b"x",
        "app/sub/temp.txt": b"kept: two levels down",
        "tempa": b"x",
        "temp": b"kept: no fourth char",
        "logs/a.log": b"x",
        "logs/deep/b.log": b"x",
        "logs/readme": b"kept",
        "secret/key.pem": b"x",
        "secret/public.txt": b"re-included",
        "vendor/lib/keep": b"re-included through a wildcard",
        "vendor/lib/drop": b"x",
        "abs": b"x",
    }, dirs=["empty"])
    assert names(tmp_path) == [
        ".dockerignore",  # sent although excluded
        "Dockerfile",  # likewise
        "app/",
        "app/main.py",
        "app/sub/",
        "app/sub/temp.txt",
        "empty/",
        "logs/",
        "logs/deep/",
        "logs/readme",
        # the excluded directory itself is not sent, only what is re-included
        "secret/public.txt",
        "temp",
        "vendor/lib/keep",
    ]


def test_no_dockerignore_and_disabled_dockerignore(tmp_path):
    make_tree(tmp_path, {"a": b"", "b/c": b""})
    assert names(tmp_path) == ["a", "b/", "b/c"]
    (tmp_path / ".dockerignore").write_text("*\n")
    assert names(tmp_path) == [".dockerignore"]
    assert names(tmp_path, dockerignore=False) == [".dockerignore", "a", "b/", "b/c"]
    assert names(tmp_path, dockerignore=["b"]) == [".dockerignore", "a"]
    assert names(tmp_path, dockerignore=DockerIgnore(["a", ".dockerignore"])) == [".dockerignore", "b/", "b/c"]


def test_dockerfile_in_excluded_directory_is_still_sent(tmp_path):
    make_tree(tmp_path, {"build/Dockerfile.dev": b"FROM x\n", "build/other": b"", ".dockerignore": b"build\n"})
    assert names(tmp_path, dockerfile="build/Dockerfile.dev") == [".dockerignore", "build/Dockerfile.dev"]
    assert names(tmp_path, dockerfile=str(tmp_path / "build" / "Dockerfile.dev")) == [
        ".dockerignore", "build/Dockerfile.dev"]
    assert names(tmp_path) == [".dockerignore"]


def test_dockerfile_outside_context_is_refused(tmp_path):
    with pytest.raises(BuildContextError, match="inside the build context"):
        tar_context(tmp_path, dockerfile="../Dockerfile")
    with pytest.raises(BuildContextError, match="inside the build context"):
        tar_context(tmp_path, dockerfile="/elsewhere/Dockerfile")


def test_errors_are_raised_before_streaming(tmp_path):
    with pytest.raises(BuildContextError, match="not a directory"):
        tar_context(tmp_path / "missing")
    (tmp_path / ".dockerignore").write_text("ok\n[broken\n")
    with pytest.raises(InvalidIgnorePattern, match=r"\[broken"):
        tar_context(tmp_path)
    with pytest.raises(ValueError):
        tar_context(tmp_path, dockerignore=False, chunk_size=100)
    with pytest.raises(TypeError):
        tar_context(tmp_path, dockerignore="*.pyc")


def test_entries_round_trip(tmp_path):
    body = os.urandom(70_000)  # spans chunks and needs padding
    make_tree(tmp_path, {"bin/run.sh": b"#!/bin/sh\n", "data.bin": body, "empty.txt": b""})
    os.chmod(tmp_path / "bin" / "run.sh", 0o755)
    os.chmod(tmp_path / "data.bin", 0o640)
    os.chmod(tmp_path / "bin", 0o750)
    os.utime(tmp_path / "data.bin", (1_000_000_000, 1_234_567_890.75))
    os.symlink("../data.bin", tmp_path / "bin" / "link")
    os.symlink("/does/not/exist", tmp_path / "dangling")
    os.symlink("bin", tmp_path / "dirlink")  # not followed: no dirlink/run.sh
    os.link(tmp_path / "data.bin", tmp_path / "hard.bin")
    os.mkfifo(tmp_path / "fifo")

    raw, tf = read_tar(tar_context(tmp_path))
    members = {m.name: m for m in tf.getmembers()}
    assert list(members) == ["bin", "bin/link", "bin/run.sh", "dangling", "data.bin", "dirlink",
                             "empty.txt", "fifo", "hard.bin"]
    for m in members.values():
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", "")
    assert members["bin"].isdir() and members["bin"].mode == 0o750
    assert raw[members["bin"].offset:members["bin"].offset + 5] == b"bin/\0"  # trailing slash on the wire
    assert members["bin/run.sh"].mode == 0o755
    assert tf.extractfile("bin/run.sh").read() == b"#!/bin/sh\n"
    data = members["data.bin"]
    assert data.isreg() and data.mode == 0o640 and data.size == len(body)
    assert data.mtime == 1_234_567_890  # whole seconds
    assert tf.extractfile("data.bin").read() == body
    assert members["bin/link"].issym() and members["bin/link"].linkname == "../data.bin"
    assert members["dangling"].linkname == "/does/not/exist"
    assert members["dirlink"].issym() and members["dirlink"].linkname == "bin"
    assert members["hard.bin"].islnk() and members["hard.bin"].linkname == "data.bin"
    assert members["fifo"].isfifo()
    assert members["empty.txt"].size == 0
    assert int(os.stat(tmp_path / "bin").st_mtime) == members["bin"].mtime


def test_long_and_non_ascii_names(tmp_path):
    long_dir = "d" * 120
    make_tree(tmp_path, {f"{long_dir}/{'f' * 150}.txt": b"long", "café/naïve.txt": b"utf-8"})
    _, tf = read_tar(tar_context(tmp_path))
    assert tf.getnames() == ["café", "café/naïve.txt", long_dir, f"{long_dir}/{'f' * 150}.txt"]
    assert tf.extractfile(f"{long_dir}/{'f' * 150}.txt").read() == b"long"
    assert tf.extractfile("café/naïve.txt").read() == b"utf-8"


def test_stream_shape_and_determinism(tmp_path):
    make_tree(tmp_path, {f"f{i:03d}": os.urandom(i * 997) for i in range(60)})
    first = list(tar_context(tmp_path, chunk_size=8192))
    assert all(len(c) == 8192 for c in first[:-1]) and 0 < len(first[-1]) <= 8192
    data = b"".join(first)
    assert len(data) % 512 == 0 and data.endswith(b"\0" * 1024)
    assert b"".join(tar_context(tmp_path, chunk_size=4096)) == data
    _, tf = read_tar([data])
    assert tf.getnames() == [f"f{i:03d}" for i in range(60)]


def test_default_chunks_are_64k(tmp_path):
    make_tree(tmp_path, {"big": b"x" * (3 * CHUNK_SIZE)})
    chunks = list(tar_context(tmp_path))
    assert CHUNK_SIZE == 65536
    assert [len(c) for c in chunks[:-1]] == [CHUNK_SIZE] * 3


def test_big_sparse_file_streams_in_bounded_memory(tmp_path):
    size = 200 * 1024 * 1024
    with open(tmp_path / "sparse.img", "wb") as f:
        f.truncate(size)
    tracemalloc.start()
    try:
        total = 0
        biggest = 0
        for chunk in tar_context(tmp_path):
            total += len(chunk)
            biggest = max(biggest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 512 + size + 1024
    assert biggest == CHUNK_SIZE
    assert peak < 1024 * 1024, peak


def test_file_that_shrinks_while_read_raises(tmp_path):
    make_tree(tmp_path, {"a": b"a" * 100_000, "z": b"after"})
    stream = tar_context(tmp_path, chunk_size=4096)
    first = next(stream)
    assert first[:2] == b"a\0"
    os.truncate(tmp_path / "a", 10)
    with pytest.raises(BuildContextError, match="a shrank while being sent .* must be discarded"):
        for _ in stream:
            pass


def test_file_that_grows_while_read_raises(tmp_path):
    make_tree(tmp_path, {"a": b"a" * 100_000})
    stream = tar_context(tmp_path, chunk_size=4096)
    sent = [next(stream)]
    with open(tmp_path / "a", "ab") as f:
        f.write(b"more")
    with pytest.raises(BuildContextError, match="a grew while being sent"):
        for chunk in stream:
            sent.append(chunk)
    # Nothing past the announced size was emitted.
    assert sum(len(c) for c in sent) <= 512 + 100_000


def test_file_removed_after_listing_is_skipped(tmp_path):
    make_tree(tmp_path, {"a": b"1", "b": b"2", "c": b"3"})
    stream = tar_context(tmp_path, chunk_size=512)
    head = next(stream)  # the header of "a": the directory is listed, "b" not looked at yet
    assert head[:2] == b"a\0"
    os.unlink(tmp_path / "b")
    _, tf = read_tar([head, *stream])
    assert tf.getnames() == ["a", "c"]


def test_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    make_tree(tmp_path, {"locked": b"x"})
    # Root reads any file whatever its mode, so the refusal is simulated at
    # the open call the tar stream makes.
    import protocol._core._build_context as bc

    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(bc.os, "open", refuse)
    with pytest.raises(BuildContextError, match="cannot open locked"):
        list(tar_context(tmp_path))


def test_closing_the_stream_closes_the_file(tmp_path):
    make_tree(tmp_path, {"a": b"a" * 100_000})
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    stream = tar_context(tmp_path, chunk_size=4096)
    next(stream)
    stream.close()
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before


def test_tar_from_fileobj_chunks_a_stream():
    source = io.BytesIO(bytes(range(256)) * 1000)
    chunks = list(tar_from_fileobj(source, chunk_size=10_000))
    assert [len(c) for c in chunks] == [10_000] * 25 + [6_000]
    assert b"".join(chunks) == bytes(range(256)) * 1000
    assert list(tar_from_fileobj(io.BytesIO(b""))) == []
    with pytest.raises(ValueError):
        tar_from_fileobj(io.BytesIO(b""), chunk_size=0)


def test_walk_speed_is_reasonable(tmp_path):
    for i in range(30):
        make_tree(tmp_path, {f"d{i}/f{j}": b"x" for j in range(30)})
    (tmp_path / ".dockerignore").write_text("**/f1*\n!d1*/f15\nd2*\n!d2/f2\n")
    start = time.perf_counter()
    members = names(tmp_path)
    assert time.perf_counter() - start < 5
    assert "d1/f15" in members and "d10/f15" in members and "d1/f16" not in members
    assert "d2/f2" in members and "d2/" not in members and "d20/f3" not in members


# ------------------------------------------------ walker agrees with matcher

NAME = st.sampled_from(["a", "b", "ab", "a.b", "tmp", "x.log"])
PATTERN_PART = st.sampled_from(["a", "b", "ab", "a.b", "tmp", "x.log", "*", "**", "a*", "?", "*.log", "[ab]", "[^a]"])


@st.composite
def ignore_files(draw):
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        parts = draw(st.lists(PATTERN_PART, min_size=1, max_size=3))
        lines.append(("!" if draw(st.booleans()) else "") + "/".join(parts))
    return lines


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=st.lists(st.lists(NAME, min_size=1, max_size=4), min_size=1, max_size=10),
       lines=ignore_files())
def test_tar_holds_exactly_what_the_matcher_keeps(tmp_path_factory, paths, lines):
    root = tmp_path_factory.mktemp("ctx")
    for parts in paths:
        target = root.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(b"x")
        except (NotADirectoryError, FileExistsError):
            pass  # a file already sits where a directory is wanted
    ignore = DockerIgnore(lines)
    expected = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if not ignore.matches(rel):
                expected.append(rel + ("/" if name in dirnames else ""))
    got = names(root, dockerignore=ignore, dockerfile=None)
    assert got == sorted(expected, key=lambda n: n.rstrip("/").split("/"))
