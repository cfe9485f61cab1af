#!/usr/bin/env python3
"""kvsp --log-format json (tools/kvsp/cli_log.c): every stderr line of a
run is one JSON object (parsed by Python's json module) with "time" (RFC
3339, UTC, milliseconds), "level" and "message", and the fields the line
has. Failing runs as in failures_test.py: an unreachable data endpoint, a
stream kvsp serve does not have (404), a --follow run interrupted, a usage
error; and --metrics' error kinds, from a service written here.

  Unreachable  fragments / merge / get-media against a refused port: exit 3,
               the last line names stream and host
  NotFound     get-media and fragments --stream of a missing stream with
               --verbose: status 404 and exception ResourceNotFoundException
  Follow       --follow against a refused port, interrupted: the
               "reconnecting" line has stream, host and attempt
  Usage        a bad option: the usage text comes as JSON lines too; text
               stays the default
  Kinds        --metrics counts 500 answers as kind="service" and refused
               connections as kind="network"

usage: log_format_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import datetime
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import failures_test  # noqa: E402  (EndpointServer, closed_port, Base)
import kvsp_server  # noqa: E402
import waiting  # noqa: E402

KVSP = RESOURCES = None
TIME = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')


class Base(failures_test.Base):
    def lines(self, err):
        """Every stderr line as a JSON object, with the common keys checked."""
        text = err.decode() if isinstance(err, bytes) else err
        self.assertTrue(text.endswith('\n'), text)
        out = []
        for line in text.splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                self.fail('not JSON: %r in %s' % (line, text))
            self.assertIsInstance(o, dict, line)
            self.assertRegex(o.get('time', ''), TIME, line)
            when = datetime.datetime.strptime(o['time'], '%Y-%m-%dT%H:%M:%S.%fZ')
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            self.assertLess(abs((now - when).total_seconds()), 120, line)  # UTC, not local time
            self.assertIn(o.get('level'), ('error', 'warning', 'info', 'debug'), line)
            self.assertIsInstance(o.get('message'), str, line)
            out.append(o)
        return out


class Unreachable(Base):
    def test_refused(self):
        port = failures_test.closed_port()
        with failures_test.EndpointServer('http://127.0.0.1:%d' % port) as ep:
            for command in ('fragments', 'merge', 'get-media'):
                with self.subTest(command=command):
                    extra = ['-o', os.path.join(self.tmp, 'x.mkv')] if command != 'fragments' else []
                    p, _ = self.run_kvsp(command, '--stream', 'cam', '--endpoint-url', ep.url,
                                         '--log-format', 'json', *extra)
                    self.assertEqual(p.returncode, 3, p.stderr)
                    errors = [o for o in self.lines(p.stderr) if o['level'] == 'error']
                    self.assertEqual(len(errors), 1, p.stderr)  # merge's summary is info
                    last = errors[0]
                    self.assertEqual(last['stream'], 'cam')
                    self.assertEqual(last['host'], '127.0.0.1:%d' % port)
                    self.assertIn("Couldn't connect", last['message'])


class NotFound(Base):
    def test_404(self):
        root = os.path.join(self.tmp, 'root')
        os.mkdir(root)
        with kvsp_server.KvspServer(KVSP, root) as srv:
            for args in (['get-media', '-o', os.path.join(self.tmp, 'x.mkv')], ['fragments']):
                with self.subTest(command=args[0]):
                    p, _ = self.run_kvsp(*args, '--stream', 'nosuch', '--endpoint-url', srv.url, '--verbose',
                                         '--log-format=json')
                    self.assertEqual(p.returncode, 3, p.stderr)
                    lines = self.lines(p.stderr)
                    self.assertTrue(any(o['level'] == 'debug' and 'POST' in o['message'] for o in lines), lines)
                    last = lines[-1]
                    self.assertEqual((last['level'], last['stream'], last['status'], last['exception']),
                                     ('error', 'nosuch', 404, 'ResourceNotFoundException'), last)


class Follow(Base):
    def test_reconnecting_line(self):
        port = failures_test.closed_port()
        with failures_test.EndpointServer('http://127.0.0.1:%d' % port) as ep:
            status, out, err = self.interrupt('fragments', '--stream', 'cam', '--endpoint-url', ep.url, '--follow',
                                              '--log-format', 'json')
        self.assertNotEqual(status, 0, err)
        lines = self.lines(err)
        again = [o for o in lines if 'reconnecting' in o['message']]
        self.assertEqual(len(again), 1, err)
        self.assertEqual((again[0]['level'], again[0]['stream'], again[0]['host'], again[0]['attempt']),
                         ('warning', 'cam', '127.0.0.1:%d' % port, 1), again[0])
        self.assertIn('interrupted before any fragment', lines[-1]['message'])


class Usage(Base):
    def test_bad_option(self):
        p, _ = self.run_kvsp('fragments', '--log-format', 'json', '--no-such-option')
        self.assertEqual(p.returncode, 2)
        lines = self.lines(p.stderr)
        self.assertIn('--no-such-option', lines[0]['message'])
        self.assertTrue(any(o['message'].startswith('usage: kvsp fragments') for o in lines), lines)
        p, _ = self.run_kvsp('fragments', '--log-format', 'yaml', os.path.join(RESOURCES, 'audio_video.mkv'))
        self.assertEqual(p.returncode, 2)
        self.assertIn(b'--log-format is text or json', p.stderr)
        # the default is the text it always was
        p, _ = self.run_kvsp('fragments', '--no-such-option')
        self.assertEqual(p.returncode, 2)
        self.assertTrue(p.stderr.startswith(b"fragments: unrecognized option '--no-such-option'\n"), p.stderr)


class FailingService(http.server.BaseHTTPRequestHandler):
    """GetDataEndpoint names this server; GetMedia answers 500 InternalFailure."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if self.path == '/getDataEndpoint':
            body, status = json.dumps({'DataEndpoint': self.server.url}).encode(), 200
        else:
            body, status = b'{"message": "failed on purpose"}', 500
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        if status != 200:
            self.send_header('x-amzn-ErrorType', 'InternalFailure')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Kinds(Base):
    def scrape_until(self, endpoint, kind, want):
        """--follow --metrics against endpoint until errors_total{kind} reaches
        want; the metrics text then."""
        p = subprocess.Popen([KVSP, 'fragments', '--stream', 'cam', '--follow', '--metrics', '127.0.0.1:0',
                              '--endpoint-url', endpoint, '--log-format', 'json'], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            first = json.loads(waiting.Lines(p.stderr).next())
            url = re.search(r'http://\S+/metrics', first['message']).group(0)
            pattern = re.compile(r'^kvsp_stream_errors_total\{stream="cam",kind="%s"\} (\d+)$' % kind, re.M)

            def reached():
                with urllib.request.urlopen(url, timeout=10) as r:
                    text = r.read().decode()
                m = pattern.search(text)
                return text if m and int(m.group(1)) >= want else None
            return waiting.until(reached, '%d %s errors' % (want, kind), every=0.1)
        finally:
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=30)

    def test_service_and_network(self):
        httpd = http.server.HTTPServer(('127.0.0.1', 0), FailingService)
        httpd.url = 'http://127.0.0.1:%d' % httpd.server_port
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            text = self.scrape_until(httpd.url, 'service', 2)
        finally:
            httpd.shutdown()
            httpd.server_close()
        self.assertIn('kind="network"} 0\n', text)
        self.assertIn('kind="throttled"} 0\n', text)
        with failures_test.EndpointServer('http://127.0.0.1:%d' % failures_test.closed_port()) as ep:
            text = self.scrape_until(ep.url, 'network', 2)
        self.assertIn('kind="service"} 0\n', text)


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    failures_test.KVSP, failures_test.RESOURCES = KVSP, RESOURCES
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
