"""Decoded pictures as numpy arrays, through libkvsparser's frame decoder."""
from dataclasses import dataclass, replace
from typing import Iterator, Optional, Tuple

import numpy

from . import _native
from ._model import Batch, Picture
from ._range import Window, window_of
from ._sources import DEFAULT_CHUNK_SIZE, chunks

_FORMATS = {"rgb24": _native.PIX_RGB24, "rgb": _native.PIX_RGB24, "bgr24": _native.PIX_BGR24,
            "bgr": _native.PIX_BGR24, "gray": _native.PIX_GRAY8, "gray8": _native.PIX_GRAY8,
            "yuv420p": _native.PIX_YUV420P}


@dataclass(frozen=True)
class DecodeOptions:
    """What to decode and how. At most one of every, interval_ms and
    keyframes selects pictures (keyframes: others are not decoded at all).
    size is (width, height); either may be None to keep the aspect ratio.
    Picklable, to send to workers."""
    pixel_format: str = "rgb24"          # rgb24, bgr24, gray, yuv420p
    track: Optional[int] = None          # video track number; None: the first video track
    every: Optional[int] = None          # the 1st, (N+1)th, ... picture
    interval_ms: Optional[float] = None  # the first picture of every interval of presentation time
    keyframes: bool = False
    size: Optional[Tuple[Optional[int], Optional[int]]] = None
    threads: int = 0                     # decoder threads; 0: as many as cores
    resync: bool = False
    max_element_size: int = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    # Only pictures whose frame time is in the window; earlier frames are
    # decoded when later ones reference them, never delivered. None: all
    # (decode() then takes a Client.range source's window).
    window: Optional[Window] = None

    def _native_kwargs(self):
        try:
            fmt = _FORMATS[self.pixel_format]
        except KeyError:
            raise ValueError("pixel_format must be one of %s" % ", ".join(sorted(_FORMATS))) from None
        chosen = [self.every is not None, self.interval_ms is not None, bool(self.keyframes)]
        if sum(chosen) > 1:
            raise ValueError("choose at most one of every, interval_ms and keyframes")
        sampling, every_n, interval = _native.SAMPLE_ALL, 0, 0.0
        if self.every is not None:
            if self.every < 1:
                raise ValueError("every must be at least 1")
            sampling, every_n = _native.SAMPLE_EVERY_N, self.every
        elif self.interval_ms is not None:
            if not self.interval_ms > 0:
                raise ValueError("interval_ms must be positive")
            sampling, interval = _native.SAMPLE_INTERVAL, float(self.interval_ms)
        elif self.keyframes:
            sampling = _native.SAMPLE_KEYFRAMES
        width, height = self.size if self.size is not None else (None, None)
        kw = dict(track=self.track or 0, pixel_format=fmt, width=width or 0, height=height or 0,
                  sampling=sampling, every_n=every_n, interval_ms=interval, threads=self.threads,
                  resync=self.resync, max_element_size=self.max_element_size)
        if self.window is not None:
            kw.update(self.window._native_kwargs())
        return kw


def _picture(t):
    planes, meta = t
    return Picture(planes, *meta)


class Decoder:
    """A push-style decoder: ``feed(chunk)`` and ``close()`` return the
    pictures they complete, as a list. An error is raised by the call after
    the one that returned the pictures before it."""

    def __init__(self, options: Optional[DecodeOptions] = None, **kw):
        if options is None:
            options = DecodeOptions(**kw)
        elif kw:
            raise TypeError("give either options or keyword options")
        self.options = options
        self._native = _native.Decoder(**options._native_kwargs())

    def __reduce__(self):
        raise TypeError("cannot pickle a kvsp.Decoder: it is a live handle on C state; "
                        "pickle its options (Decoder.options) instead")

    def feed(self, chunk):
        return [_picture(t) for t in self._native.feed(chunk)]

    def close(self):
        return [_picture(t) for t in self._native.finish()]

    def check(self):
        """Raises the error the last call ran into, if any."""
        self._native.check()

    @property
    def stats(self):
        """Counts: frames, decoded, delivered, skipped_to_keyframe, not_decoded, corrupt, reopened."""
        return self._native.stats


def decode(source, options: Optional[DecodeOptions] = None, **kw) -> Iterator[Picture]:
    """Pictures of a source's video track, in presentation order of
    decoding. A Client.range source's window applies unless the options
    give one (every/interval_ms then count from its first picture)."""
    if options is None:
        options = DecodeOptions(**kw)
    elif kw:
        raise TypeError("give either options or keyword options")
    w = window_of(source, options.window)
    if w is not options.window:
        options = replace(options, window=w)
    d = Decoder(options)
    for chunk in _pieces(chunks(source, d.options.chunk_size), d.options.chunk_size):
        yield from d.feed(chunk)
        d.check()
    yield from d.close()
    d.check()


def _pieces(chunks, size):
    """Chunks no larger than size: a feed queues every picture its chunk
    completes, so a source given whole (bytes) would otherwise hold all of
    its pictures in memory at once (and fault in fresh pages for each)."""
    for chunk in chunks:
        if len(chunk) <= size:
            yield chunk
            continue
        view = memoryview(chunk).cast("B")
        for i in range(0, len(view), size):
            yield view[i:i + size]


def decode_batches(source, batch_size: int, options: Optional[DecodeOptions] = None,
                   **kw) -> Iterator[Batch]:
    """Pictures stacked ``batch_size`` at a time into one array for a model,
    ``(N, H, W, 3)`` for rgb24/bgr24; a batch ends early where the picture
    size changes and at the end of the stream."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    pending = []
    for p in decode(source, options, **kw):
        if isinstance(p.array, tuple):
            raise ValueError("batches need a packed pixel format (rgb24, bgr24, gray)")
        if pending and pending[0].array.shape != p.array.shape:
            yield _stack(pending)
            pending = []
        pending.append(p)
        if len(pending) == batch_size:
            yield _stack(pending)
            pending = []
    if pending:
        yield _stack(pending)


def _stack(pictures):
    array = numpy.stack([p.array for p in pictures])
    return Batch(array, [Picture(array[i], *_meta_of(p)) for i, p in enumerate(pictures)])


def _meta_of(p):
    return (p.track, p.fragment_index, p.fragment_number, p.keyframe, p.pts_ms,
            p.producer_timestamp_ms, p.server_timestamp_ms, p.index, p.width, p.height)
