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
from typing import Iterator, List, Optional, Sequence

from . import _native

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

    def get_media_for_fragment_list(self, stream: str, fragment_numbers: Sequence[str]) -> Iterator[bytes]:
        """GetMediaForFragmentList of these fragments, in the order given."""
        return _Chunks(self._native.get_media_for_fragment_list, stream, list(fragment_numbers))
