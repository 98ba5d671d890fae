"""The docker CLI's rules for finding the daemon: DOCKER_HOST, DOCKER_CONTEXT,
currentContext, the context store, DOCKER_API_VERSION, HttpHeaders and the
User-Agent.  Unit tests on temporary config folders, plus one test through
a context made by the real ``docker context create``; the tests that reach
a daemon through a context run on both drivers (``make_client``)."""

import hashlib
import json
import os
import subprocess

import pytest

from _fakedaemon import FakeDaemon, http_response
from protocol import (
    Client,
    DockerContextError,
    TLSConfig,
    __version__,
    resolve_environment,
)

PING = {"GET /_ping": http_response("200 OK", b"OK", {"Api-Version": "1.41"}),
        "HEAD /_ping": http_response("200 OK", b"", {"Api-Version": "1.41"})}


def make_context(config, name, host, *, skip_verify=False, tls_files=()):
    ident = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / ident
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}},
    }))
    tls = config / "contexts" / "tls" / ident / "docker"
    for file in tls_files:
        tls.mkdir(parents=True, exist_ok=True)
        (tls / file).write_text("pem")
    return tls


@pytest.fixture
def config(tmp_path):
    d = tmp_path / "docker-config"
    d.mkdir()
    return d


def env_for(config, **extra):
    return {"DOCKER_CONFIG": str(config), "HOME": "/nonexistent", **extra}


def test_no_configuration_is_the_local_socket(config):
    found = resolve_environment(env_for(config))
    assert (found.context, found.host.url, found.api_version, found.headers) == (
        "default", "unix:///var/run/docker.sock", None, ())


def test_docker_context_names_a_stored_context(config):
    make_context(config, "remote", "tcp://10.1.2.3:2375")
    found = resolve_environment(env_for(config, DOCKER_CONTEXT="remote"))
    assert found.context == "remote"
    assert (found.host.scheme, found.host.address, found.host.port, found.host.tls) == (
        "tcp", "10.1.2.3", 2375, None)


def test_current_context_from_config_json(config):
    make_context(config, "from-file", "unix:///run/other.sock")
    (config / "config.json").write_text(json.dumps({"currentContext": "from-file"}))
    found = resolve_environment(env_for(config))
    assert (found.context, found.host.url) == ("from-file", "unix:///run/other.sock")


def test_precedence_like_the_docker_cli(config):
    make_context(config, "a", "tcp://a:1")
    make_context(config, "b", "tcp://b:2")
    (config / "config.json").write_text(json.dumps({"currentContext": "a"}))
    # DOCKER_CONTEXT beats currentContext...
    assert resolve_environment(env_for(config, DOCKER_CONTEXT="b")).host.address == "b"
    # ...DOCKER_HOST beats both (the "default" context is the environment)...
    found = resolve_environment(env_for(config, DOCKER_CONTEXT="b", DOCKER_HOST="tcp://h:3"))
    assert (found.context, found.host.address, found.host.port) == ("default", "h", 3)
    # ...an explicit context (the CLI's --context) beats DOCKER_HOST...
    found = resolve_environment(env_for(config, DOCKER_HOST="tcp://h:3"), context="a")
    assert (found.context, found.host.address) == ("a", "a")
    # ...and "default" means the environment even when a context is current.
    found = resolve_environment(env_for(config, DOCKER_CONTEXT="default"))
    assert found.host.url == "unix:///var/run/docker.sock"
    # An empty DOCKER_HOST counts as unset, as for the CLI.
    assert resolve_environment(env_for(config, DOCKER_HOST="")).context == "a"


def test_host_and_context_together_are_refused(config):
    make_context(config, "a", "tcp://a:1")
    with pytest.raises(DockerContextError):
        resolve_environment(env_for(config), context="a", host="tcp://h:1")
    with pytest.raises(Exception, match="at most one"):
        Client("tcp://h:1", context="a", environ=env_for(config))


def test_missing_context_is_an_error_naming_it(config):
    with pytest.raises(DockerContextError, match="'nope' does not exist"):
        resolve_environment(env_for(config, DOCKER_CONTEXT="nope"))


@pytest.mark.parametrize("bad", ["{", "[]", '{"currentContext": 5}'])
def test_broken_config_json_is_an_error(config, bad):
    (config / "config.json").write_text(bad)
    with pytest.raises(DockerContextError):
        resolve_environment(env_for(config))


def test_context_tls_material(config):
    tls_dir = make_context(config, "secure", "tcp://d.example:2376", tls_files=("ca.pem", "cert.pem", "key.pem"))
    found = resolve_environment(env_for(config, DOCKER_CONTEXT="secure"))
    assert found.host.tls == TLSConfig(ca_cert=str(tls_dir / "ca.pem"), client_cert=str(tls_dir / "cert.pem"),
                                       client_key=str(tls_dir / "key.pem"), verify=True)
    make_context(config, "insecure", "tcp://d.example:2376", skip_verify=True)
    found = resolve_environment(env_for(config, DOCKER_CONTEXT="insecure"))
    assert found.host.tls == TLSConfig(verify=False)


def test_default_context_takes_tls_from_the_environment(config, tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    found = resolve_environment(env_for(config, DOCKER_HOST="tcp://h:2376", DOCKER_TLS_VERIFY="1",
                                        DOCKER_CERT_PATH=str(tmp_path)))
    assert found.host.tls is not None and found.host.tls.ca_cert == str(tmp_path / "ca.pem")


def test_api_version_and_headers(config):
    (config / "config.json").write_text(json.dumps({"HttpHeaders": {"X-Meta": "yes"}}))
    found = resolve_environment(env_for(config, DOCKER_API_VERSION="1.40"))
    assert found.api_version == "1.40" and found.headers == (("X-Meta", "yes"),)


@pytest.mark.parametrize("headers", [{"X-Bad": "a\r\nInjected: 1"}, {"Bad Name": "x"}, {"X": 5}])
def test_unsafe_http_headers_are_refused(config, headers):
    (config / "config.json").write_text(json.dumps({"HttpHeaders": headers}))
    with pytest.raises(DockerContextError):
        resolve_environment(env_for(config))


def _recording_daemon():
    """A fake daemon on memory pipes, and the list of raw request heads it received."""
    daemon = FakeDaemon(PING, memory=True)
    return daemon, daemon.heads


def test_user_agent_and_http_headers_on_every_request(config):
    (config / "config.json").write_text(json.dumps({"HttpHeaders": {"X-Meta-Source": "tests"}}))
    daemon, heads = _recording_daemon()
    with Client(connect=daemon.connect, environ=env_for(config)) as c:
        assert c.ping() == "OK"
        c.api_version  # negotiation requests carry them too
    assert len(heads) >= 2
    for head in heads:
        lines = head.lower().split(b"\r\n")
        assert f"user-agent: docker-protocol/{__version__}".encode() in lines
        assert b"x-meta-source: tests" in lines


def test_http_headers_may_replace_the_user_agent(config):
    (config / "config.json").write_text(json.dumps({"HttpHeaders": {"User-Agent": "mine/1"}}))
    daemon, heads = _recording_daemon()
    with Client(connect=daemon.connect, environ=env_for(config)) as c:
        c.ping()
    lines = heads[0].lower().split(b"\r\n")
    assert b"user-agent: mine/1" in lines
    assert sum(line.startswith(b"user-agent:") for line in lines) == 1


def test_docker_api_version_pins_without_probing(config):
    daemon, heads = _recording_daemon()
    with Client(connect=daemon.connect, environ=env_for(config, DOCKER_API_VERSION="1.40")) as c:
        assert c.api_version == "1.40"
        c.ping()
    assert len(heads) == 1  # the ping only: no negotiation
    # An explicit version= still wins over the environment.
    with Client(connect=daemon.connect, version="1.39", environ=env_for(config, DOCKER_API_VERSION="1.40")) as c:
        assert c.api_version == "1.39"


def test_client_uses_the_current_context(config, make_client):
    d = FakeDaemon(PING)
    try:
        make_context(config, "fake", d.host)
        (config / "config.json").write_text(json.dumps({"currentContext": "fake"}))
        with make_client(environ=env_for(config)) as c:
            assert c.context == "fake" and c.host.url == d.host
            assert c.ping() == "OK"
    finally:
        d.close()


@pytest.mark.integration
def test_context_made_by_the_docker_cli_reaches_the_daemon(docker_tls, tmp_path, make_client):
    """``docker context create`` (Debian's docker.io CLI) writes the store;
    the client finds the TLS endpoint and its certificates there."""
    cli = "/usr/bin/docker"
    assert os.path.exists(cli), "the harness installs docker.io"
    config = tmp_path / "cli-config"
    env = {**os.environ, "DOCKER_CONFIG": str(config)}
    env.pop("DOCKER_HOST", None)
    env.pop("DOCKER_CONTEXT", None)
    port = docker_tls.host.rsplit(":", 1)[1]
    subprocess.run(
        [cli, "context", "create", "protocol-tls", "--docker",
         f"host=tcp://127.0.0.1:{port},ca={docker_tls.ca},cert={docker_tls.cert},key={docker_tls.key}"],
        env=env, check=True, capture_output=True, timeout=60,
    )
    subprocess.run([cli, "context", "use", "protocol-tls"], env=env, check=True, capture_output=True,
                   timeout=60)
    ours = {"DOCKER_CONFIG": str(config), "HOME": str(tmp_path)}
    with make_client(environ=ours) as c:
        assert c.context == "protocol-tls"
        assert c.host.tls is not None and c.host.tls.client_cert is not None
        assert c.ping() == "OK"
        # The same daemon the CLI reaches through the same context.
        cli_version = subprocess.run([cli, "version", "--format", "{{.Server.APIVersion}}"], env=env,
                                     check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        assert c.version()["ApiVersion"] == cli_version
    # DOCKER_CONTEXT=default goes back to the environment (here: no daemon at the socket path).
    with make_client(environ={**ours, "DOCKER_CONTEXT": "default"}) as c:
        assert c.context == "default" and c.host.url == "unix:///var/run/docker.sock"
