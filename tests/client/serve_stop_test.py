#!/usr/bin/env python3
"""kvsp serve stopping (SIGTERM) while media responses are under way: each
response ends like a response, with its last chunk, after the fragment it was
sending (GetMediaForFragmentList after its list); the client sees an ended
body, never IncompleteRead, and every fragment it got is whole.

Read by independent clients: botocore's own kinesis-video-media client and
Python's urllib; the payload by tests/independent_mkv.py (a Matroska reader
written from the specifications), its frames compared with the source.

  Waiting      a --live response waiting for its next fragment (botocore)
  MidFragment  a response stopped 64 KiB into a 24 MiB fragment, its client
               not reading: the fragment is finished, nothing after it (urllib)
  FragmentList GetMediaForFragmentList stopped 64 KiB in: the whole list comes
               (botocore)

usage: serve_stop_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import consumer_streams  # noqa: E402
import independent_mkv  # noqa: E402
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = None
TIMEOUT = 60
TOKEN_TAG = 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'
BIG = 24 << 20  # larger than what loopback socket buffers hold


def frames_per_fragment(data):
    """The independent reader's view of a payload: (fragment numbers with
    their frame sizes in order, closing Tags read, whether it is cut short)."""
    r = independent_mkv.read(data)
    fragments = {}
    for f in r.frames:
        fragments.setdefault(f['fragment_number'], []).append(f['size'])
    return list(fragments.items()), r.seen[TOKEN_TAG], r.truncated


class Fixture(unittest.TestCase):
    STREAM, FRAGMENTS, FRAGMENT_MS, SIZES = None, 0, 0, None

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix='kvsp-serve-stop-')
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        self.path = os.path.join(self.home, self.STREAM + '.mkv')
        consumer_streams.make_stream(self.path, self.FRAGMENTS, self.FRAGMENT_MS, frame_sizes=self.SIZES,
                                     audio=False)
        self.want = [self.SIZES(k) for k in range(self.FRAGMENTS)]

    def stop_server(self, server):
        """SIGTERM, and the server's word that it is stopping (so that what the
        client reads next comes after it)."""
        server.proc.send_signal(signal.SIGTERM)
        waiting.until(lambda: 'SIGTERM, stopping' in server.stderr(), 'the server to stop', timeout=TIMEOUT)

    def exited(self, server):
        """The server's stderr once it has exited by itself, with status 0."""
        server.proc.wait(timeout=TIMEOUT)
        log = server.stderr()
        self.assertEqual(server.proc.returncode, 0, log)
        return log

    def assertWhole(self, data, at_least, at_most, closing=True):
        fragments, closed, truncated = frames_per_fragment(data)
        self.assertFalse(truncated, 'the payload ends inside an element')
        self.assertGreaterEqual(len(fragments), at_least)
        self.assertLessEqual(len(fragments), at_most)
        # each fragment with every frame of its Cluster, and (GetMedia) its closing Tags
        self.assertEqual([sizes for _, sizes in fragments], self.want[:len(fragments)])
        if closing:
            self.assertEqual(closed, len(fragments), 'a fragment without its closing Tags')
            self.assertTrue(data.endswith(fragments[-1][0].encode()), 'the last bytes are not a closing token')
        return fragments


class Waiting(Fixture):
    STREAM, FRAGMENTS, FRAGMENT_MS = 'wait', 8, 1000
    SIZES = staticmethod(lambda k: [2000 + k, 300, 400])

    def test_botocore_response_ends_cleanly(self):
        import botocore.session
        from botocore.config import Config
        with kvsp_server.KvspServer(KVSP, self.home, '--live', timeout=TIMEOUT) as s:
            media = botocore.session.get_session().create_client(
                'kinesis-video-media', region_name='us-west-2', endpoint_url=s.url,
                aws_access_key_id='AKIDSTOPTEST', aws_secret_access_key='stop/test/secret',
                config=Config(retries={'max_attempts': 1}, read_timeout=TIMEOUT))
            body = media.get_media(StreamName=self.STREAM, StartSelector={'StartSelectorType': 'EARLIEST'})['Payload']
            data = b''
            while TOKEN_TAG.encode() not in data:  # fragment 0 is out; 1 comes a second later
                chunk = body.read(1)
                self.assertTrue(chunk, 'the response ended before its first fragment')
                data += chunk
            self.stop_server(s)
            data += body.read()  # raises (IncompleteRead, ResponseStreamingError) if cut
            log = self.exited(s)
        self.assertWhole(data, 1, self.FRAGMENTS - 1)
        self.assertNotIn('still open', log)


class MidFragment(Fixture):
    STREAM, FRAGMENTS, FRAGMENT_MS = 'big', 3, 1000
    SIZES = staticmethod(lambda k: [BIG + k])

    def test_urllib_gets_the_whole_fragment_then_the_end(self):
        with kvsp_server.KvspServer(KVSP, self.home, timeout=TIMEOUT) as s:
            request = urllib.request.Request(
                s.url + '/getMedia', method='POST',
                data=json.dumps({'StreamName': self.STREAM, 'StartSelector': {'StartSelectorType': 'EARLIEST'}}).encode())
            with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
                self.assertEqual(resp.headers['Transfer-Encoding'], 'chunked')
                data = resp.read(65536)
                self.stop_server(s)
                try:
                    data += resp.read()
                except http.client.IncompleteRead as e:
                    self.fail('IncompleteRead after %d bytes' % (len(data) + len(e.partial)))
            log = self.exited(s)
        # fragment 0, being sent when the server stopped, and nothing after it
        self.assertWhole(data, 1, 1)
        self.assertNotIn('still open', log)


class FragmentList(Fixture):
    STREAM, FRAGMENTS, FRAGMENT_MS = 'list', 3, 1000
    SIZES = staticmethod(lambda k: [BIG + k])

    def test_botocore_gets_the_whole_list(self):
        """GetMediaForFragmentList stopped 64 KiB in: the list is finished (a
        shorter response that ends cleanly would pass for complete)."""
        import botocore.session
        from botocore.config import Config
        with kvsp_server.KvspServer(KVSP, self.home, timeout=TIMEOUT) as s:
            archived = botocore.session.get_session().create_client(
                'kinesis-video-archived-media', region_name='us-west-2', endpoint_url=s.url,
                aws_access_key_id='AKIDSTOPTEST', aws_secret_access_key='stop/test/secret',
                config=Config(retries={'max_attempts': 1}, read_timeout=TIMEOUT))
            listed = archived.list_fragments(StreamName=self.STREAM)['Fragments']
            numbers = sorted((f['FragmentNumber'] for f in listed), key=int)
            self.assertEqual(len(numbers), self.FRAGMENTS)
            body = archived.get_media_for_fragment_list(StreamName=self.STREAM, Fragments=numbers)['Payload']
            data = body.read(65536)
            self.stop_server(s)
            data += body.read()
            log = self.exited(s)
        fragments = self.assertWhole(data, self.FRAGMENTS, self.FRAGMENTS, closing=False)
        self.assertEqual([n for n, _ in fragments], numbers)
        self.assertNotIn('still open', log)


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
