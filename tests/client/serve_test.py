#!/usr/bin/env python3
"""kvsp serve: a local Kinesis Video Streams endpoint over .mkv files.

Requests are signed with botocore's SigV4Auth (and some go through botocore's
own KVS clients), so the server is checked against an independent client.

usage: serve_test.py KVSP RESOURCES_DIR [CAPTURES_DIR] [unittest arguments]
"""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = RESOURCES = CAPTURES = None
ROOT = None  # a directory of symlinks to the fixtures (and captures)
AK = 'AKIDSERVETEST'
SK = 'serve/test/secret/key/EXAMPLEKEY'
REGION = 'us-west-2'
TIMEOUT = 60  # seconds, for every request and subprocess

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - botocore is a test dependency
    SigV4Auth = None

FIXTURES = ['kvs_unknown_size_8byte', 'kvs_unknown_size_1byte', 'kvs_resolution_change',
            'kvs_restart_at_zero', 'kvs_fragment_list', 'kvs_mid_gop', 'kvs_user_tags',
            'kvs_corrupt_frame', 'h264_blockgroups', 'audio_video', 'lacing_xiph',
            'lacing_ebml', 'lacing_fixed', 'known_size_cluster', 'h265_track']
CAPTURE_FILES = ['output_get_media', 'output_get_media_sparse_fragments',
                 'output-get-media-equal-timecode', 'kinesis_video_renderer_example_output',
                 'clusters', 'bezos_vogels', 'vogels_330']
NUMBER = re.compile(rb'913438523331814323\d{29}')


def streams():
    return [os.path.splitext(n)[0] for n in sorted(os.listdir(ROOT))]


def source(name):
    return os.path.join(ROOT, name + '.mkv')


class Server(kvsp_server.KvspServer):
    """kvsp serve over ROOT."""

    def __init__(self, *args):
        super().__init__(KVSP, ROOT, *args, timeout=TIMEOUT)


class Response:
    def __init__(self, status, headers, body, complete=True):
        self.status, self.headers, self.body, self.complete = status, headers, body, complete

    def json(self):
        return json.loads(self.body)

    def error_type(self):
        return (self.headers.get('x-amzn-ErrorType') or '').split(':')[0]


def call(port, op, body, sign=True, key=AK, secret=SK, raw=None, tamper=None):
    """POSTs /op with a JSON body, SigV4-signed by botocore unless sign is
    False. tamper(data) changes the body after signing."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {'Content-Type': 'application/x-amz-json-1.1'}
    if sign:
        req = AWSRequest(method='POST', url='http://127.0.0.1:%d/%s' % (port, op), data=data,
                         headers=headers)
        SigV4Auth(Credentials(key, secret), 'kinesisvideo', REGION).add_auth(req)
        headers = dict(req.headers.items())
    if tamper:
        data = tamper(data)
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=TIMEOUT)
    try:
        conn.request('POST', '/' + op, body=data, headers=headers)
        resp = conn.getresponse()
        try:
            payload, complete = resp.read(), True
        except http.client.IncompleteRead as e:
            payload, complete = e.partial, False
        return Response(resp.status, resp.headers, payload, complete)
    finally:
        conn.close()


def kvsp(*args, stdin=None, check=True):
    r = subprocess.run([KVSP, *args], input=stdin, capture_output=True, timeout=TIMEOUT)
    if check and r.returncode != 0:
        raise AssertionError('kvsp %s: %d %s' % (' '.join(args), r.returncode, r.stderr.decode()))
    return r


def json_lines(data):
    return [json.loads(l) for l in data.splitlines() if l.strip()]


def payload_fragments(payload):
    return json_lines(kvsp('fragments', '-', stdin=payload).stdout)


def frames_of(path=None, payload=None):
    """(track, size, keyframe) of every frame, in order."""
    r = kvsp('frames', '--list', path or '-', stdin=payload, check=False)
    return [(f['track'], f['size'], f['keyframe']) for f in json_lines(r.stdout)]


def cluster_frame_counts(path):
    """Frames of each Cluster of a source file (complete blocks only)."""
    counts = []
    for ev in json_lines(kvsp('inspect', '--json', path, check=False).stdout):
        if ev.get('event') == 'start' and ev.get('name') == 'Cluster':
            counts.append(0)
        elif ev.get('event') == 'data' and ev.get('name') in ('SimpleBlock', 'Block'):
            counts[-1] += ev['frames']
    return counts


def get_media(port, stream, selector, **kw):
    return call(port, 'getMedia', {'StreamName': stream, 'StartSelector': selector}, **kw)


def list_all(port, stream, page=1000, selector=None):
    """Every fragment over ListFragments pages, and the pages' orders."""
    fragments, pages, token = [], [], None
    while True:
        body = {'StreamName': stream, 'MaxResults': page}
        if token:
            body['NextToken'] = token
        if selector:
            body['FragmentSelector'] = selector
        r = call(port, 'listFragments', body)
        assert r.status == 200, (r.status, r.body)
        out = r.json()
        pages.append([f['FragmentNumber'] for f in out['Fragments']])
        fragments += out['Fragments']
        token = out.get('NextToken')
        if not token:
            return fragments, pages


def botocore_client(service, port, endpoint=None):
    """botocore's own client for service against the server on port."""
    import botocore.session
    from botocore.config import Config
    cfg = Config(retries={'max_attempts': 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT)
    return botocore.session.get_session().create_client(
        service, region_name=REGION, endpoint_url=endpoint or 'http://127.0.0.1:%d' % port,
        aws_access_key_id=AK, aws_secret_access_key=SK, config=cfg)


class ServedStreams(unittest.TestCase):
    """Without authentication or faults: payloads, selectors, listing."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def earliest(self, stream):
        r = get_media(self.port, stream, {'StartSelectorType': 'EARLIEST'}, sign=False)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers['Content-Type'], 'video/webm')
        return r.body

    def test_data_endpoint_and_errors(self):
        r = call(self.port, 'getDataEndpoint', {'StreamName': 'kvs_unknown_size_8byte',
                                                'APIName': 'GET_MEDIA'}, sign=False)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {'DataEndpoint': 'http://127.0.0.1:%d' % self.port})
        arn = 'arn:aws:kinesisvideo:%s:000000000000:stream/kvs_unknown_size_8byte/0' % REGION
        r = call(self.port, 'getDataEndpoint', {'StreamARN': arn, 'APIName': 'LIST_FRAGMENTS'},
                 sign=False)
        self.assertEqual(r.status, 200)
        r = call(self.port, 'getDataEndpoint', {'StreamName': 'no_such_stream',
                                                'APIName': 'GET_MEDIA'}, sign=False)
        self.assertEqual((r.status, r.error_type()), (404, 'ResourceNotFoundException'))
        self.assertIn('no_such_stream', r.json()['message'])
        self.assertEqual(r.json()['Message'], r.json()['message'])
        r = call(self.port, 'getMedia', None, sign=False, raw=b'{"StreamName": ')
        self.assertEqual((r.status, r.error_type()), (400, 'InvalidArgumentException'))
        r = get_media(self.port, 'no_such_stream', {'StartSelectorType': 'EARLIEST'}, sign=False)
        self.assertEqual((r.status, r.error_type()), (404, 'ResourceNotFoundException'))
        r = get_media(self.port, 'kvs_unknown_size_8byte', {'StartSelectorType': 'SOON'},
                      sign=False)
        self.assertEqual((r.status, r.error_type()), (400, 'InvalidArgumentException'))
        r = call(self.port, 'noSuchOperation', {}, sign=False)
        self.assertEqual(r.status, 404)

    def test_get_media_earliest_matches_source(self):
        checked = 0
        for stream in streams():
            with self.subTest(stream=stream):
                payload = self.earliest(stream)
                frags = payload_fragments(payload)
                self.assertEqual([f['frames'] for f in frags], cluster_frame_counts(source(stream)))
                self.assertEqual(frames_of(payload=payload), frames_of(source(stream)))
                numbers = [f['fragment_number'] for f in frags]
                self.assertTrue(all(len(n) == 47 and n.isdigit() for n in numbers))
                self.assertEqual([int(n) for n in numbers], sorted(int(n) for n in numbers))
                self.assertEqual(len(set(numbers)), len(numbers))
                for f in frags:
                    self.assertTrue(f['complete'])
                    self.assertEqual(f['continuation_token'], f['fragment_number'])
                    self.assertIsNotNone(f['millis_behind_now'])
                    self.assertEqual(f['server_timestamp_ms'] - f['producer_timestamp_ms'], 250)
                    self.assertIsNone(f['error_code'])
                producers = [f['producer_timestamp_ms'] for f in frags]
                self.assertEqual(producers[0], 1700000000000)
                self.assertEqual(producers, sorted(producers))
                checked += 1
        self.assertGreaterEqual(checked, len(FIXTURES))

    def test_selectors_start_at_the_right_fragment(self):
        for stream in ('kvs_resolution_change', 'clusters', 'output_get_media'):
            if stream not in streams():
                continue
            with self.subTest(stream=stream):
                frags = payload_fragments(self.earliest(stream))
                self.assertGreaterEqual(len(frags), 3)
                numbers = [f['fragment_number'] for f in frags]

                def first(selector, expect_from):
                    r = get_media(self.port, stream, selector, sign=False)
                    self.assertEqual(r.status, 200, (selector, r.body))
                    got = [f['fragment_number'] for f in payload_fragments(r.body)]
                    self.assertEqual(got, numbers[expect_from:], selector)

                first({'StartSelectorType': 'FRAGMENT_NUMBER', 'AfterFragmentNumber': numbers[1]}, 1)
                first({'StartSelectorType': 'CONTINUATION_TOKEN', 'ContinuationToken': numbers[1]}, 2)
                first({'StartSelectorType': 'CONTINUATION_TOKEN', 'ContinuationToken': numbers[-1]},
                      len(numbers))
                t2 = frags[2]['producer_timestamp_ms'] / 1000
                first({'StartSelectorType': 'PRODUCER_TIMESTAMP', 'StartTimestamp': t2}, 2)
                t1 = frags[1]['producer_timestamp_ms'] / 1000 + 0.001
                first({'StartSelectorType': 'PRODUCER_TIMESTAMP', 'StartTimestamp': t1}, 2)
                ts = frags[1]['server_timestamp_ms'] / 1000
                first({'StartSelectorType': 'SERVER_TIMESTAMP', 'StartTimestamp': ts}, 1)
                first({'StartSelectorType': 'PRODUCER_TIMESTAMP', 'StartTimestamp': 1.0e9}, 0)
                first({'StartSelectorType': 'NOW'}, len(numbers))  # nothing new without --live
                r = get_media(self.port, stream, {'StartSelectorType': 'FRAGMENT_NUMBER',
                                                  'AfterFragmentNumber': '9' * 47}, sign=False)
                self.assertEqual((r.status, r.error_type()), (404, 'ResourceNotFoundException'))
                r = get_media(self.port, stream, {'StartSelectorType': 'FRAGMENT_NUMBER'},
                              sign=False)
                self.assertEqual(r.status, 400)

    def test_list_fragments_pages_cover_every_fragment_once(self):
        for stream in ('kvs_resolution_change', 'clusters', 'vogels_330'):
            if stream not in streams():
                continue
            with self.subTest(stream=stream):
                frags = payload_fragments(self.earliest(stream))
                listed, pages = list_all(self.port, stream, page=2)
                numbers = [f['FragmentNumber'] for f in listed]
                self.assertEqual(len(numbers), len(set(numbers)))
                self.assertEqual(sorted(numbers, key=int), [f['fragment_number'] for f in frags])
                self.assertEqual(len(pages), (len(frags) + 1) // 2)
                # KVS promises no order: pages of two or more are not sorted here
                self.assertTrue(all(p != sorted(p, key=int) for p in pages if len(p) > 1))
                by_number = {f['fragment_number']: f for f in frags}
                for f in listed:
                    g = by_number[f['FragmentNumber']]
                    self.assertEqual(round(f['ProducerTimestamp'] * 1000), g['producer_timestamp_ms'])
                    self.assertEqual(round(f['ServerTimestamp'] * 1000), g['server_timestamp_ms'])
                    self.assertGreater(f['FragmentSizeInBytes'], 0)
                    self.assertGreaterEqual(f['FragmentLengthInMilliseconds'], 0)
                one_page, _ = list_all(self.port, stream)
                self.assertEqual(sorted(f['FragmentNumber'] for f in one_page), sorted(numbers))
                # a producer-timestamp range keeps the fragments starting in it
                lo, hi = frags[1]['producer_timestamp_ms'], frags[2]['producer_timestamp_ms']
                ranged, _ = list_all(self.port, stream, page=1, selector={
                    'FragmentSelectorType': 'PRODUCER_TIMESTAMP',
                    'TimestampRange': {'StartTimestamp': lo / 1000, 'EndTimestamp': hi / 1000}})
                self.assertEqual(sorted((f['FragmentNumber'] for f in ranged), key=int),
                                 [frags[1]['fragment_number'], frags[2]['fragment_number']])
        r = call(self.port, 'listFragments', {'StreamName': 'kvs_resolution_change',
                                              'MaxResults': 0}, sign=False)
        self.assertEqual((r.status, r.error_type()), (400, 'InvalidArgumentException'))
        r = call(self.port, 'listFragments', {'StreamName': 'kvs_resolution_change',
                                              'NextToken': 'bogus'}, sign=False)
        self.assertEqual(r.status, 400)

    def test_fragment_size_is_the_bytes_get_media_for_fragment_list_returns(self):
        """Issue 19: each listed FragmentSizeInBytes, read by botocore, is the
        length of what botocore's GetMediaForFragmentList returns for that
        one fragment (EBML header, Segment, Info, Tracks, tags and Cluster)."""
        archived = botocore_client('kinesis-video-archived-media', self.port)
        checked = 0
        for stream in ['kvs_resolution_change', 'kvs_unknown_size_1byte', 'known_size_cluster',
                       'audio_video', 'output_get_media']:
            if not os.path.exists(source(stream)):
                continue
            with self.subTest(stream=stream):
                out = archived.list_fragments(StreamName=stream, MaxResults=1000)
                self.assertTrue(out['Fragments'])
                for f in out['Fragments'][:12]:
                    media = archived.get_media_for_fragment_list(
                        StreamName=stream, Fragments=[f['FragmentNumber']])
                    body = media['Payload'].read()
                    self.assertEqual(f['FragmentSizeInBytes'], len(body), f['FragmentNumber'])
                    checked += 1
        self.assertGreater(checked, 10)

    def test_list_streams(self):
        """ListStreams through botocore's client and its paginator: every
        .mkv of the root once, as KVS describes a stream, in pages."""
        kv = botocore_client('kinesisvideo', self.port)
        out = kv.list_streams()
        self.assertNotIn('NextToken', out)
        infos = out['StreamInfoList']
        self.assertEqual([i['StreamName'] for i in infos], streams())
        for info in infos:
            self.assertEqual(info['Status'], 'ACTIVE')
            self.assertEqual(info['StreamARN'], kv.describe_stream(
                StreamName=info['StreamName'])['StreamInfo']['StreamARN'])
            self.assertEqual(info['CreationTime'].timestamp(), 1700000000.0)
            self.assertEqual(info['DataRetentionInHours'], 24)
            self.assertTrue(info['MediaType'])
            self.assertEqual(kv.get_data_endpoint(StreamARN=info['StreamARN'],
                                                  APIName='GET_MEDIA')['DataEndpoint'],
                             'http://127.0.0.1:%d' % self.port)
        # MaxResults pages, followed by hand and by botocore's paginator.
        names, token, pages = [], None, 0
        while True:
            out = kv.list_streams(MaxResults=4, **({'NextToken': token} if token else {}))
            self.assertLessEqual(len(out['StreamInfoList']), 4)
            names += [i['StreamName'] for i in out['StreamInfoList']]
            pages += 1
            token = out.get('NextToken')
            if not token:
                break
            self.assertRegex(token, r'^[a-zA-Z0-9+/=]*$')  # KVS's token pattern
        self.assertEqual(names, streams())
        self.assertEqual(pages, (len(streams()) + 3) // 4)
        pager = kv.get_paginator('list_streams').paginate(PaginationConfig={'PageSize': 3})
        self.assertEqual([i['StreamName'] for p in pager for i in p['StreamInfoList']], streams())
        out = kv.list_streams(StreamNameCondition={'ComparisonOperator': 'BEGINS_WITH',
                                                   'ComparisonValue': 'kvs_'})
        self.assertEqual([i['StreamName'] for i in out['StreamInfoList']],
                         [n for n in streams() if n.startswith('kvs_')])
        from botocore.exceptions import ClientError
        for bad in [{'MaxResults': 10001}, {'NextToken': 'notours'}]:
            with self.assertRaises(ClientError) as cm:
                kv.list_streams(**bad)
            self.assertEqual(cm.exception.response['Error']['Code'], 'InvalidArgumentException')

    def test_get_media_for_fragment_list_reproduces_the_frames(self):
        for stream in streams():
            with self.subTest(stream=stream):
                listed, _ = list_all(self.port, stream, page=3)
                numbers = sorted((f['FragmentNumber'] for f in listed), key=int)
                if not numbers:
                    continue
                r = call(self.port, 'getMediaForFragmentList',
                         {'StreamName': stream, 'Fragments': numbers}, sign=False)
                self.assertEqual(r.status, 200, r.body)
                frags = payload_fragments(r.body)
                self.assertEqual([f['fragment_number'] for f in frags], numbers)
                for f in frags:
                    # the _SIDE_ tag names were read
                    self.assertIsNotNone(f['server_timestamp_ms'])
                    self.assertIsNotNone(f['producer_timestamp_ms'])
                    self.assertIsNone(f['continuation_token'])
                self.assertEqual(frames_of(payload=r.body), frames_of(source(stream)))
        r = call(self.port, 'getMediaForFragmentList',
                 {'StreamName': 'kvs_resolution_change', 'Fragments': ['1' * 47]}, sign=False)
        self.assertEqual((r.status, r.error_type()), (404, 'ResourceNotFoundException'))
        r = call(self.port, 'getMediaForFragmentList',
                 {'StreamName': 'kvs_resolution_change', 'Fragments': []}, sign=False)
        self.assertEqual(r.status, 400)

    def test_concurrent_get_media(self):
        """200 connections open at once, each read to the end."""
        stream = 'kvs_resolution_change'
        reference = self.earliest(stream)
        n = 200
        barrier = threading.Barrier(n, timeout=TIMEOUT)
        results = [None] * n

        def worker(i):
            conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=TIMEOUT)
            try:
                body = json.dumps({'StreamName': stream,
                                   'StartSelector': {'StartSelectorType': 'EARLIEST'}})
                conn.connect()
                barrier.wait()  # every connection is open before any request
                conn.request('POST', '/getMedia', body=body)
                resp = conn.getresponse()
                results[i] = (resp.status, resp.read())
            except Exception as e:  # reported below
                results[i] = ('error', repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 2)
        self.assertFalse(any(t.is_alive() for t in threads))
        for status, body in results:
            self.assertEqual(status, 200, body)
            self.assertEqual(NUMBER.findall(body), NUMBER.findall(reference))
            self.assertEqual(len(body), len(reference))


@unittest.skipIf(SigV4Auth is None, 'botocore not installed')
class Authentication(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server('--access-key', AK, '--secret-key', SK)
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_signed_requests_pass(self):
        r = call(self.port, 'getDataEndpoint', {'StreamName': 'kvs_resolution_change',
                                                'APIName': 'GET_MEDIA'})
        self.assertEqual(r.status, 200, r.body)
        r = get_media(self.port, 'kvs_resolution_change', {'StartSelectorType': 'EARLIEST'})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(payload_fragments(r.body)), 4)

    def test_unsigned_or_badly_signed_requests_are_refused(self):
        body = {'StreamName': 'kvs_resolution_change', 'APIName': 'GET_MEDIA'}
        cases = [
            ('unsigned', dict(sign=False), ('UnrecognizedClientException',)),
            ('wrong secret', dict(secret=SK + 'x'), ('InvalidSignatureException',)),
            ('unknown key', dict(key='AKIDUNKNOWN'), ('UnrecognizedClientException',)),
            ('body changed after signing',
             dict(tamper=lambda d: d.replace(b'GET_MEDIA', b'GET_MEDIB')),
             ('InvalidSignatureException',)),
        ]
        for what, kw, types in cases:
            with self.subTest(what):
                r = call(self.port, 'getDataEndpoint', body, **kw)
                self.assertEqual(r.status, 403, r.body)
                self.assertIn(r.error_type(), types)
                self.assertTrue(r.json()['message'])
        r = get_media(self.port, 'kvs_resolution_change', {'StartSelectorType': 'EARLIEST'},
                      sign=False)
        self.assertEqual(r.status, 403)

    def test_botocore_clients(self):
        """The AWS SDK's own clients parse our responses and errors."""
        import botocore.session
        from botocore.config import Config
        from botocore.exceptions import ClientError
        session = botocore.session.get_session()
        cfg = Config(retries={'max_attempts': 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT)
        endpoint = 'http://127.0.0.1:%d' % self.port

        def client(service):
            return session.create_client(service, region_name=REGION, endpoint_url=endpoint,
                                         aws_access_key_id=AK, aws_secret_access_key=SK,
                                         config=cfg)

        kv = client('kinesisvideo')
        out = kv.get_data_endpoint(StreamName='kvs_resolution_change', APIName='GET_MEDIA')
        self.assertEqual(out['DataEndpoint'], endpoint)
        with self.assertRaises(ClientError) as cm:
            kv.get_data_endpoint(StreamName='no_such_stream', APIName='GET_MEDIA')
        self.assertEqual(cm.exception.response['Error']['Code'], 'ResourceNotFoundException')
        media = client('kinesis-video-media')
        out = media.get_media(StreamName='kvs_resolution_change',
                              StartSelector={'StartSelectorType': 'EARLIEST'})
        self.assertEqual(out['ContentType'], 'video/webm')
        payload = out['Payload'].read()
        self.assertEqual(len(payload_fragments(payload)), 4)
        archived = client('kinesis-video-archived-media')
        out = archived.list_fragments(StreamName='kvs_resolution_change', MaxResults=10)
        self.assertEqual(len(out['Fragments']), 4)
        self.assertEqual(min(f['ProducerTimestamp'] for f in out['Fragments']).timestamp(),
                         1700000000.0)
        numbers = sorted((f['FragmentNumber'] for f in out['Fragments']), key=int)
        out = archived.get_media_for_fragment_list(StreamName='kvs_resolution_change',
                                                    Fragments=numbers[:2])
        self.assertEqual([f['fragment_number'] for f in payload_fragments(out['Payload'].read())],
                         numbers[:2])
        kv_bad = session.create_client('kinesisvideo', region_name=REGION, endpoint_url=endpoint,
                                       aws_access_key_id=AK, aws_secret_access_key='wrong',
                                       config=cfg)
        with self.assertRaises(ClientError) as cm:
            kv_bad.get_data_endpoint(StreamName='kvs_resolution_change', APIName='GET_MEDIA')
        self.assertEqual(cm.exception.response['ResponseMetadata']['HTTPStatusCode'], 403)


class PublicUrl(unittest.TestCase):
    """--public-url: GetDataEndpoint sends clients to the public address."""

    def test_get_data_endpoint_advertises_the_public_url(self):
        stream = 'kvs_resolution_change'
        with Server('--public-url', 'https://kvs.example.test:8443/video/') as s:
            kv = botocore_client('kinesisvideo', s.port)
            out = kv.get_data_endpoint(StreamName=stream, APIName='GET_MEDIA')
            self.assertEqual(out['DataEndpoint'], 'https://kvs.example.test:8443/video')
        # Through a relay on another port, with signed requests: botocore
        # follows the advertised endpoint and gets the same media.
        with Server('--access-key', AK, '--secret-key', SK, '--region', REGION) as direct_s:
            direct = botocore_client('kinesis-video-media', direct_s.port).get_media(
                StreamName=stream, StartSelector={'StartSelectorType': 'EARLIEST'})
            expected = direct['Payload'].read()
        relay = None
        try:
            # The relay's port must be known before the server starts: the
            # relay is opened first and pointed at the server once it runs.
            relay = kvsp_server.Forwarder(0, timeout=TIMEOUT)
            with Server('--access-key', AK, '--secret-key', SK, '--region', REGION,
                        '--public-url', 'http://127.0.0.1:%d/' % relay.port) as relay_s:
                relay.target = relay_s.port
                kv = botocore_client('kinesisvideo', relay_s.port)
                endpoint = kv.get_data_endpoint(StreamName=stream,
                                                APIName='GET_MEDIA')['DataEndpoint']
                self.assertEqual(endpoint, 'http://127.0.0.1:%d' % relay.port)
                media = botocore_client('kinesis-video-media', None, endpoint=endpoint)
                out = media.get_media(StreamName=stream,
                                      StartSelector={'StartSelectorType': 'EARLIEST'})
                self.assertEqual(out['Payload'].read(), expected)
                self.assertGreaterEqual(relay.connections, 1)
        finally:
            if relay:
                relay.close()
        for bad in ['ftp://host', 'https://', 'http:///path', 'https://a b', 'x' * 600]:
            r = kvsp('serve', '--root', ROOT, '--public-url', bad, check=False)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn(b'--public-url', r.stderr)


class FaultInjection(unittest.TestCase):
    STREAM = 'kvs_resolution_change'

    def test_close_after_bytes(self):
        with Server('--fault-close-after', '5000') as s:
            r = get_media(s.port, self.STREAM, {'StartSelectorType': 'EARLIEST'}, sign=False)
            self.assertEqual(r.status, 200)
            self.assertFalse(r.complete)
            self.assertLessEqual(len(r.body), 5000)
            self.assertGreater(len(r.body), 4000)
            frags = json_lines(kvsp('fragments', '-', stdin=r.body, check=False).stdout)
            self.assertFalse(frags[-1]['complete'])
            # the server goes on serving
            r = call(s.port, 'getDataEndpoint', {'StreamName': self.STREAM, 'APIName': 'GET_MEDIA'},
                     sign=False)
            self.assertEqual(r.status, 200)

    def test_limit_every_kth_request(self):
        with Server('--fault-limit-every', '3') as s:
            statuses = []
            for _ in range(7):
                r = call(s.port, 'getDataEndpoint', {'StreamName': self.STREAM,
                                                     'APIName': 'GET_MEDIA'}, sign=False)
                statuses.append(r.status)
                if r.status == 400:
                    self.assertEqual(r.error_type(), 'ClientLimitExceededException')
            self.assertEqual(statuses, [200, 200, 400, 200, 200, 400, 200])

    def test_error_at_fragment(self):
        with Server('--fault-error-at-fragment', '2') as s:
            r = get_media(s.port, self.STREAM, {'StartSelectorType': 'EARLIEST'}, sign=False)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.complete)
            frags = payload_fragments(r.body)
            self.assertEqual(len(frags), 3)
            self.assertTrue(all(f['error_id'] is None for f in frags[:2]))
            self.assertEqual(frags[2]['error_id'], 4000)
            self.assertTrue(frags[2]['error_code'])
            self.assertEqual(frags[2]['frames'], 0)
            # resuming after the last good fragment gets the rest
            r = get_media(s.port, self.STREAM, {'StartSelectorType': 'CONTINUATION_TOKEN',
                                                'ContinuationToken': frags[1]['continuation_token']},
                          sign=False)
            # the 2 fragments left; the error only replaces a fragment
            self.assertEqual(len(payload_fragments(r.body)), 2)


def wall_ms():
    """The wall clock kvsp serve --live releases fragments by (CLOCK_REALTIME), in ms."""
    return time.time() * 1000


def open_media(port, stream, selector):
    """A GetMedia whose status and headers have arrived: (connection, response),
    the body still to read."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=TIMEOUT)
    conn.request('POST', '/getMedia', body=json.dumps({'StreamName': stream, 'StartSelector': selector}))
    return conn, conn.getresponse()


def sent_times(path):
    """--log-fragments: fragment number -> wall-clock ms its last byte went out."""
    with open(path) as f:
        return {number: int(us) / 1000 for us, _, number in (line.split() for line in f)}


class Live(unittest.TestCase):
    """Judged by events and the server's own clock, not by how fast the test
    runs: with --live a fragment's producer timestamp is its release time (the
    server's wall clock), --log-fragments says when each went out, and every
    call is bracketed by wall-clock readings."""
    STREAM = 'kvs_resolution_change'  # fragments 1 s apart

    def test_fragments_arrive_in_real_time(self):
        """Each fragment goes out once it is released, never before, and
        without waiting for the next one: its delay (from its release, or from
        the request if that came later) is under half the interval between
        releases, the reference (a server holding a fragment back for the next
        release delays it a whole interval)."""
        fd, log = tempfile.mkstemp(prefix='kvsp-sent-')
        os.close(fd)
        self.addCleanup(os.unlink, log)
        with Server('--live', '--log-fragments', log) as s:
            asked = wall_ms()
            conn, resp = open_media(s.port, self.STREAM, {'StartSelectorType': 'EARLIEST'})
            data, seen = b'', {}  # fragment number -> wall ms its head tags arrived
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                data += chunk
                now = wall_ms()
                for number in NUMBER.findall(data):
                    seen.setdefault(number.decode(), now)
            conn.close()
        sent = sent_times(log)
        frags = payload_fragments(data)
        self.assertEqual(len(frags), 4)
        release = [f['producer_timestamp_ms'] for f in frags]
        gaps = [b - a for a, b in zip(release, release[1:])]
        self.assertEqual(gaps, [1000] * 3)
        for k, f in enumerate(frags):
            number = f['fragment_number']
            self.assertGreaterEqual(sent[number], release[k], 'fragment %d sent before its release' % k)
            self.assertGreaterEqual(seen[number], release[k], 'fragment %d arrived before its release' % k)
            delay = sent[number] - max(release[k], asked)
            self.assertLess(delay / gaps[min(k, 2)], 0.5, 'fragment %d waited for the next one' % k)
            # MILLIS_BEHIND_NOW: the server's delay at the fragment's end, as it really was
            self.assertGreaterEqual(f['millis_behind_now'], max(0, asked - release[k]) - 1, k)
            self.assertLessEqual(f['millis_behind_now'], sent[number] - release[k] + 1, k)

    def test_now_and_listing_follow_the_clock(self):
        """ListFragments lists the fragments released when it is answered, and
        GetMedia NOW sends those released after it is answered, to the last."""
        with Server('--live') as s:
            t0 = wall_ms()
            early, _ = list_all(s.port, self.STREAM)
            t1 = wall_ms()
            conn, resp = open_media(s.port, self.STREAM, {'StartSelectorType': 'NOW'})
            t2 = wall_ms()
            body = resp.read()
            conn.close()
            # a live response ends after the last fragment: all are released now
            final, _ = list_all(s.port, self.STREAM)
        self.assertEqual(len(final), 4)
        order = sorted(final, key=lambda f: int(f['FragmentNumber']))
        release = [round(f['ProducerTimestamp'] * 1000) for f in order]
        listed = {f['FragmentNumber'] for f in early}
        for k, f in enumerate(order):
            if f['FragmentNumber'] in listed:
                self.assertLessEqual(release[k], t1, 'fragment %d listed before its release' % k)
            else:
                self.assertGreater(release[k], t0 - 1, 'fragment %d released but not listed' % k)
        numbers = [f['fragment_number'] for f in payload_fragments(body)]
        self.assertTrue(numbers, 'NOW sent nothing (called 3 s after the start?)')
        first = [f['FragmentNumber'] for f in order].index(numbers[0])
        self.assertEqual(numbers, [f['FragmentNumber'] for f in order[first:]])
        self.assertTrue(all(r <= t2 for r in release[:first]), 'NOW skipped fragments not yet released')
        self.assertTrue(all(r > t1 - 1 for r in release[first:]), 'NOW sent a fragment released before it')

    def test_many_waiting_connections(self):
        """200 GetMedia held open by the event loop while fragments trickle in."""
        with Server('--live') as s:
            n = 200
            results = [None] * n

            def worker(i):
                try:
                    r = get_media(s.port, self.STREAM, {'StartSelectorType': 'EARLIEST'},
                                  sign=False)
                    results[i] = (r.status, len(NUMBER.findall(r.body)), r.complete)
                except Exception as e:  # reported below
                    results[i] = ('error', repr(e), False)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(TIMEOUT * 2)
            self.assertFalse(any(t.is_alive() for t in threads))
            # each fragment's number is in its head tags and continuation token
            self.assertEqual(results, [(200, 8, True)] * n)

    def test_stops_with_waiting_connections(self):
        """SIGTERM while a GetMedia NOW is held waiting for the next release:
        the server stops cleanly and lets the client go."""
        with Server('--live') as s:
            box, waiting = {}, threading.Event()

            def worker():
                conn = None
                try:
                    conn, resp = open_media(s.port, self.STREAM, {'StartSelectorType': 'NOW'})
                    box['status'] = resp.status
                    waiting.set()  # headers come at once; the body waits for a release
                    box['body'] = resp.read()
                except http.client.IncompleteRead:  # once a fragment has gone out, the end is cut
                    box['body'] = None
                finally:
                    if conn:
                        conn.close()
                    waiting.set()

            t = threading.Thread(target=worker)
            t.start()
            self.assertTrue(waiting.wait(TIMEOUT))
            self.assertEqual(set(box), {'status'})  # still held open (the last release is 3 s after the start)
            self.assertEqual(s.stop(), 0)
            t.join(TIMEOUT)
            self.assertFalse(t.is_alive())
        self.assertEqual(box['status'], 200)
        self.assertIn('body', box)


def setUpModule():
    global ROOT
    ROOT = tempfile.mkdtemp(prefix='kvsp-serve-')
    for name in FIXTURES:
        os.symlink(os.path.join(RESOURCES, name + '.mkv'), os.path.join(ROOT, name + '.mkv'))
    for name in CAPTURE_FILES if CAPTURES and os.path.isdir(CAPTURES) else []:
        path = os.path.join(CAPTURES, name + '.mkv')
        if os.path.exists(path):
            os.symlink(path, os.path.join(ROOT, name + '.mkv'))
        else:
            kvsp_testing.skipped_part('capture %s absent' % name)
    if not (CAPTURES and os.path.isdir(CAPTURES)):
        kvsp_testing.skipped_part('shared captures absent: fixtures only')


def tearDownModule():
    for name in os.listdir(ROOT):
        os.unlink(os.path.join(ROOT, name))
    os.rmdir(ROOT)


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    CAPTURES = sys.argv[3] if len(sys.argv) > 3 else None
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[4:]])
