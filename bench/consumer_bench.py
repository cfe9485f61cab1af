#!/usr/bin/env python3
"""Live consumer benchmark: one `kvsp fragments` process reading N live streams
of about 1 Mbit/s from `kvsp serve --live` on loopback.

Measures:
  * CPU of the consumer process (user + system, from /proc/PID/stat) over the
    steady part of the run, as a share of one core, in all and per stream;
  * end-to-end latency of each fragment: from the server handing the
    fragment's last byte to the connection (kvsp serve --log-fragments) to the
    consumer's fragment callback (received_at_us of kvsp fragments --stream);
    both are CLOCK_REALTIME on the same machine.

Targets (from the project requirements): 200 streams on one core with under
50% of that core, and a median latency under 5 ms.

Python 3 standard library only; Linux (/proc). See bench/README.md.
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests', 'client'))
import consumer_streams  # noqa: E402

CPU_TARGET = 0.50       # of one core, for TARGET_STREAMS streams
TARGET_STREAMS = 200
LATENCY_TARGET_MS = 5.0  # median
AK, SK = 'AKIDBENCHEXAMPLE', 'bench/secret/key/EXAMPLEKEY'
EXIT_TARGET_MISSED = 1
EXIT_FAILED = 2


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--kvsp', default=os.path.join(REPO_ROOT, 'build', 'kvsp'),
                   help='kvsp binary (default: build/kvsp under the repo root)')
    p.add_argument('--streams', type=int, default=TARGET_STREAMS, help='live streams (default 200)')
    p.add_argument('--bitrate', type=int, default=1000000, help='bits per second of each stream (default 1000000)')
    p.add_argument('--fragment-ms', type=int, default=1000, help='fragment duration (default 1000)')
    p.add_argument('--duration', type=float, default=30.0,
                   help='seconds of live media per stream (default 30)')
    p.add_argument('--warmup', type=float, default=3.0,
                   help='seconds after the consumer starts left out of the CPU figure (default 3)')
    p.add_argument('--stagger', type=int, default=None,
                   help='ms between the starts of consecutive streams (kvsp serve --live-stagger; '
                   'default: fragment-ms / streams, so that fragments end evenly spread; 0: all at once)')
    p.add_argument('--workdir', help='kept afterwards (default: a temporary directory, removed)')
    p.add_argument('--json', action='store_true', help='print the results as one JSON object')
    p.add_argument('--check', action='store_true', help='exit 1 when a target is missed')
    a = p.parse_args(argv)
    if a.streams < 1 or a.fragment_ms < 10 or a.duration * 1000 < a.fragment_ms:
        p.error('need at least one stream and one fragment of at least 10 ms')
    if a.stagger is None:
        a.stagger = a.fragment_ms // a.streams
    return a


def cpu_seconds(pid):
    """utime + stime of a process from /proc/PID/stat."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def status_of(pid):
    """Threads, VmHWM (peak resident KiB) and RssAnon (KiB, resident memory
    not backed by files: the heap, not the shared libraries) from
    /proc/PID/status. Not ru_maxrss: on Linux that also counts the parent's
    memory at fork."""
    values = {'Threads:': 0, 'VmHWM:': 0, 'RssAnon:': 0}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            key = line.split(None, 1)[0]
            if key in values:
                values[key] = int(line.split()[1])
    return values['Threads:'], values['VmHWM:'], values['RssAnon:']


def percentile(sorted_values, q):
    if not sorted_values:
        return float('nan')
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def start_server(a, root, frag_log):
    err = open(os.path.join(os.path.dirname(frag_log), 'serve.stderr'), 'wb')
    proc = subprocess.Popen([a.kvsp, 'serve', '--root', root, '--port', '0', '--live',
                             '--live-stagger', str(a.stagger), '--log-fragments', frag_log,
                             '--access-key', AK, '--secret-key', SK],
                            stdout=subprocess.PIPE, stderr=err)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline().decode() if ready else ''
    m = re.fullmatch(r'listening on (http://127\.0\.0\.1:\d+)\n', line)
    if not m:
        stop(proc)
        raise BenchError('kvsp serve did not start: %r' % line)
    return proc, m.group(1)


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def run(a, work):
    root = os.path.join(work, 'streams')
    os.mkdir(root)
    fragments = int(a.duration * 1000 // a.fragment_ms)
    source = os.path.join(work, 'stream.mkv.src')
    size = consumer_streams.make_stream(source, fragments, a.fragment_ms,
                                        consumer_streams.constant_rate(a.bitrate, a.fragment_ms), audio=False)
    names = ['live%03d' % i for i in range(a.streams)]
    for n in names:
        os.symlink(source, os.path.join(root, n + '.mkv'))
    rate = size * 8 / (fragments * a.fragment_ms / 1000)
    log('%d streams of %d fragments of %d ms, %.2f Mbit/s each (%.0f KB per fragment); stagger %d ms'
        % (a.streams, fragments, a.fragment_ms, rate / 1e6, size / fragments / 1000, a.stagger))

    frag_log = os.path.join(work, 'serve-fragments.log')
    server, url = start_server(a, root, frag_log)
    out_path = os.path.join(work, 'fragments.jsonl')
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION='us-west-2',
               AWS_EC2_METADATA_DISABLED='true', HOME=work)
    args = [a.kvsp, 'fragments', '--start', 'earliest', '--endpoint-url', url]
    for n in names:
        args += ['--stream', n]
    expected_end = a.duration + a.stagger * a.streams / 1000 + 30
    try:
        with open(out_path, 'wb') as out, open(os.path.join(work, 'consumer.stderr'), 'wb') as err:
            t0 = time.monotonic()
            consumer = subprocess.Popen(args, stdout=out, stderr=err, env=env)
            samples, threads, rss, anon = [], 0, 0, 0  # samples: (seconds since start, cpu seconds)
            while True:
                pid, status, usage = os.wait4(consumer.pid, os.WNOHANG)
                if pid:
                    break
                try:
                    samples.append((time.monotonic() - t0, cpu_seconds(consumer.pid)))
                    t, r, n = status_of(consumer.pid)
                    threads, rss, anon = max(threads, t), max(rss, r), max(anon, n)
                except (OSError, IndexError, ValueError):
                    pass
                if time.monotonic() - t0 > expected_end:
                    consumer.kill()
                    consumer.wait()
                    raise BenchError('the consumer did not finish in %.0f s' % expected_end)
                time.sleep(0.25)
            wall = time.monotonic() - t0
            consumer.returncode = os.waitstatus_to_exitcode(status)
            total_cpu = usage.ru_utime + usage.ru_stime
        server_cpu = cpu_seconds(server.pid)
    finally:
        stop(server)
    if consumer.returncode != 0:
        with open(os.path.join(work, 'consumer.stderr'), 'rb') as f:
            raise BenchError('kvsp fragments exited with %d: %s' % (consumer.returncode, f.read()[-2000:].decode()))

    # steady state: from the end of the warmup to the last sample before the
    # first stream runs out of fragments
    end_of_media = fragments * a.fragment_ms / 1000 - 1
    window = [s for s in samples if a.warmup <= s[0] <= end_of_media]
    if len(window) < 2:
        raise BenchError('run too short for a CPU window: use a longer --duration')
    cpu = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])

    sent = {}
    with open(frag_log) as f:
        for line in f:
            us, stream, number = line.split()
            sent.setdefault((stream, number), []).append(int(us))
    received = []
    with open(out_path) as f:
        for line in f:
            d = json.loads(line)
            received.append((d['stream'], d['fragment_number'], d['received_at_us']))
    keys = [(s, n) for s, n, _ in received]
    duplicates = len(keys) - len(set(keys))
    missing = a.streams * fragments - len(set(keys))
    latencies = []
    for stream, number, at in received:
        times = [t for t in sent.get((stream, number), []) if t <= at]
        if times:
            latencies.append((at - max(times)) / 1000.0)
    latencies.sort()
    return {
        'streams': a.streams, 'fragments_per_stream': fragments, 'fragment_ms': a.fragment_ms,
        'stream_mbit_s': round(rate / 1e6, 3), 'stagger_ms': a.stagger,
        'wall_s': round(wall, 2), 'consumer_threads': threads, 'consumer_peak_rss_mib': round(rss / 1024, 1),
        'consumer_peak_anon_mib': round(anon / 1024, 1),
        'consumer_cpu_core_share': round(cpu, 4),
        'consumer_cpu_per_stream_pct': round(100 * cpu / a.streams, 4),
        'consumer_cpu_total_s': round(total_cpu, 2), 'server_cpu_total_s': round(server_cpu, 2),
        'fragments_received': len(received), 'duplicates': duplicates, 'missing': missing,
        'latency_ms': {'count': len(latencies),
                       'median': round(statistics.median(latencies), 3) if latencies else None,
                       'p90': round(percentile(latencies, 0.90), 3),
                       'p99': round(percentile(latencies, 0.99), 3),
                       'max': round(latencies[-1], 3) if latencies else None,
                       'min': round(latencies[0], 3) if latencies else None},
    }


def report(r, a):
    lat = r['latency_ms']
    lines = [
        'streams: %d x %.2f Mbit/s, %d fragments of %d ms each, stagger %d ms, wall %.1f s'
        % (r['streams'], r['stream_mbit_s'], r['fragments_per_stream'], r['fragment_ms'], r['stagger_ms'],
           r['wall_s']),
        'consumer: %d thread(s), peak RSS %.1f MiB (%.1f MiB not shared libraries); CPU %.1f%% of one '
        'core in the steady window (%.3f%% per stream); %.2f s CPU in all; server %.2f s CPU'
        % (r['consumer_threads'], r['consumer_peak_rss_mib'], r['consumer_peak_anon_mib'],
           100 * r['consumer_cpu_core_share'],
           r['consumer_cpu_per_stream_pct'], r['consumer_cpu_total_s'], r['server_cpu_total_s']),
        'fragments: %d received, %d missing, %d duplicates'
        % (r['fragments_received'], r['missing'], r['duplicates']),
        'latency ms (last byte written -> fragment callback), %d fragments: median %.3f, p90 %.3f, '
        'p99 %.3f, min %.3f, max %.3f'
        % (lat['count'], lat['median'], lat['p90'], lat['p99'], lat['min'], lat['max']),
    ]
    scaled = r['consumer_cpu_core_share'] * TARGET_STREAMS / r['streams']
    cpu_ok = scaled < CPU_TARGET
    lat_ok = lat['median'] is not None and lat['median'] < LATENCY_TARGET_MS
    lines.append('CPU target (%d streams < %.0f%% of one core): %s (%.1f%%%s)'
                 % (TARGET_STREAMS, 100 * CPU_TARGET, 'met' if cpu_ok else 'MISSED', 100 * scaled,
                    '' if r['streams'] == TARGET_STREAMS else ', scaled from %d streams' % r['streams']))
    lines.append('latency target (median < %.0f ms): %s' % (LATENCY_TARGET_MS, 'met' if lat_ok else 'MISSED'))
    return lines, cpu_ok and lat_ok and not r['missing'] and not r['duplicates']


def main(argv):
    a = parse_args(argv)
    a.kvsp = os.path.abspath(a.kvsp)
    if not os.access(a.kvsp, os.X_OK):
        log('no kvsp at %s (build it, or give --kvsp)' % a.kvsp)
        return EXIT_FAILED
    if not os.path.isdir('/proc/self'):
        log('needs Linux /proc')
        return EXIT_FAILED
    work = a.workdir or tempfile.mkdtemp(prefix='kvsp-consumer-bench-')
    if a.workdir:
        os.makedirs(work, exist_ok=True)
        if os.listdir(work):
            log('--workdir %s is not empty' % work)
            return EXIT_FAILED
    try:
        r = run(a, work)
    except BenchError as e:
        log('benchmark failed: %s' % e)
        return EXIT_FAILED
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    lines, ok = report(r, a)
    if a.json:
        print(json.dumps(r))
    else:
        print('\n'.join(lines))
    if r['missing'] or r['duplicates']:
        return EXIT_FAILED
    return EXIT_TARGET_MISSED if a.check and not ok else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
