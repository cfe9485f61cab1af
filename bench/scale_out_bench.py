#!/usr/bin/env python3
"""kvsp run as 1, 2 and 4 array tasks on this machine: the same plan over
`kvsp serve` (STREAMS copies of clusters.mkv, 8 fragments each), each task a
`kvsp run PLAN --shard I/N -- merge` process started at the same time (what
an array engine does, without its scheduling delay).

Prints, per task count: wall time, items/s, payload MB/s, and the overhead
per item: the mean seconds of an item in the results lines minus the mean
time of `kvsp merge` alone on the same payloads (fetched once beforehand).

usage: scale_out_bench.py KVSP CAPTURES_DIR [--streams N] [--batch-fragments N]
Python 3 standard library only. See bench/README.md.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'client'))
import kvsp_server  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('kvsp')
    ap.add_argument('captures')
    ap.add_argument('--streams', type=int, default=8)
    ap.add_argument('--batch-fragments', type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='kvsp-scale-bench-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(AWS_ACCESS_KEY_ID='AKIDBENCH', AWS_SECRET_ACCESS_KEY='bench/secret', AWS_REGION='us-west-2',
               AWS_EC2_METADATA_DISABLED='true', HOME=tmp)
    root = os.path.join(tmp, 'root')
    os.mkdir(root)
    names = ['cam%02d' % i for i in range(a.streams)]
    for n in names:
        os.symlink(os.path.join(a.captures, 'clusters.mkv'), os.path.join(root, n + '.mkv'))
    server = kvsp_server.KvspServer(a.kvsp, root, '--threads', '2')
    try:
        plan = os.path.join(tmp, 'plan.jsonl')
        streams = [x for n in names for x in ('--stream', n)]
        subprocess.run([a.kvsp, 'plan', *streams, '--from', '1699999999', '--to', '1700003600',
                        '--batch-fragments', str(a.batch_fragments), '--endpoint-url', server.url, '-o', plan],
                       env=env, check=True, timeout=120)
        with open(plan) as f:
            items = [json.loads(line) for line in f][1:]
        payload_mb = sum(i['bytes'] for i in items) / 1e6
        # kvsp merge alone on each item's payload
        direct = []
        for i in items:
            p = os.path.join(tmp, 'payload.mkv')
            subprocess.run([a.kvsp, 'get-media-for-fragment-list', '--stream', i['stream'], '--fragments',
                            ','.join(i['fragments']), '--endpoint-url', server.url, '-o', p],
                           env=env, check=True, timeout=120)
            t = time.monotonic()
            subprocess.run([a.kvsp, 'merge', p, '-o', os.path.join(tmp, 'direct.mkv')], env=env, check=True,
                           timeout=120, stderr=subprocess.DEVNULL)
            direct.append(time.monotonic() - t)
        print('%d items, %.1f MB of payload, %d streams; kvsp merge alone: %.1f ms per item'
              % (len(items), payload_mb, a.streams, 1000 * statistics.mean(direct)))
        print('%5s %8s %8s %8s %18s' % ('tasks', 'wall s', 'items/s', 'MB/s', 'overhead ms/item'))
        for n in (1, 2, 4):
            out = os.path.join(tmp, 'out%d' % n)
            t = time.monotonic()
            procs = [subprocess.Popen([a.kvsp, 'run', plan, '--shard', '%d/%d' % (i, n), '--out', out,
                                       '--endpoint-url', server.url, '--', 'merge'],
                                      env=env, stderr=subprocess.DEVNULL) for i in range(n)]
            if any(p.wait(timeout=600) != 0 for p in procs):
                sys.exit('a task failed')
            wall = time.monotonic() - t
            lines = []
            for path in glob.glob(os.path.join(out, 'results-*.jsonl')):
                with open(path) as f:
                    lines += [json.loads(line) for line in f]
            assert len(lines) == len(items)
            overhead = statistics.mean(r['seconds'] for r in lines) - statistics.mean(direct)
            print('%5d %8.2f %8.1f %8.1f %18.1f' % (n, wall, len(items) / wall, payload_mb / wall, 1000 * overhead))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
