#!/usr/bin/env python3
"""kvsp merge checked with independent tools: mkvmerge, mkvinfo, ffprobe, ffmpeg.

usage: merge_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import kvsp_testing

KVSP = RESOURCES = CAPTURES = None
TMP = None


def run(cmd, data=None, timeout=300):
    return subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def kvsp(*args, data=None):
    return run([KVSP, *args], data=data)


def merge(inputs, out, *options, status=0):
    r = kvsp('merge', *inputs, '-o', out, *options)
    if r.returncode != status:
        raise AssertionError('kvsp merge %s: exit %d: %s' % (inputs, r.returncode, r.stderr.decode()))
    return r.stderr.decode()


def capture(name):
    if not CAPTURES:
        raise unittest.SkipTest('shared captures absent')
    return os.path.join(CAPTURES, name)


def fixture(name):
    return os.path.join(RESOURCES, name)


def tmp(name):
    return os.path.join(TMP, name)


def manifest(name):
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        return json.load(f)['fixtures'][name]


def packets(path):
    out = run(['ffprobe', '-v', 'error', '-show_entries', 'packet=pts_time,size,flags', '-of', 'json', path]).stdout
    return [(float(p['pts_time']), int(p['size']), 'K' in p['flags']) for p in json.loads(out)['packets']]


def probe(path):
    out = run(['ffprobe', '-v', 'error', '-show_entries', 'format=duration:stream=width,height,codec_type',
               '-of', 'json', path]).stdout
    return json.loads(out)


def frame_hashes(path, data=None):
    """The decoded pictures' MD5s, without their timestamps."""
    src = '-' if data is not None else path
    r = run(['ffmpeg', '-v', 'error', '-i', src, '-map', '0:v:0', '-f', 'framemd5', '-'], data=data)
    return [line.split(b',')[-1].strip() for line in r.stdout.splitlines() if not line.startswith(b'#')]


def elements(path, name):
    r = kvsp('inspect', '--json', path)
    return [e for e in map(json.loads, r.stdout.splitlines()) if e.get('name') == name and e['event'] != 'end']


class Checks(unittest.TestCase):
    def assert_playable(self, path, frames, duration=None, frame_ms=None):
        """What every merged file must pass."""
        ident = run(['mkvmerge', '--identify', path])
        self.assertEqual(ident.returncode, 0, ident.stdout + ident.stderr)
        info = run(['mkvinfo', path])
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertNotIn(b'rror', info.stdout + info.stderr)
        self.assertEqual(len(packets(path)), frames)
        if duration is not None:
            self.assertAlmostEqual(float(probe(path)['format']['duration']), duration, delta=frame_ms / 1000)
        self.assertGreater(len(elements(path, 'CuePoint')), 0)
        seek = run(['ffmpeg', '-v', 'error', '-ss', str(duration / 2 if duration else 0), '-i', path,
                    '-frames:v', '1', '-f', 'null', '-'])
        self.assertEqual(seek.returncode, 0, seek.stderr)
        self.assertEqual(seek.stderr, b'')


class GetMedia(Checks):
    def test_output_get_media(self):
        out = tmp('ogm.mkv')
        summary = merge([capture('output_get_media.mkv')], out)
        self.assertIn('5 fragments', summary)
        self.assert_playable(out, 300, duration=10.0, frame_ms=1000 / 30)
        self.assertEqual(len(elements(out, 'CuePoint')), 5)  # one per keyframe
        self.assertEqual(len(elements(out, 'EBML')), 1)
        self.assertEqual(len(elements(out, 'Segment')), 1)
        self.assertEqual(frame_hashes(out), frame_hashes(capture('output_get_media.mkv')))
        # Each fragment's number and timestamps are kept as Tags...
        numbers = [e['value'] for e in elements(out, 'TagString') if len(e['value']) == 47]
        truth = [f['fragment_number'] for f in map(json.loads, kvsp('fragments', capture('output_get_media.mkv')).stdout.splitlines())]
        self.assertEqual(numbers, truth)
        # ... unless dropped; stale SeekHead/Cues/CRC-32 of the input are never copied.
        bare = tmp('ogm_bare.mkv')
        merge([capture('output_get_media.mkv')], bare, '--no-kvs-tags')
        self.assertEqual(elements(bare, 'Tags'), [])
        self.assertEqual(elements(bare, 'CRC-32'), [])
        self.assertEqual(len(elements(bare, 'SeekHead')), 1)
        self.assertEqual(len(elements(bare, 'Cues')), 1)

    def test_sparse_gaps(self):
        src = capture('output_get_media_sparse_fragments.mkv')
        kept, packed = tmp('sparse.mkv'), tmp('sparse_pack.mkv')
        self.assertIn('2 gap(s)', merge([src], kept))
        merge([src], packed, '--timeline', 'pack')
        keys = lambda path: [round(p[0], 3) for p in packets(path) if p[2]]
        self.assertEqual(keys(kept), [0.0, 4.0, 8.0])
        self.assertEqual(keys(packed), [0.0, 2.0, 4.0])
        self.assert_playable(kept, 180, duration=10.0, frame_ms=1000 / 30)
        self.assert_playable(packed, 180, duration=6.0, frame_ms=1000 / 30)
        original = tmp('sparse_original.mkv')
        merge([src], original, '--timeline', 'original')
        self.assertEqual(keys(original), [0.0, 4.0, 8.0])

    def test_pipe_output(self):
        r = kvsp('merge', capture('output_get_media.mkv'), '-o', '-')
        self.assertEqual(r.returncode, 0)
        path = tmp('pipe.mkv')
        write(path, r.stdout)
        self.assertEqual(len(packets(path)), 300)
        self.assertEqual(elements(path, 'Cues'), [])
        segment = elements(path, 'Segment')
        self.assertEqual(len(segment), 1)
        self.assertIsNone(segment[0]['size'])  # live-style: unknown size
        self.assertTrue(all(c['size'] is None for c in elements(path, 'Cluster')))
        self.assertEqual(frame_hashes(path), frame_hashes(capture('output_get_media.mkv')))

    def test_several_inputs_and_truncated_input(self):
        src = capture('output_get_media.mkv')
        offsets = [f['offset'] for f in map(json.loads, kvsp('fragments', src).stdout.splitlines())]
        data = read(src)
        cut = offsets[2] - 47  # at the third fragment's EBML header
        parts = [tmp('part1.mkv'), tmp('part2.mkv')]
        write(parts[0], data[:cut])
        write(parts[1], data[cut:])
        whole, split = tmp('whole.mkv'), tmp('split.mkv')
        merge([src], whole)
        merge(parts, split)
        self.assertEqual(read(whole), read(split))
        # Cut inside a block: the complete blocks are kept and the file is valid.
        out = tmp('truncated.mkv')
        summary = merge([capture('output-get-media-equal-timecode.mkv')], out, status=1)
        self.assertIn('ERR_TRUNCATED at offset 1272988', summary)
        self.assert_playable(out, 239, duration=None)


class Fixtures(Checks):
    def test_resolution_change(self):
        src = fixture('kvs_resolution_change.mkv')
        facts = manifest('kvs_resolution_change.mkv')
        data = read(src)
        half = facts['fragment_offsets'][2]
        out = tmp('res.mkv')
        summary = merge([src], out)
        files = [out, tmp('res.1.mkv')]
        self.assertIn('2 segment(s)', summary)
        for path, part, size in zip(files, (data[:half], data[half:]), ((160, 96), (320, 192))):
            self.assert_playable(path, 20, duration=2.0, frame_ms=100)
            video = probe(path)['streams'][0]
            self.assertEqual((video['width'], video['height']), size)
            self.assertEqual(frame_hashes(path), frame_hashes(None, data=part))
        segments = tmp('res_segments.mkv')
        merge([src], segments, '--on-change', 'new-segment')
        self.assertFalse(os.path.exists(tmp('res_segments.1.mkv')))
        records = [json.loads(l) for l in kvsp('fragments', segments).stdout.splitlines()]
        self.assertEqual([(r['tracks'][0]['width'], r['frames']) for r in records], [(160, 20), (320, 20)])
        self.assertEqual(len(elements(segments, 'Cues')), 2)
        stopped = tmp('res_stop.mkv')
        self.assertIn('stopped', merge([src], stopped, '--on-change', 'stop'))
        self.assertFalse(os.path.exists(tmp('res_stop.1.mkv')))
        self.assert_playable(stopped, 20, duration=2.0, frame_ms=100)

    def test_restart_at_zero(self):
        out = tmp('zero.mkv')
        merge([fixture('kvs_restart_at_zero.mkv')], out)
        times = [p[0] for p in packets(out)]
        self.assertEqual(len(times), 30)
        self.assertEqual(times, sorted(set(times)))  # strictly increasing
        self.assertAlmostEqual(times[-1], 2.9, places=3)
        self.assert_playable(out, 30, duration=3.0, frame_ms=100)
        # Original timecodes go back at every fragment: each gets its own file.
        original = tmp('zero_orig.mkv')
        self.assertIn('3 segment(s)', merge([fixture('kvs_restart_at_zero.mkv')], original, '--timeline', 'original'))
        self.assertTrue(os.path.exists(tmp('zero_orig.2.mkv')))

    def test_audio_only_and_blockgroups(self):
        out = tmp('laced.mkv')
        merge([fixture('lacing_xiph.mkv')], out)
        self.assertEqual(len(packets(out)), len(packets(fixture('lacing_xiph.mkv'))))
        self.assertEqual(len(elements(out, 'CuePoint')), len(elements(out, 'Cluster')))  # audio only
        groups = tmp('groups.mkv')
        merge([fixture('h264_blockgroups.mkv')], groups)
        self.assertEqual([p[1:] for p in packets(groups)], [p[1:] for p in packets(fixture('h264_blockgroups.mkv'))])
        self.assertEqual(len(elements(groups, 'CuePoint')), manifest('h264_blockgroups.mkv')['keyframes_per_track']['1'])


class ChunkInvariance(unittest.TestCase):
    def same_output(self, src, sizes, *options):
        ref = tmp('chunk_ref.mkv')
        merge([src], ref, *options)
        want = read(ref)
        for size in sizes:
            out = tmp('chunk.mkv')
            merge([src], out, '--chunk-size', str(size), *options)
            self.assertEqual(read(out), want, 'chunk size %d' % size)
            piped = kvsp('merge', src, '-o', '-', '--chunk-size', str(size), *options).stdout
            if size == sizes[0]:
                want_pipe = piped
            self.assertEqual(piped, want_pipe, 'pipe, chunk size %d' % size)

    def test_fixtures_every_size(self):
        for name in ('kvs_user_tags.mkv', 'kvs_resolution_change.mkv', 'h264_blockgroups.mkv'):
            with self.subTest(fixture=name):
                self.same_output(fixture(name), list(range(1, 65)) + [4096], '--on-change', 'new-segment')

    def test_capture(self):
        self.same_output(capture('output_get_media.mkv'), [1, 7, 64, 4096, 65536])


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    TMP = tempfile.mkdtemp(prefix='kvsp-merge-')
    try:
        program = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(kvsp_testing.status(program.result))
