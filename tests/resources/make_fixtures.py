#!/usr/bin/env python3
"""Generate the small Matroska/EBML fixtures for kvsparser's tests, plus fixtures.json.

Usage:  python3 tests/resources/make_fixtures.py          # regenerate fixtures + manifest
        python3 tests/resources/make_fixtures.py --check  # validate them with mkvinfo/ffprobe/ffmpeg

Real codec payloads come from ffmpeg (libx264, libx265, native AAC, PCM), muxed by ffmpeg into
a temporary .mkv; a small EBML reader takes CodecPrivate, track parameters and frames out of it
(fixture_sources.py), and a small EBML writer (ebml_writer.py) lays each fixture out with exactly
the structure wanted, tallying what it wrote for fixtures.json.  Output is byte-for-byte
deterministic for a given ffmpeg build (bitexact, one thread, fixed UIDs).

This file holds the fixture builders (fx_*), the manifest and the command line; --check lives in
fixture_checks.py.

Why each fixture exists:
  h264_blockgroups.mkv    every frame in a BlockGroup (Block, BlockDuration, ReferenceBlock for
                          non-keyframes), known-size Segment and 2 Clusters.
  lacing_xiph.mkv         AAC in Xiph-laced SimpleBlocks (2..8 frames per lace, frames >= 255
                          bytes so 0xFF size bytes occur), mixed with unlaced blocks.
  lacing_ebml.mkv         the same frames with EBML lacing (signed VINT size differences).
  lacing_fixed.mkv        equal-size PCM frames with fixed-size lacing, mixed with unlaced blocks.
  kvs_unknown_size_8byte.mkv  a GetMedia-like chain of 3 fragments (EBML header + Segment each),
                          Segment and Cluster of unknown size (01 FF FF FF FF FF FF FF), the
                          AWS_KINESISVIDEO_* tags before and after the Cluster; one tag value
                          ends in a NUL byte, as real KVS output does.
  kvs_unknown_size_1byte.mkv  the same chain with the 1-byte unknown size (FF).
  known_size_cluster.mkv  SeekHead, Void, Info, Tracks, 2 known-size Clusters each starting with a
                          correct CRC-32 element, Cues.
  h265_track.mkv          HEVC (hvcC CodecPrivate) in SimpleBlocks.
  audio_video.mkv         H.264 track 1 + AAC track 2 (SamplingFrequency, Channels), interleaved.
  kvs_fragment_list.mkv   a GetMediaForFragmentList-like payload: 3 fragments, known-size Segments
                          and Clusters, _SIDE_TIMESTAMP tags before the Cluster, no Tags after it.
  kvs_error_tags.mkv      a GetMedia-like chain (8-byte unknown sizes): a normal fragment; an error
                          fragment (_ERROR_CODE, _ERROR_ID; no Cluster); a GetMediaForFragmentList
                          exception fragment (_EXCEPTION_ERROR_CODE, _EXCEPTION_MESSAGE; no Tracks,
                          no Cluster).
  kvs_user_tags.mkv       a GetMedia-like chain (1-byte unknown sizes) of 2 fragments, TimecodeScale
                          500000: H.264 track 1 (Name, Language, DisplayWidth/Height) + stereo AAC
                          track 2 (BitDepth) Xiph-laced; user SimpleTags (nested, TagBinary) in a
                          second Tag with an empty Targets, one more after the Cluster ending in NUL.
  kvs_resolution_change.mkv  a GetMedia-like chain (8-byte unknown sizes) of 4 fragments of 10 H.264
                          frames (10 fps, an IDR frame every 10 frames, so each fragment decodes alone):
                          fragments 0-1 at 160x96, 2-3 at 320x192, encoded separately (other avcC
                          CodecPrivate, PixelWidth/Height); Cluster timecodes 0, 1000, 2000, 3000 and
                          producer timestamps base + k * 1000 ms, continuous across the change.
  kvs_restart_at_zero.mkv a GetMedia-like chain (8-byte unknown sizes) of 3 fragments of 10 frames of
                          one H.264 stream (each starting with an IDR frame), every Cluster at timecode
                          0 (blocks 0..900 ms) while producer timestamps advance 1000 ms a fragment, as
                          from a producer that restarts its clock.
  kvs_absolute_timecodes.mkv  a GetMedia-like chain (8-byte unknown sizes) of 3 fragments of 10 H.264 frames
                          (160x96, IDR every 10) whose Cluster timecodes are absolute epoch times in ms, equal
                          to the producer timestamps, as from a producer with absolute fragment times: frame n
                          at 1700587217870 + 100 n ms, where (double)(ms * 1e6) / 1e6 is not ms.
  Three fixtures for frame decoders (each with keyframe_indexes: which frames are keyframes):
  kvs_mid_gop.mkv         a GetMedia-like chain (8-byte unknown sizes) joined mid-GOP: fragment 0 starts
                          with 3 P frames (frames 7-9 of a 320x192 encode, IDR every 10, no B frames)
                          whose reference frames are not in the file, then the GOP of frames 10-19;
                          fragments 1 and 2 are frames 20-29 and 30-39.  Keyframes at file frames 3,
                          13, 23; Cluster timecodes 700, 2000, 3000 (timestamps as encoded).
  kvs_corrupt_frame.mkv   a GetMedia-like chain (8-byte unknown sizes) of 3 fragments of 10 H.264 frames
                          (160x96, IDR every 10, no B frames) with one byte inverted (XOR 0xFF) in the
                          middle of the slice data of frame 14, a P frame: the container is intact,
                          ffmpeg reports a decode error for that frame (and conceals it).
  kvs_bframes.mkv         a GetMedia-like chain (8-byte unknown sizes) of 3 fragments of 10 H.264 frames
                          (160x96, 10 fps, IDR every 10, 2 B-frames: blocks in decode order, their
                          timecodes the presentation times, so they go back within a GOP); Cluster
                          timecodes 0, 1000, 2000, producer timestamps alike.
  odd_size_642x362.mkv    one plain Matroska file (known sizes, no KVS tags): 20 H.264 frames at
                          642x362 (not a multiple of 16: the SPS crops), IDR frames 0 and 10.
"""
import argparse
import collections
import fractions
import functools
import hashlib
import json
import os
import sys
import tempfile

import ebml_writer as W  # W.T: the Tally of the fixture being written
from ebml_writer import (CUE_CLUSTER_POSITION, CUE_POINT, CUE_TIME, CUE_TRACK, CUE_TRACK_POSITIONS, CUES,
                         INFO, MS, SEEK, SEEK_HEAD, SEEK_ID, SEEK_POSITION, TRACKS, VOID, block_group,
                         cluster, ebml_header, eid, el, info, master, segment, simple_block, tags, track_entry,
                         uint)
from fixture_checks import check
from fixture_sources import sources

HERE = os.path.dirname(os.path.abspath(__file__))


def video_blocks(frames, cluster_ts):  # unlaced SimpleBlocks of track 1
    return [simple_block(1, ts - cluster_ts, [data], key) for ts, key, data in frames]
def split(frames, size):  # noqa: E302
    return [frames[i:i + size] for i in range(0, len(frames), size)]


# ============================================================================ fixtures
def fx_h264_blockgroups(src):
    trk, frames = src["h264"]
    clusters, prev = [], 0
    for part in split(frames, 10):
        assert part[0][1], "clusters must start with a keyframe"
        groups = []
        for ts, key, data in part:  # ReferenceBlock: the previous frame, relative to this one
            groups.append(block_group(1, ts - part[0][0], data, key, 100, prev - ts))
            prev = ts
        clusters.append(cluster(part[0][0], groups))
    return ebml_header() + segment(info(2000), master(TRACKS, track_entry(1, trk, 100 * MS)), *clusters)


def laced_audio(trk, frames, pattern, lacing, per_cluster, default_duration_ns):
    """Group frames per pattern (1 = unlaced block) into SimpleBlocks, per_cluster groups each."""
    assert sum(pattern) == len(frames)
    groups = [frames[sum(pattern[:k]):sum(pattern[:k + 1])] for k in range(len(pattern))]
    clusters = []
    for part in split(groups, per_cluster):
        base = part[0][0][0]
        clusters.append(cluster(base, [simple_block(1, g[0][0] - base, [d for _, _, d in g], True,
                                                    "none" if len(g) == 1 else lacing) for g in part]))
    tracks = master(TRACKS, track_entry(1, trk, default_duration_ns, float_width=4))
    return ebml_header() + segment(info(), tracks, *clusters)


AAC_NS = round(1024 * 1e9 / 48000)


def fx_lacing_xiph(src):
    trk, frames = src["aac"]
    out = laced_audio(trk, frames[:40], [1, 3, 2, 5, 1, 8, 4, 1, 6, 2, 7], "xiph", 6, AAC_NS)
    assert W.T.xiph_ff_bytes > 0, "no lace size >= 255"
    return out


def fx_lacing_ebml(src):
    trk, frames = src["aac"]
    out = laced_audio(trk, frames[:40], [2, 1, 4, 8, 3, 1, 5, 6, 1, 2, 7], "ebml", 5, AAC_NS)
    assert min(W.T.ebml_lace_diffs) < 0 < max(W.T.ebml_lace_diffs)
    return out


def fx_lacing_fixed(src):
    trk, frames = src["pcm"]
    return laced_audio(trk, frames, [4, 1, 2, 8, 3, 1, 6, 2, 1, 5, 7], "fixed", 6, 10 * MS)


def seconds_ms(value):  # "1700000001.113" -> 1700000001113, in integers
    sec, frac = value.split(".")
    assert sec.isdigit() and frac.isdigit() and len(frac) == 3, value
    return int(sec) * 1000 + int(frac)


KVS_TAGS = {  # the AWS_KINESISVIDEO_* SimpleTags: manifest key, value (trailing NULs stripped) -> fact
    "AWS_KINESISVIDEO_" + name: (key, convert) for name, key, convert in (
        ("FRAGMENT_NUMBER", "fragment_number", str),
        ("SERVER_TIMESTAMP", "server_timestamp_ms", seconds_ms),
        ("SERVER_SIDE_TIMESTAMP", "server_timestamp_ms", seconds_ms),
        ("PRODUCER_TIMESTAMP", "producer_timestamp_ms", seconds_ms),
        ("PRODUCER_SIDE_TIMESTAMP", "producer_timestamp_ms", seconds_ms),
        ("MILLIS_BEHIND_NOW", "millis_behind_now", int), ("CONTINUATION_TOKEN", "continuation_token", str),
        ("ERROR_ID", "error_id", int), ("ERROR_CODE", "error_code", str),
        ("EXCEPTION_ERROR_CODE", "error_code", str), ("EXCEPTION_MESSAGE", "error_message", str))}
FRAGMENT_KEYS = ("fragment_number", "server_timestamp_ms", "producer_timestamp_ms", "millis_behind_now",
                 "continuation_token", "error_id", "error_code", "error_message")


def ticks_ms(ticks, scale):  # int when whole, else the exact binary fraction (x.5 with 0.5 ms ticks)
    ms = fractions.Fraction(ticks * scale, 1000000)
    return int(ms) if ms.denominator == 1 else float(ms)


def fragment_facts(video_size=False):
    """The "fragments" manifest field, from the Fragment records of what was written; video_size adds
    the width and height of each fragment's own video TrackEntry."""
    pre = W.T.fragments[0]
    assert not (pre.tags or pre.clusters or pre.blocks or pre.scale), "written before the first EBML header"
    out = []
    for rec in W.T.fragments[1:]:
        f = collections.OrderedDict((key, None) for key in FRAGMENT_KEYS)
        user = []
        for name, value, depth in rec.tags:
            if name in KVS_TAGS and depth == 0:
                key, convert = KVS_TAGS[name]
                assert f[key] is None, name
                f[key] = convert(value.rstrip("\0"))
            else:
                binary = isinstance(value, bytes)
                user.append(collections.OrderedDict(name=name, value=None if binary else value.rstrip("\0"),
                                                    binary_hex=value.hex() if binary else None, depth=depth))
        assert len(rec.clusters) <= 1 and (rec.clusters or not rec.blocks)
        scale = rec.scale or MS
        ticks = [rec.clusters[0] + rel for _, rel, _ in rec.blocks]
        frames = collections.Counter()
        for track, _, n in rec.blocks:
            frames[str(track)] += n
        f.update(has_cluster=bool(rec.clusters), cluster_timecode=rec.clusters[0] if rec.clusters else None,
                 timecode_scale=scale, frames_per_track=dict(sorted(frames.items())),
                 first_pts_ms=ticks_ms(ticks[0], scale) if ticks else None,
                 last_pts_ms=ticks_ms(ticks[-1], scale) if ticks else None, user_tags=user)
        if video_size:
            (video,) = [fact for _, fact in rec.tracks if "width" in fact]
            f.update(width=video["width"], height=video["height"])
        out.append(f)
    return out


KVS_PRODUCER_BASE_MS = 1700000000500  # producer timestamp of a chain's start, server 613 ms later


def kvs_ids(k, start_ms):
    """Number of the k-th fragment (47 digits, as KVS writes them), server and producer timestamps."""
    number = str(91343852333181432390000000000000000000000000001 + k * 4951760157141521099596496)
    assert len(number) == 47
    producer = KVS_PRODUCER_BASE_MS + start_ms
    return number, "%d.%03d" % divmod(producer + 613, 1000), "%d.%03d" % divmod(producer, 1000)


def chain(builders, unknown=None, video_size=False):
    """Fragments back to back: an EBML header, then a Segment of what builder() returns, each."""
    out, offsets = b"", []
    for build in builders:
        offsets.append(len(out))
        header = ebml_header()
        out += header + segment(*build(), unknown=unknown)
    return out, {"fragment_offsets": offsets, "fragments": fragment_facts(video_size)}


def kvs_chain(src, form):
    trk, frames = src["h264"]
    tracks = master(TRACKS, track_entry(1, trk, 100 * MS))
    out, details, offsets = b"", [], []
    for k, part in enumerate(split(frames[:15], 5)):
        offsets.append(len(out))
        header = ebml_header()
        assert part[0][1]
        number, server, producer = kvs_ids(k, part[0][0])
        d = collections.OrderedDict(
            fragment_number=number, server_timestamp=server, producer_timestamp=producer,
            millis_behind_now=str(15858 - 500 * k), continuation_token=number, cluster_timecode=part[0][0],
            simple_blocks=len(part), nul_terminated=["AWS_KINESISVIDEO_CONTINUATION_TOKEN"] if k == 1 else [])
        head = tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number),
                     ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", d["server_timestamp"]),
                     ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", d["producer_timestamp"])])
        tail = tags([("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", d["millis_behind_now"]),
                     ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number + ("\0" if k == 1 else ""))])
        body = cluster(part[0][0], video_blocks(part, part[0][0]), unknown=form)
        out += header + segment(info(), tracks, head, body, tail, unknown=form)
        details.append(d)
    return out, {"fragment_offsets": offsets, "kvs_fragments": details, "fragments": fragment_facts()}


def fx_kvs_unknown_size_8byte(src):
    return kvs_chain(src, 8)
def fx_kvs_unknown_size_1byte(src):  # noqa: E302
    return kvs_chain(src, 1)


def fx_kvs_fragment_list(src):
    trk, frames = src["h264"]
    tracks = master(TRACKS, track_entry(1, trk, 100 * MS))

    def fragment(k, part):  # known sizes; _SIDE_ timestamp names; no Tags after the Cluster
        number, server, producer = kvs_ids(k, part[0][0])
        head = tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number),
                     ("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", server),
                     ("AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP", producer)])
        return [info(), tracks, head, cluster(part[0][0], video_blocks(part, part[0][0]))]
    return chain([functools.partial(fragment, k, p) for k, p in zip((3, 4, 6), split(frames[:15], 5))])


def fx_kvs_error_tags(src):
    trk, frames = src["h264"]
    tracks = master(TRACKS, track_entry(1, trk, 100 * MS))
    number, server, producer = kvs_ids(0, 0)
    missing = kvs_ids(2, 1000)[0]

    def normal():
        head = tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number), ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", server),
                     ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", producer)])
        tail = tags([("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "3021"),
                     ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number + "\0")])
        return [info(), tracks, head, cluster(0, video_blocks(frames[:5], 0), unknown=8), tail]

    def error():  # GetMedia stopped: 4000 is "Requested fragment is not found"
        return [info(), tracks, tags([("AWS_KINESISVIDEO_ERROR_CODE", "FRAGMENT_NOT_FOUND"),
                                      ("AWS_KINESISVIDEO_ERROR_ID", "4000")])]

    def exception():  # GetMediaForFragmentList could not read a listed fragment: no Tracks either
        message = 'Fragment "%s" not found: it may be past the stream\'s retention period (24 h).' % missing
        return [info(), tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", missing),
                              ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "ResourceNotFoundException"),
                              ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", message)])]
    return chain([normal, error, exception], unknown=8)


def get_media_fragment(k, frames, cluster_ts, producer_ms, trk, leading=0):
    """One GetMedia fragment (8-byte unknown sizes): Info, Tracks of trk, the leading AWS_KINESISVIDEO_*
    tags (fragment k, producer timestamp producer_ms after the chain's base), a Cluster of unlaced
    SimpleBlocks at timecode cluster_ts, the closing tags.  frames: (ms since cluster_ts, key, data).
    The fragment starts with a keyframe, or with leading non-keyframes and then one (joined mid-GOP)."""
    assert [key for _, key, _ in frames[:leading + 1]] == [False] * leading + [True], \
        "a fragment starts with a keyframe (after the leading non-keyframes)"
    number, server, producer = kvs_ids(k, producer_ms)
    head = tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number), ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", server),
                 ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", producer)])
    tail = tags([("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", str(4210 - 1000 * k)),
                 ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number)])
    body = cluster(cluster_ts, [simple_block(1, rel, [data], key) for rel, key, data in frames], unknown=8)
    return [info(), master(TRACKS, track_entry(1, trk, 100 * MS)), head, body, tail]


def gop_fragments(frames, count):
    """count fragments of 10 frames (1 s) each; timestamps from 0 ms in 100 ms steps, as ffmpeg gave."""
    assert [ts for ts, _, _ in frames[:10 * count]] == list(range(0, 1000 * count, 100))
    return split(frames[:10 * count], 10)


def fx_kvs_resolution_change(src):
    """Fragments 0-1 at 160x96, 2-3 at 320x192 (their own SPS/PPS in CodecPrivate); timecodes and
    producer timestamps run on: fragment k at k * 1000 ms."""
    small, large = src["h264_gop10_160x96"], src["h264_gop10_320x192"]
    parts = [(small[0], p) for p in gop_fragments(small[1], 2)] + \
            [(large[0], p) for p in gop_fragments(large[1], 4)[2:]]
    assert small[0]["private"] != large[0]["private"]
    return chain([functools.partial(get_media_fragment, k, [(ts - 1000 * k, key, d) for ts, key, d in p],
                                    1000 * k, 1000 * k, trk) for k, (trk, p) in enumerate(parts)],
                 unknown=8, video_size=True)


def fx_kvs_restart_at_zero(src):
    """Each fragment's Cluster timecode is 0 (block timecodes 0..900), as from a producer whose clock
    restarts, while the producer timestamps advance 1000 ms a fragment."""
    trk, frames = src["h264_gop10_160x96"]
    return chain([functools.partial(get_media_fragment, k, [(ts - 1000 * k, key, d) for ts, key, d in p],
                                    0, 1000 * k, trk) for k, p in enumerate(gop_fragments(frames, 3))],
                 unknown=8)


ABSOLUTE_BASE_MS = 1700587217870  # an epoch time in ms; 2 mod 4, so its ns (2^7 x odd) round in a double


def fx_kvs_absolute_timecodes(src):
    """The 30 frames of the 160x96 encode (100 ms apart) from an epoch time in ms, in 3 fragments of 10;
    each Cluster's timecode (TimecodeScale 1 ms) is its first frame's time and equals the fragment's
    producer timestamp."""
    trk, frames = src["h264_gop10_160x96"]
    starts = [ABSOLUTE_BASE_MS + 1000 * k for k in range(3)]
    assert all(float((t + ms) * MS) / 1e6 != t + ms for t in starts for ms in range(0, 1000, 100)), \
        "every frame time must be one the plain double division does not give back"
    return chain([functools.partial(get_media_fragment, k, [(ts - 1000 * k, key, d) for ts, key, d in p],
                                    starts[k], starts[k] - KVS_PRODUCER_BASE_MS, trk)
                  for k, p in enumerate(gop_fragments(frames, 3))], unknown=8)


def keyframe_indexes(frames):
    """The "keyframe_indexes" fact of a one-track fixture: 0-based over the file's frames of track 1."""
    return {"1": [n for n, (_, key, _) in enumerate(frames) if key]}


def fx_kvs_mid_gop(src):
    """A chain joined mid-GOP: the first fragment starts with frames 7, 8, 9 of the 320x192 encode (P
    frames; the IDR frame 0 they predict from is not in the file), then the GOP of frames 10-19;
    fragments 1 and 2 are frames 20-29 and 30-39, each from its IDR frame.  Timestamps as encoded
    (frame n at n * 100 ms): Cluster timecodes 700, 2000, 3000; producer timestamps alike."""
    trk, frames = src["h264_gop10_320x192"]
    assert [key for _, key, _ in frames] == [n % 10 == 0 for n in range(40)]
    parts = [frames[MID_GOP_DROPPED:20], frames[20:30], frames[30:40]]
    out, extra = chain([functools.partial(get_media_fragment, k, [(ts - p[0][0], key, d) for ts, key, d in p],
                                          p[0][0], p[0][0], trk, leading=MID_GOP_LEADING if k == 0 else 0)
                        for k, p in enumerate(parts)], unknown=8)
    written = [f for p in parts for f in p]
    extra.update(keyframe_indexes=keyframe_indexes(written), frames_before_first_keyframe=MID_GOP_LEADING,
                 encoded_frames_dropped=MID_GOP_DROPPED)
    return out, extra


def fx_kvs_bframes(src):
    """3 fragments of one B-frame encode, each a closed GOP from its IDR frame (frames in decode order,
    timestamps as encoded: presentation times, frame n shown at n * 100 ms)."""
    trk, frames = src["h264_bf2"]
    assert [key for _, key, _ in frames] == [n % 10 == 0 for n in range(30)]
    assert [ts for ts, _, _ in frames] != sorted(ts for ts, _, _ in frames), "no B-frames"
    parts = split(frames, 10)
    out, extra = chain([functools.partial(get_media_fragment, k, [(ts - 1000 * k, key, d) for ts, key, d in p],
                                          1000 * k, 1000 * k, trk) for k, p in enumerate(parts)], unknown=8)
    extra.update(keyframe_indexes=keyframe_indexes(frames))
    return out, extra


MID_GOP_DROPPED = 7   # frames 0-6 of the encode (its first IDR frame included) are left out
MID_GOP_LEADING = 10 - MID_GOP_DROPPED


def avcc_nals(private, payload):
    """(offset in payload of the NAL unit header, NAL unit type, NAL unit length) of an avcC frame."""
    assert private[0] == 1
    width, pos, out = (private[4] & 3) + 1, 0, []
    while pos < len(payload):
        n = int.from_bytes(payload[pos:pos + width], "big")
        out.append((pos + width, payload[pos + width] & 0x1F, n))
        pos += width + n
    assert pos == len(payload)
    return out


def slice_data_byte(private, payload):
    """A byte in the middle of the frame's one coded slice (a non-IDR slice NAL, type 1), far past the
    slice header (a few bytes) and away from zero bytes, so flipping it neither makes nor breaks an
    emulation prevention pattern (00 00 03) or a start code: the NAL keeps its size and structure."""
    (start, _, n), = [nal for nal in avcc_nals(private, payload) if nal[1] == 1]
    assert n >= 64, n
    pos = start + n // 2
    while payload[pos] in (0x00, 0x03, 0xFC, 0xFF) or 0 in payload[pos - 2:pos + 3]:
        pos += 1
    assert pos < start + n - 16
    return pos


CORRUPTED_FRAME = 14  # the 5th frame of fragment 1, a P frame


def fx_kvs_corrupt_frame(src):
    """The 30 frames of the 160x96 encode in 3 GetMedia fragments of 10 (each from its IDR frame, Cluster
    timecodes and producer timestamps k * 1000 ms), with one byte of the slice data of frame 14 (a P
    frame) inverted: the container is intact, the picture data is not."""
    trk, frames = src["h264_gop10_160x96"]
    frames = list(frames[:30])
    ts, key, payload = frames[CORRUPTED_FRAME]
    assert not key
    pos = slice_data_byte(trk["private"], payload)
    bad = payload[:pos] + bytes([payload[pos] ^ 0xFF]) + payload[pos + 1:]
    frames[CORRUPTED_FRAME] = ts, key, bad
    out, extra = chain([functools.partial(get_media_fragment, k, [(ts - 1000 * k, key, d) for ts, key, d in p],
                                          1000 * k, 1000 * k, trk) for k, p in enumerate(gop_fragments(frames, 3))],
                       unknown=8)
    assert out.count(bad) == 1
    nal = [s for s, t, _ in avcc_nals(trk["private"], bad) if t == 1][0]
    extra.update(keyframe_indexes=keyframe_indexes(frames), corrupted_frame_index=CORRUPTED_FRAME,
                 corrupted_track=1, corrupted_frame_offset=out.find(bad), corrupted_frame_size=len(bad),
                 corrupted_byte_in_frame=pos, corrupted_byte_in_nal=pos - nal,
                 corrupted_byte_offset=out.find(bad) + pos, corrupted_byte_original=payload[pos],
                 corrupted_byte_value=bad[pos])
    return out, extra


def fx_odd_size_642x362(src):
    """One plain Matroska file (known sizes): 20 H.264 frames at 642x362, IDR frames 0 and 10, a Cluster
    of 10 each."""
    trk, frames = src["h264_gop10_642x362"]
    assert (trk["width"], trk["height"]) == (642, 362) and len(frames) == 20
    clusters = [cluster(p[0][0], video_blocks(p, p[0][0])) for p in split(frames, 10)]
    out = ebml_header() + segment(info(2000), master(TRACKS, track_entry(1, trk, 100 * MS)), *clusters)
    return out, {"keyframe_indexes": keyframe_indexes(frames)}


HALF_MS = 500000  # TimecodeScale of kvs_user_tags.mkv: 0.5 ms ticks


def fx_kvs_user_tags(src):
    vtrk, vframes = src["h264"]
    atrk, aframes = src["aac_stereo"]
    vtrk = dict(vtrk, name="Dock camera 7", language="eng", display_width=320, display_height=192)
    tracks = master(TRACKS, track_entry(1, vtrk, 100 * MS), track_entry(2, dict(atrk, bit_depth=16), AAC_NS))

    # timecodes in 0.5 ms ticks; audio frame n at n * 1024 / 48 kHz exactly (42.67 ticks), rounded
    aticks = [((n * 128 + 1) // 3, key, d) for n, (_, key, d) in enumerate(aframes)]

    def fragment(k, part):  # video unlaced, audio Xiph-laced 4 frames a block
        start = 2 * part[0][0]
        audio = [f for f in aticks if start <= f[0] < start + 1000]
        items = sorted([(2 * ts, 1, [d], key) for ts, key, d in part] +
                       [(g[0][0], 2, [d for _, _, d in g], True) for g in split(audio, 4)], key=lambda x: x[:2])
        blocks = [simple_block(t, ts - start, fr, key, "xiph" if len(fr) > 1 else "none")
                  for ts, t, fr, key in items]
        number, server, producer = kvs_ids(k, part[0][0])
        head = tags([("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number), ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", server),
                     ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", producer)],
                    user=[("DEVICE_NAME", "camera-7"), ("LOCATION", "dock", [("GPS", "47.6,-122.3")]),
                          ("THUMB_HASH", bytes([0x00, 0xFF, 0x5A, 0xA5, 0x80, 0x7F, 0x01, k]))])
        tail = tags([("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", str(2400 - 500 * k)),
                     ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number), ("FIRMWARE", "kvs-producer 3.4.1\0")])
        return [info(scale=HALF_MS), tracks, head, cluster(start, blocks, unknown=1), tail]
    return chain([functools.partial(fragment, k, p) for k, p in enumerate(split(vframes[:10], 5))], unknown=1)


def fx_known_size_cluster(src):
    trk, frames = src["h264"]
    head = info(1000) + master(TRACKS, track_entry(1, trk, 100 * MS))
    void = el(VOID, bytes(32))
    clusters = [cluster(p[0][0], video_blocks(p, p[0][0]), crc=True) for p in split(frames[:10], 5)]

    def seek_head(positions):  # 4-byte SeekPosition so the SeekHead size does not depend on them
        return master(SEEK_HEAD, *(master(SEEK, el(SEEK_ID, eid(i)), uint(SEEK_POSITION, p, 4))
                                   for i, p in positions))
    offset = len(seek_head([(INFO, 0), (TRACKS, 0), (CUES, 0)])) + len(void)
    info_pos, tracks_pos = offset, offset + len(info(1000))
    cluster_pos = [offset + len(head) + sum(len(c) for c in clusters[:n]) for n in range(len(clusters))]
    cues_pos = offset + len(head) + sum(len(c) for c in clusters)
    cues = master(CUES, *(master(CUE_POINT, uint(CUE_TIME, p[0][0]), master(
        CUE_TRACK_POSITIONS, uint(CUE_TRACK, 1), uint(CUE_CLUSTER_POSITION, pos, 4)))
        for p, pos in zip(split(frames[:10], 5), cluster_pos)))
    sh = seek_head([(INFO, info_pos), (TRACKS, tracks_pos), (CUES, cues_pos)])
    return ebml_header() + segment(sh, void, head, *clusters, cues)


def fx_h265_track(src):
    trk, frames = src["h265"]
    clusters = [cluster(p[0][0], video_blocks(p, p[0][0])) for p in split(frames, 6)]
    return ebml_header() + segment(info(1200), master(TRACKS, track_entry(1, trk, 100 * MS)), *clusters)


def fx_audio_video(src):
    vtrk, vframes = src["h264"]
    atrk, aframes = src["aac"]
    items = sorted([(ts, 1, key, d) for ts, key, d in vframes] +
                   [(ts, 2, key, d) for ts, key, d in aframes if ts < 2000])
    clusters = []
    for part in ([x for x in items if x[0] < 1000], [x for x in items if x[0] >= 1000]):
        base = part[0][0]
        assert part[0][1] == 1 and part[0][2]
        clusters.append(cluster(base, [simple_block(t, ts - base, [d], key) for ts, t, key, d in part]))
    tracks = master(TRACKS, track_entry(1, vtrk, 100 * MS), track_entry(2, atrk, AAC_NS))
    return ebml_header() + segment(info(2000), tracks, *clusters)


FIXTURES = collections.OrderedDict(
    (f.__name__[3:] + ".mkv", f) for f in (
        fx_h264_blockgroups, fx_lacing_xiph, fx_lacing_ebml, fx_lacing_fixed, fx_kvs_unknown_size_8byte,
        fx_kvs_unknown_size_1byte, fx_known_size_cluster, fx_h265_track, fx_audio_video, fx_kvs_fragment_list,
        fx_kvs_error_tags, fx_kvs_user_tags, fx_kvs_resolution_change, fx_kvs_restart_at_zero,
        fx_kvs_mid_gop, fx_kvs_corrupt_frame, fx_odd_size_642x362, fx_kvs_absolute_timecodes,
        fx_kvs_bframes))


FIELDS = collections.OrderedDict([
    ("ebml_headers, segments, clusters", "number of EBML header, Segment and Cluster elements"),
    ("simple_blocks, block_groups, blocks", "SimpleBlock, BlockGroup, and Block (inside BlockGroup) elements"),
    ("crc32", "CRC-32 elements (first child of each Cluster that has one)"),
    ("tags, tag, simple_tags", "Tags, Tag and SimpleTag elements"),
    ("lacing, laced_blocks", "lacing used (none/xiph/ebml/fixed) and how many blocks are laced"),
    ("frames_per_track, keyframes_per_track", "frames per track number after splitting laces"),
    ("unknown_size, unknown_size_length", "masters written with unknown size (counts); size length 8 or 1"),
    ("tracks", "track parameters as written; rate = SamplingFrequency, codec_private in hex"),
    ("fragment_offsets, kvs_fragments", "KVS chains: byte offset of each EBML header; tag values "
                                        "(without the NUL of the names in nul_terminated)"),
    ("fragments", "KVS chains, per EBML header + Segment in order: AWS_KINESISVIDEO_* tag values as written "
                  "(trailing NULs stripped; *_TIMESTAMP and *_SIDE_TIMESTAMP as exact ms; error_code from "
                  "_ERROR_CODE or _EXCEPTION_ERROR_CODE, error_message from _EXCEPTION_MESSAGE), null when "
                  "absent; the Cluster's timecode in ticks of timecode_scale (Info's TimestampScale); "
                  "frames_per_track with laces split; first/last_pts_ms of the first and last block in "
                  "file order = (cluster + block timecode) * timecode_scale / 1e6 (a lace's frames share "
                  "it); user_tags: every other SimpleTag in file order, nested ones after their parent "
                  "with depth 1, value (TagString, NULs stripped) or binary_hex (TagBinary)"),
    ("width, height", "kvs_resolution_change only, in each fragments entry: PixelWidth and PixelHeight of "
                      "that fragment's own video TrackEntry (its CodecPrivate differs with them; tracks "
                      "holds a chain's first TrackEntry)"),
    ("keyframe_indexes", "fixtures for frame decoders: per track, the 0-based indexes (over the whole file, "
                         "in file order) of its keyframes"),
    ("frames_before_first_keyframe, encoded_frames_dropped",
     "kvs_mid_gop: non-keyframes before the first keyframe (P frames whose references are not in the "
     "file; ffmpeg outputs nothing for them), and how many frames of the encode (from its first IDR "
     "frame) were left out before them"),
    ("corrupted_frame_index, corrupted_track, corrupted_frame_offset, corrupted_frame_size",
     "kvs_corrupt_frame: the 0-based index (over the file) of the frame with a corrupted byte, its track, "
     "the file offset and size of its data (the SimpleBlock's payload after track number, timecode, flags)"),
    ("corrupted_byte_offset, corrupted_byte_in_frame, corrupted_byte_in_nal, corrupted_byte_original, "
     "corrupted_byte_value", "kvs_corrupt_frame: the inverted byte: its file offset, offset in the frame "
     "data and from the slice NAL unit's header byte, value before (as encoded) and after (XOR 0xFF)"),
])
COUNTS = ("ebml_headers", "segments", "clusters", "simple_blocks", "block_groups", "blocks",
          "crc32", "tags", "tag", "simple_tags", "laced_blocks")


def facts(name, data, extra):
    """The manifest entry, from the Tally the writer filled while writing this fixture."""
    T = W.T
    lacing = sorted(T.lacing - {"none"}) or ["none"]
    assert len(lacing) == 1
    f = collections.OrderedDict(file=name, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    f.update((key, T.count[key]) for key in COUNTS)
    f["lacing"] = lacing[0]
    f["frames_per_track"] = {str(t): n for t, n in sorted(T.frames.items())}
    f["keyframes_per_track"] = {str(t): T.keyframes[t] for t in sorted(T.frames)}
    f["codec_ids"] = {str(t): c["codec_id"] for t, c in sorted(T.tracks.items())}
    f["tracks"] = {str(t): c for t, c in sorted(T.tracks.items())}
    f["unknown_size"] = dict(sorted(T.unknown.items()))
    f["unknown_size_length"] = max(T.unknown_lengths) if T.unknown_lengths else None
    f["cluster_timecodes"] = T.cluster_timecodes
    if T.xiph_ff_bytes:
        f["xiph_ff_size_bytes"] = T.xiph_ff_bytes
    f.update(extra)
    return f


def generate(outdir):
    with tempfile.TemporaryDirectory() as tmp:
        src = sources(tmp)
    manifest = collections.OrderedDict(generator="tests/resources/make_fixtures.py", fields=FIELDS, fixtures={})
    for name, fn in FIXTURES.items():
        W.new_tally()
        result = fn(src)
        data, extra = result if isinstance(result, tuple) else (result, {})
        assert len(data) < 80000, name
        manifest["fixtures"][name] = facts(name, data, extra)
        with open(os.path.join(outdir, name), "wb") as fh:
            fh.write(data)
        print("wrote %-28s %6d bytes" % (name, len(data)))
    with open(os.path.join(outdir, "fixtures.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="validate the existing fixtures")
    args = ap.parse_args()
    sys.exit(check(HERE) if args.check else generate(HERE))
