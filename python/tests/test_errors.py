"""Bad input raises the right exception after every earlier fragment was
delivered, never crashes; frame data is only readable during its step;
live handles refuse pickling, metadata and options pickle."""
import os
import pickle
import random

import numpy
import pytest

import kvsp
from conftest import RESOURCES, kvsp_lines


def capture(captures, name):
    return os.path.join(os.path.dirname(captures[0]), name)


def test_truncation_everywhere(captures):
    """The file cut at many points: complete fragments before the cut equal
    the whole file's, the one cut short is delivered with complete False,
    then TruncatedError with the CLI's offset."""
    path = capture(captures, "output_get_media.mkv")
    with open(path, "rb") as f:
        data = f.read()
    full = list(kvsp.fragments(data))
    rng = random.Random(5)
    cuts = sorted(rng.sample(range(100, len(data) - 1), 25)) + [f.end_offset - 3 for f in full]
    for cut in cuts:
        got = []
        with pytest.raises(kvsp.TruncatedError) as e:
            for fr in kvsp.fragments(data[:cut]):
                got.append(fr)
        done = [f for f in full if f.end_offset <= cut]
        assert got[:len(done)] == done, cut
        assert len(got) == len(done) + 1 and not got[-1].complete
        assert got[-1].fragment_number == full[len(done)].fragment_number
        assert e.value.status == "ERR_TRUNCATED" and e.value.code == -14
        assert 0 <= e.value.offset < cut
        assert isinstance(e.value, kvsp.FormatError) and isinstance(e.value, kvsp.Error)


def test_truncated_error_matches_cli(captures, tmp_path):
    path = capture(captures, "output_get_media.mkv")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(open(path, "rb").read()[:1500000])
    lines, rc, err = kvsp_lines("fragments", str(cut))
    with pytest.raises(kvsp.TruncatedError) as e:
        list(kvsp.fragments(str(cut)))
    assert rc != 0 and "ERR_TRUNCATED at offset %d" % e.value.offset in err
    assert e.value.message in err


def test_invalid_fixtures_raise_like_the_cli():
    folder = os.path.join(RESOURCES, "invalid")
    files = sorted(os.listdir(folder))
    assert files
    for name in files:
        path = os.path.join(folder, name)
        lines, rc, err = kvsp_lines("fragments", path)
        try:
            got = list(kvsp.fragments(path))
            assert rc == 0, (name, err)
        except kvsp.Error as e:
            assert rc != 0
            assert "%s at offset %d" % (e.status, e.offset) in err, (name, err)


def test_damaged_input_never_crashes(captures):
    """Random byte damage: either a clean read or a kvsp.Error, and the
    fragments before the error are the ones the CLI prints."""
    data = bytearray(open(capture(captures, "kinesis_video_renderer_example_output.mkv"), "rb").read())
    rng = random.Random(7)
    errors = 0
    for _ in range(60):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        items = 0
        try:
            for it in kvsp.read(bytes(bad), chunk_size=rng.randint(100, 100000)):
                items += 1
                if isinstance(it, kvsp.Frame):
                    it.tobytes()
        except kvsp.Error as e:
            errors += 1
            assert e.status.startswith("ERR_")
        try:  # resync: errors are skipped over, a cut at the end still raises
            for _ in kvsp.read(bytes(bad), resync=True):
                pass
        except kvsp.Error as e:
            assert e.status.startswith("ERR_")
    assert errors > 0


def test_frame_data_valid_only_during_its_step(captures):
    path = capture(captures, "output_get_media.mkv")
    it = kvsp.frames(path)
    first = next(it)
    view = first.data
    head = bytes(view[:4])
    assert first.valid and len(view) == first.size and first.tobytes()[:4] == head
    second = next(it)
    assert not first.valid
    with pytest.raises(ValueError):
        view[0]  # released with its step
    with pytest.raises(BufferError):
        memoryview(first)
    with pytest.raises(BufferError):
        first.tobytes()
    held = numpy.frombuffer(second.data, numpy.uint8)
    with pytest.raises(BufferError, match="still held"):
        next(it)
    del held
    third = next(it)
    assert third.valid


def test_copies_outlive_their_step(captures):
    path = capture(captures, "output_get_media.mkv")
    copies = [(f.copy(), f.tobytes()) for f in kvsp.frames(path)]
    assert len(copies) == 300
    for c, b in copies:
        assert c.valid and bytes(c.data) == b


def test_pickling(captures):
    path = capture(captures, "output_get_media.mkv")
    fr = next(kvsp.fragments(path))
    assert pickle.loads(pickle.dumps(fr)) == fr
    frame = next(kvsp.frames(path))
    again = pickle.loads(pickle.dumps(frame))
    assert bytes(again.data) == frame.tobytes() and again.pts_ms == frame.pts_ms
    assert again.fragment_number == frame.fragment_number
    opts = kvsp.ReadOptions(track=1, resync=True)
    assert pickle.loads(pickle.dumps(opts)) == opts
    e = kvsp.TruncatedError("m", "ERR_TRUNCATED", -14, 12)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is kvsp.TruncatedError and (e2.status, e2.code, e2.offset, e2.message) == \
        ("ERR_TRUNCATED", -14, 12, "m")
    for live in (kvsp.Reader(), kvsp.Reader()._parser):
        with pytest.raises(TypeError, match="live handle"):
            pickle.dumps(live)
    if kvsp.have_decoder:
        d = kvsp.DecodeOptions(interval_ms=500, size=(320, None))
        assert pickle.loads(pickle.dumps(d)) == d
        with pytest.raises(TypeError, match="live handle"):
            pickle.dumps(kvsp.Decoder())


def test_feed_misuse_is_an_error_not_a_crash():
    r = kvsp.Reader()
    data = open(os.path.join(RESOURCES, "kvs_user_tags.mkv"), "rb").read()
    items = r.feed(data)
    with pytest.raises(RuntimeError, match="previous chunk"):
        r.feed(data)
    list(items)
    list(r.close())
    with pytest.raises(RuntimeError, match="after finish"):
        r.feed(b"x")
    with pytest.raises(TypeError):
        kvsp.Reader().feed("text")


def test_a_frame_keeps_its_bytes_alive(captures):
    """A frame whose iterator is gone still reads its own bytes (the frame
    holds the reader and chunk): no use after free."""
    import gc
    path = capture(captures, "output_get_media.mkv")
    want = next(kvsp.frames(open(path, "rb").read())).tobytes()
    for _ in range(20):
        frame = next(kvsp.frames(path))
        gc.collect()
        junk = [bytes(range(256)) * 300 for _ in range(50)]  # reuse freed memory
        assert frame.valid and frame.tobytes() == want
        del junk
