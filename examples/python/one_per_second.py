#!/usr/bin/python3
"""One picture per second of a KVS stream into numpy batches for a model.

    one_per_second.py SOURCE [--batch N] [--size WxH]
    one_per_second.py --endpoint-url URL --stream NAME [--batch N] [--size WxH]

SOURCE is a GetMedia payload saved to a file (e.g. `kvsp get-media ... -o
payload.mkv`, or a capture). With --stream the bytes come from boto3's
GetMedia (EARLIEST), its StreamingBody fed to kvsp as it arrives: boto3
keeps the request (credentials, endpoint), kvsp parses and decodes.

Prints one line per batch: its shape and the producer time span it covers.
Run from the build tree: PYTHONPATH=build/python /usr/bin/python3 ...
"""
import argparse
import sys

import kvsp


def source_from(args):
    if not args.stream:
        return args.source
    import boto3
    media = boto3.client("kinesis-video-media", endpoint_url=args.endpoint_url)
    return media.get_media(StreamName=args.stream,
                           StartSelector={"StartSelectorType": "EARLIEST"})["Payload"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?")
    ap.add_argument("--stream")
    ap.add_argument("--endpoint-url")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", default="224x224")
    args = ap.parse_args()
    if not args.source and not args.stream:
        ap.error("give SOURCE or --stream")
    width, height = (int(v) if v else None for v in args.size.split("x"))
    options = kvsp.DecodeOptions(interval_ms=1000, size=(width, height), pixel_format="rgb24")
    try:
        for batch in kvsp.decode_batches(source_from(args), args.batch, options):
            first, last = batch.pictures[0], batch.pictures[-1]
            # model.predict(batch.array / 255.0) would go here
            print("batch %s uint8, producer time %s .. %s ms, fragment %s" % (
                tuple(batch.array.shape), first.producer_timestamp_ms, last.producer_timestamp_ms,
                last.fragment_number))
    except kvsp.Error as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
