#!/usr/bin/env python3
"""Generate the small Matroska/EBML fixtures for kvsparser's tests, plus fixtures.json.

Usage:  python3 tests/resources/make_fixtures.py          # regenerate fixtures + manifest
        python3 tests/resources/make_fixtures.py --check  # validate them with mkvinfo/ffprobe/ffmpeg

Real codec payloads come from ffmpeg (libx264, libx265, native AAC, PCM), muxed by ffmpeg into
a temporary .mkv; a small EBML reader below takes CodecPrivate, track parameters and frames out
of it, and a small EBML writer lays each fixture out with exactly the structure wanted.  Output
is byte-for-byte deterministic for a given ffmpeg build (bitexact, one thread, fixed UIDs).

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
"""
import argparse
import collections
import fractions
import functools
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import types
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# Matroska element IDs (RFC 8794 / RFC 9559), marker bits included.
EBML, EBML_VERSION, EBML_READ_VERSION = 0x1A45DFA3, 0x4286, 0x42F7
EBML_MAX_ID_LENGTH, EBML_MAX_SIZE_LENGTH = 0x42F2, 0x42F3
DOCTYPE, DOCTYPE_VERSION, DOCTYPE_READ_VERSION = 0x4282, 0x4287, 0x4285
VOID, CRC32 = 0xEC, 0xBF
SEGMENT, SEEK_HEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x18538067, 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TIMECODE_SCALE, DURATION, MUXING_APP, WRITING_APP = 0x1549A966, 0x2AD7B1, 0x4489, 0x4D80, 0x5741
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83
CODEC_ID, CODEC_PRIVATE, DEFAULT_DURATION, NAME, LANGUAGE = 0x86, 0x63A2, 0x23E383, 0x536E, 0x22B59C
VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT, DISPLAY_WIDTH, DISPLAY_HEIGHT = 0xE0, 0xB0, 0xBA, 0x54B0, 0x54BA
AUDIO, SAMPLING_FREQUENCY, CHANNELS, BIT_DEPTH = 0xE1, 0xB5, 0x9F, 0x6264
CLUSTER, TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP = 0x1F43B675, 0xE7, 0xA3, 0xA0
BLOCK, BLOCK_DURATION, REFERENCE_BLOCK = 0xA1, 0x9B, 0xFB
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS = 0x1C53BB6B, 0xBB, 0xB3, 0xB7
CUE_TRACK, CUE_CLUSTER_POSITION = 0xF7, 0xF1
TAGS, TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487
TAG_BINARY, TARGETS = 0x4485, 0x63C0

MS = 1000000  # TimecodeScale: every timestamp in this script is in milliseconds


# ============================================================================ writer
def Tally():
    """What the writer emitted for the fixture being built; becomes its manifest entry."""
    C = collections.Counter
    return types.SimpleNamespace(count=C(), frames=C(), keyframes=C(), lacing=set(), unknown=C(),
                                 unknown_lengths=set(), cluster_timecodes=[], xiph_ff_bytes=0,
                                 ebml_lace_diffs=[], tracks={}, fragments=[Fragment()])


def Fragment():
    """What one EBML header + Segment got, in file order: Info's TimecodeScale, every SimpleTag
    (name, str or bytes value, depth), Cluster timecodes, blocks (track, relative timecode, frames)."""
    return types.SimpleNamespace(scale=None, tags=[], clusters=[], blocks=[])


T = Tally()
UNKNOWN_SIZE = {8: b"\x01" + b"\xff" * 7, 1: b"\xff"}
LACING_BITS = {"none": 0x00, "xiph": 0x02, "fixed": 0x04, "ebml": 0x06}


def vint(value, length=0):
    """Unsigned VINT, shortest form unless length is given; all-ones is reserved (unknown)."""
    if not length:
        length = 1
        while value >= (1 << (7 * length)) - 1:
            length += 1
    assert 1 <= length <= 8 and value < (1 << (7 * length)) - 1
    return ((1 << (7 * length)) | value).to_bytes(length, "big")


def svint(value):
    """Signed VINT of EBML lacing: stored as value + (2^(7n-1) - 1) in an n-byte VINT."""
    n = 1
    while abs(value) > (1 << (7 * n - 1)) - 1:
        n += 1
    return vint(value + (1 << (7 * n - 1)) - 1, n)


def eid(i):  # an element ID as bytes, marker bits included
    return i.to_bytes((i.bit_length() + 7) // 8, "big")
def el(i, payload):  # noqa: E302 (one-liners kept together)
    return eid(i) + vint(len(payload)) + payload
def uint(i, v, width=0):  # noqa: E302
    return el(i, v.to_bytes(width or max(1, (v.bit_length() + 7) // 8), "big"))
def flt(i, v, width=8):  # noqa: E302
    return el(i, struct.pack(">d" if width == 8 else ">f", v))
def text(i, s):  # noqa: E302
    return el(i, s.encode("utf-8"))


def master(i, *children, unknown=None, name=None):
    body = b"".join(children)
    if unknown:
        T.unknown[name] += 1
        T.unknown_lengths.add(unknown)
        return eid(i) + UNKNOWN_SIZE[unknown] + body
    return el(i, body)


def sint(i, v):
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return el(i, v.to_bytes(n, "big", signed=True))


def ebml_header():
    """Also opens the Fragment record the writers below fill: build it before the Segment's children."""
    T.count["ebml_headers"] += 1
    T.fragments.append(Fragment())
    return master(EBML, uint(EBML_VERSION, 1), uint(EBML_READ_VERSION, 1),
                  uint(EBML_MAX_ID_LENGTH, 4), uint(EBML_MAX_SIZE_LENGTH, 8),
                  text(DOCTYPE, "matroska"), uint(DOCTYPE_VERSION, 4), uint(DOCTYPE_READ_VERSION, 2))


def segment(*children, unknown=None):
    T.count["segments"] += 1
    return master(SEGMENT, *children, unknown=unknown, name="Segment")


def info(duration_ms=None, scale=MS):
    T.fragments[-1].scale = scale
    kids = [uint(TIMECODE_SCALE, scale), text(MUXING_APP, "kvsparser make_fixtures.py"),
            text(WRITING_APP, "kvsparser make_fixtures.py")]
    if duration_ms is not None:
        kids.append(flt(DURATION, float(duration_ms)))
    return master(INFO, *kids)


def track_entry(num, trk, default_duration_ns, float_width=8):
    fact = collections.OrderedDict(codec_id=trk["codec_id"], codec_private=trk.get("private", b"").hex(),
                                   default_duration_ns=default_duration_ns)
    fact.update((k, trk[k]) for k in ("name", "language", "width", "height", "display_width", "display_height",
                                      "rate", "channels", "bit_depth") if k in trk)
    if "rate" in trk:
        fact["rate_float_bytes"] = float_width
    T.tracks[num] = fact
    kids = [uint(TRACK_NUMBER, num), uint(TRACK_UID, 0x4B565350000 + num),
            uint(TRACK_TYPE, 1 if "width" in trk else 2), text(CODEC_ID, trk["codec_id"])]
    kids += [text(i, trk[k]) for i, k in ((NAME, "name"), (LANGUAGE, "language")) if k in trk]
    if trk.get("private"):
        kids.append(el(CODEC_PRIVATE, trk["private"]))
    kids.append(uint(DEFAULT_DURATION, default_duration_ns))
    if "width" in trk:
        video = [uint(i, trk[k]) for i, k in ((PIXEL_WIDTH, "width"), (PIXEL_HEIGHT, "height"),
                 (DISPLAY_WIDTH, "display_width"), (DISPLAY_HEIGHT, "display_height")) if k in trk]
        kids.append(master(VIDEO, *video))
    else:
        audio = [flt(SAMPLING_FREQUENCY, float(trk["rate"]), float_width), uint(CHANNELS, trk["channels"])]
        if trk.get("bit_depth"):
            audio.append(uint(BIT_DEPTH, trk["bit_depth"]))
        kids.append(master(AUDIO, *audio))
    return master(TRACK_ENTRY, *kids)


def block_body(track, rel, flags, frames, lacing):
    """Block / SimpleBlock payload (RFC 9559 §10.2-10.4): track, int16 timestamp, flags, laces."""
    T.fragments[-1].blocks.append((track, rel, len(frames)))
    out = bytearray(vint(track) + struct.pack(">h", rel))
    if lacing == "none":
        assert len(frames) == 1
        return bytes(out + bytes([flags]) + frames[0])
    assert len(frames) >= 2
    out += bytes([flags | LACING_BITS[lacing], len(frames) - 1])
    sizes = [len(f) for f in frames]
    if lacing == "xiph":
        for n in sizes[:-1]:
            out += b"\xff" * (n // 255) + bytes([n % 255])
            T.xiph_ff_bytes += n // 255
    elif lacing == "ebml":
        out += vint(sizes[0])
        for prev, cur in zip(sizes[:-2], sizes[1:-1]):
            out += svint(cur - prev)
            T.ebml_lace_diffs.append(cur - prev)
    else:
        assert lacing == "fixed" and len(set(sizes)) == 1
    return bytes(out) + b"".join(frames)


def tally_frames(track, frames, key, lacing):
    T.frames[track] += len(frames)
    T.keyframes[track] += len(frames) if key else 0
    T.lacing.add(lacing)
    T.count["laced_blocks"] += lacing != "none"


def simple_block(track, rel, frames, key, lacing="none"):
    T.count["simple_blocks"] += 1
    tally_frames(track, frames, key, lacing)
    return el(SIMPLE_BLOCK, block_body(track, rel, 0x80 if key else 0, frames, lacing))


def block_group(track, rel, frame, key, duration, reference):
    T.count["block_groups"] += 1
    T.count["blocks"] += 1
    tally_frames(track, [frame], key, "none")
    kids = [el(BLOCK, block_body(track, rel, 0, [frame], "none")), uint(BLOCK_DURATION, duration)]
    if not key:
        kids.append(sint(REFERENCE_BLOCK, reference))
    return master(BLOCK_GROUP, *kids)


def cluster(timecode, blocks, crc=False, unknown=None):
    T.count["clusters"] += 1
    T.cluster_timecodes.append(timecode)
    T.fragments[-1].clusters.append(timecode)
    body = uint(TIMECODE, timecode) + b"".join(blocks)
    if crc:
        T.count["crc32"] += 1
        body = el(CRC32, struct.pack("<I", zlib.crc32(body))) + body
    return master(CLUSTER, body, unknown=unknown, name="Cluster")


def simple_tag(name, value, nested=(), depth=0):
    """TagName, then TagString (str value) or TagBinary (bytes), then the nested (name, value[, nested])."""
    T.count["simple_tags"] += 1
    T.fragments[-1].tags.append((name, value, depth))  # before the nested ones: file order
    kids = [text(TAG_NAME, name), el(TAG_BINARY, value) if isinstance(value, bytes) else text(TAG_STRING, value)]
    return master(SIMPLE_TAG, *kids, *(simple_tag(*spec, depth=depth + 1) for spec in nested))


def tags(specs, user=()):
    """One Tags: a Tag of SimpleTags shaped like KVS output (no Targets); user specs, if any, in a
    second Tag with an empty Targets.  A spec is (name, value) or (name, value, nested specs)."""
    T.count.update(tags=1, tag=1 + bool(user))
    tag_list = [master(TAG, *(simple_tag(*spec) for spec in specs))]
    if user:
        tag_list.append(master(TAG, master(TARGETS), *(simple_tag(*spec) for spec in user)))
    return master(TAGS, *tag_list)


# ============================================================================ reader
def read_vint(buf, pos, keep_marker=False):
    first = buf[pos]
    length = 8 - first.bit_length() + 1
    assert 1 <= length <= 8, "bad VINT at %d" % pos
    value = int.from_bytes(buf[pos:pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
        assert value != (1 << (7 * length)) - 1, "unknown size in ffmpeg output"
    return value, pos + length


def elements(buf):
    pos = 0
    while pos < len(buf):
        i, pos = read_vint(buf, pos, keep_marker=True)
        size, pos = read_vint(buf, pos)
        yield i, buf[pos:pos + size]
        pos += size


def child(buf, i, default=None):  # the first child with ID i
    return next((body for j, body in elements(buf) if j == i), default)
def be(b):  # noqa: E302
    return int.from_bytes(b, "big")


def demux(path):
    """Tracks and frames of an unlaced, known-size Matroska file written by ffmpeg."""
    tracks, frames = {}, collections.defaultdict(list)
    for i, seg in elements(open(path, "rb").read()):
        for j, body in elements(seg) if i == SEGMENT else ():
            if j == INFO:
                assert be(child(body, TIMECODE_SCALE)) == MS
            elif j == TRACKS:
                for te in (te for k, te in elements(body) if k == TRACK_ENTRY):
                    t = {"codec_id": child(te, CODEC_ID).decode(), "private": child(te, CODEC_PRIVATE, b"")}
                    if child(te, VIDEO):
                        t["width"] = be(child(child(te, VIDEO), PIXEL_WIDTH))
                        t["height"] = be(child(child(te, VIDEO), PIXEL_HEIGHT))
                    if child(te, AUDIO):
                        freq = child(child(te, AUDIO), SAMPLING_FREQUENCY)
                        t["rate"] = int(struct.unpack(">d" if len(freq) == 8 else ">f", freq)[0])
                        t["channels"] = be(child(child(te, AUDIO), CHANNELS, b"\x01"))
                    tracks[be(child(te, TRACK_NUMBER))] = t
            elif j == CLUSTER:
                tc = be(child(body, TIMECODE))
                for k, b in elements(body):
                    if k in (SIMPLE_BLOCK, BLOCK_GROUP):
                        blk = b if k == SIMPLE_BLOCK else child(b, BLOCK)
                        key = bool(blk[3] & 0x80) if k == SIMPLE_BLOCK else child(b, REFERENCE_BLOCK) is None
                        track, p = read_vint(blk, 0)
                        rel, flags = struct.unpack(">hB", blk[p:p + 3])
                        assert flags & 0x06 == 0, "unexpected lacing from ffmpeg"
                        frames[track].append((tc + rel, key, blk[p + 3:]))
    return tracks, frames


# ============================================================================ sources
BITEXACT = ["-fflags", "+bitexact", "-flags", "+bitexact", "-threads", "1", "-map_metadata", "-1"]


def encode(tmp, name, args):
    """Encode with ffmpeg into tmp/name.mkv; return (track info, [(ts, key, payload)])."""
    path = os.path.join(tmp, name + ".mkv")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, *BITEXACT, path], check=True)
    tracks, frames = demux(path)
    assert list(tracks) == [1]
    t0 = frames[1][0][0]
    return tracks[1], [(ts - t0, key, data) for ts, key, data in frames[1]]


def sources(tmp):
    video = ["-f", "lavfi", "-i", "testsrc=size=160x96:rate=10", "-pix_fmt", "yuv420p", "-bf", "0"]
    src = {
        "h264": encode(tmp, "h264", video + ["-frames:v", "20", "-c:v", "libx264", "-g", "5"]),
        "h265": encode(tmp, "h265", video + ["-frames:v", "12", "-c:v", "libx265", "-g", "6", "-x265-params",
                                             "log-level=error:pools=none:frame-threads=1"]),
        "aac": encode(tmp, "aac", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:beep_factor=4",
                                   "-t", "2", "-ac", "1", "-c:a", "aac", "-b:a", "96k"]),
        "aac_stereo": encode(tmp, "aac_stereo", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                                                 "-t", "1", "-ac", "2", "-c:a", "aac", "-b:a", "128k"]),
        "pcm": encode(tmp, "pcm", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000",
                                   "-t", "0.4", "-ac", "1", "-c:a", "pcm_s16le"]),
    }
    # PCM: re-cut the sample stream into equal 10 ms frames (80 samples, 160 bytes) for fixed lacing.
    trk, frames = src["pcm"]
    pcm = b"".join(data for _, _, data in frames)
    trk.update(codec_id="A_PCM/INT/LIT", bit_depth=16)
    src["pcm"] = trk, [(i // 160 * 10, True, pcm[i:i + 160]) for i in range(0, len(pcm), 160)]
    return src


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
    assert T.xiph_ff_bytes > 0, "no lace size >= 255"
    return out


def fx_lacing_ebml(src):
    trk, frames = src["aac"]
    out = laced_audio(trk, frames[:40], [2, 1, 4, 8, 3, 1, 5, 6, 1, 2, 7], "ebml", 5, AAC_NS)
    assert min(T.ebml_lace_diffs) < 0 < max(T.ebml_lace_diffs)
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


def fragment_facts():
    """The "fragments" manifest field, from the Fragment records of what was written."""
    pre = T.fragments[0]
    assert not (pre.tags or pre.clusters or pre.blocks or pre.scale), "written before the first EBML header"
    out = []
    for rec in T.fragments[1:]:
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
        out.append(f)
    return out


def kvs_ids(k, start_ms):
    """Number of the k-th fragment (47 digits, as KVS writes them), server and producer timestamps."""
    number = str(91343852333181432390000000000000000000000000001 + k * 4951760157141521099596496)
    assert len(number) == 47
    producer = 1700000000500 + start_ms
    return number, "%d.%03d" % divmod(producer + 613, 1000), "%d.%03d" % divmod(producer, 1000)


def chain(builders, unknown=None):
    """Fragments back to back: an EBML header, then a Segment of what builder() returns, each."""
    out, offsets = b"", []
    for build in builders:
        offsets.append(len(out))
        header = ebml_header()
        out += header + segment(*build(), unknown=unknown)
    return out, {"fragment_offsets": offsets, "fragments": fragment_facts()}


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
        fx_kvs_error_tags, fx_kvs_user_tags))


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
])
COUNTS = ("ebml_headers", "segments", "clusters", "simple_blocks", "block_groups", "blocks",
          "crc32", "tags", "tag", "simple_tags", "laced_blocks")


def facts(name, data, extra):
    """The manifest entry, from the Tally the writer filled while writing this fixture."""
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
    global T
    with tempfile.TemporaryDirectory() as tmp:
        src = sources(tmp)
    manifest = collections.OrderedDict(generator="tests/resources/make_fixtures.py", fields=FIELDS, fixtures={})
    for name, fn in FIXTURES.items():
        T = Tally()
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


# ============================================================================ --check
CHAINED_NOTICE = re.compile(r"Found unknown-length element with ID 0x18538067 .* no syntax for parsing")


def run(cmd, chained=False):
    """Run a tool; return (rc, stdout, stderr lines, count of chained-Segment notices dropped)."""
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    lines = p.stderr.splitlines()
    kept = [ln for ln in lines if not (chained and CHAINED_NOTICE.search(ln))]
    return p.returncode, p.stdout, kept, len(lines) - len(kept)


def check_crc(data):
    """Recompute the CRC-32 (IEEE, little-endian) of every level-1 master that starts with one."""
    good = bad = 0
    for i, seg in elements(data):
        for _, body in elements(seg) if i == SEGMENT else ():
            if body[:2] == b"\xbf\x84":
                ok = body[2:6] == struct.pack("<I", zlib.crc32(body[6:]))
                good, bad = good + ok, bad + (not ok)
    return good, bad


def mkvinfo(path):
    """mkvinfo -v: rc, warning/error lines, frame count of each block listed, sizes of frames."""
    rc, out, err, _ = run(["mkvinfo", "-v", path])
    tag_text = re.compile(r"^\|\s*\+ (Name|String): ")  # SimpleTag names and values, e.g. _ERROR_CODE
    problems = [ln for ln in out.splitlines() + err if re.search(r"error|warning", ln, re.I)
                and not tag_text.match(ln)]
    laces = [int(n) for n in re.findall(r"\+ (?:Simple block|Block):.*?(\d+) frame\(s\)", out)]
    return rc, problems, laces, [int(n) for n in re.findall(r"\+ Frame with size (\d+)", out)]


def mkvinfo_chain(path, offsets, known_size):
    """mkvinfo -v on a whole KVS chain (several Matroska files back to back).  It reads on past a
    known-size Segment's end into the next fragment silently.  At the EBML header after an
    unknown-size Segment it reports a structure error and resyncs (as on real GetMedia captures);
    the resync fails, ending the read, when no Cluster follows.  Returns (rc, note, laces, sizes)."""
    rc, problems, laces, sizes = mkvinfo(path)
    errors = [int(p) for ln in problems for p in re.findall(r"structure at position (\d+)\.", ln)]
    results = [ln for ln in problems if re.search(r"Resync(ing successful| failed)", ln)]
    failed = any("failed" in ln for ln in results)
    expect = [] if known_size else offsets[1:1 + len(errors)] if failed else offsets[1:]
    if (errors != expect or len(results) != len(errors) or len(problems) != 2 * len(errors)
            or any("failed" in ln for ln in results[:-1]) or rc != (1 if errors else 0)):
        raise ValueError("mkvinfo rc=%d %s" % (rc, problems[:2]))
    note = ("reads on past each known-size Segment, no warnings" if known_size else
            "only the %d expected resync warnings at fragment offsets %s%s" % (
                len(errors), errors, ", the last resync failing (no Cluster follows)" if failed else ""))
    return rc, note, (None if failed else laces), sizes


def check_mkvinfo(path, data, f):
    """mkvinfo must read the file cleanly; a KVS chain must read cleanly one fragment at a time,
    and as a whole as mkvinfo_chain describes.  Returns (msg, frame sizes)."""
    offsets = f.get("fragment_offsets", [0])
    if len(offsets) == 1:
        rc, problems, laces, sizes = mkvinfo(path)
        if rc or problems:
            raise ValueError("mkvinfo rc=%d %s" % (rc, problems[:2]))
        msg = "mkvinfo rc=0, no warnings"
    else:
        rc, note, whole, whole_sizes = mkvinfo_chain(path, offsets, not f["unknown_size"].get("Segment"))
        laces, sizes = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for n, (a, b) in enumerate(zip(offsets, offsets[1:] + [len(data)])):
                with open(os.path.join(tmp, "fragment.mkv"), "wb") as fh:
                    fh.write(data[a:b])
                rc1, problems, fl, fs = mkvinfo(fh.name)
                if rc1 or problems:
                    raise ValueError("mkvinfo fragment %d rc=%d %s" % (n, rc1, problems[:2]))
                laces, sizes = laces + fl, sizes + fs
        if whole is not None and (whole, whole_sizes) != (laces, sizes):
            raise ValueError("mkvinfo lists other blocks in the whole chain than fragment by fragment")
        msg = "mkvinfo whole chain rc=%d: %s; each fragment alone: rc=0, no warnings" % (rc, note)
    if (len(laces), sum(laces)) != (f["simple_blocks"] + f["blocks"], sum(f["frames_per_track"].values())):
        raise ValueError("mkvinfo listed %d blocks / %d frames" % (len(laces), sum(laces)))
    return "%s (%d blocks, %d frames)" % (msg, len(laces), sum(laces)), sizes


def check_ffmpeg(paths, f, sizes):
    """ffprobe and ffmpeg on the file, or on each fragment alone (paths) of a chain of known-size
    Segments: on the whole of one, ffmpeg skips the third fragment's Segment as an unknown element."""
    chained = f["segments"] > 1
    got, codecs, packets, dropped = collections.Counter(), [], [], 0
    for path in paths:
        rc, out, err, _ = run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                               "stream=index,nb_read_packets,codec_name", "-of", "json", path], chained)
        streams = json.loads(out or "{}").get("streams", [])
        got.update({str(s["index"] + 1): int(s["nb_read_packets"]) for s in streams})
        codecs = codecs or [s["codec_name"] for s in streams]
        if rc or err:
            raise ValueError("ffprobe rc=%d %s" % (rc, err[:2]))
    if dict(got) != f["frames_per_track"]:
        raise ValueError("ffprobe packets %s" % dict(got))
    notes = ["ffprobe nb_read_packets %s (%s)" % (dict(sorted(got.items())), ",".join(codecs))]
    for path in paths:
        rc, out, err, _ = run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,size,flags",
                               "-of", "csv", path], chained)
        packets += re.findall(r"packet,(\d+),(\d+),(K?)", out)
        if rc or err:
            raise ValueError("ffprobe packets rc=%d %s" % (rc, err[:2]))
    keys = collections.Counter(str(int(t) + 1) for t, _, k in packets if k)
    if {t: keys[t] for t in f["keyframes_per_track"]} != f["keyframes_per_track"]:
        raise ValueError("ffprobe keyframes %s" % dict(keys))
    if [int(n) for _, n, _ in packets] != sizes:
        raise ValueError("ffprobe packet sizes differ from mkvinfo's frame sizes")
    notes.append("keyframes %s; packet sizes == mkvinfo frame sizes" % dict(sorted(keys.items())))
    for path in paths:
        rc, _, err, n = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], chained)
        dropped += n
        if rc or err:
            raise ValueError("ffmpeg decode rc=%d %s" % (rc, err[:2]))
    notes.append("ffmpeg decode rc=0, no errors" + (" besides %d chained-Segment notices" % dropped if dropped else ""))
    if len(paths) > 1:
        notes[0] = "each fragment alone: " + notes[0]
    return "; ".join(notes)


def fragment_files(tmp, data, f):
    """The fragments of a chain of known-size Segments as files of their own, else []."""
    offsets = f.get("fragment_offsets", [0])
    if len(offsets) == 1 or f["unknown_size"].get("Segment"):
        return []
    paths = []
    for n, (a, b) in enumerate(zip(offsets, offsets[1:] + [len(data)])):
        paths.append(os.path.join(tmp, "fragment%d.mkv" % n))
        with open(paths[-1], "wb") as fh:
            fh.write(data[a:b])
    return paths


def check(outdir):
    with tempfile.TemporaryDirectory() as tmp:  # first, the CRC checker must agree with ffmpeg's CRC-32s
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine", "-t", "1",
                        "-c:a", "pcm_s16le", os.path.join(tmp, "c.mkv")], check=True)
        good, wrong = check_crc(open(os.path.join(tmp, "c.mkv"), "rb").read())
    failures = int(not good or wrong > 0)
    print("%s CRC-32 checker on an ffmpeg-written file: %d match, %d differ" % (
        "FAIL" if failures else "PASS", good, wrong))
    manifest = json.load(open(os.path.join(outdir, "fixtures.json")))
    for name, f in manifest["fixtures"].items():
        path = os.path.join(outdir, name)
        data = open(path, "rb").read()
        try:
            if len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
                raise ValueError("size/sha256 differ from manifest")
            msg, sizes = check_mkvinfo(path, data, f)
            with tempfile.TemporaryDirectory() as tmp:
                notes = [msg, check_ffmpeg(fragment_files(tmp, data, f) or [path], f, sizes)]
            if f["crc32"]:
                good, wrong = check_crc(data)
                if (good, wrong) != (f["crc32"], 0):
                    raise ValueError("CRC-32 recomputed: %d match, %d differ" % (good, wrong))
                notes.append("CRC-32 recomputed: %d of %d match" % (good, f["crc32"]))
            print("PASS %s: %s" % (name, "; ".join(notes)))
        except ValueError as e:
            failures += 1
            print("FAIL %s: %s" % (name, e))
    print("%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="validate the existing fixtures")
    args = ap.parse_args()
    sys.exit(check(HERE) if args.check else generate(HERE))
