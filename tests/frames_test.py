#!/usr/bin/env python3
"""kvsp frames (decoding) against FFmpeg: bit-identical pictures at the same
times, sampling, image files and their index (against ffprobe's frames and the
independent reader's producer and server times), and the hard cases (H.265,
resolution change, mid-GOP start, a corrupted frame, odd picture sizes).

usage: frames_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import fractions
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from fractions import Fraction

import independent_mkv
import kvsp_testing

KVSP = RESOURCES = CAPTURES = TMP = None


def run(cmd, data=None):
    return subprocess.run(cmd, input=data, capture_output=True, timeout=600)


def kvsp(*args):
    return run([KVSP, *args])


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def capture(name):
    if not CAPTURES:
        raise unittest.SkipTest('shared captures absent')
    return os.path.join(CAPTURES, name)


def fixture(name):
    path = os.path.join(RESOURCES, name)
    if not os.path.exists(path):
        raise unittest.SkipTest('%s not generated' % name)
    return path


def manifest_all():
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        return json.load(f)['fixtures']


def manifest(name):
    return manifest_all()[name]


def hashes(framemd5_text):
    """(pts in ms, size, md5) per picture, from framemd5 output (ours or
    ffmpeg's): the pts is exact, from the stream's "#tb 0:" time base."""
    base, rows = None, []
    for line in framemd5_text.splitlines():
        if line.startswith(b'#tb 0:'):
            base = fractions.Fraction(line.split(b':')[1].strip().decode())
        elif line and not line.startswith(b'#'):
            rows.append(line.split(b','))
    return [(int(r[2]) * base * 1000, int(r[4]), r[5].strip()) for r in rows]


def ffmpeg_framemd5(path=None, data=None):
    """FFmpeg's decoded pictures with their own timestamps: as demuxed (-copyts, no shift to 0), every
    picture once (-fps_mode passthrough: no duplicates or drops for a constant rate), in the demuxer's
    time base (-enc_time_base -1)."""
    r = run(['ffmpeg', '-v', 'error', '-copyts', '-i', '-' if data is not None else path, '-map', '0:v:0',
             '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'framemd5', '-'], data=data)
    return hashes(r.stdout)


def ffprobe_frames(path, offsets=None):
    """ffprobe's decoded video frames: (pts in ms, exact; keyframe; width, height), in output order.
    A chain with fragment offsets is decoded one fragment at a time (each starts at a keyframe or, in
    kvs_mid_gop.mkv, with P frames ffmpeg drops as kvsp does), as a KVS consumer would fetch them."""
    data = read(path)
    bounds = list(offsets or [0]) + [len(data)]
    frames = []
    for start, end in zip(bounds, bounds[1:]):
        r = run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                 'frame=best_effort_timestamp,key_frame,width,height:stream=time_base', '-of', 'json',
                 '-i', 'pipe:0'], data=data[start:end])
        probed = json.loads(r.stdout)
        if not probed.get('streams'):
            continue  # a fragment without tracks (a KVS error fragment)
        base = fractions.Fraction(probed['streams'][0]['time_base'])
        frames += [(f['best_effort_timestamp'] * base * 1000, bool(f['key_frame']), f['width'], f['height'])
                   for f in probed['frames']]
    return frames


def our_framemd5(path, *options, status=0):
    r = kvsp('frames', '--framemd5', *options, path)
    if r.returncode != status:
        raise AssertionError('kvsp frames --framemd5 %s: exit %d: %s' % (path, r.returncode, r.stderr.decode()))
    return hashes(r.stdout), r.stderr.decode()


def extract(path, name, *options):
    out = os.path.join(TMP, name)
    r = kvsp('frames', path, '-o', out, *options)
    if r.returncode != 0:
        raise AssertionError('kvsp frames -o: exit %d: %s' % (r.returncode, r.stderr.decode()))
    with open(os.path.join(out, 'index.jsonl')) as f:
        return out, [json.loads(line) for line in f]


def check_index(test, path, index, probed, sized=True):
    """index.jsonl against ffprobe's frames (probed: the ones the index should hold, in order): exact pts
    in ms, keyframe, picture size (sized: not resized by --size); and each picture's fragment, producer
    and server times against the independent reader's frame of that fragment, track and pts."""
    frames = {}
    for f in independent_mkv.read_file(path).frames:
        frames.setdefault((f['track'], f['fragment_index'], f['pts_ms']), []).append(f)
    test.assertEqual(len(index), len(probed))
    for k, (p, (pts, key, width, height)) in enumerate(zip(index, probed)):
        where = '%s picture %d' % (os.path.basename(path), k)
        test.assertEqual(fractions.Fraction(p['pts_ms']), pts, where)
        test.assertEqual(p['keyframe'], key, where)
        if sized:
            test.assertEqual((p['width'], p['height']), (width, height), where)
        (frame,) = frames[p['track'], p['fragment_index'], pts]
        test.assertEqual(p['fragment_number'], frame['fragment_number'], where)
        for key in ('producer_timestamp_ms', 'server_timestamp_ms'):
            test.assertTrue(independent_mkv.same_time(p[key], frame[key]),
                            '%s %s: kvsp %r, expected %s' % (where, key, p[key], frame[key]))


def image_size(path):
    r = run(['ffprobe', '-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path])
    return tuple(int(x) for x in r.stdout.decode().strip().split(','))


def ffprobe_pictures(path):
    """(pts in ms, keyframe) of each picture FFmpeg decodes, in output order."""
    r = run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
             'frame=best_effort_timestamp_time,key_frame,pict_type', '-of', 'json', path])
    frames = json.loads(r.stdout)['frames']
    return [(round(Decimal(f['best_effort_timestamp_time']) * 1000), f['key_frame'] == 1) for f in frames], \
        ''.join(f.get('pict_type', '?') for f in frames)


def our_pts(path, *options):
    """pts in ms of each picture of kvsp frames --framemd5, from its own time base."""
    r = kvsp('frames', '--framemd5', *options, path)
    if r.returncode != 0:
        raise AssertionError('kvsp frames --framemd5 %s: exit %d: %s' % (path, r.returncode, r.stderr.decode()))
    lines = r.stdout.decode().splitlines()
    tb = next(l.split(':')[1].strip() for l in lines if l.startswith('#tb 0:'))
    num, den = (int(x) for x in tb.split('/'))
    return [Fraction(int(l.split(',')[2]) * num * 1000, den) for l in lines if l and not l.startswith('#')]


class FrameListCase(unittest.TestCase):
    """Lists of a thousand frames and more compare with a message naming the
    first difference: unittest's own (a difflib diff of the whole lists)
    took minutes, so a wrong picture looked like a hung test."""

    def setUp(self):
        self.addTypeEqualityFunc(list, self.assert_same_list)

    def assert_same_list(self, first, second, msg=None):
        if first == second:
            return
        at = next((i for i, (a, b) in enumerate(zip(first, second)) if a != b), min(len(first), len(second)))
        self.fail(self._formatMessage(msg, 'lists differ first at index %d (lengths %d, %d): %r != %r' % (
            at, len(first), len(second), first[at] if at < len(first) else '(end)',
            second[at] if at < len(second) else '(end)')))


class BitIdentical(FrameListCase):
    """Same pictures as FFmpeg at the same times (in ms), frame for frame."""

    def test_captures(self):
        for name in ('output_get_media.mkv', 'kinesis_video_renderer_example_output.mkv', 'vogels_330.mkv'):
            with self.subTest(capture=name):
                ours, _ = our_framemd5(capture(name))
                theirs = ffmpeg_framemd5(capture(name))
                self.assertEqual(len(ours), len(theirs))
                self.assertEqual(ours, theirs)

    def test_h265_and_odd_size(self):
        for name in ('h265_track.mkv', 'odd_size_642x362.mkv'):
            with self.subTest(fixture=name):
                ours, _ = our_framemd5(fixture(name))
                self.assertGreater(len(ours), 0)
                self.assertEqual(ours, ffmpeg_framemd5(fixture(name)))
        _, index = extract(fixture('odd_size_642x362.mkv'), 'odd')
        self.assertEqual({(p['width'], p['height']) for p in index}, {(642, 362)})

    def test_threads_do_not_change_pictures(self):
        path = fixture('kvs_user_tags.mkv')
        one, _ = our_framemd5(path, '--threads', '1')
        self.assertEqual(one, our_framemd5(path, '--threads', '4')[0])


class Sampling(FrameListCase):
    def test_counts(self):
        path = capture('output_get_media.mkv')
        out, index = extract(path, 'key', '--keyframes')
        self.assertEqual(len(index), 5)
        self.assertTrue(all(p['keyframe'] for p in index))
        _, stats = our_framemd5(path, '--keyframes')
        self.assertIn('5 decoded', stats)  # the other frames are not decoded at all
        self.assertEqual(len(extract(path, 'every', '--every', '10', '--format', 'ppm')[1]), 30)
        _, per_second = extract(path, 'interval', '--interval-ms', '1000', '--format', 'ppm')
        self.assertEqual([p['pts_ms'] for p in per_second], [1000 * k for k in range(10)])

    def test_interval_decodes_only_needed_frames(self):
        # --interval-ms holds the frames after a kept picture undecoded and drops them at the next IDR:
        # the kept pictures are still FFmpeg's pictures at the sampler's times, and with one thread
        # exactly the frames from the IDR before each kept picture up to it are decoded (every
        # keyframe of these captures is an IDR).
        for name, interval in (('output_get_media.mkv', 1000), ('kinesis_video_renderer_example_output.mkv', 1000),
                               ('output_get_media.mkv', 1500), ('vogels_330.mkv', 700)):
            with self.subTest(capture=name, interval=interval):
                path = capture(name)
                frames, _ = ffprobe_pictures(path)
                picks, next_ms = [], None
                for i, (pts, _) in enumerate(frames):
                    if next_ms is None or pts >= next_ms:
                        picks.append(i)
                        next_ms = pts + interval if next_ms is None else next_ms
                        while next_ms <= pts:
                            next_ms += interval
                needed = set()
                for i in picks:
                    start = max(k for k in range(i + 1) if frames[k][1])
                    needed.update(range(start, i + 1))
                ours, stats = our_framemd5(path, '--interval-ms', str(interval), '--threads', '1')
                theirs = ffmpeg_framemd5(path)
                self.assertEqual(len(theirs), len(frames))
                self.assertEqual(ours, [theirs[i] for i in picks])
                self.assertIn('%d decoded, %d kept' % (len(needed), len(picks)), stats)

    def test_interval_open_gop(self):
        # Open GOPs (encoded here): the I pictures after the first are flagged keyframes but are not
        # IDRs, and the B pictures after them in decoding order reference the GOP before. Held frames
        # are dropped at IDRs only, so the kept pictures are still FFmpeg's (treating every keyframe
        # as an IDR changed them at 280, 400 and 440 ms).
        path = os.path.join(TMP, 'open_gop.mkv')
        r = run(['ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=25', '-frames:v', '60',
                 '-c:v', 'libx264', '-preset', 'fast', '-bf', '3', '-x264-params',
                 'open_gop=1:keyint=12:min-keyint=12:scenecut=0', '-threads', '1', '-f', 'matroska', path])
        self.assertEqual(r.returncode, 0, r.stderr)
        frames, types = ffprobe_pictures(path)
        self.assertGreater(sum(1 for _, key in frames if key), 1)
        self.assertIn('B', types)
        theirs = ffmpeg_framemd5(path)
        self.assertEqual(len(theirs), len(frames))
        for interval in (280, 400, 440):
            with self.subTest(interval=interval):
                picks, next_ms = [], None
                for i, (pts, _) in enumerate(frames):
                    if next_ms is None or pts >= next_ms:
                        picks.append(i)
                        next_ms = pts + interval if next_ms is None else next_ms
                        while next_ms <= pts:
                            next_ms += interval
                ours, _ = our_framemd5(path, '--interval-ms', str(interval), '--threads', '1')
                self.assertEqual(ours, [theirs[i] for i in picks])

    def test_window_decodes_only_needed_frames(self):
        # --from/--to: frames outside the window are held undecoded too and dropped at the next IDR;
        # the pictures are FFmpeg's for the frames whose producer time (the independent reader's) is
        # in the window, and exactly the frames from the IDR before the first of them are decoded.
        path = capture('output_get_media.mkv')
        video = [f for f in independent_mkv.read_file(path).frames if f['track'] == 1]
        theirs = ffmpeg_framemd5(path)
        self.assertEqual(len(video), len(theirs))
        first = video[0]['producer_timestamp_ms']
        self.assertEqual(Fraction(first).denominator, 1)
        for lo, hi in ((1500, 4300), (2500, 2600), (5000, 99999)):
            with self.subTest(window=(lo, hi)):
                inside = [i for i, f in enumerate(video) if first + lo <= f['producer_timestamp_ms'] <= first + hi]
                start = max(k for k in range(inside[0] + 1) if video[k]['keyframe'])
                seconds = [str(Decimal(int(first + t)) / 1000) for t in (lo, hi)]  # whole ms
                ours, stats = our_framemd5(path, '--threads', '1', '--from', seconds[0], '--to', seconds[1])
                self.assertEqual(ours, [theirs[i] for i in inside])
                self.assertIn('%d decoded, %d kept' % (inside[-1] + 1 - start, len(inside)), stats)

    def test_index_and_images(self):
        path = capture('output_get_media.mkv')
        out, index = extract(path, 'png', '--every', '60')
        self.assertEqual(len(index), 5)
        check_index(self, path, index, ffprobe_frames(path)[::60])
        for p in index:
            self.assertEqual((p['width'], p['height']), (640, 360))
            self.assertEqual(image_size(os.path.join(out, p['file'])), (640, 360))
        out, index = extract(path, 'jpeg', '--keyframes', '--format', 'jpeg', '--size', '320x')
        self.assertEqual(image_size(os.path.join(out, index[0]['file'])), (320, 180))
        out, index = extract(path, 'gray', '--keyframes', '--format', 'raw', '--pix-fmt', 'gray', '--size', 'x90')
        self.assertEqual(os.path.getsize(os.path.join(out, index[0]['file'])), 160 * 90)
        # A picture matches ffmpeg's own conversion of the same frame closely.
        ppm_dir, ppm = extract(path, 'ppm', '--keyframes', '--format', 'ppm')
        ours = read(os.path.join(ppm_dir, ppm[0]['file']))
        theirs = run(['ffmpeg', '-v', 'error', '-i', path, '-frames:v', '1', '-f', 'image2pipe',
                      '-vcodec', 'ppm', '-']).stdout
        self.assertEqual(len(ours), len(theirs))
        diff = sum(abs(a - b) for a, b in zip(ours[20:], theirs[20:])) / len(ours)
        self.assertLess(diff, 2.0)


class IndexAgainstFfprobe(FrameListCase):
    """Every picture of index.jsonl, every decodable fixture and capture, against ffprobe's decoded frames
    and the independent reader's times."""

    # kvs_corrupt_frame.mkv: ffmpeg conceals the corrupted frame, kvsp skips it (HardCases).
    NOT_COMPARED = {'kvs_corrupt_frame.mkv'}

    def test_fixtures(self):
        checked = 0
        for name, facts in sorted(manifest_all().items()):
            if name in self.NOT_COMPARED or not any(c.startswith('V_') for c in facts['codec_ids'].values()):
                continue
            with self.subTest(fixture=name):
                path = fixture(name)
                _, index = extract(path, 'all-' + name, '--format', 'ppm')
                check_index(self, path, index, ffprobe_frames(path, facts.get('fragment_offsets')))
                checked += 1
        self.assertGreaterEqual(checked, 10)

    def test_captures(self):
        for name in ('output_get_media.mkv', 'output_get_media_sparse_fragments.mkv',
                     'kinesis_video_renderer_example_output.mkv', 'clusters.mkv', 'bezos_vogels.mkv',
                     'vogels_330.mkv'):
            with self.subTest(capture=name):
                path = capture(name)
                _, index = extract(path, 'all-' + name, '--format', 'raw', '--pix-fmt', 'gray', '--size', '32x32')
                check_index(self, path, index, ffprobe_frames(path), sized=False)


class HardCases(FrameListCase):
    def test_resolution_change(self):
        path = fixture('kvs_resolution_change.mkv')
        facts = manifest('kvs_resolution_change.mkv')
        ours, stats = our_framemd5(path)
        self.assertIn('1 decoder reopen', stats)
        data = read(path)
        half = facts['fragment_offsets'][2]
        self.assertEqual(ours, ffmpeg_framemd5(data=data[:half]) + ffmpeg_framemd5(data=data[half:]))
        _, index = extract(path, 'res', '--format', 'ppm')
        sizes = [(f['width'], f['height']) for f in facts['fragments']]
        self.assertEqual([(p['width'], p['height']) for p in index],
                         [sizes[0]] * 20 + [sizes[2]] * 20)

    def test_mid_gop_start(self):
        path = fixture('kvs_mid_gop.mkv')
        facts = manifest('kvs_mid_gop.mkv')
        skip = facts['frames_before_first_keyframe']
        total = sum(facts['frames_per_track'].values())
        ours, stats = our_framemd5(path)
        self.assertEqual(len(ours), total - skip)
        self.assertIn('%d skipped before a keyframe' % skip, stats)
        # FFmpeg cannot decode the leading P frames either: the same pictures from the keyframe on,
        # at the same times.
        self.assertEqual(ours, ffmpeg_framemd5(path))
        _, index = extract(path, 'midgop', '--format', 'ppm')
        self.assertTrue(index[0]['keyframe'])

    def test_corrupt_frame(self):
        path = fixture('kvs_corrupt_frame.mkv')
        total = sum(manifest('kvs_corrupt_frame.mkv')['frames_per_track'].values())
        ours, stats = our_framemd5(path)  # exit 0: never fatal
        self.assertGreaterEqual(len(ours), total - 10)
        self.assertLessEqual(len(ours), total)
        # Frames before the corrupted one are exactly FFmpeg's.
        bad = manifest('kvs_corrupt_frame.mkv')['corrupted_frame_index']
        self.assertEqual(ours[:bad], ffmpeg_framemd5(path)[:bad])


class Timestamps(FrameListCase):
    """Each picture's pts (and keyframe flag) is that of the frame it was
    decoded from, as FFmpeg says: --framemd5 with one decoder thread, the
    index of -o with four (frame threads deliver a picture three packets
    later), with and without B-frames (pictures come out in another order
    than their packets)."""

    def check(self, path, skip_pictures=()):
        theirs, _ = ffprobe_pictures(path)
        theirs = [p for i, p in enumerate(theirs) if i not in skip_pictures]
        self.assertGreater(len(theirs), 4)
        self.assertEqual(our_pts(path, '--threads', '1'), [pts for pts, _ in theirs])
        name = 'ts-%s' % os.path.basename(path)
        _, index = extract(path, name, '--threads', '4', '--format', 'raw', '--pix-fmt', 'gray', '--size', '16x')
        self.assertEqual([(p['pts_ms'], p['keyframe']) for p in index], theirs)
        self.assertEqual([p['fragment_index'] for p in index], sorted(p['fragment_index'] for p in index))
        shutil.rmtree(os.path.join(TMP, name))

    def test_fixtures(self):
        for name in ('kvs_user_tags.mkv', 'kvs_resolution_change.mkv', 'kvs_mid_gop.mkv', 'kvs_restart_at_zero.mkv',
                     'h264_blockgroups.mkv', 'h265_track.mkv', 'audio_video.mkv', 'kvs_unknown_size_1byte.mkv'):
            with self.subTest(fixture=name):
                self.check(fixture(name))

    def test_corrupt_frame(self):
        # The one picture FFmpeg marks corrupt is left out; the rest keep their times.
        bad = manifest('kvs_corrupt_frame.mkv')['corrupted_frame_index']
        self.check(fixture('kvs_corrupt_frame.mkv'), skip_pictures={bad})

    def test_captures(self):
        for name in ('output_get_media.mkv', 'kinesis_video_renderer_example_output.mkv', 'vogels_330.mkv'):
            with self.subTest(capture=name):
                self.check(capture(name))

    def test_raw_to_stdout(self):
        # -o - --format raw: the packed pictures one after the other. In gray at the native
        # size they are ffmpeg's own rawvideo output byte for byte; in scaled RGB, the bytes
        # of the files -o DIR writes, in order, as many as ffmpeg decodes pictures.
        path = capture('output_get_media.mkv')
        r = kvsp('frames', '-o', '-', '--format', 'raw', '--pix-fmt', 'gray', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        theirs = run(['ffmpeg', '-nostdin', '-v', 'error', '-i', path, '-map', '0:v', '-fps_mode', 'passthrough',
                      '-pix_fmt', 'gray', '-f', 'rawvideo', '-'])
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        self.assertEqual(len(r.stdout), len(theirs.stdout))
        self.assertTrue(r.stdout == theirs.stdout, 'gray pictures differ from ffmpeg rawvideo')
        r = kvsp('frames', '-o', '-', '--format', 'raw', '--pix-fmt', 'rgb24', '--size', '64x48', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        out, index = extract(path, 'rgb-files', '--format', 'raw', '--pix-fmt', 'rgb24', '--size', '64x48')
        files = b''.join(read(os.path.join(out, p['file'])) for p in index)
        self.assertEqual(len(index), len(ffprobe_pictures(path)[0]))
        self.assertEqual(len(r.stdout), len(index) * 64 * 48 * 3)
        self.assertTrue(r.stdout == files, 'stdout differs from the files of -o DIR')
        r = kvsp('frames', '-o', '-', '--format', 'png', path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'takes --format raw', r.stderr)

    def test_b_frames(self):
        # Encoded here (no fixture has B-frames): I, B, P in three GOPs.
        path = os.path.join(TMP, 'b_frames.mkv')
        r = run(['ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x96:rate=25',
                 '-frames:v', '36', '-c:v', 'libx264', '-preset', 'fast', '-bf', '3', '-b_strategy', '0',
                 '-g', '12', '-threads', '1', '-f', 'matroska', path])
        self.assertEqual(r.returncode, 0, r.stderr)
        _, types = ffprobe_pictures(path)
        self.assertIn('B', types)
        self.check(path)
        self.assertEqual(our_pts(path, '--threads', '4'), [pts for pts, _ in ffprobe_pictures(path)[0]])
        self.assertEqual(our_framemd5(path, '--threads', '4')[0], ffmpeg_framemd5(path))


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    TMP = tempfile.mkdtemp(prefix='kvsp-frames-')
    try:
        program = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(kvsp_testing.status(program.result))
