# cython: language_level=3
"""Stream decoders, compiled twin (built as ``protocol._speedups``).

The same state machine as ``protocol/_stream_py.py`` (read its "theory of
operation"), in C.  Behaviour is identical by construction where it can be:
exceptions, ``Stream`` and ``StreamError`` come from the Python modules, and
every error message, systemerr item, JSON error item and sink write is built
by the Python twin's helpers.  Only the hot paths live here: chunk-size lines
made of hex digits, frame headers, whole frames, the JSON scanner.

The module is compiled with boundscheck and wraparound off: every index below
is checked against the segment end by hand, and every size the peer announces
(chunk size up to 2**64-1, frame size up to 2**32-1) is compared with what
is actually present before any byte is touched.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport (
    PyByteArray_AS_STRING,
    PyByteArray_FromStringAndSize,
    PyByteArray_GET_SIZE,
    PyByteArray_Resize,
)
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.list cimport PyList_Append, PyList_GET_SIZE
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define PROTOCOL_PREFETCH(p) __builtin_prefetch((const void*)(p))
    #else
    #define PROTOCOL_PREFETCH(p) ((void)0)
    #endif
    """
    void PROTOCOL_PREFETCH(const void* p) noexcept nogil

from protocol._core._errors import LocalProtocolError, RemoteProtocolError
from protocol._core._events import Stream, StreamError
from protocol._core import _stream_py as _py
from protocol._core import _fastjson

__all__ = [
    "MultiplexedStreamDecoder",
    "RawStreamDecoder",
    "JSONStreamDecoder",
    "Frame",
    "DEFAULT_MAX_SIZE",
    "MAX_JSON_DEPTH",
    "IMPLEMENTATION",
    "parse_head",
    "AsyncItems",
]

IMPLEMENTATION = "cython"
DEFAULT_MAX_SIZE = _py.DEFAULT_MAX_SIZE

cdef object STDOUT = Stream.STDOUT
cdef object STDERR = Stream.STDERR
cdef object _scan_once = _py._scan_once
cdef object _json_failure = _py._json_failure
cdef object _parse_chunk_size = _py._parse_chunk_size
cdef object _chunk_line_too_long = _py._chunk_line_too_long
cdef object _missing_crlf = _py._missing_crlf
cdef object _trailer_too_large = _py._trailer_too_large
cdef object _bad_trailer = _py._bad_trailer
cdef object _bad_header = _py._bad_header
cdef object _frame_too_large = _py._frame_too_large
cdef object _body_ended_mid_frame = _py._body_ended_mid_frame
cdef object _json_garbage = _py._json_garbage
cdef object _json_invalid = _py._json_invalid
cdef object _json_too_deep = _py._json_too_deep
cdef object _decode_json_flat = _py._decode_json_flat
cdef object _json_too_large = _py._json_too_large
cdef object _json_error = _py._json_error
cdef object _truncated = _py._truncated
cdef object _broken = _py._broken
cdef object _INTERRUPTED = _py._INTERRUPTED


cdef Py_ssize_t _ORJSON_MAX_SIZE = _fastjson.MAX_SIZE


cdef inline bint _is_digit(char c) noexcept:
    return 48 <= c <= 57


cdef inline bint _wide_int(const char* p, Py_ssize_t m) noexcept:
    """protocol._core._fastjson's byte scan, in place: a run of 20 digits, or
    a minus sign and 19, anywhere (an integer orjson would give as a float).

    Any 19 consecutive positions hold exactly one of the positions probed
    (every 19th), so a run of 19 digits or more covers a probe: JSON text
    is mostly not digits, and the scan looks at about one byte in 19.
    """
    cdef Py_ssize_t k = 18, lo, hi
    while k < m:
        if not _is_digit(p[k]):
            k += 19
            continue
        lo = k
        while lo > 0 and _is_digit(p[lo - 1]):
            lo -= 1
        hi = k + 1
        while hi < m and _is_digit(p[hi]):
            hi += 1
        if hi - lo >= 20 or (hi - lo >= 19 and lo > 0 and p[lo - 1] == 45):
            return True
        # A later run starts after hi: the probe at hi + 19 (mod 19: hi)
        # lies in any 19 positions from hi + 1 on.
        k = hi + 19
    return False


def wide_int(object body):
    """protocol._core._fastjson.wide_int_py, in C, looking at about one
    byte in 19 (bytes.translate costs some 18 instructions per byte)."""
    cdef Py_buffer view
    PyObject_GetBuffer(body, &view, PyBUF_SIMPLE)
    try:
        return _wide_int(<const char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
cdef object _check_limit = _py._check_limit
cdef object _systemerr = _py._systemerr
cdef object _write_all = _py._write_all
cdef object _chunk_state_what = _py._chunk_state_what
cdef object _frame_state_what = _py._frame_state_what
cdef object _JSON_MID = _py._JSON_MID

cdef Py_ssize_t MAX_CHUNK_LINE = _py.MAX_CHUNK_LINE
cdef Py_ssize_t MAX_TRAILER = _py.MAX_TRAILER
MAX_JSON_DEPTH = _py.MAX_JSON_DEPTH
cdef Py_ssize_t C_MAX_JSON_DEPTH = _py.MAX_JSON_DEPTH
# Larger limits are all the same: a frame announces at most 2**32-1 bytes,
# and a message cannot outgrow memory.
cdef Py_ssize_t LIMIT_CAP = 1 << 62

cdef enum:
    C_SIZE = 0
    C_DATA = 1
    C_CR = 2
    C_LF = 3
    C_TRAILER = 4
    C_DONE = 5
    C_BODY = 6

cdef enum:
    J_TOP = 0
    J_IN = 1
    J_STR = 2
    J_ESC = 3

# Hex digit values, 0xFF for anything else.
cdef unsigned char HEX[256]
HEX[:] = [0xFF] * 256
for _i in range(10):
    HEX[0x30 + _i] = _i
for _i in range(6):
    HEX[0x41 + _i] = 10 + _i
    HEX[0x61 + _i] = 10 + _i


# The per-item path makes one Frame per frame received; its allocation is a
# large share of the per-item cost.  One read (READ_SIZE, 256 KiB) of 61-byte
# log frames makes about 4300 Frames, which a consumer usually drops together
# before the next read: a pool that holds them all turns the next read's
# allocations into pops.  The pool (C below) replaces Cython's freelist: its
# constructor sets the two fields directly instead of through the generic
# tp_new, and its tp_dealloc (installed at import) returns Frames to it.  It
# keeps at most PROTOCOL_POOL_MAX * 32 bytes (256 KiB) of unused Frames.
cdef extern from *:
    """
    typedef struct { PyObject_HEAD PyObject *stream; PyObject *data; } protocol_FrameObject;
    #define PROTOCOL_POOL_MAX 8192
    static protocol_FrameObject *protocol_pool[PROTOCOL_POOL_MAX];
    static Py_ssize_t protocol_pool_n = 0;
    static PyTypeObject *protocol_frame_type = NULL;  /* set once the layout is checked */

    #if defined(Py_TRACE_REFS) || defined(Py_REF_DEBUG) || PY_VERSION_HEX >= 0x030C0000
    #define PROTOCOL_FRAME_INIT(f) ((void)PyObject_Init((PyObject *)(f), protocol_frame_type))
    #else
    /* PyObject_Init on 3.10/3.11 is these two stores plus a call to
       _Py_NewReference, whose only other effect in a release build is to
       re-date the block for tracemalloc: a pooled Frame keeps the allocation
       site of its first use.  The type is static (no reference to take). */
    #define PROTOCOL_FRAME_INIT(f) (Py_SET_TYPE((PyObject *)(f), protocol_frame_type), \
                                    Py_SET_REFCNT((PyObject *)(f), 1))
    #endif

    static void protocol_frame_dealloc(PyObject *o) {
        protocol_FrameObject *f = (protocol_FrameObject *)o;
        Py_CLEAR(f->stream);
        Py_CLEAR(f->data);
        if (Py_TYPE(o) == protocol_frame_type && protocol_pool_n < PROTOCOL_POOL_MAX) {
            protocol_pool[protocol_pool_n++] = f;
        } else {
            Py_TYPE(o)->tp_free(o);
        }
    }

    /* A new Frame (new reference) holding new references to stream and data. */
    static PyObject *protocol_frame_new(PyObject *stream, PyObject *data) {
        protocol_FrameObject *f;
        if (protocol_pool_n) {
            f = protocol_pool[--protocol_pool_n];
        } else {
            f = (protocol_FrameObject *)PyObject_Malloc(sizeof(protocol_FrameObject));
            if (f == NULL) return PyErr_NoMemory();
        }
        PROTOCOL_FRAME_INIT(f);
        Py_INCREF(stream);
        f->stream = stream;
        Py_INCREF(data);
        f->data = data;
        return (PyObject *)f;
    }

    /* items.append(Frame(stream, bytes(p[:n]))) for the pooled type, in one
       step: the new bytes goes into the Frame without a reference round-trip. */
    static int protocol_append_frame(PyObject *items, PyObject *stream, const char *p, Py_ssize_t n) {
        protocol_FrameObject *f;
        int rc;
        PyObject *data = PyBytes_FromStringAndSize(p, n);
        if (data == NULL) return -1;
        if (protocol_pool_n) {
            f = protocol_pool[--protocol_pool_n];
        } else {
            f = (protocol_FrameObject *)PyObject_Malloc(sizeof(protocol_FrameObject));
            if (f == NULL) { Py_DECREF(data); PyErr_NoMemory(); return -1; }
        }
        PROTOCOL_FRAME_INIT(f);
        Py_INCREF(stream);
        f->stream = stream;
        f->data = data;
        rc = PyList_Append(items, (PyObject *)f);
        Py_DECREF(f);
        return rc;
    }

    static int protocol_pool_install(PyObject *type, PyObject *probe) {
        /* Only with the layout this file assumes (checked on a Frame made by
           Cython's own constructor) and with memory from PyObject_Malloc. */
        PyTypeObject *t = (PyTypeObject *)type;
    #ifdef Py_GIL_DISABLED
        /* The pool is a plain static array guarded by the GIL: without one
           (free-threaded builds) Frames are allocated the ordinary way. */
        (void)t; (void)probe;
        return 0;
    #endif
        if (t->tp_basicsize != (Py_ssize_t)sizeof(protocol_FrameObject) || t->tp_free != PyObject_Free
            || t->tp_itemsize != 0 || (t->tp_flags & (Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HEAPTYPE)))
            return 0;
        if (Py_TYPE(probe) != t || ((protocol_FrameObject *)probe)->stream == NULL
            || !PyBytes_CheckExact(((protocol_FrameObject *)probe)->data))
            return 0;
        t->tp_dealloc = protocol_frame_dealloc;
        protocol_frame_type = t;
        return 1;
    }
    """
    object protocol_frame_new(object stream, object data)
    int protocol_pool_install(object type, object probe) except -1
    int protocol_append_frame(list items, object stream, const char* p, Py_ssize_t n) except -1


@cython.final
@cython.no_gc
cdef class Frame:
    """A piece of container output: ``stream`` (Stream) and ``data`` (bytes).

    The compiled twin of ``protocol._events.Frame``: immutable, compares and
    hashes by value (equal to a Python Frame with the same fields).
    """

    cdef readonly object stream
    cdef readonly bytes data

    def __init__(self, stream, data):
        self.stream = Stream(stream)
        self.data = bytes(data)

    def __eq__(self, other):
        try:
            s = other.stream
            d = other.data
        except AttributeError:
            return NotImplemented
        return bool(self.stream == s and self.data == d)

    def __ne__(self, other):
        r = self.__eq__(other)
        if r is NotImplemented:
            return r
        return not r

    def __hash__(self):
        return hash((int(self.stream), self.data))

    def __repr__(self):
        return f"Frame({self.stream.name}, {self.data!r})"

    def __reduce__(self):
        return (Frame, (int(self.stream), self.data))


cdef bint POOLED = False


cdef inline Frame make_frame(object stream, bytes data):
    cdef Frame f
    if POOLED:
        return <Frame>protocol_frame_new(stream, data)
    f = Frame.__new__(Frame)
    f.stream = stream
    f.data = data
    return f


def _install_pool():
    """Use the Frame pool when the type's layout is the one the C code assumes."""
    global POOLED
    probe = Frame(Stream.STDOUT, b"layout check")
    # The probe, made before, is freed by the pool's tp_dealloc: same memory allocator.
    POOLED = protocol_pool_install(Frame, probe) == 1


_install_pool()



cdef inline int ba_extend(bytearray ba, const unsigned char* src, Py_ssize_t m) except -1:
    """Append m bytes at src to ba (amortised: bytearray over-allocates)."""
    cdef Py_ssize_t old = PyByteArray_GET_SIZE(ba)
    if m <= 0:
        return 0
    PyByteArray_Resize(ba, old + m)
    memcpy(PyByteArray_AS_STRING(ba) + old, src, <size_t>m)
    return 0


cdef inline bint parse_hex_line(const unsigned char* p, Py_ssize_t m, uint64_t* out) noexcept:
    """Fast path for the usual chunk-size line: 1-16 hex digits then CR (LF removed).

    Returns False for anything else (extensions, whitespace, errors): the
    caller then asks the Python twin's parser, which accepts or raises.
    """
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    cdef unsigned char d
    if m < 2 or m > 17 or p[m - 1] != 13:
        return False
    for i in range(m - 1):
        d = HEX[p[i]]
        if d == 0xFF:
            return False
        v = (v << 4) | d
    out[0] = v
    return True


cdef class _Decoder:
    """Chunk layer, sink buffers and feed()/end() bookkeeping."""

    cdef bint _chunked
    cdef int _cstate
    cdef uint64_t _chunk_left
    cdef bytearray _line
    cdef int64_t _line_start
    cdef Py_ssize_t _trailer_size
    cdef int64_t _offset
    cdef object _error
    cdef bint _ended
    cdef bint _finished
    cdef bytearray _unused
    # Sink mode (feed_into): one scratch bytearray per target, filled up to
    # _olen[k]; _ocap is an upper bound of the payload of one call.
    cdef bint _sink
    cdef bytearray _out0
    cdef bytearray _out1
    cdef Py_ssize_t _olen0
    cdef Py_ssize_t _olen1
    cdef Py_ssize_t _ocap
    # Raw pointers into _out0/_out1 and their sizes, valid while _sink is
    # set (the scratch buffers are private and only resized through _put),
    # so the per-frame copy is a bounds check and a memcpy.
    cdef char* _optr[2]
    cdef Py_ssize_t _osize[2]
    # Set by decoders that implement _whole_chunks (the per-item fast path).
    cdef bint _has_fast_path

    def __init__(self, chunked):
        self._chunked = bool(chunked)
        self._cstate = C_SIZE if self._chunked else C_BODY
        self._chunk_left = 0
        self._line = bytearray()
        self._line_start = 0
        self._trailer_size = 0
        self._offset = 0
        self._error = None
        self._ended = False
        self._finished = False
        self._unused = bytearray()
        self._sink = False

    @property
    def finished(self):
        """Chunked: the terminating chunk and trailers were consumed.  Else: end() was called."""
        return self._finished

    @property
    def unused_data(self):
        """Bytes received after the end of a chunked body (the next response's)."""
        return bytes(self._unused)

    @property
    def offset(self):
        """Input bytes consumed so far, chunk framing included."""
        return self._offset

    cdef int _payload(self, const unsigned char* buf, Py_ssize_t s, Py_ssize_t e,
                      int64_t base, list items) except -1:
        raise NotImplementedError

    cdef object _mid_item(self):
        raise NotImplementedError

    cdef Py_ssize_t _whole_chunks(self, const unsigned char* buf, Py_ssize_t p, Py_ssize_t n,
                                  list items) except -1:
        return p

    # -- sink buffers ---------------------------------------------------------

    @cython.final
    cdef inline int _put(self, int k, const unsigned char* src, Py_ssize_t m) except -1:
        cdef Py_ssize_t used
        if m <= 0:
            return 0
        used = self._olen0 if k == 0 else self._olen1
        if used + m > self._osize[k]:
            self._grow(k, used + m)
        memcpy(self._optr[k] + used, src, <size_t>m)
        if k == 0:
            self._olen0 = used + m
        else:
            self._olen1 = used + m
        return 0

    @cython.final
    cdef int _grow(self, int k, Py_ssize_t need) except -1:
        """Make scratch buffer k hold at least ``need`` bytes (at least _ocap)."""
        cdef bytearray o = self._out0 if k == 0 else self._out1
        cdef Py_ssize_t size = self._ocap if self._ocap >= need else need
        if o is None:
            o = PyByteArray_FromStringAndSize(NULL, size)
            if k == 0:
                self._out0 = o
            else:
                self._out1 = o
        elif PyByteArray_GET_SIZE(o) < size:
            # The scratch buffer is private (never exported), so it may move.
            PyByteArray_Resize(o, size)
        self._optr[k] = PyByteArray_AS_STRING(o)
        self._osize[k] = PyByteArray_GET_SIZE(o)
        return 0

    @cython.final
    cdef int _open_sink(self, Py_ssize_t cap) except -1:
        """Start a sink call whose payload is at most ``cap`` bytes."""
        self._ocap = cap
        self._osize[0] = 0
        self._osize[1] = 0
        if self._out0 is not None:
            self._grow(0, 0)
        if self._out1 is not None:
            self._grow(1, 0)
        self._sink = True
        return 0

    @cython.final
    cdef object _take_out(self, int k):
        """The bytes gathered for target k in this call (None if none); reset for the next call.

        The scratch buffers are reused from call to call (allocating a fresh
        read-sized buffer per call costs page faults), and targets get an
        immutable copy they may keep.  Buffers above 1 MiB are dropped, so a
        single huge input does not pin its size in memory.
        """
        cdef bytearray o
        cdef Py_ssize_t used
        if k == 0:
            o = self._out0
            used = self._olen0
            self._olen0 = 0
        else:
            o = self._out1
            used = self._olen1
            self._olen1 = 0
        if o is None:
            return None
        result = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(o), used) if used else None
        if PyByteArray_GET_SIZE(o) > (1 << 20):
            if k == 0:
                self._out0 = None
            else:
                self._out1 = None
        return result

    # -- driving --------------------------------------------------------------

    cdef bint _check_start(self, object data) except -1:
        """Raise if broken or ended; route data to unused_data once finished (returns False)."""
        if self._error is not None:
            raise _broken(self._error)
        if self._ended:
            raise LocalProtocolError("feed() called after end()")
        if self._finished:
            self._unused += bytes(memoryview(data))
            return False
        return True

    cdef int _run(self, object data, list items) except -1:
        cdef Py_buffer pb
        try:
            PyObject_GetBuffer(data, &pb, PyBUF_SIMPLE)
        except BufferError:  # a non-contiguous memoryview
            data = bytes(memoryview(data))
            PyObject_GetBuffer(data, &pb, PyBUF_SIMPLE)
        try:
            if self._chunked:
                self._dechunk(<const unsigned char*>pb.buf, pb.len, items)
            else:
                self._payload(<const unsigned char*>pb.buf, 0, pb.len, self._offset, items)
                self._offset += pb.len
        except RemoteProtocolError as exc:
            exc.items = items
            self._error = exc
            raise
        except BaseException:  # see _py._INTERRUPTED
            self._error = _INTERRUPTED
            raise
        finally:
            PyBuffer_Release(&pb)
        return 0

    @cython.final
    cdef int _dechunk(self, const unsigned char* buf, Py_ssize_t n, list items) except -1:
        cdef Py_ssize_t p = 0
        cdef Py_ssize_t end, limit, lf, line_len
        cdef const unsigned char* q
        cdef int64_t base = self._offset
        cdef int64_t line_off
        cdef uint64_t size = 0
        cdef int st
        cdef bytearray line = self._line
        try:
            while p < n:
                st = self._cstate
                if st == C_DATA:
                    if self._chunk_left <= <uint64_t>(n - p):
                        end = p + <Py_ssize_t>self._chunk_left
                        self._payload(buf, p, end, base, items)
                        p = end
                        self._chunk_left = 0
                        if p + 2 <= n and buf[p] == 13 and buf[p + 1] == 10:
                            p += 2
                            self._cstate = C_SIZE
                        else:
                            self._cstate = C_CR
                    else:
                        self._payload(buf, p, n, base, items)
                        self._chunk_left -= <uint64_t>(n - p)
                        p = n
                elif st == C_SIZE:
                    line_len = PyByteArray_GET_SIZE(line)
                    if line_len == 0 and self._has_fast_path and not self._sink:
                        # Consume the run of ordinary whole chunks here, in
                        # one loop; it stops (returns p) at anything else,
                        # which the general machine below then handles.
                        p = self._whole_chunks(buf, p, n, items)
                        if p >= n:
                            break
                    # Chunks of small frames are parsed faster than the
                    # hardware prefetcher brings in the next 4 KiB page:
                    # ask for the bytes a little ahead (a hint; never faults).
                    if n - p > 2048:
                        PROTOCOL_PREFETCH(buf + p + 2048)
                    if line_len == 0:
                        self._line_start = base + p
                        limit = p + MAX_CHUNK_LINE
                        if limit > n:
                            limit = n
                        q = <const unsigned char*>memchr(buf + p, 10, <size_t>(limit - p))
                        if q == NULL:
                            if n - p >= MAX_CHUNK_LINE:
                                raise _chunk_line_too_long(base + p)
                            ba_extend(line, buf + p, n - p)
                            p = n
                            continue
                        lf = q - buf
                        if not parse_hex_line(buf + p, lf - p, &size):
                            size = _parse_chunk_size(buf[p:lf], base + p)
                        p = lf + 1
                    else:
                        limit = p + MAX_CHUNK_LINE - line_len
                        if limit > n:
                            limit = n
                        q = <const unsigned char*>memchr(buf + p, 10, <size_t>(limit - p))
                        if q == NULL:
                            if n - p >= MAX_CHUNK_LINE - line_len:
                                raise _chunk_line_too_long(self._line_start)
                            ba_extend(line, buf + p, n - p)
                            p = n
                            continue
                        lf = q - buf
                        ba_extend(line, buf + p, lf - p)
                        p = lf + 1
                        size = _parse_chunk_size(bytes(line), self._line_start)
                        del line[:]
                    if size:
                        self._chunk_left = size
                        self._cstate = C_DATA
                    else:
                        if self._mid_item() is not None:
                            raise _body_ended_mid_frame(self._line_start)
                        self._cstate = C_TRAILER
                        self._trailer_size = 0
                        self._line_start = base + p
                elif st == C_CR or st == C_LF:
                    if buf[p] != (13 if st == C_CR else 10):
                        raise _missing_crlf(base + p)
                    p += 1
                    self._cstate = C_LF if st == C_CR else C_SIZE
                elif st == C_TRAILER:
                    limit = p + MAX_TRAILER - self._trailer_size
                    if limit > n:
                        limit = n
                    q = <const unsigned char*>memchr(buf + p, 10, <size_t>(limit - p))
                    if q == NULL:
                        if n - p >= MAX_TRAILER - self._trailer_size:
                            raise _trailer_too_large(self._line_start)
                        ba_extend(line, buf + p, n - p)
                        self._trailer_size += n - p
                        p = n
                        continue
                    lf = q - buf
                    ba_extend(line, buf + p, lf - p)
                    self._trailer_size += lf + 1 - p
                    line_len = PyByteArray_GET_SIZE(line)
                    line_off = base + lf - line_len
                    p = lf + 1
                    if line_len == 0 or PyByteArray_AS_STRING(line)[line_len - 1] != 13:
                        raise _bad_trailer(line_off)
                    del line[:]
                    if line_len == 1:
                        self._cstate = C_DONE
                        self._finished = True
                        ba_extend(self._unused, buf + p, n - p)
                        break
                else:
                    raise AssertionError(st)
        finally:
            self._offset = base + p
        return 0

    def end(self):
        """The input is finished.  Raises RemoteProtocolError if it stopped mid-item."""
        if self._error is not None:
            raise _broken(self._error)
        if self._ended:
            return []
        what = _chunk_state_what(self._cstate, self._chunk_left, len(self._line) > 0)
        if what is None:
            what = self._mid_item()
        if what is not None:
            exc = _truncated(self._offset, what)
            exc.items = []
            self._error = exc
            raise exc
        self._ended = True
        self._finished = True
        return []


cdef class _FrameDecoder(_Decoder):

    def feed_into(self, data, stdout, stderr):
        """Decode ``data`` and write the payload to ``stdout``/``stderr``.

        See the Python twin: one write per target per call, stdout first;
        StreamErrors returned; every payload byte delivered exactly once.
        """
        cdef list items = []
        if not self._check_start(data):
            return items
        self._open_sink(memoryview(data).nbytes + self._part_len())
        try:
            self._run(data, items)
        finally:
            self._sink = False
            o0 = self._take_out(0)
            o1 = self._take_out(1)
            if o0 is not None:
                _write_all(stdout, o0)
            if o1 is not None:
                _write_all(stderr, o1)
        return items

    cdef Py_ssize_t _part_len(self):
        return 0


@cython.final
cdef class MultiplexedStreamDecoder(_FrameDecoder):
    """Decode Docker's multiplexed stdout/stderr framing (non-TTY attach, exec, logs).

    See ``protocol._stream_py.MultiplexedStreamDecoder``: same contract.
    """

    cdef uint64_t _max
    cdef object _maxobj
    cdef unsigned char _hdr[8]
    cdef Py_ssize_t _hlen
    cdef int64_t _hstart
    cdef uint64_t _left
    cdef int _kind
    cdef bytearray _part

    def __init__(self, chunked=False, max_frame_size=DEFAULT_MAX_SIZE):
        _Decoder.__init__(self, chunked)
        m = _check_limit(max_frame_size, "max_frame_size")
        self._max = m if m < (1 << 62) else (1 << 62)
        self._maxobj = m
        self._hlen = 0
        self._hstart = 0
        self._left = 0
        self._kind = 0
        self._part = bytearray()
        self._has_fast_path = True

    def feed(self, data):
        """Decode ``data``; return the frames and stream errors it completed, in order."""
        cdef list items = []
        if not self._check_start(data):
            return items
        self._run(data, items)
        return items

    cdef Py_ssize_t _part_len(self):
        return PyByteArray_GET_SIZE(self._part)

    cdef object _mid_item(self):
        return _frame_state_what(self._hlen, self._left)

    cdef int _payload(self, const unsigned char* buf, Py_ssize_t s, Py_ssize_t e,
                      int64_t base, list items) except -1:
        cdef Py_ssize_t take
        cdef const unsigned char* h
        cdef int64_t hstart
        cdef unsigned char t
        cdef uint32_t size
        cdef bytearray part
        while s < e:
            if self._left:
                take = e - s
                if self._left < <uint64_t>take:
                    take = <Py_ssize_t>self._left
                part = self._part
                if self._sink and self._kind != 3:
                    if PyByteArray_GET_SIZE(part):  # begun by feed()
                        self._put(self._kind == 2, <const unsigned char*>PyByteArray_AS_STRING(part),
                                  PyByteArray_GET_SIZE(part))
                        del part[:]
                    self._put(self._kind == 2, buf + s, take)
                else:
                    ba_extend(part, buf + s, take)
                s += take
                self._left -= <uint64_t>take
                if not self._left:
                    self._finish_frame(items)
                continue
            if self._hlen or e - s < 8:
                if not self._hlen:
                    self._hstart = base + s
                take = 8 - self._hlen
                if take > e - s:
                    take = e - s
                memcpy(self._hdr + self._hlen, buf + s, <size_t>take)
                self._hlen += take
                s += take
                if self._hlen < 8:
                    return 0
                self._hlen = 0
                h = self._hdr
                hstart = self._hstart
            else:
                h = buf + s
                hstart = base + s
                s += 8
            t = h[0]
            if t > 3 or h[1] or h[2] or h[3]:
                raise _bad_header(hstart, PyBytes_FromStringAndSize(<const char*>h, 8))
            size = ((<uint32_t>h[4]) << 24) | ((<uint32_t>h[5]) << 16) | ((<uint32_t>h[6]) << 8) | h[7]
            if size > self._max:
                raise _frame_too_large(hstart, size, self._maxobj)
            if not size:
                continue
            if <Py_ssize_t>size <= e - s:
                # Whole frame here: the usual case.
                if self._sink:
                    if t != 3:
                        self._put(t == 2, buf + s, size)
                        s += size
                        continue
                elif t == 3:
                    PyList_Append(items, _systemerr(PyBytes_FromStringAndSize(<const char*>buf + s, size)))
                    s += size
                    continue
                else:
                    PyList_Append(items, make_frame(STDERR if t == 2 else STDOUT,
                                                    PyBytes_FromStringAndSize(<const char*>buf + s, size)))
                    s += size
                    continue
            self._kind = t
            self._left = size
            self._hstart = hstart
        return 0

    cdef Py_ssize_t _whole_chunks(self, const unsigned char* buf, Py_ssize_t p, Py_ssize_t n,
                                  list items) except -1:
        """The per-item fast path: consume whole chunks of whole stdout/stderr frames.

        Called at a chunk-size line with nothing pending (no partial line,
        frame or header).  Takes every following chunk that is ``HEX\\r\\n``
        (1-16 digits), its data entirely in ``buf`` and followed by
        ``\\r\\n``, and made of whole frames of type 0-2 within the size
        limit; returns the position of the first chunk that is anything else
        (the terminating chunk, extensions, a split, a type 3 frame, any
        error), which the general state machine then decodes.  What it
        consumes, it decodes exactly as the general machine would (same
        items, same order), and it never raises a protocol error.
        """
        cdef Py_ssize_t d, s, e, f
        cdef uint64_t size
        cdef uint32_t fsize
        cdef unsigned char c
        cdef const unsigned char* h
        if self._hlen or self._left:
            return p
        while True:
            if n - p > 2048:
                PROTOCOL_PREFETCH(buf + p + 2048)
            # Chunk-size line: 1-16 hex digits, CR, LF.  With 21 bytes at
            # hand the digit loop needs no end check (a longer line stops at
            # the 17th digit); the last few bytes of an input go the general way.
            if n - p < 21:
                return p
            size = HEX[buf[p]]
            if size == 0xFF:
                return p
            d = p + 1
            while True:
                c = HEX[buf[d]]
                if c == 0xFF:
                    break
                size = (size << 4) | c
                d += 1
                if d - p > 16:
                    return p
            if buf[d] != 13 or buf[d + 1] != 10 or size == 0:
                return p
            s = d + 2
            if size > <uint64_t>(n - s) or <Py_ssize_t>size > n - s - 2:
                return p
            e = s + <Py_ssize_t>size
            if buf[e] != 13 or buf[e + 1] != 10:
                return p
            h = buf + s
            if e - s >= 8 and h[0] <= 2 and not (h[1] | h[2] | h[3]):
                fsize = ((<uint32_t>h[4]) << 24) | ((<uint32_t>h[5]) << 16) | ((<uint32_t>h[6]) << 8) | h[7]
                if <Py_ssize_t>fsize == e - s - 8 and fsize <= self._max:
                    # One frame, the whole chunk: the daemon's usual shape.
                    if fsize:
                        if POOLED:
                            protocol_append_frame(items, STDERR if h[0] == 2 else STDOUT, <const char*>h + 8, fsize)
                        else:
                            PyList_Append(items, make_frame(STDERR if h[0] == 2 else STDOUT,
                                                            PyBytes_FromStringAndSize(<const char*>h + 8, fsize)))
                    p = e + 2
                    continue
            # Several frames: check every one before taking any.
            f = s
            while f < e:
                if e - f < 8:
                    return p
                h = buf + f
                if h[0] > 2 or h[1] or h[2] or h[3]:
                    return p
                fsize = ((<uint32_t>h[4]) << 24) | ((<uint32_t>h[5]) << 16) | ((<uint32_t>h[6]) << 8) | h[7]
                if fsize > self._max or <Py_ssize_t>fsize > e - f - 8:
                    return p
                f += 8 + <Py_ssize_t>fsize
            f = s
            while f < e:
                h = buf + f
                fsize = ((<uint32_t>h[4]) << 24) | ((<uint32_t>h[5]) << 16) | ((<uint32_t>h[6]) << 8) | h[7]
                f += 8
                if fsize:
                    PyList_Append(items, make_frame(STDERR if h[0] == 2 else STDOUT,
                                                    PyBytes_FromStringAndSize(<const char*>buf + f, fsize)))
                    f += <Py_ssize_t>fsize
            p = e + 2

    cdef int _finish_frame(self, list items) except -1:
        cdef bytearray part = self._part
        if self._kind == 3:
            PyList_Append(items, _systemerr(bytes(part)))
        elif not self._sink:
            PyList_Append(items, make_frame(STDERR if self._kind == 2 else STDOUT, bytes(part)))
        else:
            self._put(self._kind == 2, <const unsigned char*>PyByteArray_AS_STRING(part),
                      PyByteArray_GET_SIZE(part))
        del part[:]
        return 0


@cython.final
cdef class RawStreamDecoder(_FrameDecoder):
    """Decode a TTY (raw, unframed) stream: every payload byte is stdout.

    See ``protocol._stream_py.RawStreamDecoder``: same contract.
    """

    def __init__(self, chunked=False):
        _Decoder.__init__(self, chunked)

    def feed(self, data):
        """Decode ``data``; return ``[Frame(STDOUT, payload)]``, or ``[]`` without payload."""
        cdef list items = []
        cdef bytes b
        if not self._check_start(data):
            return items
        if not self._chunked:
            b = data if type(data) is bytes else bytes(memoryview(data))
            self._offset += len(b)
            if b:
                items.append(make_frame(STDOUT, b))
            return items
        self._open_sink(memoryview(data).nbytes)
        try:
            self._run(data, items)
        except RemoteProtocolError as exc:
            self._sink = False
            o = self._take_out(0)
            exc.items = [make_frame(STDOUT, o)] if o is not None else []
            raise
        finally:
            self._sink = False
        o = self._take_out(0)
        if o is not None:
            items.append(make_frame(STDOUT, o))
        return items

    cdef object _mid_item(self):
        return None

    cdef int _payload(self, const unsigned char* buf, Py_ssize_t s, Py_ssize_t e,
                      int64_t base, list items) except -1:
        self._put(0, buf + s, e - s)
        return 0


@cython.final
cdef class JSONStreamDecoder(_Decoder):
    """Split a JSON stream into messages and decode each as ``json.loads`` would.

    See ``protocol._stream_py.JSONStreamDecoder``: same contract.
    """

    cdef Py_ssize_t _max
    cdef object _maxobj
    cdef int _jstate
    cdef Py_ssize_t _depth
    cdef bytearray _msg
    cdef int64_t _mstart

    def __init__(self, chunked=False, max_message_size=DEFAULT_MAX_SIZE):
        _Decoder.__init__(self, chunked)
        m = _check_limit(max_message_size, "max_message_size")
        self._maxobj = m
        self._max = m if m < LIMIT_CAP else LIMIT_CAP
        self._jstate = J_TOP
        self._depth = 0
        self._msg = bytearray()
        self._mstart = 0

    def feed(self, data):
        """Decode ``data``; return the messages it completed, in order."""
        cdef list items = []
        if not self._check_start(data):
            return items
        self._run(data, items)
        return items

    cdef object _decode(self, const char* p, Py_ssize_t m):
        """protocol._stream_py._decode_json, reading the bytes in place."""
        loads = _fastjson.loads  # orjson when installed (read here: tests switch it off)
        if loads is not None and m <= _ORJSON_MAX_SIZE and not _wide_int(p, m):
            try:
                return loads(PyBytes_FromStringAndSize(p, m))
            except ValueError:
                pass  # refused by orjson: the stdlib's value or error, below
        try:
            text = PyUnicode_DecodeUTF8(p, m, "surrogatepass")
            value, end = _scan_once(text, 0)
        except RecursionError:  # the caller's stack is deep: see the Python twin
            return _decode_json_flat(PyBytes_FromStringAndSize(p, m), self._mstart)
        except (StopIteration, ValueError):
            raise _json_failure(PyBytes_FromStringAndSize(p, m), self._mstart) from None
        if end != len(text):
            raise _json_failure(PyBytes_FromStringAndSize(p, m), self._mstart)
        return value

    cdef object _mid_item(self):
        if self._jstate != J_TOP:
            return _JSON_MID
        return None

    cdef int _payload(self, const unsigned char* buf, Py_ssize_t s, Py_ssize_t e,
                      int64_t base, list items) except -1:
        cdef int state = self._jstate
        cdef Py_ssize_t depth = self._depth
        cdef bytearray msg = self._msg
        cdef Py_ssize_t mbegin = s
        cdef Py_ssize_t lim
        cdef Py_ssize_t room
        cdef unsigned char c
        cdef bint done
        room = self._max - PyByteArray_GET_SIZE(msg)
        lim = e if e - s <= room else s + room
        try:
            while True:
                if state == J_TOP:
                    while s < e:
                        c = buf[s]
                        if c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09 or c == 0x1E:
                            s += 1
                        else:
                            break
                    if s >= e:
                        return 0
                    if c != 0x7B and c != 0x5B:
                        raise _json_garbage(base + s, c)
                    self._mstart = base + s
                    mbegin = s
                    lim = e if e - s <= self._max else s + self._max
                    if s >= lim:
                        raise _json_too_large(self._mstart, self._maxobj)
                    s += 1
                    depth = 1
                    state = J_IN
                elif state == J_IN:
                    done = False
                    while s < lim:
                        c = buf[s]
                        s += 1
                        if c == 0x22:
                            state = J_STR
                            break
                        elif c == 0x7B or c == 0x5B:
                            depth += 1
                            if depth > C_MAX_JSON_DEPTH:
                                raise _json_too_deep(self._mstart)
                        elif c == 0x7D or c == 0x5D:
                            depth -= 1
                            if depth == 0:
                                done = True
                                break
                    if done:
                        if PyByteArray_GET_SIZE(msg):
                            ba_extend(msg, buf + mbegin, s - mbegin)
                            value = self._decode(<const char*>PyByteArray_AS_STRING(msg),
                                                 PyByteArray_GET_SIZE(msg))
                            del msg[:]
                        else:
                            value = self._decode(<const char*>buf + mbegin, s - mbegin)
                        if type(value) is dict and ("error" in value or "errorDetail" in value):
                            value = _json_error(value)
                        PyList_Append(items, value)
                        state = J_TOP
                    elif state != J_STR:
                        break  # s == lim inside the message
                elif state == J_STR:
                    while s < lim:
                        c = buf[s]
                        if c == 0x22 or c == 0x5C:
                            break
                        s += 1
                    if s >= lim:
                        break
                    state = J_IN if c == 0x22 else J_ESC
                    s += 1
                else:  # J_ESC: skip the escaped byte
                    if s >= lim:
                        break
                    s += 1
                    state = J_STR
            # Inside a message at the end of the scannable range.
            if lim < e:
                raise _json_too_large(self._mstart, self._maxobj)
            ba_extend(msg, buf + mbegin, e - mbegin)
        finally:
            self._jstate = state
            self._depth = depth
        return 0


# ---------------------------------------------------------------------------
# Response heads (the connection's fast path): the Python twin's
# parse_head (read its docstring for the subset of HTTP/1.1 it takes), as
# one loop over the bytes instead of a dozen bytes-method calls per line.
# ---------------------------------------------------------------------------

cdef bint _TOKEN_BYTE[256]
for _i in range(256):
    _TOKEN_BYTE[_i] = _i in _py._TOKEN_CHARS  # the Python twin's set

# The names a daemon sends in every answer, lower-cased once: a head made
# of them allocates no name.
cdef tuple _KNOWN_NAMES = (
    b"api-version", b"content-type", b"docker-experimental", b"ostype", b"server", b"date",
    b"content-length", b"transfer-encoding", b"connection", b"content-encoding", b"cache-control",
)


cdef inline bytes _known_name(const char* q, Py_ssize_t n):
    """The interned form of the lower-cased name at ``q``, or None."""
    cdef bytes known
    for known in _KNOWN_NAMES:
        if len(known) == n and memcmp(<const char*>known, q, n) == 0:
            return known
    return None


@cython.boundscheck(False)
@cython.wraparound(False)
def parse_head(bytes buf not None):
    """The compiled twin of ``_stream_py.parse_head``: the same result or None."""
    cdef const unsigned char* p = <const unsigned char*>buf
    cdef Py_ssize_t n = len(buf)
    cdef Py_ssize_t i, end = -1, line_end, pos, colon, vs, ve, k, size
    cdef unsigned char c
    cdef int code
    cdef uint64_t digits  # unsigned: wraps harmlessly past 18 digits, where it is not used
    cdef object length = -1
    cdef bint chunked = False, close = False
    cdef list headers = []
    cdef bytes lower, value
    cdef char* q
    cdef char name[32]
    # One pass finds the blank line and checks every byte before it: no
    # NUL, VT or FF; CR only before LF, LF only after CR.
    i = 0
    while i < n:
        c = p[i]
        if c == 0x0D:
            if i + 1 >= n:
                return None  # incomplete
            if p[i + 1] != 0x0A:
                return None
            if i + 3 < n and p[i + 2] == 0x0D and p[i + 3] == 0x0A:
                end = i
                break
            i += 2
            continue
        if c == 0x0A or c == 0x00 or c == 0x0B or c == 0x0C:
            return None
        i += 1
    if end < 0:
        return None
    line_end = <Py_ssize_t>(<const unsigned char*>memchr(p, 0x0D, end + 1) - p)
    if (
        line_end < 12
        or memcmp(p, b"HTTP/1.1 ", 9) != 0
        or not (0x30 <= p[9] <= 0x39 and 0x30 <= p[10] <= 0x39 and 0x30 <= p[11] <= 0x39)
        or (line_end > 12 and p[12] != 0x20)
    ):
        return None
    code = (p[9] - 0x30) * 100 + (p[10] - 0x30) * 10 + (p[11] - 0x30)
    if code < 200:
        return None
    reason = PyBytes_FromStringAndSize(<const char*>p + 13, line_end - 13) if line_end > 13 else b""
    pos = line_end + 2
    while pos < end + 2:
        line_end = <Py_ssize_t>(<const unsigned char*>memchr(p + pos, 0x0D, end + 2 - pos) - p)
        colon = pos
        while colon < line_end and _TOKEN_BYTE[p[colon]]:
            colon += 1
        if colon == pos or colon == line_end or p[colon] != 0x3A:
            return None  # no name, a non-token byte in it, or no colon
        vs = colon + 1
        while vs < line_end and (p[vs] == 0x20 or p[vs] == 0x09):
            vs += 1
        ve = line_end
        while ve > vs and (p[ve - 1] == 0x20 or p[ve - 1] == 0x09):
            ve -= 1
        size = colon - pos
        lower = None
        if size <= 32:
            # Lower-cased on the stack first: a known name is not allocated.
            for k in range(size):
                c = p[pos + k]
                name[k] = <char>(c + 0x20 if 0x41 <= c <= 0x5A else c)
            lower = _known_name(name, size)
            if lower is None:
                lower = PyBytes_FromStringAndSize(name, size)
        else:
            lower = PyBytes_FromStringAndSize(NULL, size)
            q = <char*>lower
            for k in range(size):
                c = p[pos + k]
                q[k] = <char>(c + 0x20 if 0x41 <= c <= 0x5A else c)
        q = <char*>lower
        value = PyBytes_FromStringAndSize(<const char*>p + vs, ve - vs)
        if size == 14 and memcmp(q, b"content-length", 14) == 0:
            if length >= 0 or ve == vs or ve - vs > 20:
                return None
            digits = 0
            for k in range(vs, ve):
                if not 0x30 <= p[k] <= 0x39:
                    return None
                digits = digits * 10 + (p[k] - 0x30)
            # 18 digits always fit a long long; longer ones (h11 takes 20)
            # go through int().
            length = digits if ve - vs <= 18 else int(value)
        elif size == 17 and memcmp(q, b"transfer-encoding", 17) == 0:
            if chunked or ve - vs != 7 or memcmp(p + vs, b"chunked", 7) != 0:
                return None
            chunked = True
        elif size == 10 and memcmp(q, b"connection", 10) == 0:
            if not close and b"close" in value.lower():
                close = True
        PyList_Append(headers, (lower, value))
        pos = line_end + 2
    if length >= 0 and chunked:
        return None
    return end + 4, code, reason, tuple(headers), length, chunked, close


# ---------------------------------------------------------------------------
# AsyncItems: a response's items one at a time for ``async for``, the
# compiled twin of ``protocol._core._items_py`` (an async generator there:
# read its docstring for the contract, and why the forms differ).
#
# While the current batch has items, ``__anext__`` returns a _Ready holding
# the next one: awaiting it runs its iterator, which ends at once with the
# item, so an item costs no Python frame and no suspension.  Cython raises
# every exception with a traceback entry (a frame object, several times the
# cost of the rest of the item): the two slots that end the iterator are C,
# installed at import, and hand the item over without one.  am_send (Python
# 3.10+, used by ``await`` on 3.10 and 3.11) returns it with no exception at
# all; tp_iternext (``await`` on 3.12+, and under a tracer) ends with
# StopIteration carrying it as a bare value, which the interpreter takes
# without making the exception object where it can.
# ---------------------------------------------------------------------------

cdef extern from *:
    """
    typedef struct { PyObject_HEAD PyObject *item; } protocol_ReadyObject;

    /* Raise StopIteration(value) for a return from an iterator. */
    static void protocol_stop_with(PyObject *value) {
        if (PyTuple_Check(value) || PyExceptionInstance_Check(value)) {
            /* A bare value would be taken as the exception's arguments, or
               as the exception: it goes in a StopIteration made here. */
            PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, value);
            if (exc != NULL) {
                PyErr_SetObject(PyExc_StopIteration, exc);
                Py_DECREF(exc);
            }
        } else {
            PyErr_SetObject(PyExc_StopIteration, value);
        }
    }

    /* The item, taken (None stays behind, as after Cython's __next__). */
    static PyObject *protocol_ready_take(PyObject *o) {
        protocol_ReadyObject *r = (protocol_ReadyObject *)o;
        PyObject *item = r->item;
        Py_INCREF(Py_None);
        r->item = Py_None;
        return item;
    }

    static PyObject *protocol_ready_next(PyObject *o) {
        PyObject *item = protocol_ready_take(o);
        protocol_stop_with(item);
        Py_DECREF(item);
        return NULL;
    }

    #if PY_VERSION_HEX >= 0x030A0000
    /* ``await`` sends None first; what is sent is not looked at: the
       awaitable is done before anything could be sent to it. */
    static PySendResult protocol_ready_send(PyObject *o, PyObject *arg, PyObject **result) {
        (void)arg;
        *result = protocol_ready_take(o);
        return PYGEN_RETURN;
    }
    #endif

    static int protocol_ready_install(PyObject *type) {
        /* Only with the layout this file assumes (one object field, no
           vtable): otherwise Cython's own __next__ stays, slower, the same. */
        PyTypeObject *t = (PyTypeObject *)type;
        if (t->tp_basicsize != (Py_ssize_t)sizeof(protocol_ReadyObject) || t->tp_itemsize != 0
            || t->tp_as_async == NULL || t->tp_iternext == NULL)
            return 0;
        t->tp_iternext = protocol_ready_next;
    #if PY_VERSION_HEX >= 0x030A0000
        t->tp_as_async->am_send = protocol_ready_send;
    #endif
        return 1;
    }
    """
    int protocol_ready_install(object type) except -1


from protocol._core import _items_py

cdef object _items_end = _items_py.items_end


@cython.final
@cython.no_gc
@cython.freelist(16)
cdef class _Ready:
    """An awaitable that is done already: awaiting it gives ``item``."""

    cdef object item  # the C slots above assume this one field

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        # Replaced at import by protocol_ready_next (same result).
        item, self.item = self.item, None
        raise StopIteration(item)


_READY_SLOTS = bool(protocol_ready_install(_Ready))


@cython.final
cdef class AsyncItems:
    """The items of ``batches`` (an async iterator of lists), one per
    ``__anext__``, ``convert``-ed when given."""

    cdef object _batches
    cdef object _convert
    cdef list _batch
    cdef Py_ssize_t _pos  # the next item's index in _batch
    cdef Py_ssize_t _end  # where _batch's items end (its markers excluded)
    cdef bint _waiting  # a _refill() awaits the next batch

    def __init__(self, batches, convert=None):
        self._batches = batches
        self._convert = convert
        self._batch = []
        self._pos = 0
        self._end = 0
        self._waiting = False

    def __aiter__(self):
        return self

    def __anext__(self):
        cdef _Ready ready
        cdef Py_ssize_t pos = self._pos
        # (_end <= len(_batch) unless the batches' owner shrank a list it
        # handed out: then its items end where it ends, never past it.)
        if pos < self._end and pos < PyList_GET_SIZE(self._batch):
            item = self._batch[pos]
            self._pos = pos + 1
            if self._convert is not None:
                try:
                    item = self._convert(item)
                except BaseException as exc:
                    return self._fail(exc)
            ready = _Ready.__new__(_Ready)
            ready.item = item
            return ready
        return self._refill()

    async def _refill(self):
        """The first item of the next batch that has one."""
        cdef Py_ssize_t end
        if self._waiting:  # the twin's message: an async generator's
            raise RuntimeError("anext(): asynchronous generator is already running")
        while True:
            batches = self._batches
            if batches is None:
                raise StopAsyncIteration
            self._waiting = True
            try:
                batch = await batches.__anext__()
            except BaseException:
                # The end, an error of the read, a cancellation: the
                # batches are closed, as the twin's finally does.
                self._waiting = False
                await self.aclose()
                raise
            self._waiting = False
            end = _items_end(batch)
            if end:
                self._batch = batch if type(batch) is list else list(batch)
                self._pos = 1
                self._end = end
                if self._convert is None:
                    return batch[0]
                try:
                    return self._convert(batch[0])
                except BaseException:
                    await self.aclose()
                    raise

    async def _fail(self, exc):
        """``convert`` raised ``exc``: the iteration ends there."""
        await self.aclose()
        raise exc

    async def aclose(self):
        """End the iteration: the batches are closed, and every later
        ``__anext__`` raises StopAsyncIteration."""
        if self._waiting:
            raise RuntimeError("aclose(): asynchronous generator is already running")
        batches, self._batches = self._batches, None
        self._batch = []
        self._pos = 0
        self._end = 0
        close = getattr(batches, "aclose", None)
        if close is not None:
            await close()
