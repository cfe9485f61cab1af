"""Every kind of source, and every way of cutting the input into chunks,
gives the same fragments and frames as reading the file whole."""
import gc
import io
import os
import random
import warnings

import pytest

import kvsp
from conftest import all_files, file_id, resolve

FILES = all_files()


def summary(items):
    """Comparable form of read()'s items: fragments as themselves, frames as
    their metadata plus a copy of their data."""
    out = []
    for it in items:
        if isinstance(it, kvsp.Fragment):
            out.append(it)
        else:
            out.append((it.track, it.fragment_index, it.timecode, it.pts_ms, it.keyframe,
                        it.block_offset, it.lace_index, bytes(it.data)))
    return out


def read_all(source, **kw):
    items, error = [], None
    try:
        for it in kvsp.read(source, **kw):
            items.append(summary([it])[0])
    except kvsp.Error as e:
        error = (type(e), e.status, e.offset)
    return items, error


def random_chunks(data, rng, most):
    i = 0
    while i < len(data):
        n = rng.randint(1, most)
        yield data[i:i + n]
        i += n


class OnlyRead:
    """A file-like object with read(n) and no readinto."""

    def __init__(self, data):
        self.f = io.BytesIO(data)

    def read(self, n=-1):
        return self.f.read(n)


class IterChunks:
    """Shaped like botocore's StreamingBody: iter_chunks(chunk_size)."""

    def __init__(self, data):
        self.data = data
        self.sizes = []

    def iter_chunks(self, chunk_size=1024):
        for i in range(0, len(self.data), chunk_size):
            self.sizes.append(chunk_size)
            yield self.data[i:i + chunk_size]


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_every_source_kind_and_chunking_is_the_same(path):
    path = resolve(path)
    with open(path, "rb") as f:
        data = f.read()
    expected = read_all(path)
    assert expected[0], "nothing read"
    assert read_all(data) == expected
    assert read_all(bytearray(data)) == expected
    assert read_all(memoryview(data)) == expected
    with open(path, "rb") as f:
        assert read_all(f, chunk_size=4096) == expected
    assert read_all(io.BytesIO(data), chunk_size=777) == expected
    assert read_all(OnlyRead(data), chunk_size=1000) == expected
    body = IterChunks(data)
    assert read_all(body, chunk_size=5000) == expected
    assert body.sizes and set(body.sizes) == {5000}
    rng = random.Random(os.path.basename(path))
    for most in (1 if len(data) < 20000 else 7, 300, 70000):
        assert read_all(random_chunks(data, rng, most)) == expected, most


@pytest.mark.parametrize("path", FILES[:3] + FILES[-3:], ids=file_id)
def test_push_reader_random_feeds(path):
    path = resolve(path)
    with open(path, "rb") as f:
        data = f.read()
    expected = read_all(data)
    rng = random.Random(1)
    r = kvsp.Reader()
    got, error = [], None
    try:
        for chunk in random_chunks(data, rng, 3000):
            got.extend(summary(r.feed(chunk)))
        got.extend(summary(r.close()))
    except kvsp.Error as e:
        error = (type(e), e.status, e.offset)
    assert (got, error) == expected
    assert r.offset == len(data) or error


def test_not_a_source():
    with pytest.raises(TypeError, match="not a source"):
        list(kvsp.read(42))


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_long_stream_does_not_grow_the_process(captures):
    """300 copies of a capture (750 MB, 90,000 frames) streamed in 64 KiB
    chunks: the process grows by no more than a few MB once running, and
    Python allocations stay bounded (tracemalloc)."""
    import tracemalloc
    one = open(resolve("output_get_media.mkv"), "rb").read()
    view = memoryview(one)

    def stream(copies):
        for _ in range(copies):
            for i in range(0, len(view), 1 << 16):
                yield view[i:i + (1 << 16)]

    items = kvsp.read(stream(300))
    frames = fragments = 0
    tracemalloc.start()
    try:
        for it in items:
            if isinstance(it, kvsp.Frame):
                frames += 1
                it.data[0]
            else:
                fragments += 1
            if frames == 3000:
                base = rss_bytes()
                tracemalloc.reset_peak()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (frames, fragments) == (90000, 1500)
    assert peak < 1 << 20
    # AddressSanitizer quarantines freed memory (256 MB): RSS says nothing there.
    if not os.environ.get("KVSP_SANITIZED"):
        assert rss_bytes() - base < 8 << 20


def fd_count():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("path", FILES[:2] + FILES[-2:], ids=file_id)
def test_native_file_reading_equals_chunks_from_python(path):
    """A path, an io.FileIO and a BufferedReader are read by the parser
    itself (read(2)/pread(2)); bytes and iterators of chunks are fed from
    Python: every kind and every chunk size gives the same items, a file
    object is left after what was read (at its end) and a path's file is
    closed, also when the iteration is closed early."""
    path = resolve(path)
    with open(path, "rb") as f:
        data = f.read()
    expected = read_all(data)
    assert expected[0], "nothing read"
    fds = fd_count()
    for size in (1, 4096, 65536, 1 << 20):
        if size == 1 and len(data) > 20000:
            size = 7
        assert read_all(path, chunk_size=size) == expected, size
        with open(path, "rb") as f:
            f.read(100)
            f.seek(0)
            assert read_all(f, chunk_size=size) == expected, size
            assert f.tell() == len(data) or expected[1]
        with open(path, "rb", buffering=0) as f:
            assert read_all(f, chunk_size=size) == expected, size
            assert f.tell() == len(data) or expected[1]
        pieces = (data[i:i + size] for i in range(0, len(data), size))
        assert read_all(pieces) == expected, size
    # From where the file object is: the bytes after it, as a Python read of it would.
    skip = expected[0][0].end_offset if isinstance(expected[0][0], kvsp.Fragment) else None
    if skip:
        with open(path, "rb") as f:
            f.seek(skip)
            assert read_all(f, chunk_size=5000) == read_all(data[skip:])
    # Closed, not left to the file's finalizer (which would warn): at the
    # end, on close() and when the iteration is dropped.
    for how in ("end", "close", "drop"):
        items = kvsp.read(path)
        next(items)
        assert fd_count() == fds + 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if how == "end":
                assert sum(1 for _ in _until_error(items))
            elif how == "close":
                items.close()
            del items
            gc.collect()
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)], how
        assert fd_count() == fds, how
    # A file object whose iteration is dropped is left after what was read.
    with open(path, "rb") as f:
        items = kvsp.read(f, chunk_size=1000)
        next(items)
        del items
        assert f.tell() >= 1000


def _until_error(items):
    try:
        yield from items
    except kvsp.Error:
        pass


def test_a_native_file_is_closed_when_its_parser_iterates_something_else():
    """The native parser given another source closes the file it was reading
    (kvsp.Reader's parser is never given a file; this is the parser's own
    contract)."""
    import functools
    from kvsp import _native
    path = resolve(FILES[-1])
    fds = fd_count()
    p = _native.Parser()
    it = p.iterate_file(functools.partial(open, path, "rb", buffering=0), True, 1000, None)
    next(it)
    assert fd_count() == fds + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p.iterate(None, None)
        gc.collect()
    assert fd_count() == fds
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
