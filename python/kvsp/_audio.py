"""Audio as numpy PCM, through libkvsparser-decoder's audio sink: each
audio track placed on the producer timeline (gaps filled with silence, a
long gap or a change of format starting a new output), PCM copied, AAC and
other codecs decoded, optionally resampled and mixed."""
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import numpy

from . import _native
from ._sources import DEFAULT_CHUNK_SIZE, chunks

_SAMPLE_FORMATS = {"s16": 0, "s32": 1, "f32": 2}


@dataclass(frozen=True)
class AudioInfo:
    """What an output is (the keys of `kvsp audio`'s index lines): its
    track, codec and how its PCM was obtained (source: copied, connect-l16,
    overridden or decoded), the PCM's sample_rate, channels and
    sample_format (s16, s32, f32), its first and last blocks' times (ms;
    None when the fragments have none), samples per channel, and the gaps
    (silence inserted) and overlaps (samples dropped) at the source rate."""
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

    @property
    def duration_ms(self):
        return self.samples * 1000.0 / self.sample_rate if self.sample_rate else 0.0


def audio(source, track: Optional[int] = None, sample_rate: Optional[int] = None,
          channels: Optional[int] = None, *, track_name: Optional[str] = None, sample_format: str = "s16",
          split_on_gap_ms: Optional[float] = None, resync: bool = False,
          chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Tuple[AudioInfo, numpy.ndarray]]:
    """The audio outputs of a source, each as ``(AudioInfo, array)`` when it
    ends; ``array`` is ``(samples, channels)`` int16, int32 or float32
    (sample_format s16, s32, f32), the samples ``kvsp audio --format raw``
    writes. track / track_name: only that track (None: every audio track);
    sample_rate, channels: resample and mix to them (None: keep);
    split_on_gap_ms: a longer gap starts a new output (None: 2000; 0: fill
    gaps of up to a day). Parsing and decoding run with the GIL released."""
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
    sink = _native.AudioSink(track=track or 0, track_name=track_name, sample_rate=sample_rate or 0,
                             channels=channels or 0, sample_format=fmt, split_ms=split, resync=resync)
    for chunk in chunks(source, chunk_size):
        for meta, array in sink.feed(chunk):
            yield AudioInfo(**meta), array
        sink.check()
    for meta, array in sink.finish():
        yield AudioInfo(**meta), array
    sink.check()
