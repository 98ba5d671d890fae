"""The engine's operations, run by a driver that does no I/O at all.

The driver below answers every ``Open`` step from a script of raw HTTP
answers (bytes, as a daemon would send them), fed through the sans-I/O
:class:`Connection`; its clock is a number it advances on ``Sleep``.  So
these tests show what an embedder's own driver gets from the public names
alone: negotiation, dispatch by response kind, the TTY lookup, sessions,
exec_run and the exec wait, with every request the engine made recorded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import protocol
from protocol import (
    APIVersion,
    AsProgress,
    Clock,
    Close,
    Converse,
    DrainInto,
    Engine,
    Fetch,
    FetchOp,
    Frame,
    MapItems,
    NeedVersion,
    NotFound,
    Open,
    OutputLimitExceeded,
    ProgressTracker,
    ReadBody,
    Sleep,
    StartSession,
    Stream,
    Timeout,
    UnsupportedVersion,
)


def answer(status: int = 200, body: bytes | dict | list | None = b"", *, reason: str = "OK",
           headers: dict[str, str] | None = None) -> bytes:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    assert isinstance(body, bytes)
    head = [f"HTTP/1.1 {status} {reason}"]
    for k, v in (headers or {}).items():
        head.append(f"{k}: {v}")
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def hijack(output: bytes, *, upgrade: bool = True) -> bytes:
    """A daemon taking the connection over for attach/exec, then its output
    (before API 1.17 with a plain 200, no Upgrade)."""
    if not upgrade:
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n" + output
    return (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + output)


def frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class Handle:
    """What the driver hands back for Open: the four attributes the engine reads."""

    def __init__(self, request, connection, events, twin):
        self.request = request
        self.connection = connection
        self.response = events[0]
        self.status = self.response.status_code
        self.items = events[1:]
        self.convert = None
        self.closed = False


class Session:
    def __init__(self, handle, exec_id, container, tty):
        self.handle, self.exec_id, self.container, self.tty = handle, exec_id, container, tty
        self.written: list[bytes] = []
        self.half_closed = False
        self.closed = False


class ScriptedDriver:
    """Performs steps with no I/O: Open takes the next scripted answer."""

    def __init__(self, engine: Engine, answers: list[bytes], twin) -> None:
        self.engine = engine
        self.answers = list(answers)
        self.sent: list[str] = []
        self.twin = twin
        self.now = 100.0
        self.negotiations = 0
        self.fetches = 0

    def run(self, op):
        value, error = None, None
        while True:
            try:
                step = op.send(value) if error is None else op.throw(error)
            except StopIteration as done:
                return done.value
            value, error = None, None
            try:
                value = self.perform(step)
            except BaseException as exc:
                error = exc

    def perform(self, step):
        if isinstance(step, NeedVersion):
            if self.engine.version is None:
                self.negotiations += 1
                self.engine.set_version(self.run(self.engine.negotiate()))
            return self.engine.version
        if isinstance(step, Fetch):
            # Open then ReadBody in one step (an engine made with fetch=True).
            handle = self.perform(Open(step.request))
            self.fetches += 1
            step.into.append(self.perform(ReadBody(handle, step.limit)))
            return handle.response
        if isinstance(step, Open):
            conn = self.engine.new_connection()
            wire = conn.send_request(step.request)
            if conn.state is protocol.ConnectionState.SENDING_BODY:
                for chunk in step.request.body_chunks():
                    conn.send_body(chunk)
                conn.send_end()
            self.sent.append(wire.split(b"\r\n", 1)[0].decode())
            events = conn.receive_data(self.answers.pop(0))
            return Handle(step.request, conn, events, self.twin)
        if isinstance(step, ReadBody):
            body = bytearray(b"".join(e.data for e in step.response.items if isinstance(e, protocol.Data)))
            if step.into is not None:
                step.into.append(body)
                return None
            return body
        if isinstance(step, MapItems):
            step.response.convert = step.convert
            return step.response
        if isinstance(step, StartSession):
            handle = step.response
            assert handle.connection.state is protocol.ConnectionState.HIJACKED
            handle.items += handle.connection.receive_data(b"")  # the command ended: EOF
            return Session(handle, step.exec_id, step.container, step.tty)
        if isinstance(step, Converse):
            step.session.written.extend(step.chunks)
            step.session.half_closed = step.half_close
            step.collector.feed(step.session.handle.items)
            return None
        if isinstance(step, DrainInto):
            return [e for e in step.response.items if isinstance(e, protocol.StreamError)]
        if isinstance(step, AsProgress):
            tracker = ProgressTracker(step.request, step.status)
            return [tracker.message(m) for m in step.source.items if not isinstance(m, protocol.EndOfMessage)]
        if isinstance(step, Close):
            step.target.closed = True
            return None
        if isinstance(step, Clock):
            return self.now
        if isinstance(step, Sleep):
            self.now += step.seconds
            return None
        raise AssertionError(f"unexpected step {step!r}")


PING_141 = answer(200, b"", headers={"Api-Version": "1.41"})


@pytest.fixture(params=[False, True], ids=["open+readbody", "fetch"])
def drive(twin, request):
    """A scripted driver; every engine test runs with and without Fetch steps."""
    def make(answers, **engine_kw):
        engine = Engine(stream_impl=twin, fetch=request.param, **engine_kw)
        return ScriptedDriver(engine, answers, twin)
    return make


def test_negotiation_is_one_head_ping(drive):
    d = drive([PING_141, answer(200, {"Containers": 3})])
    info = d.run(d.engine.info())
    assert info["Containers"] == 3 and isinstance(info, protocol.SystemInfo)
    assert d.sent == ["HEAD /_ping HTTP/1.1", "GET /v1.41/info HTTP/1.1"]
    assert d.engine.version == APIVersion("1.41") and d.negotiations == 1


def test_negotiation_falls_back_to_get_ping_then_version(drive):
    # A daemon older than HEAD /_ping (404), then GET /_ping without Api-Version
    # (before 1.25): /version says it.
    d = drive([
        answer(404, b"404 page not found\n", reason="Not Found"),
        answer(200, b"OK"),
        answer(200, {"ApiVersion": "1.19", "Version": "1.7.1"}),
        answer(200, {"Id": "abc"}),
    ])
    assert d.run(d.engine.inspect_container("abc"))["Id"] == "abc"
    assert d.sent == ["HEAD /_ping HTTP/1.1", "GET /_ping HTTP/1.1", "GET /version HTTP/1.1",
                      "GET /v1.19/containers/abc/json HTTP/1.1"]


def test_pinned_version_sends_no_probe(drive):
    d = drive([answer(204, reason="No Content")], version="1.25")
    assert d.run(d.engine.start_container("c1")) is None
    assert d.sent == ["POST /v1.25/containers/c1/start HTTP/1.1"]


def test_error_answer_is_typed_and_carries_the_status(drive):
    d = drive([answer(404, {"message": "No such container: nope"}, reason="Not Found")], version="1.41")
    with pytest.raises(NotFound) as info:
        d.run(d.engine.inspect_container("nope"))
    assert info.value.status == 404 and "nope" in str(info.value)


def test_unsupported_parameter_is_refused_before_sending(drive):
    d = drive([], version="1.24")
    with pytest.raises(UnsupportedVersion):
        d.run(d.engine.exec_create("c1", ["true"], env=["A=1"]))  # env is 1.25+
    assert d.sent == []


def test_logs_below_1_42_look_up_the_tty_first(drive):
    logs = b"".join([frame(1, b"out\n"), frame(2, b"err\n")])
    d = drive([
        answer(200, {"Config": {"Tty": False}}),
        answer(200, logs, headers={"Content-Type": "application/vnd.docker.raw-stream"}),
    ], version="1.41")
    resp = d.run(d.engine.logs("c1"))
    assert d.sent[0] == "GET /v1.41/containers/c1/json HTTP/1.1"
    assert d.sent[1].startswith("GET /v1.41/containers/c1/logs?") and len(d.sent) == 2
    frames = [(f.stream, f.data) for f in resp.items if hasattr(f, "stream")]
    assert frames == [(Stream.STDOUT, b"out\n"), (Stream.STDERR, b"err\n")]


def test_logs_from_1_42_need_no_inspect(drive):
    logs = frame(1, b"hi\n")
    d = drive([
        answer(200, headers={"Api-Version": "1.44"}),  # the one (HEAD) ping that learns the server's version
        answer(200, logs, headers={"Content-Type": "application/vnd.docker.multiplexed-stream",
                                   "Api-Version": "1.44"}),
    ], version="1.44")
    resp = d.run(d.engine.logs("c1"))
    assert d.sent[0] == "HEAD /_ping HTTP/1.1"
    assert d.sent[1].startswith("GET /v1.44/containers/c1/logs?") and len(d.sent) == 2
    assert [f.data for f in resp.items if hasattr(f, "stream")] == [b"hi\n"]


def test_events_items_are_typed_views(drive):
    body = b'{"Type":"container","Action":"start","id":"x"}\n'
    d = drive([answer(200, body, headers={"Content-Type": "application/json"})], version="1.41")
    resp = d.run(d.engine.events(until=1))
    assert resp.convert is not None
    (event,) = [resp.convert(i) for i in resp.items if isinstance(i, dict)]
    assert isinstance(event, protocol.Event) and event.action == "start"


def test_exec_run_creates_starts_writes_and_waits(drive):
    output = frame(1, b"HELLO\n") + frame(2, b"warn\n")
    d = drive([
        answer(201, {"Id": "e" * 64}, reason="Created"),
        hijack(output),
        answer(200, {"Running": True, "ExitCode": 0}),
        answer(200, {"Running": False, "ExitCode": 3}),
    ], version="1.41")
    result = d.run(d.engine.exec_run("c1", ["sh"], input=b"hello\n"))
    assert result == protocol.ExecResult(3, b"HELLO\n", b"warn\n")
    assert [s.split(" ")[1] for s in d.sent] == [
        "/v1.41/containers/c1/exec", f"/v1.41/exec/{'e' * 64}/start",
        f"/v1.41/exec/{'e' * 64}/json", f"/v1.41/exec/{'e' * 64}/json"]
    assert d.now == pytest.approx(100.05)  # polled once, after one sleep


def test_exec_run_plans_stdin_for_a_tty(drive):
    d = drive([
        answer(201, {"Id": "f" * 64}, reason="Created"),
        hijack(b""),
        answer(200, {"Running": False, "ExitCode": 0}),
    ], version="1.41")
    session_log: list[Any] = []
    original = d.perform

    def perform(step):
        if isinstance(step, Converse):
            session_log.append((list(step.chunks), step.half_close))
        return original(step)

    d.perform = perform
    d.run(d.engine.exec_run("c1", ["cat"], input=b"partial", tty=True))
    # A pty ignores a half-close: a partial line needs two EOF characters.
    assert session_log == [([b"partial", b"\x04\x04"], False)]


def test_exec_wait_gives_up_with_what_it_saw(drive):
    running = answer(200, {"Running": True, "ExitCode": None, "Pid": 42})
    d = drive([answer(201, {"Id": "a" * 64}, reason="Created"),
               hijack(b"")]
              + [running] * 30, version="1.41")
    with pytest.raises(Timeout) as info:
        d.run(d.engine.exec_run("c1", ["sleep", "9"], wait_timeout=1.0))
    assert "Pid=42" in str(info.value)
    assert info.value.received == protocol.ExecResult(None, b"", b"")
    assert 100 + 1.0 < d.now < 100 + 1.2  # polled on the driver's clock, not wall time


def test_exec_wait_does_not_take_not_started_for_ended(drive):
    # moby answers exec start before the process runs; until then inspect says
    # Running=false with a null ExitCode.
    d = drive([answer(201, {"Id": "d" * 64}, reason="Created"),
               hijack(b""),
               answer(200, {"Running": False, "ExitCode": None, "Pid": 0}),
               answer(200, {"Running": True, "ExitCode": None, "Pid": 42}),
               answer(200, {"Running": False, "ExitCode": 7, "Pid": 42})], version="1.41")
    assert d.run(d.engine.exec_run("c1", ["sh"])) == protocol.ExecResult(7, b"", b"")
    assert len(d.sent) == 5


def test_exec_wait_that_never_sees_a_start_says_so(drive):
    idle = answer(200, {"Running": False, "ExitCode": None, "Pid": 0})
    d = drive([answer(201, {"Id": "9" * 64}, reason="Created"), hijack(b"")] + [idle] * 30,
              version="1.41")
    with pytest.raises(Timeout) as info:
        d.run(d.engine.exec_run("c1", ["true"], wait_timeout=0.5))
    assert "has not started" in str(info.value) and "Pid=0" in str(info.value)


def test_exec_run_output_cap_keeps_what_arrived(drive):
    d = drive([
        answer(201, {"Id": "b" * 64}, reason="Created"),
        hijack(frame(1, b"x" * 100)),
    ], version="1.41")
    with pytest.raises(OutputLimitExceeded) as info:
        d.run(d.engine.exec_run("c1", ["yes"], max_output=10))
    assert info.value.stdout == b"x" * 10


def test_exec_below_1_16_has_no_exit_code(drive):
    d = drive([
        answer(201, {"Id": "c" * 64}, reason="Created"),
        hijack(frame(1, b"ok\n"), upgrade=False),
    ], version="1.15")
    assert d.run(d.engine.exec_run("c1", ["true"])) == protocol.ExecResult(None, b"ok\n", b"")


def test_progress_in_band_error_is_typed(drive):
    body = b'{"status":"Pulling"}\n{"error":"denied","errorDetail":{"message":"denied"}}\n'
    d = drive([answer(200, body, headers={"Content-Type": "application/json"})], version="1.41")
    with pytest.raises(protocol.APIError) as info:
        d.run(d.engine.pull("busybox", "latest"))
    assert [m["status"] for m in info.value.messages] == ["Pulling"]


def test_resize_refuses_a_swappable_pair(drive):
    d = drive([], version="1.41")
    session = Session(None, "e" * 64, None, True)
    with pytest.raises(TypeError):
        d.run(d.engine.resize(session, 24, 80))
    assert d.sent == []


def test_server_api_follows_the_api_version_header_and_ignores_a_bad_one():
    # The header is parsed only when it changes (every answer of a daemon
    # carries the same one): a change, and a bad value after a good one, must
    # still be seen right.
    from protocol._core._events import Response

    engine = Engine(version="1.41")
    engine.note_response(Response(200, ((b"api-version", b"1.41"),)))
    assert engine.server_api == APIVersion("1.41")
    engine.note_response(Response(200, ((b"api-version", b"1.41"),)))
    assert engine.server_api == APIVersion("1.41")
    engine.note_response(Response(200, ((b"api-version", b"1.43"),)))
    assert engine.server_api == APIVersion("1.43")
    engine.note_response(Response(200, ((b"api-version", b"one.two"),)))
    assert engine.server_api == APIVersion("1.43")  # kept: the bad value says nothing
    engine.note_response(Response(200))
    assert engine.server_api == APIVersion("1.43")
    engine.note_response(Response(200, ((b"api-version", b"1.41"),)))
    assert engine.server_api == APIVersion("1.41")


def test_connection_for_reuses_a_clean_connection_with_the_current_bounds():
    engine = Engine(version="1.41")
    fresh = engine.connection_for(None)
    assert engine.connection_for(fresh) is fresh  # idle, nothing left over
    fresh.send_request(protocol.Request("GET", "/_ping", kind=protocol.ResponseKind.TEXT))
    assert engine.connection_for(fresh) is not fresh  # mid-cycle: never shared
    fresh.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    engine.max_body_size = 123
    assert engine.connection_for(fresh) is fresh and fresh.max_body_size == 123


def test_fetch_makes_a_small_answer_one_step_and_keeps_typed_errors(twin):
    engine = Engine(stream_impl=twin, fetch=True, version="1.41")
    d = ScriptedDriver(engine, [answer(200, b"OK"), answer(200, {"Id": "abc"}),
                                answer(404, {"message": "No such container: x"}, reason="Not Found")], twin)
    assert d.run(engine.ping()) == "OK"
    assert d.run(engine.inspect_container("abc"))["Id"] == "abc"
    with pytest.raises(protocol.NotFound, match="No such container"):
        d.run(engine.inspect_container("x"))
    assert d.fetches == 3


def _requests_sent(d, monkeypatch):
    """Record the Request objects the driver opens, by identity."""
    seen: list = []
    perform = d.perform

    def recording(step):
        if isinstance(step, Open):
            seen.append(step.request)
        return perform(step)

    monkeypatch.setattr(d, "perform", recording)
    return seen


def test_a_repeated_call_sends_the_same_request_object(drive, monkeypatch):
    # The built request is kept: a kept connection sends it from cached bytes.
    d = drive([answer(200, {"Id": "a"}), answer(200, {"Id": "a"}), answer(200, {"Id": "b"})], version="1.41")
    seen = _requests_sent(d, monkeypatch)
    for ident in ("a", "a", "b"):
        assert d.run(d.engine.inspect_container(ident))["Id"] == ident
    assert seen[0] is seen[1] and seen[2] is not seen[0]
    assert [r.target for r in seen] == ["/v1.41/containers/a/json"] * 2 + ["/v1.41/containers/b/json"]


def test_the_request_cache_tells_equal_values_of_different_types_apart(drive, monkeypatch):
    # True == 1 and hash(True) == hash(1): a key without the types would
    # serve all=1 the request built for all=True, where it must be refused.
    d = drive([answer(200, [])], version="1.41")
    seen = _requests_sent(d, monkeypatch)
    d.run(d.engine.call("containers.list", all=True))
    with pytest.raises(protocol.LocalProtocolError, match="must be a bool"):
        d.run(d.engine.call("containers.list", all=1))
    assert len(seen) == 1 and "all=1" in seen[0].query


def test_the_request_cache_keeps_no_mutable_argument_and_is_bounded(drive, monkeypatch):
    from protocol._core import _engine

    d = drive([answer(200, [])] * 2, version="1.41")
    seen = _requests_sent(d, monkeypatch)
    filters = {"status": ["running"]}
    d.run(d.engine.call("containers.list", filters=filters))
    filters["status"] = ["exited"]  # changed in place: the next call must send the new value
    d.run(d.engine.call("containers.list", filters=filters))
    assert "running" in seen[0].query and "exited" in seen[1].query
    monkeypatch.setattr(_engine, "_BUILT_MAX", 2)
    _engine._BUILT.clear()
    for ident in ("x", "y", "z"):
        d.answers.append(answer(200, {"Id": ident}))
        d.run(d.engine.inspect_container(ident))
    assert len(_engine._BUILT) <= 2


def test_container_output_requests_are_built_each_time(drive, monkeypatch):
    # Below 1.42 the TTY is looked up from the daemon and goes into the
    # request: it may differ next time, so such requests are not kept.
    logs = frame(1, b"x\n")
    head = {"Content-Type": "application/vnd.docker.raw-stream"}
    d = drive([answer(200, {"Config": {"Tty": False}}), answer(200, logs, headers=head),
               answer(200, {"Config": {"Tty": True}}), answer(200, b"x\n", headers=head)], version="1.41")
    seen = _requests_sent(d, monkeypatch)
    d.run(d.engine.logs("c1"))
    second = d.run(d.engine.logs("c1"))
    assert seen[1] is not seen[3] and (seen[1].tty, seen[3].tty) == (False, True)
    assert [f.data for f in second.items if hasattr(f, "stream")] == [b"x\n"]


def test_a_call_with_a_long_argument_is_not_kept(drive, monkeypatch):
    from protocol._core import _engine

    long_name = "x" * 3000
    d = drive([answer(200, {"Id": long_name})] * 2, version="1.41")
    seen = _requests_sent(d, monkeypatch)
    for _ in range(2):
        d.run(d.engine.inspect_container(long_name))
    assert seen[0] is not seen[1] and seen[0].target == seen[1].target
    assert not any(len(r.target) > _engine._BUILT_TARGET_MAX for _, r, _ in _engine._BUILT.values())


# -- FetchOp: one Fetch and a function, without a generator ---------------------


def _direct(d, op):
    """What the Client does with a FetchOp: the step performed, the head handed to complete()."""
    assert type(op) is FetchOp
    return op.complete(d.perform(op.step))


def test_a_repeated_whole_call_is_one_fetch_op_run_either_way(twin):
    from protocol._core import _engine

    _engine._BUILT.clear()
    engine = Engine(stream_impl=twin, fetch=True, version="1.41")
    d = ScriptedDriver(engine, [answer(200, {"Id": "a"})] * 3 + [answer(200, b"OK")] * 2, twin)
    first = engine.inspect_container("a")
    assert type(first) is not FetchOp  # built on the first call: a generator
    assert d.run(first)["Id"] == "a"
    # The same call again: one Fetch of the kept request, stepped by the
    # generic loop or performed directly, with the same typed answer.
    stepped = d.run(engine.inspect_container("a"))
    direct = _direct(d, engine.inspect_container("a"))
    assert type(stepped) is type(direct) is protocol.ContainerInspect
    assert stepped == direct == {"Id": "a"}
    assert d.run(engine.ping()) == _direct(d, engine.ping()) == "OK"
    assert d.sent == ["GET /v1.41/containers/a/json HTTP/1.1"] * 3 + ["GET /_ping HTTP/1.1"] * 2


def test_fetch_op_only_where_the_driver_fetches_and_the_version_is_known(twin):
    from protocol._core import _engine

    _engine._BUILT.clear()
    unversioned = Engine(stream_impl=twin, fetch=True)
    d = ScriptedDriver(unversioned, [PING_141, answer(200, {"Id": "a"})], twin)
    assert type(unversioned.call("containers.inspect", id="a")) is not FetchOp  # negotiation first
    assert d.run(unversioned.inspect_container("a"))["Id"] == "a" and d.negotiations == 1
    assert type(unversioned.inspect_container("a")) is FetchOp
    no_fetch = Engine(stream_impl=twin, version="1.41")  # a driver without Fetch steps
    assert type(no_fetch.ping()) is not FetchOp and type(no_fetch.inspect_container("a")) is not FetchOp
    # Streams and sessions are never a FetchOp, kept request or not.
    assert type(unversioned.call("system.events")) is not FetchOp


def test_fetch_op_errors_are_typed_and_thrown_errors_propagate(twin):
    from protocol._core import _engine

    _engine._BUILT.clear()
    engine = Engine(stream_impl=twin, fetch=True, version="1.41")
    missing = answer(404, {"message": "No such container: x"}, reason="Not Found")
    d = ScriptedDriver(engine, [answer(200, {"Id": "x"}), missing, missing], twin)
    d.run(engine.inspect_container("x"))
    with pytest.raises(protocol.NotFound, match="No such container"):
        d.run(engine.inspect_container("x"))
    with pytest.raises(protocol.NotFound, match="No such container"):
        _direct(d, engine.inspect_container("x"))
    # The generator protocol: a driver's error thrown in comes back out,
    # and the operation is over.
    op = engine.ping()
    assert isinstance(op.send(None), Fetch)
    with pytest.raises(protocol.TransportError, match="gone"):
        op.throw(protocol.TransportError("gone"))
    with pytest.raises(StopIteration):
        op.send(None)
    with pytest.raises(TypeError, match="non-None"):
        engine.ping().send("x")


def test_fetch_op_runs_inside_another_operation(twin):
    # An embedder's operation may `yield from` any of the engine's: a
    # FetchOp answers it as a generator would.
    from protocol._core import _engine

    _engine._BUILT.clear()
    engine = Engine(stream_impl=twin, fetch=True, version="1.41")
    d = ScriptedDriver(engine, [answer(200, {"Id": "a"})] * 2 + [answer(200, b"OK")], twin)
    d.run(engine.inspect_container("a"))

    def both():
        info = yield from engine.inspect_container("a")
        pong = yield from engine.ping()
        return info["Id"], pong

    assert d.run(both()) == ("a", "OK")
    mapped = engine.ping().map(str.lower).map(len)
    assert type(mapped) is FetchOp
    d.answers.append(answer(200, b"OK"))
    assert d.run(mapped) == 2
