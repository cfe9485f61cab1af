"""Fragment batches decoded in other processes (multiprocessing, and a Dask
LocalCluster) give the same pictures as one process decoding the file:
options and metadata travel by pickle, each worker has its own reader."""
import multiprocessing
import os

import pytest

import kvsp

pytestmark = pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")

OPTIONS = kvsp.DecodeOptions(every=3, size=(160, None), threads=1)


def fragment_batches(path, per_batch):
    """The file's bytes cut at fragment ends, per_batch fragments a piece."""
    data = open(path, "rb").read()
    ends = [f.end_offset for f in kvsp.fragments(data)]
    cuts = [0] + ends[per_batch - 1::per_batch]
    if cuts[-1] != len(data):
        cuts.append(len(data))
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def decode_batch(args):
    """Worker: the pictures of one batch, with what identifies them across
    processes (the fragment index restarts at 0 in each worker)."""
    data, options = args
    return [(p.fragment_number, p.pts_ms, p.producer_timestamp_ms, p.keyframe, p.array)
            for p in kvsp.decode(data, options)]


def one_process(path, options):
    return decode_batch((open(path, "rb").read(), options))


def same(a, b):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert x[:4] == y[:4]
        assert (x[4] == y[4]).all()


def kvs_capture(captures, name):
    return [c for c in captures if c.endswith(name)][0]


@pytest.mark.parametrize("name", ["output_get_media.mkv", "kinesis_video_renderer_example_output.mkv"])
def test_multiprocessing_equals_one_process(captures, name):
    path = kvs_capture(captures, name)
    batches = fragment_batches(path, 2)
    assert len(batches) >= 3
    # every=3 restarts in each batch: compare with per-batch sampling in
    # this process too, and with every picture against the whole file.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.map(decode_batch, [(b, OPTIONS) for b in batches])
        every = pool.map(decode_batch, [(b, kvsp.DecodeOptions(size=(160, None), threads=1)) for b in batches])
    same([p for part in parts for p in part], [p for b in batches for p in decode_batch((b, OPTIONS))])
    whole = one_process(path, kvsp.DecodeOptions(size=(160, None), threads=1))
    same([p for part in every for p in part], whole)
    assert sum(len(part) for part in parts) == sum((len(decode_batch((b, kvsp.DecodeOptions(threads=1)))) + 2) // 3
                                                   for b in batches)


def test_worker_errors_arrive_intact(captures):
    path = kvs_capture(captures, "output_get_media.mkv")
    data = open(path, "rb").read()[:700000]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        with pytest.raises(kvsp.TruncatedError) as e:
            pool.map(decode_batch, [(data, OPTIONS)])
    assert e.value.status == "ERR_TRUNCATED" and e.value.offset > 0


def test_dask_local_cluster_equals_one_process(captures):
    distributed = pytest.importorskip("distributed")
    path = kvs_capture(captures, "output_get_media.mkv")
    batches = fragment_batches(path, 1)
    options = kvsp.DecodeOptions(size=(160, None), threads=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        futures = client.map(decode_batch, [(b, options) for b in batches])
        parts = client.gather(futures, errors="raise")
    same([p for part in parts for p in part], one_process(path, options))
