"""The --check mode of make_fixtures.py: validate the committed fixtures with independent tools.

Every fixture must match its fixtures.json entry (size, sha256), be read cleanly by mkvinfo (a
KVS chain also one fragment at a time), give ffprobe the recorded packets, keyframes and frame
sizes, decode with ffmpeg (a chain whose timestamps restart or video size changes in runs of
fragments that form one stream, checking the decoded size), and carry correct CRC-32 elements
where it has them.  The fixtures made for frame decoders (with a "keyframe_indexes" fact) are also
decoded frame by frame (check_frames): which frames come out, keyframes, decoded size, and what
the corrupted byte of kvs_corrupt_frame.mkv does.

ffmpeg must decode every fixture without a message at -v error, with two exceptions, each allowed
only for the fixture whose manifest fact says why (EXPECTED_DECODE_ERRORS) and tied to the recorded
frames by check_frames:
  kvs_corrupt_frame.mkv ("corrupted_frame_index"): H.264 "error while decoding MB x y, bytestream n"
      (ffmpeg 5.1 prints "error while decoding MB 9 5, bytestream -14" once, for frame 14); restoring
      the recorded byte must make the decode clean, and the decoded pictures must differ from the
      restored file's from that frame on and only until the next keyframe.
  kvs_mid_gop.mkv ("frames_before_first_keyframe"): "decode_slice_header error" / "no frame!" for the
      leading P frames, whose reference frames are not in the file (ffmpeg 5.1 prints nothing: its
      H.264 decoder drops frames before the first keyframe silently); exactly those frames must be
      missing from the decoded ones.
"""
import collections
import hashlib
import json
import os
import re
import struct
import subprocess
import tempfile
import zlib

from ebml_writer import SEGMENT
from fixture_sources import elements


CHAINED_NOTICE = re.compile(r"Found unknown-length element with ID 0x18538067 .* no syntax for parsing")
H264_MESSAGE = r"^\[h264 @ (?:0x)?[0-9a-fA-F]+\] "
EXPECTED_DECODE_ERRORS = {  # manifest fact -> the decoder messages that fixture is made to cause
    "corrupted_frame_index": re.compile(H264_MESSAGE + r"(error while decoding MB \d+ \d+, bytestream -?\d+)$"),
    "frames_before_first_keyframe": re.compile(H264_MESSAGE + r"(decode_slice_header error|no frame!)$"),
}
REPEATED = re.compile(r"^\s*Last message repeated \d+ times?$")


def run(cmd, chained=False):
    """Run a tool; return (rc, stdout, stderr lines, count of chained-Segment notices dropped)."""
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    lines = p.stderr.splitlines()
    kept = [ln for ln in lines if not (chained and CHAINED_NOTICE.search(ln))]
    return p.returncode, p.stdout, kept, len(lines) - len(kept)


def expected_errors(f, lines):
    """Split ffmpeg's messages into those f is made to cause (EXPECTED_DECODE_ERRORS, by its manifest
    facts; "Last message repeated" after one of them counts with it), texts without the [h264 @ ...]
    prefix, and all others."""
    patterns = [p for fact, p in EXPECTED_DECODE_ERRORS.items() if f.get(fact)]
    expected, others, last = [], [], False
    for ln in lines:
        m = next((p.match(ln) for p in patterns if p.match(ln)), None)
        last = bool(m) or (last and bool(REPEATED.match(ln)))
        if m:
            expected.append(m.group(1))
        elif not last:
            others.append(ln)
    return expected, others


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


def check_ffmpeg(paths, f, sizes, units=None):
    """ffprobe and ffmpeg on the file, or on each fragment alone (paths) of a chain of known-size
    Segments: on the whole of one, ffmpeg skips the third fragment's Segment as an unknown element.
    units (see decode_units), if given, are what ffmpeg decodes instead of paths."""
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
    expected = []
    for path, _, _ in units or [(p, None, None) for p in paths]:
        rc, _, err, n = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], chained)
        dropped += n
        allowed, err = expected_errors(f, err)
        expected += allowed
        if rc or err:
            raise ValueError("ffmpeg decode rc=%d %s" % (rc, err[:2]))
    besides = ["%d chained-Segment notices" % dropped] if dropped else []
    if expected:
        besides.append("the expected %s" % " / ".join('"%s"' % m for m in sorted(set(expected))))
    notes.append("ffmpeg decode rc=0, no errors" + (" besides " + " and ".join(besides) if besides else ""))
    if units:
        notes[-1] += " (decoding each of fragments %s alone)" % ", ".join(
            "%d-%d" % (g[0], g[-1]) if len(g) > 1 else str(g[0]) for _, g, _ in units)
        if any(want for _, _, want in units):
            for path, group, want in units:
                rc, out, err, _ = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                       "frame=width,height", "-of", "csv=p=0", path], chained)
                got = [tuple(int(n) for n in ln.split(",")[:2]) for ln in out.split()]  # + side_data,
                if rc or err or got != want:
                    raise ValueError("ffprobe decoded fragments %s as %s" % (group, sorted(set(got))))
            notes.append("decoded frame sizes == recorded width x height per fragment")
    if len(paths) > 1:
        notes[0] = "each fragment alone: " + notes[0]
    return "; ".join(notes)


def probe_frames(path, f):
    """ffprobe's packets [(pts, pos, size, key)] and decoded frames [(pts, key, width, height)] of the
    video stream, timestamps in the Matroska time base (ms); decoder messages as EXPECTED_DECODE_ERRORS."""
    out = []
    for entries in ("packet=pts,pos,size,flags", "frame=pts,key_frame,width,height"):
        rc, text, err, _ = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries,
                                "-of", "json", path], f["segments"] > 1)
        err = expected_errors(f, err)[1]
        if rc or err:
            raise ValueError("ffprobe %s rc=%d %s" % (entries.split("=")[0], rc, err[:2]))
        out.append(json.loads(text).get(entries.split("=")[0] + "s", []))
    return ([(int(p["pts"]), int(p["pos"]), int(p["size"]), "K" in p["flags"]) for p in out[0]],
            [(int(fr["pts"]), fr["key_frame"] == 1, fr["width"], fr["height"]) for fr in out[1]])


def framemd5(path, chained):
    """The MD5 of each decoded picture (ffmpeg -f framemd5, no frame dropped or duplicated), and the
    decoder messages."""
    rc, out, err, _ = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode",
                           "passthrough", "-f", "framemd5", "-"], chained)
    if rc:
        raise ValueError("ffmpeg framemd5 rc=%d %s" % (rc, err[:2]))
    return [ln.split(",")[-1].strip() for ln in out.splitlines() if not ln.startswith("#")], err


def check_frames(tmp, path, data, f):
    """The fixtures made for frame decoders (a "keyframe_indexes" fact; one video track): ffprobe's
    keyframe packets at the recorded indexes; the decoded frames (ffprobe) are the packets from
    frames_before_first_keyframe on (ffmpeg outputs nothing before the first keyframe), with the same
    timestamps and keyframe flags, at PixelWidth x PixelHeight; for corrupted_frame_index, the
    recorded byte (inside that packet) restored gives a clean decode, and the pictures decoded from
    the file differ from the restored file's first at that frame and not from the next keyframe on."""
    chained = f["segments"] > 1
    packets, frames = probe_frames(path, f)
    keys = [n for n, p in enumerate(packets) if p[3]]
    if keys != f["keyframe_indexes"]["1"]:
        raise ValueError("ffprobe keyframe packets at %s" % keys)
    lead = f.get("frames_before_first_keyframe", 0)
    if keys[0] != lead:
        raise ValueError("first keyframe at %d, frames_before_first_keyframe %d" % (keys[0], lead))
    # pictures come out in presentation order: the packets' (decode) order sorted by time (B-frames)
    want = sorted((pts, key, f["tracks"]["1"]["width"], f["tracks"]["1"]["height"])
                  for pts, _, _, key in packets[lead:])
    if frames != want:
        raise ValueError("ffprobe decoded %d frames %s, not the %d packets from %d on at %dx%d" % (
            len(frames), sorted(set(fr[2:] for fr in frames)), len(want), lead, want[0][2], want[0][3]))
    notes = ["packets %d, keyframes at %s; decoded %d frames%s, %dx%d, timestamps and keyframes as the packets'" % (
        len(packets), keys, len(frames), " (none of the %d before the first keyframe)" % lead if lead else "",
        want[0][2], want[0][3])]
    index = f.get("corrupted_frame_index")
    if index is not None:
        pos, size = packets[index][1:3]
        at = f["corrupted_byte_offset"]
        # pos: the SimpleBlock's body; the frame follows its 1-byte track number, timecode and flags
        if (pos + 4, size) != (f["corrupted_frame_offset"], f["corrupted_frame_size"]) or not \
                pos + 4 <= at < pos + 4 + size or packets[index][3] or \
                not data[at] == f["corrupted_byte_value"] == f["corrupted_byte_original"] ^ 0xFF:
            raise ValueError("corrupted byte %d not the recorded one in non-key packet %d (pos %d, size %d)" % (
                at, index, pos, size))
        restored = os.path.join(tmp, "restored.mkv")
        with open(restored, "wb") as fh:
            fh.write(data[:at] + bytes([f["corrupted_byte_original"]]) + data[at + 1:])
        good, err = framemd5(restored, chained)
        if err:
            raise ValueError("restored file: ffmpeg %s" % err[:2])
        bad, err = framemd5(path, chained)
        messages, err = expected_errors(f, err)
        following = [k for k in keys if k > index]
        differ = [n for n, (a, b) in enumerate(zip(good, bad)) if a != b]
        if (err or len(good) != len(bad) or len(good) != len(packets) or not differ or differ[0] != index
                or (following and differ[-1] >= following[0])):
            raise ValueError("corrupted frame %d: decoded frames %s differ from the restored file's; %s" % (
                index, differ, err[:2]))
        notes.append("byte %d (0x%02x, was 0x%02x) inside packet %d: restored, ffmpeg decodes cleanly; as is, "
                     "ffmpeg says %s and decoded frames %s differ (to the keyframe at %s)" % (
                         at, data[at], f["corrupted_byte_original"], index,
                         " / ".join('"%s"' % m for m in sorted(set(messages))) or "nothing",
                         "%d-%d" % (differ[0], differ[-1]) if len(differ) > 1 else differ[0],
                         following[0] if following else "end"))
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


def decode_units(tmp, data, f):
    """A chain of unknown-size Segments that ffmpeg cannot decode as one stream, cut at the fragment
    offsets into runs it can, as files: [(path, fragment indexes, decoded (width, height) wanted or
    None)]; [] when one run is the whole chain.  A run ends where timestamps restart (a Cluster not
    after the previous one's last block: the null muxer rejects the non-monotonic DTS) or the video
    size changes (ffmpeg keeps the first Tracks of a chain and decodes on with its SPS and PPS)."""
    offsets, frags = f.get("fragment_offsets", [0]), f.get("fragments", [])
    if len(offsets) == 1 or not f["unknown_size"].get("Segment"):
        return []
    groups = [[0]]
    for k in range(1, len(frags)):
        prev, cur = frags[groups[-1][-1]], frags[k]
        restart = (None not in (prev["last_pts_ms"], cur["first_pts_ms"])
                   and cur["first_pts_ms"] <= prev["last_pts_ms"])
        resized = (prev.get("width"), prev.get("height")) != (cur.get("width"), cur.get("height"))
        if restart or resized:
            groups.append([])
        groups[-1].append(k)
    if len(groups) == 1:
        return []
    units = []
    for n, group in enumerate(groups):
        path = os.path.join(tmp, "run%d.mkv" % n)
        end = offsets[group[-1] + 1] if group[-1] + 1 < len(offsets) else len(data)
        with open(path, "wb") as fh:
            fh.write(data[offsets[group[0]]:end])
        want = None
        if "width" in frags[group[0]]:
            want = [(frags[k]["width"], frags[k]["height"]) for k in group
                    for _ in range(frags[k]["frames_per_track"]["1"])]
        units.append((path, group, want))
    return units


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
                notes = [msg, check_ffmpeg(fragment_files(tmp, data, f) or [path], f, sizes,
                                           decode_units(tmp, data, f))]
                if "keyframe_indexes" in f:
                    if fragment_files(tmp, data, f) or decode_units(tmp, data, f):
                        raise ValueError("check_frames reads a fixture as one stream")
                    notes.append(check_frames(tmp, path, data, f))
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
