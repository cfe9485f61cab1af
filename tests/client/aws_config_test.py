#!/usr/bin/env python3
"""The AWS conventions kvsp follows (issue 19; README, "AWS configuration").

  Credentials  configuration errors (credential_process, half a key pair in
               the environment or the credentials file, none anywhere) exit
               4 with the reason said once
  Endpoints    --endpoint-url > AWS_ENDPOINT_URL_KINESIS_VIDEO >
               AWS_ENDPOINT_URL > [services] kinesis_video endpoint_url >
               the profile's endpoint_url; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
               or ignore_configured_endpoint_urls drop all but the option.
               Each level is shown against kvsp serve with every lower
               level set to a closed port. Debian 12's botocore (1.29) does
               not read configured endpoints (added in 1.31), so it cannot
               be the oracle here; the AWS CLI user guide's order is.
  Tls          against openssl s_server with certificates made here by
               openssl: an unknown CA and a self-signed certificate say
               "certificate not trusted", a certificate for another name
               "host name mismatch", an expired one "certificate expired",
               exit 3; with the CA trusted through
               AWS_CA_BUNDLE, the profile's ca_bundle or --ca-bundle the
               handshake passes (s_server -rev answers no HTTP; s_server
               -www exits on a POST). Which of them wins is checked against
               botocore's session (config_variable ca_bundle).
  Proxies      a proxy written here (absolute-form POST, CONNECT) counts
               requests: each spelling of http_proxy / https_proxy /
               no_proxy is used or not exactly as botocore's
               get_environ_proxies + ProxyConfiguration decide for the same
               environment; a proxy that is down is named, exit 3.

usage: aws_config_test.py KVSP RESOURCES_DIR [unittest arguments]
"""
import http.client
import json
import os
import select
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import kvsp_server  # noqa: E402
import kvsp_testing  # noqa: E402

KVSP = RESOURCES = None


def closed_port():
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError('server exited: %r' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError('nothing listens on %d' % port)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        os.mkdir(os.path.join(self.tmp, '.aws'))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('AWS_') and not k.lower().endswith('_proxy')}
        self.env.update(AWS_ACCESS_KEY_ID='AKIDCONFIGTEST', AWS_SECRET_ACCESS_KEY='config/test/secret',
                        AWS_REGION='us-west-2', AWS_EC2_METADATA_DISABLED='true', HOME=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.tmp, '.aws', name), 'w') as f:
            f.write(text)

    def run_kvsp(self, *args, env=None):
        p = subprocess.run([KVSP, *args], env=env or self.env, capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()


class Credentials(Base):
    def check(self, command, needle):
        args = ['list-fragments', '--stream', 'cam'] if command == 'list-fragments' else ['fragments', '--stream', 'cam']
        status, out, err = self.run_kvsp(*args, '--endpoint-url', 'http://127.0.0.1:%d' % closed_port())
        self.assertEqual(status, 4, err)
        self.assertIn(needle, err)
        self.assertEqual(err.count('no AWS credentials'), 1, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertNotIn("Couldn't connect", err)  # said before any request
        self.assertEqual(out, '')

    def test_credential_process(self):
        del self.env['AWS_ACCESS_KEY_ID'], self.env['AWS_SECRET_ACCESS_KEY']
        self.write('config', '[default]\ncredential_process = /bin/false\n')
        for command in ('list-fragments', 'fragments'):
            with self.subTest(command=command):
                self.check(command, 'credential_process')

    def test_half_pair_env(self):
        del self.env['AWS_SECRET_ACCESS_KEY']
        self.check('list-fragments', 'AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not')

    def test_half_pair_file(self):
        del self.env['AWS_ACCESS_KEY_ID'], self.env['AWS_SECRET_ACCESS_KEY']
        self.write('credentials', '[default]\naws_access_key_id = AKIDHALF\n')
        for command in ('list-fragments', 'fragments'):
            with self.subTest(command=command):
                self.check(command, 'has aws_access_key_id but no aws_secret_access_key')

    def test_none_anywhere(self):
        del self.env['AWS_ACCESS_KEY_ID'], self.env['AWS_SECRET_ACCESS_KEY']
        self.check('list-fragments', 'no AWS credentials found')


class Endpoints(Base):
    """Levels from the highest: option, service env, global env, services
    section, profile. The one under test names the server; every lower one
    a closed port, so only the right choice succeeds."""

    LEVELS = ('option', 'service_env', 'global_env', 'services', 'profile')

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp()
        shutil.copy(os.path.join(RESOURCES, 'audio_video.mkv'), os.path.join(cls.root, 'av.mkv'))
        cls.server = kvsp_server.KvspServer(KVSP, cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def configure(self, urls, extra_profile=''):
        """urls: level -> URL; returns the extra arguments."""
        env = dict(self.env)
        if 'service_env' in urls:
            env['AWS_ENDPOINT_URL_KINESIS_VIDEO'] = urls['service_env']
        if 'global_env' in urls:
            env['AWS_ENDPOINT_URL'] = urls['global_env']
        profile = '[default]\nregion = us-west-2\n' + extra_profile
        if 'profile' in urls:
            profile += 'endpoint_url = %s\n' % urls['profile']
        text = profile
        if 'services' in urls:
            # the s3 and profile-level nested settings must not be taken
            text = profile + 'services = my-services\n  kinesis_video = http://127.0.0.1:1\n'
            text += ('\n[services my-services]\ns3 =\n  endpoint_url = http://127.0.0.1:%d\n'
                     'kinesis_video =\n  endpoint_url = %s\n' % (closed_port(), urls['services']))
        self.write('config', text)
        args = ['--endpoint-url', urls['option']] if 'option' in urls else []
        return env, args

    def list_fragments(self, env, args):
        return self.run_kvsp('list-fragments', '--stream', 'av', *args, '--verbose', env=env)

    def test_precedence(self):
        dead = 'http://127.0.0.1:%d' % closed_port()
        for i, level in enumerate(self.LEVELS):
            with self.subTest(level=level):
                urls = {l: dead for l in self.LEVELS[i + 1:]}
                urls[level] = self.server.url
                env, args = self.configure(urls)
                status, out, err = self.list_fragments(env, args)
                self.assertEqual(status, 0, err)
                self.assertIn('POST %s/getDataEndpoint' % self.server.url, err)
                self.assertGreater(len(out.splitlines()), 0)

    def check_ignored(self, env, args, ignored=True):
        # The regional default is not reachable from here: a dead proxy in
        # front of it ends the run at once, and the log says where it went.
        env = dict(env, HTTPS_PROXY='http://127.0.0.1:%d' % closed_port())
        status, out, err = self.list_fragments(env, args)
        if ignored:
            self.assertEqual(status, 3, err)
            self.assertIn('POST https://kinesisvideo.us-west-2.amazonaws.com/getDataEndpoint', err)
            self.assertNotIn(self.server.url, err)
        else:
            self.assertEqual(status, 0, err)
            self.assertIn('POST %s/getDataEndpoint' % self.server.url, err)

    def test_ignore_configured(self):
        every = {l: self.server.url for l in self.LEVELS[1:]}
        env, args = self.configure(every)
        for value in ('true', 'TRUE'):
            with self.subTest(env=value):
                self.check_ignored(dict(env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=value), args)
        with self.subTest(env='false'):
            self.check_ignored(dict(env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='false'), args, ignored=False)
        with self.subTest(profile='true'):
            env, args = self.configure({'services': self.server.url, 'profile': self.server.url},
                                       'ignore_configured_endpoint_urls = true\n')
            self.check_ignored(env, args)
            # the environment's setting wins over the profile's
            self.check_ignored(dict(env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='false'), args, ignored=False)
        with self.subTest(option='with ignore'):
            env, args = self.configure({'option': self.server.url, 'profile': 'http://127.0.0.1:1'})
            status, _, err = self.list_fragments(dict(env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS='true'), args)
            self.assertEqual(status, 0, err)


def openssl(*args, cwd):
    subprocess.run(['openssl', *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class TlsServer:
    """openssl s_server -rev on a loopback port for at most 60 s (timeout),
    killed by the test."""

    def __init__(self, cert, key):
        self.port = closed_port()
        self.proc = subprocess.Popen(['timeout', '60', 'openssl', 's_server', '-accept', '127.0.0.1:%d' % self.port,
                                      '-cert', cert, '-key', key, '-rev', '-quiet'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc)
        self.url = 'https://127.0.0.1:%d' % self.port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


class Certificates:
    """A CA, a server certificate it signed for 127.0.0.1, one it signed
    for other.example, and a self-signed one for 127.0.0.1."""

    def __init__(self, d):
        self.dir = d
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
                '-subj', '/CN=kvsp test CA', '-days', '2', cwd=d)
        for name, san in (('ip', 'IP:127.0.0.1'), ('other', 'DNS:other.example')):
            openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
                    '-subj', '/CN=' + san.split(':')[1], cwd=d)
            with open(os.path.join(d, name + '.ext'), 'w') as f:
                f.write('subjectAltName=%s\n' % san)
            openssl('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                    '-out', name + '.pem', '-days', '2', '-extfile', name + '.ext', cwd=d)
        # expired: openssl ca takes explicit dates (x509 -days cannot go back)
        with open(os.path.join(d, 'ca.cnf'), 'w') as f:
            f.write('[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n'
                    'default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n')
        open(os.path.join(d, 'index.txt'), 'w').close()
        with open(os.path.join(d, 'serial'), 'w') as f:
            f.write('1000\n')
        openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'ip.csr',
                '-out', 'expired.pem', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
                '-extfile', 'ip.ext', cwd=d)
        shutil.copy(os.path.join(d, 'ip.key'), os.path.join(d, 'expired.key'))
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem',
                '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2', cwd=d)

    def pair(self, name):
        return os.path.join(self.dir, name + '.pem'), os.path.join(self.dir, name + '.key')

    @property
    def ca(self):
        return os.path.join(self.dir, 'ca.pem')


def botocore_value(env, code):
    """Runs code with botocore in a child with env; prints its JSON."""
    p = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, timeout=60)
    if p.returncode != 0:
        if b'No module named' in p.stderr:
            raise unittest.SkipTest('no botocore')
        raise AssertionError(p.stderr.decode())
    return json.loads(p.stdout)


CA_ORACLE = 'import json, botocore.session; print(json.dumps(botocore.session.Session().get_config_variable("ca_bundle")))'


class Tls(Base):
    @classmethod
    def setUpClass(cls):
        if not shutil.which('openssl'):
            raise unittest.SkipTest('no openssl')
        cls.certs_dir = tempfile.mkdtemp()
        cls.certs = Certificates(cls.certs_dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs_dir, ignore_errors=True)

    def request(self, url, *extra, env=None, command='list-fragments'):
        return self.run_kvsp(command, '--stream', 'cam', '--endpoint-url', url, *extra, env=env)

    def assert_tls_failure(self, result, reason):
        status, out, err = result
        self.assertEqual(status, 3, err)
        self.assertIn(reason, err)
        self.assertEqual(out, '')

    def assert_tls_passed(self, result):
        """s_server -rev answers the request reversed: no HTTP, and not a TLS error."""
        status, _, err = result
        self.assertEqual(status, 3, err)
        self.assertNotIn('TLS', err)
        self.assertNotIn('certificate', err)
        self.assertIn('Unsupported protocol', err)

    def test_not_trusted(self):
        for name in ('ip', 'self'):
            with self.subTest(cert=name), TlsServer(*self.certs.pair(name)) as srv:
                for command in ('list-fragments', 'fragments'):
                    r = self.request(srv.url, command=command)
                    self.assert_tls_failure(r, 'certificate not trusted')
                    self.assertIn('SSL peer certificate', r[2])  # curl's own words stay

    def test_host_name_mismatch(self):
        with TlsServer(*self.certs.pair('other')) as srv:
            self.assert_tls_failure(self.request(srv.url, env=dict(self.env, AWS_CA_BUNDLE=self.certs.ca)),
                                    'host name mismatch')

    def test_expired(self):
        with TlsServer(*self.certs.pair('expired')) as srv:
            self.assert_tls_failure(self.request(srv.url, env=dict(self.env, AWS_CA_BUNDLE=self.certs.ca)),
                                    'certificate expired')

    def test_ca_bundle(self):
        missing = os.path.join(self.tmp, 'no-such-bundle.pem')
        with TlsServer(*self.certs.pair('ip')) as srv:
            with self.subTest(source='AWS_CA_BUNDLE'):
                self.assert_tls_passed(self.request(srv.url, env=dict(self.env, AWS_CA_BUNDLE=self.certs.ca)))
            with self.subTest(source='--ca-bundle'):
                self.assert_tls_passed(self.request(srv.url, '--ca-bundle', self.certs.ca,
                                                    env=dict(self.env, AWS_CA_BUNDLE=missing)))
            self.write('config', '[default]\nca_bundle = %s\n' % self.certs.ca)
            with self.subTest(source='profile'):
                self.assertEqual(botocore_value(self.env, CA_ORACLE), self.certs.ca)
                self.assert_tls_passed(self.request(srv.url))
            with self.subTest(source='AWS_CA_BUNDLE over the profile'):
                env = dict(self.env, AWS_CA_BUNDLE=missing)
                self.assertEqual(botocore_value(env, CA_ORACLE), missing)
                self.assert_tls_failure(self.request(srv.url, env=env), 'CA bundle')


class Proxy:
    """An HTTP proxy on loopback for the test's duration (threads, bounded
    by socket timeouts): absolute-form requests are forwarded with
    http.client, CONNECT is tunnelled. Counts what it got."""

    def __init__(self):
        self.requests = []
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                line = self.rfile.readline().decode('latin-1').rstrip('\r\n')
                headers = []
                while True:
                    h = self.rfile.readline().decode('latin-1').rstrip('\r\n')
                    if not h:
                        break
                    headers.append(h.split(':', 1))
                method, target, _ = line.split(' ', 2)
                proxy.requests.append((method, target))
                if method == 'CONNECT':
                    host, port = target.rsplit(':', 1)
                    upstream = socket.create_connection((host, int(port)), timeout=30)
                    self.wfile.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
                    self.wfile.flush()
                    try:
                        self.tunnel(self.connection, upstream)
                    except OSError:
                        pass  # either side closing first ends the tunnel
                    upstream.close()
                    return
                length = int(next((v for k, v in headers if k.lower() == 'content-length'), '0'))
                body = self.rfile.read(length)
                u = http.client.urlsplit(target)
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                conn.request(method, u.path or '/', body,
                             {k: v.strip() for k, v in headers if k.lower() not in ('proxy-connection', 'connection')})
                r = conn.getresponse()
                data = r.read()
                out = ['HTTP/1.1 %d %s' % (r.status, r.reason)]
                out += ['%s: %s' % kv for kv in r.getheaders()
                        if kv[0].lower() not in ('transfer-encoding', 'content-length', 'connection')]
                out += ['Content-Length: %d' % len(data), 'Connection: close', '', '']
                self.wfile.write('\r\n'.join(out).encode('latin-1') + data)
                conn.close()

            @staticmethod
            def tunnel(a, b):
                socks = [a, b]
                while True:
                    ready, _, _ = select.select(socks, [], [], 30)
                    if not ready:
                        return
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        (b if s is a else a).sendall(data)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self.server = socketserver.ThreadingTCPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


PROXY_ORACLE = ('import json, sys, botocore.utils as u, botocore.httpsession as h\n'
                'url = sys.argv[1]\n'
                'print(json.dumps(h.ProxyConfiguration(proxies=u.get_environ_proxies(url)).proxy_url_for(url)))')


class Proxies(Base):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp()
        shutil.copy(os.path.join(RESOURCES, 'audio_video.mkv'), os.path.join(cls.root, 'av.mkv'))
        cls.server = kvsp_server.KvspServer(KVSP, cls.root)
        cls.proxy = Proxy()

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def oracle(self, env, url):
        p = subprocess.run([sys.executable, '-c', PROXY_ORACLE, url], env=env, capture_output=True, timeout=60)
        if p.returncode != 0:
            if b'No module named' in p.stderr:
                raise unittest.SkipTest('no botocore')
            raise AssertionError(p.stderr.decode())
        return json.loads(p.stdout)

    def test_http_spellings(self):
        dead = 'http://127.0.0.1:%d' % closed_port()
        P = self.proxy.url
        cases = [
            ({'http_proxy': P}, True),
            ({'HTTP_PROXY': P}, True),
            ({'http_proxy': P, 'HTTP_PROXY': dead}, True),    # lower case wins
            ({'http_proxy': '', 'HTTP_PROXY': dead}, False),  # even empty
            ({'HTTP_PROXY': P, 'NO_PROXY': '127.0.0.1'}, False),
            ({'http_proxy': P, 'no_proxy': '127.0.0.1'}, False),
            ({'HTTP_PROXY': P, 'no_proxy': 'other.example'}, True),
            ({'HTTPS_PROXY': dead, 'https_proxy': dead}, False),  # not for http:// URLs
            ({'ALL_PROXY': dead, 'all_proxy': dead}, False),      # botocore ignores it; libcurl would not
        ]
        for extra, through in cases:
            with self.subTest(env=extra):
                env = dict(self.env, **extra)
                want = self.oracle(env, self.server.url)
                self.assertEqual(want is not None, through, want)  # the table agrees with botocore
                before = len(self.proxy.requests)
                status, out, err = self.run_kvsp('list-fragments', '--stream', 'av', '--endpoint-url',
                                                 self.server.url, env=env)
                self.assertEqual(status, 0, err)
                self.assertGreater(len(out.splitlines()), 0)
                got = self.proxy.requests[before:]
                if through:
                    self.assertEqual([m for m, _ in got], ['POST', 'POST'], got)
                    self.assertEqual(got[0][1], self.server.url + '/getDataEndpoint')
                else:
                    self.assertEqual(got, [])
        # the consumer's transfers too
        before = len(self.proxy.requests)
        status, out, err = self.run_kvsp('fragments', '--stream', 'av', '--start', 'earliest', '--endpoint-url',
                                         self.server.url, env=dict(self.env, HTTP_PROXY=P))
        self.assertEqual(status, 0, err)
        self.assertGreaterEqual(len(self.proxy.requests) - before, 2)

    def test_https_connect(self):
        if not shutil.which('openssl'):
            self.skipTest('no openssl')
        d = tempfile.mkdtemp(dir=self.tmp)
        certs = Certificates(d)
        with TlsServer(*certs.pair('ip')) as srv:
            for name in ('https_proxy', 'HTTPS_PROXY'):
                with self.subTest(var=name):
                    env = dict(self.env, AWS_CA_BUNDLE=certs.ca, **{name: self.proxy.url})
                    self.assertEqual(self.oracle(env, srv.url), self.proxy.url)
                    before = len(self.proxy.requests)
                    status, _, err = self.run_kvsp('list-fragments', '--stream', 'cam', '--endpoint-url', srv.url,
                                                   env=env)
                    self.assertEqual(status, 3, err)
                    self.assertIn('Unsupported protocol', err)  # through the tunnel and TLS
                    self.assertEqual(self.proxy.requests[before:], [('CONNECT', '127.0.0.1:%d' % srv.port)])

    def test_proxy_down(self):
        port = closed_port()
        for name in ('HTTP_PROXY', 'http_proxy'):
            for command in ('list-fragments', 'fragments'):
                with self.subTest(var=name, command=command):
                    env = dict(self.env, **{name: 'http://127.0.0.1:%d' % port})
                    status, out, err = self.run_kvsp(command, '--stream', 'av', '--endpoint-url', self.server.url,
                                                     env=env)
                    self.assertEqual(status, 3, err)
                    self.assertIn('proxy 127.0.0.1:%d: connection refused' % port, err)
                    self.assertEqual(out, '')


if __name__ == '__main__':
    KVSP, RESOURCES = sys.argv[1], sys.argv[2]
    kvsp_testing.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
