import pytest

from protocol import LocalProtocolError, Request, ResponseKind, encode_query


def test_versioned_target_and_query_conventions():
    r = Request(
        "GET",
        "/containers/json",
        query={"all": True, "size": False, "limit": 3, "before": None,
               "filters": {"status": ["exited"], "label": ["a=b"]}},
        version="1.41",
    )
    assert r.target == (
        "/v1.41/containers/json?all=1&size=0&limit=3"
        "&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%2C%22status%22%3A%5B%22exited%22%5D%7D"
    )


def test_unversioned_target():
    assert Request("GET", "/_ping").target == "/_ping"


def test_repeated_keys():
    assert encode_query([("t", ["a:1", "b:2"])]) == "t=a%3A1&t=b%3A2"
    assert encode_query({"t": ("x", None, "y")}) == "t=x&t=y"


def test_query_values_are_percent_encoded():
    assert encode_query({"q": "a b&c=d#e"}) == "q=a%20b%26c%3Dd%23e"


def test_path_params_are_encoded():
    r = Request("GET", "/containers/{id}/json", params={"id": "my name?x#y"})
    assert r.path == "/containers/my%20name%3Fx%23y/json"


def test_image_names_keep_slashes_and_tags():
    r = Request("GET", "/images/{name:path}/json", params={"name": "registry:5000/a/b:tag"})
    assert r.path == "/images/registry:5000/a/b:tag/json"


@pytest.mark.parametrize("value", ["../version", "a/b", "..", "."])
def test_path_param_cannot_escape_its_segment(value):
    with pytest.raises(LocalProtocolError, match="path parameter 'id'"):
        Request("GET", "/containers/{id}/json", params={"id": value})


@pytest.mark.parametrize("value", ["a/../../version", "a//b", "../x", "a/."])
def test_multi_segment_param_cannot_climb(value):
    with pytest.raises(LocalProtocolError, match="segment"):
        Request("GET", "/images/{name:path}/json", params={"name": value})


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b"])
def test_unsafe_characters_rejected_everywhere(bad):
    with pytest.raises(LocalProtocolError, match="cannot be sent safely"):
        Request("GET", "/x", headers={"X-Test": bad})
    with pytest.raises(LocalProtocolError, match="cannot be sent safely"):
        Request("GET", "/x", query={"q": bad})
    with pytest.raises(LocalProtocolError, match="cannot be sent safely"):
        Request("GET", "/containers/{id}/json", params={"id": bad})


def test_missing_and_unknown_params():
    with pytest.raises(LocalProtocolError, match="missing"):
        Request("GET", "/containers/{id}/json")
    with pytest.raises(LocalProtocolError, match="unknown"):
        Request("GET", "/containers/{id}/json", params={"id": "a", "other": "b"})


def test_bad_header_name_and_method():
    with pytest.raises(LocalProtocolError, match="header name"):
        Request("GET", "/x", headers={"Bad Name": "v"})
    with pytest.raises(LocalProtocolError, match="method"):
        Request("GE T", "/x")


def test_json_body_headers():
    r = Request("POST", "/containers/create", json={"Image": "x"}, version="1.41")
    assert r.body == b'{"Image":"x"}'
    hdrs = dict(r.header_list())
    assert hdrs[b"Content-Type"] == b"application/json"
    assert hdrs[b"Content-Length"] == b"13"


def test_unserialisable_json_is_local_error():
    with pytest.raises(LocalProtocolError, match="JSON"):
        Request("POST", "/x", json={"a": object()})


def test_iterable_body_is_chunked():
    r = Request("POST", "/build", body=iter([b"a", b"b"]), content_type="application/x-tar")
    hdrs = dict(r.header_list())
    assert hdrs[b"Transfer-Encoding"] == b"chunked"
    assert list(r.body_chunks()) == [b"a", b"b"]


def test_str_body_refused():
    with pytest.raises(LocalProtocolError, match="body must be bytes"):
        Request("POST", "/x", body="text")  # type: ignore[arg-type]


def test_mapping_body_refused_with_a_pointer_to_json():
    # A dict is iterable (its keys): without this check it would be sent as a
    # chunked body and fail half-way.
    with pytest.raises(LocalProtocolError, match="give a JSON body as json="):
        Request("POST", "/containers/create", body={"Image": "busybox"})  # type: ignore[arg-type]


def test_hijack_upgrade_headers_by_version():
    new = Request("POST", "/exec/{id}/start", params={"id": "e"}, kind=ResponseKind.HIJACK,
                  json={"Detach": False, "Tty": False}, version="1.41", tty=False)
    hdrs = new.header_list()
    assert (b"Connection", b"Upgrade") in hdrs and (b"Upgrade", b"tcp") in hdrs
    old = new.with_version("1.16")
    assert (b"Upgrade", b"tcp") not in old.header_list()


def test_request_is_immutable_and_repr_hides_headers():
    r = Request("POST", "/auth", headers={"X-Registry-Auth": "c2VjcmV0"}, version="1.41")
    with pytest.raises(AttributeError):
        r.method = "GET"  # type: ignore[misc]
    assert "c2VjcmV0" not in repr(r)
    assert r.with_version("1.30").target == "/v1.30/auth"
    assert r.target == "/v1.41/auth"
