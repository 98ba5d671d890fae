"""The real daemon over TCP+TLS (client certificates): requests, streams and
hijacked sessions with half-close, on both stream twins and both drivers."""

import hashlib
import os

import pytest

from protocol import Stream, TLSConfig, TransportError

from _drivers import api_version

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_client(docker_tls, twin, make_client):
    tls = TLSConfig(ca_cert=docker_tls.ca, client_cert=docker_tls.cert, client_key=docker_tls.key)
    with make_client(docker_tls.host, tls=tls, stream_impl=twin) as c:
        yield c


def test_negotiates_over_tls(tls_client, engine):
    assert api_version(tls_client) == engine.api_version
    assert tls_client.ping() == "OK"
    assert tls_client.version()["ApiVersion"] == engine.api_version


def test_environment_like_the_docker_cli(docker_tls, make_client):
    env = {"DOCKER_HOST": docker_tls.host.replace("https://", "tcp://"), "DOCKER_TLS_VERIFY": "1",
           "DOCKER_CERT_PATH": docker_tls.cert_path}
    with make_client(environ=env) as c:
        assert c.ping() == "OK"


def test_client_certificate_is_required(docker_tls, make_client):
    with make_client(docker_tls.host, tls=TLSConfig(ca_cert=docker_tls.ca)) as c:
        with pytest.raises(TransportError):
            c.ping()


def test_logs_over_tls(tls_client, docker_cleanup, test_image):
    cid = tls_client.create_container(test_image, ["sh", "-c", "seq 1 20000; echo done >&2"],
                                      HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    tls_client.start_container(cid)
    tls_client.wait_container(cid)
    items = list(tls_client.logs(cid))
    assert b"".join(i.data for i in items if i.stream is Stream.STDOUT) == b"".join(
        b"%d\n" % i for i in range(1, 20001))
    assert b"".join(i.data for i in items if i.stream is Stream.STDERR) == b"done\n"


def test_exec_stdin_half_close_over_tls(tls_client, docker_cleanup, test_image):
    cid = tls_client.create_container(test_image, ["sleep", "600"], HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    tls_client.start_container(cid)
    data = os.urandom(8 * 1024 * 1024)
    # cat echoes while we write: reads and writes run concurrently on one
    # TLS connection, then close_notify ends stdin and the output still arrives.
    result = tls_client.exec_run(cid, ["sh", "-c", "cat; echo after-eof >&2"], input=data, max_output=None)
    assert result.exit_code == 0
    assert hashlib.sha256(result.stdout).digest() == hashlib.sha256(data).digest()
    assert result.stderr == b"after-eof\n"


def test_attach_half_close_over_tls(tls_client, docker_cleanup, test_image):
    cid = tls_client.create_container(test_image, ["sh", "-c", "cat; echo bye"], OpenStdin=True, StdinOnce=True,
                                      HostConfig={"NetworkMode": "none"})["Id"]
    docker_cleanup.append(cid)
    tls_client.start_container(cid)
    with tls_client.attach(cid, stdin=True) as session:
        session.write(b"over tls\n")
        session.close_stdin()
        out = b"".join(f.data for f in session)
        assert session.wait() == 0
    assert out == b"over tls\nbye\n"
