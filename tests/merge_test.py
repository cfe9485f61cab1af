#!/usr/bin/env python3
"""kvsp merge checked with independent tools: mkvmerge, mkvinfo, ffprobe, ffmpeg.

usage: merge_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import glob
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


# ---- A merged file read back by mkvinfo (mkvtoolnix), not by kvsp ----
# `mkvinfo -a -P -z` prints one element a line: "|" and spaces for its depth, "+ ", its name and
# value, then " at OFFSET size TOTAL [data size N]". Times are printed as h:mm:ss.nnnnnnnnn.

LINE = re.compile(r'^([| ]*)\+ (.*) at (\d+) size (\d+)(?: data size (\d+))?$')
TIME = re.compile(r'(-?)(\d+):(\d\d):(\d\d)\.(\d{9})')
BLOCK = re.compile(r'^(Simple block|Block): (.*?)track number (\d+), (\d+) frame\(s\), timestamp (\S+)$')


def ns(text):
    sign, h, m, s, frac = TIME.search(text).groups()
    value = ((int(h) * 60 + int(m)) * 60 + int(s)) * 10**9 + int(frac)
    return -value if sign else value


class Readback:
    """What mkvinfo reads in a one-Segment file: positions, times in ns, the raw Duration."""

    def __init__(self, path):
        r = run(['mkvinfo', '-a', '-P', '-z', path])
        if r.returncode != 0:
            raise AssertionError('mkvinfo %s: exit %d: %s' % (path, r.returncode, r.stdout[-2000:]))
        self.segments, self.top = [], []  # top: (name, offset) of the Segment's children
        self.scale, self.duration, self.duration_ns = 1000000, None, None
        self.tracks, self.track_order = {}, []
        self.clusters, self.blocks, self.cues, self.seek, self.tags = [], [], [], {}, []
        data = read(path)
        track = seek_name = None
        for line in r.stdout.decode().splitlines():
            m = LINE.match(line)
            if not m:
                continue
            depth, text, at, size = len(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
            data_size = int(m.group(5)) if m.group(5) else None
            name, _, value = text.partition(': ')
            if depth == 0 and name == 'Segment':
                self.segments.append(at + size - data_size)  # where its data starts
            elif depth == 1:
                self.top.append((name, at))
                if name == 'Cluster':
                    self.clusters.append({'offset': at, 'data': at + size - data_size, 'time': None})
                elif name == 'Tags':
                    self.tags.append({'offset': at, 'simple': []})
            elif name == 'Timestamp scale':
                self.scale = int(value)
            elif name == 'Duration':
                raw = data[at + size - data_size:at + size]
                self.duration = struct.unpack('>d' if data_size == 8 else '>f', raw)[0]
                self.duration_ns = ns(value)
            elif name == 'Track':
                track = {'type': None, 'default_ns': None}
            elif name == 'Track number':
                self.tracks[int(value.split()[0])] = track
                self.track_order.append(int(value.split()[0]))
            elif name == 'Track type':
                track['type'] = value
            elif name == 'Default duration':
                track['default_ns'] = ns(value)
            elif name == 'Cluster timestamp':
                self.clusters[-1]['time'] = ns(value)
            elif name in ('Simple block', 'Block group'):
                self.blocks.append({'offset': at, 'cluster': len(self.clusters) - 1, 'group': name == 'Block group',
                                    'duration': None, 'referenced': False})
            if name in ('Simple block', 'Block') and BLOCK.match(text):
                kind, flags, number, frames, _ = BLOCK.match(text).groups()
                self.blocks[-1].update(track=int(number), frames=int(frames), time=ns(text),
                                       key=('key' in flags) if kind == 'Simple block' else None)
            elif name == 'Block duration':
                self.blocks[-1]['duration'] = ns(value)
            elif name == 'Reference block':
                self.blocks[-1]['referenced'] = True
            elif name == 'Cue point':
                self.cues.append({'relative': None})
            elif name == 'Cue time':
                self.cues[-1]['time'] = ns(value)
            elif name == 'Cue track':
                self.cues[-1]['track'] = int(value)
            elif name == 'Cue cluster position':
                self.cues[-1]['cluster'] = int(value)
            elif name == 'Cue relative position':
                self.cues[-1]['relative'] = int(value)
            elif name == 'Seek ID':
                seek_name = re.search(r'\((\w+)\)', value).group(1)
            elif name == 'Seek position':
                self.seek[seek_name] = int(value)
            elif name == 'Simple' and self.tags:
                self.tags[-1]['simple'].append([None, None])
            elif name == 'Name' and self.tags and depth == 4:
                self.tags[-1]['simple'][-1][0] = value
            elif name == 'String' and self.tags and depth == 4:
                self.tags[-1]['simple'][-1][1] = value
        for b in self.blocks:
            if b['group']:
                b['key'] = not b['referenced']
        self.data_start = self.segments[0] if self.segments else None

    def ticks(self, time_ns):
        if time_ns % self.scale:
            raise AssertionError('%d ns is not a whole number of %d ns ticks' % (time_ns, self.scale))
        return time_ns // self.scale

    def cue_track(self):
        """Where the merger documents its cue points: the first video track's keyframes, or for
        audio only every Cluster (of the first track)."""
        video = [n for n in self.track_order if self.tracks[n]['type'] == 'video']
        return (video[0], True) if video else (self.track_order[0], False)


def expected_cues(rb):
    """The cue points the file's own blocks call for: (time ns, track, cluster position,
    relative position of the block in the cluster's data)."""
    track, video = rb.cue_track()
    want = []
    for i, cluster in enumerate(rb.clusters):
        position = cluster['offset'] - rb.data_start
        blocks = [b for b in rb.blocks if b['cluster'] == i and b['track'] == track]
        if video:
            want += [(b['time'], track, position, b['offset'] - cluster['data']) for b in blocks if b['key']]
        elif blocks:
            want.append((blocks[0]['time'], track, position, blocks[0]['offset'] - cluster['data']))
    return want


def end_of_last_frame(rb):
    """Where the last frame ends, in ticks of the file's TimestampScale, by the rule the merger
    documents: each block lasts its BlockDuration, else its frames times its track's
    DefaultDuration (whole ticks), else the spacing from the block before it on its track (or
    one tick); the end is the latest block time plus its duration."""
    end, last, gap = None, {}, {}
    for b in rb.blocks:
        t, track = rb.ticks(b['time']), b['track']
        if track in last and t > last[track]:
            gap[track] = t - last[track]
        last[track] = t
        default_ns = rb.tracks.get(track, {}).get('default_ns')
        if b['duration'] is not None:
            d = rb.ticks(b['duration'])
        elif default_ns and b['frames'] * default_ns // rb.scale > 0:
            d = b['frames'] * default_ns // rb.scale
        else:
            d = gap.get(track, 1)
        end = t + d if end is None else max(end, t + d)
    return end


def first_frames_after_seeks(path, times):
    """For each time T (s), the pts (s) of the first picture ffmpeg decodes after `-ss T` to the
    keyframe before it: one ffmpeg run, an input and an output per seek."""
    cmd = ['ffmpeg', '-hide_banner', '-nostats', '-copyts']
    for t in times:
        cmd += ['-noaccurate_seek', '-ss', '%.9f' % t, '-i', path]
    cmd += ['-filter_complex', ';'.join('[%d:v:0]showinfo[o%d]' % (i, i) for i in range(len(times)))]
    for i in range(len(times)):
        cmd += ['-map', '[o%d]' % i, '-frames:v', '1', '-f', 'null', '-']
    r = run(cmd)
    found = {}
    for i in range(len(times)):
        tb = re.search(rb'_%d @ \w+\] config in time_base: (\d+)/(\d+)' % i, r.stderr)
        pts = re.search(rb'_%d @ \w+\] n: *0 pts: *(-?\d+)' % i, r.stderr)
        if tb and pts:
            found[i] = int(pts.group(1)) * Fraction(int(tb.group(1)), int(tb.group(2)))
    if r.returncode or len(found) != len(times):
        raise AssertionError('ffmpeg seeks in %s: exit %d: %s' % (path, r.returncode, r.stderr[-1500:]))
    return [found[i] for i in range(len(times))]


def merged_files(out):
    """out.mkv, then out.1.mkv, out.2.mkv, ... as kvsp merge names them."""
    stem = out[:-len('.mkv')]
    rest = sorted(glob.glob(glob.escape(stem) + '.*.mkv'), key=lambda p: int(p[len(stem) + 1:-len('.mkv')]))
    return [out] + rest


def packet_times(path):
    """(stream index, pts in s as a Fraction) of every packet in file order, by ffprobe."""
    out = json.loads(run(['ffprobe', '-v', 'error', '-show_entries', 'packet=stream_index,pts:stream=index,time_base',
                          '-of', 'json', path]).stdout)
    base = {st['index']: Fraction(st['time_base']) for st in out['streams']}
    return [(p['stream_index'], p['pts'] * base[p['stream_index']]) for p in out['packets']]


def fragment_files(name, keep=None):
    """The fragments of a KVS fixture chain, each cut out (by the offsets in fixtures.json) into
    a file of its own, with their facts; keep: the indexes to keep (all by default)."""
    facts = manifest(name)
    data = read(fixture(name))
    ends = facts['fragment_offsets'][1:] + [len(data)]
    parts = []
    for i, (start, end) in enumerate(zip(facts['fragment_offsets'], ends)):
        if keep is None or i in keep:
            path = tmp('%s.fragment%d.mkv' % (name, i))
            write(path, data[start:end])
            parts.append((path, facts['fragments'][i]))
    return parts


def kvs_chains():
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        return [n for n, facts in json.load(f)['fixtures'].items() if 'fragments' in facts]


def merged_chain(name, *options):
    """Merges a KVS fixture chain; for each output file, its path and the fragments (file of
    its own, facts) that go into it: a new file begins where the tracks change."""
    groups, shape = [], None
    for path, facts in fragment_files(name):
        if (facts.get('width'), facts.get('height')) != shape and facts['has_cluster']:
            groups.append([])
            shape = (facts.get('width'), facts.get('height'))
        if groups:
            groups[-1].append((path, facts))
    out = tmp('chain_' + name)
    for old in merged_files(out)[1:]:
        os.remove(old)
    merge([fixture(name)], out, *options)
    if len(merged_files(out)) != len(groups):
        raise AssertionError('%s: %d output files for %d track sets' % (name, len(merged_files(out)), len(groups)))
    return list(zip(merged_files(out), groups))


def producer_times(parts):
    """The packet times merging these fragments must give on the producer timeline: each
    fragment's own packet times (ffprobe on the fragment alone), moved so that its first
    Cluster starts at its producer timestamp less the Segment's first one."""
    want, origin = [], None
    for path, f in parts:
        if not f['has_cluster']:
            continue
        if origin is None:
            origin = f['producer_timestamp_ms']
        shift = Fraction(f['producer_timestamp_ms'] - origin, 1000) - Fraction(f['cluster_timecode'] * f['timecode_scale'], 10**9)
        want += [(stream, t + shift) for stream, t in packet_times(path)]
    return want


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

    def assert_cues(self, path):
        """Every cue point is a keyframe of the cue track (or a Cluster's first block, audio only)
        at its exact time, in the Cluster that holds it; every such block has one; the SeekHead
        points at the elements where mkvinfo finds them."""
        rb = Readback(path)
        self.assertEqual(len(rb.segments), 1, path)
        got = [(c['time'], c['track'], c['cluster'], c['relative']) for c in rb.cues]
        want = expected_cues(rb)
        if not rb.cue_track()[1]:  # audio only: the merger writes no relative position
            want = [w[:3] + (None,) for w in want]
        self.assertEqual(got, want, path)
        self.assertGreater(len(want), 0, path)
        first = {}
        for name, offset in rb.top:
            first.setdefault(name, offset)
        wanted_seek = {'KaxInfo': 'Segment information', 'KaxTracks': 'Tracks', 'KaxCues': 'Cues', 'KaxTags': 'Tags'}
        self.assertEqual(rb.seek, {k: first[v] - rb.data_start for k, v in wanted_seek.items() if v in first}, path)
        return rb

    def assert_duration(self, path, rb):
        """Duration (a float, in ticks) is exactly the end of the last frame."""
        want = end_of_last_frame(rb)
        self.assertEqual(rb.duration, float(want), path)
        self.assertEqual(rb.duration_ns, want * rb.scale, path)  # as mkvinfo prints it

    def assert_seeks(self, path, rb):
        """ffmpeg -ss T (no accurate seek) decodes first the keyframe at or before T, for T at
        each keyframe and halfway to the next one."""
        track, video = rb.cue_track()
        if not video:
            return
        keys = [Fraction(b['time'], 10**9) for b in rb.blocks if b['track'] == track and b['key']]
        shown = [b['time'] for b in rb.blocks if b['track'] == track]
        # B-frames (times not in block order): ffmpeg's command line seeks 3/23 s before T then
        # (its dts heuristic), so only the points halfway between keyframes are checked
        reordered = shown != sorted(shown)
        end = Fraction(rb.duration_ns, 10**9)
        times, want = [], []
        for key, after in zip(keys, keys[1:] + [end]):
            times += [(key + after) / 2] if reordered else [key, (key + after) / 2]
            want += [key] if reordered else [key, key]
        self.assertEqual(first_frames_after_seeks(path, times), want, '%s: -ss %s' % (path, [float(t) for t in times]))


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

    def test_producer_timeline_every_chain(self):
        # Every frame of every KVS fixture lands at its fragment's producer timestamp (relative
        # to the Segment's first fragment) plus its time inside the fragment.
        chains = kvs_chains()
        self.assertGreaterEqual(len(chains), 8)
        for name in chains:
            with self.subTest(fixture=name):
                for path, group in merged_chain(name):
                    self.assertEqual(packet_times(path), producer_times(group), path)

    def test_kvs_tags_after_their_clusters(self):
        # Each fragment's Tags (number, server and producer timestamps as fixtures.json has
        # them, in decimal seconds) follows its Cluster and comes before the next fragment's;
        # no other KVS tag is kept, and --no-kvs-tags leaves none.
        seconds = lambda ms: '%d.%03d' % (ms // 1000, ms % 1000)
        for name in kvs_chains():
            with self.subTest(fixture=name):
                for path, group in merged_chain(name):
                    rb = Readback(path)
                    want_order, want_tags = [], []
                    for _, f in group:
                        if not f['has_cluster']:
                            continue
                        want_order.append('Cluster')
                        tags = [('AWS_KINESISVIDEO_FRAGMENT_NUMBER', f['fragment_number'])]
                        for kind in ('server', 'producer'):
                            if f[kind + '_timestamp_ms'] is not None:
                                tags.append(('AWS_KINESISVIDEO_%s_TIMESTAMP' % kind.upper(), seconds(f[kind + '_timestamp_ms'])))
                        want_order.append('Tags')
                        want_tags.append(tags)
                    self.assertEqual([n for n, _ in rb.top if n in ('Cluster', 'Tags')], want_order, path)
                    self.assertEqual([[tuple(t) for t in tags['simple']] for tags in rb.tags], want_tags, path)
                for path, _ in merged_chain(name, '--no-kvs-tags'):
                    self.assertEqual(Readback(path).tags, [], path)

    def test_producer_gap(self):
        # A fragment missing from a chain (as GetMediaForFragmentList gives when one is left
        # out) leaves its time empty on the producer timeline, and only there.
        parts = fragment_files('kvs_restart_at_zero.mkv', keep={0, 2})
        src = tmp('gap_input.mkv')
        write(src, b''.join(read(path) for path, _ in parts))
        out, packed = tmp('gap.mkv'), tmp('gap_pack.mkv')
        self.assertIn('1 gap(s) (1.000 s)', merge([src], out))
        want = producer_times(parts)
        self.assertEqual(packet_times(out), want)
        self.assertEqual([t for t, _, key in packets(out) if key], [0.0, 2.0])
        rb = self.assert_cues(out)
        self.assert_duration(out, rb)
        self.assert_seeks(out, rb)
        self.assertIn('0 gap(s)', merge([src], packed, '--timeline', 'pack'))
        second = len(want) // 2  # the second fragment follows the first's last frame (0.9 s + 0.1 s)
        self.assertEqual(packet_times(packed), want[:second] + [(s, t - 1) for s, t in want[second:]])

    def test_producer_late_or_overlapping_fragment(self):
        # The second fragment of a chain (10 frames of 100 ms each, 1 ms ticks) with its producer
        # timestamp moved, in place (same length, the file stays valid): more than two frame
        # durations after the first fragment's end is a gap, up to two is none (merger.h); at
        # or before the first fragment's last block (0.9 s) it is placed one tick after that
        # block, as the timeline never goes back. Times read back by ffprobe.
        parts = fragment_files('kvs_restart_at_zero.mkv', keep={0, 1})
        (first, facts), (second, second_facts) = parts
        origin = facts['producer_timestamp_ms']
        seconds = lambda ms: b'%d.%03d' % (ms // 1000, ms % 1000)
        tag = seconds(second_facts['producer_timestamp_ms'])
        data = read(second)
        self.assertEqual(data.count(tag), 1)
        alone = [packet_times(first), packet_times(second)]
        cases = [(1150, 1150, '0 gap(s)'), (1200, 1200, '0 gap(s)'), (1250, 1250, '1 gap(s) (0.250 s)'),
                 (950, 950, '0 gap(s)'), (900, 901, '0 gap(s)'), (500, 901, '0 gap(s)')]
        for producer, placed, gaps in cases:
            with self.subTest(producer_ms=producer):
                src, out = tmp('moved_input.mkv'), tmp('moved.mkv')
                write(src, read(first) + data.replace(tag, seconds(origin + producer)))
                self.assertIn(gaps, merge([src], out))
                want = alone[0] + [(s, t + Fraction(placed, 1000)) for s, t in alone[1]]
                self.assertEqual(packet_times(out), want)

    def test_audio_only_and_blockgroups(self):
        out = tmp('laced.mkv')
        merge([fixture('lacing_xiph.mkv')], out)
        self.assertEqual(len(packets(out)), len(packets(fixture('lacing_xiph.mkv'))))
        self.assertEqual(len(elements(out, 'CuePoint')), len(elements(out, 'Cluster')))  # audio only
        groups = tmp('groups.mkv')
        merge([fixture('h264_blockgroups.mkv')], groups)
        self.assertEqual([p[1:] for p in packets(groups)], [p[1:] for p in packets(fixture('h264_blockgroups.mkv'))])
        self.assertEqual(len(elements(groups, 'CuePoint')), manifest('h264_blockgroups.mkv')['keyframes_per_track']['1'])

    def test_range_cuts_blockgroups(self):
        """--from/--to on a file of BlockGroups: ffprobe's packets of the clip are the source's from
        the keyframe at or before --from to the last at or before --to (payload MD5s, keyframes,
        times from the first: the producer timeline starts the file at the first Cluster written,
        so a clip from a keyframe inside a Cluster keeps that offset), the BlockGroups outside left
        out."""
        import ffprobe_packets
        src = fixture('h264_blockgroups.mkv')
        (source,) = ffprobe_packets.packet_details(src).values()
        for lo, hi in [(650, 1300), (500, 500), (0, 1999), (1550, 1950)]:
            with self.subTest(range=(lo, hi)):
                key = max(p['pts_ms'] for p in source if p['keyframe'] and p['pts_ms'] <= lo)
                want = [(p['pts_ms'] - key, p['keyframe'], p['md5']) for p in source if key <= p['pts_ms'] <= hi]
                out = tmp('groups-range.mkv')
                merge([src], out, '--from', str(lo / 1000), '--to', str(hi / 1000))
                (got,) = ffprobe_packets.packet_details(out).values()
                self.assertEqual([(p['pts_ms'] - got[0]['pts_ms'], p['keyframe'], p['md5']) for p in got], want)
                if (lo, hi) != (0, 1999):
                    self.assertLess(len(want), len(source))

    def test_summary_counts_laced_frames(self):
        # The summary's frame count splits laced blocks, as ffprobe counts packets and as
        # kvsp frames --list does (the laced fixtures hold far more frames than blocks).
        for name in ('lacing_xiph.mkv', 'lacing_ebml.mkv', 'lacing_fixed.mkv', 'audio_video.mkv'):
            with self.subTest(fixture=name):
                src = fixture(name)
                want = len(packets(src))
                summary = merge([src], tmp('count_' + name))
                self.assertRegex(summary, r'\b%d frames\b' % want)
                listed = [l for l in kvsp('frames', '--list', src).stdout.splitlines() if not l.startswith(b'#')]
                self.assertEqual(len(listed), want)


class Oracles(Checks):
    """Cues, Duration and seeking, on every fixture and capture, read back by mkvinfo and ffmpeg."""

    def check_input(self, src, status=0):
        out = tmp('oracle_' + os.path.basename(src))
        for old in merged_files(out)[1:]:
            os.remove(old)
        merge([src], out, status=status)
        for path in merged_files(out):
            rb = self.assert_cues(path)
            self.assert_duration(path, rb)
            self.assert_seeks(path, rb)

    def test_fixtures(self):
        for src in sorted(glob.glob(os.path.join(RESOURCES, '*.mkv'))):
            with self.subTest(fixture=os.path.basename(src)):
                self.check_input(src)

    def test_captures(self):
        capture('output_get_media.mkv')  # skips without the captures
        for src in sorted(glob.glob(os.path.join(CAPTURES, '*.mkv'))):
            with self.subTest(capture=os.path.basename(src)):
                self.check_input(src, status=1 if 'equal-timecode' in src else 0)


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
