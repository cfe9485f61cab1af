#!/usr/bin/env python3
"""Generate the audio fixtures of kvsparser's tests into tests/resources/audio/, plus its fixtures.json.

Usage:  python3 tests/resources/make_audio_fixtures.py

The PCM is computed here (sine tones, integer arithmetic on math.sin, the same on every platform
that has IEEE doubles); the AAC track is encoded by ffmpeg (native encoder, bitexact). Everything
is laid out with ebml_writer.py. They live in their own folder, apart from the fixtures of
make_fixtures.py, because ffmpeg cannot decode the Connect fixture as what its header says (that
is the point of it), which make_fixtures.py --check requires of its fixtures.

  connect_two_calls.mkv  Amazon Connect's shape: a GetMedia-like chain (8-byte unknown sizes) of 5
                         fragments of 100 ms, two mono tracks AUDIO_FROM_CUSTOMER (a 440 Hz tone)
                         and AUDIO_TO_CUSTOMER (1000 Hz) of 8 kHz s16le PCM in 20 ms blocks, each
                         TrackEntry saying CodecID A_AAC with 2 bytes of CodecPrivate and no Audio
                         master; tags MimeType audio/L16;rate=8000;channels=1, ContactId, InstanceId.
                         Fragments 0-2 are call A (fragment 1 has no ContactId/InstanceId tags: it
                         belongs to call A), 3-4 call B, 10 s later. Fragments 1 and 3 number the
                         tracks the other way round (1 = AUDIO_TO_CUSTOMER). Every Cluster's timecode
                         is 0: only the producer timestamps place the fragments.
  connect_cluster_times.mkv  the same with each Cluster's timecode its fragment's producer timestamp
                         in ms, as KVS returns them: kvsp serve, which places fragments by Cluster
                         timecodes, then serves the calls with their timing.
  pcm_gaps.mkv           one Segment, 8 kHz mono PCM in 20 ms blocks, times from block timecodes
                         only (no KVS tags): track 1 A_PCM/INT/LIT with a 60 ms gap (blocks 10-12
                         missing), a block 10 ms early (overlapping), then a 3 s gap; tracks 2
                         (A_PCM/INT/BIG), 3 (A_PCM/FLOAT/IEEE), 4 (A_MS/ACM, a PCM WAVEFORMATEX)
                         and 5 (A_PCM/INT/LIT, 24 bits) hold tones without gaps.
  pcm_51.mkv             one Segment, 200 ms of 8 kHz 16-bit A_PCM/INT/LIT with 6 channels (5.1), channel c
                         (from 0) a tone of 300 + 100 * c Hz, in 20 ms blocks.
  aac_track.mkv          one Segment, 2 Clusters: 1 s of a 440 Hz tone, AAC mono 16 kHz from
                         ffmpeg, with SamplingFrequency and Channels.
"""
import collections
import hashlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ebml_writer as W  # noqa: E402
from ebml_writer import (AUDIO, CHANNELS, CODEC_ID, CODEC_PRIVATE, MS, NAME, SAMPLING_FREQUENCY,  # noqa: E402
                         TRACK_ENTRY, TRACK_NUMBER, TRACK_TYPE, TRACK_UID, TRACKS, BIT_DEPTH, cluster, ebml_header,
                         el, flt, info, master, segment, simple_block, tags, text, uint)
import fixture_sources  # noqa: E402

OUT = os.path.join(HERE, "audio")
RATE = 8000
BLOCK_MS = 20
BLOCK_SAMPLES = RATE * BLOCK_MS // 1000


def tone(freq, first, count, rate=RATE, amplitude=12000):
    """count samples of a sine from sample index first, as ints."""
    return [int(round(amplitude * math.sin(2 * math.pi * freq * (first + i) / rate))) for i in range(count)]


def s16le(samples):
    return struct.pack("<%dh" % len(samples), *samples)


def s16be(samples):
    return struct.pack(">%dh" % len(samples), *samples)


def f32le(samples):
    return struct.pack("<%df" % len(samples), *(s / 32768.0 for s in samples))


# ---------------------------------------------------------------- connect_two_calls.mkv
CONNECT_FREQ = {"AUDIO_FROM_CUSTOMER": 440, "AUDIO_TO_CUSTOMER": 1000}
CONTACTS = {"A": "7f3c1d2e-0a4b-4c5d-8e9f-0123456789ab", "B": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"}
INSTANCE = "11111111-2222-3333-4444-555555555555"
# (call, start ms of the fragment on the producer clock, tagged, track 1's name)
CONNECT_FRAGMENTS = [("A", 0, True, "AUDIO_FROM_CUSTOMER"), ("A", 100, False, "AUDIO_TO_CUSTOMER"),
                     ("A", 200, True, "AUDIO_FROM_CUSTOMER"), ("B", 10000, True, "AUDIO_TO_CUSTOMER"),
                     ("B", 10100, True, "AUDIO_FROM_CUSTOMER")]
FRAGMENT_MS = 100
PRODUCER_BASE_MS = 1700000000500


def connect_track_entry(number, name):
    """What Connect writes: CodecID A_AAC, 2 bytes of CodecPrivate (an AAC LC 8 kHz mono
    AudioSpecificConfig), a Name, no Audio master."""
    return master(TRACK_ENTRY, uint(TRACK_NUMBER, number), uint(TRACK_UID, 0x4B565350100 + number),
                  uint(TRACK_TYPE, 2), text(CODEC_ID, "A_AAC"), text(NAME, name), el(CODEC_PRIVATE, b"\x15\x88"))


def connect_pcm(name, call):
    """The s16le PCM of one track of one call, as the fragments hold it: the tone runs on from the
    call's first sample."""
    frags = [f for f in CONNECT_FRAGMENTS if f[0] == call]
    n = len(frags) * FRAGMENT_MS * RATE // 1000
    return s16le(tone(CONNECT_FREQ[name], 0, n))


def fx_connect_two_calls(cluster_times=False):
    out, offsets, frag_facts = b"", [], []
    first_ms = {}
    for k, (call, start, tagged, first_name) in enumerate(CONNECT_FRAGMENTS):
        first_ms.setdefault(call, start)
        names = [first_name, "AUDIO_TO_CUSTOMER" if first_name == "AUDIO_FROM_CUSTOMER" else "AUDIO_FROM_CUSTOMER"]
        number, server, producer = fixture_sources_ids(k, start)
        head = [("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number), ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", server),
                ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", producer), ("MimeType", "audio/L16;rate=8000;channels=1")]
        if tagged:
            head += [("ContactId", CONTACTS[call]), ("InstanceId", INSTANCE)]
        blocks = []
        offset = (start - first_ms[call]) * RATE // 1000  # samples into the call
        for b in range(FRAGMENT_MS // BLOCK_MS):
            for number_in_file, name in enumerate(names, 1):
                pcm = s16le(tone(CONNECT_FREQ[name], offset + b * BLOCK_SAMPLES, BLOCK_SAMPLES))
                blocks.append(simple_block(number_in_file, b * BLOCK_MS, [pcm], True))
        tail = tags([("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1200"), ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number)])
        offsets.append(len(out))
        trk = master(TRACKS, connect_track_entry(1, names[0]), connect_track_entry(2, names[1]))
        out += ebml_header() + segment(info(), trk, tags(head), cluster(PRODUCER_BASE_MS + start if cluster_times else 0, blocks, unknown=8), tail, unknown=8)
        frag_facts.append(collections.OrderedDict(call=call, fragment_number=number, producer_timestamp_ms=
                                                  PRODUCER_BASE_MS + start, contact_id=CONTACTS[call] if tagged else None,
                                                  track_names={"1": names[0], "2": names[1]}))
    calls = collections.OrderedDict()
    for call in ("A", "B"):
        calls[call] = collections.OrderedDict(
            contact_id=CONTACTS[call], first_producer_timestamp_ms=PRODUCER_BASE_MS + first_ms[call],
            samples=len(connect_pcm("AUDIO_FROM_CUSTOMER", call)) // 2,
            sha256={n: hashlib.sha256(connect_pcm(n, call)).hexdigest() for n in CONNECT_FREQ})
    return out, {"fragment_offsets": offsets, "fragments": frag_facts, "calls": calls, "sample_rate": RATE,
                 "channels": 1, "frequencies": CONNECT_FREQ}


def fixture_sources_ids(k, start_ms):
    """Fragment number, server and producer timestamps (decimal seconds) of fragment k."""
    number = str(91343852333181432390000000000000000000000000001 + k * 4951760157141521099596496)
    producer = PRODUCER_BASE_MS + start_ms
    return number, "%d.%03d" % divmod(producer + 613, 1000), "%d.%03d" % divmod(producer, 1000)


# ---------------------------------------------------------------- pcm_gaps.mkv
# Block start times (ms) of track 1: 0..180, (200..240 missing), 260..380, 390 (10 ms early), 410, 430,
# then 3450..3630 after a gap of 3 s.
GAP_TIMES = list(range(0, 200, 20)) + list(range(260, 400, 20)) + [390, 410, 430] + list(range(3450, 3650, 20))
PLAIN_TIMES = list(range(0, 460, 20))


def pcm_track_entry(number, codec, name, bit_depth):
    return master(TRACK_ENTRY, uint(TRACK_NUMBER, number), uint(TRACK_UID, 0x4B565350200 + number),
                  uint(TRACK_TYPE, 2), text(CODEC_ID, codec), text(NAME, name),
                  master(AUDIO, flt(SAMPLING_FREQUENCY, float(RATE)), uint(CHANNELS, 1), uint(BIT_DEPTH, bit_depth)))


def s24le(samples):
    """24-bit little-endian: the 16-bit value times 256 plus a low byte that varies."""
    return b"".join(struct.pack("<i", v * 256 + (i * 37) % 256)[:3] for i, v in enumerate(samples))


def wave_format_ex(rate, channels, bits):
    """WAVEFORMATEX of integer PCM (format tag 1), cbSize 0."""
    block = channels * bits // 8
    return struct.pack("<HHIIHHH", 1, channels, rate, rate * block, block, bits, 0)


def acm_track_entry(number, name):
    return master(TRACK_ENTRY, uint(TRACK_NUMBER, number), uint(TRACK_UID, 0x4B565350200 + number),
                  uint(TRACK_TYPE, 2), text(CODEC_ID, "A_MS/ACM"), text(NAME, name),
                  el(CODEC_PRIVATE, wave_format_ex(RATE, 1, 16)),
                  master(AUDIO, flt(SAMPLING_FREQUENCY, float(RATE)), uint(CHANNELS, 1)))


def gap_block_pcm(t):
    """The samples of track 1's block at t ms: the tone as of sample t * 8."""
    return tone(440, t * RATE // 1000, BLOCK_SAMPLES)


def fx_pcm_gaps():
    items = [(t, 1, s16le(gap_block_pcm(t))) for t in GAP_TIMES]
    items += [(t, 2, s16be(tone(600, t * RATE // 1000, BLOCK_SAMPLES))) for t in PLAIN_TIMES]
    items += [(t, 3, f32le(tone(800, t * RATE // 1000, BLOCK_SAMPLES))) for t in PLAIN_TIMES]
    items += [(t, 4, s16le(tone(300, t * RATE // 1000, BLOCK_SAMPLES))) for t in PLAIN_TIMES]
    items += [(t, 5, s24le(tone(500, t * RATE // 1000, BLOCK_SAMPLES))) for t in PLAIN_TIMES]
    items.sort(key=lambda x: (x[0], x[1]))  # stable: the overlapping block stays after its predecessor
    clusters = []
    for base in (0, 3000):
        part = [x for x in items if base <= x[0] < base + 3000]
        clusters.append(cluster(base, [simple_block(tr, t - base, [d], True) for t, tr, d in part]))
    trk = master(TRACKS, pcm_track_entry(1, "A_PCM/INT/LIT", "gappy", 16),
                 pcm_track_entry(2, "A_PCM/INT/BIG", "big", 16), pcm_track_entry(3, "A_PCM/FLOAT/IEEE", "float", 32),
                 acm_track_entry(4, "acm"), pcm_track_entry(5, "A_PCM/INT/LIT", "s24", 24))
    return ebml_header() + segment(info(), trk, *clusters), {
        "sample_rate": RATE, "block_ms": BLOCK_MS, "track1_block_ms": GAP_TIMES, "tracks23_block_ms": PLAIN_TIMES}


# ---------------------------------------------------------------- pcm_51.mkv
SURROUND_CHANNELS = 6
SURROUND_MS = 200


def surround_pcm():
    """The interleaved s16le samples of pcm_51.mkv, as they went in."""
    n = SURROUND_MS * RATE // 1000
    chans = [tone(300 + 100 * c, 0, n) for c in range(SURROUND_CHANNELS)]
    return s16le([chans[c][i] for i in range(n) for c in range(SURROUND_CHANNELS)])


def fx_pcm_51():
    pcm, frame = surround_pcm(), 2 * SURROUND_CHANNELS
    step = BLOCK_SAMPLES * frame
    blocks = [simple_block(1, t, [pcm[t // BLOCK_MS * step:(t // BLOCK_MS + 1) * step]], True)
              for t in range(0, SURROUND_MS, BLOCK_MS)]
    entry = master(TRACK_ENTRY, uint(TRACK_NUMBER, 1), uint(TRACK_UID, 0x4B565350401), uint(TRACK_TYPE, 2),
                   text(CODEC_ID, "A_PCM/INT/LIT"), text(NAME, "surround"),
                   master(AUDIO, flt(SAMPLING_FREQUENCY, float(RATE)), uint(CHANNELS, SURROUND_CHANNELS),
                          uint(BIT_DEPTH, 16)))
    return ebml_header() + segment(info(), master(TRACKS, entry), cluster(0, blocks)), {
        "sample_rate": RATE, "channels": SURROUND_CHANNELS, "samples": SURROUND_MS * RATE // 1000,
        "sha256": hashlib.sha256(pcm).hexdigest()}


# ---------------------------------------------------------------- aac_track.mkv
def fx_aac_track(tmp):
    trk, frames = fixture_sources.encode(tmp, "aac16k", [
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "1", "-ac", "1", "-c:a", "aac",
        "-b:a", "32k"])
    assert trk["rate"] == 16000 and trk["channels"] == 1
    entry = master(TRACK_ENTRY, uint(TRACK_NUMBER, 1), uint(TRACK_UID, 0x4B565350301), uint(TRACK_TYPE, 2),
                   text(CODEC_ID, trk["codec_id"]), text(NAME, "tone"), el(CODEC_PRIVATE, trk["private"]),
                   master(AUDIO, flt(SAMPLING_FREQUENCY, 16000.0), uint(CHANNELS, 1)))
    clusters = []
    for base in (0, 500):
        part = [f for f in frames if base <= f[0] < base + 500]
        clusters.append(cluster(base, [simple_block(1, ts - base, [d], True) for ts, _, d in part]))
    return ebml_header() + segment(info(), master(TRACKS, entry), *clusters), {
        "sample_rate": 16000, "channels": 1, "frames": len(frames)}


def generate():
    os.makedirs(OUT, exist_ok=True)
    manifest = collections.OrderedDict(generator="tests/resources/make_audio_fixtures.py", fixtures={})
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("connect_two_calls.mkv", fx_connect_two_calls), ("pcm_gaps.mkv", fx_pcm_gaps),
                            ("pcm_51.mkv", fx_pcm_51),
                            ("connect_cluster_times.mkv", lambda: fx_connect_two_calls(True)),
                            ("aac_track.mkv", lambda: fx_aac_track(tmp))):
            W.new_tally()
            data, facts = build()
            assert len(data) < 80000, name
            with open(os.path.join(OUT, name), "wb") as fh:
                fh.write(data)
            entry = collections.OrderedDict(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
            entry.update(facts)
            manifest["fixtures"][name] = entry
            print("wrote %-24s %6d bytes" % (name, len(data)))
    with open(os.path.join(OUT, "fixtures.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    sys.exit(generate())
