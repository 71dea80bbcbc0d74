"""milterpeer.py - the pymilter filter of the end-to-end tests (pymilter_filter.py) as a
process on a UNIX socket in a folder of its own, its log of what it was sent read back, and
the pytest fixture that starts filters and stops them by pid."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FILTER = os.path.join(HERE, "pymilter_filter.py")

MESSAGE = (b"From: a@example.org\r\n"
           b"To: alice@example.test\r\n"
           b"Subject: original\r\n"
           b"X-Remove-Me: yes\r\n"
           b"Message-ID: <m1@example.org>\r\n"
           b"\r\n"
           b"original body\r\n")


class PyMilter:
    """One pymilter filter process on a UNIX socket in its own folder, stopped by pid."""

    def __init__(self, mode, directory=None):
        """A filter in mode; in directory when given (a filter started again on the
        socket of one stopped), else in a new one."""
        self.dir = directory or tempfile.mkdtemp(prefix="sterna-milter-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "filter.sock")
        self.log_path = os.path.join(self.dir, "events.jsonl")
        if directory is not None:
            for p in (self.path, self.log_path):
                if os.path.exists(p):
                    os.unlink(p)
        self.proc = subprocess.Popen([sys.executable, FILTER, "unix:" + self.path, mode,
                                      self.log_path], stdin=subprocess.DEVNULL)
        # up once it takes a connection: the socket's file exists from bind(), before listen()
        deadline = time.monotonic() + 10
        while not self._takes_connections():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("the pymilter filter did not start")
            time.sleep(0.02)

    def _takes_connections(self):
        """A connection that says nothing (libmilter calls no callback for it)."""
        try:
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(self.path)
            return True
        except OSError:
            return False

    @property
    def address(self):
        return "unix:" + self.path

    def events(self, kind=None):
        try:
            with open(self.log_path) as f:
                evs = [json.loads(line) for line in f]
        except FileNotFoundError:
            return []
        return [e for e in evs if kind is None or e[0] == kind]

    def wait_event(self, kind, count=1, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.events(kind)) < count:
            if time.monotonic() > deadline:
                pytest.fail("the filter saw %d %s, wanted %d: %r"
                            % (len(self.events(kind)), kind, count, self.events()))
            time.sleep(0.02)
        return self.events(kind)

    def stop(self):
        # libmilter's own stop waits seconds for its threads; the test's filter keeps nothing
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def pymilter():
    started = []

    def make(mode, directory=None):
        m = PyMilter(mode, directory)
        started.append(m)
        return m

    yield make
    for m in started:
        m.stop()
