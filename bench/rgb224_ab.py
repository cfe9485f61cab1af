#!/usr/bin/env python3
"""Issue 24's "scaled RGB 224x224" case (bench/extract_cases.py's pair) for two or more kvsp
builds and ffmpeg, interleaved: each round runs every command once, so that the machine's load
(shared, 2 cores) weighs on all of them alike. Output goes to a pipe this script reads, as a
model would. Reports per command the median wall and CPU time (user + sys of the process and
its threads, from wait4) and the median over rounds of ffmpeg's wall / this wall, with the
load average before and after; checks that every run wrote the same number of pictures.

    bench/rgb224_ab.py --input decode.mkv --runs 9 old=/tmp/old/kvsp-full new=build/kvsp-full \\
        'new, 1 thread=build/kvsp-full --threads 1'

A kvsp-full copied out of a build directory finds its libraries with LD_LIBRARY_PATH set to
its own folder (set here when that folder holds libkvsparser-decoder.so.0).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import extract_cases  # noqa: E402


def run(cmd, env):
    """(wall s, CPU s, bytes written) of one run, its stdout read to the end."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    n = 0
    while True:
        chunk = p.stdout.read1(1 << 20)
        if not chunk:
            break
        n += len(chunk)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise RuntimeError('%s exited with status %d' % (' '.join(cmd), status))
    return time.monotonic() - t0, usage.ru_utime + usage.ru_stime, n


def commands(builds, path):
    """name -> (argv, env): each build's kvsp command, then ffmpeg's."""
    out = {}
    for spec in builds:
        name, _, rest = spec.partition('=')
        words = rest.split()
        kvsp, extra = words[0], words[1:]
        mine, ref = extract_cases.rgb224_commands(kvsp, path)
        env = dict(os.environ)
        folder = os.path.dirname(os.path.abspath(kvsp))
        if os.path.exists(os.path.join(folder, 'libkvsparser-decoder.so.0')):
            env['LD_LIBRARY_PATH'] = folder
        out[name] = (mine[:-1] + extra + mine[-1:], env)
    out['ffmpeg'] = (ref, dict(os.environ))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--input', required=True, help="bench/make_inputs.py's decode.mkv")
    ap.add_argument('--runs', type=int, default=9)
    ap.add_argument('builds', nargs='+', help='NAME=KVSP-FULL [extra options]')
    a = ap.parse_args()
    cmds = commands(a.builds, a.input)
    print('load average before: %.2f %.2f %.2f' % os.getloadavg())
    sizes = {run(argv, env)[2] for argv, env in cmds.values()}  # warm-up
    if len(sizes) != 1 or sizes.pop() % extract_cases.RGB224:
        raise RuntimeError('the commands wrote different or partial pictures')
    walls = {k: [] for k in cmds}
    cpus = {k: [] for k in cmds}
    for _ in range(a.runs):
        for name, (argv, env) in cmds.items():
            wall, cpu, _ = run(argv, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print('load average after: %.2f %.2f %.2f' % os.getloadavg())
    print('%-24s %9s %9s %18s' % ('', 'wall s', 'CPU s', 'ffmpeg / this wall'))
    for name in cmds:
        ratio = statistics.median(f / w for f, w in zip(walls['ffmpeg'], walls[name]))
        print('%-24s %9.3f %9.3f %18.3f' % (name, statistics.median(walls[name]),
                                            statistics.median(cpus[name]), ratio))


if __name__ == '__main__':
    main()
