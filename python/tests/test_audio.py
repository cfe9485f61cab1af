"""kvsp.audio: each output's array equals the raw file `kvsp audio -o DIR
--format raw` writes for it (the same sample format, rate and channels,
matched by track, first pts and samples; the index line's metadata equal
the AudioInfo), on vogels_330 and the audio fixtures (AAC, Connect L16 with
swapped tracks, PCM with gaps and splits); with resampling, mixing and
s32/f32 too. The decoded AAC equals ffmpeg's `-f s16le` of the same file,
an independent decode. Bad input raises after the outputs before."""
import glob
import json
import os
import shutil
import subprocess

import numpy
import pytest

import kvsp
from conftest import KVSP, RESOURCES, resolve

pytestmark = pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")

AUDIO_FIXTURES = sorted(glob.glob(os.path.join(RESOURCES, "audio", "*.mkv")))
DTYPES = {"s16": "<i2", "s32": "<i4", "f32": "<f4"}
VARIANTS = [("s16", None, None), ("f32", 16000, 1), ("s32", None, 1)]


def cli_outputs(path, tmp, sample_format, rate, channels):
    out = tmp / ("cli-%s-%s-%s" % (sample_format, rate, channels))
    args = [KVSP, "audio", "-o", str(out), "--format", "raw", "--sample-format", sample_format, path]
    if rate:
        args[2:2] = ["--sample-rate", str(rate)]
    if channels:
        args[2:2] = ["--channels", str(channels)]
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    rows = [json.loads(line) for line in open(out / "index.jsonl")]
    for r in rows:
        r["pcm"] = numpy.fromfile(out / r["file"], dtype=DTYPES[sample_format]).reshape(-1, r["channels"])
    shutil.rmtree(out)
    return rows


def key(track, first_pts_ms, samples):
    return (track, first_pts_ms, samples)


@pytest.mark.parametrize("name", ["vogels_330.mkv"] + AUDIO_FIXTURES, ids=os.path.basename)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v)))
def test_equals_kvsp_audio_raw(name, variant, tmp_path):
    path = resolve(name)
    fmt, rate, channels = variant
    ours = list(kvsp.audio(path, sample_rate=rate, channels=channels, sample_format=fmt, chunk_size=4096))
    theirs = cli_outputs(path, tmp_path, fmt, rate, channels)
    assert len(ours) == len(theirs) > 0
    by_key = {key(r["track"], r["first_pts_ms"], r["samples"]): r for r in theirs}
    for info, array in ours:
        r = by_key.pop(key(info.track, info.first_pts_ms, info.samples))
        assert array.dtype == numpy.dtype(DTYPES[fmt]).newbyteorder("=")
        assert array.shape == (info.samples, info.channels) == r["pcm"].shape
        assert numpy.array_equal(array, r["pcm"])
        assert (info.track_name, info.codec_id, info.source, info.sample_rate, info.channels,
                info.first_producer_timestamp_ms, info.last_producer_timestamp_ms, info.gap_samples,
                info.overlap_samples, info.blocks) == \
            (r["name"], r["codec"], r["source"], r["sample_rate"], r["channels"],
             r["first_producer_timestamp_ms"], r["last_producer_timestamp_ms"], r["gap_samples"],
             r["overlap_samples"], r["blocks"])
        if rate:
            assert info.sample_rate == rate
        if channels:
            assert info.channels == channels


@pytest.mark.parametrize("name", ["vogels_330.mkv", os.path.join(RESOURCES, "audio", "aac_track.mkv")],
                         ids=os.path.basename)
def test_aac_equals_ffmpeg(name):
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg")
    path = resolve(name)
    [(info, array)] = list(kvsp.audio(path))
    assert info.source == "decoded" and info.codec_id == "A_AAC"
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-"],
                         check=True, capture_output=True, timeout=300).stdout
    theirs = numpy.frombuffer(raw, dtype="<i2").reshape(-1, info.channels)
    assert array.shape == theirs.shape and numpy.array_equal(array, theirs)


def test_track_selection_and_errors(tmp_path):
    path = os.path.join(RESOURCES, "audio", "pcm_gaps.mkv")
    every = list(kvsp.audio(path))
    only = list(kvsp.audio(path, track=2))
    assert {i.track for i, _ in every} > {2} and {i.track for i, _ in only} == {2}
    named = list(kvsp.audio(path, track_name="big"))
    assert [i.track for i, _ in named] == [2]
    with pytest.raises(ValueError):
        list(kvsp.audio(path, sample_format="s8"))
    data = open(resolve("vogels_330.mkv"), "rb").read()
    got = []
    with pytest.raises(kvsp.TruncatedError):
        for item in kvsp.audio(data[:len(data) // 2]):
            got.append(item)
    # the output cut short is delivered before the error
    assert len(got) == 1 and 0 < got[0][0].samples < every_vogels(data)


def every_vogels(data):
    return sum(i.samples for i, _ in kvsp.audio(data))
