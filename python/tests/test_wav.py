"""kvsp.write_wav / kvsp.audio_files: the WAV files equal byte for byte the
ones `kvsp audio --format wav -o DIR` writes for the same source (the same
names too), in s16, s32 and f32; sox (soxi) and ffprobe read their rate,
channels, sample count and encoding; Python's wave module reads the s16
samples back equal to kvsp.audio's array (mono and stereo; more
channels are WAVE_FORMAT_EXTENSIBLE, which it cannot read). Also: each output carries its
gaps (as the index line lists them), and times_ms / gap_mask place the
samples on the producer timeline; contact_id keeps one Connect call."""
import glob
import json
import os
import shutil
import subprocess
import wave

import numpy
import pytest

import kvsp
from conftest import KVSP, RESOURCES, resolve

pytestmark = pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")

AUDIO_FIXTURES = sorted(glob.glob(os.path.join(RESOURCES, "audio", "*.mkv")))
SOURCES = ["vogels_330.mkv"] + AUDIO_FIXTURES
CONNECT = os.path.join(RESOURCES, "audio", "connect_two_calls.mkv")


def cli_dir(path, out, *args):
    subprocess.run([KVSP, "audio", "-o", str(out), "--format", "wav", *args, path], check=True,
                   capture_output=True, timeout=300)
    return {r["file"]: r for r in map(json.loads, open(out / "index.jsonl"))}


def data_chunk(path):
    """The offset and size of the "data" chunk, found by walking the RIFF
    chunks (the header is 44 bytes plain, more in the extensible form)."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
    pos = 12
    while pos + 8 <= len(raw):
        size = int.from_bytes(raw[pos + 4:pos + 8], "little")
        if raw[pos:pos + 4] == b"data":
            return pos + 8, size
        pos += 8 + size + (size & 1)
    raise AssertionError("no data chunk in %s" % path)


def tool(*args):
    if not shutil.which(args[0]):
        pytest.skip("%s not installed" % args[0])
    return subprocess.run(args, check=True, capture_output=True, timeout=60, text=True).stdout


@pytest.mark.parametrize("name", SOURCES, ids=os.path.basename)
@pytest.mark.parametrize("fmt", ["s16", "s32", "f32"])
def test_files_equal_kvsp_audio_wav(name, fmt, tmp_path):
    path = resolve(name)
    rows = cli_dir(path, tmp_path / "cli", "--sample-format", fmt)
    ours = kvsp.audio_files(path, tmp_path / "py", sample_format=fmt)
    assert sorted(os.path.basename(p) for p in ours) == sorted(rows) and rows
    for p in ours:
        with open(p, "rb") as a, open(tmp_path / "cli" / os.path.basename(p), "rb") as b:
            assert a.read() == b.read(), p


@pytest.mark.parametrize("name", SOURCES, ids=os.path.basename)
def test_read_by_sox_ffprobe_and_wave(name, tmp_path):
    path = resolve(name)
    for info, pcm in kvsp.audio(path):
        out = str(tmp_path / ("t%d-%d.wav" % (info.track, info.index)))
        kvsp.write_wav(out, pcm, info.sample_rate)
        assert int(tool("soxi", "-r", out)) == info.sample_rate
        assert int(tool("soxi", "-c", out)) == info.channels
        assert int(tool("soxi", "-s", out)) == info.samples == pcm.shape[0]
        assert "Signed Integer PCM" in tool("soxi", "-e", out)
        probed = json.loads(tool("ffprobe", "-v", "error", "-count_packets", "-show_streams",
                                 "-of", "json", out))["streams"][0]
        assert (probed["codec_name"], int(probed["sample_rate"]), probed["channels"]) == \
            ("pcm_s16le", info.sample_rate, info.channels)
        if info.channels <= 2:
            # plain PCM: Python 3.11's wave module (it reads no extensible header)
            with wave.open(out) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth(),
                        w.getnframes()) == (info.sample_rate, info.channels, 2, info.samples)
                back = numpy.frombuffer(w.readframes(w.getnframes()), "<i2")
        else:
            offset, size = data_chunk(out)
            assert size == info.samples * info.channels * 2
            back = numpy.fromfile(out, "<i2", offset=offset)
        assert numpy.array_equal(back.reshape(-1, info.channels), pcm)


def test_float_and_mono_input(tmp_path):
    pcm = (numpy.sin(numpy.arange(8000) / 10.0) * 0.5).astype(numpy.float32)
    out = str(tmp_path / "f.wav")
    kvsp.write_wav(out, pcm, 8000)
    assert "Floating Point PCM" in tool("soxi", "-e", out)
    assert int(tool("soxi", "-s", out)) == 8000 and int(tool("soxi", "-c", out)) == 1
    offset, size = data_chunk(out)
    assert size == pcm.nbytes
    back = numpy.fromfile(out, "<f4", offset=offset)
    assert numpy.array_equal(back, pcm)
    with pytest.raises(ValueError):
        kvsp.write_wav(out, pcm.astype(numpy.float64), 8000)
    with pytest.raises(ValueError):
        kvsp.write_wav(out, pcm.astype(numpy.int16), 0)


def test_gaps_and_times_equal_the_index(tmp_path):
    """pcm_gaps.mkv has gaps filled with silence: each output's gap_list
    equals the index line's gaps, gap_mask marks zero samples, and
    times_ms steps by one sample period from the first block."""
    path = os.path.join(RESOURCES, "audio", "pcm_gaps.mkv")
    rows = {(r["track"], r["first_pts_ms"]): r for r in cli_dir(path, tmp_path / "cli").values()}
    seen_gap = False
    for info, pcm in kvsp.audio(path):
        r = rows[(info.track, info.first_pts_ms)]
        assert [vars(g) for g in info.gap_list] == r["gaps"]
        assert info.gaps == r["gap_count"] and info.gap_samples == r["gap_samples"]
        mask = info.gap_mask()
        assert mask.sum() == info.gap_samples * info.sample_rate // info.source_sample_rate
        assert not pcm[mask].any()
        seen_gap |= bool(info.gap_list)
        t = info.times_ms("pts")
        assert t[0] == info.first_pts_ms and len(t) == info.samples
        assert numpy.allclose(numpy.diff(t), 1000.0 / info.sample_rate)
    assert seen_gap


def test_connect_contact_and_producer_times(tmp_path):
    """Only call A's fragments with contact_id, as --contact-id; each
    output's first sample is at its first block's producer time."""
    contact = "7f3c1d2e-0a4b-4c5d-8e9f-0123456789ab"
    rows = cli_dir(CONNECT, tmp_path / "cli", "--contact-id", contact)
    ours = kvsp.audio_files(CONNECT, tmp_path / "py", contact_id=contact)
    assert sorted(map(os.path.basename, ours)) == sorted(rows)
    everything = list(kvsp.audio(CONNECT))
    some = list(kvsp.audio(CONNECT, contact_id=contact))
    assert 0 < sum(i.samples for i, _ in some) < sum(i.samples for i, _ in everything)
    for info, _ in some:
        assert info.times_ms()[0] == info.first_producer_timestamp_ms == \
            rows[next(f for f, r in rows.items() if r["name"] == info.track_name and
                      r["first_pts_ms"] == info.first_pts_ms)]["first_producer_timestamp_ms"]


def test_codec_override_equals_cli(tmp_path):
    """A track read as big-endian PCM (the samples byte-swapped), by Name,
    as `kvsp audio --codec-override NAME=A_PCM/INT/BIG,8000,1`."""
    rows = cli_dir(CONNECT, tmp_path / "cli", "--codec-override", "AUDIO_FROM_CUSTOMER=A_PCM/INT/BIG,8000,1")
    over = [kvsp.CodecOverride("AUDIO_FROM_CUSTOMER", "A_PCM/INT/BIG", 8000, 1)]
    ours = kvsp.audio_files(CONNECT, tmp_path / "py", codec_overrides=over)
    assert sorted(map(os.path.basename, ours)) == sorted(rows)
    for p in ours:
        with open(p, "rb") as a, open(tmp_path / "cli" / os.path.basename(p), "rb") as b:
            assert a.read() == b.read(), p
    plain = {(i.track_name, i.index): a for i, a in kvsp.audio(CONNECT)}
    for info, pcm in kvsp.audio(CONNECT, codec_overrides=over):
        want = plain[(info.track_name, info.index)]
        if info.track_name == "AUDIO_FROM_CUSTOMER":
            # the CLI's word for it (its index line's source)
            cli = [r["source"] for r in rows.values() if r["name"] == "AUDIO_FROM_CUSTOMER"]
            assert info.source == "override" and set(cli) == {"override"}
            assert numpy.array_equal(pcm, want.byteswap())
        else:
            assert numpy.array_equal(pcm, want)
    with pytest.raises(ValueError):
        list(kvsp.audio(CONNECT, codec_overrides=[kvsp.CodecOverride(1, "A_PCM/INT/LIT")] * 17))


@pytest.mark.parametrize("args", [(), ("--codec-override", "AUDIO_FROM_CUSTOMER=A_PCM/INT/BIG,8000,1")])
def test_audio_files_index_equals_cli(tmp_path, args):
    """kvsp.audio_files writes DIR/index.jsonl as `kvsp audio -o DIR` does:
    the same lines, in the same order, parsed as JSON (with a codec
    override, the source word "override" of both)."""
    rows = cli_dir(CONNECT, tmp_path / "cli", *args)
    over = [kvsp.CodecOverride("AUDIO_FROM_CUSTOMER", "A_PCM/INT/BIG", 8000, 1)] if args else []
    kvsp.audio_files(CONNECT, tmp_path / "py", codec_overrides=over)
    theirs = [json.loads(line) for line in open(tmp_path / "cli" / "index.jsonl")]
    ours = [json.loads(line) for line in open(tmp_path / "py" / "index.jsonl")]
    assert ours == theirs and len(theirs) == len(rows) >= 2
    assert [list(r) for r in ours] == [list(r) for r in theirs]  # key order too
    sources = {r["source"] for r in ours}
    assert ("override" in sources) == bool(args)
