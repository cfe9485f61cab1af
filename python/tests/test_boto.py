"""A boto3 client against `kvsp serve`: GetMedia's StreamingBody fed to the
package gives what `kvsp fragments` prints for the same payload, and the
frames of the source file (the server re-wraps each Cluster as a KVS
fragment with its tags, so frame data and keyframes are the file's)."""
import json
import os
import subprocess

import pytest

import kvsp
from conftest import KVSP, RESOURCES, kvsp_lines

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

import kvsp_server  # noqa: E402  (tests/client, on sys.path via conftest)

STREAMS = ["output_get_media", "kinesis_video_renderer_example_output", "kvs_user_tags", "h264_blockgroups"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, captures):
    root = tmp_path_factory.mktemp("root")
    folder = os.path.dirname(captures[0])
    for name in STREAMS:
        src = os.path.join(folder if os.path.exists(os.path.join(folder, name + ".mkv")) else RESOURCES,
                           name + ".mkv")
        os.symlink(src, root / (name + ".mkv"))
    with kvsp_server.KvspServer(KVSP, str(root), timeout=60) as s:
        s.root = root
        yield s


def media_client(url):
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=60, read_timeout=60)
    return boto3.client("kinesis-video-media", region_name="us-west-2", endpoint_url=url,
                        aws_access_key_id="AKIDTEST", aws_secret_access_key="secret", config=cfg)


def get_media(server, stream):
    return media_client(server.url).get_media(StreamName=stream,
                                              StartSelector={"StartSelectorType": "EARLIEST"})["Payload"]


@pytest.mark.parametrize("stream", STREAMS)
def test_streaming_body_equals_cli_and_source(server, stream, tmp_path):
    payload = tmp_path / "payload.mkv"
    payload.write_bytes(get_media(server, stream).read())
    expected, rc, err = kvsp_lines("fragments", str(payload))
    assert rc == 0 and len(expected) > 0, err
    items = list(kvsp.read(get_media(server, stream), chunk_size=4000))
    fragments = [i for i in items if isinstance(i, kvsp.Fragment)]
    assert [(f.fragment_number, f.producer_timestamp_ms, f.server_timestamp_ms, f.continuation_token,
             f.millis_behind_now, f.frames, f.complete) for f in fragments] == \
        [(e["fragment_number"], e["producer_timestamp_ms"], e["server_timestamp_ms"], e["continuation_token"],
          e["millis_behind_now"], e["frames"], e["complete"]) for e in expected]
    assert all(f.fragment_number and f.server_timestamp_ms for f in fragments)
    served = [(f.track, f.keyframe, f.tobytes()) for f in kvsp.frames(get_media(server, stream))]
    original = [(f.track, f.keyframe, f.tobytes()) for f in kvsp.frames(str(server.root / (stream + ".mkv")))]
    assert served == original


def test_streaming_body_read_only_and_decode(server):
    """The body through read(n) alone (no iter_chunks), and decoded."""
    body = get_media(server, "output_get_media")

    class ReadOnly:
        def read(self, n):
            return body.read(n)

    assert len(list(kvsp.frames(ReadOnly()))) == 300
    if kvsp.have_decoder:
        pics = list(kvsp.decode(get_media(server, "output_get_media"), keyframes=True))
        assert len(pics) == 5 and all(p.fragment_number for p in pics)
