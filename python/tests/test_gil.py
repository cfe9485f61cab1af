"""The GIL is released while the C library parses, decodes and waits
(issue 20, "threads scale"): another Python thread makes progress during
those calls.

How this is shown without timing thresholds: the switch interval is set
far beyond the test's length, so that the interpreter never takes the GIL
from a thread running Python code; a counting thread then runs only while
the thread under test gives the GIL up of its own accord. The input is in
memory (no reading of files, which releases the GIL too), so between the
two reads of the counter the thread under test gives the GIL up only
inside kvsp's C calls. The counter sleeps 100 us between counts (a sleep
releases the GIL) so that the other thread gets it back; had the C code
kept the GIL, the counter could not have moved at all.
"""
import os
import sys
import threading
import time

import pytest

import kvsp
from conftest import KVSP, resolve


class Counter:
    def __init__(self):
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop:
            self.count += 1
            time.sleep(0.0001)

    def __enter__(self):
        self.thread.start()
        while self.count == 0:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


@pytest.fixture()
def counter():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        with Counter() as c:
            yield c
    finally:
        sys.setswitchinterval(old)


def progress_during(counter, call):
    before = counter.count
    result = call()
    return counter.count - before, result


def test_parse_releases_the_gil(counter):
    """A Reader that makes no per-item objects parses all of a 100 MB chunk
    in one C call, of a few ms: the counting thread, woken when the GIL is
    given up, has to be scheduled before the call returns, which a loaded
    machine can delay past it, so the call is repeated (up to 20 times)
    until the counter moved during one. A held GIL never lets it move."""
    stream = open(resolve("output_get_media.mkv"), "rb").read() * 40
    moves = []
    while len(moves) < 20 and not any(moves):
        r = kvsp.Reader(frames=False, fragments=False)
        moved, items = progress_during(counter, lambda: list(r.feed(stream)))
        assert items == [] and r.offset == len(stream)
        moves.append(moved)
    assert any(moves), moves


@pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")
def test_decode_releases_the_gil(counter):
    data = open(resolve("output_get_media.mkv"), "rb").read()
    moved, n = progress_during(counter, lambda: sum(1 for _ in kvsp.decode(data, threads=1, every=10)))
    assert n == 30
    assert moved > 0


@pytest.mark.skipif(not kvsp.have_client, reason="built without the client")
def test_consumer_waits_without_the_gil(tmp_path, monkeypatch):
    """kvsp.Consumer waiting on `kvsp serve --live` (fragments served as
    their time comes)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "client"))
    import consumer_streams
    import kvsp_server
    consumer_streams.make_stream(str(tmp_path / "cam.mkv"), 6, 100)
    for k, v in (("AWS_ACCESS_KEY_ID", "AKIDGIL"), ("AWS_SECRET_ACCESS_KEY", "gil/secret"),
                 ("AWS_EC2_METADATA_DISABLED", "true"), ("AWS_CONFIG_FILE", str(tmp_path / "none")),
                 ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))):
        monkeypatch.setenv(k, v)
    with kvsp_server.KvspServer(KVSP, str(tmp_path), "--live", timeout=60) as s:
        consumer = kvsp.Consumer(["cam"], start="earliest", region="us-west-2", endpoint_url=s.url)
        old = sys.getswitchinterval()
        sys.setswitchinterval(1000.0)
        try:
            with Counter() as c:
                moved, got = progress_during(c, lambda: [f.fragment_number for _, f in consumer])
        finally:
            sys.setswitchinterval(old)
    assert len(got) == 6
    assert moved > 0
