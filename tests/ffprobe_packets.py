"""ffprobe as an independent oracle of a file's frames.

FFmpeg's Matroska demuxer reads a chain of fragments with unknown-size
Segments to the end, but gives up after the second of a chain of known-size
Segments (a GetMediaForFragmentList payload); such chains are probed one
fragment at a time, from the offsets the fixture generator recorded.
"""
import fractions
import json
import subprocess


def _probe(data):
    r = subprocess.run(['ffprobe', '-v', 'error', '-show_data_hash', 'MD5', '-show_entries',
                        'packet=stream_index,pts,size,flags,data_hash:stream=index,time_base',
                        '-of', 'json', '-i', 'pipe:0'],
                       input=data, capture_output=True, timeout=300, check=False)
    try:
        probed = json.loads(r.stdout)
    except ValueError:
        return []
    bases = {s['index']: fractions.Fraction(s['time_base']) for s in probed.get('streams', [])}
    return [(p, bases[p['stream_index']]) for p in probed.get('packets', [])]


def packet_details(path, fragment_offsets=None):
    """Per stream index, in file order: a dict per packet with pts_ms (exact,
    a Fraction; None without a pts), size, keyframe and md5 (of the payload)."""
    with open(path, 'rb') as f:
        data = f.read()
    bounds = list(fragment_offsets or [0]) + [len(data)]
    streams = {}
    for start, end in zip(bounds, bounds[1:]):
        for p, base in _probe(data[start:end]):
            pts = p.get('pts')
            streams.setdefault(p['stream_index'], []).append({
                'pts_ms': None if pts is None else pts * base * 1000, 'size': int(p['size']),
                'keyframe': 'K' in p['flags'], 'md5': p['data_hash'].split(':', 1)[1]})
    return streams


def packets(path, fragment_offsets=None):
    """Per stream index, in file order: a list of (pts in ms, size, keyframe)."""
    def row(p):
        return None if p['pts_ms'] is None else float(p['pts_ms']), p['size'], p['keyframe']
    return {index: [row(p) for p in stream] for index, stream in packet_details(path, fragment_offsets).items()}
