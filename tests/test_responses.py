import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import protocol
from protocol import (
    APIError,
    APIVersion,
    BadRequest,
    Conflict,
    NotFound,
    NotModified,
    Request,
    Response,
    ServerError,
    VersionError,
    error_from_response,
)


def head(status, ctype=b"application/json", **extra):
    headers = [(b"Content-Type", ctype)] if ctype else []
    headers += [(k.encode(), v) for k, v in extra.items()]
    return Response(status, headers, reason=b"X")


REQ = Request("GET", "/containers/{id}/json", params={"id": "nope"}, version="1.41")


@pytest.mark.parametrize(
    "status, body, cls, message",
    [
        (404, b'{"message":"No such container: nope"}\n', NotFound, "No such container: nope"),
        (404, b"No such container: nope\n", NotFound, "No such container: nope"),
        (409, b'{"message":"Conflict. The container name is in use"}', Conflict, "Conflict. The container name is in use"),
        (400, b"Bad parameter\n", BadRequest, "Bad parameter"),
        (500, b'{"message":"boom"}', ServerError, "boom"),
        (503, b"", ServerError, "X"),
        (304, b"", NotModified, "X"),
        (418, b"teapot", APIError, "teapot"),
    ],
)
def test_typed_errors(status, body, cls, message):
    exc = error_from_response(head(status), body, REQ)
    assert type(exc) is cls
    assert exc.status == status
    assert exc.message == message
    assert exc.request is REQ
    assert "GET /v1.41/containers/nope/json" in str(exc)


@pytest.mark.parametrize(
    "status, body, too_new, client, server",
    [
        # docker 17.11+ (seen on 20.10: JSON)
        (400, b'{"message":"client version 1.50 is too new. Maximum supported API version is 1.41"}\n', True, "1.50", "1.41"),
        # docker 1.8+ too old (seen on 20.10: plain text)
        (400, b"client version 1.5 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version\n", False, "1.5", "1.12"),
        # docker 1.8-1.12
        (400, b"client is newer than server (client API version: 1.24, server API version: 1.20)\n", True, "1.24", "1.20"),
        # docker 1.7
        (400, b"client and server don't have same version (client API version: 1.20, server API version: 1.19)", True, "1.20", "1.19"),
        # docker 0.8-1.6
        (404, b"client and server don't have same version (client : 1.13, server: 1.12)\n", True, "1.13", "1.12"),
    ],
)
def test_version_errors_of_every_era(status, body, too_new, client, server):
    exc = error_from_response(head(status, b"text/plain"), body, REQ)
    assert isinstance(exc, VersionError)
    assert isinstance(exc, APIError)
    assert exc.status == status
    assert exc.too_new is too_new
    assert exc.client_version == APIVersion(client)
    assert exc.server_version == APIVersion(server)


def test_bare_404_on_versioned_path_is_version_error():
    # docker 0.3.3-0.7.x: a too-new versioned path is a 404 with no body.
    exc = error_from_response(head(404, None), b"", REQ)
    assert isinstance(exc, VersionError)
    assert exc.client_version == APIVersion("1.41")
    assert exc.server_version is None


def test_bare_404_unversioned_is_not_found():
    exc = error_from_response(head(404, None), b"", Request("GET", "/nothing"))
    assert type(exc) is NotFound


# -- decode_json: the C scanner called directly, json.loads's answers -----------

_JSON_CASES = [
    '{"Id": "a"}', '{"Id": "a"}\n', '  {"a": 1}', '{"a": 1} \t\r\n', "[1, 2]", '"text"', "3", "null",
    "", " ", "\ufeff{}", '{"a": 1} x', '{"a": 1}{}', '{"a": 1}\u2028', '{"a": 1}\x0b', "{", "nul",
    '{"a": NaN}', '{"a": "\\ud800"}', "[" * 50 + "]" * 50, '{"a": 1, "a": 2}',
]


@pytest.mark.parametrize("text", _JSON_CASES)
def test_decode_json_gives_what_json_loads_gives(text):
    import json

    from protocol import Request
    from protocol._core._responses import decode_json

    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(protocol.RemoteProtocolError, match=r"the answer to GET /x is not JSON"):
            decode_json(text, Request("GET", "/x"))
        with pytest.raises(protocol.RemoteProtocolError, match=r"the body is not JSON"):
            decode_json(text.encode("utf-8", "surrogatepass"), "the body")
        return
    got = decode_json(text, Request("GET", "/x"))
    assert got == expected and type(got) is type(expected)


@settings(max_examples=300, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20),
    before=st.sampled_from(["", " ", "\n"]), after=st.sampled_from(["", "\n", " \r\n", " x", "\u00a0"]))
def test_decode_json_agrees_with_json_loads_on_generated_documents(value, before, after):
    import json

    from protocol._core._responses import decode_json

    text = before + json.dumps(value) + after
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(protocol.RemoteProtocolError):
            decode_json(text, "it")
        return
    assert decode_json(text, "it") == expected
