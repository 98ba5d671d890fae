"""One request/response exchange, as far as it is not I/O: when a request
may be sent again, and what the caller is told when it may not.

Both drivers run the same loop (take a connection from the pool, write the
request, read until the response head is complete) and ask this module the
two questions the loop cannot answer by itself.  The rule is Go's net/http
rule, which the docker CLI lives by: a request is sent a second time, on a
new connection, only when the first attempt used a reused keep-alive
connection (which the daemon may have closed while it sat idle) and either
no byte of the request was written, or the request is a GET/HEAD without a
streamed body and no byte of an answer arrived.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import ConnectionLost, MessageTooLarge, ReadTimeout
from ._events import Data, EndOfMessage, Response
from ._request import Request

__all__ = ["IDEMPOTENT", "may_send_again", "connection_lost", "timed_out", "whole_body"]

#: Methods Go's net/http deems safe to send again (RFC 9110 idempotent
#: methods the Engine API uses): retried after a stale keep-alive connection.
IDEMPOTENT = frozenset({"GET", "HEAD"})


def may_send_again(
    request: Request, *, reused: bool, attempt: int, written: int | None, received: bool
) -> bool:
    """Whether a broken exchange may be tried once more on a new connection.

    ``written`` is how many bytes of the request the transport accepted
    (None: it does not count them, so anything may have been sent);
    ``received`` whether any byte of an answer arrived.
    """
    if not reused or attempt > 0:
        return False
    if written == 0:
        return True
    replayable = request.body is None or isinstance(request.body, bytes)
    return request.method in IDEMPOTENT and replayable and not received


def connection_lost(
    request: Request, cause: BaseException, *, written: int | None, received: bool
) -> ConnectionLost:
    """The error for an exchange that broke and is not sent again."""
    sent = written is None or written > 0
    state = "after part of its answer" if received else "before any answer"
    return ConnectionLost(
        f"{request.method} {request.target}: the connection was lost {state} "
        f"({cause}); not sent again, "
        + ("the daemon may have processed it" if sent else "nothing of it was written"),
        request,
        may_have_been_processed=sent,
    )


def timed_out(request: Request | None, timeout: float | None, what: str = "no data") -> ReadTimeout:
    """The error for a read that waited longer than the client's timeout."""
    who = "the daemon" if request is None else f"{request.method} {request.target}"
    return ReadTimeout(f"{who}: {what} from the daemon within {timeout}s (read timeout)", request, timeout)


def whole_body(head: Response, events: Sequence[object], limit: int | None) -> bytes | bytearray | None:
    """The body of an answer whose events, after the head, run to its end
    (:class:`EndOfMessage`): the usual shape of a small answer, which came
    in the read that brought the head.  None when they do not (the rest is
    still to be read).  Over ``limit`` bytes: :class:`MessageTooLarge`, as
    a read of the body would say it."""
    if not events or type(events[-1]) is not EndOfMessage:
        return None
    body: bytes | bytearray
    if len(events) == 3 and type(events[1]) is Data:
        body = events[1].data  # one piece: no copy
    else:
        body = bytearray()
        for ev in events:
            if type(ev) is Data:
                body += ev.data
    if limit is not None and len(body) > limit:
        length = head.header(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise MessageTooLarge(f"the daemon announced a {int(length)}-byte body; the limit is {limit}")
        raise MessageTooLarge(f"the body passed the limit of {limit} bytes")
    return body
