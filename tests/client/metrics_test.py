#!/usr/bin/env python3
"""kvsp --metrics (tools/kvsp/metrics/) against kvsp serve --live, on loopback.

The exposition text is checked by Debian's `promtool check metrics` and read
back with the Prometheus client library's own parser (python3-prometheus-
client); the values are compared with what the test knows without kvsp: the
fragments and frames it wrote into the served file, the payload size of a
plain GetMedia, the cuts kvsp serve reports on its stderr, and /proc of the
consumer's process.

  Scrape      one stream, throttled (every 3rd request) and cut at 3 points:
              counters, errors by kind, gauges, process_* against /proc
  Prometheus  a real prometheus server scrapes it (scrape_interval 1s); its
              HTTP API shows up == 1 and the fragment count
  Streams     three streams in one consumer, and merge --stream: one
              series per stream, each with its own count
  Address     --metrics PORT listens on 127.0.0.1 only; ':PORT' and a
              --metrics without --stream are usage errors

usage: metrics_test.py KVSP RESOURCES_DIR PART [unittest arguments]
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import consumer_streams  # noqa: E402
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = None
AK, SK = 'AKIDMETRICSTEST', 'metrics/test/secret/key/EXAMPLEKEY'
FRAGMENTS, FRAGMENT_MS = 16, 100
CUTS = ['2:500', '7:40', '11:3000']  # fragment:byte, each cuts one response


def env(home):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION='us-west-2',
             AWS_EC2_METADATA_DISABLED='true', HOME=home)
    return e


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get('Content-Type'), r.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value} by the Prometheus client's parser."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def proc_start_time(pid):
    """Start of the process in epoch seconds from /proc, read here."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    with open('/proc/stat') as f:
        btime = next(int(l.split()[1]) for l in f if l.startswith('btime '))
    return btime + int(fields[19]) / os.sysconf('SC_CLK_TCK')


def proc_rss(pid):
    with open('/proc/%d/status' % pid) as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmRSS:'))


class Consumer:
    """kvsp fragments --stream NAME --follow --metrics 127.0.0.1:0 in the
    background; url is the metrics URL it announced on stderr."""

    def __init__(self, server, home, stream, *extra, command='fragments'):
        self.err = tempfile.TemporaryFile()
        streams = [a for n in stream.split(',') for a in ('--stream', n)]
        self.proc = subprocess.Popen([KVSP, command, *streams, '--start', 'earliest', '--follow',
                                      '--metrics', '127.0.0.1:0', '--endpoint-url', server.url, *extra],
                                     stdout=subprocess.PIPE, stderr=self.err, env=env(home))
        self.lines = waiting.Lines(self.proc.stdout)
        m = waiting.until(lambda: re.search(r'metrics on (http://127\.0\.0\.1:(\d+)/metrics)', self.stderr()),
                          'the metrics URL on stderr')
        self.url, self.port = m.group(1), int(m.group(2))

    def stderr(self):
        if self.err.closed:
            return self.log
        fd = self.err.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors='replace')

    def fragments(self, count):
        got = []
        while len(got) < count:
            line = self.lines.next()
            if line is None:
                raise AssertionError('the consumer ended after %d fragments: %s' % (len(got), self.stderr()))
            got.append(json.loads(line))
        return got

    def scrape(self):
        return get(self.url)[2]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
        self.log = self.stderr()
        self.err.close()
        return self.proc.returncode


class Fixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix='kvsp-metrics-')
        cls.root = os.path.join(cls.home, 'streams')
        os.mkdir(cls.root)
        consumer_streams.make_stream(os.path.join(cls.root, 'cam.mkv'), FRAGMENTS, FRAGMENT_MS)
        # what the file holds, from the generator: a fragment per Cluster; the
        # video frames of varied_frames, and an audio block in odd fragments
        cls.frames = sum(len(consumer_streams.varied_frames(k)) + k % 2 for k in range(FRAGMENTS))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)

    def server(self, *args):
        return kvsp_server.KvspServer(KVSP, self.root, '--access-key', AK, '--secret-key', SK, *args)

    def payload_size(self):
        """Bytes of a plain GetMedia of the whole stream (no faults)."""
        with self.server() as s:
            r = subprocess.run([KVSP, 'get-media', '--stream', 'cam', '--start', 'earliest', '--endpoint-url',
                                s.url], capture_output=True, env=env(self.home), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return len(r.stdout)

    def promtool(self, text):
        if not shutil.which('promtool'):
            kvsp_testing.skipped_part('promtool (Debian package prometheus) is not installed')
            return
        r = subprocess.run(['promtool', 'check', 'metrics'], input=text.encode(), capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout + r.stderr, b'', 'promtool found problems')

    def wait_for_count(self, consumer, value):
        """Until the scrape shows every fragment (the published copy may be
        a round behind the fragment lines); the last scrape's samples."""
        found = {}

        def done():
            found.clear()
            found.update(parse(consumer.scrape()))
            return found.get(('kvsp_stream_fragments_total', frozenset({('stream', 'cam')}))) == value
        waiting.until(done, 'the scrape to count %d fragments' % value, every=0.1)
        return found


class Scrape(Fixture):
    def test_values(self):
        size = self.payload_size()
        with self.server('--live', '--fault-limit-every', '3', '--fault-cut-at', ','.join(CUTS)) as s:
            c = Consumer(s, self.home, 'cam')
            try:
                started = time.time()
                got = c.fragments(FRAGMENTS)
                status, ctype, _ = get(c.url)
                m = self.wait_for_count(c, FRAGMENTS)
                text = c.scrape()
                pid = c.proc.pid
                fds = len(os.listdir('/proc/%d/fd' % pid))
                rss = proc_rss(pid)
                start = proc_start_time(pid)
                with self.assertRaises(urllib.error.HTTPError) as nf:
                    get(c.url.replace('/metrics', '/nothing'))
                self.assertEqual(nf.exception.code, 404)
            finally:
                rc = c.stop()
            log = s.stderr()
        self.assertEqual(rc, 0, c.stderr())
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith('text/plain; version=0.0.4'), ctype)
        self.promtool(text)
        m = parse(text)
        cam = frozenset({('stream', 'cam')})

        def kind(k):
            return m[('kvsp_stream_errors_total', frozenset({('stream', 'cam'), ('kind', k)}))]
        self.assertEqual(len(got), FRAGMENTS)
        self.assertEqual(m[('kvsp_stream_fragments_total', cam)], FRAGMENTS)
        self.assertEqual(m[('kvsp_stream_frames_total', cam)], self.frames)
        # every byte once, plus the partial fragments dropped at the cuts
        # (MILLIS_BEHIND_NOW's digits vary live: a few bytes per fragment)
        dropped = m[('kvsp_stream_dropped_bytes_total', cam)]
        self.assertGreater(dropped, 0)
        self.assertLessEqual(abs(m[('kvsp_stream_bytes_total', cam)] - dropped - size), 8 * FRAGMENTS)
        # each cut kvsp serve reports is one network error and one reconnect
        cuts = log.count('cut at fragment')
        self.assertEqual(cuts, len(CUTS), log)
        self.assertEqual(kind('network'), cuts)
        self.assertGreaterEqual(m[('kvsp_stream_reconnects_total', cam)], cuts)
        self.assertGreaterEqual(kind('throttled'), 1)
        self.assertEqual(kind('service'), 0)
        self.assertEqual(kind('payload'), 0)
        self.assertEqual(m[('kvsp_stream_up', cam)], 1)
        behind = m[('kvsp_stream_behind_now_seconds', cam)]
        self.assertEqual(behind, got[-1]['millis_behind_now'] / 1000)
        age = m[('kvsp_stream_last_fragment_age_seconds', cam)]
        self.assertGreaterEqual(age, 0)
        self.assertLess(age, time.time() - started + 1)
        # the process, against /proc read here
        self.assertAlmostEqual(m[('process_start_time_seconds', frozenset())], start, delta=0.05)
        self.assertLessEqual(abs(m[('process_open_fds', frozenset())] - fds), 2)
        self.assertLess(abs(m[('process_resident_memory_bytes', frozenset())] - rss), rss / 2)
        self.assertGreater(m[('process_cpu_seconds_total', frozenset())], 0)


class Prometheus(Fixture):
    def test_scraped_by_prometheus(self):
        exe = shutil.which('prometheus')
        if not exe:
            kvsp_testing.skip('prometheus (Debian package prometheus) is not installed')
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        with self.server('--live') as s:
            c = Consumer(s, self.home, 'cam')
            prom = None
            try:
                c.fragments(FRAGMENTS)
                self.wait_for_count(c, FRAGMENTS)
                conf = os.path.join(self.home, 'prometheus.yml')
                with open(conf, 'w') as f:
                    f.write('global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: kvsp\n'
                            '    static_configs:\n      - targets: ["127.0.0.1:%d"]\n' % c.port)
                data = os.path.join(self.home, 'tsdb')
                prom = subprocess.Popen([exe, '--config.file', conf, '--storage.tsdb.path', data,
                                         '--web.listen-address', '127.0.0.1:%d' % port],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                api = 'http://127.0.0.1:%d/api/v1/query?query=' % port

                def query(q):
                    try:
                        body = json.loads(get(api + urllib.parse.quote(q))[2])
                    except OSError:  # not listening yet
                        return None
                    result = body['data']['result']
                    return result if result else None
                up = waiting.until(lambda: query('up{job="kvsp"}'), 'prometheus to scrape kvsp')
                self.assertEqual(up[0]['value'][1], '1')
                frags = waiting.until(lambda: query('kvsp_stream_fragments_total'), 'the fragment count')
                self.assertEqual(frags[0]['metric']['stream'], 'cam')
                self.assertEqual(frags[0]['value'][1], str(FRAGMENTS))
            finally:
                if prom:
                    prom.send_signal(signal.SIGTERM)
                    try:
                        prom.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        prom.kill()
                        prom.wait()
                    prom.stderr.close()
                rc = c.stop()
        self.assertEqual(rc, 0, c.stderr())


class Streams(Fixture):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ('a', 'b'):
            os.symlink(os.path.join(cls.root, 'cam.mkv'), os.path.join(cls.root, name + '.mkv'))

    def counts(self, text):
        m = parse(text)
        return {dict(labels)['stream']: v for (name, labels), v in m.items()
                if name == 'kvsp_stream_fragments_total'}

    def test_three_streams(self):
        with self.server('--live') as s:
            c = Consumer(s, self.home, 'a,b,cam')
            try:
                got = c.fragments(3 * FRAGMENTS)
                waiting.until(lambda: self.counts(c.scrape()) == {'a': FRAGMENTS, 'b': FRAGMENTS, 'cam': FRAGMENTS},
                              'every stream counted', every=0.1)
                text = c.scrape()
            finally:
                rc = c.stop()
        self.assertEqual(rc, 0, c.stderr())
        self.assertEqual(sorted({f['stream'] for f in got}), ['a', 'b', 'cam'])
        self.promtool(text)
        m = parse(text)
        for name in ('a', 'b', 'cam'):
            self.assertEqual(m[('kvsp_stream_frames_total', frozenset({('stream', name)}))], self.frames)

    def test_merge(self):
        out = os.path.join(self.home, 'merged.mkv')
        with self.server('--live') as s:
            c = Consumer(s, self.home, 'cam', '-o', out, command='merge')
            try:
                waiting.until(lambda: self.counts(c.scrape()) == {'cam': FRAGMENTS}, 'the merge to count them',
                              every=0.1)
                text = c.scrape()
            finally:
                rc = c.stop()
        self.assertEqual(rc, 0, c.stderr())
        self.promtool(text)
        self.assertEqual(parse(text)[('kvsp_stream_frames_total', frozenset({('stream', 'cam')}))], self.frames)


class Address(Fixture):
    def run_kvsp(self, *args):
        return subprocess.run([KVSP, *args], capture_output=True, env=env(self.home), timeout=60)

    def test_loopback_by_default(self):
        with self.server('--live') as s:
            with socket.socket() as sock:
                sock.bind(('127.0.0.1', 0))
                port = sock.getsockname()[1]
            p = subprocess.Popen([KVSP, 'fragments', '--stream', 'cam', '--follow', '--metrics', str(port),
                                  '--endpoint-url', s.url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=env(self.home))
            try:
                line = waiting.Lines(p.stderr).next().decode()
                self.assertEqual(line, 'kvsp: metrics on http://127.0.0.1:%d/metrics\n' % port)
                # bound to 127.0.0.1 itself: the kernel's table says so
                bound = []
                for name in ('/proc/net/tcp', '/proc/net/tcp6'):
                    with open(name) as f:
                        for row in f.readlines()[1:]:
                            local, state = row.split()[1], row.split()[3]
                            if state == '0A' and int(local.split(':')[1], 16) == port:
                                bound.append((name, local.split(':')[0]))
                self.assertEqual(bound, [('/proc/net/tcp', '0100007F')])
            finally:
                p.send_signal(signal.SIGINT)
                p.communicate(timeout=30)

    def test_refused(self):
        for args, why in ((['--metrics', ':9464'], b'no address'),
                          (['--metrics', '127.0.0.1:70000'], b'PORT from 0 to 65535'),
                          (['--metrics', 'example.com:9464'], b'not a numeric')):
            with self.subTest(args=args):
                r = self.run_kvsp('fragments', '--stream', 'cam', '--follow', *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(why, r.stderr)
        r = self.run_kvsp('fragments', '--metrics', '9464', os.path.join(RESOURCES, 'audio_video.mkv'))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b'--metrics needs --stream', r.stderr)


if __name__ == '__main__':
    KVSP, RESOURCES, part = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        import prometheus_client.parser  # noqa: F401
    except ImportError:
        kvsp_testing.skip('the Prometheus text parser (Debian package python3-prometheus-client) is missing')
    kvsp_testing.main(argv=[sys.argv[0], part] + sys.argv[4:])
