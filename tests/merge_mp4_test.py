#!/usr/bin/env python3
"""kvsp merge to MP4 checked with independent tools: ffprobe's packets against the
frames an independent Matroska reader (independent_mkv.py) finds in the input,
ffmpeg's decoded pictures (framemd5) against the input's, seeking with ffmpeg, the
top-level boxes walked here, and (--browser) Debian's Chromium playing the file.

usage: merge_mp4_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
       merge_mp4_test.py --browser KVSP RESOURCES_DIR [CAPTURES_DIR]

KVSP is the lean `kvsp`: MP4 output runs in kvsp-full, which it execs.
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from fractions import Fraction

import headless_page
import independent_mkv
import kvsp_testing
import waiting

KVSP = RESOURCES = CAPTURES = None
TMP = None

# Inputs with H.264, H.265 or AAC tracks only and one track set (one output file).
FIXTURES = ['audio_video.mkv', 'h264_blockgroups.mkv', 'h265_track.mkv', 'known_size_cluster.mkv',
            'kvs_absolute_timecodes.mkv', 'kvs_corrupt_frame.mkv', 'kvs_error_tags.mkv', 'kvs_fragment_list.mkv',
            'kvs_mid_gop.mkv', 'kvs_restart_at_zero.mkv', 'kvs_unknown_size_1byte.mkv',
            'kvs_unknown_size_8byte.mkv', 'kvs_user_tags.mkv', 'lacing_ebml.mkv', 'lacing_xiph.mkv',
            'odd_size_642x362.mkv', 'kvs_bframes.mkv']
# Inputs cut short: kvsp merge keeps their complete frames and exits 1.
TRUNCATED = {'output-get-media-equal-timecode.mkv'}
CAPTURE_FILES = ['output_get_media.mkv', 'output_get_media_sparse_fragments.mkv',
                 'output-get-media-equal-timecode.mkv', 'kinesis_video_renderer_example_output.mkv',
                 'clusters.mkv', 'bezos_vogels.mkv', 'vogels_330.mkv']


def run(cmd, data=None, timeout=300):
    return subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def tmp(name):
    return os.path.join(TMP, name)


def inputs():
    """(name, path) of every input; the captures when present."""
    found = [(n, os.path.join(RESOURCES, n)) for n in FIXTURES]
    if CAPTURES and os.path.isdir(CAPTURES):
        found += [(n, os.path.join(CAPTURES, n)) for n in CAPTURE_FILES]
    else:
        kvsp_testing.skipped_part('shared captures absent: fixtures only')
    return found


def capture(name):
    if not CAPTURES or not os.path.isfile(os.path.join(CAPTURES, name)):
        raise unittest.SkipTest('shared capture %s absent' % name)
    return os.path.join(CAPTURES, name)


def merge(src, out, *options, status=None):
    if status is None:
        status = 1 if os.path.basename(src) in TRUNCATED else 0
    for old in [out, out + '.json']:
        if os.path.exists(old):
            os.remove(old)
    r = run([KVSP, 'merge', src, '-o', out, *options])
    if r.returncode != status:
        raise AssertionError('kvsp merge %s -o %s: exit %d: %s' % (src, out, r.returncode, r.stderr.decode()))
    return r


def probe_packets(src, data=None):
    """Per stream: its facts, and its packets in file order with exact times in s."""
    r = run(['ffprobe', '-v', 'error', '-show_data_hash', 'MD5', '-show_entries',
             'packet=stream_index,pts,dts,duration,size,flags,data_hash:'
             'stream=index,time_base,codec_type,codec_name,width,height', '-of', 'json',
             '-i', src if data is None else 'pipe:0'], data=data)
    if r.returncode:
        raise AssertionError('ffprobe %s: %s' % (src, r.stderr.decode()))
    out = json.loads(r.stdout)
    streams = {s['index']: dict(s, packets=[]) for s in out['streams']}
    for p in out['packets']:
        s = streams[p['stream_index']]
        base = Fraction(s['time_base'])
        # no dts in Matroska with B-frames for the first packets: ffprobe leaves it out
        s['packets'].append({'pts': p['pts'] * base, 'dts': p['dts'] * base if 'dts' in p else None,
                             # none in fragmented MP4: ffmpeg leaves them unset there
                             'duration': int(p['duration']) * base if 'duration' in p else None,
                             'size': int(p['size']),
                             'key': 'K' in p['flags'], 'md5': p['data_hash'].split(':', 1)[1]})
    return [streams[i] for i in sorted(streams)]


def expected_times(frames):
    """The producer timeline, written from its description (README, merger.h), not from the C:
    a file starts at 0 at its first fragment's first Cluster; each later fragment's first
    Cluster goes to its producer timestamp less the first fragment's, or, if that is not after
    the latest frame, one tick after it; a fragment's frames keep their offsets from its first
    Cluster. Returns one time (s, exact) per frame; None for laced frames after the first of
    their block (placed by DefaultDuration, checked against the MKV merge instead), or all None
    when a later fragment has no producer timestamp."""
    times, origin, latest, current, shift = [], None, None, None, None
    for fr in frames:
        if fr['fragment_index'] != current:
            current = fr['fragment_index']
            tick = Fraction(fr['scale'], 10 ** 9)
            cluster = fr['cluster_timecode'] * tick
            producer = None
            if fr['producer_timestamp_ms'] is not None:
                # the fragment's tag: the frame's producer time less its offset in the Cluster
                producer = fr['producer_timestamp_ms'] / 1000 - (fr['timecode'] - fr['cluster_timecode']) * tick
            if origin is None:
                origin, at = producer, Fraction(0)
            elif producer is None or origin is None:
                return [None] * len(frames)
            else:
                at = producer - origin
                if at <= latest:
                    at = latest + tick
            shift = at - cluster
        t = fr['timecode'] * Fraction(fr['scale'], 10 ** 9) + shift
        latest = t if latest is None else max(latest, t)
        times.append(t if fr['lace_index'] == 0 else None)
    return times


def top_boxes(data):
    """The types of the top-level ISO BMFF boxes, in order."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack('>I4s', data[pos:pos + 8])
        if size == 1:
            size = struct.unpack('>Q', data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        if size < 8:
            raise AssertionError('bad box size %d at %d' % (size, pos))
        boxes.append(kind.decode('latin-1'))
        pos += size
    if pos != len(data):
        raise AssertionError('boxes end at %d of %d bytes' % (pos, len(data)))
    return boxes


def framemd5(path, *before_input, frames=None):
    """(pts, hash) of each decoded picture of the first video stream, in output order."""
    cmd = ['ffmpeg', '-v', 'error', *before_input, '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough']
    if frames:
        cmd += ['-frames:v', str(frames)]
    r = run(cmd + ['-f', 'framemd5', '-'])
    if r.returncode:
        raise AssertionError('ffmpeg %s: %s' % (path, r.stderr.decode()))
    tb = Fraction(re.search(rb'#tb 0: (\d+/\d+)', r.stdout).group(1).decode())
    rows = [line.split(b',') for line in r.stdout.splitlines() if not line.startswith(b'#')]
    return [(int(row[2]) * tb, row[-1].strip().decode()) for row in rows]


class Mp4(unittest.TestCase):
    def check_packets(self, name, src, out):
        """Every frame of the input is one packet of its track, with its bytes, keyframe flag and
        its time on the producer timeline; durations reach the next packet (no gaps, no overlap)."""
        reader = independent_mkv.read_file(src)
        streams = probe_packets(out)
        self.assertEqual(len(streams), len(reader.tracks), name)
        for stream, track in zip(streams, reader.tracks):
            frames = [fr for fr in reader.frames if fr['track'] == track]
            got = stream['packets']
            self.assertEqual([(p['size'], p['md5']) for p in got],
                             [(fr['size'], hashlib.md5(fr['data']).hexdigest()) for fr in frames],
                             '%s track %d: packets' % (name, track))
            if stream['codec_type'] == 'video':
                self.assertEqual([p['key'] for p in got], [fr['keyframe'] for fr in frames],
                                 '%s track %d: keyframes' % (name, track))
            for p, want in zip(got, expected_times(frames)):
                if want is not None:
                    self.assertEqual(p['pts'], want, '%s track %d: pts' % (name, track))
            reordered = [p['pts'] for p in got] != sorted(p['pts'] for p in got)  # B-frames
            for p, q in zip(got, got[1:]):
                if not reordered:
                    self.assertEqual(p['dts'], p['pts'], name)
                # MP4 durations run in decode order, to the next packet's decode time
                self.assertEqual(p['dts'] + p['duration'], q['dts'], '%s track %d: gap or overlap' % (name, track))
            for p in got:
                self.assertLessEqual(p['dts'], p['pts'], '%s track %d: decoded after shown' % (name, track))
            self.assertGreater(got[-1]['duration'], 0, name)

    def test_packets_match_the_input(self):
        for name, src in inputs():
            with self.subTest(input=name):
                out = tmp(name + '.mp4')
                merge(src, out)
                self.check_packets(name, src, out)

    def test_same_times_as_the_matroska_merge(self):
        """MP4 and MKV of one input place every frame at the same time (one timeline rule)."""
        for name, src in inputs():
            with self.subTest(input=name):
                mp4, mkv = tmp(name + '.same.mp4'), tmp(name + '.same.mkv')
                merge(src, mp4)
                merge(src, mkv)
                want = [[(p['pts'], p['md5']) for p in s['packets']] for s in probe_packets(mkv)]
                streams = probe_packets(mp4)
                got = [[(p['pts'], p['md5']) for p in s['packets']] for s in streams]
                self.assertEqual(got, want)
                # the last frame's duration by the same rule: the MKV's Duration (the end of
                # its last frame, checked by the merge test) is where the MP4's tracks end
                ends = [max(p['pts'] + p['duration'] for p in s['packets']) for s in streams]
                info = json.loads(run(['mkvmerge', '-J', mkv]).stdout)
                self.assertEqual(max(ends), Fraction(info['container']['properties']['duration'], 10 ** 9))

    def test_framemd5_equals_the_input(self):
        names = ['h265_track.mkv', 'audio_video.mkv', 'odd_size_642x362.mkv', 'kvs_unknown_size_8byte.mkv',
                 'kvs_bframes.mkv']
        chosen = [(n, os.path.join(RESOURCES, n)) for n in names]
        if CAPTURES and os.path.isdir(CAPTURES):
            chosen += [(n, os.path.join(CAPTURES, n)) for n in
                       ['output_get_media.mkv', 'clusters.mkv', 'bezos_vogels.mkv', 'vogels_330.mkv',
                        'kinesis_video_renderer_example_output.mkv']]
        for name, src in chosen:
            with self.subTest(input=name):
                out = tmp(name + '.md5.mp4')
                merge(src, out)
                want = [h for _, h in framemd5(src)]
                self.assertGreater(len(want), 0)
                self.assertEqual([h for _, h in framemd5(out)], want)

    def test_b_frames(self):
        """B-frames: the packets keep the input's presentation times exactly; their decode times
        (which Matroska does not store) grow strictly, each at or before its presentation time, some
        before it; ffmpeg decodes the same pictures at the same times as from the input."""
        src = os.path.join(RESOURCES, 'kvs_bframes.mkv')
        want = [(p['pts'], p['md5']) for p in probe_packets(src)[0]['packets']]
        self.assertNotEqual([t for t, _ in want], sorted(t for t, _ in want), 'the fixture has B-frames')
        for fmt in ['mp4', 'fmp4']:
            with self.subTest(format=fmt):
                out = tmp('bframes.%s.mp4' % fmt)
                r = merge(src, out, '--format', fmt)
                self.assertIn(b' 0 retimed', r.stderr)
                got = probe_packets(out)[0]['packets']
                dts = [p['dts'] for p in got]
                self.assertEqual(dts, sorted(set(dts)), 'decode times grow strictly')
                self.assertTrue(all(p['dts'] <= p['pts'] for p in got))
                self.assertTrue(any(p['dts'] != p['pts'] for p in got))
                # fragmented MP4 has no edit list here: libavformat moves every time later by
                # the reorder delay (README); a progressive file keeps them as they are
                shift = got[0]['pts'] - want[0][0]
                if fmt == 'mp4':
                    self.assertEqual(shift, 0)
                self.assertEqual([(p['pts'] - shift, p['md5']) for p in got], want)
                pictures = framemd5(src)
                self.assertEqual(len(pictures), 30)
                # (ffmpeg's times count from the file's start: the shift does not show)
                self.assertEqual(framemd5(out), pictures)

    def test_range_same_packets_as_the_matroska_clip(self):
        """--from/--to to MP4 (progressive and fMP4) keeps the packets the Matroska clip of the same
        range keeps (times, keyframes, payload MD5s): BlockGroups cut by time (a plain file's
        times), and B-frames whole GOPs on the producer timeline (fixtures.json's timestamps)."""
        with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
            base = json.load(f)['fixtures']['kvs_bframes.mkv']['fragments'][0]['producer_timestamp_ms']
        cases = [('h264_blockgroups.mkv', 0.65, 1.3, 9), ('h264_blockgroups.mkv', 1.55, 1.95, 5),
                 ('kvs_bframes.mkv', (base + 1200) / 1000, (base + 2950) / 1000, 20)]
        for name, lo, hi, count in cases:
            src = os.path.join(RESOURCES, name)
            mkv = tmp('range.mkv')
            merge(src, mkv, '--from', str(lo), '--to', str(hi))
            want = [(p['pts'], p['key'], p['md5']) for p in probe_packets(mkv)[0]['packets']]
            self.assertEqual(len(want), count)
            for fmt in ['mp4', 'fmp4']:
                with self.subTest(input=name, range=(lo, hi), format=fmt):
                    out = tmp('range.%s.mp4' % fmt)
                    merge(src, out, '--format', fmt, '--from', str(lo), '--to', str(hi))
                    got = probe_packets(out)[0]['packets']
                    shift = got[0]['pts'] - want[0][0]  # fMP4 with B-frames: later (test_b_frames)
                    self.assertEqual([(p['pts'] - shift, p['key'], p['md5']) for p in got], want)

    def test_index_before_media_in_files(self):
        out = tmp('faststart.mp4')
        merge(os.path.join(RESOURCES, 'audio_video.mkv'), out)
        boxes = top_boxes(read(out))
        self.assertEqual(boxes[0], 'ftyp')
        self.assertIn('mdat', boxes)
        self.assertLess(boxes.index('moov'), boxes.index('mdat'), boxes)
        self.assertNotIn('moof', boxes)

    def test_fragmented_to_stdout_and_to_a_file(self):
        src = os.path.join(RESOURCES, 'kvs_unknown_size_8byte.mkv')
        if CAPTURES and os.path.isfile(os.path.join(CAPTURES, 'vogels_330.mkv')):
            src = os.path.join(CAPTURES, 'vogels_330.mkv')
        progressive = tmp('progressive.mp4')
        merge(src, progressive)
        want = [[(p['pts'], p['md5']) for p in s['packets']] for s in probe_packets(progressive)]
        r = run([KVSP, 'merge', src, '--format', 'mp4', '-o', '-'])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        boxes = top_boxes(r.stdout)
        self.assertEqual(boxes[:2], ['ftyp', 'moov'], boxes[:4])
        self.assertIn('moof', boxes)
        got = [[(p['pts'], p['md5']) for p in s['packets']] for s in probe_packets('-', r.stdout)]
        self.assertEqual(got, want, 'fMP4 on stdout, read by ffprobe from a pipe')
        frag = tmp('fragmented.mp4')
        merge(src, frag, '--format', 'fmp4')
        self.assertEqual(read(frag), r.stdout, 'fmp4 to a file is what goes to stdout')
        self.assertFalse(os.path.exists(tmp('-.json')))

    def test_lean_kvsp_runs_kvsp_full(self):
        ldd = run(['ldd', KVSP])
        self.assertEqual(ldd.returncode, 0)
        self.assertNotIn(b'libavformat', ldd.stdout, 'kvsp itself links the core only')
        self.assertIn(b'libavformat', run(['ldd', os.path.join(os.path.dirname(KVSP), 'kvsp-full')]).stdout)

    def test_seeking(self):
        src = os.path.join(RESOURCES, 'kvs_unknown_size_8byte.mkv')
        times = [0.25, 0.6, 1.05]
        if CAPTURES and os.path.isfile(os.path.join(CAPTURES, 'output_get_media.mkv')):
            src = os.path.join(CAPTURES, 'output_get_media.mkv')
            times = [0.5, 2.0, 3.3, 7.9, 9.95]
        out = tmp('seek.mp4')
        merge(src, out)
        pictures = framemd5(out)
        for t in times:
            with self.subTest(seek=t):
                # -ss before -i: demuxer seek to the keyframe before T, frames before T decoded and dropped
                got = framemd5(out, '-ss', '%.3f' % t, frames=1)
                want = [h for pts, h in pictures if pts >= Fraction(str(t))][0]
                self.assertEqual(len(got), 1)
                self.assertEqual(got[0][1], want)

    def test_track_change_starts_a_new_file(self):
        name = 'kvs_resolution_change.mkv'
        with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
            facts = json.load(f)['fixtures'][name]['fragments']
        groups = []  # consecutive fragments of one picture size, from the generator's facts
        for fr in facts:
            if not groups or (groups[-1][0]['width'], groups[-1][0]['height']) != (fr['width'], fr['height']):
                groups.append([])
            groups[-1].append(fr)
        self.assertGreater(len(groups), 1)
        out = tmp('change.mp4')
        merge(os.path.join(RESOURCES, name), out)
        files = [out] + [tmp('change.%d.mp4' % i) for i in range(1, len(groups))]
        self.assertFalse(os.path.exists(tmp('change.%d.mp4' % len(groups))))
        for path, group in zip(files, groups):
            stream = probe_packets(path)[0]
            self.assertEqual((stream['width'], stream['height']), (group[0]['width'], group[0]['height']))
            self.assertEqual(len(stream['packets']), sum(fr['frames_per_track']['1'] for fr in group))
            self.assertEqual(stream['packets'][0]['pts'], 0, 'each file starts at 0')
            with open(path + '.json') as f:
                side = json.load(f)
            self.assertEqual([fr['fragment_number'] for fr in side['fragments']],
                             [fr['fragment_number'] for fr in group])
            self.assertEqual(len(framemd5(path)), len(stream['packets']))
        # on stdout: a new initialization segment in the same stream
        r = run([KVSP, 'merge', os.path.join(RESOURCES, name), '--format', 'mp4', '-o', '-'])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        boxes = top_boxes(r.stdout)
        moovs = [i for i, b in enumerate(boxes) if b == 'moov']
        self.assertEqual(len(moovs), len(groups), boxes)
        self.assertEqual([i for i, b in enumerate(boxes) if b == 'ftyp'], [i - 1 for i in moovs], boxes)
        merge(os.path.join(RESOURCES, name), out, '--on-change', 'stop')
        self.assertEqual(len(probe_packets(out)[0]['packets']), sum(fr['frames_per_track']['1'] for fr in groups[0]))

    def test_sidecar(self):
        for name, src in inputs():
            with self.subTest(input=name):
                out = tmp(name + '.side.mp4')
                merge(src, out)
                with open(out + '.json') as f:
                    side = json.load(f)
                self.assertEqual(side['file'], out)
                self.assertEqual(side['timeline'], 'producer')
                reader = independent_mkv.read_file(src)
                times = expected_times(reader.frames)
                firsts = {}
                for fr, t in zip(reader.frames, times):
                    firsts.setdefault(fr['fragment_index'], (fr, t))
                self.assertEqual([e['index'] for e in side['fragments']], sorted(firsts))
                for e in side['fragments']:
                    fr, t = firsts[e['index']]
                    self.assertEqual(e['fragment_number'], fr['fragment_number'])
                    if fr['producer_timestamp_ms'] is not None:
                        tick = Fraction(fr['scale'], 10 ** 6)
                        offset = (fr['timecode'] - fr['cluster_timecode']) * tick
                        self.assertEqual(e['producer_timestamp_ms'], fr['producer_timestamp_ms'] - offset)
                        self.assertEqual(e['server_timestamp_ms'], fr['server_timestamp_ms'] - offset)
                    if t is not None:
                        self.assertEqual(Fraction(e['pts_ms']), t * 1000)

    def test_no_track_for_mp4(self):
        out = tmp('pcm.mp4')
        r = merge(os.path.join(RESOURCES, 'lacing_fixed.mkv'), out, status=1)
        self.assertIn(b'no track MP4 takes', r.stderr)
        self.assertFalse(os.path.exists(out))


PAGE = """<!doctype html><html><body><video id="v" muted playsinline src="%(video)s"></video>
<script>
// Event-driven, no timers: reports once currentTime has advanced by 0.5 s (or an error) to the
// test's server on 127.0.0.1.
const v = document.getElementById('v');
let start = null, done = false;
function report(state) {
  if (done) return;
  done = true;
  new Image().src = '%(report)s?' + encodeURIComponent(JSON.stringify(state));
}
v.addEventListener('error', () => report({error: v.error ? v.error.code : -1}));
v.addEventListener('loadedmetadata', () => {
  start = v.currentTime;
  v.play().catch(e => report({error: 'play: ' + e}));
});
v.addEventListener('timeupdate', () => {
  if (start === null || v.currentTime < start + 0.5) return;
  report({duration: v.duration, start: start, later: v.currentTime,
          width: v.videoWidth, height: v.videoHeight});
});
</script></body></html>"""


class Browser(unittest.TestCase):
    """Chromium, headless, plays the MP4 in a <video> element (page and file from file://): the
    page reports its duration and that currentTime advances to a server on 127.0.0.1, which the
    test waits for (up to waiting.HANG_S); then Chromium is stopped and the server shut down."""

    def play(self, video):
        page = tmp('page_%s.html' % os.path.basename(video))
        with headless_page.ReportServer() as reports:
            with open(page, 'w') as f:
                f.write(PAGE % {'video': os.path.basename(video), 'report': reports.url})
            reported, err = headless_page.run_page(CHROMIUM, page, TMP, reports)
        self.assertTrue(reported, 'no report from the page in %d s: %s' % (waiting.HANG_S, err))
        state = reports.reports[0]
        self.assertNotIn('error', state, state)
        return state

    def test_plays(self):
        src = os.path.join(RESOURCES, 'kvs_unknown_size_8byte.mkv')
        if CAPTURES and os.path.isfile(os.path.join(CAPTURES, 'output_get_media.mkv')):
            src = os.path.join(CAPTURES, 'output_get_media.mkv')
        for fmt in ['mp4', 'fmp4']:
            with self.subTest(format=fmt):
                out = tmp('browser_%s.mp4' % fmt)
                merge(src, out, '--format', fmt)
                stream = probe_packets(out)[0]
                last = stream['packets'][-1]
                end = float(last['pts'] + last['duration'])
                state = self.play(out)
                self.assertAlmostEqual(state['duration'], end, delta=0.05, msg=state)
                self.assertGreater(state['later'], state['start'], state)
                self.assertEqual((state['width'], state['height']), (stream['width'], stream['height']))

    def test_plays_b_frames(self):
        for fmt in ['mp4', 'fmp4']:
            with self.subTest(format=fmt):
                out = tmp('browser_bframes_%s.mp4' % fmt)
                merge(os.path.join(RESOURCES, 'kvs_bframes.mkv'), out, '--format', fmt)
                stream = probe_packets(out)[0]
                # Chromium's duration: from the first picture shown (fMP4: moved later, README)
                end = float(max(p['pts'] + p['duration'] for p in stream['packets']) -
                            min(p['pts'] for p in stream['packets']))
                state = self.play(out)
                self.assertAlmostEqual(state['duration'], end, delta=0.05, msg=state)
                self.assertGreater(state['later'], state['start'], state)
                self.assertEqual((state['width'], state['height']), (stream['width'], stream['height']))


CHROMIUM = None

if __name__ == '__main__':
    args = sys.argv[1:]
    browser = args[:1] == ['--browser']
    if browser:
        args = args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    KVSP, RESOURCES = os.path.abspath(args[0]), args[1]
    CAPTURES = args[2] if len(args) > 2 else None
    for tool in ['ffprobe', 'ffmpeg']:
        if not shutil.which(tool):
            kvsp_testing.skip('%s not installed' % tool)
    if browser:
        CHROMIUM = shutil.which('chromium')
        if not CHROMIUM:
            kvsp_testing.skip('chromium not installed')
    with tempfile.TemporaryDirectory() as TMP:
        kvsp_testing.main(argv=[sys.argv[0], 'Browser' if browser else 'Mp4'], verbosity=2)
