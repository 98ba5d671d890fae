"""Registry auth: wire encodings, registry resolution, config.json and
credential helpers; secrets never shown."""

import base64
import json
import logging
import os
import stat
import sys
import textwrap

import pytest

from protocol._core._auth import (
    INDEX_SERVER,
    AuthConfig,
    CredentialHelperError,
    DockerConfig,
    DockerConfigError,
    auth_body,
    encode_registry_auth,
    encode_registry_config,
    registry_for_image,
)

SECRET = "s3cr3t-P@ss/word+="
TOKEN = "identity-token-7f3a9c"


def b64url_json(value):
    assert isinstance(value, str) and value.isascii()
    assert "+" not in value and "/" not in value  # URL-safe alphabet
    assert len(value) % 4 == 0  # padded
    return json.loads(base64.urlsafe_b64decode(value))


# ------------------------------------------------------------ AuthConfig


def test_auth_config_json_dict_in_go_order_without_empty_fields():
    auth = AuthConfig(username="u", password=SECRET, serveraddress="my.reg", email="e@x")
    assert list(auth.to_json_dict().items()) == [
        ("username", "u"), ("password", SECRET), ("email", "e@x"), ("serveraddress", "my.reg")]
    assert AuthConfig().to_json_dict() == {}


def test_auth_config_from_dict():
    auth = AuthConfig.from_dict({"Username": "u", "PASSWORD": SECRET, "email": None})
    assert auth == AuthConfig(username="u", password=SECRET)
    with pytest.raises(ValueError, match="unknown AuthConfig field 'token'"):
        AuthConfig.from_dict({"token": SECRET})
    with pytest.raises(TypeError) as info:
        AuthConfig.from_dict({"password": 12345678})
    assert "12345678" not in str(info.value)
    with pytest.raises(TypeError):
        AuthConfig(password=b"bytes")  # type: ignore[arg-type]


def test_auth_config_is_frozen():
    auth = AuthConfig(username="u")
    with pytest.raises(AttributeError):
        auth.username = "v"  # type: ignore[misc]


def test_repr_and_str_hide_every_secret():
    auth = AuthConfig(username="alice", password=SECRET, email="a@x", serveraddress="my.reg",
                      identitytoken=TOKEN, registrytoken="reg-token-zz", auth="YWxpY2U6cHc=")
    for text in (repr(auth), str(auth), f"{auth}", repr([auth]), repr({"k": auth})):
        for secret in (SECRET, TOKEN, "reg-token-zz", "YWxpY2U6cHc="):
            assert secret not in text
        assert "alice" in text and "my.reg" in text
        assert "password=<hidden>" in text and "identitytoken=<hidden>" in text
    assert repr(AuthConfig(username="bob")) == "AuthConfig(username='bob')"


# -------------------------------------------------------------- encodings


def test_registry_auth_header_is_padded_base64url_json():
    # '?' and '>' in the JSON produce '/' and '+' in standard base64.
    auth = AuthConfig(username="u??>>", password="p>>>???", serveraddress="r")
    value = encode_registry_auth(auth)
    assert "_" in value or "-" in value
    assert b64url_json(value) == {"username": "u??>>", "password": "p>>>???", "serveraddress": "r"}
    assert encode_registry_auth({"username": "u"}) == "eyJ1c2VybmFtZSI6InUifQ=="
    assert b64url_json(encode_registry_auth(AuthConfig())) == {}


def test_identity_token_auth():
    value = encode_registry_auth(AuthConfig(identitytoken=TOKEN, serveraddress=INDEX_SERVER))
    assert b64url_json(value) == {"serveraddress": INDEX_SERVER, "identitytoken": TOKEN}


def test_registry_config_header_map_and_legacy_form():
    configs = {INDEX_SERVER: AuthConfig(username="hub", password="x"),
               "my.reg:5000": {"username": "me", "password": "y"}}
    expected = {INDEX_SERVER: {"username": "hub", "password": "x"},
                "my.reg:5000": {"username": "me", "password": "y"}}
    assert b64url_json(encode_registry_config(configs)) == expected
    assert b64url_json(encode_registry_config(configs, api_version="1.19")) == expected
    assert b64url_json(encode_registry_config(configs, api_version="1.41")) == expected
    assert b64url_json(encode_registry_config(configs, api_version="1.18")) == {"configs": expected}
    assert b64url_json(encode_registry_config({}, api_version="1.9")) == {"configs": {}}


def test_push_body_form():
    body = auth_body(AuthConfig(username="u", password="p", email="e"))
    assert isinstance(body, bytes)
    assert json.loads(body) == {"username": "u", "password": "p", "email": "e"}
    assert auth_body({"username": "u"}) == b'{"username":"u"}'


# ------------------------------------------------------------ registries


@pytest.mark.parametrize("image, registry", [
    ("busybox", INDEX_SERVER),
    ("busybox:latest", INDEX_SERVER),
    ("busybox@sha256:" + "a" * 64, INDEX_SERVER),
    ("library/busybox", INDEX_SERVER),
    ("user/repo:tag", INDEX_SERVER),
    ("docker.io/library/busybox", INDEX_SERVER),
    ("index.docker.io/user/repo", INDEX_SERVER),
    ("localhost/x", "localhost"),
    ("localhost:5000/x", "localhost:5000"),
    ("localhost:5000/x/y:tag", "localhost:5000"),
    ("localhost:5000", INDEX_SERVER),  # no slash: an image "localhost" with tag 5000
    ("my.reg/x/y:tag", "my.reg"),
    ("my.reg:443/x@sha256:" + "b" * 64, "my.reg:443"),
    ("registry-1.docker.io/x", "registry-1.docker.io"),
    ("gcr.io/project/image", "gcr.io"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000"),
    ("[::1]:5000/x", "[::1]:5000"),
    ("myhost:5000/x", "myhost:5000"),
    ("myhost/x", INDEX_SERVER),  # no '.', ':' and not localhost: a Hub namespace
    ("MyRegistry/x", "MyRegistry"),  # upper case cannot be a Hub namespace
    ("quay.io/org/sub/image:1.0", "quay.io"),
])
def test_registry_for_image(image, registry):
    assert registry_for_image(image) == registry


@pytest.mark.parametrize("bad", ["", "https://my.reg/x"])
def test_registry_for_image_refuses(bad):
    with pytest.raises(ValueError):
        registry_for_image(bad)


# ----------------------------------------------------------- config.json


def userpass(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def write_config(directory, doc):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(doc))
    return path


def test_config_auths_are_decoded(tmp_path):
    path = write_config(tmp_path, {
        "auths": {
            INDEX_SERVER: {"auth": userpass("hubuser", SECRET), "email": "h@x"},
            "my.reg:5000": {"auth": userpass("me", "pa:ss:word\x00\x00")},
            "tok.reg": {"auth": userpass("u", "p"), "identitytoken": TOKEN},
            "plain.reg": {"username": "pu", "password": "pp"},
            "empty.reg": {},
        },
        "HttpHeaders": {"X-Meta": "1"},
        "psFormat": "table",
    })
    config = DockerConfig.load(path)
    assert config.path == str(path)
    hub = config.auths[INDEX_SERVER]
    assert (hub.username, hub.password, hub.email, hub.auth) == ("hubuser", SECRET, "h@x", "")
    assert hub.serveraddress == INDEX_SERVER
    # only the first ':' separates; trailing NULs are trimmed as the CLI does
    assert config.auths["my.reg:5000"].password == "pa:ss:word"
    assert config.auths["tok.reg"].identitytoken == TOKEN
    assert config.credentials_for("plain.reg") == AuthConfig(username="pu", password="pp",
                                                             serveraddress="plain.reg")
    assert config.credentials_for(INDEX_SERVER) == hub
    assert config.credentials_for("docker.io") == hub
    assert config.credentials_for("index.docker.io") == hub
    assert config.credentials_for(registry_for_image("busybox")) == hub
    assert config.credentials_for("my.reg:5000").username == "me"
    assert config.credentials_for("empty.reg") is None
    assert config.credentials_for("unknown.reg") is None
    assert SECRET not in repr(config) and TOKEN not in repr(config)


def test_config_legacy_url_keys(tmp_path):
    config = DockerConfig.parse(json.dumps({"auths": {
        "https://old.reg:8443/v1/": {"auth": userpass("old", "pw")},
        "http://plain.example/": {"auth": userpass("p", "pw")},
    }}))
    assert config.credentials_for("old.reg:8443").username == "old"
    assert config.credentials_for("plain.example").username == "p"
    assert config.credentials_for("old.reg") is None


def test_config_location(tmp_path, monkeypatch):
    write_config(tmp_path / "custom", {"auths": {"a.reg": {"auth": userpass("custom", "x")}}})
    write_config(tmp_path / "home" / ".docker", {"auths": {"a.reg": {"auth": userpass("home", "x")}}})
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    assert DockerConfig.load().auths["a.reg"].username == "home"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "custom"))
    assert DockerConfig.load().auths["a.reg"].username == "custom"
    assert DockerConfig.load(env={}).auths["a.reg"].username == "home"
    assert DockerConfig.load(tmp_path / "custom").auths["a.reg"].username == "custom"
    # a missing file is an empty configuration
    empty = DockerConfig.load(tmp_path / "nowhere" / "config.json")
    assert empty.auths == {} and empty.credentials_for("a.reg") is None


def test_config_helpers_fields():
    config = DockerConfig.parse('{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud", "file.reg": ""}}')
    assert config.creds_store == "desktop"
    assert config.helper_for("gcr.io") == "gcloud"
    assert config.helper_for("other.reg") == "desktop"
    assert config.helper_for("file.reg") is None  # an empty entry means the file
    assert DockerConfig.parse("").auths == {}
    assert DockerConfig.parse(b"\xef\xbb\xbf{}").auths == {}


@pytest.mark.parametrize("text, message", [
    ('{"auths": {"r": {"auth": "' + SECRET + '"}}}', r"auths\['r'\]\.auth is not base64"),
    ('{"auths": {"r": {"auth": "' + base64.b64encode(SECRET.encode()).decode() + '"}}}',
     r"auths\['r'\]\.auth is not base64 of 'username:password'"),
    ('{"auths": {"r": {"auth": "' + base64.b64encode(b":" + SECRET.encode()).decode() + '"}}}',
     r"auths\['r'\]\.auth"),
    ('{"auths": {"r": {"password": "' + SECRET + '"', r"not valid JSON \(line 1, column"),
    ('["' + SECRET + '"]', "JSON object"),
    ('{"auths": {"r": {"password": 12}}}', r"auths\['r'\]\.password must be a string"),
    ('{"auths": ["' + SECRET + '"]}', "'auths' must be an object"),
    ('{"credsStore": 1}', "credsStore"),
    ('{"credHelpers": {"r": 1}}', "credHelpers"),
])
def test_config_errors_never_show_secrets(text, message):
    with pytest.raises(DockerConfigError, match=message) as info:
        DockerConfig.parse(text, path="/x/config.json")
    assert SECRET not in str(info.value) and "12" not in str(info.value)
    # nothing chained that could carry the document (JSONDecodeError.doc does)
    assert info.value.__cause__ is None and info.value.__context__ is None


# ------------------------------------------------------ credential helpers

HELPER = textwrap.dedent("""\
    #!{python}
    import json, os, sys, time
    assert sys.argv[1:] == ["get"], sys.argv
    server = sys.stdin.read()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.log"), "a") as log:
        log.write(server + "\\n")
    if server == "found.reg":
        print(json.dumps({{"ServerURL": server, "Username": "helper-user", "Secret": {secret!r}}}))
    elif server == "token.reg":
        print(json.dumps({{"ServerURL": server, "Username": "<token>", "Secret": {token!r}}}))
    elif server == "lower.reg":
        print(json.dumps({{"serverurl": server, "username": "lu", "secret": "ls"}}))
    elif server == "broken.reg":
        print("fatal: could not decrypt {secret}")
        print("stderr also has {secret}", file=sys.stderr)
        sys.exit(3)
    elif server == "nourl.reg":
        print("no credentials server URL")
        sys.exit(1)
    elif server == "garbage.reg":
        print("not json {secret}")
    elif server == "slow.reg":
        time.sleep(10)
    else:
        print("credentials not found in native keychain")
        sys.exit(1)
    """)


@pytest.fixture
def helper_path(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "docker-credential-fake"
    script.write_text(HELPER.format(python=sys.executable, secret=SECRET, token=TOKEN))
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", str(bindir) + os.pathsep + os.environ.get("PATH", ""))
    return bindir


def calls(bindir):
    return (bindir / "calls.log").read_text().splitlines()


def test_helper_found(helper_path):
    config = DockerConfig.parse(json.dumps({
        "credsStore": "fake",
        "auths": {"found.reg": {"email": "kept@x", "auth": userpass("file-user", "file-pw")}},
    }))
    auth = config.credentials_for("found.reg")
    # the helper's answer wins; the file only contributes the email
    assert auth == AuthConfig(username="helper-user", password=SECRET, email="kept@x",
                              serveraddress="found.reg")
    assert calls(helper_path) == ["found.reg"]  # the bare server URL on stdin


def test_helper_identity_token_and_case_insensitive_answer(helper_path):
    config = DockerConfig.parse('{"credsStore": "fake"}')
    assert config.credentials_for("token.reg") == AuthConfig(identitytoken=TOKEN, serveraddress="token.reg")
    assert config.credentials_for("lower.reg") == AuthConfig(username="lu", password="ls",
                                                             serveraddress="lower.reg")


def test_helper_not_found_is_none(helper_path):
    config = DockerConfig.parse(json.dumps({
        "credsStore": "fake", "auths": {"missing.reg": {"auth": userpass("file", "pw")}}}))
    # as in the docker CLI: with a helper configured the file's secrets are not used
    assert config.credentials_for("missing.reg") is None


def test_cred_helpers_override_creds_store_and_hub_key(helper_path):
    config = DockerConfig.parse(json.dumps({
        "credsStore": "absent-helper", "credHelpers": {"found.reg": "fake", INDEX_SERVER: "fake"}}))
    assert config.credentials_for("found.reg").username == "helper-user"
    assert config.credentials_for("docker.io") is None  # asked with the Hub key
    assert calls(helper_path) == ["found.reg", INDEX_SERVER]
    with pytest.raises(CredentialHelperError, match="docker-credential-absent-helper .* not found on PATH"):
        config.credentials_for("other.reg")


def test_failing_helper_never_leaks_its_output(helper_path, caplog):
    caplog.set_level(logging.DEBUG, logger="protocol")
    config = DockerConfig.parse('{"credsStore": "fake"}')
    with pytest.raises(CredentialHelperError) as info:
        config.credentials_for("broken.reg")
    err = info.value
    text = str(err) + repr(err) + repr(err.args)
    assert SECRET not in text
    assert "docker-credential-fake failed for broken.reg (exit status 3)" in str(err)
    assert "not shown" in str(err)
    assert (err.helper, err.registry, err.returncode) == ("docker-credential-fake", "broken.reg", 3)
    assert err.__cause__ is None and err.__context__ is None
    assert SECRET not in caplog.text
    assert "docker-credential-fake" in caplog.text  # logging happened, without secrets


def test_known_helper_messages_are_shown(helper_path):
    config = DockerConfig.parse('{"credsStore": "fake"}')
    with pytest.raises(CredentialHelperError, match="no credentials server URL"):
        config.credentials_for("nourl.reg")


def test_helper_garbage_answer(helper_path):
    config = DockerConfig.parse('{"credsStore": "fake"}')
    with pytest.raises(CredentialHelperError, match="not a JSON object") as info:
        config.credentials_for("garbage.reg")
    assert SECRET not in str(info.value)
    assert info.value.__context__ is None  # JSONDecodeError.doc holds the output


def test_helper_timeout(helper_path):
    config = DockerConfig.parse('{"credsStore": "fake"}')
    with pytest.raises(CredentialHelperError, match="did not answer for slow.reg within 0.5 s") as info:
        config.credentials_for("slow.reg", timeout=0.5)
    assert info.value.__context__ is None  # TimeoutExpired holds the output


def test_secrets_absent_from_logs_on_success(helper_path, caplog):
    caplog.set_level(logging.DEBUG)
    config = DockerConfig.parse('{"credsStore": "fake"}')
    auth = config.credentials_for("found.reg")
    logging.getLogger("test").debug("got %r / %s", auth, auth)
    assert SECRET not in caplog.text
