"""kvsp: Kinesis Video Streams media in Python, over the kvsparser C library.

Distribution name ``kvsp-kinesis``; import name ``kvsp``.

    import kvsp
    for fragment in kvsp.fragments("capture.mkv"):
        print(fragment.fragment_number, fragment.producer_timestamp_ms)
    for picture in kvsp.decode("capture.mkv", interval_ms=1000):
        model(picture.array)            # (H, W, 3) uint8 RGB

Sources: a path, bytes, a binary file, botocore's StreamingBody
(``get_media(...)["Payload"]``) or any iterable of bytes chunks. The C
library parses and decodes with the GIL released.

Frames and push-style reading, for callers with their own I/O::

    reader = kvsp.Reader(track_type="video")
    async for chunk in response.content.iter_chunked(65536):   # e.g. aiohttp
        for item in reader.feed(chunk):
            if isinstance(item, kvsp.Frame):
                handle(item.pts_ms, bytes(item.data))   # data: valid this step only
    for item in reader.close():
        ...

Batches for a model::

    for batch in kvsp.decode_batches(body, 16, every=5, size=(224, 224)):
        model(batch.array)              # (16, 224, 224, 3) uint8

Time ranges: a stream's archived media between two times, cut at frame
level by every reader::

    clip = kvsp.Client(region="us-west-2").range("camera", start="2026-12-04T10:02:00Z",
                                                  end="2026-12-04T10:07:00Z", parallel=3)
    for picture in kvsp.decode(clip, interval_ms=1000):
        ...
    for info, pcm in kvsp.audio(clip):
        kvsp.write_wav("track-%d.wav" % info.track, pcm, info.sample_rate)
    kvsp.merge(clip, "clip.mkv")        # from the keyframe at or before start

Files are cut the same way with ``window=kvsp.Window.of(start, end)``.

Errors are kvsp.Error subclasses with .status, .code, .offset, .message.
"""
from . import errors
from ._model import Batch, Fragment, Picture, Tag, Track
from ._range import NO_WINDOW, Range, Window
from ._reader import Frame, ReadOptions, Reader, fragments, frames, merge, read
from .errors import DecodeError, Error, FormatError, LimitError, ServiceError, TruncatedError
from . import _native

library_version = _native.library_version
have_decoder = bool(getattr(_native, "have_decoder", 0))

if have_decoder:
    from ._decode import DecodeOptions, Decoder, decode, decode_batches
    from ._audio import AudioGap, AudioInfo, CodecOverride, audio, audio_files, write_wav

have_client = bool(getattr(_native, "have_client", 0))
if have_client:
    from ._client import Client, Consumer

__all__ = ["AudioGap", "CodecOverride", "AudioInfo", "NO_WINDOW", "Range", "Window", "audio_files", "write_wav", "Batch", "Client", "Consumer", "DecodeError", "DecodeOptions", "Decoder", "Error", "FormatError", "Fragment",
           "Frame", "LimitError", "Picture", "ServiceError", "ReadOptions", "Reader", "Tag", "Track",
           "TruncatedError", "audio", "decode", "decode_batches", "errors", "fragments", "frames", "merge", "read"]
