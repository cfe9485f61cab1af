"""Shared fixtures of the kvsp package tests: the kvsp binary (the oracle
for metadata), the fixture files and the shared KVS captures."""
import glob
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "client"))

KVSP = os.environ.get("KVSP", "kvsp")
RESOURCES = os.environ.get("KVSP_RESOURCES", os.path.join(HERE, "..", "..", "tests", "resources"))
CAPTURES = os.environ.get("KVSP_CAPTURES_DIR", "")


def capture_files():
    return sorted(glob.glob(os.path.join(CAPTURES, "*.mkv"))) if CAPTURES else []


def fixture_files():
    return sorted(glob.glob(os.path.join(RESOURCES, "*.mkv")))


def all_files():
    return capture_files() + fixture_files()


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
