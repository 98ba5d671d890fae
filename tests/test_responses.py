import re

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


@pytest.fixture(params=["orjson", "stdlib"])
def json_impl(request, monkeypatch):
    """Whole answers decoded with orjson (when installed) and without it."""
    from protocol._core import _fastjson

    if request.param == "orjson":
        orjson = pytest.importorskip("orjson")
        monkeypatch.setattr(_fastjson, "loads", orjson.loads)
    else:
        monkeypatch.setattr(_fastjson, "loads", None)
    return request.param


@pytest.mark.parametrize("text", _JSON_CASES)
def test_decode_json_gives_what_json_loads_gives(text, json_impl):
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
    raw = text.encode("utf-8", "surrogatepass")
    got = decode_json(raw, Request("GET", "/x"))
    assert got == expected and type(got) is type(expected)


@settings(max_examples=300, deadline=None)
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20),
    before=st.sampled_from(["", " ", "\n"]), after=st.sampled_from(["", "\n", " \r\n", " x", "\u00a0"]))
def test_decode_json_agrees_with_json_loads_on_generated_documents(value, before, after):
    import json

    from protocol._core import _fastjson
    from protocol._core._responses import decode_json

    text = before + json.dumps(value) + after
    raw = text.encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(protocol.RemoteProtocolError):
            decode_json(text, "it")
        with pytest.raises(protocol.RemoteProtocolError):
            decode_json(raw, "it")
        return
    assert decode_json(text, "it") == expected
    # Bytes, as answers come: orjson first when it is installed (its values
    # must be the stdlib's, big integers included), then without it.
    got = decode_json(raw, "it")
    assert got == expected and json.dumps(got) == json.dumps(expected)
    saved, _fastjson.loads = _fastjson.loads, None
    try:
        assert decode_json(raw, "it") == expected
    finally:
        _fastjson.loads = saved


# Integers outside 64 bits: orjson gives a float for them, so a body with a
# run of 20 digits, or a minus sign and 19, anywhere is decoded by the stdlib.
_BIG_INTS = [
    b'{"Size": 18446744073709551616}', b'{"Size": -9223372036854775809}', b"[123456789012345678901234567890]",
    b'{"a": 1, "b": [0, -18446744073709551615]}', b'{"Id": "12345678901234567890"}', b'{"a": "x-1234567890123456789"}',
]


@pytest.mark.parametrize("body", _BIG_INTS)
def test_decode_json_keeps_integers_outside_64_bits_exact(body, json_impl):
    import json

    from protocol._core import _fastjson
    from protocol._core._responses import decode_json

    got = decode_json(body, "it")
    assert got == json.loads(body) and json.dumps(got) == json.dumps(json.loads(body))
    assert _fastjson.fast_loads(body) is _fastjson.MISS


def test_fast_loads_takes_plain_documents_and_leaves_the_rest_to_the_stdlib(json_impl):
    from protocol._core import _fastjson

    # Within orjson's range and its guard: 19 digits (timeNano, and the
    # largest such number), a minus sign and 18.
    plain = b'{"Id": "abc", "Size": 9999999999999999999, "Neg": -999999999999999999, "F": 1.5e300, "T": 1764680000123456789}'
    got = _fastjson.fast_loads(plain)
    if json_impl == "stdlib":
        assert got is _fastjson.MISS and not _fastjson.available()
        return
    assert _fastjson.available()
    assert got == {"Id": "abc", "Size": 9999999999999999999, "Neg": -999999999999999999, "F": 1.5e300,
                   "T": 1764680000123456789}
    assert all(type(got[k]) is int for k in ("Size", "Neg", "T"))
    assert _fastjson.fast_loads(bytearray(plain)) == got
    # orjson's working memory is 13-16x the document: large ones keep the stdlib's peak.
    edge = b'{"s":"' + b"x" * (_fastjson.MAX_SIZE - 8) + b'"}'
    assert len(edge) == _fastjson.MAX_SIZE and _fastjson.fast_loads(edge) == {"s": "x" * (_fastjson.MAX_SIZE - 8)}
    assert _fastjson.fast_loads(b" " + edge) is _fastjson.MISS
    # What orjson refuses (json.loads may accept it, or give its own error).
    for body in (b'{"a": NaN}', b'"\\ud800"', b"\xef\xbb\xbf{}", b"1e400", b'{"a": 1} x', b"\xff", b"[" * 2000):
        assert _fastjson.fast_loads(body) is _fastjson.MISS


@pytest.mark.parametrize("value", [2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**19, -(10**19), 10**20, 2**63])
def test_decode_json_integers_at_the_edges_of_64_bits(value, json_impl):
    from protocol._core._responses import decode_json

    for body in (str(value).encode(), b'{"n": %d, "s": "-"}' % value, b"[%d]" % value):
        got = decode_json(body, "it")
        got = got if isinstance(got, int) else (got["n"] if isinstance(got, dict) else got[0])
        assert type(got) is int and got == value


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=120) | st.text(alphabet="0123456789-x\" ", max_size=120).map(str.encode))
def test_wide_int_scan_twins_agree(body):
    # The compiled twin's scan probes one byte in 19; the Python one
    # translates every byte.  Same answer for every input.
    from protocol._core._fastjson import wide_int_py

    speedups = pytest.importorskip("protocol._core._speedups")
    expected = wide_int_py(body)
    assert speedups.wide_int(body) is expected and speedups.wide_int(bytearray(body)) is expected
    # The rule itself: a run of 20 digits, or of 19 after a minus sign.
    text = body.decode("latin-1")
    model = any(len(m.group()) >= 20 or (len(m.group()) >= 19 and m.start() > 0 and text[m.start() - 1] == "-")
                for m in re.finditer(r"[0-9]+", text))
    assert expected is model
