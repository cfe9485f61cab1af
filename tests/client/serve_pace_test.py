#!/usr/bin/env python3
"""kvsp serve --rate-per-connection (bench/range_bench.py's paced
connections): a paced response carries the same bytes as an unpaced one
(botocore's GetMediaForFragmentList of the same fragments from both
servers), a range read with --parallel 3 gives the same fragments, and the
pacing holds as a bound that load cannot break: a response of B bytes at R
bytes/s takes at least (B - 64 KiB) / R seconds (only a lower bound; how
much longer it takes is not checked).

usage: serve_pace_test.py KVSP CAPTURES_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = CAPTURES = None
TIMEOUT = 120
CAPTURE = 'clusters.mkv'  # 8 fragments, 1.2 MB
RATE = 1000000  # bytes per second per connection
BASE = 1700000000


class Pace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='kvsp-serve-pace-')
        cls.root = os.path.join(cls.tmp, 'root')
        os.mkdir(cls.root)
        os.symlink(os.path.join(CAPTURES, CAPTURE), os.path.join(cls.root, 'cam.mkv'))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def clients(self, url):
        import botocore.session
        session = botocore.session.get_session()
        kw = dict(region_name='us-west-2', endpoint_url=url, aws_access_key_id='AKIDPACE',
                  aws_secret_access_key='pace/secret')
        return session.create_client('kinesis-video-archived-media', **kw)

    def fetch(self, url):
        c = self.clients(url)
        frags = c.list_fragments(StreamName='cam', MaxResults=1000)['Fragments']
        numbers = sorted((f['FragmentNumber'] for f in frags), key=int)
        start = time.monotonic()
        body = c.get_media_for_fragment_list(StreamName='cam', Fragments=numbers)['Payload'].read()
        return body, time.monotonic() - start

    def range_read(self, url):
        env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        env.update(AWS_ACCESS_KEY_ID='AKIDPACE', AWS_SECRET_ACCESS_KEY='pace/secret', AWS_REGION='us-west-2',
                   AWS_EC2_METADATA_DISABLED='true', HOME=self.tmp)
        r = subprocess.run([KVSP, 'fragments', '--endpoint-url', url, '--stream', 'cam', '--from', str(BASE),
                            '--to', str(BASE + 3600), '--parallel', '3'],
                           capture_output=True, timeout=TIMEOUT, env=env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        return r.stdout

    def test_paced_bytes_equal_unpaced(self):
        with kvsp_server.KvspServer(KVSP, self.root, timeout=TIMEOUT) as s:
            want, _ = self.fetch(s.url)
            want_lines = self.range_read(s.url)
        with kvsp_server.KvspServer(KVSP, self.root, '--rate-per-connection', str(RATE), timeout=TIMEOUT) as s:
            got, seconds = self.fetch(s.url)
            got_lines = self.range_read(s.url)
        self.assertGreater(len(want), 1000000)
        self.assertEqual(got, want)
        self.assertEqual(got_lines, want_lines)
        self.assertEqual(len(got_lines.splitlines()), 8)
        self.assertGreaterEqual(seconds, (len(got) - 65536) / RATE, 'faster than the pace')

    def test_stopping_sends_the_rest_whole(self):
        """SIGTERM while a paced GetMediaForFragmentList is under way: the
        rest goes unpaced and the response ends whole, as unpaced ones do."""
        import json
        import urllib.request
        with kvsp_server.KvspServer(KVSP, self.root, timeout=TIMEOUT) as s:
            want, _ = self.fetch(s.url)
        s = kvsp_server.KvspServer(KVSP, self.root, '--rate-per-connection', str(RATE), timeout=TIMEOUT)
        try:
            c = self.clients(s.url)
            numbers = sorted((f['FragmentNumber'] for f in
                              c.list_fragments(StreamName='cam', MaxResults=1000)['Fragments']), key=int)
            request = urllib.request.Request(
                s.url + '/getMediaForFragmentList', method='POST',
                data=json.dumps({'StreamName': 'cam', 'Fragments': numbers}).encode())
            with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
                got = resp.read(1000)
                self.assertEqual(len(got), 1000)
                self.assertEqual(s.stop(), 0)  # raises unless it stopped cleanly
                got += resp.read()  # IncompleteRead if cut
        finally:
            s.stop(check=False)
        self.assertEqual(got, want)

    def test_bad_values_refused(self):
        for value in ('0', '100', 'fast'):
            r = subprocess.run([KVSP, 'serve', '--root', self.root, '--rate-per-connection', value],
                               capture_output=True, timeout=TIMEOUT)
            self.assertEqual(r.returncode, 2, value)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    KVSP, CAPTURES = sys.argv[1], sys.argv[2]
    del sys.argv[1:]
    if not os.path.isfile(os.path.join(CAPTURES, CAPTURE)):
        kvsp_testing.skip('no captures folder: ' + CAPTURES)
    kvsp_testing.main()
