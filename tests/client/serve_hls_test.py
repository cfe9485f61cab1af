#!/usr/bin/env python3
"""kvsp serve's HLS: GetHLSStreamingSessionURL and the endpoints its URL
points to, checked by independent clients.

  Botocore  botocore's kinesis-video-archived-media client (endpoint from
            GetDataEndpoint, requests signed) asks for sessions and gets
            KVS's errors; the playlists against botocore's ListFragments
  Ffmpeg    ffmpeg reads the master playlist URL (ON_DEMAND, and LIVE over
            --live from its first segment) to the same frames as the
            served file: packets and decoded pictures by framemd5
  Live      a LIVE media playlist slides as --live releases fragments and
            ends with the file; LIVE_REPLAY starts at its StartTimestamp
  Browser   the developer guide's example page (hls.js from the npm
            registry) in headless Chromium: currentTime advances and the
            picture is not black, ON_DEMAND and LIVE

usage: serve_hls_test.py KVSP RESOURCES_DIR CAPTURES_DIR NPM_CACHE PART
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import headless_page  # noqa: E402
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = CAPTURES = NPM_CACHE = TMP = None
AK = 'AKIDHLSTEST'
SK = 'hls/test/secret/key/EXAMPLEKEY'
REGION = 'us-west-2'
TIMEOUT = 60
BASE = 1700000000  # kvsp serve's default first producer timestamp (s)
FIXTURES = ['kvs_unknown_size_8byte', 'kvs_resolution_change', 'kvs_restart_at_zero',
            'kvs_mid_gop', 'audio_video', 'h265_track']
CAPTURE_FILES = ['output_get_media', 'clusters', 'output_get_media_sparse_fragments']


def root():
    """A directory of symlinks: the fixtures and, if there, the captures."""
    d = tempfile.mkdtemp(dir=TMP)
    for name in FIXTURES:
        os.symlink(os.path.join(RESOURCES, name + '.mkv'), os.path.join(d, name + '.mkv'))
    for name in CAPTURE_FILES:
        path = os.path.join(CAPTURES or '', name + '.mkv')
        if CAPTURES and os.path.isfile(path):
            os.symlink(path, os.path.join(d, name + '.mkv'))
    return d


def source(name):
    path = os.path.join(RESOURCES, name + '.mkv')
    return path if os.path.isfile(path) else os.path.join(CAPTURES, name + '.mkv')


def clients(port):
    import botocore.session
    from botocore.config import Config
    cfg = Config(retries={'max_attempts': 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT)
    session = botocore.session.get_session()

    def make(service, url):
        return session.create_client(service, region_name=REGION, endpoint_url=url,
                                     aws_access_key_id=AK, aws_secret_access_key=SK, config=cfg)
    kv = make('kinesisvideo', 'http://127.0.0.1:%d' % port)
    return kv, lambda stream: make('kinesis-video-archived-media', kv.get_data_endpoint(
        StreamName=stream, APIName='GET_HLS_STREAMING_SESSION_URL')['DataEndpoint'])


def post(url, op, body):
    """An unsigned POST: (status, JSON)."""
    req = urllib.request.Request(url + '/' + op, data=json.dumps(body).encode(), method='POST')
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(url):
    """(status, headers, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def on_demand(stream, **kw):
    body = {'StreamName': stream, 'PlaybackMode': 'ON_DEMAND',
            'HLSFragmentSelector': {'FragmentSelectorType': 'PRODUCER_TIMESTAMP',
                                    'TimestampRange': {'StartTimestamp': BASE - 1,
                                                       'EndTimestamp': BASE + 3600}}}
    body.update(kw)
    return body


def playlist(text):
    """The tags and segments of a media playlist: (tags {name: [values]},
    segments [{uri, duration, time, discontinuity}])."""
    lines = text.decode().splitlines()
    assert lines[0] == '#EXTM3U', lines[:1]
    tags, segments, pending = {}, [], {}
    for line in lines[1:]:
        if line.startswith('#EXT'):
            name, _, value = line.partition(':')
            tags.setdefault(name, []).append(value)
            if name == '#EXTINF':
                pending['duration'] = float(value.split(',')[0])
            elif name == '#EXT-X-PROGRAM-DATE-TIME':
                pending['time'] = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
            elif name == '#EXT-X-DISCONTINUITY':
                pending['discontinuity'] = True
        elif line:
            pending['uri'] = line
            segments.append(pending)
            pending = {}
    return tags, segments


def media_playlist_url(master_url):
    status, _, body = get(master_url)
    assert status == 200, body
    uri = [x for x in body.decode().splitlines() if x and not x.startswith('#')][0]
    return urllib.parse.urljoin(master_url, uri)


def framemd5(url, *args):
    """The framemd5 hashes (last column) of ffmpeg's reading of url."""
    out = subprocess.run(['ffmpeg', '-v', 'error', *args[:-1], '-i', url, *args[-1], '-f', 'framemd5', '-'],
                         capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    return [x.rsplit(b',', 1)[-1].strip() for x in out.stdout.splitlines() if not x.startswith(b'#')]


def video_times(url):
    """ffprobe's packet times (ms) of the first video stream."""
    out = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                          'packet=pts_time', '-of', 'csv=p=0', url], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    times = [round(float(x.strip(',')) * 1000) for x in out.stdout.split()]
    return [t - times[0] for t in times]  # from the first


VIDEO_COPY = ['-map', '0:v', '-c', 'copy']
VIDEO_DECODED = ['-map', '0:v', '-fps_mode', 'passthrough']


class Botocore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server_root = root()
        cls.server = kvsp_server.KvspServer(KVSP, cls.server_root, '--access-key', AK, '--secret-key', SK)
        cls.kv, archived = clients(cls.server.port)
        cls.archived = staticmethod(archived)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_session_url_shape_and_errors(self):
        from botocore.exceptions import ClientError
        am = self.archived('kvs_mid_gop')
        start = datetime.datetime.fromtimestamp(BASE - 1, datetime.timezone.utc)
        end = start + datetime.timedelta(hours=1)
        out = am.get_hls_streaming_session_url(
            StreamName='kvs_mid_gop', PlaybackMode='ON_DEMAND', ContainerFormat='FRAGMENTED_MP4',
            HLSFragmentSelector={'FragmentSelectorType': 'SERVER_TIMESTAMP',
                                 'TimestampRange': {'StartTimestamp': start, 'EndTimestamp': end}},
            Expires=600, MaxMediaPlaylistFragmentResults=2, DisplayFragmentTimestamp='ALWAYS')
        self.assertEqual(out['ResponseMetadata']['HTTPStatusCode'], 200)
        url = out['HLSStreamingSessionURL']
        self.assertRegex(url, r'^%s/hls/v1/getHLSMasterPlaylist\.m3u8\?SessionToken=[A-Za-z0-9_-]+$'
                         % re.escape(self.server.url))
        tags, segments = playlist(get(media_playlist_url(url))[2])
        self.assertEqual(len(segments), 2)  # MaxMediaPlaylistFragmentResults
        arn = 'arn:aws:kinesisvideo:%s:000000000000:stream/kvs_mid_gop/0' % REGION
        self.assertIn('HLSStreamingSessionURL', am.get_hls_streaming_session_url(
            StreamARN=arn, PlaybackMode='LIVE'))

        def error(**kw):
            with self.assertRaises(ClientError) as e:
                am.get_hls_streaming_session_url(**kw)
            return e.exception.response['Error']['Code'], e.exception.response['ResponseMetadata']['HTTPStatusCode']
        rng = {'StartTimestamp': start, 'EndTimestamp': end}
        self.assertEqual(error(StreamName='no_such_stream'), ('ResourceNotFoundException', 404))
        self.assertEqual(error(StreamName='kvs_mid_gop', PlaybackMode='ON_DEMAND'),
                         ('InvalidArgumentException', 400))
        self.assertEqual(error(StreamName='kvs_mid_gop', PlaybackMode='LIVE',
                               HLSFragmentSelector={'TimestampRange': rng}),
                         ('InvalidArgumentException', 400))
        self.assertEqual(error(StreamName='kvs_mid_gop', PlaybackMode='LIVE_REPLAY'),
                         ('InvalidArgumentException', 400))
        self.assertEqual(error(StreamName='kvs_mid_gop', ContainerFormat='MPEG_TS'),
                         ('InvalidArgumentException', 400))
        later = {'StartTimestamp': end, 'EndTimestamp': end + datetime.timedelta(hours=1)}
        self.assertEqual(error(StreamName='kvs_mid_gop', PlaybackMode='ON_DEMAND',
                               HLSFragmentSelector={'FragmentSelectorType': 'PRODUCER_TIMESTAMP',
                                                    'TimestampRange': later}),
                         ('ResourceNotFoundException', 404))
        # out of KVS's bounds, which botocore does not check itself
        self.assertEqual(error(StreamName='kvs_mid_gop', Expires=43201), ('InvalidArgumentException', 400))
        self.assertEqual(error(StreamName='kvs_mid_gop', MaxMediaPlaylistFragmentResults=5001),
                         ('InvalidArgumentException', 400))

    def test_playlists_against_list_fragments(self):
        """Every fragment is one segment, in order: EXTINF its length,
        EXT-X-PROGRAM-DATE-TIME its timestamp of the selector's kind, as
        botocore's ListFragments has them."""
        for stream in ['kvs_resolution_change', 'kvs_mid_gop', 'audio_video']:
            for kind in ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP']:
                with self.subTest(stream=stream, selector=kind):
                    am = self.archived(stream)
                    listed = sorted(am.list_fragments(StreamName=stream, MaxResults=1000)['Fragments'],
                                    key=lambda f: int(f['FragmentNumber']))
                    start = datetime.datetime.fromtimestamp(BASE - 1, datetime.timezone.utc)
                    url = am.get_hls_streaming_session_url(
                        StreamName=stream, PlaybackMode='ON_DEMAND', DisplayFragmentTimestamp='ALWAYS',
                        HLSFragmentSelector={'FragmentSelectorType': kind, 'TimestampRange': {
                            'StartTimestamp': start, 'EndTimestamp': start + datetime.timedelta(hours=1)}}
                    )['HLSStreamingSessionURL']
                    status, headers, master = get(url)
                    self.assertEqual(status, 200)
                    self.assertIn('#EXT-X-STREAM-INF:BANDWIDTH=', master.decode())
                    tags, segments = playlist(get(media_playlist_url(url))[2])
                    self.assertEqual(tags['#EXT-X-ENDLIST'], [''])
                    self.assertEqual(tags['#EXT-X-PLAYLIST-TYPE'], ['VOD'])
                    self.assertEqual(len(segments), len(listed))
                    target = int(tags['#EXT-X-TARGETDURATION'][0])
                    stamp = 'ProducerTimestamp' if kind == 'PRODUCER_TIMESTAMP' else 'ServerTimestamp'
                    for seg, f in zip(segments, listed):
                        query = urllib.parse.parse_qs(urllib.parse.urlparse(seg['uri']).query)
                        self.assertEqual(query['FragmentNumber'], [f['FragmentNumber']])
                        self.assertEqual(query['TrackNumber'], ['1'])
                        self.assertEqual(seg['duration'], f['FragmentLengthInMilliseconds'] / 1000)
                        self.assertLessEqual(round(seg['duration']), target)
                        self.assertEqual(seg['time'], f[stamp])
                    # KVS's default DiscontinuityMode: ALWAYS with server timestamps,
                    # NEVER with producer ones (but where the tracks change)
                    flagged = sum(1 for s in segments if s.get('discontinuity'))
                    if kind == 'SERVER_TIMESTAMP':
                        self.assertEqual(flagged, len(segments) - 1)
                    elif stream != 'kvs_resolution_change':
                        self.assertEqual(flagged, 0)
                    else:
                        self.assertGreater(flagged, 0)
                        self.assertGreater(len(tags['#EXT-X-MAP']), 1)

    def test_on_discontinuity(self):
        """DiscontinuityMode ON_DISCONTINUITY flags the gaps of more than 50 ms that
        ListFragments shows (output_get_media_sparse_fragments: 2 s), and not
        fragments that follow on within a frame (lengths run to the last frame)."""
        names = ['kvs_mid_gop', 'audio_video', 'kvs_unknown_size_8byte', 'kvs_resolution_change']
        names += [n for n in ['clusters', 'output_get_media', 'output_get_media_sparse_fragments']
                  if os.path.isfile(os.path.join(self.server_root, n + '.mkv'))]
        checked = {'gaps': 0, 'contiguous': 0}
        for stream in names:
            with self.subTest(stream=stream):
                am = self.archived(stream)
                listed = sorted(am.list_fragments(StreamName=stream, MaxResults=1000)['Fragments'],
                                key=lambda f: int(f['FragmentNumber']))
                start = datetime.datetime.fromtimestamp(BASE - 1, datetime.timezone.utc)
                url = am.get_hls_streaming_session_url(
                    StreamName=stream, PlaybackMode='ON_DEMAND', DiscontinuityMode='ON_DISCONTINUITY',
                    HLSFragmentSelector={'FragmentSelectorType': 'PRODUCER_TIMESTAMP', 'TimestampRange': {
                        'StartTimestamp': start, 'EndTimestamp': start + datetime.timedelta(hours=1)}}
                )['HLSStreamingSessionURL']
                tags, segments = playlist(get(media_playlist_url(url))[2])
                maps = 0
                for k in range(1, len(listed)):
                    a, b = listed[k - 1], listed[k]
                    gap = (b['ProducerTimestamp'] - a['ProducerTimestamp']).total_seconds() * 1000 \
                        - a['FragmentLengthInMilliseconds']
                    flagged = segments[k].get('discontinuity', False)
                    if stream == 'kvs_resolution_change' and flagged:
                        maps += 1  # the tracks change there: flagged in every mode
                    elif gap > 1000:
                        self.assertTrue(flagged, (k, gap))
                        checked['gaps'] += 1
                    elif 0 < gap <= 100:
                        self.assertFalse(flagged, (k, gap))
                        checked['contiguous'] += 1
        self.assertGreater(checked['contiguous'], 0)
        if 'output_get_media_sparse_fragments' in names:
            self.assertEqual(checked['gaps'], 2)

    def test_endpoint_errors(self):
        url = self.archived('kvs_mid_gop').get_hls_streaming_session_url(
            StreamName='kvs_mid_gop', PlaybackMode='LIVE')['HLSStreamingSessionURL']
        base = url.split('getHLSMasterPlaylist')[0]
        token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)['SessionToken'][0]
        status, headers, _ = get(base + 'getHLSMasterPlaylist.m3u8?SessionToken=' + token[:-1] + 'x')
        self.assertEqual((status, headers['x-amzn-ErrorType']), (400, 'InvalidArgumentException:'))
        status, headers, _ = get(base + 'getMP4MediaFragment.mp4?SessionToken=%s&FragmentNumber=12' % token)
        self.assertEqual((status, headers['x-amzn-ErrorType']), (404, 'ResourceNotFoundException:'))
        # the token's last field is its expiry (ms); one in the past is refused
        expired = re.sub(r'-\d+$', '-%d' % (BASE * 1000), token)
        status, headers, _ = get(base + 'getHLSMediaPlaylist.m3u8?SessionToken=' + expired)
        self.assertEqual((status, headers['x-amzn-ErrorType']), (403, 'ExpiredTokenException:'))
        # what a web page needs to call the server: CORS on answers and preflights
        self.assertEqual(get(url)[1]['Access-Control-Allow-Origin'], '*')
        pre = urllib.request.Request(self.server.url + '/getHLSStreamingSessionURL', method='OPTIONS', headers={
            'Origin': 'null', 'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type'})
        with urllib.request.urlopen(pre, timeout=TIMEOUT) as r:
            self.assertEqual(r.status, 204)
            self.assertIn('POST', r.headers['Access-Control-Allow-Methods'])
            self.assertEqual(r.headers['Access-Control-Allow-Headers'], '*')
        status, headers, body = get(base + 'getMP4InitFragment.mp4?SessionToken=%s&TrackNumber=1' % token)
        self.assertEqual((status, headers['Content-Type']), (200, 'video/mp4'))
        self.assertEqual(body[4:8], b'ftyp')
        self.assertNotIn(b'moof', body)


class Ffmpeg(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = kvsp_server.KvspServer(KVSP, root())

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def streams(self):
        names = list(FIXTURES)
        if CAPTURES and os.path.isfile(os.path.join(CAPTURES, 'output_get_media.mkv')):
            names.append('output_get_media')
        else:
            kvsp_testing.skipped_part('captures absent: fixtures only')
        return names

    def test_on_demand_frames_equal_the_file(self):
        for stream in self.streams():
            with self.subTest(stream=stream):
                status, out = post(self.server.url, 'getHLSStreamingSessionURL', on_demand(stream))
                self.assertEqual(status, 200, out)
                url = out['HLSStreamingSessionURL']
                for args in [VIDEO_COPY, VIDEO_DECODED]:
                    expected = framemd5(source(stream), args)
                    self.assertTrue(expected)
                    self.assertEqual(framemd5(url, args), expected, args)
                # each segment where its fragment lies: the file's times, which go on
                # (as the served stream's producer timestamps do) where the file's restart
                times = video_times(url)
                if stream == 'kvs_restart_at_zero':
                    self.assertEqual(times, sorted(set(times)))
                else:
                    self.assertEqual(times, video_times(source(stream)))
                if stream == 'audio_video':
                    audio = ['-map', '0:a', '-c', 'copy']
                    self.assertEqual(framemd5(url, audio), framemd5(source(stream), audio))

    def test_live_from_its_first_segment(self):
        stream = 'kvs_resolution_change'
        with kvsp_server.KvspServer(KVSP, root(), '--live') as live:
            status, out = post(live.url, 'getHLSStreamingSessionURL', {
                'StreamName': stream, 'PlaybackMode': 'LIVE', 'MaxMediaPlaylistFragmentResults': 5000})
            self.assertEqual(status, 200, out)
            got = framemd5(out['HLSStreamingSessionURL'], '-live_start_index', '0', VIDEO_COPY)
        self.assertEqual(got, framemd5(source(stream), VIDEO_COPY))


class Live(unittest.TestCase):
    def test_playlist_slides_and_ends(self):
        stream = 'kvs_mid_gop'
        with kvsp_server.KvspServer(KVSP, root(), '--live') as live:
            status, out = post(live.url, 'getHLSStreamingSessionURL', {
                'StreamName': stream, 'PlaybackMode': 'LIVE', 'MaxMediaPlaylistFragmentResults': 1,
                'HLSFragmentSelector': {'FragmentSelectorType': 'PRODUCER_TIMESTAMP'}})
            self.assertEqual(status, 200, out)
            media = media_playlist_url(out['HLSStreamingSessionURL'])
            seen = []

            def step():
                tags, segments = playlist(get(media)[2])
                self.assertLessEqual(len(segments), 1)
                entry = (int(tags['#EXT-X-MEDIA-SEQUENCE'][0]), segments[0]['uri'], '#EXT-X-ENDLIST' in tags)
                if not seen or seen[-1] != entry:
                    seen.append(entry)
                return entry[2]
            waiting.until(step, 'the LIVE playlist to end')
        with kvsp_server.KvspServer(KVSP, root()) as whole:  # every fragment, released or not
            status, listed = post(whole.url, 'listFragments', {'StreamName': stream})
        numbers = [f['FragmentNumber'] for f in sorted(listed['Fragments'], key=lambda f: int(f['FragmentNumber']))]
        self.assertEqual([s for s, _, _ in seen], list(range(len(numbers))), seen)
        self.assertEqual([urllib.parse.parse_qs(urllib.parse.urlparse(u).query)['FragmentNumber'][0]
                          for _, u, _ in seen], numbers)
        self.assertEqual([e for _, _, e in seen], [False] * (len(numbers) - 1) + [True])

    def test_live_replay_from_its_start(self):
        """LIVE_REPLAY from the second fragment: the playlist begins there and
        adds the next ones as the earlier ones' time passes, then ends."""
        stream = 'kvs_mid_gop'
        with kvsp_server.KvspServer(KVSP, root()) as server:
            status, listed = post(server.url, 'listFragments', {'StreamName': stream})
            listed = sorted(listed['Fragments'], key=lambda f: int(f['FragmentNumber']))
            status, out = post(server.url, 'getHLSStreamingSessionURL', {
                'StreamName': stream, 'PlaybackMode': 'LIVE_REPLAY', 'MaxMediaPlaylistFragmentResults': 1,
                'HLSFragmentSelector': {'FragmentSelectorType': 'PRODUCER_TIMESTAMP', 'TimestampRange': {
                    'StartTimestamp': listed[1]['ProducerTimestamp']}}})
            self.assertEqual(status, 200, out)
            media = media_playlist_url(out['HLSStreamingSessionURL'])
            seen = []

            def step():
                tags, segments = playlist(get(media)[2])
                self.assertNotIn('#EXT-X-PLAYLIST-TYPE', tags)
                number = urllib.parse.parse_qs(urllib.parse.urlparse(segments[0]['uri']).query)['FragmentNumber'][0]
                if not seen or seen[-1][0] != number:
                    seen.append((number, '#EXT-X-ENDLIST' in tags))
                return '#EXT-X-ENDLIST' in tags
            waiting.until(step, 'the LIVE_REPLAY playlist to end')
        self.assertEqual(seen, [(f['FragmentNumber'], i == len(listed) - 2) for i, f in enumerate(listed[1:])])


PAGE = """<!doctype html><html><head><script src="%(hlsjs)s"></script></head><body>
<video id="playerElement" muted playsinline></video><canvas id="canvas"></canvas>
<script>
// The developer guide's hls.js example, without an AWS SDK (kvsp serve runs without keys):
// GetDataEndpoint, GetHLSStreamingSessionURL, then hls.js plays the session URL. Reports once
// currentTime has advanced (or an error) to the test's server on 127.0.0.1.
const streamName = '%(stream)s', mode = '%(mode)s', selector = '%(selector)s';
let done = false;
function report(state) {
  if (done) return;
  done = true;
  new Image().src = '%(report)s?' + encodeURIComponent(JSON.stringify(state));
}
async function call(url, body) {
  const r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                              body: JSON.stringify(body)});
  const answer = await r.json();
  if (!r.ok) throw new Error(url + ': ' + r.status + ' ' + JSON.stringify(answer));
  return answer;
}
function picture(video) {  // the mean and largest brightness of the frame shown
  const canvas = document.getElementById('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext('2d');
  g.drawImage(video, 0, 0);
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, max = 0;
  for (let i = 0; i < d.length; i += 4) {
    const y = (d[i] + d[i + 1] + d[i + 2]) / 3;
    sum += y;
    max = Math.max(max, y);
  }
  return {mean: sum / (d.length / 4), max: max};
}
(async () => {
  const video = document.getElementById('playerElement');
  const ep = await call('%(endpoint)s/getDataEndpoint',
                        {StreamName: streamName, APIName: 'GET_HLS_STREAMING_SESSION_URL'});
  const params = {StreamName: streamName, PlaybackMode: mode,
                  HLSFragmentSelector: {FragmentSelectorType: selector}};
  if (mode === 'ON_DEMAND')
    params.HLSFragmentSelector.TimestampRange = {StartTimestamp: %(start)d, EndTimestamp: %(end)d};
  const session = await call(ep.DataEndpoint + '/getHLSStreamingSessionURL', params);
  if (!Hls.isSupported()) return report({error: 'Hls.isSupported() is false'});
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (event, data) => {
    if (data.fatal) report({error: 'hls.js: ' + data.type + ' ' + data.details});
  });
  hls.loadSource(session.HLSStreamingSessionURL);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(e => report({error: 'play: ' + e})));
  let start = null;
  video.addEventListener('timeupdate', () => {
    if (start === null) { start = video.currentTime; return; }
    if (video.currentTime < start + %(advance)s) return;
    report({start: start, later: video.currentTime, width: video.videoWidth,
            height: video.videoHeight, picture: picture(video)});
  });
})().catch(e => report({error: String(e)}));
</script></body></html>"""


def hls_js():
    """hls.js from the npm registry, installed once into NPM_CACHE."""
    path = os.path.join(NPM_CACHE, 'node_modules', 'hls.js', 'dist', 'hls.min.js')
    if not os.path.isfile(path):
        npm = shutil.which('npm')
        if not npm:
            kvsp_testing.skip('npm not installed (hls.js comes from the npm registry)')
        os.makedirs(NPM_CACHE, exist_ok=True)
        out = subprocess.run([npm, 'install', '--no-audit', '--no-fund', '--no-save', '--prefix',
                              NPM_CACHE, 'hls.js@1'], capture_output=True, timeout=600)
        if out.returncode != 0 or not os.path.isfile(path):
            kvsp_testing.skip('npm install hls.js failed: ' + out.stderr.decode()[-500:])
    return path


class Browser(unittest.TestCase):
    """Page from file://, hls.js from the npm cache, kvsp serve and the report server on
    127.0.0.1; the test waits for the report up to waiting.HANG_S."""

    def play(self, server, stream, mode, advance, selector):
        page = os.path.join(TMP, 'page_%s_%s.html' % (stream, mode))
        with headless_page.ReportServer() as reports:
            with open(page, 'w') as f:
                f.write(PAGE % {'hlsjs': 'file://' + HLS_JS, 'stream': stream, 'mode': mode,
                                'selector': selector, 'endpoint': server.url, 'start': BASE - 1,
                                'end': BASE + 3600, 'advance': advance, 'report': reports.url})
            reported, err = headless_page.run_page(CHROMIUM, page, TMP, reports)
        self.assertTrue(reported, 'no report from the page in %d s: %s' % (waiting.HANG_S, err))
        state = reports.reports[0]
        print('%s %s: %s' % (stream, mode, json.dumps(state)), flush=True)
        self.assertNotIn('error', state, state)
        self.assertGreater(state['later'], state['start'], state)
        # not black: a camera picture, as ffmpeg decodes the file, is far from it
        self.assertGreater(state['picture']['mean'], 20, state)
        self.assertGreater(state['picture']['max'], 60, state)
        return state

    def stream(self):
        if CAPTURES and os.path.isfile(os.path.join(CAPTURES, 'clusters.mkv')):
            return 'clusters', 2.5  # past its first fragment (2 s)
        kvsp_testing.skipped_part('captures absent: a fixture instead of clusters.mkv')
        return 'kvs_mid_gop', 1.5

    def test_on_demand(self):
        stream, advance = self.stream()
        with kvsp_server.KvspServer(KVSP, root()) as server:
            # producer timestamps: no discontinuity tags (KVS's default), so the player
            # places each segment by its own times (tfdt), which must follow on
            state = self.play(server, stream, 'ON_DEMAND', advance, 'PRODUCER_TIMESTAMP')
        size = subprocess.run(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                               'stream=width,height', '-of', 'csv=p=0', source(stream)],
                              capture_output=True, text=True, timeout=TIMEOUT).stdout.split()[0]
        self.assertEqual('%d,%d' % (state['width'], state['height']), size)

    def test_live(self):
        stream, advance = self.stream()
        with kvsp_server.KvspServer(KVSP, root(), '--live') as server:
            self.play(server, stream, 'LIVE', advance, 'SERVER_TIMESTAMP')


CHROMIUM = HLS_JS = None

if __name__ == '__main__':
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    KVSP, RESOURCES, CAPTURES, NPM_CACHE, part = sys.argv[1:]
    KVSP = os.path.abspath(KVSP)
    CAPTURES = CAPTURES if CAPTURES and os.path.isdir(CAPTURES) else None
    try:
        import botocore  # noqa: F401
    except ImportError:
        kvsp_testing.skip('botocore not installed (python3-botocore)')
    for tool in ['ffprobe', 'ffmpeg']:
        if not shutil.which(tool):
            kvsp_testing.skip('%s not installed' % tool)
    if part == 'Browser':
        CHROMIUM = shutil.which('chromium')
        if not CHROMIUM:
            kvsp_testing.skip('chromium not installed')
        HLS_JS = hls_js()
    with tempfile.TemporaryDirectory() as TMP:
        kvsp_testing.main(argv=[sys.argv[0], part], verbosity=2)
