"""kvsp.merge writes the same bytes as `kvsp merge` for the same input and
options (every capture that merges cleanly, a resolution change split
into files), and the result reads back in FFmpeg (PyAV) with every frame."""
import os
import subprocess

import pytest

import kvsp
from conftest import CAPTURE_NAMES, KVSP, RESOURCES, file_id, resolve

APP = "kvsp merge " + kvsp.library_version


def cli_merge(src, out, *args):
    p = subprocess.run([KVSP, "merge", src, "-o", str(out), *args], capture_output=True, timeout=300)
    return p.returncode, p.stderr.decode()


@pytest.mark.parametrize("path", [n for n in CAPTURE_NAMES if n != "output-get-media-equal-timecode.mkv"],
                         ids=file_id)
def test_merge_equals_cli(tmp_path, path):
    path = resolve(path)
    ours, theirs = tmp_path / "ours.mkv", tmp_path / "cli.mkv"
    stats = kvsp.merge(path, ours, writing_app=APP, chunk_size=10000)
    rc, err = cli_merge(path, theirs)
    assert rc == 0, err
    assert ours.read_bytes() == theirs.read_bytes()
    assert stats["files"] == [str(ours)] and stats["frames"] > 0
    av = pytest.importorskip("av")
    with av.open(str(ours)) as c:
        assert sum(1 for p in c.demux() if p.size) == stats["frames"]


@pytest.mark.parametrize("on_change", ["new-file", "new-segment", "stop"])
def test_resolution_change(tmp_path, on_change):
    src = os.path.join(RESOURCES, "kvs_resolution_change.mkv")
    stats = kvsp.merge(src, tmp_path / "ours.mkv", on_change=on_change, writing_app=APP, timeline="pack")
    rc, err = cli_merge(src, tmp_path / "cli.mkv", "--on-change", on_change, "--timeline", "pack")
    assert rc == 0, err
    names = sorted(os.listdir(tmp_path))
    assert len(stats["files"]) == (2 if on_change == "new-file" else 1)
    for f in stats["files"]:
        other = tmp_path / os.path.basename(f).replace("ours", "cli")
        assert open(f, "rb").read() == other.read_bytes(), names


def test_merge_errors(tmp_path, captures):
    with pytest.raises(OSError):
        kvsp.merge(resolve("output_get_media.mkv"), tmp_path / "no" / "such" / "dir.mkv")
    with pytest.raises(kvsp.TruncatedError):
        kvsp.merge(open(resolve("output_get_media.mkv"), "rb").read()[:900000], tmp_path / "cut.mkv")
    with pytest.raises(ValueError):
        kvsp.merge(b"", tmp_path / "x.mkv", timeline="sideways")
