#!/usr/bin/env python3
"""kvsp plan over a month of one stream (issue 23): `kvsp serve --repeat`
serves output_get_media.mkv (5 fragments of 2 s) DAYS*8640 times in a row,
1,296,000 fragments for 30 days, listed 1000 per page, unordered within a
page; `kvsp plan --from --to` over the whole range is timed with GNU time.

Prints the fragment and item counts, the plan's wall time, its CPU time
(user + sys) and peak RSS, and the CPU time kvsp serve spent answering
(read from /proc: the machine is shared, so CPU time says more than wall).

usage: plan_bench.py KVSP CAPTURES_DIR [--days 30] [--runs 3]
Python 3 standard library only; Linux; /usr/bin/time. See bench/README.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tests', 'client'))
import kvsp_server  # noqa: E402

BASE = 1700000000  # kvsp serve's default start time



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('kvsp')
    ap.add_argument('captures')
    ap.add_argument('--days', type=int, default=30)
    ap.add_argument('--runs', type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='kvsp-plan-bench-')
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(AWS_ACCESS_KEY_ID='AKIDBENCH', AWS_SECRET_ACCESS_KEY='bench/secret', AWS_REGION='us-west-2',
               AWS_EC2_METADATA_DISABLED='true', HOME=tmp)
    root = os.path.join(tmp, 'root')
    os.mkdir(root)
    os.symlink(os.path.join(a.captures, 'output_get_media.mkv'), os.path.join(root, 'cam.mkv'))
    server = kvsp_server.KvspServer(a.kvsp, root, '--repeat', str(a.days * 8640), timeout=300)
    try:
        plan = os.path.join(tmp, 'plan.jsonl')
        for run in range(a.runs):
            before = kvsp_server.cpu_seconds(server.proc.pid)
            r = subprocess.run(['/usr/bin/time', '-f', '%e %U %S %M', a.kvsp, 'plan', '--stream', 'cam',
                                '--from', str(BASE), '--to', str(BASE + a.days * 86400),
                                '--endpoint-url', server.url, '-o', plan],
                               env=env, capture_output=True, timeout=600)
            if r.returncode != 0:
                sys.exit(r.stderr.decode(errors='replace'))
            served = kvsp_server.cpu_seconds(server.proc.pid) - before
            wall, user, sys_, rss_kb = r.stderr.decode().strip().splitlines()[-1].split()
            with open(plan) as f:
                header = json.loads(f.readline())
                fragments = sum(len(json.loads(line)['fragments']) for line in f)
            print('run %d: %d days, %d fragments, %d items: plan %.2f s wall, %.2f s CPU '
                  '(user %.2f, sys %.2f), peak RSS %.0f MiB; kvsp serve %.2f s CPU'
                  % (run + 1, a.days, fragments, header['items'], float(wall), float(user) + float(sys_),
                     float(user), float(sys_), int(rss_kb) / 1024, served), flush=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
