#!/usr/bin/env python3
"""Command-line conventions of kvsp: exit statuses, stdin, --chunk-size, JSON.

usage: cli_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import kvsp_testing

KVSP = RESOURCES = CAPTURES = None


def run(*args, stdin=None):
    return subprocess.run([KVSP, *args], input=stdin, capture_output=True, timeout=120)


def sample():
    """A KVS-like chained stream: a project fixture, else a capture."""
    for path in (os.path.join(RESOURCES, 'kvs_unknown_size_8byte.mkv'),
                 os.path.join(CAPTURES or '', 'output_get_media.mkv')):
        if os.path.exists(path):
            return path
    raise unittest.SkipTest('no sample stream')


class ExitStatus(unittest.TestCase):
    def test_help_and_usage(self):
        self.assertEqual(run('--help').returncode, 0)
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run('no-such-command').returncode, 2)
        r = run('inspect', '--help')
        self.assertEqual(r.returncode, 0)
        self.assertIn(b'--chunk-size', r.stdout)
        self.assertEqual(run('inspect', '--no-such-option').returncode, 2)
        for bad in ('0', 'abc', '-5', '2X'):
            self.assertEqual(run('inspect', '--chunk-size', bad, sample()).returncode, 2, bad)
        self.assertEqual(run('inspect', 'a', 'b').returncode, 2)

    def test_version(self):
        # The version is the one CMakeLists.txt declares (read here, not from our own output),
        # the same from the lean front and from kvsp-full.
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'CMakeLists.txt')
        with open(top) as f:
            declared = re.search(r'project\(kvsparser VERSION ([0-9.]+)', f.read()).group(1)
        others = [os.path.join(os.path.dirname(KVSP), n) for n in ('kvsp-full', 'kvsp-decode')]
        for exe in [KVSP] + [e for e in others if os.path.exists(e)]:
            r = subprocess.run([exe, '--version'], capture_output=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b'kvsp %s\n' % declared.encode(), b''), exe)

    def commands(self):
        """The subcommands `kvsp --help` lists."""
        text = run('--help').stdout.decode()
        listed = text.split('commands:\n', 1)[1].split('\n\n', 1)[0]
        return [line.split()[0] for line in listed.splitlines()]

    def test_help_lists_only_accepted_options(self):
        # Every option a subcommand's --help names is one it accepts: given (with a value, for
        # those that take one) before --help, getopt does not call it unknown.
        commands = self.commands()
        self.assertIn('get-media', commands)
        for cmd in commands:
            r = run(cmd, '--help')
            self.assertEqual(r.returncode, 0, cmd)
            options = sorted(set(re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', r.stdout.decode())) - {'--help'})
            self.assertTrue(options, cmd)
            for opt in options:
                with self.subTest(command=cmd, option=opt):
                    err = run(cmd, opt, 'x', '--help').stderr
                    self.assertNotIn(b'unrecognized option', err)
                    self.assertNotIn(b'unknown option', err)

    def test_service_commands_without_reader_options(self):
        # get-media and friends write the payload as it comes: no reader, no --follow.
        reader_only = ('--follow', '--checkpoint', '--max-depth', '--max-element-size', '--max-string-size',
                       '--chunk-size', '--resync')
        for cmd in ('get-media', 'list-fragments', 'get-media-for-fragment-list'):
            text = run(cmd, '--help').stdout
            self.assertIn(b'--stream', text, cmd)
            for opt in reader_only:
                self.assertNotIn(opt.encode(), text, (cmd, opt))
                r = run(cmd, '--stream', 's', opt, '1')
                self.assertEqual(r.returncode, 2, (cmd, opt))
                self.assertIn(b'unrecognized option', r.stderr, (cmd, opt))
        self.assertNotIn(b'--start', run('list-fragments', '--help').stdout)
        for cmd in ('inspect', 'fragments', 'frames', 'merge'):
            text = run(cmd, '--help').stdout
            for opt in reader_only:
                self.assertIn(opt.encode(), text, (cmd, opt))

    def test_missing_file(self):
        r = run('inspect', '/nonexistent/file.mkv')
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'/nonexistent/file.mkv', r.stderr)

    def test_truncated_input(self):
        data = open(sample(), 'rb').read()
        cut = len(data) // 2
        r = run('inspect', '--json', '-', stdin=data[:cut])
        self.assertEqual(r.returncode, 1)
        last = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual(last['event'], 'error')
        self.assertEqual(last['status'], 'ERR_TRUNCATED')
        self.assertLess(last['offset'], cut)
        self.assertIn(b'offset %d' % last['offset'], r.stderr)
        # everything before the error line is what the complete input gives
        full = run('inspect', '--json', '-', stdin=data).stdout.splitlines()
        got = r.stdout.splitlines()[:-1]
        prefix = [line for line in got if json.loads(line)['event'] != 'end' or
                  json.loads(line)['end_offset'] != cut]
        self.assertEqual(prefix, full[:len(prefix)])


class Input(unittest.TestCase):
    def test_stdin_and_chunk_sizes_match(self):
        path = sample()
        want = run('inspect', '--json', path)
        self.assertEqual(want.returncode, 0)
        data = open(path, 'rb').read()
        self.assertEqual(run('inspect', '--json', stdin=data).stdout, want.stdout)
        self.assertEqual(run('inspect', '--json', '-', stdin=data).stdout, want.stdout)
        for size in ('1', '7', '4096', '1M'):
            r = run('inspect', '--json', '--chunk-size', size, path)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stdout, want.stdout, size)
        text = run('inspect', path)
        self.assertEqual(text.returncode, 0)
        self.assertEqual(len(text.stdout.splitlines()), len(want.stdout.splitlines()))


class Json(unittest.TestCase):
    def test_event_shape(self):
        r = run('inspect', '--json', sample())
        self.assertEqual(r.returncode, 0)
        depth = 0
        blocks = 0
        for line in r.stdout.splitlines():
            ev = json.loads(line)
            for key in ('event', 'name', 'id', 'offset', 'header_size', 'size', 'depth'):
                self.assertIn(key, ev)
            self.assertRegex(ev['id'], r'^0x[0-9A-F]+$')
            if ev['event'] == 'start':
                self.assertEqual(ev['depth'], depth)
                depth += 1
            elif ev['event'] == 'end':
                depth -= 1
                self.assertEqual(ev['depth'], depth)
            else:
                self.assertEqual(ev['event'], 'data')
                self.assertIn('value', ev)
                self.assertIsNotNone(ev['size'])
            if ev['name'] == 'Segment' and ev['event'] == 'start':
                self.assertIsNone(ev['size'])  # GetMedia writes it with unknown size
            if ev['name'] == 'SimpleBlock':
                blocks += 1
                for key in ('track', 'timecode', 'keyframe', 'frames'):
                    self.assertIn(key, ev)
                self.assertEqual(ev['frames'], len(ev['frame_sizes']))
        self.assertEqual(depth, 0)
        self.assertGreater(blocks, 0)


class Resync(unittest.TestCase):
    def test_garbage_between_fragments(self):
        data = open(sample(), 'rb').read()
        second = data.find(b'\x1a\x45\xdf\xa3', 1)
        self.assertGreater(second, 0)
        broken = data[:second] + b'\x00garbage\x00' + data[second:]
        r = run('inspect', '--json', '-', stdin=broken)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout.splitlines()[-1])['offset'], second)
        r = run('inspect', '--json', '--resync', '-', stdin=broken)
        self.assertEqual(r.returncode, 0)
        events = [json.loads(line) for line in r.stdout.splitlines()]
        sync = [e for e in events if e['event'] == 'resync']
        self.assertEqual(len(sync), 1)
        self.assertEqual(sync[0]['skipped'], 9)
        self.assertEqual(sync[0]['offset'], second + 9)
        clean = [json.loads(line) for line in run('inspect', '--json', '-', stdin=data).stdout.splitlines()]
        count = lambda evs: sum(1 for e in evs if e.get('name') == 'SimpleBlock')
        self.assertEqual(count(events), count(clean))


class Delegation(unittest.TestCase):
    """The front hands commands that need only the decoder to kvsp-decode,
    else to kvsp-full, and kvsp-decode hands on what it lacks to kvsp-full
    (cli_delegate.c): each is looked for beside the executable, so copies
    of some of them into a directory show which one ran."""

    def setUp(self):
        self.build = os.path.dirname(KVSP)
        for name in ('kvsp-full', 'kvsp-decode'):
            if not os.path.exists(os.path.join(self.build, name)):
                self.skipTest('no %s in this build' % name)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def run_with(self, present, exe, *args):
        """exe run from a directory that holds only the executables named in present."""
        d = tempfile.mkdtemp(dir=self.tmp.name)
        for name in present:
            shutil.copy2(os.path.join(self.build, name), d)
        return subprocess.run([os.path.join(d, exe), *args], capture_output=True, timeout=120)

    def test_decoder_commands_in_kvsp_decode_or_kvsp_full(self):
        args = ('frames', '--framemd5', '--keyframes', sample())
        expected = subprocess.run([os.path.join(self.build, 'kvsp-full'), *args],
                                  capture_output=True, timeout=120)
        self.assertEqual(expected.returncode, 0)
        self.assertIn(b'MD5', expected.stdout)
        for present in (['kvsp', 'kvsp-decode'], ['kvsp', 'kvsp-full']):
            r = self.run_with(present, 'kvsp', *args)
            self.assertEqual((r.returncode, r.stdout), (0, expected.stdout), present)
        r = self.run_with(['kvsp'], 'kvsp', *args)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'kvsp-full, which is not installed', r.stderr)

    def test_other_commands_go_to_kvsp_full(self):
        # MP4 and the client are kvsp-full's alone, from the front and from kvsp-decode.
        out = os.path.join(self.tmp.name, 'clip.mp4')
        r = self.run_with(['kvsp', 'kvsp-decode'], 'kvsp', 'merge', sample(), '-o', out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'kvsp-full, which is not installed', r.stderr)
        full_help = subprocess.run([os.path.join(self.build, 'kvsp-full'), 'get-media', '--help'],
                                   capture_output=True, timeout=60)
        self.assertEqual(full_help.returncode, 0)
        r = self.run_with(['kvsp-decode', 'kvsp-full'], 'kvsp-decode', 'get-media', '--help')
        self.assertEqual((r.returncode, r.stdout), (0, full_help.stdout))
        r = self.run_with(['kvsp-decode'], 'kvsp-decode', 'get-media', '--help')
        self.assertEqual(r.returncode, 2)
        self.assertIn(b'kvsp-full, which is not installed', r.stderr)


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    kvsp_testing.main(argv=sys.argv[:1], verbosity=2)
