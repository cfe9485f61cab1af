"""Audio as numpy PCM, through libkvsparser-decoder's audio sink: each
audio track placed on the producer timeline (gaps filled with silence, a
long gap or a change of format starting a new output), PCM copied, AAC and
other codecs decoded, optionally resampled and mixed; and WAV files of
them, written by the library's WAV header rule (the bytes `kvsp audio
--format wav` writes)."""
import json
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy

from . import _native
from ._range import Window, window_of
from ._sources import DEFAULT_CHUNK_SIZE, chunks

_SAMPLE_FORMATS = {"s16": 0, "s32": 1, "f32": 2}


@dataclass(frozen=True)
class CodecOverride:
    """Reads a track (by number, or by TrackEntry Name when track is a str)
    as another Matroska CodecID than it says, as `kvsp audio
    --codec-override TRACK=CODEC,RATE,CHANNELS` (0: the track's; PCM
    without them 8000 Hz mono); bit_depth for PCM (0: the track's, else 16)."""
    track: Union[int, str]
    codec_id: str
    sample_rate: int = 0
    channels: int = 0
    bit_depth: int = 0

    def _native(self):
        name, number = (self.track, 0) if isinstance(self.track, str) else (None, int(self.track))
        return (name, number, self.codec_id, self.sample_rate, self.channels, self.bit_depth)


@dataclass(frozen=True)
class AudioGap:
    """A silence the sink inserted: at ``position`` samples into the output
    (at the source rate), ``samples`` long (``ms``), before the block at
    producer time ``producer_timestamp_ms`` (`kvsp audio`'s index gaps)."""
    position: int
    samples: int
    ms: float
    producer_timestamp_ms: float


@dataclass(frozen=True)
class AudioInfo:
    """What an output is (the keys of `kvsp audio`'s index lines): its
    track, codec and how its PCM was obtained (source: copied, connect-l16,
    override or decoded, the words of its index), the PCM's sample_rate, channels and
    sample_format (s16, s32, f32), its first and last blocks' times (ms;
    None when the fragments have none), samples per channel, and the gaps
    (silence inserted) and overlaps (samples dropped) at the source rate;
    gap_list: the first 1,000 gaps (AudioGap), as the index line lists
    them. Sample i of the array is at producer time
    ``first_producer_timestamp_ms + i * 1000 / sample_rate`` (gaps are
    filled and overlaps dropped, so the samples are continuous; see
    times_ms)."""
    track: int
    track_name: Optional[str]
    codec_id: str
    source: str
    source_codec: str
    index: int
    sample_rate: int
    channels: int
    source_sample_rate: int
    source_channels: int
    sample_format: str
    first_producer_timestamp_ms: Optional[float]
    last_producer_timestamp_ms: Optional[float]
    first_server_timestamp_ms: Optional[float]
    last_server_timestamp_ms: Optional[float]
    first_pts_ms: float
    last_pts_ms: float
    first_fragment_number: Optional[str]
    samples: int
    blocks: int
    gaps: int
    gap_samples: int
    overlaps: int
    overlap_samples: int
    gap_list: Tuple[AudioGap, ...] = ()

    @property
    def duration_ms(self) -> float:
        return self.samples * 1000.0 / self.sample_rate if self.sample_rate else 0.0

    def times_ms(self, timestamp: str = "producer") -> numpy.ndarray:
        """Each sample's time (ms since the epoch, float64, one per row of
        the array) on the producer or server timeline (from the first
        block's time); the pts timeline without the fragments' timestamps."""
        first = {"producer": self.first_producer_timestamp_ms,
                 "server": self.first_server_timestamp_ms, "pts": self.first_pts_ms}[timestamp]
        if first is None:
            first = self.first_pts_ms
        return first + numpy.arange(self.samples, dtype=numpy.float64) * (1000.0 / self.sample_rate)

    def gap_mask(self) -> numpy.ndarray:
        """True for the samples that are silence the sink inserted (of the
        listed gaps; positions at the source rate, scaled to the output's)."""
        mask = numpy.zeros(self.samples, dtype=bool)
        ratio = self.sample_rate / self.source_sample_rate if self.source_sample_rate else 1.0
        for g in self.gap_list:
            mask[int(round(g.position * ratio)):int(round((g.position + g.samples) * ratio))] = True
        return mask


def _info(meta):
    meta["gap_list"] = tuple(AudioGap(**g) for g in meta["gap_list"])
    return AudioInfo(**meta)


def audio(source, track: Optional[int] = None, sample_rate: Optional[int] = None,
          channels: Optional[int] = None, *, track_name: Optional[str] = None, sample_format: str = "s16",
          split_on_gap_ms: Optional[float] = None, contact_id: Optional[str] = None,
          codec_overrides: Sequence[CodecOverride] = (), window: Optional[Window] = None,
          resync: bool = False,
          chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Tuple[AudioInfo, numpy.ndarray]]:
    """The audio outputs of a source, each as ``(AudioInfo, array)`` when it
    ends; ``array`` is ``(samples, channels)`` int16, int32 or float32
    (sample_format s16, s32, f32), the samples ``kvsp audio --format raw``
    writes. track / track_name: only that track (None: every audio track);
    sample_rate, channels: resample and mix to them (None: keep);
    split_on_gap_ms: a longer gap starts a new output (None: 2000; 0: fill
    gaps of up to a day); contact_id: only that Amazon Connect call's
    fragments (as --contact-id); codec_overrides: tracks read as another
    codec (CodecOverride, as --codec-override); window (kvsp.Window; None: a Client.range
    source's): only frames with times in it are placed. Parsing and
    decoding run with the GIL released."""
    try:
        fmt = _SAMPLE_FORMATS[sample_format]
    except KeyError:
        raise ValueError("sample_format must be s16, s32 or f32") from None
    if split_on_gap_ms is None:
        split = 0.0
    elif split_on_gap_ms == 0:
        split = -1.0  # the library's "fill every gap"
    elif split_on_gap_ms > 0:
        split = float(split_on_gap_ms)
    else:
        raise ValueError("split_on_gap_ms must not be negative")
    w = window_of(source, window)
    sink = _native.AudioSink(track=track or 0, track_name=track_name, sample_rate=sample_rate or 0,
                             channels=channels or 0, sample_format=fmt, split_ms=split, resync=resync,
                             contact_id=contact_id, overrides=[o._native() for o in codec_overrides],
                             **(w._native_kwargs() if w else {}))
    for chunk in chunks(source, chunk_size):
        for meta, array in sink.feed(chunk):
            yield _info(meta), array
        sink.check()
    for meta, array in sink.finish():
        yield _info(meta), array
    sink.check()


_WAV_TYPES = {numpy.dtype("int16"): (2, False), numpy.dtype("int32"): (4, False),
              numpy.dtype("float32"): (4, True)}


def write_wav(path, pcm: numpy.ndarray, sample_rate: int) -> None:
    """Writes ``pcm`` ((samples, channels) or (samples,) int16, int32 or
    float32, as kvsp.audio gives it) as a WAV file: the library's header
    (kvsparser/audio.h, the one `kvsp audio --format wav` writes), then the
    samples little-endian; the same PCM gives the same bytes as the CLI."""
    pcm = numpy.asarray(pcm)
    if pcm.ndim == 1:
        pcm = pcm.reshape(-1, 1)
    if pcm.ndim != 2:
        raise ValueError("pcm must be (samples, channels) or (samples,)")
    try:
        size, is_float = _WAV_TYPES[pcm.dtype.newbyteorder("=")]
    except KeyError:
        raise ValueError("pcm must be int16, int32 or float32, not %s" % pcm.dtype) from None
    data = numpy.ascontiguousarray(pcm, dtype=pcm.dtype.newbyteorder("<"))
    header = _native.wav_header(int(sample_rate), pcm.shape[1], size, is_float, data.nbytes)
    with open(path, "wb") as f:
        f.write(header)
        data.tofile(f)


def index_line(info: AudioInfo, file: str) -> dict:
    """The line `kvsp audio -o DIR` writes in DIR/index.jsonl for an output
    written as file (its name in DIR), with the same keys in the same order."""
    return {
        "file": file, "track": info.track, "name": info.track_name, "codec": info.codec_id,
        "source": info.source, "source_codec": info.source_codec,
        "sample_rate": info.sample_rate, "channels": info.channels,
        "sample_format": info.sample_format, "source_sample_rate": info.source_sample_rate,
        "source_channels": info.source_channels,
        "first_producer_timestamp_ms": info.first_producer_timestamp_ms,
        "last_producer_timestamp_ms": info.last_producer_timestamp_ms,
        "first_server_timestamp_ms": info.first_server_timestamp_ms,
        "last_server_timestamp_ms": info.last_server_timestamp_ms,
        "first_pts_ms": info.first_pts_ms, "last_pts_ms": info.last_pts_ms,
        "first_fragment_number": info.first_fragment_number, "samples": info.samples,
        "duration_ms": info.duration_ms, "blocks": info.blocks,
        "gaps": [{"position": g.position, "samples": g.samples, "ms": g.ms,
                  "producer_timestamp_ms": g.producer_timestamp_ms} for g in info.gap_list],
        "gap_count": info.gaps, "gap_samples": info.gap_samples, "overlaps": info.overlaps,
        "overlap_samples": info.overlap_samples,
    }


def audio_files(source, out_dir, **kw) -> List[str]:
    """Writes each output of kvsp.audio(source, **kw) as a WAV file in
    out_dir, named as `kvsp audio -o DIR` names them
    (track-N[-NAME][-K].wav), and out_dir/index.jsonl with one line per
    file as the CLI writes it (index_line); returns the WAV files' paths.
    Each output is held in memory until it ends, as in kvsp.audio."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    with open(os.path.join(out_dir, "index.jsonl"), "w", encoding="utf-8") as index:
        for info, pcm in audio(source, **kw):
            raw = (info.track_name or "").encode("utf-8")[:127]  # the CLI cleans bytes
            name = "".join(chr(c) if chr(c).isascii() and (chr(c).isalnum() or chr(c) in ".-_")
                           else "_" for c in raw)
            piece = "-%d" % info.index if info.index else ""
            file = "track-%d%s%s%s.wav" % (info.track, "-" if name else "", name, piece)
            path = os.path.join(out_dir, file)
            write_wav(path, pcm, info.sample_rate)
            index.write(json.dumps(index_line(info, file), ensure_ascii=False, separators=(",", ":")) + "\n")
            index.flush()
            paths.append(path)
    return paths
