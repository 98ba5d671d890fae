import pickle

import pytest

from protocol import MAX_VERSION, MIN_VERSION, APIVersion


def test_component_wise_ordering():
    assert APIVersion("1.10") > APIVersion("1.9")
    assert APIVersion("1.9") < APIVersion("1.10")
    assert APIVersion("1.41") < APIVersion("1.100")
    assert APIVersion("2.0") > APIVersion("1.99")
    assert sorted(map(APIVersion, ["1.9", "1.10", "1.2", "1.24"])) == [
        APIVersion(v) for v in ("1.2", "1.9", "1.10", "1.24")
    ]


def test_format_and_equality():
    v = APIVersion("1.41")
    assert str(v) == "1.41"
    assert repr(v) == "APIVersion('1.41')"
    assert v == APIVersion("1.41") == "1.41"
    assert v != "1.4"
    assert APIVersion("1.10") != APIVersion("1.1")
    assert hash(v) == hash(APIVersion("1.41"))
    assert APIVersion(v) == v
    assert APIVersion((1, 24)) == APIVersion("1.24")
    assert v.as_tuple() == (1, 41)
    assert pickle.loads(pickle.dumps(v)) == v


def test_compare_with_strings():
    assert APIVersion("1.41") >= "1.40"
    assert APIVersion("1.41") < "1.42"


@pytest.mark.parametrize("bad", ["", "1", "1.", "v1.41", "1.41.0", "1.041", "a.b", "1.-1", " "])
def test_rejects_malformed(bad):
    with pytest.raises(ValueError, match="not an API version"):
        APIVersion(bad)


def test_rejects_floats():
    # 1.10 as a float is 1.1: exactly the bug this type exists to prevent.
    with pytest.raises(TypeError):
        APIVersion(1.10)  # type: ignore[arg-type]


def test_immutable():
    v = APIVersion("1.41")
    with pytest.raises(AttributeError):
        v.minor = 42  # type: ignore[misc]


def test_modelled_range():
    assert MIN_VERSION == "1.0"
    assert MAX_VERSION >= "1.41"


def test_equal_versions_are_one_object_and_the_parse_cache_is_bounded():
    from protocol._core import _version

    assert APIVersion("1.41") is APIVersion("1.41")
    v = APIVersion((1, 41))
    assert APIVersion(v) is v and v == APIVersion("1.41")
    # Strings can come from the wire (Api-Version headers): the cache stops growing.
    for minor in range(3000):
        APIVersion(f"9.{minor}")
    assert len(_version._PARSED) <= _version._PARSED_MAX
    assert APIVersion("9.2999") == APIVersion((9, 2999))
