#!/usr/bin/env python3
"""Makes the inputs of bench/run in a work directory outside the repository.

  chain.mkv    the shared capture output_get_media.mkv concatenated N times
               (100 by default: about 250 MB), a long GetMedia payload;
  stress.mkv   many tiny GetMedia-shaped fragments (EBML header, unknown-size
               Segment, Info, Tracks, Tags with many SimpleTags, a Cluster of
               tiny SimpleBlocks, closing Tags with the continuation token):
               nearly every byte is element headers and small values;
  av.mkv       one audio + video Segment (tests/client/consumer_streams.py:
               video SimpleBlocks, audio Blocks in BlockGroups, some
               unknown-size Clusters) of the requested size;
  decode.mkv   the capture a few times over with increasing timestamps (ffmpeg's concat
               demuxer: one Segment), for the decode and extraction cases.

Prints a JSON object describing the inputs. Python 3 standard library only.
"""
import argparse
import json
import os
import shutil
import subprocess
import struct
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests', 'client'))

# Element IDs (RFC 8794 / RFC 9559).
EBML, EBML_VERSION, EBML_READ_VERSION = 0x1A45DFA3, 0x4286, 0x42F7
EBML_MAX_ID_LENGTH, EBML_MAX_SIZE_LENGTH = 0x42F2, 0x42F3
DOCTYPE, DOCTYPE_VERSION, DOCTYPE_READ_VERSION = 0x4282, 0x4287, 0x4285
SEGMENT, INFO, TIMECODE_SCALE, MUXING_APP, WRITING_APP = 0x18538067, 0x1549A966, 0x2AD7B1, 0x4D80, 0x5741
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83
CODEC_ID, CODEC_PRIVATE, VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT = 0x86, 0x63A2, 0xE0, 0xB0, 0xBA
CLUSTER, TIMECODE, SIMPLE_BLOCK = 0x1F43B675, 0xE7, 0xA3
TAGS, TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487
UNKNOWN8 = b'\x01' + b'\xff' * 7


def vint(value):
    n = 1
    while value >= (1 << (7 * n)) - 1:
        n += 1
    return ((1 << (7 * n)) | value).to_bytes(n, 'big')


def eid(i):
    return i.to_bytes((i.bit_length() + 7) // 8, 'big')


def el(i, payload):
    return eid(i) + vint(len(payload)) + payload


def uint(i, v):
    return el(i, v.to_bytes(max(1, (v.bit_length() + 7) // 8), 'big'))


def text(i, s):
    return el(i, s.encode())


def master(i, *kids):
    return el(i, b''.join(kids))


def simple_tag(name, value):
    return master(SIMPLE_TAG, text(TAG_NAME, name), text(TAG_STRING, value))


EBML_HEADER = master(EBML, uint(EBML_VERSION, 1), uint(EBML_READ_VERSION, 1), uint(EBML_MAX_ID_LENGTH, 4),
                     uint(EBML_MAX_SIZE_LENGTH, 8), text(DOCTYPE, 'matroska'), uint(DOCTYPE_VERSION, 4),
                     uint(DOCTYPE_READ_VERSION, 2))
STRESS_INFO = master(INFO, uint(TIMECODE_SCALE, 1000000), text(MUXING_APP, 'b'), text(WRITING_APP, 'b'))
STRESS_TRACKS = master(TRACKS, master(TRACK_ENTRY, uint(TRACK_NUMBER, 1), uint(TRACK_UID, 1),
                                      uint(TRACK_TYPE, 1), text(CODEC_ID, 'V_UNCOMPRESSED'),
                                      el(CODEC_PRIVATE, bytes(range(24))),
                                      master(VIDEO, uint(PIXEL_WIDTH, 64), uint(PIXEL_HEIGHT, 64))))


def stress_fragment(k, tags_per_fragment, blocks_per_fragment, user_tag=None, block_size=None):
    number = str(91343852333181432392682062607743920146159169392 + k)
    ts = 1511852109000 + 40 * blocks_per_fragment * k
    sec = '%d.%03d' % (ts // 1000, ts % 1000)
    head = [simple_tag('AWS_KINESISVIDEO_FRAGMENT_NUMBER', number),
            simple_tag('AWS_KINESISVIDEO_SERVER_TIMESTAMP', sec),
            simple_tag('AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', sec)]
    user_tag = user_tag or (lambda k, i: ('u%d' % i, 'v%d' % (k + i)))
    head += [simple_tag(*user_tag(k, i)) for i in range(tags_per_fragment - 3)]
    blocks = []
    for i in range(blocks_per_fragment):
        size = block_size(k, i) if block_size else 4 + (k * 7 + i * 13) % 29  # 4..32 bytes
        payload = vint(1) + struct.pack('>h', i * 40) + bytes([0x80 if i == 0 else 0]) + bytes(size)
        blocks.append(el(SIMPLE_BLOCK, payload))
    cluster = master(CLUSTER, uint(TIMECODE, ts - 1511852109000), *blocks)
    tail = master(TAGS, master(TAG, simple_tag('AWS_KINESISVIDEO_MILLIS_BEHIND_NOW', str(1000 + k)),
                               simple_tag('AWS_KINESISVIDEO_CONTINUATION_TOKEN', number)))
    body = STRESS_INFO + STRESS_TRACKS + master(TAGS, master(TAG, *head)) + cluster + tail
    return EBML_HEADER + eid(SEGMENT) + UNKNOWN8 + body


def make_stress(path, target_bytes, tags_per_fragment=24, blocks_per_fragment=64, variants=97, **shape):
    """Chains `variants` distinct fragments over and over up to target_bytes."""
    frags = [stress_fragment(k, tags_per_fragment, blocks_per_fragment, **shape) for k in range(variants)]
    written = count = 0
    with open(path, 'wb') as f:
        while written < target_bytes:
            for fr in frags:
                f.write(fr)
                written += len(fr)
                count += 1
                if written >= target_bytes:
                    break
    return {'path': path, 'bytes': written, 'fragments': count, 'tags_per_fragment': tags_per_fragment + 2,
            'blocks_per_fragment': blocks_per_fragment, 'block_payload_bytes': '4-32',
            'mean_fragment_bytes': round(written / count)}


def make_tagged(path, target_bytes):
    """The command line's JSON case (issue 24): GetMedia fragments with 50 user SimpleTags
    of camera-like names and values and 10 small frames (500-1,000 bytes), so that
    `kvsp fragments` prints about half as many bytes as it reads."""
    def user_tag(k, i):
        return ('CameraProperty%02d' % i, 'site-%04d/zone-%02d/value-%06d' % (k % 9973, i, k * 31 + i))

    def block_size(k, i):
        return 500 + (k * 37 + i * 101) % 501

    info = make_stress(path, target_bytes, tags_per_fragment=53, blocks_per_fragment=10,
                       user_tag=user_tag, block_size=block_size)
    info['block_payload_bytes'] = '500-1000'
    return info


def chain(src_paths, repeat, dest):
    with open(dest, 'wb') as out:
        for _ in range(repeat):
            for p in src_paths:
                with open(p, 'rb') as f:
                    shutil.copyfileobj(f, out, 1 << 20)
    return os.path.getsize(dest)


def concat(src_paths, dest):
    """The inputs one after the other in one Matroska file, each one's timestamps shifted past
    the last (ffmpeg's concat demuxer, packets copied): a chain of the same capture repeats its
    timestamps, and FFmpeg's framemd5 then drops the repeated ones."""
    listing = dest + '.txt'
    with open(listing, 'w') as f:
        for p in src_paths:
            f.write("file '%s'\n" % os.path.abspath(p).replace("'", "'\\''"))
    subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', listing,
                    '-map', '0', '-c', 'copy', dest], check=True)
    os.unlink(listing)
    return os.path.getsize(dest)


def make_av(path, target_bytes):
    import consumer_streams  # tests/client: one stream of fragments (a single Segment)
    # one Segment (so mkvinfo reads all of it) of one-second clusters at 2 Mbit/s, about
    # 250 KB each: 25 video frames (SimpleBlock) and, every other cluster, an audio
    # frame in a BlockGroup; every fourth cluster has an unknown size.
    clusters = max(1, round(target_bytes / 250000))
    total = consumer_streams.make_stream(path, clusters, 1000, consumer_streams.constant_rate(2000000, 1000),
                                         audio=True)
    return {'path': path, 'bytes': total, 'clusters': clusters, 'segments': 1}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--workdir', default='/tmp/kvsp-bench')
    p.add_argument('--captures', default=os.path.join(REPO_ROOT, '..', 'shared', 'kvs-captures'))
    p.add_argument('--capture', default='output_get_media.mkv')
    p.add_argument('--repeat', type=int, default=100, help='copies of the capture in chain.mkv (default 100)')
    p.add_argument('--stress-mb', type=float, default=100.0, help='size of stress.mkv in MB (default 100)')
    p.add_argument('--av-mb', type=float, default=100.0, help='size of av.mkv in MB (default 100)')
    p.add_argument('--tagged-mb', type=float, default=200.0, help='size of tagged.mkv in MB (default 200)')
    p.add_argument('--decode-repeat', type=int, default=4, help='copies of the capture in decode.mkv (default 4)')
    a = p.parse_args(argv)
    work = os.path.abspath(a.workdir)
    root = os.path.realpath(REPO_ROOT)
    if os.path.realpath(work) == root or os.path.realpath(work).startswith(root + os.sep):
        p.error('--workdir must be outside the repository')
    os.makedirs(work, exist_ok=True)
    cap = os.path.join(os.path.abspath(a.captures), a.capture)
    if not os.path.isfile(cap):
        p.error('capture not found: %s' % cap)
    out = {}
    chain_path = os.path.join(work, 'chain.mkv')
    out['chain'] = {'path': chain_path, 'bytes': chain([cap], a.repeat, chain_path),
                    'repeat': a.repeat, 'capture': a.capture}
    dec_path = os.path.join(work, 'decode.mkv')
    out['decode'] = {'path': dec_path, 'bytes': concat([cap] * a.decode_repeat, dec_path),
                     'repeat': a.decode_repeat, 'capture': a.capture, 'made_by': 'ffmpeg -f concat -c copy'}
    out['stress'] = make_stress(os.path.join(work, 'stress.mkv'), int(a.stress_mb * 1e6))
    out['av'] = make_av(os.path.join(work, 'av.mkv'), int(a.av_mb * 1e6))
    out['tagged'] = make_tagged(os.path.join(work, 'tagged.mkv'), int(a.tagged_mb * 1e6))
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
