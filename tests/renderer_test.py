#!/usr/bin/env python3
"""kvsp-render (examples/renderer) without a person or a display: SDL's dummy
video driver with the software renderer (and the offscreen driver), pictures
read back with --screenshot and compared with what `kvsp frames` decodes;
live, against `kvsp serve --live`.

usage: renderer_test.py KVSP_RENDER KVSP RESOURCES_DIR CAPTURES_DIR [TestClass ...]
(CAPTURES_DIR may be absent: the tests that need it are skipped)
"""
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest
import zlib

import kvsp_testing
import waiting

RENDER = KVSP = RESOURCES = CAPTURES = None
TMP = None
ACCESS_KEY, SECRET_KEY = 'AKIDKVSPRENDERTEST', 'kvsp/render/secret/key/for/tests/only'


def sdl_env(driver='dummy', **extra):
    e = dict(os.environ, SDL_VIDEODRIVER=driver, SDL_RENDER_DRIVER='software')
    if driver == 'offscreen':
        del e['SDL_RENDER_DRIVER']  # whatever it offers: OpenGL through EGL, or software
        # It loads EGL and a GL driver and unloads them at SDL_Quit, after
        # which LSan reports their allocations from an "<unknown module>"
        # that no suppression can name. Every other run is leak-checked.
        e['ASAN_OPTIONS'] = (e.get('ASAN_OPTIONS', '') + ':detect_leaks=0').lstrip(':')
    e.update(extra)
    return e


def render(*args, driver='dummy', env=None, stdin=None, timeout=120):
    return subprocess.run([RENDER, *args], capture_output=True, timeout=timeout,
                          env=env or sdl_env(driver), stdin=stdin)


def read_png(path):
    """(width, height, RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', path
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
    assert depth == 8 and ctype in (2, 6) and not interlace, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(idat)
    prev, rows = bytearray(stride), []
    for y in range(h):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride if kind else 0):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
        prev = line
    return w, h, b''.join(rows)


def read_ppm(path):
    with open(path, 'rb') as f:
        data = f.read()
    m = re.match(rb'P6\s+(\d+)\s+(\d+)\s+255\s', data)
    return int(m.group(1)), int(m.group(2)), data[m.end():]


def crop(image, x, y, w, h):
    width, _, rgb = image
    return w, h, b''.join(rgb[((y + r) * width + x) * 3:((y + r) * width + x + w) * 3] for r in range(h))


def mean_abs_diff(a, b):
    assert a[:2] == b[:2], (a[:2], b[:2])
    return sum(abs(x - y) for x, y in zip(a[2], b[2])) / len(a[2])


def spread(image):
    """Standard deviation of the samples: ~0 for a blank picture."""
    rgb = image[2]
    mean = sum(rgb) / len(rgb)
    return (sum((v - mean) ** 2 for v in rgb[::7]) / len(rgb[::7])) ** 0.5


_decoded = {}


def decoded(path, index, size=None):
    """Picture `index` (from 1) as `kvsp frames` decodes it (ppm, swscale)."""
    key = (path, size)
    if key not in _decoded:
        out = tempfile.mkdtemp(dir=TMP)
        args = [KVSP, 'frames', path, '-o', out, '--format', 'ppm']
        if size:
            args += ['--size', size]
        r = subprocess.run(args, capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        _decoded[key] = out
    return read_ppm(os.path.join(_decoded[key], 'frame-%06d.ppm' % index))


def shot_path(name):
    return os.path.join(TMP, name + '.png')


def titles_as_they_come(args, env=None, stdin=None):
    """kvsp-render -v ARGS: (exit status, [(time.monotonic() when it came,
    title line)] for each '| fragment' line, all of stderr). The lines are
    read as the renderer writes them: each is written when the first picture
    of a fragment is shown."""
    p = subprocess.Popen([RENDER, '-v', *args], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=env or sdl_env())
    try:
        lines, titles, err = waiting.Lines(p.stderr, timeout=120), [], b''
        while (line := lines.next()) is not None:
            err += line
            if b'| fragment' in line:
                titles.append((time.monotonic(), line.decode()))
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    return p.returncode, titles, err.decode()


def fixture(name):
    return os.path.join(RESOURCES, name + '.mkv')


def capture(name):
    path = os.path.join(CAPTURES, name + '.mkv') if CAPTURES else None
    if not path or not os.path.exists(path):
        raise unittest.SkipTest('no KVS captures')
    return path


class Offscreen(unittest.TestCase):
    def screenshot(self, path, after, *args, name=None, driver='dummy'):
        out = shot_path(name or '%s-%d' % (os.path.basename(path), after))
        r = render('--fast', '--screenshot', out, '--after', str(after), *args, path, driver=driver)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return read_png(out)

    def assert_matches(self, shot, want, tolerance):
        self.assertGreater(spread(shot), 20, 'blank picture')
        diff = mean_abs_diff(shot, want)
        if os.environ.get('KVSP_RENDER_TEST_DEBUG'):
            print(' mean abs diff %.2f (< %g)' % (diff, tolerance), end=' ', file=sys.stderr)
        self.assertLess(diff, tolerance)
        return diff

    def test_capture_at_stream_size(self):
        path = capture('output_get_media')
        shot = self.screenshot(path, 30)
        self.assertEqual(shot[:2], (640, 360))  # the window took the stream's size
        self.assert_matches(shot, decoded(path, 30), 3)
        # not just any picture of the stream
        self.assertGreater(mean_abs_diff(shot, decoded(path, 150)), 10)

    def test_capture_letterboxed(self):
        path = capture('output_get_media')
        shot = self.screenshot(path, 30, '--window', '800x600', name='letterbox')
        self.assertEqual(shot[:2], (800, 600))
        # 16:9 in 4:3: 800x450 in the middle, black bars above and below
        for bar in (crop(shot, 0, 0, 800, 75), crop(shot, 0, 525, 800, 75)):
            self.assertLess(max(bar[2]), 8)
        self.assert_matches(crop(shot, 0, 75, 800, 450), decoded(path, 30, '800x450'), 6)

    def test_pillarboxed_h265(self):
        path = fixture('h265_track')
        shot = self.screenshot(path, 5, '--window', '400x96', name='h265-pillarbox')
        self.assertEqual(shot[:2], (400, 96))
        for bar in (crop(shot, 0, 0, 120, 96), crop(shot, 280, 0, 120, 96)):
            self.assertLess(max(bar[2]), 8)
        self.assert_matches(crop(shot, 120, 0, 160, 96), decoded(path, 5), 4)

    def test_h265(self):
        path = fixture('h265_track')
        shot = self.screenshot(path, 5)
        self.assertEqual(shot[:2], (160, 96))
        self.assert_matches(shot, decoded(path, 5), 4)

    def test_resolution_change(self):
        path = fixture('kvs_resolution_change')  # 20 pictures of 160x96, then 20 of 320x192
        after = self.screenshot(path, 25, '--window', '320x192')
        self.assertEqual(after[:2], (320, 192))
        self.assert_matches(after, decoded(path, 25), 4)  # the new size, shown as it is
        before = self.screenshot(path, 5, '--window', '320x192')
        self.assert_matches(before, decoded(path, 5, '320x192'), 12)  # scaled up by SDL

    def test_stdin_like_the_file(self):
        path = fixture('h265_track')
        from_file = self.screenshot(path, 7)
        out = shot_path('stdin')
        with open(path, 'rb') as f:
            r = render('--fast', '--screenshot', out, '--after', '7', stdin=f)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(read_png(out), from_file)

    def test_offscreen_driver(self):
        path = fixture('kvs_user_tags')
        out = shot_path('offscreen')
        r = render('--fast', '--screenshot', out, '--after', '10', path, driver='offscreen')
        # The offscreen driver needs EGL; a machine without it (no Mesa) is
        # covered by the dummy-driver tests above.
        if r.returncode != 0 and (b'available' in r.stderr or b'EGL' in r.stderr or b'GL' in r.stderr):
            self.skipTest('SDL offscreen driver unusable here: %s' % r.stderr.decode().strip()[:200])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        # its renderer may be OpenGL (EGL): chroma upsampled in a shader, not by swscale
        self.assert_matches(read_png(out), decoded(path, 10), 8)

    def test_paced_by_timestamps(self):
        """Fragments of 10 pictures a second (pts 1 s apart): paced, each
        fragment's first picture comes when as much time as presentation time
        has passed since the one before (the title lines mark them); --fast
        comes well before. Measured between two events of the same run, so
        the start-up cost and the machine's speed stay out of it."""
        path = fixture('kvs_resolution_change')
        runs = {}
        for mode in ('paced', 'fast'):
            status, titles, err = titles_as_they_come(
                (['--fast'] if mode == 'fast' else []) + ['--screenshot', shot_path(mode), '--after', '21', path])
            self.assertEqual(status, 0, err)
            self.assertEqual([t.split(' | ')[1].split()[:2] for _, t in titles],
                             [['fragment', '1'], ['fragment', '2'], ['fragment', '3']])
            runs[mode] = [b - a for (a, _), (b, _) in zip(titles, titles[1:])]
        print('\nseconds between fragments shown: paced %s, fast %s (pts: 1 s apart)' % (
            ', '.join('%.3f' % g for g in runs['paced']), ', '.join('%.3f' % g for g in runs['fast'])),
            file=sys.stderr)
        for gap in runs['paced']:
            self.assertGreater(gap / 1.0, 0.9)  # not before its time (less the test's reading delay)
            self.assertLess(gap / 1.0, 2.0)     # nor at half speed
        for gap in runs['fast']:
            self.assertLess(gap / 1.0, 0.5)
        self.assertEqual(read_png(shot_path('paced')), read_png(shot_path('fast')))

    def test_title_per_fragment(self):
        r = render('--fast', '-v', '--screenshot', shot_path('title'), '--after', '35',
                   fixture('kvs_resolution_change'))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        titles = [line for line in r.stderr.decode().splitlines() if '| fragment' in line]
        self.assertEqual(len(titles), 4)  # one per fragment
        first = titles[0].split(' | ')
        self.assertTrue(first[0].endswith('kvs_resolution_change.mkv'))
        self.assertEqual(first[1], 'fragment 1 91343852333181432390000000000000000000000000001')
        self.assertEqual(first[2], '2023-11-14 22:13:20.500 UTC')  # 1700000000.500
        # MILLIS_BEHIND_NOW closes a fragment: the title has the latest seen
        self.assertIn('| 2023-11-14 22:13:21.500 UTC | 4210 ms behind now', titles[1])
        self.assertIn('| 2023-11-14 22:13:23.500 UTC | 2210 ms behind now', titles[3])

    def test_usage_and_errors(self):
        self.assertEqual(render('--window', '640').returncode, 2)
        self.assertEqual(render('--after', '0').returncode, 2)
        self.assertEqual(render('a.mkv', 'b.mkv').returncode, 2)
        r = render('--help')
        self.assertEqual(r.returncode, 0)
        self.assertIn(b'--screenshot', r.stdout)
        r = render(os.path.join(TMP, 'missing.mkv'))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'No such file', r.stderr)
        r = render('--fast', '--screenshot', shot_path('late'), '--after', '13', fixture('h265_track'))
        self.assertEqual(r.returncode, 1)  # 12 pictures only
        self.assertIn(b'ended after 12 pictures', r.stderr)
        self.assertFalse(os.path.exists(shot_path('late')))

    def test_quits_while_input_is_idle(self):
        """The decoding thread waits on a pipe that stays open; the window
        still quits at once (SDL turns SIGINT into a quit event). Once the
        renderer has shown the first fragment, taken every byte and gone to
        sleep, SIGINT; the time to quit is compared with the same renderer's
        after its input ended (the same shutdown, nothing to wait for)."""
        with open(fixture('kvs_user_tags'), 'rb') as f:
            data = f.read()
        idle = self.time_to_quit(data[:12000], close_input=False)  # part of the first fragment
        ended = self.time_to_quit(data, close_input=True)
        print('\nquit after SIGINT: %.3f s with the input idle, %.3f s after it ended' % (idle, ended),
              file=sys.stderr)
        self.assertLess(idle, ended + 1.0)  # the decoding thread polls the pipe every 100 ms

    def time_to_quit(self, data, close_input):
        """Seconds from SIGINT to the exit of kvsp-render -v - fed data,
        sent once the renderer is idle."""
        p = subprocess.Popen([RENDER, '-v', '-'], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=sdl_env())
        try:
            p.stdin.write(data)
            p.stdin.flush()
            if close_input:
                p.stdin.close()
            lines, line = waiting.Lines(p.stderr), b''
            while line is not None and b'| fragment 1' not in line:
                line = lines.next()
            self.assertIsNotNone(line, 'kvsp-render ended before showing fragment 1')
            if not close_input:
                waiting.until(lambda: unread(p.stdin) == 0, 'kvsp-render to read its input')
            waiting.until(lambda: all_asleep(p.pid), 'kvsp-render to sleep')
            t0 = time.monotonic()
            p.send_signal(signal.SIGINT)
            self.assertEqual(p.wait(timeout=waiting.HANG_S), 0)
            return time.monotonic() - t0
        finally:
            if p.poll() is None:
                p.kill()
            if not p.stdin.closed:
                p.stdin.close()
            p.stderr.close()
            p.wait()


def unread(pipe):
    """Bytes written to a pipe and not read yet (FIONREAD works on either end)."""
    return struct.unpack('i', fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b'\0\0\0\0'))[0]


def all_asleep(pid):
    """Every thread of the process is blocked (state S), none running."""
    try:
        states = []
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                states.append(f.read().rsplit(')', 1)[1].split()[0])
    except OSError:  # a thread ended while we looked
        return False
    return bool(states) and all(state == 'S' for state in states)


class Live(unittest.TestCase):
    """Against kvsp serve --live, whose --log-fragments says when each
    fragment's last byte went out (wall clock): the renderer's pictures are
    timed from those events, not from the renderer's start."""
    STREAM = 'kvs_resolution_change'  # 4 fragments released 1 s apart by kvsp serve --live

    def setUp(self):
        self.root = tempfile.mkdtemp(dir=TMP)
        shutil.copy(fixture(self.STREAM), self.root)
        self.sent_log = self.root + '-sent.log'
        self.server = subprocess.Popen([KVSP, 'serve', '--live', '--root', self.root, '--port', '0',
                                        '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY,
                                        '--log-fragments', self.sent_log],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready, _, _ = select.select([self.server.stdout], [], [], 30)
        line = self.server.stdout.readline().decode() if ready else ''
        m = re.fullmatch(r'listening on (http://127\.0\.0\.1:\d+)\n', line)
        self.assertTrue(m, 'kvsp serve did not start: %r' % line)
        self.endpoint = m.group(1)

    def tearDown(self):
        self.stop_server()

    def stop_server(self):
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if not self.server.stdout.closed:
            self.server.stdout.close()

    def sent_ms(self):
        """Stops the server (which then writes out its log): the wall-clock
        ms each fragment sent went out, in fragment order."""
        self.stop_server()
        with open(self.sent_log) as f:
            sent = [(int(number), int(us) / 1000) for us, _, number in (line.split() for line in f)]
        return [ms for _, ms in sorted(sent)]

    def env(self, secret=SECRET_KEY):
        e = sdl_env(HOME=self.root, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=secret,
                    AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true')
        for k in [k for k in e if k.startswith('AWS_') and k not in (
                'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_EC2_METADATA_DISABLED')]:
            del e[k]
        return e

    def stream(self, *args, secret=SECRET_KEY, timeout=60):
        return render('--stream', self.STREAM, '--endpoint-url', self.endpoint, *args, env=self.env(secret),
                      timeout=timeout)

    def test_first_picture_soon_after_its_fragment(self):
        """The first picture is on screen (and saved: the file's time) soon
        after its fragment went out: within half the 1 s between fragments,
        however long the renderer took to start. A renderer that waited for
        the next fragment would be a whole interval late."""
        out = shot_path('live-first')
        r = self.stream('--start', 'earliest', '--screenshot', out, '--after', '1')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        saved = os.stat(out).st_mtime_ns / 1e6
        delay = saved - self.sent_ms()[0]
        print('\nlive: first picture saved %.0f ms after its fragment went out' % delay, file=sys.stderr)
        self.assertGreater(delay, -20)  # not before (a file time lags the clock by a tick at most)
        self.assertLess(delay / 1000.0, 0.5)
        shot = read_png(out)
        self.assertGreater(spread(shot), 20)
        self.assertLess(mean_abs_diff(shot, decoded(fixture(self.STREAM), 1)), 4)

    def test_plays_fragments_as_they_arrive(self):
        """Played as the fragments come, to the last picture (of fragment 4,
        released 3 s after the server started), at the new size: the decoder
        holds no picture back waiting for more frames. The stream stays open
        (live, the renderer reads on), so a picture held back would never come:
        reaching it at all is the event, and its screenshot comes after the
        fragment went out."""
        out = shot_path('live-last')
        r = self.stream('--start', 'earliest', '--window', '320x192', '-v', '--screenshot', out, '--after', '40')
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertGreater(os.stat(out).st_mtime_ns / 1e6, self.sent_ms()[3] - 20)
        self.assertLess(mean_abs_diff(read_png(out), decoded(fixture(self.STREAM), 40)), 4)
        titles = [line for line in r.stderr.decode().splitlines() if '| fragment' in line]
        self.assertEqual(len(titles), 4)
        self.assertTrue(titles[0].startswith(self.STREAM + ' | fragment 1 '))

    def test_service_error(self):
        r = self.stream('--start', 'earliest', secret='not-the-secret')
        self.assertEqual(r.returncode, 3)
        self.assertIn(b'403', r.stderr)
        self.assertNotIn(b'not-the-secret', r.stderr)


if __name__ == '__main__':
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    RENDER, KVSP, RESOURCES = sys.argv[1:4]
    CAPTURES = sys.argv[4] if len(sys.argv) > 4 and os.path.isdir(sys.argv[4]) else None
    rest = sys.argv[5:]
    TMP = tempfile.mkdtemp(prefix='kvsp-render-')
    try:
        program = unittest.main(argv=[sys.argv[0], '-v', *rest], exit=False)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(kvsp_testing.status(program.result))
