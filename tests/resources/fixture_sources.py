"""Codec payloads for make_fixtures.py: encode test sources with ffmpeg and take them apart.

ffmpeg (libx264, libx265, native AAC, PCM) encodes bit-exact, single-threaded sources and muxes
each into a temporary .mkv; a small EBML reader (elements, child) and demux() take the track
parameters (CodecPrivate, size, rate, channels) and the frames back out of it.  --check reuses
the reader to recompute CRC-32 elements.
"""
import collections
import os
import struct
import subprocess

from ebml_writer import (AUDIO, BLOCK, BLOCK_GROUP, CHANNELS, CLUSTER, CODEC_ID, CODEC_PRIVATE, INFO, MS,
                         PIXEL_HEIGHT, PIXEL_WIDTH, REFERENCE_BLOCK, SAMPLING_FREQUENCY, SEGMENT, SIMPLE_BLOCK,
                         TIMECODE, TIMECODE_SCALE, TRACK_ENTRY, TRACK_NUMBER, TRACKS, VIDEO)


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
    # GetMedia-like fragments of 10 frames (1 s), each starting with an IDR frame: keyframe every 10
    # frames exactly (no scene cuts); the same test pattern at two sizes, encoded separately.
    for size, count in (("160x96", 30), ("320x192", 40)):
        src["h264_gop10_" + size] = encode(tmp, "h264_gop10_" + size, [
            "-f", "lavfi", "-i", "testsrc=size=%s:rate=10" % size, "-pix_fmt", "yuv420p", "-bf", "0",
            "-frames:v", str(count), "-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0"])
    # B-frames (-bf 2): frames stored in decode order with their presentation times, which do not
    # grow frame by frame; an IDR frame every 10 (closed GOPs), 30 frames.
    src["h264_bf2"] = encode(tmp, "h264_bf2", [
        "-f", "lavfi", "-i", "testsrc=size=160x96:rate=10", "-pix_fmt", "yuv420p", "-bf", "2",
        "-frames:v", "30", "-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
        "-x264-params", "b-adapt=0"])
    # A size that is not a multiple of 16 (the SPS crops the coded 656x368 to 642x362): 20 frames, an
    # IDR frame every 10.
    src["h264_gop10_642x362"] = encode(tmp, "h264_gop10_642x362", [
        "-f", "lavfi", "-i", "testsrc=size=642x362:rate=10", "-pix_fmt", "yuv420p", "-bf", "0",
        "-frames:v", "20", "-c:v", "libx264", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0"])
    # PCM: re-cut the sample stream into equal 10 ms frames (80 samples, 160 bytes) for fixed lacing.
    trk, frames = src["pcm"]
    pcm = b"".join(data for _, _, data in frames)
    trk.update(codec_id="A_PCM/INT/LIT", bit_depth=16)
    src["pcm"] = trk, [(i // 160 * 10, True, pcm[i:i + 160]) for i in range(0, len(pcm), 160)]
    return src
