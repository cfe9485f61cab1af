#!/usr/bin/env python3
"""The client's own requests, as they arrive on the wire, verified by
botocore's SigV4 signer: a recording proxy on 127.0.0.1 in front of an
unauthenticated kvsp serve recomputes each request's Authorization with
botocore.auth.SigV4Auth from what it received (method, path, the headers
the request lists in SignedHeaders, body), the credentials and region the
client was given, service kinesisvideo and the request's own X-Amz-Date.
kvsp serve's verifier shares the canonicalisation code with the signer, so
it cannot catch a fault in it; botocore can.

usage: sigv4_client_botocore_test.py KVSP RESOURCES_DIR   (exit 77 without botocore)

Session tokens include one with white space around and inside it (an
AWS_SESSION_TOKEN is sent as given; SigV4 trims the value and folds inner
runs of spaces), stream names and ARNs with spaces and non-ASCII letters,
an endpoint URL with a path of its own, and floating-point timestamps in
the bodies. The proxy stops itself after LIMIT_S seconds."""
import datetime
import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sigv4_botocore_test import frozen_clock  # noqa: E402  (exits 77 without botocore)
import kvsp_server  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

KVSP = RESOURCES = None
LIMIT_S = 240  # the proxy's whole life
TIMEOUT = 60   # each kvsp run and upstream request
AKID = 'AKIDCLIENTSIGV4TEST'
SECRET = 'client/sigv4/secret+key/EXAMPLE=='
# As an AWS_SESSION_TOKEN may come: surrounding spaces, a run of spaces and a
# tab inside (only the signature folds them; the header carries them).
SPACED_TOKEN = '  IQoJb3JpZ2luX2Vj  EXAMPLE\t//////////wEa+token==  '
PLAIN_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+example/token+with=='
SERVE_REGION = 'us-west-2'  # kvsp serve's ARNs
FIXTURE = 'kvs_user_tags'
ODD_NAME = 'caméra d\'entrée 1'  # a stream name a URL would have to encode


class Proxy(http.server.ThreadingHTTPServer):
    """Checks every request's signature, then forwards it to kvsp serve.
    GetDataEndpoint answers point back at the proxy (under data_prefix)."""
    daemon_threads = True

    def __init__(self, upstream_port):
        super().__init__(('127.0.0.1', 0), Handler)
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.records = []
        self.expect = None  # (access key, secret, token, region), set per run
        self.data_prefix = ''
        self.control_prefix = ''

    def url(self, prefix=''):
        return 'http://127.0.0.1:%d%s' % (self.server_address[1], prefix)


def signed_header_names(authorization):
    for part in authorization.split(','):
        part = part.strip()
        if part.startswith('SignedHeaders='):
            return part[len('SignedHeaders='):].split(';')
    return []


def botocore_authorization(method, path, headers, body, expect):
    """botocore's Authorization for the request as received, and its
    canonical request."""
    akid, secret, token, region = expect
    signed = signed_header_names(headers.get('Authorization', ''))
    kept = {}
    for name, value in headers.items():
        # botocore adds X-Amz-Date (from the frozen clock) and the session
        # token (from the credentials) itself.
        if name.lower() in signed and name.lower() not in ('x-amz-date', 'x-amz-security-token'):
            kept[name] = value
    request = AWSRequest(method=method, url='http://%s%s' % (headers['Host'], path), data=body,
                         headers=kept)
    when = datetime.datetime.strptime(headers.get('X-Amz-Date', ''), '%Y%m%dT%H%M%SZ')
    signer = SigV4Auth(Credentials(akid, secret, token), 'kinesisvideo', region)
    with frozen_clock(when):
        signer.add_auth(request)
    authorization = request.headers['Authorization']
    del request.headers['Authorization']  # not part of what it signed
    return authorization, signer.canonical_request(request), signed


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        received = self.headers.get('Authorization', '')
        record = {'path': self.path, 'authorization': received}
        try:
            expected, canonical, signed = botocore_authorization('POST', self.path, self.headers, body,
                                                                 server.expect)
            record.update(expected=expected, canonical=canonical, signed=signed)
            token = server.expect[2]
            # What the request must sign: the host, the date, the body's type
            # and the session token, which must also arrive as given (HTTP
            # drops only the white space around a value).
            required = {'host', 'x-amz-date', 'content-type'} | ({'x-amz-security-token'} if token else set())
            problems = []
            if received != expected:
                problems.append('Authorization differs from botocore\'s')
            if not required <= set(signed):
                problems.append('SignedHeaders lacks %s' % sorted(required - set(signed)))
            sent_token = self.headers.get('X-Amz-Security-Token')
            if (sent_token or '').strip(' \t') != (token or '').strip(' \t') or (sent_token is None) != (token is None):
                problems.append('X-Amz-Security-Token %r, expected %r' % (sent_token, token))
            record['problems'] = problems
        except Exception as e:  # reported as a failed request
            record['problems'] = ['botocore could not check it: %r' % e]
        with server.lock:
            server.records.append(record)
        if record['problems']:
            self.answer(403, {'x-amzn-ErrorType': 'SignatureDoesNotMatchException'},
                        json.dumps({'message': '; '.join(record['problems'])}).encode())
            return
        self.forward(body)

    def forward(self, body):
        server = self.server
        path = self.path
        for prefix in (server.data_prefix, server.control_prefix):
            if prefix and path.startswith(prefix + '/'):
                path = path[len(prefix):]
                break
        conn = http.client.HTTPConnection('127.0.0.1', server.upstream_port, timeout=TIMEOUT)
        try:
            conn.request('POST', path, body=body, headers={'Content-Type': self.headers.get('Content-Type', '')})
            resp = conn.getresponse()
            payload = resp.read()
            extra = {k: v for k, v in resp.getheaders() if k.lower() in ('content-type', 'x-amzn-errortype')}
            if path == '/getDataEndpoint' and resp.status == 200:
                answer = json.loads(payload)
                answer['DataEndpoint'] = server.url(server.data_prefix)
                payload = json.dumps(answer).encode()
            self.answer(resp.status, extra, payload)
        finally:
            conn.close()

    def answer(self, status, headers, payload):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def kvsp(proxy, control_prefix, expect, *args):
    akid, secret, token, region = expect
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(AWS_ACCESS_KEY_ID=akid, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region,
               AWS_EC2_METADATA_DISABLED='true', HOME=tempfile.gettempdir(),
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    if token is not None:
        env['AWS_SESSION_TOKEN'] = token
    return subprocess.run([KVSP, *args, '--endpoint-url', proxy.url(control_prefix)], capture_output=True,
                          timeout=TIMEOUT, env=env)


def runs(stream, arn):
    """(what, arguments, operations it must send) for one stream."""
    return [
        ('list', ['list-fragments', '--stream', stream], ['/getDataEndpoint', '/listFragments']),
        ('list by ARN, producer time range',
         ['list-fragments', '--stream', arn, '--timestamp', 'producer', '--from', '1699999999.5',
          '--to', '1800000000.25'], ['/listFragments']),
        ('get-media', ['get-media', '--stream', stream, '--start', 'earliest', '-o', os.devnull],
         ['/getMedia']),
        ('consumer', ['fragments', '--stream', arn, '--start', 'earliest'], ['/getMedia']),
        ('consumer from a producer time',
         ['fragments', '--stream', stream, '--start', 'producer-ts:1700000000.125'], ['/getMedia']),
    ]


def main():
    global KVSP, RESOURCES
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    root = tempfile.mkdtemp(prefix='kvsp-sigv4-client-')
    failures = []
    checked = 0
    try:
        for name in (FIXTURE, ODD_NAME):
            os.symlink(os.path.join(os.path.abspath(RESOURCES), FIXTURE + '.mkv'), os.path.join(root, name + '.mkv'))
        with kvsp_server.KvspServer(KVSP, root, '--region', SERVE_REGION, timeout=TIMEOUT) as upstream:
            proxy = Proxy(upstream.port)
            thread = threading.Thread(target=proxy.serve_forever, kwargs={'poll_interval': 0.1}, daemon=True)
            thread.start()
            stop = threading.Timer(LIMIT_S, proxy.shutdown)
            stop.daemon = True
            stop.start()
            try:
                credentials = [
                    ('no session token, us-west-2', (AKID, SECRET, None, 'us-west-2'), '', ''),
                    ('session token with spaces, eu-west-1', (AKID, SECRET, SPACED_TOKEN, 'eu-west-1'), '', ''),
                    ('session token, us-east-1, endpoints with paths',
                     (AKID, SECRET, PLAIN_TOKEN, 'us-east-1'), '/kvs%20control', '/data~plane/v1'),
                ]
                for label, expect, control_prefix, data_prefix in credentials:
                    proxy.expect = expect
                    proxy.control_prefix = control_prefix
                    proxy.data_prefix = data_prefix
                    for stream in (FIXTURE, ODD_NAME):
                        arn = 'arn:aws:kinesisvideo:%s:000000000000:stream/%s/0' % (SERVE_REGION, stream)
                        listed = None
                        for what, args, ops in runs(stream, arn):
                            with proxy.lock:
                                proxy.records.clear()
                            r = kvsp(proxy, control_prefix, expect, *args)
                            ok, detail = check_run(proxy, r, ops, control_prefix, data_prefix)
                            if what == 'list' and r.returncode == 0:
                                listed = [json.loads(line)['fragment_number'] for line in r.stdout.splitlines()]
                            checked += len(proxy.records)
                            report(failures, ok, '%s, %s: %s' % (label, stream, what), detail)
                        if listed:
                            with proxy.lock:
                                proxy.records.clear()
                            r = kvsp(proxy, control_prefix, expect, 'get-media-for-fragment-list',
                                     '--stream', stream, '--fragments', ','.join(listed[1:3]), '-o', os.devnull)
                            ok, detail = check_run(proxy, r, ['/getMediaForFragmentList'], control_prefix,
                                                   data_prefix)
                            checked += len(proxy.records)
                            report(failures, ok, '%s, %s: get-media-for-fragment-list' % (label, stream), detail)
                        else:
                            report(failures, False, '%s, %s: list-fragments listed nothing' % (label, stream), '')
            finally:
                stop.cancel()
                proxy.shutdown()
                thread.join(TIMEOUT)
                proxy.server_close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print('%d requests checked by botocore, %d runs failed' % (checked, len(failures)))
    for f in failures:
        print('FAIL ' + f)
    return 1 if failures or not checked else 0


def check_run(proxy, result, ops, control_prefix, data_prefix):
    """Whether the run succeeded with every request signed as botocore
    signs it, and what went wrong otherwise."""
    with proxy.lock:
        records = list(proxy.records)
    detail = []
    ok = result.returncode == 0
    if not ok:
        detail.append('kvsp exited with %d: %s' % (result.returncode, result.stderr.decode(errors='replace')[-800:]))
    seen = set()
    for rec in records:
        path = urlsplit(rec['path']).path
        for prefix in (data_prefix, control_prefix):
            if prefix and path.startswith(prefix + '/'):
                path = path[len(prefix):]
                break
        seen.add(path)
        if rec['problems']:
            ok = False
            detail.append('%s: %s\n  received: %s\n  botocore: %s\n--- botocore canonical request\n%s' % (
                rec['path'], '; '.join(rec['problems']), rec['authorization'], rec.get('expected'),
                rec.get('canonical')))
    missing = [op for op in ops if op not in seen]
    if missing:
        ok = False
        detail.append('no request to %s (saw %s)' % (missing, sorted(seen)))
    return ok, '\n'.join(detail)


def report(failures, ok, what, detail):
    print('%s %s' % ('ok  ' if ok else 'FAIL', what))
    if not ok:
        print(detail)
        failures.append(what)


if __name__ == '__main__':
    sys.exit(main())
