#!/usr/bin/env python3
"""Damaged captures through the command line: what a user of `kvsp` sees.

Each shared capture is cut at 30 positions and damaged by 30 single-byte changes
anywhere or in element headers (ID and size fields), then read by `kvsp frames --list` and `kvsp fragments`
from stdin, each run bounded by a timeout:

- exit status 0 or 1, never a signal, never a hang;
- status 1 comes with "STATUS at offset N" on stderr, N within the input;
- for a cut, N is at most the cut, and the frames listed are exactly the
  complete input's frames up to the damage: every frame whose block starts
  before N, none that the cut reached.

(tests/test_bad_input.c does the same inside the library with 500 cuts and
1,000 mutations per capture; this checks the exit statuses and messages.)

usage: bad_input_cli_test.py KVSP CAPTURES_DIR
"""
import json
import os
import random
import re
import subprocess
import sys
import unittest

import independent_mkv
import kvsp_testing

KVSP = CAPTURES = None
CUTS = 30
MUTATIONS = 30
TIMEOUT_S = 60
ERROR_LINE = re.compile(rb'(ERR_[A-Z_]+) at offset (\d+)')


def captures():
    if not CAPTURES or not os.path.isdir(CAPTURES):
        raise unittest.SkipTest('no captures folder')
    names = sorted(n for n in os.listdir(CAPTURES) if n.endswith('.mkv'))
    if not names:
        raise unittest.SkipTest('no captures')
    return [os.path.join(CAPTURES, n) for n in names]


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def run(args, data):
    r = subprocess.run([KVSP, *args, '-'], input=data, capture_output=True, timeout=TIMEOUT_S)
    return r


def error_offset(testcase, r, what):
    """Checks the exit status and message; returns the error offset or None."""
    testcase.assertIn(r.returncode, (0, 1), '%s: exit %d, stderr %r' % (what, r.returncode,
                                                                        r.stderr[-300:]))
    if r.returncode == 0:
        return None
    m = ERROR_LINE.search(r.stderr)
    testcase.assertIsNotNone(m, '%s: no "STATUS at offset N" in %r' % (what, r.stderr[-300:]))
    return int(m.group(2))


def frames(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


def headers(data):
    """(offset, header_size) of every element, from kvsp inspect --json."""
    r = run(['inspect', '--json'], data)
    out = []
    for line in r.stdout.splitlines():
        ev = json.loads(line)
        if ev['event'] in ('start', 'data'):
            out.append((ev['offset'], ev['header_size']))
    return out


def mutate(data, rng, heads):
    """Even mutations change one byte anywhere (mostly frame payloads, which
    only a decoder would notice); odd ones change a byte of an element's ID
    or size field to values that break it (unknown size, huge, zero)."""
    buf = bytearray(data)
    if rng.random() < 0.5:
        pos = rng.randrange(len(buf))
        buf[pos] ^= 1 << rng.randrange(8)
    else:
        offset, header_size = rng.choice(heads)
        pos = offset + rng.randrange(header_size)
        buf[pos] = rng.choice((0x00, 0x01, 0x08, 0x10, 0x40, 0x7F, 0x80, 0xFF))
    return bytes(buf)


class DamagedCaptures(unittest.TestCase):
    def test_truncations(self):
        for path in captures():
            data = read(path)
            name = os.path.basename(path)
            full_run = run(['frames', '--list'], data)
            full = frames(full_run.stdout)
            self.assertTrue(full, name)
            # the fragments of the whole capture, their numbers against the
            # independent reader's (each fragment of a capture has frames)
            full_fragments = frames(run(['fragments'], data).stdout)
            independent = independent_mkv.read(data)
            self.assertEqual([f['fragment_number'] for f in full_fragments],
                             list(dict.fromkeys(f['fragment_number'] for f in independent.frames)), name)
            rng = random.Random(len(data))
            cuts = sorted({rng.randrange(1, len(data)) for _ in range(CUTS)})
            errors = 0
            for cut in cuts:
                what = '%s cut at %d' % (name, cut)
                r = run(['frames', '--list'], data[:cut])
                off = error_offset(self, r, what)
                got = frames(r.stdout)
                self.assertEqual(got, full[:len(got)], what)
                if off is not None:
                    errors += 1
                    self.assertLessEqual(off, cut, what)
                    want = [f for f in full if f['block_offset'] < off]
                    self.assertEqual(len(got), len(want), what)
                self.assertTrue(all(f['block_offset'] < cut for f in got), what)
                fr = run(['fragments'], data[:cut])
                fragments_off = error_offset(self, fr, what + ' (fragments)')
                listed = frames(fr.stdout)
                # every fragment that ends before the cut, whole and as in the
                # whole capture's run; nothing complete past the cut
                self.assertEqual([f for f in listed if f['complete']],
                                 [f for f in full_fragments if f['end_offset'] <= cut], what + ' (fragments)')
                # frames --list and fragments fail alike on the same cut
                self.assertEqual(fragments_off is None, off is None, what + ' (fragments exit status)')
            # a cut rarely lands where a fragment ends cleanly
            self.assertGreater(errors, len(cuts) // 2, name)

    def test_mutations(self):
        for path in captures():
            data = read(path)
            name = os.path.basename(path)
            rng = random.Random(len(data) ^ 0x5EED)
            heads = headers(data)
            self.assertTrue(heads, name)
            errors = 0
            for i in range(MUTATIONS):
                damaged = mutate(data, rng, heads)
                what = '%s mutation %d' % (name, i)
                for args in (['frames', '--list'], ['fragments']):
                    off = error_offset(self, run(args, damaged), what + ' ' + args[0])
                    if off is not None:
                        errors += 1
                        self.assertLessEqual(off, len(damaged), what)
            self.assertGreater(errors, 0, name + ': no mutation was noticed')


if __name__ == '__main__':
    KVSP = sys.argv[1]
    CAPTURES = sys.argv[2] if len(sys.argv) > 2 else None
    kvsp_testing.main(argv=sys.argv[:1])
