"""Build contexts: ``.dockerignore`` matching and a streamed tar of a directory.

Theory of operation
-------------------
``POST /build`` takes the context as a tar in the request body.  The docker
CLI (classic builder) makes that tar itself: it reads ``.dockerignore``, walks
the directory in lexical order and writes every entry the patterns leave in,
with uid/gid 0.  This module does the same, as a generator of bounded chunks,
so a context of any size is sent without a temporary file and without holding
any file in memory.

Pattern semantics are those of moby/patternmatcher (used by the docker CLI,
the classic builder and BuildKit alike):

* Lines starting with ``#`` are comments; blank lines are skipped; patterns
  are trimmed, cleaned like Go's ``filepath.Clean`` (``./a//b/../c`` is
  ``a/c``) and a leading ``/`` is dropped: patterns are relative to the
  context root.
* ``*`` is any run of characters but ``/``, ``?`` one character but ``/``,
  ``[...]`` a character class as in Go's ``filepath.Match`` (``[^...]``
  negates, ``\\`` escapes), ``**`` any number of directories (even none).
* A pattern that matches a directory excludes everything below it: a path
  is tested itself and through each of its parent directories.
* ``!pattern`` is an exception that re-includes; patterns are read in order
  and the last one that matches decides (with the walkers' carrying of
  results from a directory to its entries, see :meth:`DockerIgnore.matches`).
* An excluded directory is still walked when an exception could re-include
  something below it (``dir`` then ``!dir/keep``); the directory's own entry
  stays out of the tar, as with the docker CLI, and the daemon creates it.
  The CLI only walks it when an exception starts with the directory's path
  literally; like BuildKit we also see through wildcards (``vendor`` then
  ``!vendor/*/keep`` sends ``vendor/lib/keep``, which the CLI drops).
* The Dockerfile and ``.dockerignore`` are always sent, even when a pattern
  excludes them: the daemon reads both and removes them itself afterwards.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, Union

__all__ = [
    "CHUNK_SIZE",
    "BuildContextError",
    "DockerIgnore",
    "IgnorePattern",
    "InvalidIgnorePattern",
    "parse_dockerignore",
    "tar_context",
    "tar_from_fileobj",
]

#: Size of the chunks the tar generators yield (the last one may be shorter).
CHUNK_SIZE = 64 * 1024

_BLOCK = tarfile.BLOCKSIZE  # 512
# Go's tar.Writer.Close writes two zero blocks and no record padding; so do we.
_END_OF_ARCHIVE = b"\0" * (2 * _BLOCK)
_BOM = "\ufeff"


class BuildContextError(Exception):
    """The build context cannot be produced: a file could not be read, or
    changed size while it was being sent.  When raised by a tar generator the
    stream is incomplete and must be discarded (abort the request)."""


class InvalidIgnorePattern(BuildContextError, ValueError):
    """A ``.dockerignore`` pattern is malformed (unclosed ``[``, a lone ``!``,
    a trailing ``\\``...).  ``pattern`` is the offending pattern."""

    def __init__(self, message: str, pattern: str) -> None:
        super().__init__(message)
        self.pattern = pattern


# ---------------------------------------------------------------- patterns


def _go_clean(path: str) -> str:
    """Go's ``path.Clean``: one slash between elements, no ``.``, ``..``
    folded into its parent (and dropped at a rooted start), no trailing slash,
    ``.`` for an empty result.  (``posixpath.normpath`` keeps a leading ``//``
    and so differs.)"""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _normalize_line(pattern: str) -> str | None:
    """One ``.dockerignore`` entry as the docker CLI's reader leaves it:
    trimmed, ``!`` kept in front, the rest cleaned and made relative."""
    pattern = pattern.strip()
    if not pattern:
        return None
    exception = pattern.startswith("!")
    if exception:
        pattern = pattern[1:].strip()
    if pattern:
        pattern = _go_clean(pattern)
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
    return "!" + pattern if exception else pattern


def parse_dockerignore(text: str | bytes) -> list[str]:
    """The patterns of a ``.dockerignore`` file, in order.

    Exceptions keep their leading ``!``.  A UTF-8 byte order mark is
    skipped; a line is a comment only when ``#`` is its very first character
    (as in the docker CLI, ``  # x`` is a pattern).  Lines end at ``\\n``,
    with one trailing ``\\r`` dropped.
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    if text.startswith(_BOM):
        text = text[1:]
    patterns: list[str] = []
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if line.startswith("#"):
            continue
        normalized = _normalize_line(line)
        if normalized is not None:
            patterns.append(normalized)
    return patterns


def _class_to_regex(pattern: str, start: int) -> tuple[str, int]:
    """Translate the character class opening at ``pattern[start] == "["``
    with Go ``filepath.Match`` syntax; return the regex and the index after
    the closing ``]``.  Raise ValueError on the cases Go calls ErrBadPattern."""
    i = start + 1
    n = len(pattern)
    negated = i < n and pattern[i] == "^"
    if negated:
        i += 1

    def char(at: int) -> tuple[str, int]:
        # Go's getEsc: '-' and ']' may not start a range item; '\' escapes.
        if at >= n or pattern[at] in "-]":
            raise ValueError("bad character class")
        if pattern[at] == "\\":
            at += 1
            if at >= n:
                raise ValueError("trailing backslash in character class")
        if at + 1 >= n:
            raise ValueError("unclosed character class")
        return pattern[at], at + 1

    ranges: list[str] = []
    count = 0
    while True:
        if i < n and pattern[i] == "]" and count > 0:
            i += 1
            break
        lo, i = char(i)
        hi = lo
        if pattern[i] == "-":
            hi, i = char(i + 1)
        count += 1
        if lo <= hi:  # Go accepts an inverted range; it just never matches
            ranges.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
    body = "".join(ranges)
    if negated:
        # Like Go's filepath.Match (and patternmatcher), a negated class may
        # match "/".
        return (f"[^{body}]" if body else "(?s:.)"), i
    return (f"[{body}]" if body else "(?!)"), i


_EXACT, _PREFIX, _SUFFIX, _REGEX = "exact", "prefix", "suffix", "regex"


def _compile(pattern: str) -> tuple[str, re.Pattern[str] | None]:
    """Classify and compile a cleaned pattern the way patternmatcher does.

    The match kinds matter, not only as a speed-up: a pattern that starts
    with ``**`` and is literal after it is a plain suffix test (``**file``
    matches ``dir/myfile``), and one that is literal up to a final ``**`` a
    plain prefix test (``abc**`` matches ``abcdef/x``)."""
    kind = _EXACT
    parts: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        first = i == 0
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":  # "**/" is "**"
                    i += 1
                if i >= n:
                    if kind == _EXACT:
                        kind = _PREFIX
                    else:
                        parts.append(".*")
                        kind = _REGEX
                else:
                    parts.append("(?:.*/)?")
                    kind = _REGEX
                if first:
                    kind = _SUFFIX
            else:
                parts.append("[^/]*")
                kind = _REGEX
        elif ch == "?":
            parts.append("[^/]")
            kind = _REGEX
        elif ch == "\\":
            if i >= n:
                raise ValueError("trailing backslash")
            parts.append(re.escape(pattern[i]))
            i += 1
            kind = _REGEX
        elif ch == "[":
            regex, i = _class_to_regex(pattern, i - 1)
            parts.append(regex)
            kind = _REGEX
        else:
            parts.append(re.escape(ch))
    if kind == _REGEX:
        return kind, re.compile("".join(parts))
    return kind, None


@dataclass(frozen=True, slots=True)
class IgnorePattern:
    """One compiled ``.dockerignore`` pattern.

    ``pattern`` is the cleaned pattern without its ``!``; ``exception`` is
    True for ``!`` lines, which re-include what earlier lines excluded.
    """

    pattern: str
    exception: bool = False
    _kind: str = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _components: tuple[IgnorePattern, ...] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        try:
            kind, regex = _compile(self.pattern)
        except ValueError as exc:
            shown = ("!" if self.exception else "") + self.pattern
            raise InvalidIgnorePattern(
                f"invalid .dockerignore pattern {shown!r}: {exc}", shown
            ) from None
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_components", None)

    @classmethod
    def parse(cls, line: str) -> IgnorePattern | None:
        """Parse one entry (``!`` allowed); None for a blank one."""
        normalized = _normalize_line(line)
        if normalized is None:
            return None
        if normalized.startswith("!"):
            if normalized == "!":
                raise InvalidIgnorePattern('illegal exception pattern: "!"', "!")
            return cls(normalized[1:], exception=True)
        return cls(normalized)

    def match(self, path: str) -> bool:
        """Whether this pattern matches ``path`` itself (parents not tried)."""
        p = self.pattern
        if self._kind == _EXACT:
            return path == p
        if self._kind == _PREFIX:
            return path.startswith(p[:-2])
        if self._kind == _SUFFIX:
            suffix = p[2:]
            # "**/foo" also matches "foo" at the top.
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self._regex is not None
        return self._regex.fullmatch(path) is not None

    def could_match_below(self, directory: str) -> bool:
        """Whether this pattern might match something strictly inside
        ``directory``, judged component by component.  Errs on the side of
        True: for any ``**``, a negated class (which, as in Go, may match
        "/"), or a component that is not a pattern on its own."""
        if "**" in self.pattern or "[^" in self.pattern:
            return True
        components = self._components
        if components is None:
            try:
                components = tuple(IgnorePattern(c) for c in self.pattern.split("/"))
            except InvalidIgnorePattern:  # e.g. a "/" inside "[...]"
                return True
            object.__setattr__(self, "_components", components)
        dir_parts = directory.split("/")
        if len(components) < len(dir_parts):
            return False
        return all(c.match(d) for c, d in zip(components, dir_parts))

    def __str__(self) -> str:
        return ("!" if self.exception else "") + self.pattern


class DockerIgnore:
    """An ordered list of ``.dockerignore`` patterns and the matcher for it.

    >>> ignore = DockerIgnore(["docs", "!docs/README.md", "*.tmp"])
    >>> ignore.matches("docs/guide.md"), ignore.matches("docs/README.md")
    (True, False)
    """

    __slots__ = ("_patterns", "_exceptions")

    def __init__(self, patterns: Iterable[str | IgnorePattern] = ()) -> None:
        compiled: list[IgnorePattern] = []
        for item in patterns:
            pattern = item if isinstance(item, IgnorePattern) else IgnorePattern.parse(item)
            if pattern is not None:
                compiled.append(pattern)
        self._patterns = tuple(compiled)
        self._exceptions = tuple(p for p in compiled if p.exception)

    @classmethod
    def from_text(cls, text: str | bytes) -> DockerIgnore:
        """Parse the contents of a ``.dockerignore`` file."""
        return cls(parse_dockerignore(text))

    @classmethod
    def load(cls, context: str | os.PathLike[str]) -> DockerIgnore:
        """Read ``<context>/.dockerignore``; no patterns when it is absent."""
        path = os.path.join(os.fspath(context), ".dockerignore")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise BuildContextError(f"cannot read {path}: {exc.strerror or exc}") from None
        return cls.from_text(data)

    @property
    def patterns(self) -> tuple[IgnorePattern, ...]:
        return self._patterns

    @property
    def has_exceptions(self) -> bool:
        return bool(self._exceptions)

    def matches(self, path: str) -> bool:
        """True when ``path`` (relative to the context, ``/``-separated) is
        excluded.  The context root is never excluded.

        Each pattern is tried on the path and on its parent directories;
        the last pattern that matches decides.  Like the docker CLI's walker
        (and BuildKit's), a pattern's result for a directory is carried to
        what is below it, and patterns that cannot change the outcome at
        their turn (an exception while nothing is excluded, an exclusion
        once excluded) are not tried and carry nothing.  So ``foo/x`` then
        ``!foo`` still excludes ``foo/x/y``: ``!foo`` was skipped at
        ``foo``, and at ``foo/x``, where it is tried, only ``foo/x`` itself
        is tested against it.
        """
        path = _go_clean(path)
        if path == ".":
            return False
        parts = path.split("/")
        info: tuple[bool, ...] | None = None
        for i in range(1, len(parts)):
            _, info = self.match_with_parents("/".join(parts[:i]), info)
        return self.match_with_parents(path, info)[0]

    def match_with_parents(
        self, path: str, parent: tuple[bool, ...] | None
    ) -> tuple[bool, tuple[bool, ...]]:
        """One step of a walk: whether ``path`` is excluded, given what each
        pattern did for its parent directory (``parent``, from this method's
        second result for that directory; None at the top, in which case the
        parent directories are tested here).  Returns the result and what
        to pass on to entries below ``path``."""
        matched = False
        hits: list[bool] = []
        ancestors: list[str] | None = None
        for i, pattern in enumerate(self._patterns):
            hit = parent[i] if parent else False
            if not hit:
                # An inclusion cannot change an excluded path, nor an
                # exception an included one: such patterns are not tried.
                if pattern.exception != matched:
                    hits.append(False)
                    continue
                hit = pattern.match(path)
                if not hit and not parent:
                    if ancestors is None:
                        dirs = posixpath.dirname(path).split("/") if "/" in path else []
                        ancestors = ["/".join(dirs[: j + 1]) for j in range(len(dirs))]
                    hit = any(pattern.match(a) for a in ancestors)
            hits.append(hit)
            if hit:
                matched = not pattern.exception
        return matched, tuple(hits)

    def may_reinclude_below(self, directory: str) -> bool:
        """Whether an exception could re-include something inside the
        (excluded) ``directory``, so that it must still be walked.

        The docker CLI only checks whether an exception starts with the
        directory's path literally, so it misses ``dir`` + ``!dir/*/keep``;
        this check also sees through wildcards, and may say True needlessly
        (costing a walk of the directory) but never False wrongly."""
        directory = _go_clean(directory)
        return any(p.could_match_below(directory) for p in self._exceptions)

    def __len__(self) -> int:
        return len(self._patterns)

    def __iter__(self) -> Iterator[IgnorePattern]:
        return iter(self._patterns)

    def __repr__(self) -> str:
        return f"DockerIgnore({[str(p) for p in self._patterns]!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DockerIgnore):
            return NotImplemented
        return self._patterns == other._patterns

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------- tar


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _check_chunk_size(chunk_size: int) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < _BLOCK:
        raise ValueError(f"chunk_size must be an int >= {_BLOCK}, not {chunk_size!r}")


def tar_from_fileobj(fileobj: _Readable, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield a caller-given tar stream in chunks of at most ``chunk_size``.

    The file object is read as it is consumed and is neither checked nor
    closed: it is the caller's.
    """
    _check_chunk_size(chunk_size)
    return _read_chunks(fileobj, chunk_size)


def _read_chunks(fileobj: _Readable, chunk_size: int) -> Iterator[bytes]:
    while True:
        data = fileobj.read(chunk_size)
        if not data:
            return
        yield data if type(data) is bytes else bytes(data)


@dataclass(frozen=True, slots=True)
class _Entry:
    rel: str  # relative, "/"-separated
    path: str  # on disk
    st: os.stat_result


def _sort_key(name: str) -> bytes:
    # Go's filepath.Walk sorts names as byte strings.
    return os.fsencode(name)


def _walk(
    root: str,
    ignore: DockerIgnore | None,
    keep_files: frozenset[str],
    keep_dirs: frozenset[str],
) -> Iterator[_Entry]:
    """Pre-order, lexically sorted walk of ``root`` yielding what is sent.

    Only one directory listing per level of the current path is held."""
    # (relative dir, its path, its remaining names, its match results)
    stack: list[tuple[str, str, Iterator[str], tuple[bool, ...] | None]] = []

    def listing(path: str) -> Iterator[str]:
        try:
            names = os.listdir(path)
        except OSError as exc:
            raise BuildContextError(f"cannot list {path}: {exc.strerror or exc}") from None
        return iter(sorted(names, key=_sort_key))

    stack.append(("", root, listing(root), None))
    while stack:
        rel_dir, dir_path, names, parent_hits = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        rel = f"{rel_dir}/{name}" if rel_dir else name
        path = os.path.join(dir_path, name)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue  # vanished since the listing: not part of the context
        except OSError as exc:
            raise BuildContextError(f"cannot stat {rel}: {exc.strerror or exc}") from None
        is_dir = stat.S_ISDIR(st.st_mode)
        hits: tuple[bool, ...] | None = None
        if ignore is not None:
            excluded, hits = ignore.match_with_parents(rel, parent_hits)
            if excluded and rel not in keep_files:
                if is_dir and (rel in keep_dirs or ignore.may_reinclude_below(rel)):
                    stack.append((rel, path, listing(path), hits))
                continue
        if stat.S_ISSOCK(st.st_mode):
            continue  # sockets cannot be archived (the docker CLI skips them too)
        yield _Entry(rel, path, st)
        if is_dir:
            stack.append((rel, path, listing(path), hits))


def _header(entry: _Entry, hardlinks: dict[tuple[int, int], str]) -> tuple[bytes, int]:
    """The tar header for ``entry`` and the number of content bytes after it."""
    st = entry.st
    info = tarfile.TarInfo(entry.rel)
    info.mode = stat.S_IMODE(st.st_mode)
    # Whole seconds, like the docker CLI (and so no PAX mtime record).
    info.mtime = st.st_mtime_ns // 1_000_000_000
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    size = 0
    mode = st.st_mode
    if stat.S_ISREG(mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in hardlinks:
            info.type = tarfile.LNKTYPE
            info.linkname = hardlinks[key]
        else:
            if st.st_nlink > 1:
                hardlinks[key] = entry.rel
            info.type = tarfile.REGTYPE
            size = st.st_size
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE  # tobuf() appends the "/"
    elif stat.S_ISLNK(mode):
        info.type = tarfile.SYMTYPE
        try:
            info.linkname = os.readlink(entry.path)
        except OSError as exc:
            raise BuildContextError(
                f"cannot read link {entry.rel}: {exc.strerror or exc}"
            ) from None
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor = os.major(st.st_rdev)
        info.devminor = os.minor(st.st_rdev)
    else:
        raise BuildContextError(f"{entry.rel}: unsupported file type {stat.S_IFMT(mode):o}")
    info.size = size
    return _go_device_fields(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")), size


def _go_device_fields(blocks: bytes) -> bytes:
    """Write the device number fields of non-device headers as octal zeros
    (Go's archive/tar does; Python leaves them NUL) so that our headers are
    byte for byte those of the docker CLI.  ``blocks`` is what ``tobuf``
    made: headers, each possibly followed by PAX record blocks."""
    out = bytearray(blocks)
    offset = 0
    while offset < len(out):
        header = out[offset:offset + _BLOCK]
        kind = bytes(header[156:157])
        if kind not in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            header[329:345] = b"0000000\0" * 2
            header[148:156] = b" " * 8
            header[148:156] = b"%06o\0 " % sum(header)
            out[offset:offset + _BLOCK] = header
        offset += _BLOCK
        if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE):
            # PAX records follow (their size is always plain octal).
            size = int(header[124:136].rstrip(b"\0 ") or b"0", 8)
            offset += -(-size // _BLOCK) * _BLOCK
    return bytes(out)


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # never block on something swapped for a FIFO
    | getattr(os, "O_BINARY", 0)
)


def _stream(
    root: str,
    ignore: DockerIgnore | None,
    keep_files: frozenset[str],
    keep_dirs: frozenset[str],
    chunk_size: int,
) -> Iterator[bytes]:
    buf = bytearray()
    hardlinks: dict[tuple[int, int], str] = {}

    def full_chunks() -> Iterator[bytes]:
        while len(buf) >= chunk_size:
            yield bytes(buf[:chunk_size])
            del buf[:chunk_size]

    for entry in _walk(root, ignore, keep_files, keep_dirs):
        fd = -1
        if stat.S_ISREG(entry.st.st_mode):
            try:
                fd = os.open(entry.path, _OPEN_FLAGS)
            except FileNotFoundError:
                continue  # removed since the walk saw it
            except OSError as exc:
                raise BuildContextError(f"cannot open {entry.rel}: {exc.strerror or exc}") from None
        try:
            if fd >= 0:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise BuildContextError(f"{entry.rel}: replaced while the context was being sent")
                entry = _Entry(entry.rel, entry.path, st)
            header, size = _header(entry, hardlinks)
            buf += header
            yield from full_chunks()
            if size:
                yield from _content(fd, entry.rel, size, buf, chunk_size)
                buf += b"\0" * (-size % _BLOCK)
                yield from full_chunks()
        finally:
            if fd >= 0:
                os.close(fd)
    buf += _END_OF_ARCHIVE
    yield from full_chunks()
    if buf:
        yield bytes(buf)


def _content(fd: int, rel: str, size: int, buf: bytearray, chunk_size: int) -> Iterator[bytes]:
    """Copy exactly ``size`` bytes from ``fd`` through ``buf`` (which is kept
    shorter than ``chunk_size``), refusing files that shrink or grow: the
    size is already in the header, so either would corrupt the archive."""
    remaining = size
    while remaining:
        try:
            data = os.read(fd, min(remaining, chunk_size - len(buf)))
        except OSError as exc:
            raise BuildContextError(f"cannot read {rel}: {exc.strerror or exc}") from None
        if not data:
            raise BuildContextError(
                f"{rel} shrank while being sent ({size - remaining} of {size} bytes "
                "read); the tar stream is incomplete and must be discarded"
            )
        remaining -= len(data)
        if not remaining and _read_more(fd, rel):
            raise BuildContextError(
                f"{rel} grew while being sent (more than {size} bytes); "
                "the tar stream is incomplete and must be discarded"
            )
        if not buf and len(data) == chunk_size:
            yield data  # no copy for the common full-sized read
            continue
        buf += data
        if len(buf) >= chunk_size:
            yield bytes(buf)
            buf.clear()


def _read_more(fd: int, rel: str) -> bool:
    try:
        return bool(os.read(fd, 1))
    except OSError as exc:
        raise BuildContextError(f"cannot read {rel}: {exc.strerror or exc}") from None


IgnoreSpec = Union[bool, DockerIgnore, Sequence[str]]


def tar_context(
    path: str | os.PathLike[str],
    *,
    dockerfile: str | None = "Dockerfile",
    dockerignore: IgnoreSpec = True,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[bytes]:
    """Stream the directory ``path`` as an uncompressed tar build context.

    ``dockerignore``: True reads ``<path>/.dockerignore`` (absent means
    nothing is excluded), False sends everything, or give the patterns (a
    :class:`DockerIgnore` or a list of lines).  ``dockerfile`` is the
    Dockerfile's path inside the context (as sent in the ``dockerfile``
    query parameter); it and ``.dockerignore`` are sent even when excluded.

    The tar has relative ``/``-separated names in sorted walk order; regular
    files, directories, symlinks (not followed), hard links, FIFOs and
    devices, with their permission bits and mtimes (whole seconds), uid and
    gid 0 and no user names; long or non-ASCII names use PAX headers.
    Sockets are skipped.

    The context directory is checked and ``.dockerignore`` is parsed now
    (raising :class:`BuildContextError` / :class:`InvalidIgnorePattern`);
    the walk happens as the returned iterator is consumed, yielding chunks
    of ``chunk_size`` bytes (the last one shorter).  A file that cannot be
    read, or changes size while it is read, raises BuildContextError from
    the iterator: the stream so far is then incomplete and must not be
    finished as if it were whole.
    """
    _check_chunk_size(chunk_size)
    root = os.path.realpath(os.fspath(path))  # like the CLI, follow a symlinked root
    if not os.path.isdir(root):
        raise BuildContextError(f"build context {os.fspath(path)!r} is not a directory")

    ignore: DockerIgnore | None
    if dockerignore is True:
        ignore = DockerIgnore.load(root)
    elif dockerignore is False:
        ignore = None
    elif isinstance(dockerignore, DockerIgnore):
        ignore = dockerignore
    elif isinstance(dockerignore, (str, bytes)):
        raise TypeError("dockerignore takes a list of patterns, not a single string")
    else:
        ignore = DockerIgnore(dockerignore)
    if ignore is not None and not len(ignore):
        ignore = None

    keep_files = {".dockerignore"}
    keep_dirs: set[str] = set()
    if dockerfile:
        rel = dockerfile
        if os.path.isabs(rel):
            rel = os.path.relpath(os.path.realpath(rel), root)
        rel = _go_clean(rel.replace(os.sep, "/"))
        if rel == "." or rel == ".." or rel.startswith("../"):
            raise BuildContextError(
                f"the Dockerfile ({dockerfile}) must be inside the build context"
            )
        keep_files.add(rel)
        parts = rel.split("/")[:-1]
        keep_dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))

    return _stream(root, ignore, frozenset(keep_files), frozenset(keep_dirs), chunk_size)
