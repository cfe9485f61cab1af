#!/usr/bin/env python3
"""The resilient live consumer (kvsp fragments --stream, src/client/consumer*.c)
against kvsp serve --live with fault injection, on loopback.

Every check compares the fragment numbers the consumer delivered with the
ones the server has: in order, none missing, none twice.

  CutOffsets   50 connections dropped at 50 byte offsets of 50 fragments:
               inside EBML headers, Segment headers, Info/Tracks, both Tags,
               Cluster and block headers, frame payloads, and on element and
               fragment boundaries
  CleanEnds    responses that end cleanly mid-fragment are resumed; a clean
               end after a whole fragment ends a read without --follow;
               --follow reads on after clean ends
  Throttling   every 3rd request throttled: backs off and completes; a wrong
               secret (403) exits 3 at once
  ErrorTag     an AWS_KINESISVIDEO_ERROR_ID 4000 fragment is reported with the
               fragment it names, exit 3, the fragments before it delivered
  ManyStreams  50 live streams in one process on one thread
  Checkpoint   --checkpoint FILE across a SIGTERM: no fragment lost or repeated
  LongNumbers  fragment numbers of 128 digits (the most KVS allows) through
               ListFragments, GetMediaForFragmentList (their tags read by
               mkvinfo), a resume after a cut, and a checkpoint

usage: consumer_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import consumer_streams  # noqa: E402
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = None
AK, SK = 'AKIDCONSUMERTEST', 'consumer/test/secret/key/EXAMPLEKEY'
TIMEOUT = 60  # seconds, for any one subprocess


class Server(kvsp_server.KvspServer):
    """kvsp serve over root, with the test keys unless keys=False."""

    def __init__(self, root, *args, keys=True):
        auth = ['--access-key', AK, '--secret-key', SK] if keys else []
        super().__init__(KVSP, root, *auth, *args, timeout=TIMEOUT)


def env(home, secret=SK):
    e = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    e.update(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION='us-west-2',
             AWS_EC2_METADATA_DISABLED='true', HOME=home)
    return e


def kvsp(server, home, *args, secret=SK, timeout=TIMEOUT):
    return subprocess.run([KVSP, *args, '--endpoint-url', server.url], capture_output=True,
                          timeout=timeout, env=env(home, secret))


def json_lines(data):
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def stream_args(names):
    return [a for n in names for a in ('--stream', n)]


class Fixture(unittest.TestCase):
    """A fresh directory of streams per test class."""
    STREAMS = {}  # name -> (fragments, fragment_ms)

    @classmethod
    def setUpClass(cls):
        cls.home = tempfile.mkdtemp(prefix='kvsp-consumer-')  # HOME, checkpoints, payloads
        cls.root = os.path.join(cls.home, 'streams')  # what the servers serve
        os.mkdir(cls.root)
        for name, (count, ms) in cls.STREAMS.items():
            consumer_streams.make_stream(os.path.join(cls.root, name + '.mkv'), count, ms)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)

    def reference(self, stream):
        """The stream as a server without faults sends it from EARLIEST:
        its fragments (kvsp fragments of the payload) and inspect events."""
        with Server(self.root) as s:
            path = os.path.join(self.home, 'reference-%s.mkv' % stream)
            r = kvsp(s, self.home, 'get-media', '--stream', stream, '--start', 'earliest', '-o', path)
            self.assertEqual(r.returncode, 0, r.stderr)
        frags = json_lines(subprocess.run([KVSP, 'fragments', path], capture_output=True,
                                          timeout=TIMEOUT, check=True).stdout)
        events = json_lines(subprocess.run([KVSP, 'inspect', '--json', path], capture_output=True,
                                           timeout=TIMEOUT, check=True).stdout)
        os.unlink(path)
        return frags, events

    def assertSameFragments(self, got, want, what=''):
        numbers = [f['fragment_number'] for f in got]
        self.assertEqual(len(numbers), len(set(numbers)), 'a fragment came twice ' + what)
        self.assertEqual(numbers, [f['fragment_number'] for f in want], what)
        # whole fragments: every frame of each one
        self.assertEqual([f['frames'] for f in got], [f['frames'] for f in want], what)
        self.assertTrue(all(f['complete'] and f['continuation_token'] for f in got))


def fragment_points(events, lo, hi):
    """Byte offsets inside one fragment of the reference payload (relative to
    its first byte, lo; it ends at hi), by kind. Offsets after the closing MILLIS_BEHIND_NOW
    value may move by a few bytes live (the value's length varies); those
    are taken in the middle of a 35- or 47-byte string so that they stay in
    it."""
    evs = [e for e in events if lo <= e['offset'] < hi and e['event'] in ('start', 'data')]
    ends = {(e['name'], e['offset']): e['end_offset'] for e in events
            if e['event'] == 'end' and lo <= e['offset'] < hi}

    def first(name, after=0, value=None):
        for e in evs:
            if e['name'] == name and e['offset'] >= after and (value is None or e.get('value') == value):
                return e
        return None

    def data_at(e, frac=0.5):
        return e['offset'] + e['header_size'] + int(e['size'] * frac)

    p = {}
    ebml, segment = first('EBML'), first('Segment')
    assert ebml['offset'] == lo, (ebml, lo)
    p['fragment boundary'] = lo
    p['EBML header ID'] = ebml['offset'] + 2
    p['EBML header size'] = ebml['offset'] + 7
    p['EBMLVersion'] = first('EBMLVersion')['offset'] + 1
    p['DocType value'] = data_at(first('DocType'))
    p['DocTypeReadVersion'] = first('DocTypeReadVersion')['offset'] + 3
    p['between EBML header and Segment'] = segment['offset']
    p['Segment ID'] = segment['offset'] + 3
    p['Segment unknown size'] = segment['offset'] + 8
    p['Info header'] = first('Info')['offset'] + 6
    p['TimestampScale'] = first('TimestampScale')['offset'] + 2
    p['MuxingApp value'] = data_at(first('MuxingApp'))
    p['Tracks header'] = first('Tracks')['offset'] + 4
    p['TrackEntry header'] = first('TrackEntry')['offset'] + 5
    p['CodecID value'] = data_at(first('CodecID'))
    p['Video PixelWidth'] = first('PixelWidth')['offset'] + 1
    head = first('Tags')
    p['head Tags ID'] = head['offset'] + 1
    p['head Tags size'] = head['offset'] + 9
    p['head Tag header'] = first('Tag', head['offset'])['offset'] + 4
    p['head SimpleTag header'] = first('SimpleTag', head['offset'])['offset'] + 6
    p['FRAGMENT_NUMBER name'] = data_at(first('TagName', value='AWS_KINESISVIDEO_FRAGMENT_NUMBER'))
    number = first('TagString', head['offset'])
    p['fragment number value'] = data_at(number)
    p['fragment number last digit'] = data_at(number, 1) - 1
    p['SERVER_TIMESTAMP value'] = data_at(first('TagName', value='AWS_KINESISVIDEO_SERVER_TIMESTAMP')) + 20
    cluster = first('Cluster')
    p['between head Tags and Cluster'] = cluster['offset']
    p['Cluster ID'] = cluster['offset'] + 2
    p['Cluster size'] = cluster['offset'] + 6
    p['Cluster Timestamp'] = first('Timestamp', cluster['offset'])['offset'] + 1
    blocks = [e for e in evs if e['name'] == 'SimpleBlock']
    b0, b1 = blocks[0], blocks[1]
    p['first SimpleBlock (boundary)'] = b0['offset']
    p['SimpleBlock size'] = b0['offset'] + 2
    p['block track number'] = b0['offset'] + b0['header_size']
    p['block timecode'] = b0['offset'] + b0['header_size'] + 2
    p['block flags'] = b0['offset'] + b0['header_size'] + 3
    p['first frame byte'] = b0['offset'] + b0['header_size'] + 4
    p['keyframe middle'] = data_at(b0)
    p['frame last byte'] = data_at(b0, 1) - 1
    p['between two blocks'] = b1['offset']
    big = [b for b in blocks if b['size'] > 65536]
    if big:
        p['inside a 64 KiB+ frame'] = data_at(big[0], 0.7)
    group = first('BlockGroup')
    if group:
        p['BlockGroup header'] = group['offset'] + 1
        p['Block header in a BlockGroup'] = first('Block', group['offset'])['offset'] + 2
        p['BlockDuration'] = first('BlockDuration', group['offset'])['offset'] + 1
    cluster_end = ends[('Cluster', cluster['offset'])]
    p['between Cluster and closing Tags'] = cluster_end
    closing = first('Tags', cluster_end)
    p['closing Tags ID'] = closing['offset'] + 3
    p['closing Tags size'] = closing['offset'] + 10
    p['MILLIS_BEHIND_NOW name'] = data_at(first('TagName', cluster_end, 'AWS_KINESISVIDEO_MILLIS_BEHIND_NOW'))
    millis = first('TagString', cluster_end)
    p['MILLIS_BEHIND_NOW value'] = millis['offset'] + millis['header_size']
    p['CONTINUATION_TOKEN name'] = data_at(first('TagName', cluster_end, 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'))
    p['continuation token value'] = data_at(first('TagString', millis['offset'] + 1))
    assert all(lo <= v < hi for v in p.values()), p
    return {k: v - lo for k, v in p.items()}


def choose_points(frags, events, count, kinds=None):
    """count (fragment index, offset, kind): one per fragment from fragment
    0 on, going round the kinds (those the fragment has) so that each comes
    up before any comes again."""
    # a fragment's bytes start with its EBML header, where the one before ends
    every = [fragment_points(events, frags[k - 1]['end_offset'] if k else 0, frag['end_offset'])
             for k, frag in enumerate(frags[:count])]
    if kinds is None:
        kinds = list(dict.fromkeys(n for points in every for n in points))
    # the kinds few fragments have first, so that they get one
    kinds = sorted(kinds, key=lambda n: sum(n in points for points in every))
    chosen, pending, used = [], [], {}
    for k, points in enumerate(every):
        if not pending:
            pending = list(kinds)
        here = [n for n in pending if n in points]
        kind = here[0] if here else min((n for n in kinds if n in points), key=lambda n: used.get(n, 0))
        if kind in pending:
            pending.remove(kind)
        used[kind] = used.get(kind, 0) + 1
        chosen.append((k, points[kind], kind))
    return chosen


class CutOffsets(Fixture):
    STREAMS = {'cuts': (60, 100)}

    def test_cut_at_50_offsets(self):
        want, events = self.reference('cuts')
        points = choose_points(want, events, 50)
        self.assertEqual(len(points), 50)
        self.assertEqual(len({(k, b) for k, b, _ in points}), 50)
        kinds = {kind for _, _, kind in points}
        self.assertGreaterEqual(len(kinds), 46, kinds)
        spec = ','.join('%d:%d' % (k, b) for k, b, _ in points)
        with Server(self.root, '--live', '--fault-cut-at', spec) as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 'cuts', '--start', 'earliest', '--verbose')
            log = s.stderr()
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertSameFragments(json_lines(r.stdout), want)
        # each point did cut a connection, and the consumer came back each time
        for k, b, kind in points:
            self.assertIn('cut at fragment %d byte %d\n' % (k, b), log, kind)
        m = re.search(rb'stream cuts: (\d+) fragments, .* (\d+) reconnects', r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertEqual(int(m.group(1)), len(want))
        self.assertGreaterEqual(int(m.group(2)), 50)


class CleanEnds(Fixture):
    STREAMS = {'ends': (24, 100)}
    MID_FRAGMENT = ['between EBML header and Segment', 'Info header', 'head Tags size',
                    'between head Tags and Cluster', 'Cluster size', 'first SimpleBlock (boundary)',
                    'keyframe middle', 'between two blocks', 'BlockGroup header',
                    'between Cluster and closing Tags', 'MILLIS_BEHIND_NOW value',
                    'continuation token value']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.want = cls.events = None

    def ref(self):
        if CleanEnds.want is None:
            CleanEnds.want, CleanEnds.events = self.reference('ends')
        return CleanEnds.want, CleanEnds.events

    def test_clean_ends_mid_fragment_are_resumed(self):
        """Not --follow: a response that ends cleanly inside a fragment (at an
        element boundary or inside an element) is not the end of the read."""
        want, events = self.ref()
        points = choose_points(want, events, 20, self.MID_FRAGMENT)
        self.assertEqual({kind for _, _, kind in points}, set(self.MID_FRAGMENT))
        spec = ','.join('%d:%d' % (k, b) for k, b, _ in points)
        with Server(self.root, '--live', '--fault-end-at', spec) as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 'ends', '--start', 'earliest')
            log = s.stderr()
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertSameFragments(json_lines(r.stdout), want)
        self.assertEqual(log.count('GetMedia of ends ended at fragment'), len(points), log)

    def test_clean_end_after_a_fragment_ends_the_read(self):
        want, _ = self.ref()
        with Server(self.root, '--live', '--fault-end-at', '5:0') as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 'ends', '--start', 'earliest')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertSameFragments(json_lines(r.stdout), want[:5])

    def test_follow_reads_on_after_clean_ends(self):
        """--follow: every fragment once, then it goes on asking for more until
        SIGTERM: three more GetMedia after the last fragment, so that two of
        them were answered with nothing new. stdout and stderr share one pipe:
        fragments and requests come in the order the consumer wrote them."""
        want, _ = self.ref()
        with Server(self.root, '--live', '--fault-end-at', '3:0,9:0,10:0') as s:
            p = subprocess.Popen([KVSP, 'fragments', '--stream', 'ends', '--start', 'earliest', '--follow',
                                  '--verbose', '--endpoint-url', s.url], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, env=env(self.home))
            try:
                lines, got, asked_after = waiting.Lines(p.stdout), [], 0
                while asked_after < 3 and len(got) <= len(want):
                    line = lines.next()
                    self.assertIsNotNone(line, 'the consumer stopped after %d fragments' % len(got))
                    if line.startswith(b'{'):
                        got.append(json.loads(line))
                        asked_after = 0  # count the requests after the latest fragment
                    elif b'/getMedia' in line and len(got) == len(want):
                        asked_after += 1
                self.assertIsNone(p.poll())
                p.send_signal(signal.SIGTERM)
                out, _ = p.communicate(timeout=15)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        out = lines.buffer + out
        self.assertEqual(p.returncode, 0, out.decode())
        self.assertFalse([l for l in out.splitlines() if l.startswith(b'{')], out.decode())
        self.assertSameFragments(got, want)


class Throttling(Fixture):
    STREAMS = {'t%d' % i: (15, 100) for i in range(4)}

    def test_every_third_request_throttled(self):
        names = sorted(self.STREAMS)
        wants = {n: self.reference(n)[0] for n in names}
        with Server(self.root, '--live', '--fault-limit-every', '3') as s:
            r = kvsp(s, self.home, 'fragments', *stream_args(names), '--start', 'earliest', '--verbose')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        got = json_lines(r.stdout)
        for n in names:
            self.assertSameFragments([f for f in got if f['stream'] == n], wants[n], n)
        throttled = [int(t) for t in re.findall(rb'(\d+) throttled', r.stderr)]
        self.assertEqual(len(throttled), len(names), r.stderr)
        self.assertGreater(sum(throttled), 0)

    def test_wrong_secret_stops_at_once(self):
        """A 403 is not retried, even with --follow: one request, then exit 3
        (a retry loop would show more requests, or never end)."""
        with Server(self.root, '--live') as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 't0', '--start', 'earliest', '--follow', '--verbose',
                     secret='not-the-secret', timeout=20)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b'403', r.stderr)
        self.assertNotIn(b'not-the-secret', r.stderr)
        self.assertEqual(r.stdout, b'')
        self.assertEqual(r.stderr.count(b'POST '), 1, r.stderr)


class ErrorTag(Fixture):
    STREAMS = {'err': (6, 100)}

    def test_error_id_4000_names_its_fragment(self):
        want, _ = self.reference('err')
        with Server(self.root, '--live', '--fault-error-at-fragment', '2') as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 'err', '--start', 'earliest', '--follow',
                     timeout=20)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertSameFragments(json_lines(r.stdout), want[:2])
        err = r.stderr.decode()
        named = want[2]['fragment_number']
        self.assertRegex(err, r'stream err: error tag for fragment %s .*4000.*FRAGMENT_NOT_FOUND' % named)
        self.assertIn('after fragment %s' % want[1]['fragment_number'], err)


class ManyStreams(Fixture):
    COUNT = 50

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        one = os.path.join(cls.home, 'one.mkv')
        consumer_streams.make_stream(one, 20, 100)
        cls.names = ['s%02d' % i for i in range(cls.COUNT)]
        for n in cls.names:
            os.symlink(one, os.path.join(cls.root, n + '.mkv'))

    def test_50_live_streams_on_one_thread(self):
        """Its thread count read at each fragment it delivers, while it runs
        (a fragment is written before the process can end)."""
        threads = []  # at each fragment line

        def sample(pid):
            try:
                with open('/proc/%d/status' % pid) as f:
                    threads.extend(int(l.split()[1]) for l in f if l.startswith('Threads:'))
            except OSError:  # not Linux, or already gone
                pass

        with Server(self.root, '--live') as s, tempfile.TemporaryFile() as err_file:
            p = subprocess.Popen([KVSP, 'fragments', *stream_args(self.names), '--start', 'earliest',
                                  '--endpoint-url', s.url], stdout=subprocess.PIPE, stderr=err_file,
                                 env=env(self.home))
            try:
                lines, out = waiting.Lines(p.stdout), b''
                while (line := lines.next()) is not None:
                    out += line
                    if p.poll() is None:
                        sample(p.pid)
                p.wait(timeout=TIMEOUT)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            p.stdout.close()
            err_file.seek(0)
            err = err_file.read()
            self.assertEqual(p.returncode, 0, err.decode())
            if sys.platform.startswith('linux'):
                # the fragments released after the consumer started came while it ran
                self.assertGreater(len(threads), self.COUNT)
                self.assertEqual(set(threads), {1})
            got = json_lines(out)
            for n in self.names:
                listed = json_lines(kvsp(s, self.home, 'list-fragments', '--stream', n).stdout)
                numbers = sorted((f['fragment_number'] for f in listed), key=int)
                self.assertEqual(len(numbers), 20)
                mine = [f for f in got if f['stream'] == n]
                self.assertEqual([f['fragment_number'] for f in mine], numbers, n)
                self.assertTrue(all(f['complete'] and f['frames'] for f in mine))


class Checkpoint(Fixture):
    STREAMS = {'cp': (40, 100)}

    def test_checkpoint_across_sigterm(self):
        """SIGTERM after at least 8 fragments and before the 13th, however
        fast: the first response stalls inside fragment 12 (the stall
        outlasts the test), so the read is cut short there at the latest."""
        want, _ = self.reference('cp')
        checkpoint = os.path.join(self.home, 'cp.token')
        stall = (want[11]['end_offset'] + want[12]['end_offset']) // 2
        with Server(self.root, '--live', '--fault-stall-at', '0:%d' % stall) as s:
            p = subprocess.Popen([KVSP, 'fragments', '--stream', 'cp', '--start', 'earliest', '--follow',
                                  '--checkpoint', checkpoint, '--stall-timeout', '600', '--endpoint-url', s.url],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(self.home))
            try:
                lines, first = waiting.Lines(p.stdout), []
                while len(first) < 8:
                    line = lines.next()
                    self.assertIsNotNone(line, 'the consumer stopped after %d fragments' % len(first))
                    first.append(json.loads(line))
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=15)
                out = lines.buffer + out
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertEqual(p.returncode, 0, err.decode())
            first += json_lines(out)
            self.assertGreaterEqual(len(first), 8)
            self.assertLessEqual(len(first), 12)
            with open(checkpoint) as f:
                self.assertEqual(f.read(), first[-1]['continuation_token'] + '\n')
            second = kvsp(s, self.home, 'fragments', '--stream', 'cp', '--checkpoint', checkpoint)
        self.assertEqual(second.returncode, 0, second.stderr.decode())
        self.assertSameFragments(first + json_lines(second.stdout), want)
        with open(checkpoint) as f:
            self.assertEqual(f.read(), want[-1]['continuation_token'] + '\n')


class LongNumbers(Fixture):
    STREAMS = {'long': (12, 100)}

    def test_128_digit_fragment_numbers(self):
        with Server(self.root, '--number-digits', '128', '--fault-cut-at', '5:300') as s:
            listed = kvsp(s, self.home, 'list-fragments', '--stream', 'long')
            self.assertEqual(listed.returncode, 0, listed.stderr.decode())
            numbers = [f['fragment_number'] for f in json_lines(listed.stdout)]
            self.assertEqual(len(numbers), 12)
            self.assertTrue(all(len(n) == 128 and n.isdigit() for n in numbers), numbers)
            self.assertEqual(numbers, sorted(numbers, key=int))

            payload = os.path.join(self.home, 'long-gmffl.mkv')
            r = kvsp(s, self.home, 'get-media-for-fragment-list', '--stream', 'long', '--fragments',
                     ','.join(numbers), '-o', payload)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            want = json_lines(subprocess.run([KVSP, 'fragments', payload], capture_output=True,
                                             timeout=TIMEOUT, check=True).stdout)
            self.assertEqual([f['fragment_number'] for f in want], numbers)
            # mkvinfo reads the first Segment of a file: each fragment on its own
            with open(payload, 'rb') as f:
                data = f.read()
            start = 0  # each fragment's EBML header follows the previous one's Segment
            for fragment, number in zip(want, numbers):
                piece = os.path.join(self.home, 'long-fragment.mkv')
                with open(piece, 'wb') as f:
                    f.write(data[start:fragment['end_offset']])
                start = fragment['end_offset']
                info = subprocess.run(['mkvinfo', piece], capture_output=True, timeout=TIMEOUT, check=True)
                tagged = re.findall(r'Name: AWS_KINESISVIDEO_FRAGMENT_NUMBER\n[^\n]*String: (\d+)',
                                    info.stdout.decode())
                self.assertEqual(tagged, [number])

            # Cut inside fragment 5: the consumer resumes with fragment 4's token.
            checkpoint = os.path.join(self.home, 'long.token')
            r = kvsp(s, self.home, 'fragments', '--stream', 'long', '--start', 'earliest', '--checkpoint',
                     checkpoint, '--verbose')
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertRegex(r.stderr.decode(), r'12 fragments, \d+ frames, \d+ bytes, 1 reconnects')
            got = json_lines(r.stdout)
            self.assertSameFragments(got, want)
            self.assertTrue(all(len(f['continuation_token']) == 128 for f in got))
            with open(checkpoint) as f:
                self.assertEqual(f.read(), got[-1]['continuation_token'] + '\n')

            # A checkpoint in the middle: the rest, from the fragment after it.
            with open(checkpoint, 'w') as f:
                f.write(got[6]['continuation_token'] + '\n')
            r = kvsp(s, self.home, 'fragments', '--stream', 'long', '--checkpoint', checkpoint)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            self.assertSameFragments(json_lines(r.stdout), want[7:])

        # An error tag names the fragment it replaces and the one before it.
        with Server(self.root, '--number-digits', '128', '--fault-error-at-fragment', '3') as s:
            r = kvsp(s, self.home, 'fragments', '--stream', 'long', '--start', 'earliest')
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertSameFragments(json_lines(r.stdout), want[:3])
        err = r.stderr.decode()
        lines = [line for line in err.splitlines() if 'error tag for fragment %s after fragment %s' % (
            numbers[3], numbers[2]) in line]
        self.assertEqual(len(lines), 2, err)  # the CLI's report as it came, the consumer's as it stopped


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    kvsp_testing.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
