"""Shared fixtures of the kvsp package tests: the kvsp binary (the oracle
for metadata), the fixture files and the shared KVS captures, from the
environment ctest `python` sets (KVSP, KVSP_RESOURCES, KVSP_CAPTURES_DIR,
PYTHONPATH=BUILD/python). It also applies the project's skip convention
(tests/kvsp_testing.py): a run in which a test skipped for want of data or
a tool, and none failed, exits 77 (a failure with CI=true).

    PYTHONPATH=build/python KVSP=build/kvsp KVSP_CAPTURES_DIR=../shared/kvs-captures \
        /usr/bin/python3 -m pytest python/tests
"""
import glob
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "client"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
import kvsp_testing  # noqa: E402

KVSP = os.environ.get("KVSP", "kvsp")
RESOURCES = os.environ.get("KVSP_RESOURCES", os.path.join(HERE, "..", "..", "tests", "resources"))
CAPTURES = os.environ.get("KVSP_CAPTURES_DIR", "")


# The shared captures (their README): tests over them are parametrized by
# name, so that they are collected, and skip, when the folder is absent.
CAPTURE_NAMES = ["bezos_vogels.mkv", "clusters.mkv", "kinesis_video_renderer_example_output.mkv",
                 "output-get-media-equal-timecode.mkv", "output_get_media.mkv",
                 "output_get_media_sparse_fragments.mkv", "vogels_330.mkv"]


def resolve(name):
    """A capture's path by name (skipping the test without the captures),
    or a path as it is."""
    if os.sep in name:
        return name
    path = os.path.join(CAPTURES, name) if CAPTURES else ""
    if not os.path.exists(path):
        pytest.skip("no KVS captures (KVSP_CAPTURES_DIR=%r)" % CAPTURES)
    return path


def capture_files():
    return sorted(glob.glob(os.path.join(CAPTURES, "*.mkv"))) if CAPTURES else []


def fixture_files():
    return sorted(glob.glob(os.path.join(RESOURCES, "*.mkv")))


def all_files():
    """Capture names and fixture paths, for resolve()."""
    return CAPTURE_NAMES + fixture_files()


def file_id(path):
    return os.path.basename(path)


def kvsp_lines(*args):
    """`kvsp ARGS` as (JSON lines, exit status, stderr)."""
    p = subprocess.run([KVSP, *args], capture_output=True, timeout=300)
    lines = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    return lines, p.returncode, p.stderr.decode()


@pytest.fixture(scope="session")
def captures():
    files = capture_files()
    if not files:
        pytest.skip("no KVS captures (KVSP_CAPTURES_DIR=%r)" % CAPTURES)
    return files


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        why = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append("%s: %s" % (report.nodeid, why))


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _skipped:
        session.exitstatus = kvsp_testing.skip_status("; ".join(_skipped))
