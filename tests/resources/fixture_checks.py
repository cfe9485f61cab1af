"""The --check mode of make_fixtures.py: validate the committed fixtures with independent tools.

Every fixture must match its fixtures.json entry (size, sha256), be read cleanly by mkvinfo (a
KVS chain also one fragment at a time), give ffprobe the recorded packets, keyframes and frame
sizes, decode with ffmpeg (a chain whose timestamps restart or video size changes in runs of
fragments that form one stream, checking the decoded size), and carry correct CRC-32 elements
where it has them.
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
    for path, _, _ in units or [(p, None, None) for p in paths]:
        rc, _, err, n = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], chained)
        dropped += n
        if rc or err:
            raise ValueError("ffmpeg decode rc=%d %s" % (rc, err[:2]))
    notes.append("ffmpeg decode rc=0, no errors" + (" besides %d chained-Segment notices" % dropped if dropped else ""))
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
