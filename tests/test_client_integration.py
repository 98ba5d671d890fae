"""The client against the session's engine, on both drivers (``make_client``);
versions asserted are the ones it declares."""

import threading
import time

import pytest

import protocol
from protocol import APIVersion, Frame, NotFound, Stream, VersionError

from _drivers import api_version, count_requests

pytestmark = pytest.mark.integration


@pytest.fixture
def client(docker_host, make_client):
    with make_client(docker_host) as c:
        yield c


def run(client, cleanup, image, script, **config):
    created = client.create_container(
        image, ["sh", "-c", script], HostConfig={"NetworkMode": "none"}, **config
    )
    cleanup.append(created["Id"])
    client.start_container(created["Id"])
    return created["Id"]


@pytest.mark.podman
def test_negotiates_the_daemon_maximum(make_client, docker_host, engine):
    with make_client(docker_host) as c:
        # The engine's own maximum (this client speaks up to 1.55).
        assert api_version(c) == APIVersion(engine.api_version)
        assert c.ping() == "OK"
        v = c.version()
        assert (v["ApiVersion"], v["MinAPIVersion"]) == (engine.api_version, engine.min_api_version)
        assert "Containers" in c.info()


@pytest.mark.podman
def test_negotiation_is_capped_by_the_client(make_client, docker_host, engine):
    with make_client(docker_host, max_version="1.30") as c:
        assert api_version(c) == APIVersion("1.30")
        # Requests really go out at 1.30; /version still says the engine's maximum.
        assert c.version()["ApiVersion"] == engine.api_version


@pytest.mark.podman
def test_pinned_version_skips_the_probe(make_client, docker_host):
    with make_client(docker_host, version="1.25") as c:
        assert api_version(c) == APIVersion("1.25")
        assert c._pool._idle == []  # nothing was sent to negotiate
        assert isinstance(c.info(), protocol.SystemInfo)


@pytest.mark.podman
def test_negotiation_happens_once_under_concurrency(make_client, docker_host, engine):
    # Eight threads ask at once (on the async driver: eight tasks on its loop).
    c = make_client(docker_host)
    # Only negotiation sends unversioned probes (HEAD /_ping, GET /_ping,
    # GET /version); each is held a little so that the askers overlap.
    sent = count_requests(c, unversioned_delay=0.05)
    results = []
    threads = [threading.Thread(target=lambda: results.append(api_version(c))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    calls = [r.path for r in sent if r.version is None]
    assert calls and calls[0] == "/_ping" and len(calls) <= 2, calls  # one negotiation: HEAD, maybe GET
    assert results == [APIVersion(engine.api_version)] * 8
    c.close()


def _next_minor(version):
    major, minor = str(version).split(".")
    return f"{major}.{int(minor) + 1}"


def test_too_new_pinned_version_is_a_version_error(make_client, docker_host, engine):
    # One above what the engine declares, in the engine's own wording
    # (20.10: "client version 1.42 is too new. Maximum supported API version
    # is 1.41"; 28.5 says the same with its numbers).
    too_new = _next_minor(engine.api_version)
    with make_client(docker_host, version=too_new) as c:
        with pytest.raises(VersionError) as info:
            c.info()
    assert info.value.client_version == APIVersion(too_new)
    assert info.value.server_version == APIVersion(engine.api_version)
    assert info.value.too_new is True


def test_too_old_pinned_version_is_a_version_error(make_client, docker_host, engine):
    with make_client(docker_host, version="1.5") as c:
        with pytest.raises(VersionError) as info:
            c.info()
    assert info.value.server_version == APIVersion(engine.min_api_version)
    assert info.value.too_new is False


@pytest.mark.podman
def test_not_found_is_typed(client):
    with pytest.raises(NotFound) as info:
        client.inspect_container("no-such-container-here")
    assert info.value.status == 404
    assert "no-such-container-here" in info.value.message


@pytest.mark.api(max="1.23")
def test_old_api_plain_text_errors(make_client, docker_host):
    # Below 1.24 the daemon answers errors in plain text.
    with make_client(docker_host, version="1.20") as c:
        with pytest.raises(NotFound) as info:
            c.inspect_container("no-such-container-here")
    assert info.value.message == "No such container: no-such-container-here"


@pytest.mark.podman
def test_container_lifecycle_and_logs(client, docker_cleanup, test_image):
    cid = run(client, docker_cleanup, test_image, "echo out1; echo err1 >&2; echo out2; exit 3")
    assert client.wait_container(cid)["StatusCode"] == 3
    info = client.inspect_container(cid)
    assert info["State"]["ExitCode"] == 3
    assert any(c["Id"] == cid for c in client.containers(all=True))
    assert any(c["Id"] == cid for c in client.containers(all=True, filters={"status": ["exited"]}))
    items = list(client.logs(cid))
    assert all(isinstance(i, Frame) for i in items)
    out = b"".join(i.data for i in items if i.stream is Stream.STDOUT)
    err = b"".join(i.data for i in items if i.stream is Stream.STDERR)
    assert out == b"out1\nout2\n"
    assert err == b"err1\n"
    only_err = list(client.logs(cid, stdout=False))
    assert b"".join(i.data for i in only_err) == b"err1\n"
    client.remove_container(cid)
    with pytest.raises(NotFound):
        client.inspect_container(cid)


@pytest.mark.podman
def test_tty_container_logs_are_raw(client, docker_cleanup, test_image):
    cid = run(client, docker_cleanup, test_image, "echo hello", Tty=True)
    client.wait_container(cid)
    data = b"".join(f.data for f in client.logs(cid))
    assert data == b"hello\r\n"  # the TTY translates \n


@pytest.mark.podman
def test_follow_logs_are_live(client, docker_cleanup, test_image):
    cid = run(client, docker_cleanup, test_image, "for i in 1 2 3; do echo tick$i; sleep 0.4; done")
    arrivals = []
    start = time.monotonic()
    for frame in client.logs(cid, follow=True):
        arrivals.append((time.monotonic() - start, frame.data))
    assert [d for _, d in arrivals] == [b"tick1\n", b"tick2\n", b"tick3\n"]
    # Each line was delivered when it was written, not at the end.
    assert arrivals[1][0] - arrivals[0][0] > 0.2
    assert arrivals[2][0] - arrivals[1][0] > 0.2


@pytest.mark.podman
def test_many_lines_in_order(client, docker_cleanup, test_image):
    cid = run(client, docker_cleanup, test_image, "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done")
    client.wait_container(cid)
    out = b"".join(f.data for f in client.logs(cid))
    assert out == b"".join(b"line%d\n" % i for i in range(20000))


@pytest.mark.podman
def test_connections_are_reused(client):
    client.ping()
    first = client._pool._idle[:]
    for _ in range(5):
        client.version()
    assert client._pool._idle == first
    # The sans-I/O connection is kept with its transport, and a change of
    # the engine's bounds reaches it.
    (_, conn), = first
    assert isinstance(conn, protocol.Connection)
    client.engine.max_body_size = 10  # the engine is public: an embedder can change it
    with pytest.raises(protocol.MessageTooLarge):
        client.version()
    assert conn.max_body_size == 10
    assert client._pool._idle == []  # an answer left unread: not reused


@pytest.mark.podman
def test_repeated_small_answers_are_read_in_one_step(client, monkeypatch, test_image):
    # A kept connection's repeat of the same request with the same head
    # (a daemon's change only in Date, once a second) is read by
    # Connection.receive_whole: a regression to the general path shows here.
    taken = []
    original = protocol.Connection.receive_whole

    def counting(self, data, limit=None):
        whole = original(self, data, limit)
        taken.append(whole is not None)
        return whole

    monkeypatch.setattr(protocol.Connection, "receive_whole", counting)
    version, image = client.version(), client.inspect_image(test_image)  # image: chunked on dockerd
    pings = [client.ping() for _ in range(4)]
    versions = [client.version() for _ in range(4)]
    images = [client.inspect_image(test_image) for _ in range(4)]
    assert pings == ["OK"] * 4 and all(v == version for v in versions) and all(i == image for i in images)
    # A connection plans for its last request only: in each run of four
    # the first is read the general way, and of the next three at most one
    # sees a new Date (a second boundary).
    assert len(taken) == 14, taken
    for run in (taken[2:6], taken[6:10], taken[10:14]):
        assert run[1:].count(True) >= 2, taken


@pytest.mark.podman
def test_a_half_sent_body_spends_its_connection_only(client):
    client.ping()
    idle = client._pool._idle[:]
    assert len(idle) == 1
    with pytest.raises(protocol.LocalProtocolError, match="give a JSON body as json="):
        client.call("images.build", body={"Image": "busybox"})
    assert client._pool._idle == idle  # refused before anything was sent
    with pytest.raises(protocol.LocalProtocolError, match="body chunk must be bytes, not str"):
        client.call("images.build", body=iter([b"tar", "text"]))
    assert client._pool._idle == []  # the half-sent request's connection is closed, not pooled
    assert client.ping() == "OK"


def test_images(client, test_image):
    assert any(test_image in (i.get("RepoTags") or []) for i in client.images())
    assert client.inspect_image(test_image)["Config"]["Cmd"] == ["sh"]


@pytest.mark.podman
def test_env_host(make_client, docker_host, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    with make_client() as c:
        assert c.ping() == "OK"


@pytest.mark.podman
def test_unreachable_daemon_is_transport_error(make_client, tmp_path):
    with make_client(f"unix://{tmp_path}/nothing.sock") as c:
        with pytest.raises(protocol.TransportError, match="cannot connect"):
            c.ping()


@pytest.mark.podman
def test_logs_sink_form(client, docker_cleanup, test_image, tmp_path):
    cid = run(client, docker_cleanup, test_image, "seq 1 3000; echo oops >&2")
    client.wait_container(cid)
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        assert client.logs_into(cid, out, err) == []
    assert out_path.read_bytes() == b"".join(b"%d\n" % i for i in range(1, 3001))
    assert err_path.read_bytes() == b"oops\n"
    # File descriptors work too.
    import os

    r, w = os.pipe()
    try:
        client.logs_into(cid, w, w, tail=1)
        # The last line of the log: "oops" or "3000", whichever the daemon
        # copied last (stdout and stderr are copied by separate goroutines).
        assert os.read(r, 100) in (b"oops\n", b"3000\n")
    finally:
        os.close(r)
        os.close(w)


def test_events_since_until(client, docker_cleanup, test_image):
    start = int(time.time()) - 1
    cid = run(client, docker_cleanup, test_image, "true")
    client.wait_container(cid)
    with client.events(since=start, until=int(time.time()) + 1, filters={"container": [cid]}) as events:
        actions = [e["Action"] for e in events]
    assert actions[:2] == ["create", "start"]
    assert "die" in actions


@pytest.mark.podman
def test_stats_stream(client, docker_cleanup, test_image):
    cid = run(client, docker_cleanup, test_image, "sleep 30")
    with client.stats(cid) as stats:
        first = next(iter(stats))
    assert "memory_stats" in first and "read" in first
    one = list(client.stats(cid, stream=False))
    assert len(one) == 1 and "cpu_stats" in one[0]
