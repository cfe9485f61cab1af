"""Decoded pictures: yuv420p planes equal PyAV's (FFmpeg's own demuxer and
decoder, an independent pipeline) for every shared capture and the video
fixtures it decodes the same way; RGB, scaling and sampling equal the C
decoder's output through `kvsp frames -o DIR --format raw`."""
import json
import os
import subprocess

import numpy
import pytest

import kvsp
from conftest import CAPTURE_NAMES, KVSP, RESOURCES, file_id, resolve

pytestmark = pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")

VIDEO_FIXTURES = [os.path.join(RESOURCES, n) for n in ("h265_track.mkv", "odd_size_642x362.mkv",
                                                       "h264_blockgroups.mkv")]


def decode_all(path, **kw):
    """Pictures until the end, or until the TruncatedError of a capture cut
    off inside its last block (every picture before it is delivered)."""
    out = []
    try:
        for p in kvsp.decode(path, **kw):
            out.append(p)
    except kvsp.TruncatedError:
        assert path.endswith("output-get-media-equal-timecode.mkv")
    return out


def pyav_planes(path):
    av = pytest.importorskip("av")
    out = []
    with av.open(path) as c:
        for frame in c.decode(video=0):
            planes = []
            for p in frame.planes:
                a = numpy.frombuffer(p, numpy.uint8).reshape(p.height, p.line_size)[:, :p.width]
                planes.append(a.copy())
            out.append((frame.format.name, planes))
    return out


@pytest.mark.parametrize("path", CAPTURE_NAMES + VIDEO_FIXTURES, ids=file_id)
def test_yuv420p_planes_equal_pyav(path):
    path = resolve(path)
    theirs = pyav_planes(path)
    ours = decode_all(path, pixel_format="yuv420p", threads=2)
    assert len(ours) == len(theirs) > 0
    for i, (pic, (fmt, planes)) in enumerate(zip(ours, theirs)):
        assert fmt in ("yuv420p", "yuvj420p")
        assert len(pic.array) == 3
        for k in range(3):
            assert pic.array[k].shape == planes[k].shape, (i, k)
            assert numpy.array_equal(pic.array[k], planes[k]), (i, k)
        assert (pic.width, pic.height) == (planes[0].shape[1], planes[0].shape[0])


def kvsp_raw(tmp_path, path, *args, pix_fmt="rgb24"):
    out = tmp_path / "out"
    p = subprocess.run([KVSP, "frames", "-o", str(out), "--format", "raw", "--pix-fmt", pix_fmt, *args, path],
                       capture_output=True, timeout=300)
    assert p.returncode == 0 or b"ERR_TRUNCATED" in p.stderr, p.stderr
    rows = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    pics = []
    for r in rows:
        data = (out / r["file"]).read_bytes()
        channels = 3 if pix_fmt in ("rgb24", "bgr24") else 1
        shape = (r["height"], r["width"], 3) if channels == 3 else (r["height"], r["width"])
        pics.append((r, numpy.frombuffer(data, numpy.uint8).reshape(shape)))
    return pics


def same_as_cli(ours, cli):
    assert len(ours) == len(cli) > 0
    for pic, (row, array) in zip(ours, cli):
        assert (pic.pts_ms, pic.keyframe, pic.fragment_number, pic.fragment_index, pic.track) == \
            (row["pts_ms"], row["keyframe"], row["fragment_number"], row["fragment_index"], row["track"])
        assert (pic.producer_timestamp_ms, pic.server_timestamp_ms) == \
            (row["producer_timestamp_ms"], row["server_timestamp_ms"])
        assert pic.array.shape == array.shape
        assert numpy.array_equal(pic.array, array)


@pytest.mark.parametrize("path", CAPTURE_NAMES, ids=file_id)
def test_rgb_equals_c_decoder(tmp_path, path):
    path = resolve(path)
    same_as_cli(decode_all(path, every=7), kvsp_raw(tmp_path, path, "--every", "7"))


@pytest.mark.parametrize("args,kw", [
    (["--interval-ms", "1000", "--pix-fmt", "bgr24"], dict(interval_ms=1000, pixel_format="bgr24")),
    (["--keyframes", "--size", "320x"], dict(keyframes=True, size=(320, None))),
    (["--every", "25", "--size", "100x80", "--pix-fmt", "gray"], dict(every=25, size=(100, 80),
                                                                      pixel_format="gray")),
])
def test_sampling_scaling_formats_equal_c_decoder(tmp_path, captures, args, kw):
    path = [c for c in captures if c.endswith("output_get_media.mkv")][0]
    fmt = args[args.index("--pix-fmt") + 1] if "--pix-fmt" in args else "rgb24"
    cli_args = [a for i, a in enumerate(args) if a != "--pix-fmt" and (i == 0 or args[i - 1] != "--pix-fmt")]
    same_as_cli(list(kvsp.decode(path, **kw)), kvsp_raw(tmp_path, path, *cli_args, pix_fmt=fmt))


def test_keyframes_only_does_not_decode_others(captures):
    path = [c for c in captures if c.endswith("output_get_media.mkv")][0]
    d = kvsp.Decoder(keyframes=True)
    pics = d.feed(open(path, "rb").read()) + d.close()
    assert [p.keyframe for p in pics] == [True] * 5
    assert d.stats["not_decoded"] == 295 and d.stats["decoded"] == 5


def test_threads_and_batches(captures):
    path = [c for c in captures if c.endswith("kinesis_video_renderer_example_output.mkv")][0]
    one = list(kvsp.decode(path, threads=1, every=10))
    assert one == list(kvsp.decode(path, threads=3, every=10))
    batches = list(kvsp.decode_batches(path, 8, threads=1, every=10))
    assert [len(b) for b in batches] == [8] * (len(one) // 8) + ([len(one) % 8] if len(one) % 8 else [])
    assert batches[0].array.shape == (8, 480, 640, 3) and batches[0].array.dtype == numpy.uint8
    flat = [p for b in batches for p in b.pictures]
    assert flat == one
    assert numpy.shares_memory(flat[0].array, batches[0].array)


def test_resolution_change_splits_batches():
    path = os.path.join(RESOURCES, "kvs_resolution_change.mkv")
    pics = list(kvsp.decode(path))
    sizes = [p.array.shape for p in pics]
    assert len(set(sizes)) > 1
    batches = list(kvsp.decode_batches(path, 1000))
    assert [b.array.shape[1:] for b in batches] == [s for i, s in enumerate(sizes) if i == 0 or sizes[i - 1] != s]


def test_decode_errors(captures):
    with pytest.raises(ValueError):
        kvsp.Decoder(every=2, keyframes=True)
    with pytest.raises(ValueError):
        kvsp.Decoder(pixel_format="cmyk")
    path = [c for c in captures if c.endswith("output-get-media-equal-timecode.mkv")][0]
    pics = []
    with pytest.raises(kvsp.TruncatedError):
        for p in kvsp.decode(path, every=1):
            pics.append(p.pts_ms)
    assert len(pics) > 200


def test_a_codec_the_decoder_cannot_open_is_a_decode_error():
    data = open(os.path.join(RESOURCES, "kvs_unknown_size_8byte.mkv"), "rb").read()
    assert data.count(b"V_MPEG4/ISO/AVC") >= 1
    with pytest.raises(kvsp.DecodeError) as e:
        list(kvsp.decode(data.replace(b"V_MPEG4/ISO/AVC", b"V_KVSPTEST/NONE")))
    assert "V_KVSPTEST/NONE" in e.value.message and e.value.status.startswith("ERR_")
    assert not isinstance(e.value, kvsp.FormatError)
