#!/usr/bin/env python3
"""The bash completion and the man page that scripts/cli_docs.py generates from
kvsp's help texts: the completion sourced in a real bash and asked as bash asks
it, the man page rendered by groff.

usage: cli_docs_test.py KVSP
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import kvsp_testing

KVSP = None
TMP = None
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts', 'cli_docs.py')


def kvsp_help(*args):
    return subprocess.run([KVSP, *args, '--help'], capture_output=True, timeout=60).stdout.decode()


def complete(*words):
    """COMPREPLY of _kvsp for the command line `kvsp WORDS...` (the last word being completed)."""
    line = ' '.join("'%s'" % w for w in ('kvsp',) + words)
    script = ('source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_kvsp\nprintf "%%s\\n" "${COMPREPLY[@]}"\n'
              % (os.path.join(TMP, 'kvsp.bash'), line, len(words)))
    r = subprocess.run(['bash', '--norc', '--noprofile', '-c', script], capture_output=True, timeout=60)
    if r.returncode != 0 or r.stderr:
        raise AssertionError('bash: %d %s' % (r.returncode, r.stderr.decode()))
    return [w for w in r.stdout.decode().splitlines() if w]


class Generated(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which('bash'):
            raise unittest.SkipTest('bash absent')
        subprocess.run([sys.executable, SCRIPT, KVSP, TMP], check=True, timeout=300)

    def test_completion_commands(self):
        listed = kvsp_help().split('commands:\n', 1)[1].split('\n\n', 1)[0]
        commands = [line.split()[0] for line in listed.splitlines()]
        self.assertEqual(complete(''), commands + ['--help', '--version'])
        self.assertEqual(complete('get-m'), ['get-media', 'get-media-for-fragment-list'])

    def test_completion_options(self):
        self.assertEqual(complete('merge', '--fol'), ['--follow'])
        self.assertEqual(complete('get-media', '--fol'), [])
        self.assertEqual(complete('list-fragments', '--max'), [])
        self.assertEqual(complete('inspect', '--max'), ['--max-depth', '--max-element-size', '--max-string-size'])
        self.assertEqual(complete('merge', 'in'), [])  # operands: file names, bash's default
        for cmd in ('inspect', 'merge', 'get-media', 'list-fragments'):
            # exactly the options the command's help names
            want = sorted(set(re.findall(r'(?<![\w-])--[a-z][a-z0-9-]*', kvsp_help(cmd))))
            self.assertEqual(sorted(complete(cmd, '--')), want, cmd)

    def test_man_page(self):
        if not shutil.which('groff'):
            raise unittest.SkipTest('groff absent')
        page = os.path.join(TMP, 'kvsp.1')
        r = subprocess.run(['groff', '-man', '-Tutf8', '-ww', page], capture_output=True, timeout=60,
                           env=dict(os.environ, GROFF_NO_SGR='1'))
        self.assertEqual(r.stderr, b'')
        text = re.sub(r'.\x08', '', r.stdout.decode())
        version = subprocess.run([KVSP, '--version'], capture_output=True, timeout=60).stdout.decode().split()[-1]
        self.assertIn('kvsp %s' % version, text)
        for cmd in ('inspect', 'merge', 'get-media', 'list-fragments'):
            usage = kvsp_help(cmd).splitlines()[0]
            self.assertIn(usage, text, cmd)
        self.assertIn('--max-element-size N', text)


if __name__ == '__main__':
    KVSP = sys.argv[1]
    TMP = tempfile.mkdtemp(prefix='kvsp-cli-docs-')
    try:
        kvsp_testing.main(argv=sys.argv[:1], verbosity=2)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
