"""Fragments and frames through the package equal what `kvsp fragments` and
`kvsp frames --list` print for the same file (every shared capture and
every fixture), errors included; frame timing and sizes also equal PyAV's
demuxer packets (an independent parser) where PyAV reads the whole file."""
import dataclasses
import os

import pytest

import kvsp
from conftest import all_files, file_id, kvsp_lines, resolve

FILES = all_files()


def fragment_as_json(f):
    d = dataclasses.asdict(f)
    d["frames_per_track"] = {str(k): v for k, v in f.frames_per_track.items()}
    d["tracks"], d["tags"] = list(d["tracks"]), list(d["tags"])
    for t, src in zip(d["tracks"], f.tracks):
        del t["codec_private"]
        t["codec_private_size"] = src.codec_private_size
    for t in d["tags"]:
        t["binary"] = t["binary"].hex() if t["binary"] is not None else None
    return d


FRAME_KEYS = ["track", "fragment_index", "fragment_number", "timecode", "pts_ms", "producer_timestamp_ms",
              "server_timestamp_ms", "keyframe", "invisible", "discardable", "size", "lace_index",
              "lace_frames", "duration", "block_offset"]


def frame_as_json(fr):
    return {k: getattr(fr, k) for k in FRAME_KEYS}


def collect(iterator):
    """Items until the end or an error: (items, error)."""
    items = []
    try:
        for item in iterator:
            items.append(item)
    except kvsp.Error as e:
        return items, e
    return items, None


def check_error(error, rc, stderr):
    if rc == 0:
        assert error is None, error
    else:
        assert error is not None, stderr
        assert "%s at offset %d" % (error.status, error.offset) in stderr


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_fragments_equal_cli(path):
    path = resolve(path)
    expected, rc, err = kvsp_lines("fragments", path)
    got, error = collect(kvsp.fragments(path))
    assert [fragment_as_json(f) for f in got] == expected
    check_error(error, rc, err)


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_frames_equal_cli(path):
    path = resolve(path)
    expected, rc, err = kvsp_lines("frames", "--list", path)
    got, error = collect(frame_as_json(f) for f in kvsp.frames(path))
    assert got == expected
    check_error(error, rc, err)


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_items_in_stream_order(path):
    path = resolve(path)
    """read() gives each fragment after its frames, with the same counts."""
    frames_seen = {}
    for item in collect(kvsp.read(path))[0]:
        if isinstance(item, kvsp.Fragment):
            assert frames_seen.pop(item.index, 0) == item.frames
        else:
            frames_seen[item.fragment_index] = frames_seen.get(item.fragment_index, 0) + 1


def pyav_packets(path):
    av = pytest.importorskip("av")
    with av.open(path) as c:
        out = []
        tb = {s.index: s.time_base for s in c.streams}
        for p in c.demux():
            if p.size == 0:
                continue
            out.append((p.stream.index + 1, float(p.pts * tb[p.stream.index] * 1000), p.size,
                        bool(p.is_keyframe)))
        return out


@pytest.mark.parametrize("name", ["bezos_vogels.mkv", "clusters.mkv", "vogels_330.mkv"])
def test_frames_equal_pyav_packets(captures, name):
    """One-segment captures, which FFmpeg's demuxer reads whole."""
    path = os.path.join(os.path.dirname(captures[0]), name)
    ours = [(f.track, f.pts_ms, f.size, f.keyframe) for f in kvsp.frames(path)]
    assert sorted(ours) == sorted(pyav_packets(path))
