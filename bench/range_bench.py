#!/usr/bin/env python3
"""Reading a time range through --parallel N against kvsp serve (issue 24,
Archives): `kvsp fragments --stream --from --to --parallel N` for N = 1, 2,
4 and 5 over one range, in the same run, the output to a file.

The stream is clusters.mkv (8 fragments of 2 s, 150 KB each) served
REPEAT times (default 625: 5,000 fragments, 747 MB, five requests of 1,000
fragments). Twice: with each media response paced by kvsp serve
--rate-per-connection (default 25 MB/s, the rate per GetMediaForFragmentList session
the KVS API reference gives), so that N connections can carry N
times one's bytes as KVS's per-connection limits make them; and unpaced,
where one loopback connection already carries more than the client reads.

Prints per N: wall time, MB/s of payload, the ratio to N = 1, the client's
CPU time (user + sys) and peak RSS (GNU time), and kvsp serve's CPU time
(/proc). The machine may be shared: CPU time says what the work cost.

usage: range_bench.py KVSP CAPTURES_DIR [--repeat 625] [--rate 25000000] [--parallel 1,2,4,5]
Python 3 standard library only; Linux; /usr/bin/time. See bench/README.md.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'client'))
import kvsp_server  # noqa: E402

BASE = 1700000000  # kvsp serve's default start time



def measure(a, env, tmp, pace):
    root = os.path.join(tmp, 'root')
    extra = ['--rate-per-connection', str(a.rate)] if pace else []
    server = kvsp_server.KvspServer(a.kvsp, root, '--repeat', str(a.repeat), '--threads', '8', *extra,
                                    timeout=120)
    rows = []
    try:
        # every fragment of the stream: 16 s per copy of the file
        to = BASE + a.repeat * 16
        out = os.path.join(tmp, 'fragments.jsonl')
        for n in a.parallel:
            before = kvsp_server.cpu_seconds(server.proc.pid)
            with open(out, 'wb') as f:
                r = subprocess.run(['/usr/bin/time', '-f', '%e %U %S %M', a.kvsp, 'fragments',
                                    '--endpoint-url', server.url, '--stream', 'cam', '--from', str(BASE),
                                    '--to', str(to), '--parallel', str(n)],
                                   env=env, stdout=f, stderr=subprocess.PIPE, timeout=900)
            if r.returncode != 0:
                sys.exit(r.stderr.decode(errors='replace'))
            served = kvsp_server.cpu_seconds(server.proc.pid) - before
            with open(out) as f:
                lines = sum(1 for _ in f)
            if lines != a.repeat * 8:
                sys.exit('N=%d: %d fragments, not %d' % (n, lines, a.repeat * 8))
            wall, user, sys_, rss = r.stderr.decode().strip().splitlines()[-1].split()
            rows.append((n, float(wall), float(user) + float(sys_), int(rss) / 1024, served))
    finally:
        server.stop()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('kvsp')
    ap.add_argument('captures')
    ap.add_argument('--repeat', type=int, default=625)
    ap.add_argument('--rate', type=int, default=25000000, help='bytes per second per connection')
    ap.add_argument('--parallel', default='1,2,4,5')
    a = ap.parse_args()
    a.parallel = [int(x) for x in a.parallel.split(',')]
    tmp = tempfile.mkdtemp(prefix='kvsp-range-bench-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(AWS_ACCESS_KEY_ID='AKIDBENCH', AWS_SECRET_ACCESS_KEY='bench/secret', AWS_REGION='us-west-2',
               AWS_EC2_METADATA_DISABLED='true', HOME=tmp)
    try:
        os.mkdir(os.path.join(tmp, 'root'))
        capture = os.path.join(a.captures, 'clusters.mkv')
        os.symlink(capture, os.path.join(tmp, 'root', 'cam.mkv'))
        # payload: what kvsp serve sends is about the file's bytes per copy
        mb = os.path.getsize(capture) * a.repeat / 1e6
        print('%d fragments, about %.0f MB, requests of 1,000 fragments' % (a.repeat * 8, mb))
        for pace in (True, False):
            rows = measure(a, env, tmp, pace)
            print('%s:' % ('paced, %.0f MB/s per connection' % (a.rate / 1e6) if pace else 'unpaced'))
            print('%3s %8s %8s %8s %9s %9s %10s' % ('N', 'wall s', 'MB/s', 'x N=1', 'CPU s', 'RSS MiB',
                                                    'serve CPU s'))
            for n, wall, cpu, rss, served in rows:
                print('%3d %8.2f %8.1f %8.2f %9.2f %9.1f %10.2f'
                      % (n, wall, mb / wall, rows[0][1] / wall, cpu, rss, served), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
