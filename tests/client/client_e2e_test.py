#!/usr/bin/env python3
"""The KVS client end to end on loopback: kvsp serve over the shared captures
and project fixtures, read back with --stream, list-fragments and
get-media-for-fragment-list, and compared with reading the files directly.

usage: client_e2e_test.py KVSP RESOURCES_DIR [CAPTURES_DIR]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import kvsp_testing  # noqa: E402

KVSP = RESOURCES = CAPTURES = None
SERVER = PORT = ROOT = None
ACCESS_KEY, SECRET_KEY = 'AKIDKVSPSERVETEST', 'kvsp/serve/secret/key/for/tests/only'


def env(access=ACCESS_KEY, secret=SECRET_KEY):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION='us-west-2',
             AWS_EC2_METADATA_DISABLED='true', HOME=ROOT)
    return e


def kvsp(*args, access=ACCESS_KEY, secret=SECRET_KEY):
    return subprocess.run([KVSP, *args, '--endpoint-url', 'http://127.0.0.1:%d' % PORT], capture_output=True,
                          timeout=120, env=env(access, secret))


def local(*args):
    return subprocess.run([KVSP, *args], capture_output=True, timeout=120)


def lines(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


def frames_of(result):
    return [(f['track'], f['size'], f['keyframe']) for f in lines(result)]


def streams():
    names = ['kvs_user_tags', 'h264_blockgroups']
    if CAPTURES:
        names += ['output_get_media', 'vogels_330']
    else:
        kvsp_testing.skipped_part('shared captures absent: fixtures only')
    return names


def source(name):
    return os.path.join(ROOT, name + '.mkv')


class EndToEnd(unittest.TestCase):
    def test_fragments_match_the_file(self):
        for name in streams():
            with self.subTest(stream=name):
                remote = kvsp('fragments', '--stream', name, '--start', 'earliest')
                self.assertEqual(remote.returncode, 0, remote.stderr)
                got = lines(remote)
                self.assertGreater(len(got), 0)
                self.assertTrue(all(f['complete'] and f['fragment_number'] for f in got))
                want = frames_of(local('frames', '--list', source(name)))
                self.assertEqual(sum(f['frames'] for f in got), len(want))
                streamed = kvsp('frames', '--list', '--stream', name, '--start', 'earliest')
                self.assertEqual(frames_of(streamed), want)

    def test_list_and_fragment_list(self):
        for name in streams():
            with self.subTest(stream=name):
                listed = kvsp('list-fragments', '--stream', name)
                self.assertEqual(listed.returncode, 0, listed.stderr)
                fragments = lines(listed)
                numbers = [f['fragment_number'] for f in fragments]
                self.assertEqual(numbers, sorted(numbers, key=int))  # numeric order
                payload = kvsp('get-media-for-fragment-list', '--stream', name, '--fragments', ','.join(numbers))
                self.assertEqual(payload.returncode, 0, payload.stderr)
                path = os.path.join(ROOT, 'gmffl-%s.mkv' % name)
                with open(path, 'wb') as f:
                    f.write(payload.stdout)
                self.assertEqual(frames_of(local('frames', '--list', path)),
                                 frames_of(local('frames', '--list', source(name))))
                records = lines(local('fragments', path))
                self.assertEqual([r['fragment_number'] for r in records], numbers)

    def test_start_selectors(self):
        name = streams()[0]
        all_fragments = lines(kvsp('fragments', '--stream', name, '--start', 'earliest'))
        second = all_fragments[1]
        by_number = lines(kvsp('fragments', '--stream', name, '--start', 'fragment:' + second['fragment_number']))
        self.assertEqual(by_number[0]['fragment_number'], second['fragment_number'])
        token = all_fragments[0]['continuation_token']
        resumed = lines(kvsp('fragments', '--stream', name, '--start', 'continuation:' + token))
        self.assertEqual(resumed[0]['fragment_number'], second['fragment_number'])
        at = '%.3f' % (second['producer_timestamp_ms'] / 1000)
        by_time = lines(kvsp('fragments', '--stream', name, '--start', 'producer-ts:' + at))
        self.assertEqual(by_time[0]['fragment_number'], second['fragment_number'])

    def test_raw_payload_and_merge(self):
        name = streams()[0]
        out = os.path.join(ROOT, 'raw.mkv')
        r = kvsp('get-media', '--stream', name, '--start', 'earliest', '-o', out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(frames_of(local('frames', '--list', out)), frames_of(local('frames', '--list', source(name))))
        merged = os.path.join(ROOT, 'merged.mkv')
        r = kvsp('merge', '--stream', name, '--start', 'earliest', '-o', merged)
        self.assertEqual(r.returncode, 0, r.stderr)
        ident = subprocess.run(['mkvmerge', '--identify', merged], capture_output=True, timeout=60)
        self.assertEqual(ident.returncode, 0)

    def test_errors(self):
        r = kvsp('fragments', '--stream', streams()[0], '--start', 'earliest', secret='not-the-secret')
        self.assertEqual(r.returncode, 3)
        self.assertIn(b'403', r.stderr)
        self.assertNotIn(b'not-the-secret', r.stderr)
        r = kvsp('list-fragments', '--stream', 'no-such-stream')
        self.assertEqual(r.returncode, 3)
        self.assertIn(b'ResourceNotFoundException', r.stderr)
        r = subprocess.run([KVSP, 'fragments', '--stream', 'x', '--endpoint-url', 'http://127.0.0.1:9'],
                           capture_output=True, timeout=60, env=env())
        self.assertEqual(r.returncode, 3)
        # a client that cannot be made (no region anywhere) is reported once
        e = {k: v for k, v in env().items() if k not in ('AWS_REGION', 'AWS_DEFAULT_REGION')}
        r = subprocess.run([KVSP, 'list-fragments', '--stream', 'x', '--profile', 'nope'], capture_output=True,
                           timeout=60, env=e)
        self.assertEqual(r.returncode, 4, r.stderr)  # a configuration problem, not bad input (1)
        self.assertEqual(r.stderr.count(b"profile 'nope' not found"), 1, r.stderr)
        self.assertNotIn(b'no region', r.stderr)
        r = subprocess.run([KVSP, 'list-fragments', '--stream', 'x'], capture_output=True, timeout=60, env=e)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertEqual(r.stderr.count(b'no region'), 1, r.stderr)


def start_server():
    global SERVER, PORT
    SERVER = subprocess.Popen([KVSP, 'serve', '--root', ROOT, '--port', '0', '--access-key', ACCESS_KEY,
                               '--secret-key', SECRET_KEY], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = SERVER.stdout.readline().decode()
    PORT = int(first.strip().rsplit(':', 1)[1])


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    ROOT = tempfile.mkdtemp(prefix='kvsp-e2e-')
    for name in ('kvs_user_tags', 'h264_blockgroups'):
        shutil.copy(os.path.join(RESOURCES, name + '.mkv'), ROOT)
    if CAPTURES:
        for name in ('output_get_media', 'vogels_330'):
            os.symlink(os.path.join(os.path.abspath(CAPTURES), name + '.mkv'), os.path.join(ROOT, name + '.mkv'))
    status = 1
    try:
        start_server()
        program = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
        status = kvsp_testing.status(program.result)
    finally:
        if SERVER:
            SERVER.terminate()
            try:
                SERVER.wait(timeout=10)
            except subprocess.TimeoutExpired:
                SERVER.kill()
        shutil.rmtree(ROOT, ignore_errors=True)
    sys.exit(status)
