#!/usr/bin/env python3
"""kvsp fragments and kvsp frames --list against independent facts.

- Project fixtures: every fragment field against what the generator wrote
  (fixtures.json, field "fragments").
- Shared captures: the facts of their README (and mkvinfo where the README
  is wrong), exit status and error offset of the truncated capture.
- Every capture and fixture: the frames (per track: count, sizes, keyframe
  flags, presentation times) against ffprobe's packets.
- Split invariance: every JSON line identical for every chunk size.

usage: visitors_cli_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import unittest

import ffprobe_packets
import kvsp_testing

KVSP = RESOURCES = CAPTURES = None


def run(*args):
    return subprocess.run([KVSP, *args], capture_output=True, timeout=300)


def lines(*args, status=0):
    r = run(*args)
    if r.returncode != status:
        raise AssertionError('kvsp %s: exit %d, stderr %s' % (' '.join(args), r.returncode, r.stderr))
    return [json.loads(line) for line in r.stdout.splitlines()]


def manifest():
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        return json.load(f)['fixtures']


def capture(name):
    if not CAPTURES:
        raise unittest.SkipTest('shared captures absent')
    return os.path.join(CAPTURES, name)


def all_inputs():
    files = [os.path.join(RESOURCES, n) for n in sorted(manifest())]
    if CAPTURES:
        files += [os.path.join(CAPTURES, n) for n in sorted(os.listdir(CAPTURES)) if n.endswith('.mkv')]
    else:
        kvsp_testing.skipped_part('shared captures absent: fixtures only')
    return files


class FixtureFragments(unittest.TestCase):
    """Every KVS fixture's fragments against the generator's own record."""

    def test_fragment_fields(self):
        checked = 0
        for name, facts in manifest().items():
            if 'fragments' not in facts:
                continue
            with self.subTest(fixture=name):
                got = lines('fragments', os.path.join(RESOURCES, name))
                want = facts['fragments']
                self.assertEqual(len(got), len(want))
                for i, (g, w) in enumerate(zip(got, want)):
                    self.assertEqual(g['index'], i)
                    for key in ('fragment_number', 'server_timestamp_ms', 'producer_timestamp_ms',
                                'millis_behind_now', 'continuation_token', 'error_id', 'error_code',
                                'error_message', 'timecode_scale', 'frames_per_track', 'first_pts_ms',
                                'last_pts_ms'):
                        self.assertEqual(g[key], w[key], '%s fragment %d %s' % (name, i, key))
                    self.assertEqual(g['cluster_timecode'], w['cluster_timecode'] if w['has_cluster'] else None)
                    self.assertEqual(g['frames'], sum(w['frames_per_track'].values()))
                    self.assertTrue(g['complete'])
                    tags = [{'name': t['name'], 'value': t['value'], 'binary_hex': t['binary'],
                             'depth': t['depth']} for t in g['tags']]
                    self.assertEqual(tags, w['user_tags'])
                checked += 1
        self.assertGreaterEqual(checked, 5)

    def test_tracks(self):
        for name, facts in manifest().items():
            if 'fragments' not in facts:
                continue
            with self.subTest(fixture=name):
                got = lines('fragments', os.path.join(RESOURCES, name))
                for g in got:
                    by_number = {str(t['number']): t for t in g['tracks']}
                    for number, track in facts.get('tracks', {}).items():
                        if not g['tracks']:
                            continue
                        self.assertIn(number, by_number)
                        t = by_number[number]
                        self.assertEqual(t['codec_id'], facts['codec_ids'][number])
                        if 'rate' in track:
                            self.assertEqual(t['sampling_frequency'], track['rate'])


class CaptureFacts(unittest.TestCase):
    """The facts listed in the captures' README."""

    def test_output_get_media(self):
        got = lines('fragments', capture('output_get_media.mkv'))
        self.assertEqual(len(got), 5)
        self.assertEqual(sum(f['frames'] for f in got), 300)
        self.assertEqual([f['cluster_timecode'] for f in got], [0, 2000, 4000, 6000, 8000])
        self.assertEqual([f['continuation_token'] for f in got[:3]], [
            '91343852333181432392682062607743920146159169392',
            '91343852333181432397633822764885441725874549018',
            '91343852333181432402585582922026963247510532162'])
        for f in got:
            self.assertEqual(f['continuation_token'], f['fragment_number'])
            self.assertEqual(len(f['fragment_number']), 47)
            self.assertTrue(f['complete'])
            self.assertEqual(f['frames_per_track'], {'1': 60})
            self.assertEqual(f['tracks'][0]['width'], 640)
            self.assertEqual(f['tracks'][0]['height'], 360)
        self.assertEqual(got[0]['server_timestamp_ms'], 1511852109126)
        self.assertEqual(got[0]['producer_timestamp_ms'], 1511852108513)
        self.assertEqual(got[0]['millis_behind_now'], 15858)
        self.assertEqual(got[-1]['fragment_number'], '91343852333181432412489103236310005892133364608')
        frames = lines('frames', '--list', capture('output_get_media.mkv'))
        self.assertEqual(len(frames), 300)
        self.assertEqual(sum(f['keyframe'] for f in frames), 5)
        first = frames[0]
        self.assertEqual((first['producer_timestamp_ms'], first['server_timestamp_ms']),
                         (1511852108513, 1511852109126))
        self.assertEqual(frames[1]['producer_timestamp_ms'], 1511852108513 + 33)

    def test_sparse(self):
        got = lines('fragments', capture('output_get_media_sparse_fragments.mkv'))
        self.assertEqual([f['cluster_timecode'] for f in got], [0, 4000, 8000])
        self.assertEqual(sum(f['frames'] for f in got), 180)

    def test_truncated(self):
        path = capture('output-get-media-equal-timecode.mkv')
        r = run('fragments', path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'ERR_TRUNCATED at offset 1272988', r.stderr)
        got = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(got), 2)
        self.assertEqual([f['cluster_timecode'] for f in got], [0, 0])
        self.assertEqual([f['complete'] for f in got], [True, False])
        self.assertEqual(sum(f['frames'] for f in got), 239)
        # The README's first fragment number and millis-behind-now do not occur in
        # the file; these are mkvinfo's.
        self.assertEqual(got[0]['fragment_number'], '91343852338381417542203754135250098963782391502')
        self.assertEqual(got[0]['millis_behind_now'], 909335)
        self.assertIsNone(got[1]['continuation_token'])
        self.assertEqual(got[1]['end_offset'], 1272988)
        r = run('frames', '--list', path)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'offset 1272988', r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 239)

    def test_renderer_example_and_upload(self):
        got = lines('fragments', capture('kinesis_video_renderer_example_output.mkv'))
        self.assertEqual([f['frames'] for f in got], [59] * 7 + [31])
        self.assertTrue(all(f['complete'] for f in got))  # every fragment has both Tags
        self.assertEqual([t['width'] for t in got[0]['tracks']], [640])
        upload = lines('fragments', capture('clusters.mkv'))
        self.assertEqual(len(upload), 1)
        self.assertIsNone(upload[0]['fragment_number'])
        self.assertTrue(upload[0]['complete'])
        self.assertEqual(upload[0]['frames'], 444)
        bezos = lines('fragments', capture('bezos_vogels.mkv'))
        self.assertEqual(bezos[0]['frames'], 546)
        self.assertEqual((bezos[0]['tracks'][0]['width'], bezos[0]['tracks'][0]['height']), (1280, 720))

    def test_vogels_audio(self):
        got = lines('fragments', capture('vogels_330.mkv'))
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]['frames_per_track'], {'1': 909, '2': 1425})
        audio = [t for t in got[0]['tracks'] if t['type'] == 'audio']
        self.assertEqual(len(audio), 1)
        self.assertEqual((audio[0]['number'], audio[0]['codec_id'], audio[0]['sampling_frequency'],
                          audio[0]['channels']), (2, 'A_AAC', 48000, 2))
        video = lines('frames', '--list', '--type', 'video', capture('vogels_330.mkv'))
        self.assertEqual(len(video), 909)
        self.assertEqual({f['track'] for f in video}, {1})
        audio_frames = lines('frames', '--list', '--track', '2', capture('vogels_330.mkv'))
        self.assertEqual(len(audio_frames), 1425)


class AgainstFfprobe(unittest.TestCase):
    """Frames per track against ffprobe's packets: count, size, keyframe and,
    for the first frame of each block, presentation time (ffmpeg spreads a
    lace's frames over time, we give them their block's time)."""

    def test_frames_match_ffprobe(self):
        for path in all_inputs():
            with self.subTest(input=os.path.basename(path)):
                r = run('frames', '--list', path)
                frames = [json.loads(line) for line in r.stdout.splitlines()]
                first = lines('fragments', path, status=r.returncode)[0]
                order = [t['number'] for t in first['tracks']]
                offsets = manifest().get(os.path.basename(path), {}).get('fragment_offsets')
                if not path.startswith(RESOURCES):
                    offsets = None
                packets = ffprobe_packets.packets(path, offsets)
                self.assertEqual(len(packets), len(order))
                for index, number in enumerate(order):
                    ours = [f for f in frames if f['track'] == number]
                    theirs = packets[index]
                    self.assertEqual(len(ours), len(theirs), 'track %d' % number)
                    self.assertEqual([f['size'] for f in ours], [p[1] for p in theirs])
                    self.assertEqual([f['keyframe'] for f in ours], [p[2] for p in theirs])
                    for f, p in zip(ours, theirs):
                        if f['lace_index'] == 0:
                            self.assertAlmostEqual(f['pts_ms'], p[0], delta=0.001)


class SplitInvariance(unittest.TestCase):
    """Both commands print identical lines for every chunk size."""

    def check(self, path, sizes):
        # Runs in parallel: thousands of short processes.
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for command in (['fragments'], ['frames', '--list']):
                ref = run(*command, path)
                runs = pool.map(lambda size: (size, run(*command, '--chunk-size', str(size), path)), sizes)
                for size, got in runs:
                    self.assertEqual(got.returncode, ref.returncode)
                    self.assertEqual(got.stdout, ref.stdout, '%s %s chunk %d' % (command, path, size))

    def test_fixtures_every_size(self):
        for name in sorted(manifest()):
            with self.subTest(fixture=name):
                self.check(os.path.join(RESOURCES, name), list(range(1, 65)) + [1000, 4096])

    def test_captures(self):
        if not CAPTURES:
            self.skipTest('shared captures absent')
        for path in all_inputs():
            if path.startswith(CAPTURES):
                with self.subTest(capture=os.path.basename(path)):
                    self.check(path, [2, 3, 13, 61, 4095, 65536])  # 1-64 in test_visitor_split


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    kvsp_testing.main(argv=sys.argv[:1], verbosity=2)
