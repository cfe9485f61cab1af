"""Turning what a user has into chunks of bytes for the reader.

A source is a path (str or os.PathLike), bytes-like object, binary file
object, botocore ``StreamingBody`` (or anything with ``iter_chunks``), or an
iterable of bytes-like chunks. Chunks are handed to the reader without a
copy; the reader holds on to a chunk only until it is consumed, which is
before the next chunk is read, so a file is read into one reused buffer.

A path, an ``io.FileIO`` and a seekable ``io.BufferedReader`` are read by
the parser itself where it can (``native_file``): read(2) into its own
buffer with the GIL released, the same chunks without a Python call each.
"""
import functools
import io
import os

DEFAULT_CHUNK_SIZE = 1 << 16


def _read_into(f, chunk_size):
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    while True:
        n = f.readinto(view)
        if not n:
            return
        yield view[:n]


def _read_calls(f, chunk_size):
    while True:
        b = f.read(chunk_size)
        if not b:
            return
        yield b


def _check(chunk_size):
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")


def native_file(source, chunk_size=DEFAULT_CHUNK_SIZE):
    """(file, own) when the native parser can read source itself, else
    None: a path (file is then the opener, own True: opened at the first
    read, as _file_chunks opens it, and closed at the end), an io.FileIO or
    a seekable io.BufferedReader open for reading (exact types: a subclass
    may read differently), read from where it is."""
    _check(chunk_size)
    if isinstance(source, (str, os.PathLike)):
        return functools.partial(open, source, "rb", buffering=0), True
    kind = type(source)
    if kind is not io.FileIO and kind is not io.BufferedReader:
        return None
    try:
        if source.readable() and (kind is io.FileIO or source.seekable()):
            source.fileno()
            return source, False
    except (OSError, ValueError):  # closed, or no fd: read as before, which says why
        pass
    return None


def chunks(source, chunk_size=DEFAULT_CHUNK_SIZE):
    """The chunks of a source, as described in the module's docstring."""
    _check(chunk_size)
    if isinstance(source, (str, os.PathLike)):
        return _file_chunks(source, chunk_size)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return iter((source,))
    if hasattr(source, "iter_chunks"):  # botocore StreamingBody
        return iter(source.iter_chunks(chunk_size))
    if hasattr(source, "readinto"):
        return _read_into(source, chunk_size)
    if hasattr(source, "read"):
        return _read_calls(source, chunk_size)
    try:
        return iter(source)
    except TypeError:
        raise TypeError("not a source: %r (a path, bytes, a binary file, a StreamingBody or an "
                        "iterable of bytes)" % type(source).__name__) from None


def _file_chunks(path, chunk_size):
    with open(path, "rb", buffering=0) as f:
        yield from _read_into(f, chunk_size)
