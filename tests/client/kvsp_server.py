"""kvsp serve as a test fixture: started on a free loopback port, stopped with
SIGTERM. Its exit status must then be 0, so a sanitizer report or a hang
(it is killed after a timeout) fails the test that used it. Forwarder: a
loopback TCP relay in front of it, bounded by its timeout."""
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading


class KvspServer:
    def __init__(self, kvsp, root, *args, timeout=60):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([kvsp, 'serve', '--root', root, '--port', '0', *args],
                                     stdout=subprocess.PIPE, stderr=self.log)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ''
        m = re.fullmatch(r'listening on (http://127\.0\.0\.1:(\d+))\n', line)
        if not m:
            self.stop(check=False)
            raise AssertionError('kvsp serve did not start: %r %s' % (line, self.stderr()))
        self.url, self.port = m.group(1), int(m.group(2))

    def stderr(self):
        """What the server wrote to stderr so far. Read with pread: the server
        writes through the same open file, so a seek here would move where
        its next line goes."""
        if self.log.closed:
            return ''
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors='replace')

    def stop(self, check=True):
        """Stops the server once; returns its exit status, and with check
        raises unless it stopped cleanly on SIGTERM."""
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                killed = True
        if self.log.closed:
            return self.proc.returncode
        log = self.stderr()
        self.proc.stdout.close()
        self.log.close()
        if check and (killed or self.proc.returncode != 0):
            raise AssertionError('kvsp serve %s: %s' % (
                'did not stop on SIGTERM' if killed else 'exited with %d' % self.proc.returncode, log[-4000:]))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.stop(check=kind is None)


class Forwarder:
    """A plain TCP relay on a free loopback port to another: stands in for
    the TLS terminator (without TLS) that --public-url is for."""

    def __init__(self, port, timeout=60):
        self.target = port
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.create_connection(('127.0.0.1', self.target), timeout=self.timeout)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.sock.close()


def cpu_seconds(pid):
    """User + system CPU seconds of a live process so far (/proc), e.g. a
    served kvsp serve's, for the benchmarks that report the server's CPU."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')  # utime, stime
