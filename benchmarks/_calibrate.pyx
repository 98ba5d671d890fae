# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Calibration loops: what the machine does with the same bytes, at the least.

Benchmark code, never shipped: ``calibration.py`` compiles this file at
benchmark time (into a temporary directory), so the floors are measured by
the same compiler, on the same machine, in the same run as the decoders.

Each loop walks a chunked body of multiplexed frames (``HEX\\r\\n`` frame
``\\r\\n`` ... ``0\\r\\n\\r\\n``) fed in the same pieces as the decoder, and
assumes what the decoders cannot: chunk-size lines of plain hex, no frame
split across pieces (the pieces are cut at chunk boundaries, see
``calibration.chunk_aligned_pieces``), no error checks beyond not reading
past the end.  So these are floors, not competitors.

* ``walk``: parse every chunk-size line and frame header, touch nothing else;
* ``walk_objects``: the same, plus one ``bytes`` of the frame's payload per
  frame appended to a fresh list per piece (the list dropped after the
  piece, as a consumer that handles items as they come would);
* ``copy``: ``memcpy`` of every piece into one scratch buffer (memory
  bandwidth for the input).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_Append
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy


cdef inline Py_ssize_t hex_line(const unsigned char* p, Py_ssize_t n, Py_ssize_t* size) noexcept:
    """Parse ``HEX\\r\\n`` at p; return the bytes consumed (0 when malformed)."""
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t v = 0
    cdef unsigned char c
    while i < n:
        c = p[i]
        if 48 <= c <= 57:
            v = (v << 4) | (c - 48)
        elif 97 <= c <= 102:
            v = (v << 4) | (c - 87)
        elif 65 <= c <= 70:
            v = (v << 4) | (c - 55)
        elif c == 13 and i + 1 < n:
            size[0] = v
            return i + 2
        else:
            return 0
        i += 1
    return 0


cdef Py_ssize_t walk_piece(const unsigned char* p, Py_ssize_t n, list items) except -1:
    """Walk the whole chunks of one piece; append a payload bytes per frame when items is a list."""
    cdef Py_ssize_t s = 0
    cdef Py_ssize_t used, size, e, frames = 0
    cdef uint32_t fsize
    while s < n:
        used = hex_line(p + s, n - s, &size)
        if used == 0:
            raise ValueError("calibration input is not plain chunks at %d" % s)
        s += used
        if size == 0:
            break
        e = s + size
        if e + 2 > n:
            raise ValueError("calibration input has a chunk split across pieces")
        while s + 8 <= e:
            fsize = ((<uint32_t>p[s + 4]) << 24) | ((<uint32_t>p[s + 5]) << 16) | ((<uint32_t>p[s + 6]) << 8) | p[s + 7]
            s += 8
            if items is not None:
                PyList_Append(items, PyBytes_FromStringAndSize(<const char*>p + s, fsize))
            s += fsize
            frames += 1
        s = e + 2
    return frames


def walk(list pieces):
    """Frames walked in all pieces (no objects)."""
    cdef Py_buffer pb
    cdef Py_ssize_t total = 0
    for piece in pieces:
        PyObject_GetBuffer(piece, &pb, PyBUF_SIMPLE)
        try:
            total += walk_piece(<const unsigned char*>pb.buf, pb.len, None)
        finally:
            PyBuffer_Release(&pb)
    return total


def walk_objects(list pieces):
    """Frames walked, one payload ``bytes`` per frame in a fresh list per piece."""
    cdef Py_buffer pb
    cdef Py_ssize_t total = 0
    cdef list items
    for piece in pieces:
        items = []
        PyObject_GetBuffer(piece, &pb, PyBUF_SIMPLE)
        try:
            walk_piece(<const unsigned char*>pb.buf, pb.len, items)
        finally:
            PyBuffer_Release(&pb)
        total += len(items)
        items = None
    return total


def copy(list pieces):
    """``memcpy`` every piece into one scratch buffer; returns the bytes copied."""
    cdef Py_buffer pb
    cdef Py_ssize_t total = 0, cap = 0
    cdef char* scratch = NULL
    try:
        for piece in pieces:
            PyObject_GetBuffer(piece, &pb, PyBUF_SIMPLE)
            try:
                if pb.len > cap:
                    free(scratch)
                    cap = pb.len
                    scratch = <char*>malloc(cap)
                    if scratch == NULL:
                        raise MemoryError()
                memcpy(scratch, pb.buf, pb.len)
                total += pb.len
            finally:
                PyBuffer_Release(&pb)
    finally:
        free(scratch)
    return total


def measured(fn):
    """Call ``fn()``: callgrind counts only inside this function (see calibration.callgrind_runs)."""
    return fn()
