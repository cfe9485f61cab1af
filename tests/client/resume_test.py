#!/usr/bin/env python3
"""Continuation tokens and NextToken paging, against a fake Kinesis Video
Streams written here from the AWS API reference (GetDataEndpoint, GetMedia,
ListFragments), not against kvsp serve, which shares the client's reading of
these rules and serves a FRAGMENT_NUMBER resume and a token resume alike.

  Resume  a GetMedia response that ends inside the second fragment: the
          consumer drops the partial fragment and asks again with the
          ContinuationToken of the last complete fragment, as the README
          says (the AWS_KINESISVIDEO_CONTINUATION_TOKEN of its closing
          Tags; opaque, so here it is not its fragment number), and
          delivers every fragment once
  Tags    a Tags element without a continuation token after a fragment's
          Cluster (producer fragment metadata) does not end the fragment:
          the closing Tags after it (MILLIS_BEHIND_NOW, CONTINUATION_TOKEN)
          still belong to it, also when a response ends between the two
  Pages   ListFragments answers in pages, each with an opaque NextToken
          (fewer than MaxResults a page, as AWS may): kvsp list-fragments
          asks for every page, with the token of the one before

The fragments are those of the fixture kvs_unknown_size_8byte.mkv (GetMedia
shaped), cut at the offsets fixtures.json lists, and what each delivered
fragment must say comes from fixtures.json (make_fixtures.py), not from
kvsp. The server listens on 127.0.0.1 only and stops itself after LIMIT_S.

usage: resume_test.py KVSP RESOURCES_DIR
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))  # kvsp_testing
sys.path.insert(0, os.path.join(HERE, '..', 'resources'))  # ebml_writer
import ebml_writer as W  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = RESOURCES = None
FIXTURE = 'kvs_unknown_size_8byte.mkv'
STREAM = 'dock-camera'
LIMIT_S = 120  # the fake server's whole life
TIMEOUT = 60   # each kvsp run
TAGS_ID = W.eid(W.TAGS)


class FakeKvs(http.server.ThreadingHTTPServer):
    """GetMedia serves self.fragments (bytes, fragment number, continuation
    token each) by its StartSelector; self.media_cuts[k], when given, ends
    the k-th GetMedia response (a clean end) after that many bytes of its
    body. ListFragments serves self.listed in pages of self.page_size.
    Every request body is kept in self.requests as (path, JSON)."""
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.lock = threading.Lock()
        self.requests = []
        self.fragments = []
        self.media_cuts = {}
        self.media_count = 0
        self.listed = []
        self.page_size = 2

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.server_address[1]

    def selected(self, selector):
        """The fragments a GetMedia StartSelector asks for (API reference,
        StartSelector): EARLIEST from the first; FRAGMENT_NUMBER from the
        fragment AfterFragmentNumber names; CONTINUATION_TOKEN from the
        fragment after the one that token was sent with."""
        kind = selector.get('StartSelectorType')
        numbers = [number for _, number, _ in self.fragments]
        tokens = [token for _, _, token in self.fragments]
        if kind == 'EARLIEST':
            return self.fragments
        if kind == 'FRAGMENT_NUMBER' and selector.get('AfterFragmentNumber') in numbers:
            return self.fragments[numbers.index(selector['AfterFragmentNumber']):]
        if kind == 'CONTINUATION_TOKEN' and selector.get('ContinuationToken') in tokens:
            return self.fragments[tokens.index(selector['ContinuationToken']) + 1:]
        return None

    def page(self, request):
        """A ListFragments answer: the page the NextToken names (none: the first)."""
        token = request.get('NextToken')
        start = 0 if token is None else int(token.split('-')[1])
        end = start + min(self.page_size, request.get('MaxResults', 1000))
        answer = {'Fragments': self.listed[start:end]}
        if end < len(self.listed):
            answer['NextToken'] = 'page-%d-opaque' % end
        return answer


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def answer(self, status, doc, error_type=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        if error_type:
            self.send_header('x-amzn-ErrorType', error_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        server = self.server
        request = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        with server.lock:
            server.requests.append((self.path, request))
        if request.get('StreamName') != STREAM:
            self.answer(404, {'Message': 'no such stream'}, 'ResourceNotFoundException')
        elif self.path == '/getDataEndpoint':
            self.answer(200, {'DataEndpoint': server.url})
        elif self.path == '/listFragments':
            self.answer(200, server.page(request))
        elif self.path == '/getMedia':
            fragments = server.selected(request.get('StartSelector', {}))
            if fragments is None:
                self.answer(400, {'Message': 'bad StartSelector'}, 'InvalidArgumentException')
                return
            with server.lock:
                cut = server.media_cuts.get(server.media_count)
                server.media_count += 1
            body = b''.join(data for data, _, _ in fragments)
            # No length: the body ends where the connection closes, cleanly.
            self.send_response(200)
            self.send_header('Content-Type', 'video/webm')
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(body if cut is None else body[:cut])
            self.close_connection = True
        else:
            self.answer(404, {'Message': 'unknown API'}, 'ResourceNotFoundException')


def fixture_fragments(user_tags=False):
    """The fixture's fragments as (bytes, fragment number, continuation token,
    facts), each token made different from its fragment number (reversed) in
    place, and with user_tags a Tags of producer metadata (no token) put
    between the Cluster and the closing Tags. Also the offset, in each
    fragment, of that closing Tags."""
    with open(os.path.join(RESOURCES, 'fixtures.json')) as f:
        facts = json.load(f)['fixtures'][FIXTURE]
    with open(os.path.join(RESOURCES, FIXTURE), 'rb') as f:
        data = f.read()
    ends = facts['fragment_offsets'][1:] + [len(data)]
    out = []
    for start, end, fact in zip(facts['fragment_offsets'], ends, facts['fragments']):
        part = data[start:end]
        number, token = fact['fragment_number'], fact['continuation_token']
        assert token == number and part.count(token.encode()) == 2, 'the fixture changed'
        new_token = token[::-1]
        at = part.rindex(token.encode())  # the closing Tags' one; the first is the number's
        part = part[:at] + new_token.encode() + part[at + len(token):]
        closing = part.rindex(TAGS_ID)
        if user_tags:
            W.new_tally()
            extra = W.tags([('SITE', 'dock 7'), ('SHIFT', 'night')])
            part = part[:closing] + extra + part[closing:]
            closing += len(extra)
        out.append((part, number, new_token, fact, closing))
    return out


def env(home):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID='AKIDRESUMETEST', AWS_SECRET_ACCESS_KEY='resume/test/secret',
             AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=home)
    return e


class FakeKvsTest(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix='kvsp-resume-')
        self.server = FakeKvs()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.watchdog = threading.Timer(LIMIT_S, self.server.shutdown)
        self.watchdog.start()

    def tearDown(self):
        self.watchdog.cancel()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(TIMEOUT)
        shutil.rmtree(self.home, ignore_errors=True)

    def kvsp(self, *args):
        r = subprocess.run([KVSP, *args, '--stream', STREAM, '--endpoint-url', self.server.url],
                           capture_output=True, timeout=TIMEOUT, env=env(self.home))
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def media_selectors(self):
        return [req.get('StartSelector') for path, req in self.server.requests if path == '/getMedia']

    def serve(self, fragments, cuts=None):
        self.server.fragments = [(data, number, token) for data, number, token, _, _ in fragments]
        self.server.media_cuts = cuts or {}

    def assertDeliveredOnce(self, got, fragments):
        """Every fragment once, in order, with what fixtures.json says of it
        and the token its closing Tags carries."""
        want = [(fact['fragment_number'], token, fact['millis_behind_now'],
                 sum(fact['frames_per_track'].values()), True)
                for _, _, token, fact, _ in fragments]
        self.assertEqual([(f['fragment_number'], f['continuation_token'], f['millis_behind_now'], f['frames'],
                           f['complete']) for f in got], want)


class Resume(FakeKvsTest):
    def test_resumes_with_the_continuation_token(self):
        fragments = fixture_fragments()
        cut = len(fragments[0][0]) + len(fragments[1][0]) // 2
        self.serve(fragments, {0: cut})
        got = self.kvsp('fragments', '--start', 'earliest')
        self.assertDeliveredOnce(got, fragments)
        self.assertEqual(self.media_selectors(), [
            {'StartSelectorType': 'EARLIEST'},
            {'StartSelectorType': 'CONTINUATION_TOKEN', 'ContinuationToken': fragments[0][2]}])


class Tags(FakeKvsTest):
    def test_tags_without_a_token_after_the_cluster(self):
        fragments = fixture_fragments(user_tags=True)
        self.serve(fragments)
        self.assertDeliveredOnce(self.kvsp('fragments', '--start', 'earliest'), fragments)
        self.assertEqual(len(self.media_selectors()), 1)

    def test_response_ends_between_the_two_tags(self):
        fragments = fixture_fragments(user_tags=True)
        self.serve(fragments, {0: len(fragments[0][0]) + fragments[1][4]})
        self.assertDeliveredOnce(self.kvsp('fragments', '--start', 'earliest'), fragments)
        self.assertEqual(self.media_selectors()[1],
                         {'StartSelectorType': 'CONTINUATION_TOKEN', 'ContinuationToken': fragments[0][2]})


class Pages(FakeKvsTest):
    def test_every_page(self):
        # Numbers of unequal length and out of order across pages: the CLI sorts them as numbers.
        numbers = ['91343852333181432390000000000000000000000000001',
                   '91343852333181432390004951760157141521099596497',
                   '9134385233318143239000990352031428304219919299',
                   '91343852333181432390014855280471424563298789489',
                   '91343852333181432390019807040628566084398385985']
        self.server.listed = [{'FragmentNumber': n, 'FragmentSizeInBytes': 1000 + k,
                               'ProducerTimestamp': 1700000000.5 + k, 'ServerTimestamp': 1700000001.125 + k,
                               'FragmentLengthInMilliseconds': 2000 + k} for k, n in enumerate(numbers)]
        got = self.kvsp('list-fragments')
        want = sorted(self.server.listed, key=lambda f: int(f['FragmentNumber']))
        self.assertEqual([(f['fragment_number'], f['size'], f['length_ms'], f['producer_timestamp_ms'],
                           f['server_timestamp_ms']) for f in got],
                         [(f['FragmentNumber'], f['FragmentSizeInBytes'], f['FragmentLengthInMilliseconds'],
                           round(f['ProducerTimestamp'] * 1000), round(f['ServerTimestamp'] * 1000))
                          for f in want])
        pages = [req.get('NextToken') for path, req in self.server.requests if path == '/listFragments']
        self.assertEqual(pages, [None, 'page-2-opaque', 'page-4-opaque'])


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    kvsp_testing.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
