#!/usr/bin/env python3
"""kvsp's exit status for --stream runs that cannot succeed (issue 19).

The data endpoint is made unreachable by a GetDataEndpoint server written
here (from the API reference: a JSON object with "DataEndpoint") that names
a closed loopback port or a host under .invalid (RFC 6761: never resolves).

  Unreachable  without --follow, fragments/merge/get-media exit 3 within
               the documented bound (5 attempts, at most 6.2 s of backoff),
               naming the curl error and the host on stderr
  Interrupted  SIGINT to fragments --stream --follow that delivered nothing
               (an unreachable endpoint; a stream kvsp serve does not have)
               exits non-zero
  Outputs      failed get-media / get-media-for-fragment-list leave no
               file at -o when no byte came (a temporary beside it,
               renamed on success or after some bytes)
  Verbose      --verbose logs a 404 answer as "HTTP 404 Not Found
               ResourceNotFoundException", not curl's "No error"

usage: failures_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import faulthandler
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvsp_server  # noqa: E402

KVSP = RESOURCES = None
BOUND = 6.2 + 4.0  # the documented backoff, plus connect time on a loaded machine


def closed_port():
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class EndpointServer:
    """Answers every POST with {"DataEndpoint": target}, on loopback, in a
    thread; stopped by the test."""

    def __init__(self, target):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                body = json.dumps({'DataEndpoint': target}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
        self.env.update(AWS_ACCESS_KEY_ID='AKIDFAILTEST', AWS_SECRET_ACCESS_KEY='fail/test/secret',
                        AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=self.tmp)

    def run_kvsp(self, *args, timeout=BOUND + 10):
        t0 = time.monotonic()
        p = subprocess.run([KVSP, *args], env=self.env, capture_output=True, timeout=timeout)
        return p, time.monotonic() - t0

    def interrupt(self, *args, after=2.5):
        p = subprocess.Popen([KVSP, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(after)
        ended = p.poll() is not None  # the check waits until the pipes are read
        if not ended:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        self.assertFalse(ended, 'ended before the signal: %r' % ((p.returncode, out, err),))
        return p.returncode, out.decode(), err.decode()


class Unreachable(Base):
    def check(self, target, host, reason, command):
        with EndpointServer(target) as ep:
            out = os.path.join(self.tmp, command + '.mkv')
            extra = ['-o', out] if command != 'fragments' else []
            p, took = self.run_kvsp(command, '--stream', 'cam', '--endpoint', ep.url, *extra)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 3, err)
        self.assertFalse(os.path.exists(out), 'a failed %s left %s' % (command, out))
        self.assertLess(took, BOUND, err)
        self.assertIn(host, err)
        self.assertIn(reason, err)
        self.assertEqual(p.stdout, b'')

    def test_refused(self):
        port = closed_port()
        for command in ('fragments', 'merge', 'get-media'):
            with self.subTest(command=command):
                self.check('http://127.0.0.1:%d' % port, '127.0.0.1:%d' % port, "Couldn't connect", command)

    def test_dns(self):
        for command in ('fragments', 'merge', 'get-media'):
            with self.subTest(command=command):
                self.check('http://kvsp-test.invalid', 'kvsp-test.invalid', 'resolve', command)


class Interrupted(Base):
    def test_unreachable_follow(self):
        with EndpointServer('http://127.0.0.1:%d' % closed_port()) as ep:
            status, out, err = self.interrupt('fragments', '--stream', 'cam', '--endpoint', ep.url, '--follow')
        self.assertNotEqual(status, 0, err)
        self.assertEqual(out, '')
        self.assertIn('interrupted before any fragment', err)
        # why it reconnects, said once in these seconds, not per attempt
        lines = [l for l in err.splitlines() if 'reconnecting' in l]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("Couldn't connect", lines[0])
        self.assertIn('127.0.0.1:', lines[0])

    def test_missing_stream_follow(self):
        root = os.path.join(self.tmp, 'root')
        os.mkdir(root)
        with kvsp_server.KvspServer(KVSP, root, '--live') as srv:
            p = subprocess.Popen([KVSP, 'fragments', '--stream', 'nosuch', '--endpoint', srv.url, '--follow'],
                                 env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(1.5)
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        self.assertNotEqual(p.returncode, 0, err)
        self.assertEqual(out, b'')


class Verbose(Base):
    """--verbose names a complete error answer by status text and AWS
    exception, not curl's "No error". The one-shot calls (list-fragments,
    get-media, http_call.c) log it; fragments --stream's own transfers
    (consumer_stream.c) log only the request line."""

    def test_http_line_of_404(self):
        root = os.path.join(self.tmp, 'root')
        os.mkdir(root)
        with kvsp_server.KvspServer(KVSP, root) as srv:
            for command in ('list-fragments', 'get-media'):
                with self.subTest(command=command):
                    extra = ['-o', os.path.join(self.tmp, 'out.mkv')] if command == 'get-media' else []
                    p, _ = self.run_kvsp(command, '--stream', 'nosuch', '--endpoint', srv.url, '--verbose', *extra)
                    err = p.stderr.decode()
                    self.assertEqual(p.returncode, 3, err)
                    self.assertIn('kvsp: HTTP 404 Not Found ResourceNotFoundException\n', err)
                    self.assertNotIn('No error', err)


class Outputs(Base):
    """A get-media / get-media-for-fragment-list that fails before any byte leaves no file at
    -o (nor its temporary beside it); a successful one leaves the payload,
    the same bytes as on stdout, with the usual permissions."""

    def test_no_file_on_failure(self):
        root = os.path.join(self.tmp, 'root')
        os.mkdir(root)
        shutil.copy(os.path.join(RESOURCES, 'audio_video.mkv'), os.path.join(root, 'av.mkv'))
        outdir = os.path.join(self.tmp, 'out')
        os.mkdir(outdir)
        out = os.path.join(outdir, 'media.mkv')
        with kvsp_server.KvspServer(KVSP, root) as srv:
            for args in (['get-media', '--stream', 'nosuch'],
                         ['get-media-for-fragment-list', '--stream', 'nosuch', '--fragments', '1']):
                with self.subTest(command=args[0]):
                    p, _ = self.run_kvsp(*args, '--endpoint', srv.url, '-o', out)
                    self.assertEqual(p.returncode, 3, p.stderr)
                    self.assertEqual(os.listdir(outdir), [])
            whole, _ = self.run_kvsp('get-media', '--stream', 'av', '--start', 'earliest', '--endpoint', srv.url)
            self.assertEqual(whole.returncode, 0, whole.stderr)
            p, _ = self.run_kvsp('get-media', '--stream', 'av', '--start', 'earliest', '--endpoint', srv.url, '-o', out)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(outdir), ['media.mkv'])
        with open(out, 'rb') as f:
            data = f.read()
        self.assertGreater(len(data), 1000)
        self.assertEqual(data, whole.stdout)
        mask = os.umask(0)
        os.umask(mask)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o666 & ~mask)


if __name__ == '__main__':
    faulthandler.register(signal.SIGUSR1)
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
