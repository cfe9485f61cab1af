#!/usr/bin/env python3
"""Every frame `kvsp frames --list` prints, field by field, against an
independent reading of the same file (independent_mkv.py, written from the
EBML, Matroska and KVS specifications), on every fixture and capture: track,
fragment, timecode, pts_ms, producer_timestamp_ms and server_timestamp_ms
(the fragment's tag + the block's offset in its Cluster), keyframe and block
flags, size, lace index and count, BlockDuration, block offset.

The independent reader is itself checked against ffprobe's packets (pts,
size, keyframe flag and an MD5 of each frame's bytes), so it is not trusted
blindly, and the fixtures must exercise what the comparison relies on, so the
fixture-only run (no shared captures) still catches a wrong frame time.

usage: frame_times_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import collections
import hashlib
import json
import os
import subprocess
import sys
import unittest
import kvsp_testing

import ffprobe_packets
import independent_mkv

KVSP = RESOURCES = CAPTURES = None

TIME_FIELDS = ('pts_ms', 'producer_timestamp_ms', 'server_timestamp_ms')
OTHER_FIELDS = ('track', 'fragment_index', 'fragment_number', 'timecode', 'keyframe', 'invisible',
                'discardable', 'size', 'lace_index', 'lace_frames', 'duration', 'block_offset')


def manifest():
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        return json.load(f)['fixtures']


def fixtures():
    return [os.path.join(RESOURCES, name) for name in sorted(manifest())]


def captures():
    if not CAPTURES:
        raise unittest.SkipTest('shared captures absent')
    return [os.path.join(CAPTURES, n) for n in sorted(os.listdir(CAPTURES)) if n.endswith('.mkv')]


class ReaderAgainstFfprobe(unittest.TestCase):
    """The independent reader's frames per track against ffprobe's packets:
    count, size, keyframe, MD5 of the bytes (laces split at the same places)
    and, for a block's first frame, the exact pts (ffmpeg spreads the other
    frames of a lace over time; the block gives them all its own)."""

    def check(self, path):
        reader = independent_mkv.read_file(path)
        offsets = manifest().get(os.path.basename(path), {}).get('fragment_offsets')
        probed = ffprobe_packets.packet_details(path, offsets if path.startswith(RESOURCES) else None)
        self.assertEqual(len(probed), len(reader.tracks))
        self.assertGreater(len(reader.frames), 0)
        for index, number in enumerate(reader.tracks):
            ours = [f for f in reader.frames if f['track'] == number]
            theirs = probed[index]
            self.assertEqual(len(ours), len(theirs), 'track %d' % number)
            for k, (f, p) in enumerate(zip(ours, theirs)):
                where = 'track %d frame %d' % (number, k)
                self.assertEqual((f['size'], f['keyframe']), (p['size'], p['keyframe']), where)
                self.assertEqual(hashlib.md5(f['data']).hexdigest(), p['md5'], where)
                if f['lace_index'] == 0:
                    self.assertEqual(f['pts_ms'], p['pts_ms'], where)

    def test_fixtures(self):
        for path in fixtures():
            with self.subTest(fixture=os.path.basename(path)):
                self.check(path)

    def test_captures(self):
        for path in captures():
            with self.subTest(capture=os.path.basename(path)):
                self.check(path)


class FramesListAgainstReader(unittest.TestCase):
    """kvsp frames --list, every frame and field, against the independent reader."""

    def check(self, path):
        reader = independent_mkv.read_file(path)
        r = subprocess.run([KVSP, 'frames', '--list', path], capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 1 if reader.truncated else 0, r.stderr)
        got = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(got), len(reader.frames))
        for k, (g, want) in enumerate(zip(got, reader.frames)):
            for key in OTHER_FIELDS:
                self.assertEqual(g[key], want[key], 'frame %d %s' % (k, key))
            for key in TIME_FIELDS:
                self.assertTrue(independent_mkv.same_time(g[key], want[key]),
                                'frame %d %s: kvsp %r, expected %s' % (k, key, g[key], want[key]))

    def test_fixtures(self):
        for path in fixtures():
            with self.subTest(fixture=os.path.basename(path)):
                self.check(path)

    def test_fixtures_exercise_the_rules(self):
        """What the fixtures must exercise for this comparison to guard it
        without the captures: KVS timestamps on frames after a Cluster's
        start at the usual 1 ms scale and another, every timestamp tag
        spelling, each lacing (one with KVS tags), keyframe and referenced
        BlockGroups, unknown-size Segments and Clusters."""
        total = sum((independent_mkv.read_file(path).seen for path in fixtures()), collections.Counter())
        kvs = 'AWS_KINESISVIDEO_'
        wanted = ['KVS timestamps at an offset in the Cluster, scale 1000000', 'laced block with KVS timestamps',
                  'xiph lacing', 'ebml lacing', 'fixed lacing', 'BlockGroup keyframe', 'BlockGroup referenced',
                  'unknown-size Segment', 'unknown-size Cluster'] + [
                  kvs + name for name in ('FRAGMENT_NUMBER', 'SERVER_TIMESTAMP', 'SERVER_SIDE_TIMESTAMP',
                                          'PRODUCER_TIMESTAMP', 'PRODUCER_SIDE_TIMESTAMP')]
        for fact in wanted:
            self.assertGreater(total[fact], 0, fact)
        other_scales = [fact for fact in total if fact.startswith('KVS timestamps at an offset')
                        and not fact.endswith(' 1000000')]
        self.assertTrue(other_scales, 'no fixture has KVS timestamps at a TimecodeScale other than 1 ms')

    def test_captures(self):
        for path in captures():
            with self.subTest(capture=os.path.basename(path)):
                self.check(path)


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    kvsp_testing.main(argv=sys.argv[:1], verbosity=2)
