"""The command line against the real daemon: through pipes, and in a
pseudo-terminal for what needs one (run -it, exec -it with resize, progress
rendering)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import uuid

import pytest

from protocol import Client
from protocol._cli._main import build_parser, main
from protocol._core._models import ContainerStats

CLI = [sys.executable, "-m", "protocol"]


def cli(host, *args, input=None, env=None, timeout=120):
    full = dict(os.environ, **(env or {}))
    proc = subprocess.run([*CLI, "-H", host, *args], input=input, capture_output=True, env=full,
                          timeout=timeout)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


class Pty:
    """The CLI on a pseudo-terminal of a given size, as a person runs it."""

    def __init__(self, argv, rows=30, cols=100, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.environ.update(env or {})
                os.execv(sys.executable, [sys.executable, "-m", "protocol", *argv])
            finally:
                os._exit(127)
        self.buf = b""
        self.pos = 0
        self.resize(rows, cols)

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        # The kernel signals the terminal's foreground group; say it directly
        # too, in case the child has not become that group yet.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGWINCH)

    def read_until(self, pattern, timeout=30):
        """The first match of ``pattern`` in output not matched before."""
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while not (match := regex.search(self.buf, self.pos)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} in {self.buf[self.pos:][-2000:]!r}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    raise AssertionError(f"EOF before {pattern!r} in {self.buf[self.pos:][-2000:]!r}")
                self.buf += data
                # busybox's line editor asks where the cursor is (ESC[6n) and
                # redraws its prompt when told; answer as a terminal would.
                for _ in range(data.count(b"\x1b[6n")):
                    os.write(self.fd, b"\x1b[1;5R")
        self.pos = match.end()
        return match

    def prompt(self):
        """The shell's prompt and its cursor query (answered by read_until).

        busybox's line editor drops keys that arrive within a moment of the
        cursor-position answer (measured: at once, lost; 0.3 s later, read),
        so the test types as a person would, not within microseconds."""
        match = self.read_until(r"# \x1b\[6n")
        time.sleep(0.5)
        return match

    def write(self, data):
        os.write(self.fd, data)

    def wait(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise AssertionError(f"still running: {self.buf[-2000:]!r}")
            with contextlib.suppress(OSError):
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    self.buf += os.read(self.fd, 65536)
        with contextlib.suppress(OSError):
            while select.select([self.fd], [], [], 0.1)[0]:
                data = os.read(self.fd, 65536)
                if not data:
                    break
                self.buf += data
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def client(docker_host):
    with Client(docker_host, timeout=120) as c:
        yield c


@pytest.fixture
def sleeper(client, docker_cleanup, test_image):
    name = f"protocol-cli-{uuid.uuid4().hex[:8]}"
    cid = client.create_container(test_image, ["sleep", "300"], name=name,
                                  HostConfig={"NetworkMode": "none"}).id
    docker_cleanup.append(cid)
    client.start_container(cid)
    return cid, name


# -- no daemon needed -------------------------------------------------------


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    assert {"ps", "images", "inspect", "logs", "run", "exec", "rm", "pull", "push", "build", "events",
            "stats", "version", "info", "endpoints", "call", "ping"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, name
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: docker-protocol {name}") and sub.description.split("(")[0][:20] in out


def test_endpoints_table_needs_no_daemon():
    proc = subprocess.run([*CLI, "-H", "unix:///nonexistent.sock", "endpoints"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "| `containers.list` | GET | `/containers/json` |" in proc.stdout
    names = subprocess.run([*CLI, "endpoints", "--names"], capture_output=True, text=True, timeout=60).stdout
    assert "containers.list\n" in names and "|" not in names


def test_unreachable_daemon_is_one_clear_line():
    rc, out, err = cli("unix:///nonexistent.sock", "ping")
    assert rc == 1 and out == ""
    assert err.startswith("docker-protocol: cannot connect to the Docker daemon at unix:///nonexistent.sock")
    assert "Is the docker daemon running?" in err and err.count("\n") == 1


def test_bad_api_version_is_one_clear_line():
    rc, out, err = cli("unix:///nonexistent.sock", "--api-version", "latest", "ps")
    assert rc == 2 and "Traceback" not in err
    assert err == "docker-protocol: bad --api-version: not an API version: 'latest' (expected MAJOR.MINOR, e.g. '1.41')\n"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_permission_denied_socket_gives_the_docker_group_hint(tmp_path):
    path = tmp_path / "docker.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o600)
    tmp_path.chmod(0o755)
    try:
        # Root ignores file modes through CAP_DAC_OVERRIDE: drop it (and its
        # read-only sibling) so the socket refuses us as it refuses a user.
        proc = subprocess.run(
            ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *CLI, "-H", f"unix://{path}", "ps"],
            capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(
        f"docker-protocol: permission denied while trying to connect to the Docker daemon socket at unix://{path}")
    assert "'docker' group" in proc.stderr and proc.stderr.count("\n") == 1


def test_stats_percentages_as_the_docker_cli_computes_them():
    sample = ContainerStats({
        "cpu_stats": {"cpu_usage": {"total_usage": 400_000_000, "percpu_usage": [1, 2]},
                      "system_cpu_usage": 20_000_000_000, "online_cpus": 4},
        "precpu_stats": {"cpu_usage": {"total_usage": 200_000_000}, "system_cpu_usage": 18_000_000_000},
        "memory_stats": {"usage": 150 << 20, "limit": 1 << 30, "stats": {"total_inactive_file": 50 << 20}},
    })
    # (0.2 s of CPU / 2 s of system time) x 4 CPUs = 40 %.
    assert sample.cpu_percent == pytest.approx(40.0)
    assert sample.memory_usage == 100 << 20  # the page cache is not the container's
    assert sample.memory_percent == pytest.approx(100 / 1024 * 100)
    # cgroup v2 names it inactive_file; no online_cpus: count percpu_usage.
    v2 = ContainerStats({
        "cpu_stats": {"cpu_usage": {"total_usage": 300, "percpu_usage": [1, 2]}, "system_cpu_usage": 1000},
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 600},
        "memory_stats": {"usage": 300, "limit": 1000, "stats": {"inactive_file": 100}},
    })
    assert v2.cpu_percent == pytest.approx(200 / 400 * 2 * 100) and v2.memory_percent == pytest.approx(20.0)
    assert ContainerStats({}).cpu_percent == 0.0 and ContainerStats({}).memory_percent == 0.0


# -- against the daemon ----------------------------------------------------------

@pytest.mark.integration
@pytest.mark.podman
@pytest.mark.parametrize("no_ext", ["", "1"], ids=["default-twin", "python-twin"])
def test_demo(docker_host, engine, no_ext):
    env = dict(os.environ, DOCKER_HOST=docker_host, PROTOCOL_NO_EXTENSIONS=no_ext)
    proc = subprocess.run([*CLI, "demo"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"API version: {engine.api_version}" in out
    for i in (1, 2, 3):
        assert f"[stdout] stdout line {i}" in out
        assert f"[stderr] stderr line {i}" in out
    assert "exit code:   7" in out
    assert "removed the container." in out


@pytest.mark.integration
def test_logs_keep_streams_apart_with_tail_timestamps_and_since(docker_host, client, docker_cleanup, test_image):
    cid = client.create_container(test_image, ["sh", "-c", "echo to-out; echo to-err >&2; echo two"],
                                  HostConfig={"NetworkMode": "none"}).id
    docker_cleanup.append(cid)
    client.start_container(cid)
    client.wait_container(cid)
    proc = subprocess.run([*CLI, "-H", docker_host, "logs", cid], capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"to-out\ntwo\n", b"to-err\n")
    # stdout and stderr are copied into the log by two goroutines: their
    # relative order is not fixed, so the tail test uses stdout alone.
    one = client.create_container(test_image, ["sh", "-c", "echo one; echo two"],
                                  HostConfig={"NetworkMode": "none"}).id
    docker_cleanup.append(one)
    client.start_container(one)
    client.wait_container(one)
    rc, out, _ = cli(docker_host, "logs", "--tail", "1", one)
    assert (rc, out) == (0, "two\n")
    rc, out, _ = cli(docker_host, "logs", "-t", one)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z one\n\S+Z two\n", out), out
    rc, out, err = cli(docker_host, "logs", "--since", str(int(time.time()) + 3600), cid)
    assert (rc, out, err) == (0, "", "")


@pytest.mark.integration
@pytest.mark.parametrize("api", [None, "1.30"], ids=["negotiated", "api-1.30-inspects-first"])
def test_missing_container_names_the_users_request(docker_host, api):
    pin = ["--api-version", api] if api else []
    rc, out, err = cli(docker_host, *pin, "logs", "no-such-container-here")
    # Below API 1.42 the client inspects first (for the TTY setting); the
    # message is still about the logs the user asked for.
    assert (rc, out) == (1, "")
    assert err == "docker-protocol: No such container: no-such-container-here\n"
    rc, _, err = cli(docker_host, *pin, "exec", "no-such-container-here", "true")
    assert rc == 1 and err == "docker-protocol: No such container: no-such-container-here\n"
    rc, _, err = cli(docker_host, "rm", "no-such-container-here")
    assert rc == 1 and err == "Error: No such container: no-such-container-here\n"


@pytest.mark.integration
def test_ps_images_inspect(docker_host, client, sleeper, docker_cleanup, test_image):
    cid, name = sleeper
    stopped = client.create_container(test_image, ["true"], name=name + "-x", HostConfig={"NetworkMode": "none"}).id
    docker_cleanup.append(stopped)
    rc, out, _ = cli(docker_host, "ps")
    lines = out.splitlines()
    assert rc == 0 and re.match(r"CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$", lines[0])
    row = next(line for line in lines if line.startswith(cid[:12]))
    assert row.endswith(name) and '"sleep 300"' in row and "Up " in row
    assert stopped[:12] not in out
    rc, out, _ = cli(docker_host, "ps", "-a", "-q", "--filter", f"name={name}")
    assert sorted(out.split()) == sorted([cid[:12], stopped[:12]])
    rc, out, _ = cli(docker_host, "ps", "-a", "--filter", f"id={stopped}", "--format", "json")
    (doc,) = [json.loads(line) for line in out.splitlines()]
    assert doc["Id"] == stopped and doc["Names"] == [f"/{name}-x"]

    rc, out, _ = cli(docker_host, "images")
    assert rc == 0 and re.match(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", out.splitlines()[0])
    repo, tag = test_image.rsplit(":", 1)
    assert any(re.match(rf"{re.escape(repo)}\s+{tag}\s+[0-9a-f]{{12}}\s", line) for line in out.splitlines())

    rc, out, err = cli(docker_host, "inspect", name, test_image, "nothing-by-this-name")
    docs = json.loads(out)
    assert rc == 1 and err == "Error: No such object: nothing-by-this-name\n"
    assert docs[0]["Id"] == cid and docs[0]["State"]["Running"] is True
    assert docs[1]["Id"].startswith("sha256:") and test_image in docs[1]["RepoTags"]


@pytest.mark.integration
def test_version_and_info_are_readable(docker_host, client):
    rc, out, _ = cli(docker_host, "version")
    assert rc == 0
    server = client.version()
    assert "Client: docker-protocol" in out and "Stream parser:" in out
    assert f" Version:        {server.version}\n" in out
    assert f" API version:    {server.api_version}" in out and "negotiated " in out
    rc, out, _ = cli(docker_host, "version", "--format", "json")
    assert json.loads(out)["ApiVersion"] == server.api_version
    rc, out, _ = cli(docker_host, "info")
    info = client.info()
    assert rc == 0 and out.startswith("Containers: ")
    assert f"Server Version: {info.server_version}\n" in out and f"CPUs: {info.ncpu}\n" in out


@pytest.mark.integration
def test_run_through_pipes(docker_host, client, test_image):
    name = f"protocol-cli-run-{uuid.uuid4().hex[:8]}"
    rc, out, err = cli(docker_host, "run", "--rm", "--name", name, "--network", "none", test_image,
                       "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (rc, out, err) == (5, "out\n", "err\n")
    assert not client.containers(all=True, filters={"name": [name]})  # --rm removed it
    rc, out, err = cli(docker_host, "run", "-i", "--rm", "--network", "none", test_image, "cat",
                       input=b"hello stdin\n")
    assert (rc, out, err) == (0, "hello stdin\n", "")


@pytest.mark.integration
def test_exec_through_pipes(docker_host, sleeper):
    cid, name = sleeper
    rc, out, err = cli(docker_host, "exec", name, "sh", "-c", "echo $X; exit 4", "-e", "X=1")
    assert rc == 4 and out == "\n"  # options after the container belong to the command
    rc, out, err = cli(docker_host, "exec", "-e", "X=from-env", name, "sh", "-c", "echo $X >&2; exit 4")
    assert (rc, out, err) == (4, "", "from-env\n")
    rc, out, _ = cli(docker_host, "exec", "-i", name, "sort", input=b"b\na\n")
    assert (rc, out) == (0, "a\nb\n")


@pytest.mark.integration
def test_exec_it_is_a_shell_with_resize(docker_host, sleeper):
    cid, _ = sleeper
    term = Pty(["-H", docker_host, "exec", "-it", cid, "sh"], rows=30, cols=100)
    term.prompt()
    term.write(b"stty size\r")
    term.read_until(r"30 100\r\n")
    term.prompt()
    deadline = time.monotonic() + 60
    while True:  # the resize is asynchronous (SIGWINCH -> a thread -> the daemon)
        term.resize(41, 123)
        term.write(b"stty size\r")
        size = term.read_until(r"(\d+ \d+)\r\n").group(1)
        term.prompt()
        if size == b"41 123":
            break
        assert size == b"30 100" and time.monotonic() < deadline, size
        time.sleep(0.2)
    term.write(b"echo $((6*7))\r")
    term.read_until(r"\r\n42\r\n")
    term.prompt()
    term.write(b"exit 3\r")
    assert term.wait() == 3


@pytest.mark.integration
def test_run_it_in_a_terminal(docker_host, client, test_image):
    name = f"protocol-cli-runit-{uuid.uuid4().hex[:8]}"
    term = Pty(["-H", docker_host, "run", "-it", "--rm", "--name", name, "--network", "none", test_image, "sh"],
               rows=25, cols=90)
    term.prompt()
    term.write(b"stty size; tty\r")
    term.read_until(r"25 90\r\n/dev/pts/\d+")
    term.prompt()
    # Raw mode: Ctrl-C goes to the container's shell, not to us.
    term.write(b"sleep 30\r")
    time.sleep(0.5)
    term.write(b"\x03")
    term.prompt()
    term.write(b"echo still here\r")
    term.read_until(r"\r\nstill here\r\n")
    term.prompt()
    term.write(b"exit 6\r")
    assert term.wait() == 6
    assert not client.containers(all=True, filters={"name": [name]})


@pytest.fixture
def docker_config(registry, tmp_path):
    config = {"auths": {registry.host: {"auth": base64.b64encode(
        f"{registry.username}:{registry.password}".encode()).decode()}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return str(tmp_path)


@pytest.mark.integration
def test_pull_draws_per_layer_progress_in_a_terminal(docker_host, client, registry, docker_config):
    from _fresh_image import push_fresh_image

    ref = push_fresh_image(client, registry, size=6 << 20)
    try:
        term = Pty(["-H", docker_host, "pull", ref], rows=24, cols=120, env={"DOCKER_CONFIG": docker_config})
        assert term.wait() == 0, term.buf
    finally:
        client.call("images.remove", name=ref, force=True)
    text = term.buf.decode()
    # Drawn in place: a bar with sizes, cursor movement, line clearing.
    assert re.search(r"Downloading \[=*>\s*\]\s+[\d.]+[kM]B/[\d.]+MB", text), text
    assert "\x1b[1A" in text and "\x1b[2K" in text
    from test_progress import Screen

    screen = [line for line in Screen().feed(text.replace("\r\n", "\n")).lines if line]
    tag = ref.rsplit(":", 1)[1]
    assert screen[0] == f"{tag}: Pulling from protocol/fresh"
    assert re.fullmatch(r"[0-9a-f]{12}: Pull complete", screen[1]), screen
    assert screen[-1] == f"Status: Downloaded newer image for {ref}"


@pytest.mark.integration
def test_pull_and_push_through_a_pipe_are_plain_lines(docker_host, client, registry, docker_config, test_image):
    env = {"DOCKER_CONFIG": docker_config}
    ref = f"{registry.host}/protocol/cli:{uuid.uuid4().hex[:12]}"
    client.call("images.tag", name=test_image, repo=ref.rsplit(":", 1)[0], tag=ref.rsplit(":", 1)[1])
    try:
        rc, out, err = cli(docker_host, "push", ref, env=env)
        assert rc == 0, err
        assert "\x1b" not in out and "\r" not in out
        assert out.startswith(f"The push refers to repository [{ref.rsplit(':', 1)[0]}]\n")
        assert re.search(r"digest: sha256:[0-9a-f]{64} size: \d+", out)
        client.call("images.remove", name=ref)
        rc, out, err = cli(docker_host, "pull", ref, env=env)
        assert rc == 0 and out.splitlines()[-1] == f"Status: Downloaded newer image for {ref}"
        # Without the credentials: the registry's refusal, as one line.
        client.call("images.remove", name=ref)
        rc, out, err = cli(docker_host, "pull", ref, env={"DOCKER_CONFIG": "/nonexistent"})
        assert rc == 1 and err.startswith("docker-protocol: Error response from daemon: ")
        assert "auth" in err.lower() and err.count("\n") == 1
    finally:
        with contextlib.suppress(Exception):
            client.call("images.remove", name=ref, force=True)


@pytest.mark.integration
def test_build_shows_its_output(docker_host, client, tmp_path, test_image):
    tag = f"protocol-cli/build:{uuid.uuid4().hex[:12]}"
    (tmp_path / "Dockerfile").write_text(f"FROM {test_image}\nRUN echo built-$((40+2))\n")
    try:
        rc, out, err = cli(docker_host, "build", "-t", tag, str(tmp_path))
        assert rc == 0, err
        assert "Step 1/2 : FROM" in out and "built-42" in out and f"Successfully tagged {tag}" in out
        (tmp_path / "Dockerfile").write_text(f"FROM {test_image}\nRUN exit 9\n")
        rc, out, err = cli(docker_host, "build", str(tmp_path))
        assert rc == 1 and "returned a non-zero code: 9" in err and err.count("\n") == 1
    finally:
        with contextlib.suppress(Exception):
            client.call("images.remove", name=tag, force=True)


@pytest.mark.integration
def test_events_human_and_json(docker_host, client, docker_cleanup, test_image):
    since = int(time.time()) - 1
    cid = client.create_container(test_image, ["true"], HostConfig={"NetworkMode": "none"}).id
    docker_cleanup.append(cid)
    client.start_container(cid)
    client.wait_container(cid)
    until = int(time.time()) + 1
    rc, out, _ = cli(docker_host, "events", "--since", str(since), "--until", str(until),
                     "--filter", f"container={cid}", "--filter", "event=start")
    (line,) = out.splitlines()
    assert rc == 0
    assert re.fullmatch(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{9}}[+-]\d\d:\d\d container start {cid} \(.*"
                        rf"image={re.escape(test_image)}.*\)", line), line
    rc, out, _ = cli(docker_host, "events", "--since", str(since), "--until", str(until),
                     "--filter", f"container={cid}", "--format", "json")
    actions = [json.loads(x)["Action"] for x in out.splitlines()]
    assert actions[:2] == ["create", "start"] and "die" in actions


@pytest.mark.integration
def test_stats_one_shot_and_streaming(docker_host, sleeper):
    cid, name = sleeper
    rc, out, _ = cli(docker_host, "stats", "--no-stream", name)
    header, row = out.splitlines()
    assert rc == 0 and header.split("   ")[0] == "CONTAINER ID"
    assert re.match(rf"{cid[:12]}\s+{name}\s+\d+\.\d\d%\s+[\d.]+[KMG]?i?B / [\d.]+[KMG]i?B\s+\d+\.\d\d%", row), row
    proc = subprocess.Popen([*CLI, "-H", docker_host, "stats", name], stdout=subprocess.PIPE, text=True)
    try:
        tables = []
        while len(tables) < 2:
            line = proc.stdout.readline()
            assert line, "stats ended"
            if line.startswith("CONTAINER ID"):
                tables.append(proc.stdout.readline())
        assert all(r.startswith(cid[:12]) for r in tables)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.integration
def test_call_any_endpoint_version_gated(docker_host, sleeper):
    cid, name = sleeper
    rc, out, _ = cli(docker_host, "call", "containers.list", "all=true", f'filters={{"id":["{cid}"]}}')
    assert rc == 0 and [c["Id"] for c in json.loads(out)] == [cid]
    rc, out, _ = cli(docker_host, "call", "containers.top", f"id={name}")
    assert rc == 0 and any("sleep" in " ".join(p) for p in json.loads(out)["Processes"])
    rc, out, err = cli(docker_host, "--api-version", "1.41", "call", "containers.stop", f"id={name}",
                       "signal=SIGINT")
    assert rc == 1 and "needs API >= 1.42" in err and err.count("\n") == 1
    rc, out, err = cli(docker_host, "call", "containers.lst")
    assert rc == 1 and "containers.list" in err and "Traceback" not in err
    rc, out, _ = cli(docker_host, "call", "system.ping")
    assert (rc, out) == (0, "OK\n")


@pytest.mark.integration
def test_broken_pipe_is_quiet(docker_host):
    proc = subprocess.Popen([*CLI, "-H", docker_host, "endpoints"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first write, as with `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert err == ""
    proc = subprocess.Popen(f"{' '.join(CLI)} -H {docker_host} call images.list | head -c 1",
                            shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert out == b"[" and err == b""
