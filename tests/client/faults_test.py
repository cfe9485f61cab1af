#!/usr/bin/env python3
"""The client (kvsp fragments --stream, get-media, list-fragments) against
kvsp serve's response faults, on loopback. Dropped connections at many
offsets are consumer_test.py's CutOffsets and CleanEnds; these are the
faults a drop does not cover.

  Stall         a body that stops with the connection open: the consumer
                gives it up after --stall-timeout and resumes with no
                fragment lost or repeated, using near-zero CPU while it
                waits (utime+stime from /proc/PID/stat); get-media retries a
                stall before any byte and fails with exit 3 after three, or
                at once after bytes were written
  Chunked       bad chunk-size line, chunk shorter than declared, missing
                last chunk: the consumer resumes; get-media exits 3
  Garbage       10 MB of random bytes with status 200: exit 1 naming the
                stream and offset, small peak RSS, no retry
  ListJson      truncated, non-JSON, wrongly shaped, wrongly typed, huge and
                non-JSON-error ListFragments answers: exit 3, a message
                naming the fault, nothing printed
  ExpiredToken  403 ExpiredTokenException: with ECS credentials (the fake
                metadata server) refreshed and retried once, successfully;
                with static keys one request and exit 3

usage: faults_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import consumer_streams  # noqa: E402
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = None
AK, SK = 'AKIDFAULTTEST', 'fault/test/secret/key/EXAMPLEKEY'
TIMEOUT = 60
HERE = os.path.dirname(os.path.abspath(__file__))


def env(home, **extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION='us-west-2',
             AWS_EC2_METADATA_DISABLED='true', HOME=home)
    e.update(extra)
    return e


def json_lines(data):
    return [json.loads(line) for line in data.splitlines() if line.strip()]


class Run:
    """kvsp ARGS with its peak RSS (wait4) and CPU time; watch(), if given,
    is called every 20 ms while it runs."""

    def __init__(self, server, home, *args, environ=None, timeout=TIMEOUT, watch=None):
        t0 = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.Popen([KVSP, *args, '--endpoint-url', server.url], stdout=out, stderr=err,
                                 env=environ or env(home))
            deadline = t0 + timeout
            while True:
                pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    p.kill()
                    pid, status, usage = os.wait4(p.pid, 0)
                    raise AssertionError('kvsp %s: timed out' % ' '.join(args))
                if watch:
                    watch()
                time.sleep(0.02)
            p.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            self.stdout, self.stderr = out.read(), err.read().decode(errors='replace')
        self.returncode = p.returncode
        self.elapsed = time.monotonic() - t0
        self.max_rss_kb = usage.ru_maxrss
        self.cpu = usage.ru_utime + usage.ru_stime


class Fixture(unittest.TestCase):
    FRAGMENTS = 12

    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix='kvsp-faults-')
        cls.root = os.path.join(cls.home, 'streams')
        os.mkdir(cls.root)
        consumer_streams.make_stream(os.path.join(cls.root, 's.mkv'), cls.FRAGMENTS, 100)
        with cls.server() as s:
            path = os.path.join(cls.home, 'reference.mkv')
            r = Run(s, cls.home, 'get-media', '--stream', 's', '--start', 'earliest', '-o', path)
            assert r.returncode == 0, r.stderr
        with open(path, 'rb') as f:
            cls.payload = f.read()
        cls.want = json_lines(subprocess.run([KVSP, 'fragments', path], capture_output=True,
                                             timeout=TIMEOUT, check=True).stdout)
        assert len(cls.want) == cls.FRAGMENTS

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)

    @classmethod
    def server(cls, *args, keys=True):
        auth = ['--access-key', AK, '--secret-key', SK] if keys else []
        return kvsp_server.KvspServer(KVSP, cls.root, *auth, *args, timeout=TIMEOUT)

    def assertSameFragments(self, got):
        numbers = [f['fragment_number'] for f in got]
        self.assertEqual(len(numbers), len(set(numbers)), 'a fragment came twice')
        self.assertEqual(numbers, [f['fragment_number'] for f in self.want])
        self.assertEqual([f['frames'] for f in got], [f['frames'] for f in self.want])
        self.assertTrue(all(f['complete'] for f in got))

    def fragment_end(self, k):
        return self.want[k]['end_offset']


class Stall(Fixture):
    def test_consumer_resumes_after_stalls_and_sleeps_while_waiting(self):
        """Its CPU time over the first stall, from the moment the server has
        stalled and the consumer has delivered the 3 fragments before the
        stall point to its next request (--verbose: after the stall timeout
        and a backoff; one pipe for stdout and stderr keeps their order), is
        a small part of that phase's wall time: it sleeps, whatever the
        machine's speed or load."""
        # response 0 stalls inside fragment 3, response 1 before its first byte
        cut = self.fragment_end(2) + 5000
        with self.server('--fault-stall-at', '0:%d,1:0' % cut) as s:
            p = subprocess.Popen([KVSP, 'fragments', '--stream', 's', '--start', 'earliest', '--verbose',
                                  '--stall-timeout', '2', '--endpoint-url', s.url], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=env(self.home))
            try:
                lines, fragments, notes = waiting.Lines(p.stdout), [], []

                def take(line):
                    (fragments if line.startswith(b'{') else notes).append(line)

                def read_until(done, what):
                    while not done():
                        line = lines.next()
                        self.assertIsNotNone(line, 'the consumer ended before %s: %s' % (what, b''.join(notes)))
                        take(line)

                read_until(lambda: len(fragments) == 3, '3 fragments')
                waiting.until(lambda: 'media response 0 stalls' in s.stderr(), 'the server to stall')
                t0, c0 = time.monotonic(), waiting.cpu_seconds(p.pid)
                asked = len(notes)
                read_until(lambda: any(b'/getMedia' in l for l in notes[asked:]), 'its next request')
                t1, c1 = time.monotonic(), waiting.cpu_seconds(p.pid)
                rest, _ = p.communicate(timeout=TIMEOUT)
                for line in (lines.buffer + rest).splitlines(True):
                    take(line)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            log = s.stderr()
        err = b''.join(notes).decode()
        self.assertEqual(p.returncode, 0, err)
        self.assertSameFragments(json_lines(b''.join(fragments)))
        self.assertIn('media response 0 stalls after %d bytes' % cut, log)
        self.assertIn('media response 1 stalls after 0 bytes', log)
        m = re.search(r'stream s: 12 fragments, .* (\d+) reconnects, .* (\d+) bytes dropped, (\d+) stalls', err)
        self.assertIsNotNone(m, err)
        self.assertEqual(int(m.group(3)), 2)
        self.assertEqual(int(m.group(2)), 5000)  # the partial fragment 3
        print('stall: %.3f s CPU over %.2f s wall (%.1f%%)' % (c1 - c0, t1 - t0, 100 * (c1 - c0) / (t1 - t0)),
              file=sys.stderr)
        tick = 1 / os.sysconf('SC_CLK_TCK')  # the resolution of the CPU times
        self.assertLess(c1 - c0, 0.05 * (t1 - t0) + 2 * tick)

    def test_one_shot_retries_a_stall_before_any_byte(self):
        with self.server('--fault-stall-at', '0:0') as s:
            path = os.path.join(self.home, 'retried.mkv')
            r = Run(s, self.home, 'get-media', '--stream', 's', '--start', 'earliest', '--stall-timeout', '1',
                    '-o', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), self.payload)
        self.assertGreater(r.elapsed, 1.0)  # it did wait for the stall timeout
        self.assertLess(r.cpu, 0.5 * r.elapsed)

    def test_one_shot_fails_after_three_stalls(self):
        """Each attempt gives up after the stall timeout (1 s), not much later:
        the server's log, read as it grows, says when each response stalled;
        from one to the next is the client's wait, its pause and a new
        request. A sleeping client overshoots its timer by scheduling delays
        only, so the bound is a multiple of the timeout, not of how fast the
        machine computes."""
        stalled_at = {}  # response -> when its stall line appeared

        def watch():
            for k in re.findall(r'media response (\d) stalls after 0 bytes', s.stderr()):
                stalled_at.setdefault(int(k), time.monotonic())

        with self.server('--fault-stall-at', '0:0,1:0,2:0,3:0') as s:
            r = Run(s, self.home, 'get-media', '--stream', 's', '--start', 'earliest', '--stall-timeout', '1',
                    '-o', os.devnull, watch=watch)
            watch()
            log = s.stderr()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertRegex(r.stderr, r'kvsp get-media: stream s: .*/getMedia: no data for 1\.0 s \(stall timeout\) '
                                   r'after 0 bytes of the response \(attempt 3 of 3\)')
        self.assertEqual(log.count('stalls after 0 bytes'), 3)
        self.assertNotIn('media response 3', log)
        self.assertEqual(sorted(stalled_at), [0, 1, 2])
        waits = [stalled_at[k + 1] - stalled_at[k] for k in (0, 1)]
        print('from one stalled attempt to the next: %s s' % ', '.join('%.2f' % w for w in waits), file=sys.stderr)
        for w in waits:
            self.assertGreater(w, 1.0)  # it waited the stall timeout
            self.assertLess(w / 1.0, 3)  # the timeout, libcurl's 1 s progress tick, a 0.25 s pause

    def test_one_shot_stall_after_bytes_fails_at_once(self):
        with self.server('--fault-stall-at', '0:50000') as s:
            path = os.path.join(self.home, 'partial.mkv')
            r = Run(s, self.home, 'get-media', '--stream', 's', '--start', 'earliest', '--stall-timeout', '1',
                    '-o', path)
            log = s.stderr()
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn('no data for 1.0 s (stall timeout) after 50000 bytes', r.stderr)
        self.assertNotIn('attempt', r.stderr)
        self.assertNotIn('media response 1', log)  # not retried: the bytes were written
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), self.payload[:50000])


class Chunked(Fixture):
    def test_consumer_resumes_after_each_chunked_fault(self):
        inside = self.fragment_end(4) + 3000
        spec = '0:%d:bad-size,1:%d:short,2:%d:no-end' % (self.fragment_end(1) + 100, inside, len(self.payload))
        with self.server('--fault-chunked', spec) as s:
            r = Run(s, self.home, 'fragments', '--stream', 's', '--start', 'earliest', '--verbose')
            log = s.stderr()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertSameFragments(json_lines(r.stdout))
        for mode in ('bad-size', 'short', 'no-end'):
            self.assertRegex(log, r'media response \d: chunked %s after \d+ bytes\n' % mode)
        self.assertNotIn('write failed', log)
        m = re.search(r'stream s: 12 fragments, .* (\d+) reconnects', r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertGreaterEqual(int(m.group(1)), 3)

    def test_one_shot_fails_with_exit_3(self):
        for mode, error in (('bad-size', 'Failure when receiving data from the peer'),
                            ('short', 'Transferred a partial file'), ('no-end', 'Transferred a partial file')):
            with self.subTest(mode=mode), self.server('--fault-chunked', '0:40000:' + mode) as s:
                path = os.path.join(self.home, 'chunked.mkv')
                r = Run(s, self.home, 'get-media', '--stream', 's', '--start', 'earliest', '-o', path)
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn('kvsp get-media: stream s: ', r.stderr)
                self.assertIn(error, r.stderr)
                with open(path, 'rb') as f:
                    self.assertEqual(f.read(40000), self.payload[:40000])

    def test_one_shot_retries_when_nothing_was_written(self):
        with self.server('--fault-chunked', '0:0:bad-size') as s:
            path = os.path.join(self.home, 'chunked-retried.mkv')
            r = Run(s, self.home, 'get-media', '--stream', 's', '--start', 'earliest', '-o', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), self.payload)


class Garbage(Fixture):
    def test_10_mb_of_garbage(self):
        with self.server() as s:
            base = Run(s, self.home, 'fragments', '--stream', 's', '--start', 'earliest')
        self.assertEqual(base.returncode, 0, base.stderr)
        # the first response is good up to a cut; the consumer's second is garbage
        for args in (['fragments'], ['inspect', '--json']):
            with self.subTest(cmd=args[0]), self.server('--fault-cut-at', '4:100', '--fault-garbage', '1') as s:
                r = Run(s, self.home, *args, '--stream', 's', '--start', 'earliest')
                log = s.stderr()
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertRegex(r.stderr, r'kvsp %s: stream s: bad payload at byte \d+ of a GetMedia response, '
                                           r'after 4 fragments: ERR_\w+: ' % args[0])
                self.assertIn('cut at fragment 4 byte 100', log)
                self.assertEqual(log.count('kvsp serve: fault:'), 1)  # no retry after the garbage
                print('%s: peak RSS %d KiB (good run %d KiB)' % (args[0], r.max_rss_kb, base.max_rss_kb),
                      file=sys.stderr)
                self.assertLess(r.max_rss_kb, base.max_rss_kb + 8 * 1024)
                if base.max_rss_kb < 40 * 1024:  # not a sanitizer build
                    self.assertLess(r.max_rss_kb, 64 * 1024)
        # get-media does not parse: it writes what came, all 10 MiB of it
        with self.server('--fault-garbage', '0') as s:
            path = os.path.join(self.home, 'garbage.bin')
            r = Run(s, self.home, 'get-media', '--stream', 's', '-o', path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.getsize(path), 10 << 20)
        os.unlink(path)


class ListJson(Fixture):
    CASES = {
        'truncated': r'ListFragments: the response is not JSON \(.* at byte \d+\)',
        'not-json': r'ListFragments: the response is not JSON',
        'shape': r'ListFragments: the response has no Fragments list',
        'types': r'ListFragments: fragment 0: FragmentNumber is missing or not a string',
        'long-number': r'ListFragments: fragment 0: FragmentNumber is not a decimal number of at most 128 digits',
        'huge': r'http://127\.0\.0\.1:\d+/listFragments: the response is larger than 4194304 bytes',
        'error-text': r'Error \(HTTP 500\): the error body is not JSON: <html><body><h1>Service Unavailable',
    }

    def test_spoiled_answers(self):
        for mode, message in self.CASES.items():
            with self.subTest(mode=mode), self.server('--fault-list-json', mode) as s:
                r = Run(s, self.home, 'list-fragments', '--stream', 's')
                self.assertIn('ListFragments answer ' + mode, s.stderr())
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertRegex(r.stderr, r'^kvsp list-fragments: stream s: ' + message)
                self.assertEqual(r.stdout, b'')
                self.assertLess(len(r.stderr), 600)  # a huge string is not echoed

    def test_good_answer_still_parses(self):
        with self.server() as s:
            r = Run(s, self.home, 'list-fragments', '--stream', 's')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([f['fragment_number'] for f in json_lines(r.stdout)],
                         [f['fragment_number'] for f in self.want])


class ExpiredToken(Fixture):
    def metadata_server(self):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, 'fake_metadata_server.py'), '--ecs-token', 'x',
                              '--lifetime', str(TIMEOUT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(lambda: (p.stdin.close(), p.wait(timeout=15)))
        return int(p.stdout.readline())

    def ecs_env(self, port):
        e = env(self.home, AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:%d/ecs-open/creds' % port)
        del e['AWS_ACCESS_KEY_ID'], e['AWS_SECRET_ACCESS_KEY']
        return e

    def test_refreshed_once_from_ecs(self):
        # the fake server hands out session tokens ...-0001, -0002, ... in order
        for args in (['list-fragments', '--stream', 's'],
                     ['fragments', '--stream', 's', '--start', 'earliest']):
            with self.subTest(cmd=args[0]):
                port = self.metadata_server()
                with self.server('--fault-expired-token', 'fake-S3CR3T-session-0001', keys=False) as s:
                    r = Run(s, self.home, *args, '--verbose', environ=self.ecs_env(port))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual([f['fragment_number'] for f in json_lines(r.stdout)],
                                 [f['fragment_number'] for f in self.want])
                self.assertEqual(r.stderr.count('getDataEndpoint'), 2, r.stderr)  # 403, then the retry
                self.assertNotIn('S3CR3T', r.stderr)

    def test_refreshed_token_expired_too_fails_once(self):
        port = self.metadata_server()
        tokens = 'fake-S3CR3T-session-0001,fake-S3CR3T-session-0002'
        with self.server('--fault-expired-token', tokens, keys=False) as s:
            r = Run(s, self.home, 'list-fragments', '--stream', 's', '--verbose', environ=self.ecs_env(port))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn('ExpiredTokenException (HTTP 403): The security token included in the request is expired '
                      '(also with refreshed credentials)', r.stderr)
        self.assertEqual(r.stderr.count('POST '), 2)

    def test_static_expired_credentials_fail_at_once(self):
        e = env(self.home, AWS_SESSION_TOKEN='static-expired-token')
        for args in (['list-fragments', '--stream', 's'],
                     ['fragments', '--stream', 's', '--start', 'earliest', '--follow']):
            with self.subTest(cmd=args[0]), \
                    self.server('--fault-expired-token', 'static-expired-token', keys=False) as s:
                r = Run(s, self.home, *args, '--verbose', environ=e, timeout=20)
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn('stream s: ExpiredTokenException (HTTP 403): The security token included in the '
                              'request is expired (these credentials cannot be refreshed: renew them)', r.stderr)
                self.assertEqual(r.stderr.count('POST '), 1, r.stderr)  # no retry loop
                self.assertEqual(r.stdout, b'')


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
