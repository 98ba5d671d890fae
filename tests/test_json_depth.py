"""Deeply nested JSON in JSON streams: one explicit limit, the same answer on both twins.

The JSON-stream decoder refuses a message nested deeper than MAX_JSON_DEPTH
as soon as the excess bracket arrives; a message within the limit decodes
to json.loads's value whatever the caller's own stack depth (the C scanner
shares the interpreter's recursion budget with the caller; the decoders
fall back to an iterative parser with json's exact values and errors).
"""

from __future__ import annotations

import json
import math
import sys

import pytest
from _twins import twin  # noqa: F401  (also provided by conftest.py)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_stream import chunked, feed_all, norm, splits
from test_stream_properties import both_twins, cut, run

import protocol
import protocol._core._stream_py as python_twin
from protocol._core._errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from protocol._core._events import StreamError

MAX = python_twin.MAX_JSON_DEPTH
PREFIX = b'{"a":1}\r\n'

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)


def nested(depth: int, leaf: bytes = b'"[{ \\" }]"') -> bytes:
    """A valid message ``depth`` levels deep, alternating objects and arrays,
    with brackets inside strings (which do not count)."""
    opening, closing = [], []
    for level in range(depth):
        if level % 2:
            opening.append(b'{"k%d":' % level)
            closing.append(b"}")
        else:
            opening.append(b'[0,"]",')
            closing.append(b"]")
    return b"".join(opening) + leaf + b"".join(reversed(closing))


def stack_left() -> int:
    """How many more Python calls fit on the caller's stack (measured: C
    calls in between count against the recursion limit too)."""

    def probe(n):
        try:
            return probe(n + 1)
        except RecursionError:
            return n

    return probe(0)


def at_headroom(headroom: int, fn):
    """Call ``fn`` with about ``headroom`` calls left before the recursion limit."""

    def dive(n):
        if n <= 0:
            try:
                return fn()
            except RecursionError:  # not even fn could be called
                return ("not entered",)
        return dive(n - 1)

    return dive(stack_left() - headroom)


def test_the_limit_is_one_object_shared_by_both_twins():
    assert MAX == 512
    assert protocol.MAX_JSON_DEPTH is MAX
    cython_twin = pytest.importorskip("protocol._core._speedups")
    assert cython_twin.MAX_JSON_DEPTH is MAX


def openings(msg: bytes) -> list[int]:
    """Offsets of the opening brackets of ``msg`` outside strings."""
    out, in_str, esc = [], False, False
    for i, c in enumerate(msg):
        if in_str:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in b"[{":
            out.append(i)
    return out


def wire(payload: bytes, chunk: bool, cuts=(100,)):
    """``payload`` as sent (chunked: cut at ``cuts``), and the wire offset of each payload byte."""
    if not chunk:
        return payload, list(range(len(payload) + 1))
    pieces = [p for p in cut(payload, cuts) if p]
    data, pos = b"", []
    for p in pieces:
        head = b"%x\r\n" % len(p)
        pos += range(len(data) + len(head), len(data) + len(head) + len(p))
        data += head + p + b"\r\n"
    pos.append(len(data))
    return data + b"0\r\n\r\n", pos


@pytest.mark.parametrize("chunk", [False, True])
def test_deepest_accepted_message_every_split(twin, chunk):
    msg = nested(MAX)
    assert len(openings(msg)) == MAX
    expected = [("value", {"a": 1}), ("value", json.loads(msg))]
    data, _ = wire(PREFIX + msg + b"\r\n", chunk)
    for pieces in splits(data):
        d = twin.JSONStreamDecoder(chunked=chunk)
        assert feed_all(d, pieces) == expected


@pytest.mark.parametrize("chunk", [False, True])
def test_one_level_too_deep_every_split(twin, chunk):
    msg = nested(MAX + 1)
    data, pos = wire(PREFIX + msg + b"\r\n", chunk)
    start = pos[len(PREFIX)]  # the message's offset, chunk framing counted
    excess = pos[len(PREFIX) + openings(msg)[MAX]]  # the bracket one level too deep
    for pieces in splits(data):
        d = twin.JSONStreamDecoder(chunked=chunk)
        items = []
        fed = 0
        with pytest.raises(RemoteProtocolError) as info:
            for piece in pieces:
                fed += len(piece)
                items += d.feed(piece)
            d.end()
        exc = info.value
        assert type(exc) is RemoteProtocolError
        assert exc.offset == start
        assert str(exc) == (
            f"invalid JSON message at offset {start}: nested more than {MAX} levels deep"
        )
        # Raised by the piece holding the excess bracket, not later.
        assert fed - len(piece) <= excess < fed
        # Nothing decoded before it is lost.
        assert norm(items + exc.items) == [("value", {"a": 1})]
        # The decoder stays failed, with the same type and offset.
        for again in (lambda: d.feed(b"{}"), d.end):
            with pytest.raises(RemoteProtocolError) as info2:
                again()
            assert info2.value.offset == start and info2.value.items == []


def test_depth_counts_brackets_outside_strings_only(twin):
    inside = b'{"s":"' + b"[{" * (3 * MAX) + b'"}'
    assert twin.JSONStreamDecoder().feed(inside) == [{"s": "[{" * (3 * MAX)}]
    wide = b"[" + b"[[[]]]," * 1000 + b"[]]"
    assert twin.JSONStreamDecoder().feed(wide) == [json.loads(wide)]


def test_the_historic_990_deep_message(twin):
    """Accepted by the compiled twin and refused by the Python twin before."""
    d = twin.JSONStreamDecoder()
    with pytest.raises(RemoteProtocolError) as info:
        d.feed(b"[" * 990 + b"]" * 990)
    assert "nested more than 512 levels deep" in str(info.value) and info.value.offset == 0


# ---------------------------------------------------------------------------
# The caller's stack depth does not change the answer
# ---------------------------------------------------------------------------

CASES = [
    PREFIX + nested(MAX) + b"\r\n",
    PREFIX + nested(MAX // 2, leaf=b'{"error":' + nested(MAX // 2 - 2) + b"}") + b"\r\n",
    PREFIX + b'{"error":' + nested(MAX - 1) + b"}\r\n",
    PREFIX + nested(MAX + 1),
    PREFIX + nested(MAX)[:-3] + b"}]]\r\n",  # a mismatched bracket deep inside
    PREFIX + nested(300, leaf=b"[1,]") + b"\r\n",  # a syntax error deep inside
    PREFIX + nested(300, leaf=b'"\\x"') + b"\r\n",  # a bad escape deep inside
]


def outcome(module, data, chunk):
    """Everything observable of decoding ``data``, or the RecursionError it let through."""
    d = module.JSONStreamDecoder(chunked=chunk)
    items = []
    try:
        items += d.feed(chunked(data) if chunk else data)
        items += d.end()
    except RecursionError:
        return ("recursion", d)
    except ProtocolError as exc:
        return ("error", type(exc), str(exc), exc.offset, norm(items), norm(exc.items))
    return ("ok", norm(items))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_answer_does_not_depend_on_the_callers_stack(twin, case):
    data = CASES[case]
    for chunk in (False, True):
        shallow = outcome(twin, data, chunk)
        assert shallow[0] in ("ok", "error")
        if case == 0:
            assert shallow == ("ok", [("value", {"a": 1}), ("value", json.loads(data[len(PREFIX) :]))])
        # From no stack left at all to more than the C scanner would need.
        for headroom in list(range(0, 60)) + list(range(60, MAX + 120, 37)):
            deep = at_headroom(headroom, lambda: outcome(twin, data, chunk))
            if deep[0] == "not entered":
                assert headroom < 5
                continue
            if deep[0] == "recursion":
                # Only when the decoder's own few calls found no stack: the
                # decoder then refuses to go on rather than guess, or was
                # never entered.
                assert headroom < 12, (headroom, twin.IMPLEMENTATION)
                d = deep[1]
                if d.offset:
                    with pytest.raises(LocalProtocolError, match="interrupted"):
                        d.feed(b"{}")
                    with pytest.raises(LocalProtocolError, match="interrupted"):
                        d.end()
                continue
            assert deep == shallow, (headroom, twin.IMPLEMENTATION)


def test_json_error_item_with_a_deep_message_field(twin):
    data = b'{"error":' + nested(MAX - 1) + b"}"
    (item,) = at_headroom(30, lambda: twin.JSONStreamDecoder().feed(data))
    assert isinstance(item, StreamError)
    assert item.message == "(a JSON array as error message)"
    assert item.data == json.loads(data)
    (item,) = twin.JSONStreamDecoder().feed(b'{"errorDetail":{"message":{"x":1},"code":3}}')
    assert (item.message, item.code) == ("(a JSON object as error message)", 3)


# ---------------------------------------------------------------------------
# The iterative parser is json.loads
# ---------------------------------------------------------------------------


def loads_outcome(fn, text):
    try:
        value = fn(text)
    except ValueError as exc:
        return ("error", type(exc), str(exc))
    return ("ok", json.dumps(value, sort_keys=True), repr(value) if isinstance(value, float) else None)


FLAT_CASES = [
    "[]", "{}", " [ ] ", "[1,2,3]", '{"a":1,"a":2,"b":3}', '{"a" : [ 1 , { } , [ ] ] }',
    "[-0, 0.5, 1e5, 1E-5, -12.5e+3, 10000000000000000000000]", "[NaN, Infinity, -Infinity]",
    '["\\u00e9\\ud83d\\ude00\\ud800", "\\"\\\\\\/\\b\\f\\n\\r\\t"]', "[true,false,null]",
    "[1,]", '{"a":1,}', "[1 2]", '{"a" 1}', '{1:2}', "[", "{", '{"a":', "[01]", "[1.]", "[.5]",
    "[1e]", "[-]", "[- 1]", "[1\u0661]", "[\u0661]", "[nul]", "[True]", '["a\nb"]', '["\\x"]',
    '["\\u12"]', '["abc', "[1]x", "[1] ", "[1]]", "[-Infinity1]", "[NaN,]", "[" + "9" * 5000 + "]",
    "[" * 300 + "]" * 300, '{"a":' * 300 + "1" + "}" * 300, "[" * 300, '{"' + "[" * 100,
    "[" * 300 + "1,]" + "]" * 299, '[{"a":' * 150 + "[" + "}]" * 150,
]


@pytest.mark.parametrize("text", FLAT_CASES)
def test_flat_parser_matches_json_loads(text):
    assert loads_outcome(python_twin._loads_flat, text) == loads_outcome(json.loads, text)


def test_flat_parser_needs_no_stack():
    depth = 100_000
    value = python_twin._loads_flat("[" * depth + "]" * depth)
    for _ in range(depth - 1):
        (value,) = value
    assert value == []
    value = at_headroom(8, lambda: python_twin._loads_flat('{"a":' * 1000 + "1" + "}" * 1000))
    for _ in range(1000):
        value = value["a"]
    assert value == 1
    with pytest.raises(json.JSONDecodeError, match="Expecting value: line 1 column 100001"):
        python_twin._loads_flat("[" * depth)


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.sampled_from(list('a"\\/\b\n\u00e9\ud800\U0001f600{}[],: ')), max_size=6),
)
json_docs = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=20,
)


@SETTINGS
@given(value=json_docs, data=st.data())
def test_flat_parser_matches_json_loads_on_random_documents(value, data):
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()), indent=data.draw(st.sampled_from([None, 1])))
    mutation = data.draw(st.sampled_from(["none", "insert", "delete", "truncate"]))
    i = data.draw(st.integers(0, len(text)))
    if mutation == "insert":
        text = text[:i] + data.draw(st.sampled_from(list('{}[]",:\\ 0-.eE+nNI\x00\u0661'))) + text[i:]
    elif mutation == "delete":
        text = text[:i] + text[i + 1 :]
    elif mutation == "truncate":
        text = text[:i]
    expected = loads_outcome(json.loads, text)
    assert loads_outcome(python_twin._loads_flat, text) == expected
    if mutation == "none":
        assert expected[0] == "ok"
        assert math.isnan(value) if expected[1] == "NaN" else True


# ---------------------------------------------------------------------------
# Both twins around the limit (Hypothesis)
# ---------------------------------------------------------------------------


@st.composite
def deep_message(draw):
    """A message MAX-3 .. MAX+3 levels deep, objects and arrays, siblings at random levels."""
    depth = draw(st.integers(MAX - 3, MAX + 3))
    kinds = draw(st.lists(st.booleans(), min_size=depth, max_size=depth))
    siblings = draw(st.lists(st.integers(0, depth - 1), max_size=6))
    leaf = draw(st.sampled_from([b"1", b'"x"', b"[]", b"{}", b'"]}"', b"null", b'"\\\\"']))
    body = leaf
    for level in reversed(range(depth)):
        n = siblings.count(level)
        if kinds[level]:
            body = b"{" + b"".join(b'"s%d":[],' % i for i in range(n)) + b'"k":' + body + b"}"
        else:
            body = b"[" + b'"s",' * n + body + b"]"
    return body, depth + (leaf in (b"[]", b"{}"))


@SETTINGS
@given(msg=deep_message(), chunk=st.booleans(), data=st.data())
def test_twins_agree_around_the_limit(msg, chunk, data):
    body, depth = msg
    assert len(openings(body)) >= depth
    mutation = data.draw(st.sampled_from(["none", "none", "truncate", "junk"]))
    if mutation == "truncate":
        body = body[: data.draw(st.integers(0, len(body)))]
    elif mutation == "junk":
        i = data.draw(st.integers(0, len(body)))
        body = body[:i] + data.draw(st.sampled_from([b"]", b"}", b"[", b"{", b'"', b",", b"x"])) + body[i:]
    payload = PREFIX + body + b"\r\n" + PREFIX
    data_, pos = wire(payload, chunk, data.draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    pieces = cut(data_, data.draw(st.lists(st.integers(0, len(data_)), max_size=8)))
    results = [run(t, "JSONStreamDecoder", {"chunked": chunk}, pieces) for t in both_twins()]
    assert all(r == results[0] for r in results)
    if mutation == "none":
        if depth <= MAX:
            value = ("value", json.dumps(json.loads(body), sort_keys=True))
            assert results[0][:2] == ("ok", [("value", '{"a": 1}'), value, ("value", '{"a": 1}')])
        else:
            kind, name, message, offset, items, carried = results[0][:6]
            assert (kind, name, offset) == ("error", "RemoteProtocolError", pos[len(PREFIX)])
            assert message.endswith(f"nested more than {MAX} levels deep")
            assert items + carried == [("value", '{"a": 1}')]
