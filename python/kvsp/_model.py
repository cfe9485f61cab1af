"""The metadata objects: plain dataclasses that pickle, compare and print.

Their fields are named like the keys of ``kvsp fragments`` JSON; absent
values are None.
"""
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Tuple, Union

import numpy


@dataclass(frozen=True)
class Track:
    """A TrackEntry of a fragment's Tracks."""
    number: Optional[int]
    type: Optional[str]  # "video", "audio", ...
    codec_id: Optional[str]
    name: Optional[str]
    language: Optional[str]
    codec_private: Optional[bytes]
    default_duration_ns: Optional[int]
    width: Optional[int]
    height: Optional[int]
    display_width: Optional[int]
    display_height: Optional[int]
    sampling_frequency: Optional[float]
    output_sampling_frequency: Optional[float]
    channels: Optional[int]
    bit_depth: Optional[int]

    @property
    def codec_private_size(self):
        return len(self.codec_private) if self.codec_private is not None else None


@dataclass(frozen=True)
class Tag:
    """A user SimpleTag (not one of the decoded AWS_KINESISVIDEO_* tags)."""
    name: str
    value: Optional[str]
    binary: Optional[bytes]
    depth: int


@dataclass(frozen=True)
class Fragment:
    """One KVS fragment (one Segment) with its metadata. Timestamps are
    integer milliseconds since the epoch; pts values are milliseconds of
    presentation time."""
    index: int
    fragment_number: Optional[str]
    server_timestamp_ms: Optional[int]
    producer_timestamp_ms: Optional[int]
    millis_behind_now: Optional[int]
    continuation_token: Optional[str]
    error_id: Union[int, str, None]
    error_code: Optional[str]
    error_message: Optional[str]
    complete: bool
    offset: int
    end_offset: int
    timecode_scale: int
    cluster_timecode: Optional[int]
    frames: int
    frames_per_track: Dict[int, int]
    first_pts_ms: Optional[float]
    last_pts_ms: Optional[float]
    duration: Optional[float]
    title: Optional[str]
    muxing_app: Optional[str]
    writing_app: Optional[str]
    tracks: Tuple[Track, ...]
    tags: Tuple[Tag, ...]

    @classmethod
    def _from_dict(cls, d):
        d["tracks"] = tuple(_fill(Track, t) for t in d["tracks"])
        d["tags"] = tuple(_fill(Tag, t) for t in d["tags"])
        return _fill(cls, d)

    @property
    def has_error(self):
        return self.error_code is not None or self.error_id is not None

    def track(self, number):
        """The track with this number, or None."""
        return next((t for t in self.tracks if t.number == number), None)


def _fill(cls, d):
    """An instance from the extension's dict, which has exactly the class's
    fields: filled in directly, because a frozen dataclass's __init__ costs
    more than parsing the fragment did (about 40 us a fragment)."""
    obj = object.__new__(cls)
    obj.__dict__.update(d)
    return obj


@dataclass(frozen=True)
class Picture:
    """A decoded picture with the metadata of the frame it came from.

    ``array`` is ``(H, W, 3)`` uint8 for rgb24/bgr24, ``(H, W)`` for gray,
    and for yuv420p a tuple of the Y, U and V planes."""
    array: Union[numpy.ndarray, Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]]
    track: int
    fragment_index: int
    fragment_number: Optional[str]
    keyframe: bool
    pts_ms: Optional[float]
    producer_timestamp_ms: Optional[float]
    server_timestamp_ms: Optional[float]
    index: int
    width: int
    height: int

    def __eq__(self, other):
        if not isinstance(other, Picture):
            return NotImplemented
        return (_meta(self) == _meta(other) and
                all(numpy.array_equal(a, b) for a, b in zip(_planes(self), _planes(other))))


def _meta(p):
    return tuple(getattr(p, f.name) for f in fields(p) if f.name != "array")


def _planes(p):
    return p.array if isinstance(p.array, tuple) else (p.array,)


@dataclass(frozen=True)
class Batch:
    """Pictures of the same size stacked for a model: ``array`` is
    ``(N, H, W, 3)`` (or ``(N, H, W)`` for gray), ``pictures`` their
    metadata (each Picture's array is a view into the batch)."""
    array: numpy.ndarray
    pictures: List[Picture] = field(default_factory=list)

    def __len__(self):
        return len(self.pictures)
