"""Webhooks (events { webhook "NAME" { } }): a local receiver (Python's http.server) that fails
then recovers; every event arrives once, in order, signed (HMAC-SHA256 over "t." + body with the
secret), across a restart of the daemon; a receiver that only wants some types gets only those;
a slow receiver never holds mail up."""
import hashlib
import hmac
import http.server
import json
import os
import threading
import time

import pytest

SECRET = "s3cret-for-the-tests-0123456789"
EHLO = b"EHLO client.test\r\n"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers fail_first requests with 500, then 200, and
    keeps what it took (the events whose answer was 200), checking each signature."""

    def __init__(self, fail_first=0, delay=0.0):
        self.fail_left = fail_first
        self.delay = delay
        self.taken = []
        self.tries = 0
        self.bad_signatures = 0
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.tries += 1
                sig = dict(p.split("=", 1) for p in self.headers["Sterna-Signature"].split(","))
                want = hmac.new(SECRET.encode(), sig["t"].encode() + b"." + body,
                                hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, sig["v1"]):
                    rec.bad_signatures += 1
                time.sleep(rec.delay)
                if rec.fail_left > 0:
                    rec.fail_left -= 1
                    self.send_response(500)
                else:
                    rec.taken.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hooks/sterna?x=1" % self.port

    def wait(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.taken) < n:
            assert time.monotonic() < deadline, "took %d of %d events" % (len(self.taken), n)
            time.sleep(0.05)
        return self.taken

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receivers():
    made = []

    def make(**kw):
        r = Receiver(**kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.stop()


def send(s, n, to=b"alice@example.test"):
    c = s.connect()
    c.dialog(EHLO, 250)
    for i in range(n):
        c.dialog(b"MAIL FROM:<a@remote.test>\r\n", 250, b"RCPT TO:<" + to + b">\r\n", 250,
                 b"DATA\r\n", 354, b"Subject: %d\r\n\r\nbody\r\n.\r\n" % i, 250)
    c.dialog(b"QUIT\r\n", 221)


def test_fails_then_recovers_in_order_across_a_restart(sterna_factory, receivers):
    r = receivers(fail_first=2)
    s = sterna_factory(events__webhook__app__url=r.url, events__webhook__app__secret=SECRET)
    send(s, 3)
    # each message: received, delivered
    got = r.wait(6)
    cursors = [int(e["cursor"]) for e in got]
    assert cursors == list(range(cursors[0], cursors[0] + 6))
    assert r.tries == 8            # two failures of the first event, then one each
    assert r.bad_signatures == 0
    assert sorted(e["type"] for e in got) == ["delivered"] * 3 + ["received"] * 3
    assert got[0]["type"] == "received"
    s.wait_log(r"webhook app: answered 500; again in 1 s")
    # the receiver has the sixth event once it answered; the daemon has its 2xx once the
    # cursor file says so (saved within a second): a stop before that sends it again, as
    # at-least-once allows, and this test counts exactly
    cursor_file = os.path.join(s.spool, "events", "webhooks", "app.cursor")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(cursor_file) as f:
            if f.read().strip() == str(cursors[-1]):
                break
        time.sleep(0.05)
    s.stop()
    send_later = 2
    s.start()
    send(s, send_later)
    got = r.wait(6 + 2 * send_later)
    cursors = [int(e["cursor"]) for e in got]
    assert cursors == list(range(cursors[0], cursors[0] + len(got))), "lost or repeated"


def test_types_and_a_slow_receiver(sterna_factory, receivers):
    slow = receivers(delay=0.25)
    picky = receivers()
    s = sterna_factory(events__webhook__slow__url=slow.url,
                       events__webhook__slow__secret=SECRET,
                       events__webhook__picky__url=picky.url,
                       events__webhook__picky__secret=SECRET,
                       events__webhook__picky__types="delivered")
    t0 = time.monotonic()
    send(s, 5)
    # the mail went through while the slow receiver takes a quarter of a second an event
    assert len(s.wait_for_mail("alice", 5)) == 5
    assert time.monotonic() - t0 < 4
    assert [e["type"] for e in picky.wait(5)] == ["delivered"] * 5
    assert len(slow.wait(10, timeout=30)) == 10


def test_bad_webhook_configuration_is_refused(sterna_factory, tmp_path):
    import subprocess
    from conftest import STERNA_BIN
    conf = tmp_path / "c.conf"
    base = ('server { hostname = "mx.example.test"; }\n'
            'listen "mx" { address = "127.0.0.1:2525"; }\n')
    conf.write_text(base + 'events { webhook "app" { url = "ftp://x"; secret = "%s"; } }\n'
                    % SECRET)
    p = subprocess.run([STERNA_BIN, "check", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode != 0
    assert "events.webhook.app.url: 'ftp://x' is not an http:// or https:// URL" in p.stderr
    conf.write_text(base + 'events { webhook "app" { url = "http://127.0.0.1/"; '
                    'secret = "short"; } }\n')
    p = subprocess.run([STERNA_BIN, "check", "-c", str(conf)], capture_output=True, text=True)
    assert "events.webhook.app.secret: required, at least 16 characters" in p.stderr
