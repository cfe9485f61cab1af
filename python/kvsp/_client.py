"""Kinesis Video Streams through libkvsparser-client: SigV4, the AWS
credential chain and config files, retries, the same start selectors as
the CLI. Media calls give iterators of byte chunks, which every kvsp
reader takes as a source::

    client = kvsp.Client(region="us-west-2")
    for frame in kvsp.frames(client.get_media("camera", start="earliest")):
        ...

The C call runs in a helper thread with the GIL released; chunks come
through a small bounded queue, so a slow consumer slows the download
instead of growing memory. Closing the iterator (or dropping it) stops the
transfer.
"""
import queue
import threading
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from . import _native
from ._model import Fragment
from ._range import Range, TimeLike, Window
from ._reader import _TRACK_TYPES

_END = object()
_TIMESTAMP_TYPES = {None: 0, "server": 1, "producer": 2}


class _Chunks:
    """Iterator over the chunks a blocking body call hands its callable."""

    def __init__(self, call, *args):
        self._queue = queue.Queue(maxsize=8)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(call, args), daemon=True)
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, call, args):
        try:
            call(*args, self._put)
            self._put(_END)
        except BaseException as e:  # handed to the consumer's thread
            self._put(e)

    def __iter__(self):
        return self

    def __next__(self):
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def close(self):
        """Stops the transfer and waits for the helper thread."""
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        self._thread.join()

    def __del__(self):
        if not self._stop.is_set():
            self.close()


class Client:
    """A KVS client (libkvsparser-client). Region, endpoint, profile and
    credentials follow the AWS CLI's rules when not given. One call at a
    time; make one client per thread."""

    def __init__(self, *, region: Optional[str] = None, endpoint_url: Optional[str] = None,
                 profile: Optional[str] = None, ca_bundle: Optional[str] = None,
                 connect_timeout_ms: int = 0, stall_timeout_ms: int = 0):
        self._native = _native.Client(region=region, endpoint_url=endpoint_url, profile=profile,
                                      ca_bundle=ca_bundle, connect_timeout_ms=connect_timeout_ms,
                                      stall_timeout_ms=stall_timeout_ms)

    def __reduce__(self):
        raise TypeError("cannot pickle a kvsp.Client: it is a live handle on C state")

    def get_media(self, stream: str, start: str = "now") -> Iterator[bytes]:
        """GetMedia from start: earliest, now, fragment:N, continuation:T,
        server-ts:SECONDS or producer-ts:SECONDS."""
        return _Chunks(self._native.get_media, stream, start)

    def list_fragments(self, stream: str, timestamp_type: Optional[str] = None, start: float = 0.0,
                       end: float = 0.0) -> List[dict]:
        """Every ListFragments page, sorted by fragment number: dicts of
        fragment_number, producer/server_timestamp_ms, length_ms, size.
        timestamp_type server or producer selects [start, end] (seconds)."""
        return self._native.list_fragments(stream, _TIMESTAMP_TYPES[timestamp_type], start, end)

    def range(self, stream: str, start: Optional[TimeLike] = None, end: Optional[TimeLike] = None, *,
              timestamp: str = "producer", parallel: int = 3, max_buffered_bytes: int = 8 << 20,
              lookback_s: float = 0.0) -> Range:
        """The archived media of a stream from start to end (both included;
        datetime with its zone, ISO 8601 string or epoch seconds; None:
        unbounded) on the producer or server timeline, through the range
        reader (ListFragments, then GetMediaForFragmentList, parallel
        requests at a time, delivered in timestamp order in bounded memory).
        A source for every reader, which cuts it to the window at frame
        level: kvsp.frames(client.range(...)) gives the frames of
        `kvsp frames --list --stream S --from --to`. lookback_s: how far
        before start ListFragments looks for the fragment holding start
        (0: 30 s)."""
        return Range(self, stream, Window.of(start, end, timestamp), parallel=parallel,
                     max_buffered_bytes=max_buffered_bytes, lookback_s=lookback_s)

    def get_media_for_fragment_list(self, stream: str, fragment_numbers: Sequence[str]) -> Iterator[bytes]:
        """GetMediaForFragmentList of these fragments, in the order given."""
        return _Chunks(self._native.get_media_for_fragment_list, stream, list(fragment_numbers))


class Consumer:
    """GetMedia of one or many streams on one thread (libkvsparser-client's
    consumer), iterated as ``(stream, Fragment)`` pairs in each stream's
    order::

        consumer = kvsp.Consumer(["cam-1", "cam-2"], start="now", follow=True, region="us-west-2")
        for stream, fragment in consumer:
            print(stream, fragment.fragment_number, fragment.millis_behind_now)

    Each stream's bytes are cut into whole fragments before a fragment is
    yielded; a connection that ends or fails mid-fragment is resumed with
    the continuation token of the last whole fragment, so that no fragment
    is lost or yielded twice. Throttling, 5xx, network errors and stalls are
    retried with backoff (max_retries consecutive failures, 0: no limit);
    403, 404 and bytes that are not MKV stop the stream: the iterator raises
    (ServiceError with .exception and .http_status, or the reader's error)
    after the fragments before it. Without follow a stream is done at the
    clean end of its response; the iteration ends when every stream is.

    The waiting and parsing happen with the GIL released; the GIL is taken
    once per fragment, to make its object. With frames=True the items are
    ``(stream, Fragment, [Frame, ...])``: the fragment's frames (of track
    or track_type only, when given), detached copies that own their bytes
    (the GIL is then taken per frame too). Client options (region,
    endpoint_url, profile, ...) are those of kvsp.Client."""

    def __init__(self, streams: Sequence[str], start: str = "now", *, follow: bool = False,
                 frames: bool = False, track: Optional[int] = None, track_type: Optional[str] = None,
                 max_retries: Optional[int] = None, initial_backoff_ms: int = 0, max_backoff_ms: int = 0,
                 max_fragment_bytes: int = 0, client: Optional[Client] = None, **client_options):
        if isinstance(streams, str):
            streams = [streams]
        if client is None:
            client = Client(**client_options)
        elif client_options:
            raise TypeError("give either client or client options")
        self._client = client
        if max_retries is None:
            max_retries = 0 if follow else 10
        self._native = _native.Consumer(client._native, max_retries=max_retries,
                                        initial_backoff_ms=initial_backoff_ms, max_backoff_ms=max_backoff_ms,
                                        max_fragment_bytes=max_fragment_bytes)
        self.streams = list(streams)
        self.frames = frames
        if track_type not in _TRACK_TYPES:
            raise ValueError("unknown track_type %r" % track_type)
        for s in self.streams:
            self._native.add(s, start, follow, frames, track or 0, _TRACK_TYPES[track_type])

    def __reduce__(self):
        raise TypeError("cannot pickle a kvsp.Consumer: it is a live handle on C state")

    def __iter__(self) -> Iterator[tuple]:
        while True:
            items = self._native.poll(200)  # returns at least every 200 ms, so that signals are seen
            if items is None:
                return
            for item in items:
                yield (item[0], Fragment._from_dict(item[1])) + item[2:]

    def stats(self) -> Dict[str, dict]:
        """Each stream's counters (state, fragments, bytes, reconnects,
        dropped_bytes, throttled, stalls, continuation_token, last_error,
        ...), by stream name."""
        return {s: self._native.stats(i) for i, s in enumerate(self.streams)}
