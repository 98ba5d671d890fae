"""Host selection and the TCP/TLS transports (TLS with certificates from trustme)."""

import ssl

import pytest
import trustme

from _fakedaemon import FakeDaemon, http_response
from protocol import Client, LocalProtocolError, TLSConfig, TransportError, host_from_env, parse_host

PING = {"GET /_ping": http_response("200 OK", b"OK", {"Api-Version": "1.41"}),
        "HEAD /_ping": http_response("200 OK", b"", {"Api-Version": "1.41"})}


@pytest.mark.parametrize("host, scheme, address, port, tls", [
    ("", "unix", "/var/run/docker.sock", 0, False),
    ("unix:///tmp/d.sock", "unix", "/tmp/d.sock", 0, False),
    ("/tmp/d.sock", "unix", "/tmp/d.sock", 0, False),
    ("tcp://10.0.0.1", "tcp", "10.0.0.1", 2375, False),
    ("tcp://example:1234", "tcp", "example", 1234, False),
    ("http://example", "tcp", "example", 2375, False),
    ("https://example", "tcp", "example", 2376, True),
    # The docker CLI's defaults: a bare address is tcp, a missing host is localhost.
    ("example:1234", "tcp", "example", 1234, False),
    ("10.0.0.1", "tcp", "10.0.0.1", 2375, False),
    ("tcp://", "tcp", "localhost", 2375, False),
    ("tcp://:2380", "tcp", "localhost", 2380, False),
    ("ssh://me@host", "ssh", "host", 0, False),
    ("ssh://host:2222", "ssh", "host", 2222, False),
])
def test_parse_host(host, scheme, address, port, tls):
    h = parse_host(host)
    assert (h.scheme, h.address, h.port, h.tls is not None) == (scheme, address, port, tls)


@pytest.mark.parametrize("bad", ["ftp://x", "tcp://h:notaport", "tcp://h:2375/base", "ssh://",
                                 "ssh://me:secret@host", "ssh://host?x=1", "npipe:////./pipe/docker"])
def test_bad_hosts(bad):
    with pytest.raises(LocalProtocolError):
        parse_host(bad)


def test_env_like_the_docker_cli(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    h = host_from_env({"DOCKER_HOST": "tcp://docker.example:2376", "DOCKER_TLS_VERIFY": "1",
                       "DOCKER_CERT_PATH": str(tmp_path)})
    assert h.scheme == "tcp" and h.port == 2376
    assert h.tls == TLSConfig(ca_cert=str(tmp_path / "ca.pem"), client_cert=str(tmp_path / "cert.pem"),
                              client_key=str(tmp_path / "key.pem"), verify=True)
    assert host_from_env({"DOCKER_HOST": "tcp://h"}).tls is None
    assert host_from_env({}).address == "/var/run/docker.sock"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_daemon(ca, tmp_path):
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED  # the daemon's --tlsverify: client certificates required
    d = FakeDaemon(PING, tls=ctx)
    yield d
    d.close()


def client_files(ca, tmp_path):
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    client = ca.issue_cert("docker-client")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    return str(ca_path), str(cert), str(key)


def test_tls_with_client_certificate(ca, tls_daemon, tmp_path):
    ca_path, cert, key = client_files(ca, tmp_path)
    with Client(tls_daemon.host, tls=TLSConfig(ca_cert=ca_path, client_cert=cert, client_key=key)) as c:
        assert c.ping() == "OK"
        assert c.api_version == "1.41"


def test_tls_from_environment(ca, tls_daemon, tmp_path):
    client_files(ca, tmp_path)
    port = tls_daemon.host.rsplit(":", 1)[1]
    env = {"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    with Client(environ=env) as c:
        assert c.ping() == "OK"


def test_tls_without_client_certificate_fails(ca, tls_daemon, tmp_path):
    ca_path, _, _ = client_files(ca, tmp_path)
    with Client(tls_daemon.host, tls=TLSConfig(ca_cert=ca_path)) as c:
        with pytest.raises(TransportError):
            c.ping()


def test_tls_untrusted_server_fails(tls_daemon, tmp_path):
    other = trustme.CA()
    path = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(path))
    with Client(tls_daemon.host, tls=TLSConfig(ca_cert=str(path))) as c:
        with pytest.raises(TransportError, match="TLS"):
            c.ping()


def test_plain_tcp():
    d = FakeDaemon(PING)
    try:
        with Client(d.host) as c:
            assert c.ping() == "OK"
            assert c.api_version == "1.41"
    finally:
        d.close()


def test_stale_pooled_connection_is_not_used(tmp_path):
    # The fake closes each connection after one keep-alive answer: the pooled
    # connection is dead, and the next request must go out on a new one.
    d = FakeDaemon(PING, unix_path=str(tmp_path / "d.sock"), close_after=True)
    try:
        with Client(d.host, version="1.41") as c:
            for _ in range(3):
                assert c.ping() == "OK"
        # The daemon's EOF is seen on the idle connection (when it is
        # released or acquired), so each ping went out once, on a new one.
        assert d.seen == ["GET /_ping"] * 3
    finally:
        d.close()


def test_ssh_host_parts():
    h = parse_host("ssh://me@example.com:2222/run/user/1000/docker.sock")
    assert (h.user, h.address, h.port, h.path) == ("me", "example.com", 2222, "/run/user/1000/docker.sock")
    assert h.url == "ssh://me@example.com:2222/run/user/1000/docker.sock"
    assert parse_host("ssh://example.com").url == "ssh://example.com"
