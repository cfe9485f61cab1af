"""Frames parsed in batches (python/src/parser.c: a run goes on over a
chunk, its frames handed out after it) are the frames the oracles see, for
chunk sizes that put few or many frames in a chunk, blocks straddling
chunks, and more frames in one chunk than a batch holds (256; vogels_330's
AAC frames are a few hundred bytes): their bytes equal FFmpeg's packets
(PyAV's demuxer) and their metadata, with each frame's fragment number,
equals `kvsp frames --list`."""
import hashlib
import os

import pytest

import kvsp
from conftest import kvsp_lines, resolve
from test_metadata import frame_as_json

CHUNK_SIZES = [997, 65536, 1 << 20, None]  # None: the file's bytes as one chunk


def read_frames(path, chunk_size, fn):
    if chunk_size is None:
        return [fn(f) for f in kvsp.frames(open(path, "rb").read())]
    return [fn(f) for f in kvsp.frames(path, chunk_size=chunk_size)]


def pyav_packet_bytes(path):
    av = pytest.importorskip("av")
    with av.open(path) as c:
        return sorted((p.stream.index + 1, hashlib.sha1(bytes(p)).hexdigest())
                      for p in c.demux() if p.size)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES, ids=str)
@pytest.mark.parametrize("name", ["bezos_vogels.mkv", "vogels_330.mkv"])
def test_frame_bytes_equal_pyav_packets(captures, name, chunk_size):
    path = os.path.join(os.path.dirname(captures[0]), name)
    ours = read_frames(path, chunk_size, lambda f: (f.track, hashlib.sha1(f.data).hexdigest()))
    assert sorted(ours) == pyav_packet_bytes(path)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES, ids=str)
@pytest.mark.parametrize("name", ["output_get_media.mkv", "output_get_media_sparse_fragments.mkv",
                                  "kinesis_video_renderer_example_output.mkv"])
def test_frames_with_fragment_numbers_equal_cli(name, chunk_size):
    path = resolve(name)
    expected, rc, err = kvsp_lines("frames", "--list", path)
    assert rc == 0, err
    assert len({f["fragment_number"] for f in expected}) > 1
    assert read_frames(path, chunk_size, frame_as_json) == expected
