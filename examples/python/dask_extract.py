#!/usr/bin/python3
"""Parallel extraction over fragment batches with Dask.

    dask_extract.py FILE [--workers N] [--per-batch K] [--every N]

Cuts FILE (a GetMedia payload: a chain of KVS fragments, each starting
with a keyframe) at fragment ends, K fragments a batch, and decodes the
batches on a local Dask cluster, one single-threaded decoder per worker
process. The result is the same pictures as one process decoding the file
(ctest python, test_parallel.py). Only options and bytes go to the workers,
and pictures come back: kvsp's options and Picture objects pickle, its
readers and decoders do not.

Prints the number of pictures per batch and the keyframe pts of each.
"""
import argparse

import kvsp


def cut(path, per_batch):
    data = open(path, "rb").read()
    ends = [f.end_offset for f in kvsp.fragments(data)]
    cuts = [0] + ends[per_batch - 1::per_batch]
    if cuts[-1] != len(data):
        cuts.append(len(data))
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


def decode(part, options):
    return [(p.fragment_number, p.pts_ms, p.keyframe, p.array) for p in kvsp.decode(part, options)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-batch", type=int, default=1)
    ap.add_argument("--every", type=int, default=10)
    args = ap.parse_args()
    from distributed import Client, LocalCluster
    options = kvsp.DecodeOptions(every=args.every, threads=1, size=(320, None))
    parts = cut(args.file, args.per_batch)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        results = client.gather(client.map(decode, parts, options=options))
    for i, pictures in enumerate(results):
        keys = [pts for _, pts, key, _ in pictures if key]
        print("batch %d: %d pictures, %s, keyframes at %s ms" % (
            i, len(pictures), pictures[0][3].shape if pictures else None, keys))


if __name__ == "__main__":
    main()
