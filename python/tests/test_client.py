"""kvsp.Client (libkvsparser-client) against `kvsp serve` with SigV4
required: GetMedia chunks give the same fragments and frames as boto3's
StreamingBody of the same request (botocore signs independently);
ListFragments rows equal boto3's; GetMediaForFragmentList of two listed
fragments gives those two; service errors carry the AWS exception name and
HTTP status; closing the iterator early stops the transfer."""
import os

import pytest

import kvsp
from conftest import KVSP, RESOURCES

pytestmark = pytest.mark.skipif(not kvsp.have_client, reason="built without the client")
boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

import kvsp_server  # noqa: E402

AK, SK, REGION = "AKIDPYTEST", "python/test/secret", "us-west-2"
STREAMS = ["output_get_media", "kvs_user_tags"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, captures):
    root = tmp_path_factory.mktemp("root")
    os.symlink(os.path.join(os.path.dirname(captures[0]), "output_get_media.mkv"), root / "output_get_media.mkv")
    os.symlink(os.path.join(RESOURCES, "kvs_user_tags.mkv"), root / "kvs_user_tags.mkv")
    with kvsp_server.KvspServer(KVSP, str(root), "--access-key", AK, "--secret-key", SK, timeout=60) as s:
        yield s


@pytest.fixture()
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SK)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def boto(service, url):
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=60, read_timeout=60)
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id=AK,
                        aws_secret_access_key=SK, config=cfg)


def summary(items):
    return [(i.fragment_number, i.producer_timestamp_ms, i.continuation_token, i.frames)
            if isinstance(i, kvsp.Fragment) else (i.track, i.pts_ms, i.tobytes()) for i in items]


@pytest.mark.parametrize("stream", STREAMS)
def test_get_media_equals_boto3(server, env, stream):
    client = kvsp.Client(region=REGION, endpoint_url=server.url)
    ours = summary(kvsp.read(client.get_media(stream, start="earliest")))
    body = boto("kinesis-video-media", server.url).get_media(
        StreamName=stream, StartSelector={"StartSelectorType": "EARLIEST"})["Payload"]
    assert ours == summary(kvsp.read(body)) and len(ours) > 1


def test_list_and_fragment_list(server, env):
    client = kvsp.Client(region=REGION, endpoint_url=server.url)
    rows = client.list_fragments("output_get_media")
    theirs = boto("kinesis-video-archived-media", server.url).list_fragments(StreamName="output_get_media")
    assert sorted(r["fragment_number"] for r in rows) == sorted(f["FragmentNumber"] for f in theirs["Fragments"])
    assert [r["size"] for r in rows] == [f["FragmentSizeInBytes"] for f in
                                         sorted(theirs["Fragments"], key=lambda f: int(f["FragmentNumber"]))]
    wanted = [rows[3]["fragment_number"], rows[1]["fragment_number"]]
    got = [f.fragment_number for f in kvsp.fragments(client.get_media_for_fragment_list("output_get_media", wanted))]
    assert got == wanted


def test_service_errors_and_early_close(server, env):
    client = kvsp.Client(region=REGION, endpoint_url=server.url)
    with pytest.raises(kvsp.ServiceError) as e:
        list(client.get_media("no_such_stream", start="earliest"))
    assert e.value.exception == "ResourceNotFoundException" and e.value.http_status == 404
    with pytest.raises(ValueError):
        list(client.get_media("output_get_media", start="yesterday"))
    chunks = client.get_media("output_get_media", start="earliest")
    next(chunks)
    chunks.close()  # stops the transfer; the client is free again
    assert len(list(kvsp.fragments(client.get_media("output_get_media", start="earliest")))) == 5
    os.environ["AWS_SECRET_ACCESS_KEY"] = "wrong"
    bad = kvsp.Client(region=REGION, endpoint_url=server.url)
    with pytest.raises(kvsp.Error) as e:
        list(bad.get_media("output_get_media", start="earliest"))
    assert e.value.http_status == 403
