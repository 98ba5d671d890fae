"""The command line: ``python -m protocol [--host H] COMMAND``.

Commands: ``demo`` (the README's main job), ``ping``, ``version``, ``info``,
``ps``, ``images``, ``logs CONTAINER``.  Container output keeps stdout and
stderr apart: stdout bytes go to our stdout, stderr bytes to our stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import time
from typing import Any

from ._client import Client
from ._endpoints import endpoint_table_markdown
from ._errors import APIError, ProtocolError, TransportError
from ._events import Stream, StreamError
from ._stream import Frame  # the active twin's class: the items are its instances
from ._request import Request, ResponseKind

DEMO_IMAGE = "docker-protocol/busybox:latest"


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


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
        raise SystemExit(f"image {image} is missing and no busybox binary was found to import it")
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
                raise SystemExit(f"importing {image} failed: {item.message}")


def cmd_demo(client: Client, args: argparse.Namespace) -> int:
    out = sys.stdout
    out.write(f"daemon:      {client.host.url}\n")
    out.write(f"API version: {client.api_version} (negotiated; this client speaks "
              f"{client._range.minimum}..{client._range.maximum})\n")
    v = client.version()
    out.write(f"engine:      Docker {v.get('Version')} (API {v.get('MinAPIVersion', '?')}..{v.get('ApiVersion')})\n")
    ensure_demo_image(client, args.image)
    script = (
        "for i in 1 2 3; do echo \"stdout line $i\"; echo \"stderr line $i\" >&2; sleep 0.2; done; exit 7"
    )
    created = client.create_container(
        args.image, ["sh", "-c", script], HostConfig={"NetworkMode": "none"}, Tty=False
    )
    cid = created["Id"]
    out.write(f"container:   {cid[:12]} running: sh -c '{script}'\n")
    try:
        client.start_container(cid)
        start = time.monotonic()
        counts = {Stream.STDOUT: 0, Stream.STDERR: 0}
        for item in client.logs(cid, follow=True, tty=False):
            if isinstance(item, Frame):
                counts[item.stream] += len(item.data)
                label = "stdout" if item.stream is Stream.STDOUT else "stderr"
                out.write(f"  +{time.monotonic() - start:5.2f}s [{label}] {item.data.decode(errors='replace').rstrip()}\n")
                out.flush()
            else:
                out.write(f"  in-band error: {item.message}\n")
        status = client.wait_container(cid)["StatusCode"]
        out.write(f"exit code:   {status}\n")
        out.write(f"bytes:       stdout={counts[Stream.STDOUT]} stderr={counts[Stream.STDERR]}\n")
    finally:
        client.remove_container(cid, force=True)
    out.write("removed the container.\n")
    return 0


def cmd_logs(client: Client, args: argparse.Namespace) -> int:
    stdout, stderr = sys.stdout.buffer, sys.stderr.buffer
    rc = 0
    for item in client.logs(args.container, follow=args.follow, timestamps=args.timestamps, tail=args.tail):
        if isinstance(item, StreamError):
            sys.stderr.write(f"error from the daemon: {item.message}\n")
            rc = 1
            continue
        (stdout if item.stream is Stream.STDOUT else stderr).write(item.data)
        if args.follow:
            (stdout if item.stream is Stream.STDOUT else stderr).flush()
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protocol", description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", help="daemon address (default: DOCKER_HOST, then the unix socket)")
    parser.add_argument("--api-version", help="pin the API version instead of negotiating")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="negotiate, run a container, stream its stdout and stderr")
    demo.add_argument("--image", default=DEMO_IMAGE)
    for name in ("ping", "version", "info", "ps", "images"):
        sub.add_parser(name)
    sub.add_parser("endpoints", help="print the endpoint table (Markdown) with API version ranges")
    logs = sub.add_parser("logs", help="stream a container's logs (stdout to stdout, stderr to stderr)")
    logs.add_argument("container")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-t", "--timestamps", action="store_true")
    logs.add_argument("--tail")
    args = parser.parse_args(argv)
    if args.command == "endpoints":
        # No daemon needed: the table is data.
        sys.stdout.write(endpoint_table_markdown())
        return 0
    try:
        with Client(args.host, version=args.api_version) as client:
            if args.command == "demo":
                return cmd_demo(client, args)
            if args.command == "logs":
                return cmd_logs(client, args)
            if args.command == "ping":
                print(client.ping())
            elif args.command == "version":
                _print_json(client.version())
            elif args.command == "info":
                _print_json(client.info())
            elif args.command == "ps":
                for c in client.containers(all=True):
                    print(f"{c['Id'][:12]}  {c.get('Image', ''):30}  {c.get('Status', '')}")
            elif args.command == "images":
                for i in client.images():
                    print(f"{i['Id'][7:19]}  {', '.join(i.get('RepoTags') or ['<none>'])}")
            return 0
    except (APIError, ProtocolError, TransportError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
