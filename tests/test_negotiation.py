"""Version negotiation: the sans-I/O rules, and the client against scripted
daemons of every era (HEAD /_ping, GET /_ping, /version, release mapping)."""

import json

import pytest

from _fakedaemon import FakeDaemon, http_response
from protocol import APIVersion, Client, RemoteProtocolError, Response, VersionError, VersionRange, choose_version
from protocol._core._negotiation import api_version_for_release, version_from_ping, version_from_version_body

CLIENT = VersionRange(APIVersion("1.0"), APIVersion("1.55"))


def test_choose_min_of_maxima():
    assert choose_version(CLIENT, VersionRange(APIVersion("1.12"), APIVersion("1.41"))) == "1.41"
    capped = VersionRange(APIVersion("1.0"), APIVersion("1.30"))
    assert choose_version(capped, VersionRange(APIVersion("1.12"), APIVersion("1.41"))) == "1.30"


def test_no_overlap_is_a_version_error():
    with pytest.raises(VersionError) as info:
        choose_version(VersionRange(APIVersion("1.24"), APIVersion("1.30")), VersionRange(None, APIVersion("1.20")))
    assert info.value.server_version == APIVersion("1.20")
    with pytest.raises(VersionError) as info:
        choose_version(VersionRange(APIVersion("1.0"), APIVersion("1.30")), VersionRange(APIVersion("1.44"), APIVersion("1.52")))
    assert info.value.too_new is False


def test_api_version_header():
    assert version_from_ping(Response(200, [(b"Api-Version", b"1.41")])) == "1.41"
    assert version_from_ping(Response(200, [])) is None
    assert version_from_ping(Response(200, [(b"Api-Version", b"junk")])) is None


def test_version_body():
    r = version_from_version_body(b'{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}')
    assert r == VersionRange(APIVersion("1.12"), APIVersion("1.41"))
    # docker 0.6.7: no ApiVersion yet; the release says 1.7
    r = version_from_version_body(b'{"Version":"0.6.7","GitCommit":"cb48ecc","GoVersion":"go1.2"}')
    assert r == VersionRange(None, APIVersion("1.7"))
    with pytest.raises(RemoteProtocolError):  # peer-controlled JSON: never a builtin error
        version_from_version_body(b"not json")
    assert version_from_version_body(b'{"Version":"weird"}') is None


@pytest.mark.parametrize("release, api", [("0.3.3", "1.0"), ("0.4.0", "1.1"), ("0.4.4", "1.2"), ("0.6.7", "1.7"),
                                          ("0.8.1", "1.9"), ("0.10.0", "1.10"), ("0.11.1", "1.11")])
def test_release_map(release, api):
    assert api_version_for_release(release) == APIVersion(api)


@pytest.fixture
def daemon(tmp_path):
    made = []

    def make(routes):
        d = FakeDaemon(routes, memory=True)  # the scripted daemon on in-memory pipes
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def ok_ping(version, head=True):
    h = {"Api-Version": version} if version else {}
    routes = {"GET /_ping": http_response("200 OK", b"OK", h)}
    if head:
        routes["HEAD /_ping"] = http_response("200 OK", b"", h).replace(b"Content-Length: 0", b"Content-Length: 0")
    return routes


def test_modern_daemon_uses_head_ping(daemon):
    d = daemon({**ok_ping("1.41"), "GET /v1.41/info": http_response("200 OK", b"{}")})
    with Client(connect=d.connect) as c:
        assert c.api_version == "1.41"
        c.info()
    assert d.seen == ["HEAD /_ping", "GET /v1.41/info"]


def test_head_unsupported_falls_back_to_get(daemon):
    # API 1.25-1.39: HEAD /_ping is not routed (404 or 405).
    d = daemon({**ok_ping("1.38", head=False)})
    with Client(connect=d.connect) as c:
        assert c.api_version == "1.38"
    assert d.seen == ["HEAD /_ping", "GET /_ping"]


def test_daemon_newer_than_client_is_capped(daemon):
    d = daemon(ok_ping("1.99"))
    with Client(connect=d.connect) as c:
        assert c.api_version == "1.55"


def test_ping_without_header_falls_back_to_version(daemon):
    # docker 1.11-1.12 (API 1.23-1.24): /_ping exists but has no Api-Version.
    body = json.dumps({"Version": "1.12.6", "ApiVersion": "1.24"}).encode()
    d = daemon({**ok_ping(None), "GET /version": http_response("200 OK", body, {"Content-Type": "application/json"})})
    with Client(connect=d.connect) as c:
        assert c.api_version == "1.24"
    assert d.seen == ["HEAD /_ping", "GET /_ping", "GET /version"]


def test_ancient_daemon_release_mapping(daemon):
    # docker 0.6.7: no /_ping at all (bare 404s), /version without ApiVersion.
    body = json.dumps({"Version": "0.6.7", "GitCommit": "cb48ecc", "GoVersion": "go1.2"}).encode()
    d = daemon({"GET /version": http_response("200 OK", body)})
    with Client(connect=d.connect) as c:
        assert c.api_version == "1.7"


def test_daemon_too_new_for_a_capped_client(daemon):
    body = json.dumps({"ApiVersion": "1.52", "MinAPIVersion": "1.44"}).encode()
    d = daemon({**ok_ping(None), "GET /version": http_response("200 OK", body)})
    with Client(connect=d.connect, max_version="1.41") as c:
        with pytest.raises(VersionError) as info:
            c.api_version
    assert info.value.server_version == "1.44"


def test_too_new_of_old_eras_through_the_client(daemon):
    # docker 0.8-1.6 refused a too-new version with a 404 and this text.
    text = b"client and server don't have same version (client : 1.13, server: 1.12)\n"
    d = daemon({"GET /v1.13/info": http_response("404 Not Found", text, {"Content-Type": "text/plain"})})
    with Client(connect=d.connect, version="1.13") as c:
        with pytest.raises(VersionError) as info:
            c.info()
    assert (info.value.client_version, info.value.server_version) == ("1.13", "1.12")
