"""docker-protocol (or ``python -m protocol``): a command line over the client.

The commands a person reaches for when looking at a daemon: ps, images,
inspect, logs, run, exec, rm, pull, push, build, events, stats, version,
info, ping, and ``call`` for any endpoint of the table.  Container output
keeps stdout and stderr apart.  Errors are one line on stderr and a
non-zero exit code.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import shutil
import signal
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from .._sync._client import Client, StreamingResponse
from .._core._endpoints import endpoint, endpoint_names, endpoint_table_markdown
from .._core._errors import APIError, LocalProtocolError, NotFound, ProtocolError, TransportError, UnsupportedVersion
from .._core._events import Stream, StreamError
from .._core._models import ContainerStats, ContainerSummary, Event, ImageSummary
from ._render import ProgressRenderer, human_size
from .._core._request import Request, ResponseKind
from .._sync._session import Session
from .._core._stream import IMPLEMENTATION, Frame  # the active twin's class: the items are its instances
from .._core._version import MAX_VERSION, MIN_VERSION, APIVersion

DEMO_IMAGE = "docker-protocol/busybox:latest"
PROG = "docker-protocol"


class CLIError(Exception):
    """A failure to report as one line (exit code ``code``)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- output helpers -----------------------------------------------------------


def _print_json(value: Any) -> None:
    json.dump(_plain(value), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _print_json_line(value: Any) -> None:
    sys.stdout.write(json.dumps(_plain(value), sort_keys=True) + "\n")


def _plain(value: Any) -> Any:
    """Typed views back to their JSON documents."""
    raw = getattr(value, "raw", None)
    if isinstance(raw, dict):
        return raw
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns padded like the docker CLI's tabwriter (3 spaces between)."""
    rows = [list(r) for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    for row in [list(headers), *rows]:
        line = "   ".join(c.ljust(w) for c, w in zip(row, widths))
        sys.stdout.write(line.rstrip() + "\n")


def _ago(seconds: float | None) -> str:
    """``3 hours ago``, as the docker CLI's ``units.HumanDuration`` says it."""
    if seconds is None:
        return ""
    return f"{_duration(time.time() - seconds)} ago"


def _duration(d: float) -> str:
    s = int(d)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def _trunc(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _binary_size(size: float) -> str:
    """``12.5MiB``: binary units, as ``docker stats`` shows memory."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    i = 0
    while size >= 1024 and i < len(units) - 1:
        size /= 1024.0
        i += 1
    return f"{size:.4g}{units[i]}"


def _parse_filters(items: Sequence[str] | None) -> dict[str, list[str]] | None:
    if not items:
        return None
    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"bad filter {item!r}: expected key=value (e.g. status=exited)", 2)
        filters.setdefault(key, []).append(value)
    return filters


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def _parse_time(value: str | None) -> int | None:
    """``--since``/``--until``: a Unix time, a duration before now (``10m``,
    ``1h30m``), or an RFC 3339 date, as the docker CLI takes them."""
    if value is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return int(float(value))
    if _DURATION.fullmatch("".join(m.group(0) for m in _DURATION.finditer(value))) and \
            "".join(m.group(0) for m in _DURATION.finditer(value)) == value:
        scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
        seconds = sum(float(n) * scale[u] for n, u in _DURATION.findall(value))
        return int(time.time() - seconds)
    try:
        stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CLIError(f"bad time {value!r}: give a Unix time, a duration (10m, 2h) or an RFC 3339 date", 2) \
            from None
    if stamp.tzinfo is None:
        stamp = stamp.astimezone()
    return int(stamp.timestamp())


def _not_found(what: str, ref: str, exc: APIError) -> CLIError:
    """Name the user's request ("No such container: web"), not whichever
    internal call (an inspect for the TTY setting, say) hit the 404."""
    return CLIError(f"No such {what}: {ref}")


# -- commands -----------------------------------------------------------------


def cmd_ping(client: Client, args: argparse.Namespace) -> int:
    print(client.ping())
    return 0


def _twin() -> str:
    if IMPLEMENTATION == "cython":
        return "compiled (Cython)"
    if os.environ.get("PROTOCOL_NO_EXTENSIONS"):
        return "pure Python (PROTOCOL_NO_EXTENSIONS is set)"
    return ("pure Python: the compiled parser is not installed "
            "(container output decodes about 100x slower in memory)")


def cmd_version(client: Client, args: argparse.Namespace) -> int:
    from .. import __version__  # type: ignore[attr-defined]

    v = client.version()
    if args.format == "json":
        _print_json(v)
        return 0
    out = sys.stdout
    out.write("Client: docker-protocol\n")
    out.write(f" Version:        {__version__}\n")
    out.write(f" API versions:   {MIN_VERSION}-{MAX_VERSION} (negotiated {client.api_version})\n")
    out.write(f" Stream parser:  {_twin()}\n")
    out.write(f" Python:         {sys.version.split()[0]}\n")
    name = "Docker Engine"
    for comp in v.components:
        if comp.get("Name") not in (None, "Engine"):
            continue
        name = "Docker Engine" if comp.get("Name") == "Engine" else str(comp.get("Name"))
    if v.get("Platform") and isinstance(v.get("Platform"), dict) and v["Platform"].get("Name"):
        name = str(v["Platform"]["Name"])
    out.write(f"\nServer: {name}\n")
    out.write(f" Version:        {v.version or '?'}\n")
    api = v.api_version or "?"
    if v.min_api_version:
        api += f" (minimum version {v.min_api_version})"
    out.write(f" API version:    {api}\n")
    for label, value in (("Go version", v.go_version), ("Git commit", v.git_commit),
                         ("OS/Arch", f"{v.os}/{v.arch}" if v.os else None),
                         ("Kernel", v.kernel_version), ("Experimental", v.experimental)):
        if value is not None:
            out.write(f" {label + ':':<15} {str(value).lower() if isinstance(value, bool) else value}\n")
    return 0


def cmd_info(client: Client, args: argparse.Namespace) -> int:
    i = client.info()
    if args.format == "json":
        _print_json(i)
        return 0
    out = sys.stdout
    running, paused, stopped = (i.get(k) for k in ("ContainersRunning", "ContainersPaused", "ContainersStopped"))
    line = f"Containers: {i.containers if i.containers is not None else '?'}"
    if running is not None:
        line += f" (running {running}, paused {paused}, stopped {stopped})"
    out.write(line + "\n")
    for label, value in (
        ("Images", i.images), ("Server Version", i.server_version), ("Storage Driver", i.driver),
        ("Cgroup Driver", i.get("CgroupDriver")), ("Cgroup Version", i.get("CgroupVersion")),
        ("Kernel Version", i.get("KernelVersion")), ("Operating System", i.operating_system),
        ("OSType", i.os_type), ("Architecture", i.architecture), ("CPUs", i.ncpu),
        ("Total Memory", _binary_size(i.mem_total) if i.mem_total else None), ("Name", i.name),
        ("ID", i.id), ("Docker Root Dir", i.get("DockerRootDir")),
        ("Debug Mode", i.debug), ("Swarm", i.swarm.get("LocalNodeState")),
    ):
        if value is not None and value != "":
            out.write(f"{label}: {str(value).lower() if isinstance(value, bool) else value}\n")
    for warning in i.warnings:
        sys.stderr.write(f"{warning}\n")
    return 0


def _ports(c: ContainerSummary) -> str:
    parts = []
    for p in c.ports:
        private, kind = p.get("PrivatePort"), p.get("Type", "tcp")
        if p.get("PublicPort"):
            parts.append(f"{p.get('IP', '0.0.0.0')}:{p['PublicPort']}->{private}/{kind}")
        else:
            parts.append(f"{private}/{kind}")
    return ", ".join(parts)


def cmd_ps(client: Client, args: argparse.Namespace) -> int:
    containers = client.containers(all=args.all, filters=_parse_filters(args.filter),
                                   limit=args.last)
    if args.quiet:
        for c in containers:
            print(c.id if args.no_trunc else (c.id or "")[:12])
        return 0
    if args.format == "json":
        for c in containers:
            _print_json_line(c)
        return 0
    rows = []
    for c in containers:
        command = c.command or ""
        rows.append([
            (c.id or "") if args.no_trunc else (c.id or "")[:12],
            c.image or "",
            f'"{command if args.no_trunc else _trunc(command, 20)}"',
            _ago(c.created),
            c.status or "",
            _ports(c),
            ",".join(n.lstrip("/") for n in c.names),
        ])
    _table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], rows)
    return 0


def cmd_images(client: Client, args: argparse.Namespace) -> int:
    images = client.images(all=args.all, filters=_parse_filters(args.filter))
    if args.quiet:
        for i in images:
            print(_short_image_id(i.id, args.no_trunc))
        return 0
    if args.format == "json":
        for i in images:
            _print_json_line(i)
        return 0
    rows = []
    for i in images:
        tags = i.repo_tags or ["<none>:<none>"]
        for ref in tags:
            repo, _, tag = ref.rpartition(":")
            if not repo or "/" in tag:
                repo, tag = ref, "<none>"
            rows.append([repo, tag, _short_image_id(i.id, args.no_trunc), _ago(i.created),
                         human_size(i.size) if i.size is not None else ""])
    _table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], rows)
    return 0


def _short_image_id(ident: str | None, full: bool = False) -> str:
    ident = ident or ""
    if full:
        return ident
    return ident.split(":", 1)[-1][:12]


def cmd_inspect(client: Client, args: argparse.Namespace) -> int:
    results: list[Any] = []
    rc = 0
    for ref in args.names:
        found = None
        kinds = [args.type] if args.type else ["container", "image"]
        for kind in kinds:
            try:
                found = (client.inspect_container(ref) if kind == "container" else client.inspect_image(ref))
                break
            except NotFound:
                continue
            except LocalProtocolError:
                continue  # "busybox/x:1" cannot be a container name: look for an image
        if found is None:
            sys.stderr.write(f"Error: No such {args.type or 'object'}: {ref}\n")
            rc = 1
        else:
            results.append(found)
    _print_json(results)
    return rc


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    stdout, stderr = sys.stdout.buffer, sys.stderr.buffer
    rc = 0
    try:
        stream = client.logs(args.container, follow=args.follow, timestamps=args.timestamps, tail=args.tail,
                             since=_parse_time(args.since), until=_parse_time(args.until))
    except NotFound as exc:
        raise _not_found("container", args.container, exc) from None
    with stream:
        for item in stream:
            if isinstance(item, StreamError):
                sys.stderr.write(f"error from the daemon: {item.message}\n")
                rc = 1
                continue
            sink = stdout if item.stream is Stream.STDOUT else stderr
            sink.write(item.data)
            if args.follow:
                sink.flush()
    return rc


# -- interactive sessions -----------------------------------------------------


class _RawTerminal:
    """The local terminal in raw mode for the session's life (keys go to the
    container's TTY as typed, Ctrl-C included), restored on the way out."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: Any = None

    def __enter__(self) -> _RawTerminal:
        import termios
        import tty

        self.saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc: object) -> None:
        import termios

        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def _follow_window_size(session: Session, fd: int) -> Callable[[], None]:
    """Resize the session now and on every SIGWINCH; returns the undo.

    The handler only sets an event: the resize is an HTTP request, made by
    a thread, never from inside a signal handler (which could interrupt
    the main thread while it holds a connection-pool lock)."""
    changed = threading.Event()
    stop = threading.Event()

    def resize() -> None:
        try:
            session.resize(os.get_terminal_size(fd))
        except (OSError, APIError, ProtocolError, TransportError):
            pass  # a resize after the process ended, or no terminal: not fatal

    def loop() -> None:
        while not stop.is_set():
            if changed.wait(0.5):
                changed.clear()
                if not stop.is_set():
                    resize()

    resize()
    previous = signal.signal(signal.SIGWINCH, lambda *_: changed.set())
    thread = threading.Thread(target=loop, name="resize", daemon=True)
    thread.start()

    def undo() -> None:
        stop.set()
        changed.set()
        signal.signal(signal.SIGWINCH, previous)

    return undo


def _pump_stdin(session: Session, raw: bool) -> threading.Thread:
    """Copy our stdin to the session until EOF, then half-close it."""

    def pump() -> None:
        try:
            while True:
                data = os.read(0, 65536)
                if not data:
                    break
                session.write(data)
            if not raw:
                session.close_stdin()
        except (OSError, TransportError, ProtocolError):
            pass  # the session ended first

    thread = threading.Thread(target=pump, name="stdin", daemon=True)
    thread.start()
    return thread


def _run_session(session: Session, *, interactive: bool, tty: bool) -> None:
    raw = tty and interactive and os.isatty(0)
    undo: Callable[[], None] | None = None
    with session:
        if tty and os.isatty(1):
            undo = _follow_window_size(session, 1)
        try:
            terminal = _RawTerminal(0) if raw else None
            if terminal is not None:
                terminal.__enter__()
            try:
                if interactive:
                    _pump_stdin(session, raw)
                errors = session.copy_to(1, 2)
            finally:
                if terminal is not None:
                    terminal.__exit__()
        finally:
            if undo is not None:
                undo()
        for error in errors:
            sys.stderr.write(f"error from the daemon: {error.message}\n")


def _env(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    env = []
    for value in values:
        # -e NAME alone passes our own value, as the docker CLI does.
        env.append(value if "=" in value else f"{value}={os.environ.get(value, '')}")
    return env


def cmd_run(client: Client, args: argparse.Namespace) -> int:
    config: dict[str, Any] = {
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": args.interactive,
        "AttachStdin": args.interactive,
        "AttachStdout": not args.detach,
        "AttachStderr": not args.detach,
    }
    env = _env(args.env)
    if env:
        config["Env"] = env
    if args.workdir:
        config["WorkingDir"] = args.workdir
    if args.user:
        config["User"] = args.user
    if args.entrypoint is not None:
        config["Entrypoint"] = [args.entrypoint] if args.entrypoint else []
    host_config: dict[str, Any] = {}
    if args.network:
        host_config["NetworkMode"] = args.network
    if host_config:
        config["HostConfig"] = host_config
    try:
        created = client.create_container(args.image, args.cmd or None, name=args.name, **config)
    except NotFound as exc:
        raise CLIError(f"Unable to find image '{args.image}' on the daemon "
                       f"(pull it first: {PROG} pull {args.image})") from exc
    cid = created.id
    for warning in created.warnings:
        sys.stderr.write(f"WARNING: {warning}\n")
    try:
        if args.detach:
            client.start_container(cid)
            print(cid)
            return 0
        # Attach before starting, as the docker CLI does: no output is lost.
        session = client.attach(cid, stdin=args.interactive, stdout=True, stderr=True, stream=True,
                                tty=args.tty, require_running=False)
        client.start_container(cid)
        _run_session(session, interactive=args.interactive, tty=args.tty)
        code = client.wait_container(cid).status_code
        return 0 if code is None else code
    finally:
        if args.rm and not args.detach:
            try:
                client.remove_container(cid, force=True, volumes=True)
            except NotFound:
                pass


def cmd_exec(client: Client, args: argparse.Namespace) -> int:
    try:
        exec_id = client.exec_create(args.container, args.cmd, stdin=args.interactive, tty=args.tty,
                                     env=_env(args.env), workdir=args.workdir, user=args.user)
    except NotFound as exc:
        raise _not_found("container", args.container, exc) from None
    session = client.exec_start(exec_id, tty=args.tty)
    _run_session(session, interactive=args.interactive, tty=args.tty)
    code = session.wait()
    return 0 if code is None else code


def cmd_rm(client: Client, args: argparse.Namespace) -> int:
    rc = 0
    for ref in args.containers:
        try:
            client.remove_container(ref, force=args.force, volumes=args.volumes)
            print(ref)
        except NotFound:
            sys.stderr.write(f"Error: No such container: {ref}\n")
            rc = 1
        except APIError as exc:
            sys.stderr.write(f"Error response from daemon: {exc.message}\n")
            rc = 1
    return rc


# -- images and progress --------------------------------------------------------


def _show_progress(stream: Any, args: argparse.Namespace) -> Any:
    with stream:
        if args.quiet:
            last = None
            for last in stream:
                pass
            return last
        return stream.run(ProgressRenderer(sys.stdout))


def cmd_pull(client: Client, args: argparse.Namespace) -> int:
    _show_progress(client.pull_stream(args.image, auth=True, platform=args.platform), args)
    if args.quiet:
        print(args.image)
    return 0


def cmd_push(client: Client, args: argparse.Namespace) -> int:
    _show_progress(client.push_stream(args.image, auth=True), args)
    return 0


def cmd_build(client: Client, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {}
    if args.build_arg:
        params["buildargs"] = dict(a.partition("=")[::2] for a in args.build_arg)
    if args.no_cache:
        params["nocache"] = True
    if args.pull:
        params["pull"] = True
    if args.quiet:
        params["q"] = True
    stream = client.build_stream(args.path, tag=args.tag or None, dockerfile=args.file, rm=True, **params)
    last = _show_progress(stream, args)
    if args.quiet and last is not None and last.stream:
        sys.stdout.write(last.stream)
    return 0


# -- events and stats -------------------------------------------------------------


def _event_time(e: Event) -> str:
    nano = e.time_nano
    if nano is None:
        return "?"
    stamp = datetime.datetime.fromtimestamp(nano // 1_000_000_000).astimezone()
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{nano % 1_000_000_000:09d}" + stamp.strftime("%z")[:3] + \
        ":" + stamp.strftime("%z")[3:]


def format_event(e: Event) -> str:
    """The docker CLI's line: time, type, action, actor id, (attributes)."""
    attrs = ", ".join(f"{k}={v}" for k, v in sorted(e.attributes.items()))
    line = f"{_event_time(e)} {e.type or '?'} {e.action or '?'} {e.actor_id or ''}"
    return f"{line} ({attrs})" if attrs else line


def cmd_events(client: Client, args: argparse.Namespace) -> int:
    with client.events(since=_parse_time(args.since), until=_parse_time(args.until),
                       filters=_parse_filters(args.filter)) as events:
        for e in events:
            if args.format == "json":
                _print_json_line(e)
            else:
                sys.stdout.write(format_event(e) + "\n")
            sys.stdout.flush()
    return 0


STATS_HEADERS = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]


def stats_row(s: ContainerStats, cid: str) -> list[str]:
    usage, limit = s.memory_usage, s.memory_limit
    rx, tx = s.network_io
    read, write = s.block_io
    return [
        cid[:12],
        (s.name or "").lstrip("/"),
        f"{s.cpu_percent:.2f}%",
        f"{_binary_size(usage or 0)} / {_binary_size(limit or 0)}",
        f"{s.memory_percent:.2f}%",
        f"{human_size(rx)} / {human_size(tx)}",
        f"{human_size(read)} / {human_size(write)}",
        str(s.pids if s.pids is not None else "--"),
    ]


def cmd_stats(client: Client, args: argparse.Namespace) -> int:
    if args.containers:
        ids = []
        for ref in args.containers:
            try:
                ids.append(client.inspect_container(ref).id or ref)
            except NotFound as exc:
                raise _not_found("container", ref, exc) from None
    else:
        ids = [c.id or "" for c in client.containers(all=args.all)]
    if args.no_stream:
        samples = []
        for cid in ids:
            with client.stats(cid, stream=False) as resp:
                for s in resp:
                    samples.append((cid, s))
        if args.format == "json":
            for _, s in samples:
                _print_json_line(s)
        else:
            _table(STATS_HEADERS, [stats_row(s, cid) for cid, s in samples])
        return 0
    # Streaming: one reader thread per container keeps its latest sample;
    # the table is redrawn once a second (in place on a terminal).
    latest: dict[str, ContainerStats] = {}
    failures: list[BaseException] = []
    streams: list[StreamingResponse[ContainerStats]] = []

    def read(resp: StreamingResponse[ContainerStats], cid: str) -> None:
        try:
            for s in resp:
                latest[cid] = s
        except BaseException as exc:  # reported by the main loop
            failures.append(exc)

    for cid in ids:
        resp = client.stats(cid, stream=True)
        streams.append(resp)
        threading.Thread(target=read, args=(resp, cid), name=f"stats-{cid[:12]}", daemon=True).start()
    tty = sys.stdout.isatty()
    try:
        while True:
            time.sleep(1.0)
            if failures:
                raise failures[0]
            if args.format == "json":
                for cid in ids:
                    if cid in latest:
                        _print_json_line(latest[cid])
            else:
                if tty:
                    sys.stdout.write("\x1b[2J\x1b[H")
                _table(STATS_HEADERS, [stats_row(latest[cid], cid) for cid in ids if cid in latest])
            sys.stdout.flush()
    finally:
        for resp in streams:
            resp.close()


# -- the whole table ----------------------------------------------------------------


def _call_value(text: str) -> Any:
    """``key=value``: the value as JSON when it parses (``true``, ``3``,
    ``{"status": ["exited"]}``), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_call(client: Client, args: argparse.Namespace) -> int:
    name = args.endpoint
    if name not in endpoint_names():
        # endpoint() says why, with the nearest names.
        endpoint(name, client.api_version)
    kwargs: dict[str, Any] = {}
    for item in args.params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"bad parameter {item!r}: expected key=value", 2)
        kwargs[key] = _call_value(value)
    if args.body is not None:
        if args.body == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.body, "rb") as f:
                data = f.read()
        kwargs["body"] = data
    kind = endpoint(name, client.api_version).response
    if kind is ResponseKind.HIJACK:
        raise CLIError(f"{name} takes over the connection: use the exec or run commands", 2)
    result = client.call(name, **kwargs)  # the name was checked against the table above
    if isinstance(result, StreamingResponse):
        with result:
            if kind is ResponseKind.BINARY:
                for data in result.items():
                    sys.stdout.buffer.write(data)
                return 0
            rc = 0
            for item in result:
                if isinstance(item, StreamError):
                    sys.stderr.write(f"error from the daemon: {item.message}\n")
                    rc = 1
                elif isinstance(item, Frame):
                    sink = sys.stdout.buffer if item.stream is Stream.STDOUT else sys.stderr.buffer
                    sink.write(item.data)
                    sink.flush()
                else:
                    _print_json_line(item)
                    sys.stdout.flush()
            return rc
    if result is None:
        return 0
    if isinstance(result, str):
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
        return 0
    if hasattr(result, "headers"):  # a HEAD answer: show its headers
        _print_json({k.decode("latin-1"): v.decode("latin-1") for k, v in result.headers})
        return 0
    _print_json(result)
    return 0


def cmd_endpoints(args: argparse.Namespace) -> int:
    if args.names:
        sys.stdout.write("".join(f"{n}\n" for n in endpoint_names()))
    else:
        sys.stdout.write(endpoint_table_markdown())
    return 0


# -- the demo (the README's main job) -----------------------------------------------


def _busybox_tar(busybox: str) -> bytes:
    """A root filesystem with a static busybox and its applet links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("bin")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        with open(busybox, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in ("sh", "echo", "cat", "sleep", "seq", "ls", "true"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buf.getvalue()


def ensure_demo_image(client: Client, image: str) -> None:
    """Import ``image`` from the machine's static busybox if the daemon lacks it.

    Uses ``POST /images/create?fromSrc=-`` with the tar as a streamed
    (chunked) request body, answered by a JSON progress stream.
    """
    try:
        client.inspect_image(image)
        return
    except APIError as exc:
        if exc.status != 404:
            raise
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise CLIError(f"image {image} is missing and no busybox binary was found to import it")
    repo, _, tag = image.rpartition(":")
    tar = _busybox_tar(busybox)
    request = Request(
        "POST",
        "/images/create",
        query={"fromSrc": "-", "repo": repo, "tag": tag, "changes": ['CMD ["sh"]']},
        body=iter([tar[i:i + 65536] for i in range(0, len(tar), 65536)]),
        content_type="application/x-tar",
        kind=ResponseKind.JSON_STREAM,
    )
    with client.send(request) as resp:
        for item in resp:
            if isinstance(item, StreamError):
                raise CLIError(f"importing {image} failed: {item.message}")


def cmd_demo(client: Client, args: argparse.Namespace) -> int:
    out = sys.stdout
    out.write(f"daemon:      {client.host.url}\n")
    out.write(f"API version: {client.api_version} (negotiated; this client speaks "
              f"{client.engine.range.minimum}..{client.engine.range.maximum})\n")
    v = client.version()
    out.write(f"engine:      Docker {v.version} (API {v.min_api_version or '?'}..{v.api_version})\n")
    ensure_demo_image(client, args.image)
    script = (
        "for i in 1 2 3; do echo \"stdout line $i\"; echo \"stderr line $i\" >&2; sleep 0.2; done; exit 7"
    )
    cid = client.create_container(
        args.image, ["sh", "-c", script], HostConfig={"NetworkMode": "none"}, Tty=False
    ).id
    out.write(f"container:   {cid[:12]} running: sh -c '{script}'\n")
    try:
        client.start_container(cid)
        start = time.monotonic()
        counts = {Stream.STDOUT: 0, Stream.STDERR: 0}
        for item in client.logs(cid, follow=True, tty=False):
            if isinstance(item, Frame):
                counts[item.stream] += len(item.data)
                label = "stdout" if item.stream is Stream.STDOUT else "stderr"
                out.write(f"  +{time.monotonic() - start:5.2f}s [{label}] "
                          f"{item.data.decode(errors='replace').rstrip()}\n")
                out.flush()
            else:
                out.write(f"  in-band error: {item.message}\n")
        status = client.wait_container(cid).status_code
        out.write(f"exit code:   {status}\n")
        out.write(f"bytes:       stdout={counts[Stream.STDOUT]} stderr={counts[Stream.STDERR]}\n")
    finally:
        client.remove_container(cid, force=True)
    out.write("removed the container.\n")
    return 0


# -- the parser -------------------------------------------------------------------------


def _add_format(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help=f"'json': {what} as JSON (the daemon's own documents)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A command line for the Docker Engine API (any daemon from API 1.12 on, "
                    "Podman's compat API included), built on the docker-protocol library.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options.  The daemon is "
               "-H/--host, else DOCKER_HOST, else unix:///var/run/docker.sock.",
    )
    parser.add_argument("-H", "--host", help="daemon address: unix:///path, tcp://host:port or https://host:port "
                                             "(default: DOCKER_HOST, then the unix socket)")
    parser.add_argument("--api-version", metavar="X.Y",
                        help="use this API version instead of negotiating (e.g. 1.41)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, **kw)

    p = add("ps", "list containers (running ones; -a for all)")
    p.add_argument("-a", "--all", action="store_true", help="show all containers, not only running ones")
    p.add_argument("-f", "--filter", action="append", metavar="KEY=VALUE",
                   help="filter (status=exited, name=web, label=k=v, ancestor=IMAGE, ...); repeatable")
    p.add_argument("-n", "--last", type=int, metavar="N", help="the N most recently created containers")
    p.add_argument("-q", "--quiet", action="store_true", help="only container IDs")
    p.add_argument("--no-trunc", action="store_true", help="do not shorten IDs and commands")
    _add_format(p, "one container per line")

    p = add("images", "list images")
    p.add_argument("-a", "--all", action="store_true", help="include intermediate images")
    p.add_argument("-f", "--filter", action="append", metavar="KEY=VALUE",
                   help="filter (dangling=true, reference=busybox*, label=k=v, ...); repeatable")
    p.add_argument("-q", "--quiet", action="store_true", help="only image IDs")
    p.add_argument("--no-trunc", action="store_true", help="full image IDs")
    _add_format(p, "one image per line")

    p = add("inspect", "the daemon's JSON for containers or images (a JSON array)")
    p.add_argument("names", nargs="+", metavar="NAME", help="container or image name or ID")
    p.add_argument("--type", choices=["container", "image"], help="look only for this kind of object")

    p = add("logs", "a container's output (stdout to stdout, stderr to stderr)")
    p.add_argument("container", help="container name or ID")
    p.add_argument("-f", "--follow", action="store_true", help="keep following new output")
    p.add_argument("-t", "--timestamps", action="store_true", help="prefix each line with its RFC 3339 time")
    p.add_argument("-n", "--tail", metavar="N", help="only the last N lines ('all' for everything)")
    p.add_argument("--since", metavar="TIME",
                   help="only output since TIME: Unix seconds, a duration ago (10m, 2h) or RFC 3339")
    p.add_argument("--until", metavar="TIME", help="only output before TIME (API >= 1.35)")

    p = add("run", "create a container, attach to it, start it, and wait (exit code = its own)")
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open and send ours to it")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a TTY (raw output, resized with ours)")
    p.add_argument("-d", "--detach", action="store_true", help="start it and print its ID, do not attach")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("--name", help="name the container")
    p.add_argument("-e", "--env", action="append", metavar="NAME[=VALUE]", help="set an environment variable")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    p.add_argument("-u", "--user", help="user[:group] to run as")
    p.add_argument("--entrypoint", help="override the image's entrypoint ('' clears it)")
    p.add_argument("--network", help="network mode (none, host, bridge, or a network name)")
    p.add_argument("image", help="image to run")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="command and arguments (default: the image's)")

    p = add("exec", "run a command in a running container (exit code = the command's)")
    p.add_argument("-i", "--interactive", action="store_true", help="keep stdin open and send ours to it")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a TTY (raw mode here, resized with ours)")
    p.add_argument("-e", "--env", action="append", metavar="NAME[=VALUE]", help="set an environment variable")
    p.add_argument("-w", "--workdir", help="working directory (API >= 1.35)")
    p.add_argument("-u", "--user", help="user[:group] to run as")
    p.add_argument("container", help="container name or ID")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND", help="command and arguments")

    p = add("rm", "remove containers")
    p.add_argument("containers", nargs="+", metavar="CONTAINER", help="container name or ID")
    p.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    p.add_argument("-v", "--volumes", action="store_true", help="also remove its anonymous volumes")

    p = add("pull", "pull an image, showing per-layer progress (credentials: the docker CLI's config)")
    p.add_argument("image", help="image reference, e.g. busybox:latest or registry:5000/me/app:1")
    p.add_argument("--platform", help="os[/arch[/variant]] (API >= 1.32)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = add("push", "push an image, showing per-layer progress (credentials: the docker CLI's config)")
    p.add_argument("image", help="image reference with its registry, e.g. registry:5000/me/app:1")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    p = add("build", "build an image from a directory (streamed as a tar honouring .dockerignore)")
    p.add_argument("path", help="the build context directory")
    p.add_argument("-t", "--tag", action="append", metavar="NAME[:TAG]", help="tag the result; repeatable")
    p.add_argument("-f", "--file", help="the Dockerfile, relative to the context (default: Dockerfile)")
    p.add_argument("--build-arg", action="append", metavar="NAME=VALUE", help="a build-time variable")
    p.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    p.add_argument("--pull", action="store_true", help="always pull newer base images")
    p.add_argument("-q", "--quiet", action="store_true", help="no build output; print the image ID")

    p = add("events", "the daemon's events as they happen (until --until, else until Ctrl-C)")
    p.add_argument("--since", metavar="TIME", help="start from TIME: Unix seconds, a duration ago (10m) or RFC 3339")
    p.add_argument("--until", metavar="TIME", help="stop at TIME (same forms)")
    p.add_argument("-f", "--filter", action="append", metavar="KEY=VALUE",
                   help="filter (type=container, event=start, container=web, image=busybox, ...); repeatable")
    _add_format(p, "one event per line")

    p = add("stats", "CPU, memory, network and block I/O of containers (CPU %% and MEM %% as docker stats)")
    p.add_argument("containers", nargs="*", metavar="CONTAINER", help="containers (default: all running)")
    p.add_argument("-a", "--all", action="store_true", help="all containers, not only running ones")
    p.add_argument("--no-stream", action="store_true", help="one sample, then exit")
    _add_format(p, "one sample per line")

    p = add("version", "client and daemon versions, as a readable summary")
    _add_format(p, "the daemon's /version document")
    p = add("info", "the daemon's system-wide information, as a readable summary")
    _add_format(p, "the daemon's /info document")
    add("ping", "check that the daemon answers (prints OK)")

    p = add("endpoints", "the endpoint table (Markdown) with API version ranges; needs no daemon")
    p.add_argument("--names", action="store_true", help="only the endpoint names, one a line")

    p = add("call", "call any endpoint of the table and print its JSON answer",
            epilog="Values are JSON when they parse (all=true, limit=3, filters='{\"status\":[\"exited\"]}'), "
                   "else strings; a JSON body is json='{...}'.  Endpoints and parameters outside the "
                   f"negotiated API version are refused before anything is sent.  '{PROG} endpoints' lists them.")
    p.add_argument("endpoint", metavar="NAME", help="endpoint name, e.g. containers.list")
    p.add_argument("params", nargs="*", metavar="KEY=VALUE", help="path and query parameters by Python name")
    p.add_argument("--body", metavar="FILE", help="send FILE ('-' for stdin) as the request body")

    p = add("demo", "negotiate, run a container, stream its stdout and stderr kept apart")
    p.add_argument("--image", default=DEMO_IMAGE, help=f"image to run (default {DEMO_IMAGE}, imported if missing)")
    return parser


COMMANDS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "ps": cmd_ps, "images": cmd_images, "inspect": cmd_inspect, "logs": cmd_logs, "run": cmd_run,
    "exec": cmd_exec, "rm": cmd_rm, "pull": cmd_pull, "push": cmd_push, "build": cmd_build,
    "events": cmd_events, "stats": cmd_stats, "version": cmd_version, "info": cmd_info,
    "ping": cmd_ping, "call": cmd_call, "demo": cmd_demo,
}


def _transport_message(exc: TransportError, client: Client | None) -> str:
    text = str(exc)
    where = client.host.url if client is not None else "the daemon"
    if "ermission denied" in text:
        # The docker CLI's words, and the fix it points to.
        return (f"permission denied while trying to connect to the Docker daemon socket at {where}: "
                "is your user in the 'docker' group (or use sudo)? "
                "See https://docs.docker.com/engine/install/linux-postinstall/")
    if text.startswith("cannot connect"):
        return f"{text}. Is the docker daemon running?"
    return text


def _die_quietly_on_broken_pipe() -> NoReturn:
    # The reader went away (`... | head`): stop as a killed-by-SIGPIPE
    # process would, without a traceback or a message.  Python flushes
    # stdout again at exit, so point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(128 + signal.SIGPIPE)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "exec" and not args.cmd:
        parser.error("exec needs a command to run in the container")
    client: Client | None = None
    try:
        if args.command == "endpoints":
            # No daemon needed: the table is data.
            cmd_endpoints(args)
            sys.stdout.flush()
            return 0
        version = None
        if args.api_version is not None:
            try:
                version = APIVersion(args.api_version)
            except (ValueError, LocalProtocolError) as exc:
                raise CLIError(f"bad --api-version: {exc}", 2) from None
        client = Client(args.host, version=version)
        with client:
            rc = COMMANDS[args.command](client, args)
        # Flushed here, not at exit, so that a closed pipe is handled below.
        sys.stdout.flush()
        return rc
    except CLIError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return exc.code
    except UnsupportedVersion as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 1
    except APIError as exc:
        sys.stderr.write(f"{PROG}: Error response from daemon: {exc.message}\n")
        return 1
    except TransportError as exc:
        sys.stderr.write(f"{PROG}: {_transport_message(exc, client)}\n")
        return 1
    except ProtocolError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 1
    except BrokenPipeError:
        _die_quietly_on_broken_pipe()
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        sys.stderr.write(f"{PROG}: {exc.strerror or exc}"
                         f"{': ' + exc.filename if getattr(exc, 'filename', None) else ''}\n")
        return 1
