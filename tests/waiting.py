"""Waiting on events, not on the clock: helpers for the tests that watch a
running process (kvsp serve --live, the consumer, kvsp-render).

A shared CI machine may be slow at any moment, so a test waits for what it
needs to see (a line of output, a line in a server's log, a file) and gives
up only after HANG_S, which only a hang reaches. Where a test is about cost
(a process that must sleep while it waits), it compares two measurements of
the same run, e.g. CPU time over the wall time of a phase that events mark
at both ends, rather than one reading with an absolute bound.

    lines = waiting.Lines(proc.stdout)
    line = lines.next()                  # the next line, None at the end
    waiting.until(lambda: 'stalls' in server.stderr(), 'the server to stall')
    busy = waiting.cpu_seconds(proc.pid)
"""
import os
import select
import time

HANG_S = 60  # seconds without the awaited event: a hang, whatever the machine


class Lines:
    """The output of a running process, line by line as it comes."""

    def __init__(self, pipe, timeout=HANG_S):
        self.pipe, self.timeout = pipe, timeout
        self.buffer, self.closed = b'', False

    def next(self):
        """The next line (with its newline), or None once the pipe is
        closed; raises AssertionError after timeout seconds with none."""
        deadline = time.monotonic() + self.timeout
        while b'\n' not in self.buffer and not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no output for %g s' % self.timeout)
            ready, _, _ = select.select([self.pipe], [], [], left)
            if ready:
                chunk = os.read(self.pipe.fileno(), 65536)
                self.buffer += chunk
                self.closed = not chunk
        if b'\n' not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b'\n', 1)
        return line + b'\n'


def until(condition, what, timeout=HANG_S, every=0.02):
    """Polls condition() until it is true (and returns its value); raises
    AssertionError naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('waited %g s for %s' % (timeout, what))
        time.sleep(every)


def cpu_seconds(pid):
    """utime + stime of a running process (all its threads), from /proc/PID/stat."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
