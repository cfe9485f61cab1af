"""kvsp.Consumer (libkvsparser-client's many-stream consumer) against
`kvsp serve --live` with SigV4 required and connections cut mid-fragment
(--fault-cut-at): two streams on one thread, each fragment exactly once and
in order, compared with the fragments botocore's ListFragments lists for
the served stream (numbers, producer and server timestamps); every cut
point was reached and each one cost a reconnect; with frames=True each
fragment's frames are those of the served file's Cluster, none lost or
repeated. A missing stream raises
ServiceError(ResourceNotFoundException, 404) after nothing was yielded."""
import os
import threading

import pytest

import kvsp
from conftest import KVSP

pytestmark = pytest.mark.skipif(not kvsp.have_client, reason="built without the client")
boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

import consumer_streams  # noqa: E402
import kvsp_server  # noqa: E402

AK, SK, REGION = "AKIDPYCONSUMER", "python/consumer/secret", "us-west-2"
STREAMS = {"north": 16, "south": 12}  # fragments of 100 ms each
# fragment index: byte offsets inside it, each cutting one response of
# whichever stream gets there first (the EBML header, tags, frames, the
# closing Tags; 7 has a 70 kB frame)
CUTS = [(1, 30), (3, 700), (4, 3000), (6, 200), (7, 40000), (9, 90), (10, 1500)]


@pytest.fixture()
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SK)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


@pytest.fixture()
def root(tmp_path):
    for name, n in STREAMS.items():
        consumer_streams.make_stream(str(tmp_path / (name + ".mkv")), n, 100)
    return str(tmp_path)


def listed(url, stream):
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=60, read_timeout=60)
    c = boto3.client("kinesis-video-archived-media", region_name=REGION, endpoint_url=url,
                     aws_access_key_id=AK, aws_secret_access_key=SK, config=cfg)
    rows, token = [], None
    while True:
        page = c.list_fragments(StreamName=stream, **({"NextToken": token} if token else {}))
        rows += page["Fragments"]
        token = page.get("NextToken")
        if not token:
            break
    rows.sort(key=lambda f: int(f["FragmentNumber"]))
    return [(f["FragmentNumber"], int(f["ProducerTimestamp"].timestamp() * 1000 + 0.5),
             int(f["ServerTimestamp"].timestamp() * 1000 + 0.5)) for f in rows]


@pytest.mark.parametrize("frames", [False, True], ids=["fragments", "frames"])
def test_two_live_streams_with_cut_connections(root, env, frames):
    spec = ",".join("%d:%d" % c for c in CUTS)
    with kvsp_server.KvspServer(KVSP, root, "--live", "--access-key", AK, "--secret-key", SK,
                                "--fault-cut-at", spec, timeout=60) as s:
        consumer = kvsp.Consumer(list(STREAMS), start="earliest", region=REGION, endpoint_url=s.url,
                                 initial_backoff_ms=20, max_backoff_ms=200, frames=frames)
        got = {name: [] for name in STREAMS}
        got_frames = {name: [] for name in STREAMS}
        threads = set()
        for stream, f, *rest in consumer:
            threads.add(threading.get_ident())
            assert f.complete and f.continuation_token and f.frames > 0
            got[stream].append((f.fragment_number, f.producer_timestamp_ms, f.server_timestamp_ms))
            if frames:
                [fs] = rest
                assert len(fs) == f.frames and all(x.fragment_number == f.fragment_number for x in fs)
                got_frames[stream] += [(x.track, x.keyframe, x.tobytes()) for x in fs]
            else:
                assert rest == []
        stats = consumer.stats()
        want = {name: listed(s.url, name) for name in STREAMS}
        log = s.stderr()
    for name, n in STREAMS.items():
        assert len(want[name]) == n
        assert got[name] == want[name], name  # each exactly once, in order, as listed
        assert stats[name]["state"] == "done" and stats[name]["fragments"] == n
    for k, b in CUTS:
        assert "cut at fragment %d byte %d\n" % (k, b) in log
    assert sum(st["reconnects"] for st in stats.values()) >= len(CUTS)
    assert sum(st["dropped_bytes"] for st in stats.values()) > 0
    assert len(threads) == 1
    if frames:
        # the served files' frames (the server re-wraps each Cluster, keeping its blocks)
        for name in STREAMS:
            want_frames = [(x.track, x.keyframe, x.tobytes())
                           for x in kvsp.frames(os.path.join(root, name + ".mkv"))]
            assert got_frames[name] == want_frames, name


def test_missing_stream_raises_service_error(root, env):
    with kvsp_server.KvspServer(KVSP, root, "--access-key", AK, "--secret-key", SK, timeout=60) as s:
        consumer = kvsp.Consumer(["nowhere"], start="earliest", region=REGION, endpoint_url=s.url)
        with pytest.raises(kvsp.ServiceError) as e:
            for _ in consumer:
                raise AssertionError("a fragment of a missing stream")
        assert e.value.exception == "ResourceNotFoundException" and e.value.http_status == 404
        assert consumer.stats()["nowhere"]["state"] == "failed"
    with pytest.raises(ValueError):
        kvsp.Consumer(["north"], start="yesterday", region=REGION, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(consumer)
