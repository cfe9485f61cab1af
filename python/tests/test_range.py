"""Client.range (libkvsparser-client's range reader) against `kvsp serve`
with SigV4 required and its ListFragments pages shuffled
(--list-unordered):

- the fragments of kvsp.fragments(range) equal `kvsp fragments --stream
  --from --to`, and Range.list() equals botocore's ListFragments of the
  same range (every page), sorted by producer timestamp, plus the fragment
  holding `from`;
- the frames of kvsp.frames(range) are exactly ffprobe's packets of the
  served file whose producer time (the first fragment's producer
  timestamp, serve's --start-time, plus the pts) is in [from, to]: from
  and to on a frame, between frames, inside one fragment; datetime, ISO
  8601 and epoch seconds; parallel 1 and 5; equal to `kvsp frames --list
  --stream --from --to` too;
- kvsp.decode(range) gives the pictures of the file's decode in the window
  (the reference frames before `from` decoded, not delivered), and
  Window.of on the file the same;
- kvsp.audio(range) / audio_files of a Connect-shaped stream equal `kvsp
  audio --stream --from --to --format wav` byte for byte;
- kvsp.merge of a range is `kvsp merge --stream --from --to`'s clip;
- on files, window= cuts frames and fragments as `kvsp frames --list` /
  `kvsp fragments` with --from/--to do (both call the library's one window rule);
- the server timeline, and service errors carrying their AWS names."""
import datetime
import json
import os
import subprocess
import sys

import pytest

import kvsp
from conftest import KVSP, RESOURCES

pytestmark = pytest.mark.skipif(not kvsp.have_client, reason="built without the client")
boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402

import kvsp_server  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import ffprobe_packets  # noqa: E402

AK, SK, REGION = "AKIDPYRANGE", "python/range/secret", "us-west-2"
VIDEO = "output_get_media"
CONNECT = "connect_two_calls"
# serve stamps a stream's first fragment --start-time, later ones plus their
# cluster time since the first: output_get_media.mkv's frame at pts P is at
# producer time FIRST_PRODUCER_MS + P (its clusters are at 0, 2000, ...).
FIRST_PRODUCER_MS = 1700000000000
FILE_FIRST_MS = 1511852108513  # the file's own first producer timestamp


@pytest.fixture(scope="module")
def served(tmp_path_factory, captures):
    root = tmp_path_factory.mktemp("root")
    video = os.path.join(os.path.dirname(captures[0]), VIDEO + ".mkv")
    os.symlink(video, root / (VIDEO + ".mkv"))
    os.symlink(os.path.abspath(os.path.join(RESOURCES, "audio", CONNECT + ".mkv")), root / (CONNECT + ".mkv"))
    with kvsp_server.KvspServer(KVSP, str(root), "--access-key", AK, "--secret-key", SK,
                                "--list-unordered", "--start-time", str(FIRST_PRODUCER_MS // 1000), timeout=60) as s:
        s.video = video
        yield s


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AK)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SK)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def cli(server, *args):
    p = subprocess.run([KVSP, *args, "--endpoint-url", server.url, "--region", REGION],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def packets(served):
    """ffprobe's video packets of the served file as (producer ms, keyframe,
    size), an oracle independent of our reader."""
    (video,) = ffprobe_packets.packet_details(served.video).values()
    return [(FIRST_PRODUCER_MS + float(p["pts_ms"]), p["keyframe"], p["size"]) for p in video]


def epoch(ms):
    return ms / 1000.0


# (from, to) in ms after the first frame: on frames, between frames (a
# frame every 33.3 ms), one fragment only, across every fragment, open ends
RANGES = [(2000, 6000), (2010, 5990), (4100, 4900), (0, 9999), (7000, None), (None, 1500)]


@pytest.mark.parametrize("lo,hi", RANGES)
@pytest.mark.parametrize("parallel", [1, 5])
def test_frames_exact_against_ffprobe(served, packets, lo, hi, parallel):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    start = None if lo is None else epoch(FIRST_PRODUCER_MS + lo)
    end = None if hi is None else epoch(FIRST_PRODUCER_MS + hi)
    r = client.range(VIDEO, start=start, end=end, parallel=parallel)
    got = [(f.producer_timestamp_ms, f.keyframe, f.size) for f in kvsp.frames(r, track_type="video")]
    lo_ms = -1e300 if lo is None else FIRST_PRODUCER_MS + lo
    hi_ms = 1e300 if hi is None else FIRST_PRODUCER_MS + hi
    want = [p for p in packets if lo_ms <= p[0] <= hi_ms]
    assert got == want and want
    args = ["frames", "--list", "--stream", VIDEO, "--parallel", str(parallel)]
    if start is not None:
        args += ["--from", repr(start)]
    if end is not None:
        args += ["--to", repr(end)]
    listed = [(f["producer_timestamp_ms"], f["keyframe"], f["size"]) for f in cli(served, *args)]
    assert listed == got


def test_time_forms_agree(served, packets):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    lo, hi = FIRST_PRODUCER_MS + 2500, FIRST_PRODUCER_MS + 3500
    as_dt = [datetime.datetime.fromtimestamp(t / 1000, tz=datetime.timezone.utc) for t in (lo, hi)]
    forms = [(epoch(lo), epoch(hi)), tuple(as_dt), tuple(d.isoformat().replace("+00:00", "Z") for d in as_dt)]
    results = [[f.producer_timestamp_ms for f in kvsp.frames(client.range(VIDEO, start=a, end=b))]
               for a, b in forms]
    assert results[0] == results[1] == results[2] == [p[0] for p in packets if lo <= p[0] <= hi]
    with pytest.raises(ValueError):
        client.range(VIDEO, start=datetime.datetime(2017, 11, 28))  # no zone
    with pytest.raises(ValueError):
        client.range(VIDEO, start=epoch(hi), end=epoch(lo))
    with pytest.raises(ValueError):
        client.range(VIDEO, parallel=6)


def boto_rows(served, start_s, end_s, timestamp="PRODUCER_TIMESTAMP"):
    cfg = Config(retries={"max_attempts": 1}, connect_timeout=60, read_timeout=60)
    c = boto3.client("kinesis-video-archived-media", region_name=REGION, endpoint_url=served.url,
                     aws_access_key_id=AK, aws_secret_access_key=SK, config=cfg)
    rows, token = [], None
    while True:
        kw = {"NextToken": token} if token else {"FragmentSelector": {
            "FragmentSelectorType": timestamp,
            "TimestampRange": {"StartTimestamp": start_s, "EndTimestamp": end_s}}}
        page = c.list_fragments(StreamName=VIDEO, **kw)
        rows += page["Fragments"]
        token = page.get("NextToken")
        if not token:
            return rows


@pytest.mark.parametrize("lo,hi", [(2000, 6000), (4100, 4900), (0, 9999)])
def test_fragments_equal_cli_and_list_equals_botocore(served, lo, hi):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    start, end = epoch(FIRST_PRODUCER_MS + lo), epoch(FIRST_PRODUCER_MS + hi)
    r = client.range(VIDEO, start=start, end=end)
    ours = [(f.fragment_number, f.producer_timestamp_ms, f.frames) for f in kvsp.fragments(r)]
    theirs = [(f["fragment_number"], f["producer_timestamp_ms"], f["frames"])
              for f in cli(served, "fragments", "--stream", VIDEO, "--from", repr(start), "--to", repr(end))]
    assert ours == theirs and ours
    # ListFragments selects by start; the range lists from 30 s before
    # `from` and keeps the last fragment starting at or before it.
    listed = r.list()
    rows = {f["FragmentNumber"]: f for f in boto_rows(served, start - 30, end)}.values()
    rows = sorted((f for f in rows if f["ProducerTimestamp"].timestamp() <= end),
                  key=lambda f: (f["ProducerTimestamp"], int(f["FragmentNumber"])))
    before = [f for f in rows if f["ProducerTimestamp"].timestamp() <= start]
    want = before[-1:] + [f for f in rows if f["ProducerTimestamp"].timestamp() > start]
    assert [x["fragment_number"] for x in listed] == [f["FragmentNumber"] for f in want]
    assert [x["size"] for x in listed] == [f["FragmentSizeInBytes"] for f in want]
    assert [x["producer_timestamp_ms"] for x in listed] == \
        [round(f["ProducerTimestamp"].timestamp() * 1000) for f in want]
    assert [f.fragment_number for f in kvsp.fragments(r, window=kvsp.NO_WINDOW)] == \
        [x["fragment_number"] for x in listed]


def test_server_timeline(served):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    everything = list(f.copy() for f in kvsp.frames(client.range(VIDEO), track_type="video"))
    # from 100 ms after the 3rd fragment's producer start: on the server
    # timeline (producer + 250 ms) that is inside the 2nd fragment, which
    # only a listing by server timestamp finds
    lo, hi = FIRST_PRODUCER_MS + 4100, FIRST_PRODUCER_MS + 7000
    got = [f.server_timestamp_ms for f in kvsp.frames(
        client.range(VIDEO, start=epoch(lo), end=epoch(hi), timestamp="server"), track_type="video")]
    assert got == [t for t in (f.server_timestamp_ms for f in everything) if lo <= t <= hi]
    listed = [f["server_timestamp_ms"] for f in cli(
        served, "frames", "--list", "--stream", VIDEO, "--timestamp", "server", "--from", repr(epoch(lo)),
        "--to", repr(epoch(hi)))]
    assert listed == got


@pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")
def test_decode_range_equals_file_window(served, packets):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    lo, hi = FIRST_PRODUCER_MS + 2500, FIRST_PRODUCER_MS + 3000  # mid-fragment: references before
    pictures = list(kvsp.decode(client.range(VIDEO, start=epoch(lo), end=epoch(hi)), size=(160, None)))
    # the file's own producer timestamps start at FILE_FIRST_MS: compare by pts
    whole = [p for p in kvsp.decode(served.video, size=(160, None))
             if lo <= FIRST_PRODUCER_MS + p.pts_ms <= hi]
    assert [p.producer_timestamp_ms for p in pictures] == [p[0] for p in packets if lo <= p[0] <= hi]
    assert len(pictures) == len(whole) > 0
    for a, b in zip(pictures, whole):
        assert (a.array == b.array).all() and a.pts_ms == b.pts_ms
    shift = FILE_FIRST_MS - FIRST_PRODUCER_MS
    on_file = list(kvsp.decode(served.video, size=(160, None),
                               window=kvsp.Window.of(epoch(lo + shift), epoch(hi + shift))))
    assert [p.pts_ms for p in on_file] == [p.pts_ms for p in pictures]
    assert [f.pts_ms for f in kvsp.frames(served.video, track_type="video", window=kvsp.Window.of(
        epoch(lo + shift), epoch(hi + shift)))] == [p.pts_ms for p in pictures]


@pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")
def test_audio_range_equals_kvsp_audio_wav(served, tmp_path):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    rows = sorted(client.list_fragments(CONNECT), key=lambda r: r["producer_timestamp_ms"])
    # from inside the second fragment to inside the fourth (of five)
    start, end = (rows[1]["producer_timestamp_ms"] + 50) / 1000, (rows[3]["producer_timestamp_ms"] + 50) / 1000
    ours = kvsp.audio_files(client.range(CONNECT, start=start, end=end), tmp_path / "py")
    subprocess.run([KVSP, "audio", "--stream", CONNECT, "--from", repr(start), "--to", repr(end),
                    "--format", "wav", "-o", str(tmp_path / "cli"), "--endpoint-url", served.url,
                    "--region", REGION], check=True, capture_output=True, timeout=300)
    theirs = sorted(f for f in os.listdir(tmp_path / "cli") if f.endswith(".wav"))
    assert sorted(map(os.path.basename, ours)) == theirs and theirs
    for name in theirs:
        with open(tmp_path / "py" / name, "rb") as a, open(tmp_path / "cli" / name, "rb") as b:
            assert a.read() == b.read(), name
    whole = sum(i.samples for i, _ in kvsp.audio(os.path.join(RESOURCES, "audio", CONNECT + ".mkv")))
    cut = list(kvsp.audio(client.range(CONNECT, start=start, end=end)))
    assert 0 < sum(i.samples for i, _ in cut) < whole
    assert all(start * 1000 <= i.first_producer_timestamp_ms <= end * 1000 for i, _ in cut)


def test_errors_and_pickling(served):
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    with pytest.raises(kvsp.ServiceError) as e:
        list(client.range("no_such_stream", start=0, end=1e9))
    assert e.value.exception == "ResourceNotFoundException" and e.value.http_status == 404
    with pytest.raises(kvsp.ServiceError):
        client.range("no_such_stream").list()
    import pickle
    w = kvsp.Window.of(1, 2, "server")
    assert pickle.loads(pickle.dumps(w)) == w
    with pytest.raises(TypeError):
        pickle.dumps(client.range(VIDEO))


@pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")
def test_clip_example(served, tmp_path):
    """examples/python/clip_range.py: one picture per 500 ms of the range,
    the same as kvsp.decode's, with their producer times."""
    import numpy
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python",
                           "clip_range.py")
    lo, hi = FIRST_PRODUCER_MS + 2100, FIRST_PRODUCER_MS + 5000
    p = subprocess.run([sys.executable, example, "--stream", VIDEO, "--from", repr(epoch(lo)), "--to",
                        repr(epoch(hi)), "-o", str(tmp_path), "--interval-ms", "500", "--endpoint-url",
                        served.url, "--region", REGION], capture_output=True, timeout=300, text=True)
    assert p.returncode == 0, p.stderr
    saved = numpy.load(tmp_path / "pictures.npz")
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    pictures = list(kvsp.decode(client.range(VIDEO, start=epoch(lo), end=epoch(hi)), interval_ms=500))
    assert list(saved["producer_timestamp_ms"]) == [p.producer_timestamp_ms for p in pictures]
    assert saved["pictures"].shape[0] == len(pictures) == 6
    assert all(lo <= t <= hi for t in saved["producer_timestamp_ms"])


@pytest.mark.parametrize("lo,hi", [(2500, 6100), (4000, 4500), (100, 9999)])
def test_merge_range_is_the_clip(served, packets, tmp_path, lo, hi):
    """kvsp.merge of a range writes `kvsp merge --stream --from --to`'s
    bytes, and ffprobe reads the clip as the served file's packets from the
    keyframe at or before `from` to the last one at or before `to`."""
    client = kvsp.Client(region=REGION, endpoint_url=served.url)
    start, end = epoch(FIRST_PRODUCER_MS + lo), epoch(FIRST_PRODUCER_MS + hi)
    ours, theirs = tmp_path / "ours.mkv", tmp_path / "cli.mkv"
    stats = kvsp.merge(client.range(VIDEO, start=start, end=end), ours,
                       writing_app="kvsp merge " + kvsp.library_version)
    cli(served, "merge", "--stream", VIDEO, "--from", repr(start), "--to", repr(end), "-o", str(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    lo_ms, hi_ms = FIRST_PRODUCER_MS + lo, FIRST_PRODUCER_MS + hi
    key = max(p[0] for p in packets if p[1] and p[0] <= lo_ms)
    want = [(p[1], p[2]) for p in packets if key <= p[0] <= hi_ms]
    (got,) = ffprobe_packets.packet_details(str(ours)).values()
    assert [(p["keyframe"], p["size"]) for p in got] == want and stats["frames"] == len(want)
    assert float(got[0]["pts_ms"]) == 0 and float(got[-1]["pts_ms"]) == max(
        p[0] for p in packets if p[0] <= hi_ms) - key
    # a file cut by window= is the same clip
    shift = FILE_FIRST_MS - FIRST_PRODUCER_MS
    on_file = tmp_path / "file.mkv"
    kvsp.merge(served.video, on_file, writing_app="kvsp merge " + kvsp.library_version,
               window=kvsp.Window.of(epoch(lo_ms + shift), epoch(hi_ms + shift)))
    (from_file,) = ffprobe_packets.packet_details(str(on_file)).values()
    assert [(p["keyframe"], p["size"], p["pts_ms"]) for p in from_file] == \
        [(p["keyframe"], p["size"], p["pts_ms"]) for p in got]


def _file_windows(path):
    """Three windows over a file's own frame times (producer, or pts without
    KVS tags): one on frames, one between them, one half open."""
    times = sorted(kvsp.Window().frame_time_ms(f) for f in kvsp.frames(path))
    a, b = times[len(times) // 5], times[len(times) * 3 // 5]
    return [(a, b), (a + 0.5, b - 0.5), (None, b)]


@pytest.mark.parametrize("name", ["output_get_media.mkv", "clusters.mkv", "vogels_330.mkv",
                                  "output_get_media_sparse_fragments.mkv", "bezos_vogels.mkv"])
def test_file_window_equals_cli(name):
    """On files (no stream): frames and fragments with window= equal `kvsp
    frames --list FILE --from --to` and `kvsp fragments FILE --from --to`
    (kvsp.Window and cli_range.c call the same library rule), on the producer
    timeline and, where there are server timestamps, the server one."""
    from conftest import resolve
    path = resolve(name)
    for lo, hi in _file_windows(path):
        args = (["--from", repr(lo / 1000)] if lo is not None else []) + ["--to", repr(hi / 1000)]
        w = kvsp.Window.of(None if lo is None else lo / 1000, hi / 1000)
        frames = [(f.track, f.pts_ms, f.size) for f in kvsp.frames(path, window=w)]
        listed = [(f["track"], f["pts_ms"], f["size"]) for f in cli_file("frames", "--list", path, *args)]
        assert frames == listed and frames
        ours = [(f.index, f.frames) for f in kvsp.fragments(path, window=w)]
        theirs = [(f["index"], f["frames"]) for f in cli_file("fragments", path, *args)]
        assert ours == theirs and ours


def cli_file(*args):
    p = subprocess.run([KVSP, *args], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
