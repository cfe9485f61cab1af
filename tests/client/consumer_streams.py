"""Synthetic streams for kvsp serve --live, used by consumer_test.py and
bench/consumer_bench.py: one .mkv file (unknown-size Segment, Info, Tracks,
then one Cluster per fragment, `fragment_ms` apart), written with the
fixture writer of tests/resources (ebml_writer.py). Standard library only.
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'resources'))
import ebml_writer as W  # noqa: E402

VIDEO = {'codec_id': 'V_MPEG4/ISO/AVC', 'width': 320, 'height': 240}
AUDIO = {'codec_id': 'A_OPUS', 'rate': 48000, 'channels': 2}


def varied_frames(k):
    """Video frame sizes of fragment k for the fault tests: a keyframe, small
    and middling frames, and every third fragment a frame larger than MHD's
    64 KiB block and libcurl's 16 KiB buffer."""
    sizes = [3000 + 97 * (k % 11), 150, 900 + 13 * k, 40, 2500]
    if k % 3 == 1:
        sizes.insert(2, 70000 + k)
    return sizes


def constant_rate(bits_per_second, fragment_ms, fps=25):
    """Frame sizes for a stream of about bits_per_second: a keyframe four
    times the size of the other frames of the fragment."""
    frames = max(1, fps * fragment_ms // 1000)
    total = bits_per_second * fragment_ms // 8000
    unit = max(1, total // (frames + 3))
    return lambda k: [4 * unit] + [unit] * (frames - 1)


def make_stream(path, fragments, fragment_ms, frame_sizes=varied_frames, audio=True, seed=7):
    """Writes the stream; returns its size. With audio, odd fragments also
    carry an audio frame in a BlockGroup (Block, BlockDuration) and every
    fourth Cluster has an unknown size (it ends at the next one)."""
    rng = random.Random(seed)
    W.new_tally()
    header = W.ebml_header()
    entries = [W.track_entry(1, VIDEO, 40000000)]
    if audio:
        entries.append(W.track_entry(2, AUDIO, 20000000))
    tracks = W.master(W.TRACKS, *entries)
    clusters = []
    for k in range(fragments):
        sizes = frame_sizes(k)
        step = max(1, fragment_ms // max(1, len(sizes)))
        blocks = []
        for i, n in enumerate(sizes):
            blocks.append(W.simple_block(1, i * step, [rng.randbytes(n)], key=(i == 0)))
        if audio and k % 2 == 1:
            blocks.append(W.block_group(2, 5, rng.randbytes(120 + k), True, 20, 0))
        unknown = 8 if audio and k % 4 == 3 else None
        clusters.append(W.cluster(k * fragment_ms, blocks, unknown=unknown))
    data = header + W.segment(W.info(), tracks, *clusters, unknown=8)
    with open(path, 'wb') as f:
        f.write(data)
    return len(data)
