#!/usr/bin/env python3
"""Time ranges (--from/--to): files, stdin and streams, the latter through
the range reader (ListFragments, then GetMediaForFragmentList in batches of
at most 1,000, several at a time) against kvsp serve, whose ListFragments
pages come shuffled. The oracles are ffprobe's packets and ffmpeg's decoded
pictures (framemd5) of the generated files, filtered by time in Python.

  StreamEqualsFile  frames --list --stream --from/--to equals the file's with
                    the same range, and ffprobe's packets in [from, to]
                    (times, keyframes, sizes, count); ISO 8601 and epoch
                    seconds; a range inside one fragment; --parallel 1 and 5;
                    serve --list-unordered (one shuffle across pages)
  ServerTimestamps  --timestamp server: the range on serve's server
                    timestamps (producer + 0.250 s)
  Batches           the whole 1,250-fragment stream: two requests (1,000 +
                    250 fragments), every frame in order; 3,100 fragments in
                    four parallel requests, delivered in order
  Fragments         fragments --stream --from/--to: the fragments (clusters
                    of serve) overlapping the range, from ffprobe's keyframes
  Throttled         serve --fault-limit-every 3 (ClientLimitExceededException
                    on every third request): retried, the same frames; a
                    request that stalls is given up after --stall-timeout
                    and retried
  Memory            a 53 MB range (3,100 fragments of 17 KB): peak RSS within
                    20 MB of a one-second range's
  Merge             merge --from/--to of the file, of stdin and of the
                    stream: ffprobe's packets (payload MD5s, keyframes,
                    times from 0) are the source's from the keyframe at or
                    before --from to the last frame at or before --to;
                    the same range to MP4 and fMP4 has the MKV clip's packets
  FileAndStdin      frames --list FILE / stdin --from/--to against ffprobe;
                    frames --framemd5 --from/--to against ffmpeg's pictures
                    in the range (earlier ones decoded as references only);
                    inspect --json --from/--to (file and stream): the
                    SimpleBlocks are ffprobe's packets in the range
  Images            frames --stream --from/--to --interval-ms 100 --format
                    jpeg --size 640x: count and producer/server times from
                    ffprobe's frame times, 640x480 JPEGs by ffprobe;
                    --keyframes: ffprobe's keyframes in the range

usage: range_test.py KVSP [unittest arguments]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import ffprobe_packets  # noqa: E402
import frames_test  # noqa: E402  (hashes, ffmpeg_framemd5)
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = None
TIMEOUT = 120
BASE = 1796378400  # 2026-12-04T10:00:00Z, the first frame of every generated stream
ROOT = None


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID='AKIDRANGETEST', AWS_SECRET_ACCESS_KEY='range/test/secret', AWS_REGION='us-west-2',
             AWS_EC2_METADATA_DISABLED='true', HOME=ROOT)
    return e


def kvsp(*args, data=None, check=True):
    r = subprocess.run([KVSP, *args], input=data, capture_output=True, timeout=TIMEOUT, env=env())
    if check and r.returncode != 0:
        raise AssertionError('kvsp %s: exit %d: %s' % (' '.join(args), r.returncode, r.stderr.decode()[-3000:]))
    return r


def frames(out):
    """(pts_ms, keyframe, size) of each line of frames --list."""
    return [(d['pts_ms'], d['keyframe'], d['size']) for d in map(json.loads, out.decode().splitlines())]


def generate(name, *ffmpeg_args):
    path = os.path.join(ROOT, name + '.mkv')
    subprocess.run(['ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', *ffmpeg_args, '-c:v', 'libx264', '-bf', '0',
                    '-pix_fmt', 'yuv420p', '-output_ts_offset', str(BASE), '-f', 'matroska', path],
                   check=True, timeout=TIMEOUT)
    return path


def probe(path):
    """ffprobe's packets: (pts_ms, keyframe, size), pts exact."""
    (video,) = ffprobe_packets.packets(path).values()
    return [(p[0], p[2], p[1]) for p in video]


def in_range(rows, lo_ms, hi_ms):
    return [r for r in rows if lo_ms <= r[0] <= hi_ms]


class Range(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        # 1,250 fragments of 2 frames (a keyframe and a P frame, 40 ms apart):
        # serve makes each Cluster a fragment
        cls.long = os.path.join(ROOT, 'long.mkv')
        cls.long_packets = probe(cls.long)

    def serve(self, *args):
        return kvsp_server.KvspServer(KVSP, ROOT, '--start-time', str(BASE), *args)

    def stream(self, server, name, *args, check=True):
        return kvsp(args[0], '--endpoint-url', server.url, '--stream', name, *args[1:], check=check)


class StreamEqualsFile(Range):
    def test_ranges(self):
        cases = [  # (--from, --to, from_ms, to_ms)
            ('2026-12-04T10:00:10.02Z', '1796378470.5', (BASE + 10) * 1000 + 20, (BASE + 70) * 1000 + 500),
            ('2026-12-04T11:00:30+01:00', '2026-12-04T10:00:30.04Z', (BASE + 30) * 1000, (BASE + 30) * 1000 + 40),
            ('1796378455.01', '1796378455.03', (BASE + 55) * 1000 + 10, (BASE + 55) * 1000 + 30),  # no frame
            (str(BASE - 100), str(BASE + 1), (BASE - 100) * 1000, (BASE + 1) * 1000),
        ]
        with self.serve() as s:
            for lo, hi, lo_ms, hi_ms in cases:
                want = in_range(self.long_packets, lo_ms, hi_ms)
                for parallel in ('1', '5'):
                    with self.subTest(lo=lo, hi=hi, parallel=parallel):
                        got = frames(self.stream(s, 'long', 'frames', '--list', '--from', lo, '--to', hi,
                                                 '--parallel', parallel).stdout)
                        self.assertEqual(got, want)
                got = frames(kvsp('frames', '--list', self.long, '--from', lo, '--to', hi).stdout)
                self.assertEqual(got, want)
            self.assertEqual(len(in_range(self.long_packets, cases[0][2], cases[0][3])), 1512)

    def test_unordered_listing(self):
        # serve --list-unordered: the 1,250 rows in one shuffle across both pages
        with self.serve('--list-unordered') as s:
            got = frames(self.stream(s, 'long', 'frames', '--list', '--from', str(BASE), '--to',
                                     str(BASE + 100)).stdout)
            listed = kvsp('list-fragments', '--endpoint-url', s.url, '--stream', 'long').stdout
        self.assertEqual(got, self.long_packets)
        self.assertEqual(len(listed.splitlines()), 1250)


class ServerTimestamps(Range):
    def test_server_timeline(self):
        # serve's server timestamps are the producer's + 0.250 s
        lo_ms, hi_ms = (BASE + 40) * 1000 + 250, (BASE + 41) * 1000 + 250
        want = in_range(self.long_packets, lo_ms - 250, hi_ms - 250)
        self.assertEqual(len(want), 26)
        with self.serve() as s:
            r = self.stream(s, 'long', 'frames', '--list', '--timestamp', 'server', '--from', str(lo_ms / 1000),
                            '--to', str(hi_ms / 1000))
        got = [(d['server_timestamp_ms'] - 250, d['keyframe'], d['size'])
               for d in map(json.loads, r.stdout.decode().splitlines())]
        self.assertEqual(got, want)
        # a file without KVS tags has no server timeline
        self.assertEqual(kvsp('frames', '--list', '--timestamp', 'server', '--from', str(BASE), self.long).stdout,
                         b'')


class Batches(Range):
    def test_more_than_1000_fragments(self):
        with self.serve() as s:
            r = self.stream(s, 'long', 'frames', '--list', '--from', str(BASE), '--to', str(BASE + 100),
                            '--verbose')
        self.assertEqual(frames(r.stdout), self.long_packets)
        self.assertEqual(len(self.long_packets), 2500)
        batches = re.findall(r'batch (\d+): (\d+) fragments', r.stderr.decode())
        self.assertEqual(batches, [('0', '1000'), ('1', '250')])

    def test_later_batches_wait(self):
        # 3,100 fragments in four requests at once: the last (100 fragments)
        # ends long before the first, and must still come after it
        big = os.path.join(ROOT, 'big.mkv')
        with self.serve() as s:
            r = self.stream(s, 'big', 'frames', '--list', '--from', str(BASE), '--to', str(BASE + 200),
                            '--parallel', '4', '--verbose')
        self.assertEqual(frames(r.stdout), probe(big))
        self.assertEqual(len(re.findall(r'batch \d+: ', r.stderr.decode())), 4)


class Fragments(Range):
    def test_overlapping(self):
        # serve's fragments are the Clusters: each begins at a keyframe
        starts = [p[0] for p in self.long_packets if p[1]]
        bounds = [(a, [p[0] for p in self.long_packets if a <= p[0] < b][-1])
                  for a, b in zip(starts, starts[1:] + [float('inf')])]
        # from between the two frames of a fragment that starts before it: ListFragments (by start
        # time) finds it only through the lookback
        lo_ms, hi_ms = (BASE + 20) * 1000 + 30, (BASE + 21) * 1000 + 20
        want = [(a, b) for a, b in bounds if b >= lo_ms and a <= hi_ms]
        with self.serve() as s:
            r = self.stream(s, 'long', 'fragments', '--from', str(lo_ms / 1000), '--to', str(hi_ms / 1000))
        got = [(d['first_pts_ms'], d['last_pts_ms']) for d in map(json.loads, r.stdout.decode().splitlines())]
        self.assertEqual(got, want)
        self.assertEqual((len(want), want[0][0]), (13, (BASE + 20) * 1000))


class Throttled(Range):
    def test_limit_every_third_request(self):
        lo, hi = str(BASE), str(BASE + 100)
        with self.serve('--fault-limit-every', '3') as s:
            r = self.stream(s, 'long', 'frames', '--list', '--from', lo, '--to', hi, '--parallel', '3',
                            '--verbose')
        self.assertEqual(frames(r.stdout), self.long_packets)
        self.assertIn('ClientLimitExceededException', r.stderr.decode())

    def test_stalled_request(self):
        # the second media request to reach the server sends nothing: given up
        # after --stall-timeout and asked again (3 s: on a loaded machine a
        # healthy batch can pause for a second, and one that has delivered bytes
        # is not asked again). Batches 0 and 1 are asked for at once, so which
        # of them arrives second is a race: either is the one asked again.
        with self.serve('--fault-stall-at', '1:0') as s:
            r = self.stream(s, 'long', 'frames', '--list', '--from', str(BASE), '--to', str(BASE + 100),
                            '--stall-timeout', '3', '--verbose')
        self.assertEqual(frames(r.stdout), self.long_packets)
        self.assertRegex(r.stderr.decode(), r'batch (0: 1000|1: 250) fragments, attempt 2')


class Merge(Range):
    def test_clip(self):
        lo_ms, hi_ms = (BASE + 10) * 1000 + 20, (BASE + 70) * 1000 + 500  # from between K 10.000 and P 10.040
        (source,) = ffprobe_packets.packet_details(self.long).values()
        key = max(p['pts_ms'] for p in source if p['keyframe'] and p['pts_ms'] <= lo_ms)
        self.assertEqual(key, (BASE + 10) * 1000)
        want = [(p['pts_ms'] - key, p['keyframe'], p['md5']) for p in source if key <= p['pts_ms'] <= hi_ms]
        self.assertEqual(len(want), 1513)
        lo, hi = '2026-12-04T10:00:10.02Z', str(hi_ms / 1000)
        outs = {}
        with open(self.long, 'rb') as f:
            data = f.read()
        for how in ('file', 'stdin', 'stream'):
            out = os.path.join(ROOT, 'clip-%s.mkv' % how)
            outs[how] = out
            if how == 'file':
                kvsp('merge', '-o', out, '--from', lo, '--to', hi, self.long)
            elif how == 'stdin':
                kvsp('merge', '-o', out, '--from', lo, '--to', hi, '-', data=data)
            else:
                with self.serve() as s:
                    self.stream(s, 'long', 'merge', '-o', out, '--from', lo, '--to', hi)
        for how, out in outs.items():
            with self.subTest(how=how):
                (got,) = ffprobe_packets.packet_details(out).values()
                self.assertEqual([(p['pts_ms'], p['keyframe'], p['md5']) for p in got], want)

    def test_clip_mp4(self):
        """The same range to MP4 (progressive file, fMP4 on stdout) from the file, stdin and the
        stream: ffprobe's packets are those of the Matroska clip of that range (times, keyframes,
        payload MD5s), which test_clip checks against the source."""
        lo, hi = '2026-12-04T10:00:10.02Z', str(((BASE + 70) * 1000 + 500) / 1000)
        mkv = os.path.join(ROOT, 'clip-for-mp4.mkv')
        kvsp('merge', '-o', mkv, '--from', lo, '--to', hi, self.long)
        (want,) = ffprobe_packets.packet_details(mkv).values()
        want = [(p['pts_ms'], p['keyframe'], p['md5']) for p in want]
        self.assertEqual(len(want), 1513)
        with open(self.long, 'rb') as f:
            data = f.read()
        for how in ('file', 'stdin', 'stream', 'fmp4-stdout'):
            with self.subTest(how=how):
                out = os.path.join(ROOT, 'clip-%s.mp4' % how)
                if how == 'file':
                    kvsp('merge', '-o', out, '--from', lo, '--to', hi, self.long)
                elif how == 'stdin':
                    kvsp('merge', '-o', out, '--from', lo, '--to', hi, '-', data=data)
                elif how == 'stream':
                    with self.serve() as s:
                        self.stream(s, 'long', 'merge', '-o', out, '--from', lo, '--to', hi)
                else:
                    r = kvsp('merge', '--format', 'mp4', '-o', '-', '--from', lo, '--to', hi, self.long)
                    with open(out, 'wb') as f:
                        f.write(r.stdout)
                (got,) = ffprobe_packets.packet_details(out).values()
                self.assertEqual([(p['pts_ms'], p['keyframe'], p['md5']) for p in got], want)


class Images(Range):
    def images(self, *options):
        out = os.path.join(ROOT, 'images-%d' % len(os.listdir(ROOT)))
        with self.serve() as s:
            self.stream(s, 'long', 'frames', '--from', str(BASE + 10.02), '--to', str(BASE + 12.5),
                        '-o', out, '--format', 'jpeg', '--size', '640x', *options)
        with open(os.path.join(out, 'index.jsonl')) as f:
            return out, [json.loads(line) for line in f]

    def test_interval(self):
        """frames --stream --from/--to --interval-ms 100 --format jpeg --size 640x: the pictures
        are the first in the range, then the first at or after each 100 ms step, counted from
        ffprobe's frame times of the served file; producer times are those (serve's producer
        timeline is the file's), server times 250 ms later (serve's rule); every JPEG is 640x480
        (64x48 scaled, aspect kept) by ffprobe."""
        lo, hi = (BASE + 10) * 1000 + 20, (BASE + 12) * 1000 + 500
        times, next_ms = [], None
        for pts, _, _ in in_range(self.long_packets, lo, hi):
            if next_ms is None or pts >= next_ms:
                times.append(pts)
                next_ms = (pts if next_ms is None else next_ms) + 100
                while next_ms <= pts:
                    next_ms += 100
        self.assertEqual(len(times), 25)
        out, index = self.images('--interval-ms', '100')
        self.assertEqual([p['producer_timestamp_ms'] for p in index], times)
        self.assertEqual([p['server_timestamp_ms'] - p['producer_timestamp_ms'] for p in index], [250] * 25)
        names = sorted(n for n in os.listdir(out) if n.endswith('.jpg') or n.endswith('.jpeg'))
        self.assertEqual(len(names), len(times))
        for n in names:
            r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of',
                                'csv=p=0', os.path.join(out, n)], capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(r.stdout.strip(), 'mjpeg,640,480', n)

    def test_keyframes(self):
        """--keyframes: the keyframes in the range (ffprobe's), nothing else."""
        lo, hi = (BASE + 10) * 1000 + 20, (BASE + 12) * 1000 + 500
        want = [pts for pts, key, _ in in_range(self.long_packets, lo, hi) if key]
        _, index = self.images('--keyframes')
        self.assertEqual([p['producer_timestamp_ms'] for p in index], want)
        self.assertTrue(all(p['keyframe'] for p in index))


def peak_rss_kb(args):
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen([KVSP, *args], stdout=out, stderr=subprocess.DEVNULL, env=env())
        deadline = time.monotonic() + TIMEOUT
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                raise AssertionError('timed out')
            time.sleep(0.02)
        out.seek(0)
        lines = sum(1 for _ in out)
    if os.waitstatus_to_exitcode(status) != 0:
        raise AssertionError('kvsp %s failed' % ' '.join(args))
    return usage.ru_maxrss, lines


class Memory(Range):
    def test_peak_rss(self):
        size = os.path.getsize(os.path.join(ROOT, 'big.mkv'))
        self.assertGreater(size, 40 << 20)
        # In a sanitizer build ASan's quarantine keeps freed memory (up to
        # 256 MiB) to catch use after free: RSS would grow without a leak.
        # Off for the processes measured here; LeakSanitizer still runs.
        asan = os.environ.get('ASAN_OPTIONS', '')
        os.environ['ASAN_OPTIONS'] = (asan + ':' if asan else '') + 'quarantine_size_mb=0'
        with self.serve() as s:
            common = ['frames', '--list', '--endpoint-url', s.url, '--stream', 'big', '--parallel', '3']
            small, n_small = peak_rss_kb(common + ['--from', str(BASE), '--to', str(BASE + 1)])
            big, n_big = peak_rss_kb(common + ['--from', str(BASE), '--to', str(BASE + 200)])
        self.assertEqual((n_small, n_big), (26, 3100))
        self.assertLess(big - small, 20 << 10, 'peak RSS %d KB against %d KB for one second' % (big, small))


class FileAndStdin(Range):
    def test_list(self):
        lo, hi = '2026-12-04T10:01:00.000Z', '2026-12-04T10:01:02.5Z'
        want = in_range(self.long_packets, (BASE + 60) * 1000, (BASE + 62) * 1000 + 500)
        self.assertEqual(len(want), 63)
        self.assertEqual(frames(kvsp('frames', '--list', '--from', lo, '--to', hi, self.long).stdout), want)
        with open(self.long, 'rb') as f:
            data = f.read()
        self.assertEqual(frames(kvsp('frames', '--list', '--from', lo, '--to', hi, '-', data=data).stdout), want)
        self.assertEqual(frames(kvsp('frames', '--list', '--to', hi, self.long).stdout),
                         in_range(self.long_packets, 0, (BASE + 62) * 1000 + 500))

    def test_inspect(self):
        lo_ms, hi_ms = (BASE + 10) * 1000 + 20, (BASE + 10) * 1000 + 500
        want = [(p[0], p[1]) for p in in_range(self.long_packets, lo_ms, hi_ms)]
        self.assertEqual(len(want), 12)

        def blocks(out):
            rows, cluster = [], None
            for e in map(json.loads, out.decode().splitlines()):
                if e['name'] == 'Timestamp' and e['depth'] == 2:
                    cluster = e['value']
                elif e['name'] == 'SimpleBlock':
                    rows.append((cluster + e['timecode'], e['keyframe']))
            return rows
        args = ['inspect', '--json', '--from', str(lo_ms / 1000), '--to', str(hi_ms / 1000)]
        self.assertEqual(blocks(kvsp(*args, self.long).stdout), want)
        with self.serve() as s:
            self.assertEqual(blocks(self.stream(s, 'long', *args).stdout), want)

    def test_framemd5(self):
        # starts on a P frame: its keyframe is decoded as a reference, not written
        lo_ms, hi_ms = (BASE + 5) * 1000 + 40, (BASE + 6) * 1000
        want = [h for h in frames_test.ffmpeg_framemd5(self.long) if lo_ms <= h[0] <= hi_ms]
        self.assertEqual((len(want), want[0][0]), (25, lo_ms))
        got = frames_test.hashes(kvsp('frames', '--framemd5', '--from', str(lo_ms / 1000), '--to',
                                      str(hi_ms / 1000), self.long).stdout)
        self.assertEqual(got, want)


def main():
    global KVSP, ROOT
    KVSP = os.path.abspath(sys.argv.pop(1))
    if not shutil.which('ffmpeg') or not shutil.which('ffprobe'):
        kvsp_testing.skip('ffmpeg/ffprobe not installed')
    ROOT = tempfile.mkdtemp(prefix='kvsp-range-')
    try:
        generate('long', '-i', 'testsrc=size=64x48:rate=25', '-t', '100', '-g', '2', '-cluster_time_limit', '50')
        if len(sys.argv) == 1 or 'Memory' in sys.argv or 'Batches' in sys.argv:
            generate('big', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '3100', '-vf', 'noise=alls=40:allf=t',
                     '-g', '1', '-qp', '24', '-preset', 'ultrafast', '-cluster_time_limit', '10')
        kvsp_testing.main()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == '__main__':
    main()
