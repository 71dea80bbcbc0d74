"""One log format (docs/operations.md, "Logs"): a daemon goes through a varied life (sessions
accepted, refused, rejected and cut off mid-DATA, a relayed delivery, a bounce, a deferral,
a control command, an HTTP request, SIGHUP, a stop, a configuration that cannot be read) and
every line it writes has the one shape `TIME LEVEL ID EVENT key=value ...`; then the same life
with server.log_format = json, each line one JSON object with the same fields; and the lines
sent to a syslog socket."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import STERNA_BIN, free_port
from peers import Sink, free_port_on

# the whole shape, in one expression: docs/operations.md gives the same
LINE = re.compile(r'(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) '
                  r'(?P<level>error|warning|info|debug) '
                  r'(?P<id>[^\s"=]+) '
                  r'(?P<event>[a-z][a-z0-9_]*)'
                  r'(?P<fields>(?: [a-z][a-z0-9_]*=(?:"(?:[^"\\]|\\.)*"|[^\s"]+))*)')
FIELD = re.compile(r' ([a-z][a-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]+)')

SINK, HARD, DEAD = "127.0.0.21", "127.0.0.22", "127.0.0.23"
BLOCKED = "127.0.0.3"


def fields(line):
    m = LINE.fullmatch(line)
    assert m, "a line out of shape: %r" % line
    return m, [k for k, _ in FIELD.findall(m.group("fields"))]


def records(s):
    """Each line of s's log as a dict (time, level, id, event, then its fields), whether the
    log is text or JSON; values as written (text: quotes and escapes kept)."""
    out = []
    for line in s.log().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
            continue
        m = LINE.fullmatch(line)
        if m:
            r = {k: m.group(k) for k in ("time", "level", "id", "event")}
            r.update(FIELD.findall(m.group("fields")))
            out.append(r)
    return out


def wait_for(s, event, timeout=20, **want):
    """The first record of event whose fields hold the values in want (as strings)."""
    def find():
        for r in records(s):
            if r["event"] == event and all(v in str(r.get(k, ""))
                                           for k, v in want.items()):
                return r
        return None
    wait("no %s %r" % (event, want), find, s, timeout)
    return find()


def wait(what, cond, s, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("%s after %d s; log:\n%s" % (what, timeout, s.log()[-4000:]))
        time.sleep(0.05)


def smtp(s, *steps, source="127.0.0.2"):
    c = s.connect(source=source)
    c.dialog(*steps)
    return c


def live(sterna_factory, keys_dir, **overrides):
    """The varied life; returns the daemon (stopped) and what to look for in its log."""
    sink_port, hard_port, dead_port = (free_port_on([SINK]), free_port_on([HARD]),
                                       free_port_on([DEAD]))
    sinks = [Sink(SINK, sink_port), Sink(HARD, hard_port, "-f", "RCPT")]
    keys = os.path.join(keys_dir, "api_keys")
    with open(keys, "w") as f:
        f.write("# no key: only /v1/health answers\n")
    os.chmod(keys, 0o644)
    http_port = free_port()
    try:
        s = sterna_factory(relay__trusted_networks=["127.0.0.2/32"],
                           policy__block_clients=[BLOCKED],
                           outbound__routes=["sink.test [%s]:%d" % (SINK, sink_port),
                                             "hard.test [%s]:%d" % (HARD, hard_port),
                                             "dead.test [%s]:%d" % (DEAD, dead_port)],
                           queue__retry_min="1h", queue__retry_max="2h",
                           http__listen__api__address="127.0.0.1:%d" % http_port,
                           http__keys_file=keys, **overrides)
        start = (b"EHLO client.test\r\n", 250)
        # relayed, bounced (a 550 to RCPT, the notice to alice) and deferred
        for rcpt in (b"bob@sink.test", b"bob@hard.test", b"bob@dead.test"):
            c = smtp(s, *start, b"MAIL FROM:<alice@example.test>\r\n", 250,
                     b"RCPT TO:<" + rcpt + b">\r\n", 250, b"DATA\r\n", 354,
                     b"Subject: log\r\n\r\nx\r\n.\r\n", 250, b"QUIT\r\n", 221)
        # the null sender, to a local user; a refused recipient; a client that says odd things
        smtp(s, *start, b"MAIL FROM:<>\r\n", 250, b"RCPT TO:<alice@example.test>\r\n", 250,
             b"RCPT TO:<\"odd name\"@example.test>\r\n", 550, b"RCPT TO:<x@not-ours.test>\r\n", 554,
             b"DATA\r\n", 354, b"Subject: null\r\n\r\nx\r\n.\r\n", 250,
             b"QUIT\r\n", 221, source="127.0.0.4")
        # a client from a blocked address: refused at the greeting
        c = s.connect(greeting=False, source=BLOCKED)
        assert c.reply().code == 554
        # a session that breaks off in the middle of DATA
        c = smtp(s, *start, b"MAIL FROM:<alice@example.test>\r\n", 250,
                 b"RCPT TO:<bob@example.test>\r\n", 250, b"DATA\r\n", 354)
        c.send(b"Subject: cut\r\n\r\nhalf a mess")
        c.close()
        cut = wait_for(s, "aborted", stage="data", why="lost")["id"]
        wait_for(s, "delivered", to="<bob@sink.test>", relay="127.0.0.21")
        wait_for(s, "bounced", to="<bob@hard.test>")
        wait_for(s, "deferred", to="<bob@dead.test>")
        wait("no bounce for alice", lambda: len(s.mail_files("alice")) >= 2, s)
        # the operator, the API, a reload
        r = subprocess.run([STERNA_BIN, "queue", "-c", s.conf, "list"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        assert r.returncode == 0, r.stderr
        h = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        h.request("GET", "/v1/health")
        assert h.getresponse().status == 200
        h.close()
        wait_for(s, "http", path="/v1/health")
        os.kill(s.pid, signal.SIGHUP)
        wait_for(s, "note", msg="reload: configuration generation 2 in use")
        s.stop()
    finally:
        for k in sinks:
            k.cleanup()
    return s, cut


def bad_config_lines(tmp_path):
    """A configuration that cannot be read: serve says why on stderr, in the shape."""
    conf = tmp_path / "bad.conf"
    conf.write_text('server { hostname = "mx.example.test"; max_sessions = "many"; }\n')
    r = subprocess.run([STERNA_BIN, "serve", "-c", str(conf)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 1
    return r.stderr.decode().splitlines()


@pytest.fixture
def keys_dir():
    d = tempfile.mkdtemp(prefix="sterna-keys-")
    os.chmod(d, 0o755)     # read as server.user too
    yield d
    subprocess.run(["rm", "-rf", d])


EVENTS = {"ready", "listening", "connect", "helo", "mail", "rcpt", "received", "delivered",
          "bounced", "deferred", "reject", "listed", "aborted", "disconnect", "control",
          "http", "stopping", "stopped", "note"}


def test_every_line_has_one_shape(sterna_factory, keys_dir, tmp_path):
    s, cut = live(sterna_factory, keys_dir)
    lines = s.log().splitlines()
    seen = {}
    for line in lines:
        m, keys = fields(line)
        seen.setdefault(m.group("event"), set()).add(tuple(keys))
        assert len(keys) == len(set(keys)), "a key twice: %r" % line
    assert EVENTS <= set(seen), (sorted(EVENTS - set(seen)), s.log()[-6000:])
    text = "\n".join(lines)
    # the null sender, written <>; the cut-off message's id ends with its own line
    assert re.search(r" info \S+ received conn=\S+ from=<> size=\d+ nrcpt=1 ", text), text
    assert re.search(r"^\S+ info %s aborted conn=c\d+ stage=data why=lost$" % cut, text, re.M)
    # text from the client stays quoted and escaped; the daemon's notes are whole sentences
    assert re.search(r' reject cmd=RCPT arg="\\"odd name\\"@example\.test" code=550 ', text), text
    assert re.search(r'^\S+ info - note msg="reload: configuration generation 2 in use [^"]+"$',
                     text, re.M), text
    for line in bad_config_lines(tmp_path):
        m, keys = fields(line)
        assert (m.group("level"), m.group("event"), keys) == ("error", "config_error", ["reason"])
        assert "max_sessions" in line


def shapes(s):
    """Each event of s's log with the sets of keys its lines have."""
    out = {}
    for r in records(s):
        out.setdefault(r["event"], set()).add(tuple(r))
    return out


def test_json_lines_have_the_same_fields(sterna_factory, keys_dir):
    text, _ = live(sterna_factory, keys_dir)
    s, cut = live(sterna_factory, keys_dir, server__log_format="json")
    # the same life in both forms: every event has the same keys, in the same order
    want, got = shapes(text), shapes(s)
    for event in EVENTS:
        assert got[event] == want[event], (event, got[event], want[event])
    seen = {}
    for line in s.log().splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            pytest.fail("not JSON: %r" % line)
        assert list(obj)[:4] == ["time", "level", "id", "event"], line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["time"])
        assert obj["level"] in ("error", "warning", "info", "debug")
        seen.setdefault(obj["event"], []).append(obj)
    assert EVENTS <= set(seen), (sorted(EVENTS - set(seen)), s.log()[-6000:])
    received = [o for o in seen["received"] if o["from"] == "<>"]
    assert received and received[0]["nrcpt"] == 1 and isinstance(received[0]["size"], int)
    assert [o for o in seen["aborted"] if o["id"] == cut] == [
        {"time": seen["aborted"][0]["time"], "level": "info", "id": cut, "event": "aborted",
         "conn": seen["aborted"][0]["conn"], "stage": "data", "why": "lost"}]
    odd = [o for o in seen["reject"] if o["code"] == 550]
    assert odd and odd[0]["arg"] == '"odd name"@example.test', odd
    relayed = [o for o in seen["delivered"] if "relay" in o][0]
    assert set(relayed) == {"time", "level", "id", "event", "to", "relay", "delay", "dsn", "tls",
                            "cipher", "tls_policy", "verified", "reply"}


class SyslogDaemon:
    """A syslog daemon's socket at path: a thread takes each datagram into got, as a syslog
    daemon does, one every pace seconds (0: as they come), and none while paused is set.
    restart() puts a new socket at the same path, as a syslog daemon that restarts does."""

    def __init__(self, path, pace=0):
        self.path, self.pace = path, pace
        self.got = []
        self.paused = threading.Event()
        self._done = threading.Event()
        self._sock = self._listen()
        self._reader = threading.Thread(target=self._drain)
        self._reader.start()

    def _listen(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.path)
        os.chmod(self.path, 0o666)
        sock.settimeout(0.2)
        return sock

    def _drain(self):
        while not self._done.is_set():
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            try:
                self.got.append(self._sock.recv(65536).decode())
                time.sleep(self.pace)
            except (socket.timeout, OSError):
                time.sleep(0.01)

    def restart(self):
        old = self._sock
        os.unlink(self.path)
        self._sock = self._listen()
        old.close()

    def has(self, text):
        return any(text in g for g in self.got)

    def close(self):
        self._done.set()
        self._reader.join()
        self._sock.close()


def logging_to(syslog, sterna_factory):
    """A daemon whose log goes to syslog's socket, with the facility local3."""
    return sterna_factory(server__log_output="syslog", server__log_syslog_socket=syslog.path,
                          server__log_syslog_facility="local3")


def session_in_syslog(s, syslog, name):
    """A session that says EHLO name and QUIT; waits until syslog has its line."""
    c = s.connect()
    c.dialog(b"EHLO %s\r\n" % name.encode(), 250, b"QUIT\r\n", 221)
    wait("no session %s in syslog" % name, lambda: syslog.has("name=" + name), s)


def check_syslog_lines(got, s, facility=19):
    """Each datagram in got is RFC 3164 with sterna's line inside, its priority the facility
    and the line's severity; what is on s's stderr is whole, in shape and not also in got."""
    for g in got:
        m = re.fullmatch(r"<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d sterna\[\d+\]: (.*)", g)
        assert m, g
        lm, _ = fields(m.group(2))
        severity = {"error": 3, "warning": 4, "info": 6, "debug": 7}[lm.group("level")]
        assert int(m.group(1)) == facility * 8 + severity, g
    for line in s.log().splitlines():
        fields(line)
        assert not any(g.endswith(": " + line) for g in got), line


def test_syslog(sterna_factory, keys_dir):
    """server.log_output = syslog: each line is one datagram to the configured socket, with
    the facility and the line's severity in its priority. A syslog daemon that restarts gets
    the lines again; those it refused meanwhile went to stderr, in the same shape (those it
    had queued in its old socket go with it, as for any syslog client)."""
    # a folder server.user can reach: sterna connects again after it dropped root
    syslog = SyslogDaemon(os.path.join(keys_dir, "log.sock"))
    try:
        s = logging_to(syslog, sterna_factory)
        session_in_syslog(s, syslog, "first.test")
        assert s.log() == "", s.log()
        syslog.restart()
        c = s.connect()
        c.dialog(b"EHLO second.test\r\n", 250, b"QUIT\r\n", 221)
        time.sleep(1.1)     # sterna connects again at most once a second
        session_in_syslog(s, syslog, "third.test")
        s.stop()
        wait("no stopped line", lambda: syslog.has(" stopped"), s)
    finally:
        syslog.close()
    check_syslog_lines(syslog.got, s)
    assert syslog.has(" ready version=")


def test_syslog_that_is_slow_gets_every_line(sterna_factory, keys_dir):
    """The kernel queues only a few datagrams for a syslog daemon (net.unix.max_dgram_qlen,
    10 unless raised): a burst of lines fills it while the daemon is slow, and each line waits
    briefly for room rather than going to stderr."""
    syslog = SyslogDaemon(os.path.join(keys_dir, "log.sock"), pace=0.02)
    try:
        s = logging_to(syslog, sterna_factory)
        for i in range(4):     # about ten debug lines each, sent without a pause
            c = s.connect()
            c.dialog(b"EHLO burst%d.test\r\n" % i, 250, b"MAIL FROM:<a@example.test>\r\n", 250,
                     b"RSET\r\n", 250, b"QUIT\r\n", 221)
        wait("no last session", lambda: syslog.has("name=burst3.test"), s)
        assert s.log() == "", s.log()
    finally:
        syslog.close()
    check_syslog_lines(syslog.got, s)
    assert all(syslog.has("name=burst%d.test" % i) for i in range(4))


def test_syslog_that_is_stuck_costs_the_sessions_nothing(sterna_factory, keys_dir):
    """A syslog daemon that takes nothing: its queue fills, the lines go to stderr after one
    short wait (not one per line), sessions are answered as usual, and syslog gets the lines
    again once it reads."""
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        queued = int(f.read())
    # four or more lines each: a hundred lines or more past what the queue holds
    sessions = queued // 4 + 25
    syslog = SyslogDaemon(os.path.join(keys_dir, "log.sock"))
    try:
        s = logging_to(syslog, sterna_factory)
        session_in_syslog(s, syslog, "before.test")
        syslog.paused.set()
        taken = len(syslog.got)
        started = time.monotonic()
        for i in range(sessions):
            c = s.connect()
            c.dialog(b"EHLO stuck%d.test\r\n" % i, 250, b"NOOP\r\n", 250, b"QUIT\r\n", 221)
        # a wait of its own (0.2 s) for each line past the queue would take 20 s or more
        assert time.monotonic() - started < 10
        last = "name=stuck%d.test" % (sessions - 1)
        wait("the last session not on stderr", lambda: last in s.log(), s)
        syslog.paused.clear()
        # lines went to stderr: the queue was full, and syslog now reads all it held
        wait("what syslog had queued not read", lambda: len(syslog.got) >= taken + queued, s)
        session_in_syslog(s, syslog, "after.test")   # syslog reads again
    finally:
        syslog.close()
    check_syslog_lines(syslog.got, s)

