#!/usr/bin/python3
"""The media of a KVS stream between two times: pictures and audio as WAV.

    clip_range.py --stream NAME --from T --to T -o DIR [--interval-ms MS]
                  [--timestamp producer|server] [--parallel N] [--endpoint-url URL]

T is ISO 8601 with its zone (2026-12-04T10:02:00Z) or seconds since the
epoch, as kvsp's --from/--to. The range is read with the C range reader
(ListFragments, then GetMediaForFragmentList, --parallel requests at a time,
in timestamp order, in bounded memory) and cut at frame level: the pictures
are those with times in [from, to] (earlier frames decoded as references
only), one per --interval-ms, saved as DIR/pictures.npz with their producer
times; each audio output's PCM in the range is written as
DIR/track-N[-NAME][-K].wav, with the producer time of its first sample.

Credentials and region come from the AWS chain (environment, ~/.aws).
Run from the build tree: PYTHONPATH=build/python /usr/bin/python3 ...
"""
import argparse
import os
import sys

import numpy

import kvsp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stream", required=True)
    ap.add_argument("--from", dest="start", required=True)
    ap.add_argument("--to", dest="end", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--interval-ms", type=float, default=1000)
    ap.add_argument("--timestamp", choices=["producer", "server"], default="producer")
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--endpoint-url")
    ap.add_argument("--region")
    args = ap.parse_args()
    client = kvsp.Client(region=args.region, endpoint_url=args.endpoint_url)
    clip = client.range(args.stream, start=args.start, end=args.end, timestamp=args.timestamp,
                        parallel=args.parallel)
    os.makedirs(args.output, exist_ok=True)
    try:
        print("%d fragments in the range" % len(clip.list()))
        pictures = list(kvsp.decode(clip, interval_ms=args.interval_ms))
        if pictures:
            numpy.savez(os.path.join(args.output, "pictures.npz"),
                        pictures=numpy.stack([p.array for p in pictures]),
                        producer_timestamp_ms=numpy.array([p.producer_timestamp_ms for p in pictures]))
        print("%d pictures" % len(pictures))
        for info, pcm in kvsp.audio(clip):
            name = "track-%d%s%s.wav" % (info.track, "-" + info.track_name if info.track_name else "",
                                         "-%d" % info.index if info.index else "")
            kvsp.write_wav(os.path.join(args.output, name), pcm, info.sample_rate)
            print("%s: %d Hz x %d, %.3f s from producer time %s ms, %d gaps" % (
                name, info.sample_rate, info.channels, info.duration_ms / 1000,
                info.first_producer_timestamp_ms, info.gaps))
    except kvsp.Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
