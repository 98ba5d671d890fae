"""Podman's Docker-compatible API, from bytes recorded from Podman 4.3.1
(tests/recorded/podman_*.http) and scripted answers: what a client must
survive there (wire facts in the engines reference).

The same behaviour against a real Podman service is in
tests/test_podman_integration.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from protocol import (
    BadRequest,
    Client,
    Conflict,
    LocalProtocolError,
    NotFound,
    ServerError,
    Stream,
    UnsupportedEndpoint,
)
from protocol._core._events import Response
from protocol._core._request import Request, ResponseKind
from protocol._core._responses import decode_path_stat, error_from_response

from _drivers import api_version
from _fakedaemon import FakeDaemon, http_response
from test_connection import check_every_split, recorded

CID = "0123456789ab"


def frames_of(events):
    return [(e[1], e[2]) for e in events if e[0] == "frame"]


# ---------------------------------------------------------------------------
# Output kind: Podman answers as 1.41 whatever version the URL says, labels
# non-TTY exec/attach "raw-stream" and logs "octet-stream".


def test_logs_pinned_above_1_42_follow_the_answered_version(twin):
    # Request at 1.44, answer Api-Version 1.41 with octet-stream: the label
    # is not definite, so the known TTY setting (no TTY) decides.
    r = Request("GET", "/containers/{id}/logs", kind=ResponseKind.STREAM, params={"id": CID},
                query={"stdout": True, "stderr": True}, version="1.44", tty=False)
    _, ev = check_every_split(r, recorded("podman_logs_v1.44"), twin)
    assert frames_of(ev) == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]


def test_logs_without_a_known_tty_is_an_explicit_error_not_corruption(twin):
    r = Request("GET", "/containers/{id}/logs", kind=ResponseKind.STREAM, params={"id": CID},
                version="1.44")
    from test_connection import run

    with pytest.raises(LocalProtocolError, match="multiplexed or raw"):
        run(r, [recorded("podman_logs_v1.44")], twin)


def test_exec_raw_stream_label_loses_to_the_known_tty_setting(twin):
    # Podman's 101 carries no Api-Version and says raw-stream for a non-TTY
    # exec: trusting it delivered the frame headers inside stdout.
    r = Request("POST", "/exec/{id}/start", kind=ResponseKind.HIJACK, params={"id": CID},
                json={"Detach": False, "Tty": False}, version="1.44", tty=False)
    _, ev = check_every_split(r, recorded("podman_exec_101_v1.44"), twin, eof=True)
    assert frames_of(ev) == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]


def test_raw_label_still_means_tty_on_docker_at_1_42(twin):
    head = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.51\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    r = Request("GET", "/containers/{id}/logs", kind=ResponseKind.STREAM, params={"id": CID}, version="1.51")
    _, ev = check_every_split(r, head + b"5\r\nout\r\n\r\n0\r\n\r\n", twin, raw=True)
    assert b"".join(e[2] for e in ev if e[0] == "frame") == b"out\r\n"


def test_pinned_client_learns_the_answered_version_and_looks_the_tty_up(tmp_path, make_client):
    logs = recorded("podman_logs_v1.44")
    podman = {"Api-Version": "1.41", "Server": "Libpod/4.3.1 (linux)"}
    d = FakeDaemon({
        "HEAD /_ping": http_response("200 OK", b"", podman),
        "GET /v1.44/containers/c1/json": http_response(
            "200 OK", json.dumps({"Id": "c1", "Config": {"Tty": False}}).encode(),
            {**podman, "Content-Type": "application/json"}),
        "GET /v1.44/containers/c1/logs": logs,
    }, unix_path=str(tmp_path / "podman.sock"))
    try:
        with make_client(d.host, version="1.44") as c:
            with c.call("containers.logs", id="c1", stdout=True, stderr=True) as resp:
                items = [(i.stream, i.data) for i in resp]
        assert items == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]
        assert d.seen == ["HEAD /_ping", "GET /v1.44/containers/c1/json", "GET /v1.44/containers/c1/logs"]
    finally:
        d.close()


def test_negotiation_clamps_to_the_answered_version(tmp_path, make_client):
    d = FakeDaemon({"HEAD /_ping": http_response("200 OK", b"", {"Api-Version": "1.41"})},
                   unix_path=str(tmp_path / "podman.sock"))
    try:
        with make_client(d.host) as c:
            assert api_version(c) == "1.41"
    finally:
        d.close()


# ---------------------------------------------------------------------------
# Errors


def _err(status, body, ctype="application/json"):
    head = Response(status, ((b"content-type", ctype.encode()), (b"api-version", b"1.41")), b"")
    return error_from_response(head, body, Request("POST", "/x", version="1.41"))


@pytest.mark.parametrize("message, cls", [
    # Messages as Podman 4.3 words them (500 where Docker answers 409/400).
    ("cannot remove container 0123 as it is running - running or paused containers cannot be removed "
     "without force: container state improper", Conflict),
    ('error creating container storage: the container name "web" is already in use by 0123. You have to '
     'remove that container to be able to reuse that name: that name is already in use', Conflict),
    ("can only kill running containers. 0123 is in state exited: container state improper", Conflict),
    ("can only create exec sessions on running containers: container state improper", Conflict),
    ("network name protocol-net already used: network already exists", Conflict),
    ('error running container create option: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: '
     'invalid argument', BadRequest),
])
def test_podman_500s_are_typed_by_their_message(message, cls):
    exc = _err(500, json.dumps({"cause": "x", "message": message, "response": 500}).encode())
    assert type(exc) is cls and exc.status == 500 and exc.message == message


def test_other_500s_stay_server_errors():
    assert type(_err(500, b'{"message":"runc create failed: operation not permitted"}')) is ServerError


def test_plain_text_404_from_the_router_is_an_unsupported_endpoint():
    body = recorded("podman_update_404").partition(b"\r\n\r\n")[2]
    exc = _err(404, body, "text/plain; charset=utf-8")
    assert type(exc) is UnsupportedEndpoint and isinstance(exc, NotFound)
    # Docker's router, JSON since 1.24 and plain text below:
    assert type(_err(404, b'{"message":"page not found"}')) is UnsupportedEndpoint
    assert type(_err(404, b"404 page not found\n", "text/plain")) is UnsupportedEndpoint
    # A missing object is explained: still NotFound.
    assert type(_err(404, b"No such container: web\n", "text/plain")) is NotFound
    assert type(_err(404, b'{"message":"No such container: web"}')) is NotFound


# ---------------------------------------------------------------------------
# X-Docker-Container-Path-Stat


STAT = {"name": "a>b?", "size": 62, "mode": 2147484141, "mtime": "2026-12-02T04:00:00Z", "linkTarget": ""}


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode,
                                    lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")])
def test_path_stat_in_either_base64_alphabet(encode):
    raw = json.dumps(STAT).encode()
    value = encode(raw)
    assert decode_path_stat(value) == STAT


def test_path_stat_urlsafe_characters_really_occur():
    # The sample must contain bytes that encode differently in the two alphabets.
    raw = json.dumps(STAT).encode()
    assert base64.b64encode(raw) != base64.urlsafe_b64encode(raw)


@pytest.mark.parametrize("value", [b"not base64!", base64.b64encode(b"[1,2]"), base64.b64encode(b"{nope")])
def test_path_stat_garbage_is_a_value_error(value):
    with pytest.raises(ValueError):
        decode_path_stat(value)
