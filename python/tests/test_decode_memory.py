"""kvsp.decode() over a source given whole (bytes) holds a bounded number
of pictures: it feeds the decoder chunk_size pieces, since a feed queues
every picture its chunk completes. The input: the capture 4 times, 1,200
pictures of 640x360, 830 MB as RGB all at once; measured as the peak RSS of
a child process (VmHWM; which a fresh interpreter with numpy keeps near 100 MB
when pictures are dropped as they come)."""
import os
import subprocess
import sys

import pytest

import kvsp
from conftest import resolve

pytestmark = pytest.mark.skipif(not kvsp.have_decoder, reason="built without the decoder")

# The peak as VmHWM, the high-water mark of the child's own memory: Linux
# carries ru_maxrss across exec, so that one would give the parent's.
CHILD = r"""
import sys
import kvsp
data = open(sys.argv[1], "rb").read() * 4
n = sum(1 for p in kvsp.decode(data, threads=1))
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(n, int(hwm) // 1024)
"""


def test_decode_of_bytes_holds_few_pictures():
    path = resolve("output_get_media.mkv")
    out = subprocess.run([sys.executable, "-c", CHILD, path], check=True, capture_output=True,
                         env=dict(os.environ), timeout=600).stdout.split()
    pictures, peak_mb = int(out[0]), int(out[1])
    assert pictures == 1200
    # all pictures at once would be 1200 * 640 * 360 * 3 bytes = 830 MB
    assert peak_mb < 400, peak_mb
