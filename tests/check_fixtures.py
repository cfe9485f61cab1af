#!/usr/bin/env python3
"""Fixtures read by kvsp agree with what made them and with independent tools.

For every fixture in tests/resources/fixtures.json (written by
make_fixtures.py when it built the file), `kvsp inspect --json` must find the
recorded element counts and frames per track; and ffprobe, whose Matroska
demuxer splits laces into packets on its own, must count the same frames per
track. Golden event logs in tests/resources/golden/ must match byte for byte
(`--update` rewrites them after a reviewed change).

usage: check_fixtures.py KVSP RESOURCES_DIR [--update]
"""
import collections
import json
import os
import shutil
import subprocess
import sys

import ffprobe_packets
import kvsp_testing


def events(kvsp, path):
    out = subprocess.run([kvsp, 'inspect', '--json', path], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError('%s: kvsp exited %d: %s' % (path, out.returncode, out.stderr.decode()))
    return out.stdout, [json.loads(line) for line in out.stdout.splitlines()]


def tally(evs):
    starts = collections.Counter(e['name'] for e in evs if e['event'] == 'start')
    data = collections.Counter(e['name'] for e in evs if e['event'] == 'data')
    frames = collections.Counter()
    keyframes = collections.Counter()
    tracks = []       # track numbers in TrackEntry order
    codecs = {}
    group = None      # the Block of the open BlockGroup, and whether it references
    for e in evs:
        name = e.get('name')
        if name == 'TrackNumber':
            if e['value'] in tracks:      # each chained fragment repeats its Tracks
                tracks.remove(e['value'])
            tracks.append(e['value'])
        elif name == 'CodecID':
            codecs[str(tracks[-1])] = e['value']
        elif name == 'SimpleBlock':
            frames[str(e['track'])] += e['frames']
            keyframes[str(e['track'])] += e['frames'] if e['keyframe'] else 0
        elif name == 'BlockGroup' and e['event'] == 'start':
            group = {'block': None, 'referenced': False}
        elif name == 'Block':
            group['block'] = e
            frames[str(e['track'])] += e['frames']
        elif name == 'ReferenceBlock':
            group['referenced'] = True
        elif name == 'BlockGroup' and e['event'] == 'end':
            if group['block'] and not group['referenced']:
                keyframes[str(group['block']['track'])] += group['block']['frames']
            group = None
    return {
        'ebml_headers': starts['EBML'], 'segments': starts['Segment'],
        'clusters': starts['Cluster'], 'simple_blocks': data['SimpleBlock'],
        'block_groups': starts['BlockGroup'], 'blocks': data['Block'],
        'crc32': data['CRC-32'], 'tags': starts['Tags'],
        'frames_per_track': dict(frames), 'keyframes_per_track': dict(keyframes),
        'codec_ids': codecs,
    }, tracks


def main():
    kvsp, resources = sys.argv[1], sys.argv[2]
    update = '--update' in sys.argv
    manifest_path = os.path.join(resources, 'fixtures.json')
    if not os.path.exists(manifest_path):
        return kvsp_testing.skip_status('no fixtures.json in %s' % resources)
    manifest = json.load(open(manifest_path))['fixtures']
    failures = 0
    golden_dir = os.path.join(resources, 'golden')
    os.makedirs(golden_dir, exist_ok=True)
    have_ffprobe = shutil.which('ffprobe') is not None
    if not have_ffprobe:
        kvsp_testing.skipped_part('ffprobe absent: frames per track not compared with it')
    for name, want in sorted(manifest.items()):
        path = os.path.join(resources, name)
        before = failures
        raw, evs = events(kvsp, path)
        got, tracks = tally(evs)
        for key, value in got.items():
            if key in want and want[key] != value:
                print('FAIL %s: %s: manifest %r, kvsp %r' % (name, key, want[key], value))
                failures += 1
        if have_ffprobe:
            probed = ffprobe_packets.packets(path, want.get('fragment_offsets'))
            packets = [len(probed[i]) for i in sorted(probed)]
            ours = [got['frames_per_track'].get(str(t), 0) for t in tracks]
            if packets != ours:
                print('FAIL %s: frames per track: ffprobe %r, kvsp %r' % (name, packets, ours))
                failures += 1
        golden = os.path.join(golden_dir, os.path.splitext(name)[0] + '.jsonl')
        if update:
            open(golden, 'wb').write(raw)
        elif not os.path.exists(golden) or open(golden, 'rb').read() != raw:
            print('FAIL %s: event log differs from %s' % (name, golden))
            failures += 1
        print('%s %s: %d events, frames per track %s' % (
            'ok  ' if failures == before else 'FAIL', name, len(evs), got['frames_per_track']))
    print('%d fixtures, %d failures%s' % (len(manifest), failures,
                                         '' if have_ffprobe else ' (ffprobe absent)'))
    return 1 if failures else kvsp_testing.status()


if __name__ == '__main__':
    sys.exit(main())
