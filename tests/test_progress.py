"""Progress as a stream (pull/push/build/load consumed as they happen, with
bounded memory and the in-band error still typed) and the renderer that
draws it like the docker CLI."""

from __future__ import annotations

import gc
import io
import json
import re
import tracemalloc

import pytest

from _fakedaemon import FakeDaemon, http_response
from protocol import APIError, Client, ProgressMessage, ProgressStream, Unauthorized
from protocol._cli._render import ProgressRenderer, human_size, progress_bar


def layer_messages(layers=3, steps=4, size=2_000_000):
    msgs = [{"status": "Pulling from protocol/busybox", "id": "latest"}]
    ids = [f"{i:012x}" for i in range(1, layers + 1)]
    for ident in ids:
        msgs.append({"status": "Pulling fs layer", "progressDetail": {}, "id": ident})
    for step in range(1, steps + 1):
        for ident in ids:
            cur = size * step // steps
            msgs.append({"status": "Downloading", "progressDetail": {"current": cur, "total": size},
                         "progress": "[==>  ]", "id": ident})
    for ident in ids:
        msgs.append({"status": "Pull complete", "progressDetail": {}, "id": ident})
    msgs.append({"status": "Digest: sha256:" + "a" * 64})
    msgs.append({"status": "Status: Downloaded newer image for protocol/busybox:latest"})
    return msgs


def chunked_stream(messages, error=None):
    parts = [json.dumps(m).encode() + b"\r\n" for m in messages]
    if error is not None:
        parts.append(json.dumps({"errorDetail": {"message": error}, "error": error}).encode() + b"\r\n")
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + body)


@pytest.fixture
def fake(tmp_path):
    made = []

    def make(answer, route="POST /v1.41/images/create"):
        d = FakeDaemon({route: answer}, unix_path=str(tmp_path / f"d{len(made)}.sock"))
        made.append(d)
        return Client(d.host, version="1.41")

    yield make
    for d in made:
        d.close()


def test_pull_stream_hands_out_typed_messages_in_order(fake):
    msgs = layer_messages()
    client = fake(chunked_stream(msgs))
    with client.pull_stream("protocol/busybox:latest") as stream:
        assert isinstance(stream, ProgressStream)
        got = list(stream)
    assert all(isinstance(m, ProgressMessage) for m in got)
    assert [m.raw for m in got] == msgs
    assert got[4].current == 500_000 and got[4].total == 2_000_000


def test_thousands_of_messages_in_bounded_memory_and_the_error_still_typed(fake):
    n = 30_000
    msgs = [{"status": "Downloading", "progressDetail": {"current": i, "total": n},
             "progress": "[" + "=" * 40 + ">]", "id": f"{i % 7:012x}"} for i in range(n)]
    client = fake(chunked_stream(msgs, error="unauthorized: authentication required"))
    stream = client.pull_stream("protocol/busybox:latest")
    gc.collect()
    tracemalloc.start()
    seen = 0
    try:
        with pytest.raises(Unauthorized) as info:
            for message in stream:
                seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == n and stream.count == n
    # All n messages as dicts would take tens of MB; streamed, the peak is
    # the socket buffer, one batch of decoded items and the 100 kept for
    # the error, whatever n is.
    assert peak < 3_000_000, peak
    recent = info.value.messages
    assert len(recent) == 100 and recent[-1].current == n - 1
    assert "authentication required" in info.value.message


def test_list_form_error_carries_every_message_before_it(fake):
    msgs = layer_messages(layers=2, steps=2)
    client = fake(chunked_stream(msgs, error="manifest unknown"))
    with pytest.raises(APIError) as info:
        client.pull("protocol/busybox:latest")
    assert [m.raw for m in info.value.messages] == msgs
    assert not isinstance(info.value, Unauthorized)


def test_callback_form_and_early_close_releases_the_connection(fake):
    msgs = layer_messages()
    client = fake(chunked_stream(msgs))
    seen = []
    last = client.pull_stream("protocol/busybox").run(seen.append)
    assert len(seen) == len(msgs) and last is seen[-1]
    stream = client.pull_stream("protocol/busybox")
    first = next(iter(stream))
    assert first.status.startswith("Pulling from")
    stream.close()  # abandoned mid-stream: the connection is closed, not reused
    with pytest.raises(RuntimeError):
        list(stream)  # one consumption only
    assert client.pull("protocol/busybox")[-1].status.startswith("Status:")


# The fake daemon answers before reading a chunked request body and then
# chokes on the rest of it in its own thread: harmless here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_build_and_load_streams(fake, tmp_path):
    build_msgs = [{"stream": "Step 1/1 : FROM scratch\n"}, {"aux": {"ID": "sha256:" + "b" * 64}},
                  {"stream": "Successfully built bbbbbbbbbbbb\n"}]
    client = fake(chunked_stream(build_msgs), route="POST /v1.41/build")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert [m.raw for m in client.build_stream(str(tmp_path))] == build_msgs
    client = fake(chunked_stream([{"stream": "Loaded image: x:1\n"}]), route="POST /v1.41/images/load")
    assert [m.stream for m in client.load_stream(io.BytesIO(b"\0" * 1024))] == ["Loaded image: x:1\n"]


# -- the renderer ---------------------------------------------------------

class Screen:
    """Just enough of a terminal: \\n, \\r, ESC[nA / ESC[nB / ESC[2K."""

    def __init__(self):
        self.lines = [""]
        self.row = 0
        self.col = 0

    def feed(self, text):
        for token in re.findall(r"\x1b\[(\d*)([ABK])|(\r)|(\n)|([^\x1b\r\n]+)", text):
            n, cmd, cr, nl, chars = token
            if cmd == "A":
                self.row = max(0, self.row - int(n or 1))
            elif cmd == "B":
                self.row += int(n or 1)
                while len(self.lines) <= self.row:
                    self.lines.append("")
            elif cmd == "K":
                self.lines[self.row] = ""
            elif cr:
                self.col = 0
            elif nl:
                self.row += 1
                self.col = 0
                while len(self.lines) <= self.row:
                    self.lines.append("")
            else:
                line = self.lines[self.row]
                self.lines[self.row] = line[:self.col] + chars + line[self.col + len(chars):]
                self.col += len(chars)
        return self


def test_terminal_form_redraws_one_line_per_layer():
    out = io.StringIO()
    render = ProgressRenderer(out, tty=True)
    msgs = layer_messages(layers=3, steps=4)
    for m in msgs[:8]:  # up to the first downloads
        render(m)
    mid = Screen().feed(out.getvalue()).lines
    assert re.fullmatch(r"000000000001: Downloading \[={25}> {25}\]\s+1MB/2MB", mid[1]), mid
    assert re.fullmatch(r"000000000002: Downloading \[={12}> {38}\]\s+500kB/2MB", mid[2]), mid
    for m in msgs[8:]:
        render(ProgressMessage(m))
    text = out.getvalue()
    assert "\x1b[" in text and "\r" in text
    screen = [line for line in Screen().feed(text).lines if line]
    assert screen == [
        "latest: Pulling from protocol/busybox",
        "000000000001: Pull complete",
        "000000000002: Pull complete",
        "000000000003: Pull complete",
        "Digest: sha256:" + "a" * 64,
        "Status: Downloaded newer image for protocol/busybox:latest",
    ]


def test_plain_form_has_no_escapes_and_no_bar_updates():
    out = io.StringIO()
    render = ProgressRenderer(out, tty=False)
    for m in layer_messages(layers=2, steps=3):
        render(m)
    text = out.getvalue()
    assert "\x1b" not in text and "\r" not in text
    lines = text.splitlines()
    assert "Downloading" not in text
    assert lines[0] == "latest: Pulling from protocol/busybox"
    assert lines.count("000000000001: Pull complete") == 1
    assert lines[-1].startswith("Status: Downloaded")


def test_build_output_and_buildkit_trace():
    out = io.StringIO()
    render = ProgressRenderer(out, tty=False)
    render({"stream": "Step 1/2 : FROM scratch\n"})
    render({"aux": {"ID": "sha256:abc"}})
    render({"id": "moby.buildkit.trace", "aux": "CgQKAggB"})
    assert out.getvalue().splitlines() == [
        "Step 1/2 : FROM scratch",
        "moby.buildkit.trace: 8 bytes of BuildKit status (protobuf, not decoded)",
    ]


def test_sizes_and_bars_as_the_docker_cli_prints_them():
    assert human_size(0) == "0B" and human_size(999) == "999B"
    assert human_size(2_150_000) == "2.15MB" and human_size(1_000) == "1kB"
    assert progress_bar(0, 0) == ""
    assert progress_bar(1_000_000, None).strip() == "1MB"
    bar = progress_bar(1_000_000, 2_000_000)
    assert bar.startswith("[" + "=" * 25 + ">" + " " * 25 + "] ") and bar.endswith("1MB/2MB")
    assert progress_bar(3, 2).startswith("[" + "=" * 50 + ">] ")
