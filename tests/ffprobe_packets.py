"""ffprobe as an independent oracle of a file's frames.

FFmpeg's Matroska demuxer reads a chain of fragments with unknown-size
Segments to the end, but gives up after the second of a chain of known-size
Segments (a GetMediaForFragmentList payload); such chains are probed one
fragment at a time, from the offsets the fixture generator recorded.
"""
import json
import subprocess


def _probe(data):
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_entries',
                        'packet=stream_index,pts_time,size,flags', '-of', 'json', '-i', 'pipe:0'],
                       input=data, capture_output=True, timeout=300, check=False)
    try:
        return json.loads(r.stdout).get('packets', [])
    except ValueError:
        return []


def packets(path, fragment_offsets=None):
    """Per stream index, in file order: a list of (pts in ms, size, keyframe)."""
    with open(path, 'rb') as f:
        data = f.read()
    bounds = list(fragment_offsets or [0]) + [len(data)]
    streams = {}
    for start, end in zip(bounds, bounds[1:]):
        for p in _probe(data[start:end]):
            streams.setdefault(p['stream_index'], []).append(
                (float(p['pts_time']) * 1000, int(p['size']), 'K' in p['flags']))
    return streams
