"""Reading fragments and frames: the push-style Reader and the pull-style
functions over any source."""
import os
from dataclasses import asdict, dataclass
from typing import Iterator, Optional, Union

from . import _native
from ._model import Fragment
from ._range import Window, window_of
from ._sources import DEFAULT_CHUNK_SIZE, chunks, native_file

Frame = _native.Frame
_fragment = Fragment._from_dict

_TRACK_TYPES = {None: 0, "video": 1, "audio": 2, "complex": 3, "logo": 0x10, "subtitle": 0x11,
                "buttons": 0x12, "control": 0x20, "metadata": 0x21}


@dataclass(frozen=True)
class ReadOptions:
    """How to read: which frames, error recovery and the reader's limits
    (0 means the library's default). Picklable, to send to workers."""
    track: Optional[int] = None            # only frames of this track number
    track_type: Optional[str] = None       # only frames of tracks of this type ("video", ...)
    resync: bool = False                   # after bad input, skip to the next EBML header or Cluster
    max_depth: int = 0
    max_element_size: int = 0
    max_string_size: int = 0
    max_tracks: int = 0
    max_tags: int = 0
    max_metadata_bytes: int = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE   # bytes per read from paths and files

    def _native_kwargs(self):
        kw = asdict(self)
        del kw["chunk_size"]
        kw["track"] = self.track or 0
        try:
            kw["track_type"] = _TRACK_TYPES[self.track_type]
        except KeyError:
            raise ValueError("unknown track_type %r" % self.track_type) from None
        return kw


class Reader:
    """A push-style reader for callers with their own I/O (asyncio, sockets).

    ::

        r = kvsp.Reader()
        for chunk in chunks:
            for item in r.feed(chunk):   # Frames and Fragments, in stream order
                ...
        for item in r.close():
            ...

    A Fragment comes after its frames, when it ends. A frame's ``data`` is
    valid until the iterator advances. An error is raised by the iterator
    after every item before it was yielded.
    """

    def __init__(self, options: Optional[ReadOptions] = None, *, frames=True, fragments=True, **kw):
        if options is None:
            options = ReadOptions(**kw)
        elif kw:
            raise TypeError("give either options or keyword options")
        self.options = options
        self._parser = _native.Parser(frames=frames, fragments=fragments, **options._native_kwargs())

    def __reduce__(self):
        raise TypeError("cannot pickle a kvsp.Reader: it is a live handle on C state; "
                        "pickle its options (Reader.options) instead")

    def _ready(self) -> Iterator[Union[Frame, Fragment]]:
        return self._parser.iterate(None, _fragment)

    def feed(self, chunk) -> Iterator[Union[Frame, Fragment]]:
        """Hands the reader a bytes-like chunk; iterate the result for what
        it completes (it must be exhausted before the next feed)."""
        self._parser.feed(chunk)
        return self._ready()

    def close(self) -> Iterator[Union[Frame, Fragment]]:
        """End of input: what is left (a fragment cut short is delivered
        with complete False, then TruncatedError is raised)."""
        self._parser.finish()
        return self._ready()

    @property
    def offset(self) -> int:
        """Bytes consumed from the start of the stream."""
        return self._parser.offset

    @property
    def continuation_token(self) -> Optional[str]:
        """The latest continuation token seen: where to resume GetMedia."""
        return self._parser.continuation_token

    @property
    def millis_behind_now(self) -> Optional[int]:
        return self._parser.millis_behind_now


def read(source, options: Optional[ReadOptions] = None, *, frames=True, fragments=True,
         window: Optional[Window] = None, **kw) -> Iterator[Union[Frame, Fragment]]:
    """Frames and Fragments of a source (path, bytes, file, StreamingBody,
    iterable of chunks or Client.range), in stream order. window (a
    kvsp.Window; None: the source's, a Range's): only the frames with times
    in it and the fragments whose first-to-last frame span overlaps it, as
    `kvsp frames --list` / `kvsp fragments` with --from/--to."""
    r = Reader(options, frames=frames, fragments=fragments, **kw)
    # The native parser iterates itself (feeding it the chunks): no Python
    # frame per item. An exception (a BufferError for a view held past its
    # step) leaves it usable: drop the view and iterate on. close() closes
    # the source (a file opened from a path). A path or a real file it
    # reads itself (native_file).
    size = r.options.chunk_size
    native = native_file(source, size)
    if native is not None:
        items = r._parser.iterate_file(native[0], native[1], size, _fragment)
    else:
        items = r._parser.iterate(chunks(source, size), _fragment)
    w = window_of(source, window)
    return items if w is None else _cut(items, w)


def _cut(items, w):
    """The items in the window; a frame is yielded as it is, so its data
    stays valid for its step."""
    try:
        for item in items:
            if isinstance(item, Fragment):
                if w.overlaps_fragment(item):
                    yield item
            elif w.contains_frame(item):
                yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def fragments(source, options: Optional[ReadOptions] = None, **kw) -> Iterator[Fragment]:
    """The Fragments of a source (no per-frame objects are made)."""
    return read(source, options, frames=False, **kw)


def frames(source, options: Optional[ReadOptions] = None, **kw) -> Iterator[Frame]:
    """The Frames of a source; ``frame.data`` is valid until the next one."""
    return read(source, options, fragments=False, **kw)


_TIMELINES = {"producer": 0, "original": 1, "pack": 2}
_ON_CHANGE = {"new-file": 0, "new-segment": 1, "stop": 2}


def merge(source, path, *, timeline="producer", on_change="new-file", kvs_tags=True, resync=False,
          writing_app=None, window: Optional[Window] = None, chunk_size=DEFAULT_CHUNK_SIZE) -> dict:
    """Merges a chain of fragments from a source into one seekable Matroska
    file at path, as `kvsp merge SOURCE -o PATH` does (timeline: producer,
    original or pack; on_change: new-file (PATH.1.mkv, ...), new-segment or
    stop). writing_app: the Info WritingApp (None: the library's name).
    Returns the merger's counts and the list of files written. window
    (None: a Client.range source's): a clip, as `kvsp merge --from --to`
    cuts it: from the keyframe at or before the window's start to the last
    frame at or before its end (the library's kvsp_merge_clip)."""
    w = window_of(source, window)
    clip = {}
    if w is not None:
        clip = dict(clip=2 if w.timestamp == "server" else 1, clip_from_ms=w.start_ms,
                    clip_to_ms=w.end_ms)
    try:
        m = _native.Merger(os.fspath(path), timeline=_TIMELINES[timeline], split=_ON_CHANGE[on_change],
                           drop_kvs_tags=not kvs_tags, resync=resync, writing_app=writing_app, **clip)
    except KeyError as e:
        raise ValueError("unknown timeline or on_change: %s" % e) from None
    for chunk in chunks(source, chunk_size):
        m.feed(chunk)
    return m.finish()
