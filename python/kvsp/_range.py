"""Time ranges: a Window (from, to, producer or server timeline) that the
readers cut frames, fragments, pictures and audio to, and a Range, the
archived media of a stream between two times through libkvsparser-client's
range reader (kvsparser/range.h)::

    client = kvsp.Client(region="us-west-2")
    clip = client.range("camera", start=datetime(2026, 12, 4, 10, 2, tzinfo=timezone.utc),
                        end=datetime(2026, 12, 4, 10, 7, tzinfo=timezone.utc), parallel=3)
    for frame in kvsp.frames(clip):          # only frames in [start, end]
        ...
    for picture in kvsp.decode(clip, interval_ms=1000):
        ...

A Range is a source like any other (an iterable of byte chunks), carrying
its Window: kvsp.read / frames / fragments, decode, audio and merge cut to
it unless given another ``window=`` (``window=None`` in a reader then is
"the source's", ``window=kvsp.NO_WINDOW`` everything it delivers).
"""
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, List, Optional, Union

from . import _native

TimeLike = Union[datetime, float, int, str]


def _seconds(t: Optional[TimeLike], name: str) -> Optional[float]:
    """Seconds since the epoch of a datetime (with its zone), an ISO 8601
    string with its zone, or a number of seconds (as the CLI's --from/--to)."""
    if t is None:
        return None
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            try:
                t = float(t)
            except ValueError:
                raise ValueError("%s: an ISO 8601 time with its zone or seconds since the epoch, "
                                 "got %r" % (name, t)) from None
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError("%s: a datetime without its zone is ambiguous (give tzinfo)" % name)
        return t.timestamp()
    v = float(t)
    if not math.isfinite(v):
        raise ValueError("%s must be finite" % name)
    return v


def _ms(seconds: float) -> float:
    """Milliseconds rounded to the microsecond, as the CLI's rule: a decimal
    time such as 1764842520.04 compares equal to the frame at ...520040 ms."""
    return round(seconds * 1e6) / 1e3


_TIMELINES = ("producer", "server")


@dataclass(frozen=True)
class Window:
    """[start_ms, end_ms] (inclusive, ms since the epoch) on the producer or
    server timeline. A frame's producer time is its fragment's producer
    timestamp plus its offset in the Cluster, or, without KVS tags (a plain
    file), its presentation time; the server timeline needs the server
    timestamp tags. Picklable."""
    start_ms: float = -math.inf
    end_ms: float = math.inf
    timestamp: str = "producer"

    @classmethod
    def of(cls, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None,
           timestamp: str = "producer") -> "Window":
        """The window from start to end (datetime, ISO 8601 string or epoch
        seconds; None: unbounded)."""
        if timestamp not in _TIMELINES:
            raise ValueError("timestamp must be producer or server, got %r" % (timestamp,))
        s, e = _seconds(start, "start"), _seconds(end, "end")
        w = cls(-math.inf if s is None else _ms(s), math.inf if e is None else _ms(e), timestamp)
        if w.start_ms > w.end_ms:
            raise ValueError("start is after end")
        return w

    def _native_kwargs(self):
        kind = _native.WINDOW_SERVER if self.timestamp == "server" else _native.WINDOW_PRODUCER
        return dict(window=kind, window_from_ms=self.start_ms, window_to_ms=self.end_ms)

    # The rule is the library's (kvsparser/frames.h), the one the CLI's
    # --from/--to, the decoder and the audio sink apply: no copy here.
    def frame_time_ms(self, frame) -> Optional[float]:
        """A frame's (or picture's) time on this window's timeline, or None
        (kvsp_frame_time_ms)."""
        return _native.frame_time_ms(frame, self.timestamp == "server")

    def contains_frame(self, frame) -> bool:
        """Whether the frame's (or picture's) time is in the window
        (kvsp_window_contains: the frames `kvsp frames --from --to` lists)."""
        return _native.window_contains(frame, self.timestamp == "server", self.start_ms,
                                       self.end_ms)

    def overlaps_fragment(self, fragment) -> bool:
        """Whether the fragment's first-to-last frame span overlaps the
        window (kvsp_window_overlaps_fragment: the fragments
        `kvsp fragments --from --to` prints)."""
        return _native.window_overlaps_fragment(fragment, self.timestamp == "server",
                                                self.start_ms, self.end_ms)


NO_WINDOW = Window()


def window_of(source, window: Optional[Window]) -> Optional[Window]:
    """The window a reader applies: the one given, else the source's (a
    Range's); None when neither cuts anything."""
    if window is None:
        window = getattr(source, "window", None)
    return None if window is None or window == NO_WINDOW else window


class Range:
    """The archived media of a stream in a Window, as an iterable of byte
    chunks in timestamp order (made by Client.range).

    Iterating runs the range reader in a helper thread with the GIL
    released: ListFragments (every page, from ``lookback_s`` before start,
    sorted by the window's timestamp, repeats dropped), then
    GetMediaForFragmentList in batches of at most 1,000 fragments,
    ``parallel`` (1-5) at a time, the batches after the one being read held
    in ``max_buffered_bytes`` together. Each iteration reads the range
    again. The chunks are whole fragments: the first one starts at or before
    start and the last ends after end; the readers cut them to the window.
    """

    def __init__(self, client, stream: str, window: Window, *, parallel: int = 3,
                 max_buffered_bytes: int = 8 << 20, lookback_s: float = 0.0):
        if not 1 <= parallel <= 5:
            raise ValueError("parallel must be 1 to 5 (KVS allows 5 connections per stream)")
        self._client = client
        self.stream = stream
        self.window = window
        self.parallel = parallel
        self.max_buffered_bytes = max_buffered_bytes
        self.lookback_s = lookback_s

    def __reduce__(self):
        raise TypeError("cannot pickle a kvsp.Range: it holds a live kvsp.Client; send its "
                        "stream and window and make the range in the worker")

    def _kwargs(self):
        w = self.window
        start = 0.0 if w.start_ms == -math.inf else w.start_ms / 1e3
        end = 1e10 if w.end_ms == math.inf else w.end_ms / 1e3
        return dict(timestamp=1 if w.timestamp == "server" else 2, start=start, end=end,
                    parallel=self.parallel, max_buffered_bytes=self.max_buffered_bytes,
                    lookback_s=self.lookback_s)

    def __iter__(self) -> Iterator[bytes]:
        from ._client import _Chunks
        native, stream, kw = self._client._native, self.stream, self._kwargs()

        def call(put):
            _native.range_read(native, stream, callable=put, **kw)
        return _Chunks(call)

    def list(self) -> List[dict]:
        """The fragments the range reads, in payload order: dicts of
        fragment_number, producer/server_timestamp_ms, length_ms, size (the
        last fragment starting at or before start, and every one starting
        after it up to end)."""
        return _native.range_list(self._client._native, self.stream, **self._kwargs())
